//! Durability: the server is killed with SIGKILL in the middle of a concurrent ingest, restarted
//! on the same database, and every deploy it had acknowledged is still there.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::Mutex;

use crate::binary::start;
use crate::common::*;

#[tokio::test]
async fn acknowledged_deploys_survive_sigkill() {
    let db = TestDb::new().await;
    let mut server = start(&db.url).await;
    let client = reqwest::Client::new();
    let acknowledged: Arc<Mutex<Vec<(i64, Value)>>> = Arc::default();
    let (enough_tx, mut enough_rx) = tokio::sync::watch::channel(false);

    let clients: Vec<_> = (0..16)
        .map(|worker| {
            let (client, base, acknowledged, enough_tx) = (
                client.clone(),
                server.base.clone(),
                acknowledged.clone(),
                enough_tx.clone(),
            );
            tokio::spawn(async move {
                for n in 0.. {
                    let body = new_deploy(
                        &format!("app-{}", worker % 4),
                        "prod",
                        worker * 1_000_000 + n,
                    );
                    let response = client
                        .post(format!("{base}/api/v1/deploys"))
                        .bearer_auth(WRITER)
                        .json(&body)
                        .send()
                        .await;
                    // Once the server is killed requests fail; that is the end of this client.
                    let Ok(response) = response else { return };
                    if !response.status().is_success() {
                        return;
                    }
                    let Ok(created) = response.json::<Value>().await else {
                        return;
                    };
                    let mut acked = acknowledged.lock().await;
                    acked.push((created["id"].as_i64().unwrap(), body));
                    if acked.len() >= 300 {
                        let _ = enough_tx.send(true);
                    }
                }
            })
        })
        .collect();

    enough_rx.wait_for(|enough| *enough).await.unwrap();
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    for client in clients {
        client.await.unwrap();
    }

    let acked = acknowledged.lock().await.clone();
    assert!(acked.len() >= 300);
    let restarted = start(&db.url).await;
    for (id, sent) in &acked {
        let response = client
            .get(format!("{}/api/v1/deploys/{id}", restarted.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged deploy {id} was lost");
        let stored: Value = response.json().await.unwrap();
        assert_eq!(
            stored["run"]["id"], sent["run"]["id"],
            "deploy {id} has other content"
        );
        assert_eq!(stored["app"], sent["app"]);
    }
    let (_, count) = (restarted, db.store().await.count().await.unwrap());
    assert!(count as usize >= acked.len());
}
