//! Failures as a real cluster reports them, seen through kubectl: watches a fault ends at
//! once.

use std::time::{Duration, Instant};

use crate::harness::Sim;

#[tokio::test]
async fn an_empty_watch_fault_ends_watches_at_once_and_spares_other_requests() {
    let sim = Sim::start(&["--insecure-http", "--fault", "GET:empty:1"]);
    let started = Instant::now();
    let response = reqwest::get(format!(
        "{}/api/v1/namespaces/default/pods?watch=true",
        sim.url
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body = response.bytes().await.unwrap();
    assert!(body.is_empty(), "{body:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // kubectl's watch ends with the stream; its list still works.
    let watched = sim.ok(&["get", "pods", "--watch", "--request-timeout=2s"]);
    assert!(watched.is_empty(), "{watched}");
    let namespaces = sim.ok(&["get", "namespaces", "-o", "name"]);
    assert!(namespaces.contains("namespace/default"), "{namespaces}");
    let watches: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r["query"].as_str().unwrap_or("").contains("watch=true"))
        .collect();
    assert_eq!(watches.len(), 2, "{watches:?}");
    assert!(watches.iter().all(|r| r["status"] == 200), "{watches:?}");
}
