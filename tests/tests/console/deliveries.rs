//! The deploy page's webhook delivery log: a receiver that answers is shown delivered, one that
//! is down is shown waiting for its next attempt with the error, and neither slows the record.

use std::time::{Duration, Instant};

use shiplog_e2e::browser::PATIENCE;
use shiplog_e2e::deploys::deploy;
use shiplog_e2e::run_with_webhooks;
use shiplog_model::DeployStatus::Succeeded;
use shiplog_server::webhooks::{Tuning, Webhooks, config};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// A receiver on a loopback port answering `204` to every request; its URL.
async fn receiver() -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // The head, then as many body bytes as it announces.
                while let Ok(n @ 1..) = socket.read(&mut buffer).await {
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request);
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let length = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .and_then(|n| n.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    Ok(url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deploy_page_lists_each_webhooks_deliveries() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "e2e-webhook-secret").unwrap();
    let url = receiver().await.unwrap();
    let file = format!(
        "webhooks:\n  - name: deploy-log\n    url: {url}\n    secret_file: secret\n  \
         - name: nobody-home\n    url: http://127.0.0.1:1/hook\n    secret_file: secret\n"
    );
    let hooks = config::parse("webhooks.yaml", &file, dir.path()).unwrap();
    let webhooks = Webhooks {
        hooks,
        tuning: Tuning::default(),
    };
    run_with_webhooks(webhooks, |s| async move {
        let api = &s.server.api;
        let id = api
            .record(&deploy("api", "prod", Succeeded, "v1.0.0"))
            .await?;
        // The log settles: both of deploy-log's events delivered, nobody-home's refused once.
        let path = format!("/api/v1/deliveries?deploy={id}");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let log: serde_json::Value = api.get(&path).await?.json().await?;
            let rows = log["deliveries"].as_array().cloned().unwrap_or_default();
            let settled = rows.len() == 4
                && rows
                    .iter()
                    .all(|r| r["state"] == "delivered" || r["last_error"].is_string());
            if settled {
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the deliveries never settled: {log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let b = &s.browser;
        b.open(&format!("/deploys/{id}")).await?;
        b.wait_for("section.deliveries table.deliveries tbody tr")
            .await?;
        let rows = b
            .client
            .find_all(fantoccini::Locator::Css("table.deliveries tbody tr"))
            .await?;
        let mut seen = Vec::new();
        for row in rows {
            seen.push(row.text().await?);
        }
        seen.sort();
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert!(
            seen[0].starts_with("deploy-log finished delivered 1 HTTP 204 delivered"),
            "{seen:?}"
        );
        assert!(
            seen[1].starts_with("deploy-log started delivered 1 HTTP 204 delivered"),
            "{seen:?}"
        );
        assert!(
            seen[2].starts_with("nobody-home finished pending 1 "),
            "{seen:?}"
        );
        assert!(seen[2].contains("next attempt"), "{seen:?}");
        Ok(())
    })
    .await;
}
