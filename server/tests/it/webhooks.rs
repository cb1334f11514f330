//! Outgoing webhooks: deploys recorded through the API reach a local receiver that checks the
//! signature, Grafana gets annotations, failed attempts are retried, a receiver that is down
//! never slows the ingest, and two workers on one database send each delivery once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;
use shiplog_server::AppState;
use shiplog_server::webhooks::{Format, Secret, Tuning, Webhook, Webhooks, stale, worker};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::binary::{BINARY, start_with};
use crate::common::*;

const SECRET: &str = "It's a Secret to Everybody";
const TOKEN: &str = "glsa_grafana-token";

/// What the receiver got.
#[derive(Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
    /// Whether `X-Shiplog-Signature` is the HMAC-SHA256 of the body with [`SECRET`].
    signed: bool,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }
}

/// A webhook receiver on a loopback port: checks each request's signature, records it, and
/// answers the next scripted status (200 once the script is used up).
struct Receiver {
    url: String,
    received: mpsc::UnboundedReceiver<Received>,
    task: JoinHandle<()>,
}

#[derive(Clone)]
struct ReceiverState {
    sender: mpsc::UnboundedSender<Received>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let signed = headers
        .get("x-shiplog-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("sha256="))
        .is_some_and(|hex| {
            let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(&body);
            let expected: String = mac
                .finalize()
                .into_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            hex == expected
        });
    let answer = state.answers.lock().unwrap().pop_front().unwrap_or(200);
    let _ = state.sender.send(Received {
        headers,
        body,
        signed,
    });
    StatusCode::from_u16(answer).unwrap()
}

impl Receiver {
    async fn start(answers: &[u16]) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (sender, received) = mpsc::unbounded_channel();
        let state = ReceiverState {
            sender,
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(state);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            received,
            task,
        }
    }

    /// The next request, within 10 s.
    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .expect("a delivery within 10 s")
            .expect("the receiver runs")
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn generic(name: &str, url: &str) -> Webhook {
    Webhook {
        name: name.into(),
        url: url.parse().unwrap(),
        format: Format::Generic,
        secret: Some(Secret::new(SECRET)),
        token: None,
        events: shiplog_model::DeliveryEvent::ALL.to_vec(),
        namespaces: vec![],
        apps: vec![],
    }
}

/// Retries after 50 ms, polling every 50 ms.
fn quick() -> Tuning {
    Tuning {
        backoff: vec![Duration::from_millis(50); 3],
        poll: Duration::from_millis(50),
        ..Tuning::default()
    }
}

/// The app on `db` sending to `hooks`, and its running delivery worker (aborted on drop).
struct Sending {
    state: AppState,
    worker: JoinHandle<()>,
}

impl Drop for Sending {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

async fn sending(db: &TestDb, hooks: Vec<Webhook>, tuning: Tuning) -> Sending {
    let tokens = writer_only();
    let state = AppState::new(db.store().await, tokens, "https://shiplog.test")
        .with_webhooks(Webhooks { hooks, tuning });
    let worker = worker::spawn(state.store.clone(), state.metrics.clone()).expect("webhooks");
    Sending { state, worker }
}

/// Polls the delivery log of `query` until `done` holds of it, for at most 10 s.
async fn deliveries_until(
    state: &AppState,
    query: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, answer) = get(state, &format!("/api/v1/deliveries?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let list = answer["deliveries"].as_array().unwrap().clone();
        if done(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries never matched: {}",
            serde_json::to_string(&list).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn all_delivered(list: &[Value], count: usize) -> bool {
    list.len() == count && list.iter().all(|d| d["state"] == "delivered")
}

#[tokio::test]
async fn a_deploy_started_and_finished_reaches_the_receiver_signed() {
    let db = TestDb::new().await;
    let mut receiver = Receiver::start(&[]).await;
    let app = sending(&db, vec![generic("deploy-log", &receiver.url)], quick()).await;
    let id = create(&app.state, &new_deploy("api", "prod", 1)).await;

    let started = receiver.next().await;
    assert!(started.signed, "{:?}", started.headers);
    assert_eq!(started.header("content-type"), "application/json");
    assert_eq!(started.header("x-shiplog-event"), "deploy.started");
    assert_eq!(
        started.header("user-agent"),
        format!("shiplog-server/{}", env!("CARGO_PKG_VERSION"))
    );
    let body = started.json();
    assert_eq!(
        started.header("x-shiplog-delivery"),
        body["delivery"].to_string()
    );
    assert_eq!(body["event"], "deploy.started");
    let deploy = &body["deploy"];
    assert_eq!(deploy["id"], id);
    assert_eq!(deploy["status"], "in_progress");
    assert_eq!(
        (&deploy["app"], &deploy["namespace"], &deploy["environment"]),
        (&json!("api"), &json!("prod"), &json!("prod"))
    );
    assert_eq!(deploy["version"], "v1.1");
    assert_eq!(deploy["commit_sha"], format!("{:040x}", 1));
    assert_eq!(deploy["actor"], "alice");
    assert_eq!(deploy["url"], format!("https://shiplog.test/deploys/{id}"));
    assert!(deploy.get("finished_at").is_none(), "{deploy}");
    assert!(deploy.get("images").is_none(), "no lists: {deploy}");

    let (status, _) = patch(&app.state, id, &json!({"status": "succeeded"})).await;
    assert_eq!(status, StatusCode::OK);
    let finished = receiver.next().await;
    assert!(finished.signed);
    assert_eq!(finished.header("x-shiplog-event"), "deploy.finished");
    let body = finished.json();
    assert_eq!(body["deploy"]["status"], "succeeded");
    assert!(body["deploy"]["finished_at"].is_string(), "{body}");

    let list = deliveries_until(&app.state, &format!("deploy={id}"), |l| all_delivered(l, 2)).await;
    assert_eq!(list[0]["event"], "finished", "newest first");
    assert_eq!(list[1]["event"], "started");
    for delivery in &list {
        assert_eq!(delivery["webhook"], "deploy-log");
        assert_eq!(delivery["attempts"], 1);
        assert_eq!(delivery["last_status"], 200);
        assert!(delivery["delivered_at"].is_string(), "{delivery}");
        assert!(delivery.get("next_attempt_at").is_none(), "{delivery}");
    }
    // The log never shows where deliveries go nor how they are signed.
    let (_, answer) = get(&app.state, "/api/v1/deliveries?webhook=deploy-log").await;
    let text = answer.to_string();
    for hidden in [SECRET, &receiver.url, "127.0.0.1", "sha256="] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    assert_eq!(answer["deliveries"].as_array().unwrap().len(), 2);
    let (_, other) = get(&app.state, "/api/v1/deliveries?webhook=another").await;
    assert_eq!(other, json!({"deliveries": []}));

    // A retried PATCH that changes nothing is not a second `finished`.
    let (status, _) = patch(&app.state, id, &json!({"status": "succeeded"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, all) = get(&app.state, "/api/v1/deliveries").await;
    assert_eq!(all["deliveries"].as_array().unwrap().len(), 2, "{all}");
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains("shiplog_webhook_deliveries_total{outcome=\"delivered\"} 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn grafana_gets_annotations_with_the_bearer_token() {
    let db = TestDb::new().await;
    let mut receiver = Receiver::start(&[]).await;
    let grafana = Webhook {
        format: Format::Grafana,
        secret: None,
        token: Some(Secret::new(TOKEN)),
        ..generic("grafana", &receiver.url)
    };
    let app = sending(&db, vec![grafana], quick()).await;
    let id = create(&app.state, &new_deploy("api", "prod", 1)).await;
    let started = receiver.next().await;
    assert_eq!(started.header("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(
        started.header("x-shiplog-signature"),
        "",
        "Grafana gets no signature"
    );
    let annotation = started.json();
    assert!(annotation["time"].is_i64(), "{annotation}");
    assert!(annotation.get("timeEnd").is_none(), "{annotation}");

    patch(&app.state, id, &json!({"status": "failed"})).await;
    let finished = receiver.next().await.json();
    assert_eq!(
        finished["tags"],
        json!([
            "shiplog",
            "app:api",
            "namespace:prod",
            "environment:prod",
            "status:failed"
        ])
    );
    assert_eq!(finished["time"], annotation["time"]);
    assert!(finished["timeEnd"].as_i64().unwrap() >= finished["time"].as_i64().unwrap());
    assert_eq!(
        finished["text"],
        format!("api v1.1 to prod: failed (https://shiplog.test/deploys/{id})")
    );
}

#[tokio::test]
async fn a_failed_attempt_is_retried_with_the_same_body() {
    let db = TestDb::new().await;
    let mut receiver = Receiver::start(&[500]).await;
    let mut hook = generic("flaky", &receiver.url);
    hook.events = vec![shiplog_model::DeliveryEvent::Started];
    let app = sending(&db, vec![hook], quick()).await;
    let id = create(&app.state, &new_deploy("api", "prod", 1)).await;
    let first = receiver.next().await;
    let second = receiver.next().await;
    assert_eq!(first.body, second.body, "a retry sends the same bytes");
    assert_eq!(
        first.header("x-shiplog-signature"),
        second.header("x-shiplog-signature")
    );
    assert!(second.signed);
    let list = deliveries_until(&app.state, &format!("deploy={id}"), |l| all_delivered(l, 1)).await;
    assert_eq!(list[0]["attempts"], 2);
    assert_eq!(list[0]["last_status"], 200);
    let metrics = app.state.metrics.render();
    assert!(metrics.contains("outcome=\"retried\"} 1"), "{metrics}");
}

#[tokio::test]
async fn a_receiver_that_is_down_or_hangs_does_not_slow_the_ingest() {
    let db = TestDb::new().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    // Accepts connections and never answers.
    let hanging = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging_url = format!("http://{}/hook", hanging.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hanging.accept().await {
            held.push(socket);
        }
    });
    let tuning = Tuning {
        backoff: vec![Duration::from_secs(3600)],
        timeout: Duration::from_secs(30),
        // Fewer senders than hanging deliveries: each webhook has its own share.
        concurrency: 4,
        ..Tuning::default()
    };
    let app = sending(
        &db,
        vec![generic("down", &closed), generic("hangs", &hanging_url)],
        tuning,
    )
    .await;
    for run in 1..=3 {
        let start = Instant::now();
        let id = create(&app.state, &new_deploy("api", "prod", run)).await;
        let (status, _) = patch(&app.state, id, &json!({"status": "succeeded"})).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the writes took {:?}",
            start.elapsed()
        );
    }
    let list = deliveries_until(&app.state, "webhook=down", |l| {
        l.len() == 6 && l.iter().all(|d| d["attempts"] == 1)
    })
    .await;
    for delivery in list {
        assert_eq!(delivery["state"], "pending", "{delivery}");
        assert!(delivery.get("last_status").is_none(), "{delivery}");
        let error = delivery["last_error"].as_str().unwrap();
        assert!(!error.contains("127.0.0.1"), "no URL in errors: {error}");
        assert!(delivery["next_attempt_at"].is_string(), "{delivery}");
    }
    let (_, hangs) = get(&app.state, "/api/v1/deliveries?webhook=hangs").await;
    assert!(
        hangs["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "pending" && d["attempts"] == 0),
        "{hangs}"
    );
    holder.abort();
}

#[tokio::test]
async fn a_webhook_with_too_many_pending_deliveries_drops_new_ones() {
    let db = TestDb::new().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    let tuning = Tuning {
        backoff: vec![Duration::from_secs(3600)],
        max_pending: 2,
        ..Tuning::default()
    };
    let app = sending(&db, vec![generic("down", &closed)], tuning).await;
    let id = create(&app.state, &new_deploy("api", "prod", 1)).await;
    patch(&app.state, id, &json!({"status": "succeeded"})).await;
    // Both pending: the next deploy's events are dropped, the deploy itself recorded.
    let other = create(&app.state, &new_deploy("api", "prod", 2)).await;
    let (_, list) = get(&app.state, &format!("/api/v1/deliveries?deploy={other}")).await;
    assert_eq!(list, json!({"deliveries": []}));
    let metrics = app.state.metrics.render();
    assert!(metrics.contains("outcome=\"dropped\"} 1"), "{metrics}");
}

#[tokio::test]
async fn an_abandoned_deploy_is_finished_and_filters_apply() {
    let db = TestDb::new().await;
    let mut receiver = Receiver::start(&[]).await;
    let mut prod_api = generic("prod-api", &receiver.url);
    prod_api.namespaces = vec!["prod".into()];
    prod_api.apps = vec!["api".into()];
    let app = sending(&db, vec![prod_api], quick()).await;
    create(&app.state, &new_deploy("api", "dev", 1)).await;
    create(&app.state, &new_deploy("web", "prod", 2)).await;
    let id = create(&app.state, &new_deploy("api", "prod", 3)).await;
    assert_eq!(receiver.next().await.json()["deploy"]["id"], id);
    // Past every deadline: the reaper abandons all three; only api in prod is told.
    let later = chrono::Utc::now() + chrono::Duration::hours(26);
    assert_eq!(
        app.state.store.abandon_overdue(later).await.unwrap().len(),
        3
    );
    let finished = receiver.next().await.json();
    assert_eq!(finished["event"], "deploy.finished");
    assert_eq!(finished["deploy"]["id"], id);
    assert_eq!(finished["deploy"]["status"], "abandoned");
    deliveries_until(&app.state, "", |l| all_delivered(l, 2)).await;
}

#[tokio::test]
async fn two_workers_on_one_database_send_each_delivery_once() {
    let db = TestDb::new().await;
    if !db.is_postgres() {
        // A SQLite database belongs to one process: there is no second worker.
        return;
    }
    let mut receiver = Receiver::start(&[]).await;
    let hooks = || vec![generic("deploy-log", &receiver.url)];
    let tuning = Tuning {
        poll: Duration::from_millis(10),
        concurrency: 2,
        ..quick()
    };
    let a = sending(&db, hooks(), tuning.clone()).await;
    let b = sending(&db, hooks(), tuning).await;
    let deploys = 10;
    for run in 0..deploys {
        let app = if run % 2 == 0 { &a } else { &b };
        let id = create(&app.state, &new_deploy("api", "prod", run)).await;
        let (status, answer) = patch(&app.state, id, &json!({"status": "succeeded"})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    deliveries_until(&a.state, "limit=200", |l| {
        all_delivered(l, 2 * deploys as usize)
    })
    .await;
    // Every delivery recorded as delivered: nothing more can be sent.
    let mut seen: HashMap<String, u32> = HashMap::new();
    while let Ok(received) = receiver.received.try_recv() {
        assert!(received.signed);
        *seen
            .entry(received.header("x-shiplog-delivery").to_owned())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 2 * deploys as usize, "{seen:?}");
    assert!(seen.values().all(|&n| n == 1), "sent twice: {seen:?}");
    let sent = |state: &AppState| {
        let metrics = state.metrics.render();
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix("shiplog_webhook_deliveries_total{outcome=\"delivered\"} ")
            })
            .map_or(0, |n| n.parse::<u32>().unwrap())
    };
    assert_eq!(sent(&a.state) + sent(&b.state), 2 * deploys as u32);
}

#[tokio::test]
async fn the_server_sends_webhooks_from_its_file_and_refuses_a_bad_one() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), format!("{SECRET}\n")).unwrap();
    let mut receiver = Receiver::start(&[]).await;
    let file = dir.path().join("webhooks.yaml");
    std::fs::write(
        &file,
        format!(
            "webhooks:\n  - name: deploy-log\n    url: {}\n    secret_file: secret\n    \
             events: [started]\n",
            receiver.url
        ),
    )
    .unwrap();
    let server = start_with(BINARY, &db.url, &["--webhooks", file.to_str().unwrap()]).await;
    let created = reqwest::Client::new()
        .post(format!("{}/api/v1/deploys", server.base))
        .bearer_auth(WRITER)
        .json(&new_deploy("api", "prod", 1))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let received = receiver.next().await;
    assert!(received.signed);
    assert_eq!(received.json()["deploy"]["app"], "api");
    drop(server);

    std::fs::write(
        &file,
        "webhooks:\n  - name: grafana\n    url: https://grafana.test/api/annotations\n    \
         format: grafana\n    secret_file: secret\n",
    )
    .unwrap();
    let output = tokio::process::Command::new(BINARY)
        .args([
            "--database",
            &db.url,
            "--listen",
            "127.0.0.1:0",
            "--webhooks",
        ])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let expected = format!("{}: webhooks[0]: secret_file: ", file.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains(SECRET), "{stderr}");
}

#[tokio::test]
async fn deliveries_go_with_their_deploy_when_it_is_pruned() {
    let db = TestDb::new().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", listener.local_addr().unwrap())
    };
    let tuning = Tuning {
        backoff: vec![Duration::from_secs(3600)],
        ..Tuning::default()
    };
    let app = sending(&db, vec![generic("down", &closed)], tuning).await;
    let finished_ago = |days: i64| {
        let started = chrono::Utc::now() - chrono::Duration::days(days);
        let mut body = new_deploy("api", "prod", days);
        body["started_at"] = started.to_rfc3339().into();
        body["finished_at"] = (started + chrono::Duration::minutes(2)).to_rfc3339().into();
        body["status"] = "succeeded".into();
        body
    };
    let old = create(&app.state, &finished_ago(30)).await;
    let new = create(&app.state, &finished_ago(1)).await;
    // Recorded already finished: both events at once.
    let (_, list) = get(&app.state, &format!("/api/v1/deliveries?deploy={old}")).await;
    let events: Vec<&Value> = list["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["event"])
        .collect();
    assert_eq!(events, [&json!("finished"), &json!("started")]);
    let cutoff = chrono::Utc::now() - chrono::Duration::days(7);
    let pruned = app.state.store.prune_finished(cutoff).await.unwrap();
    assert_eq!(pruned.deleted, 1);
    let (_, list) = get(&app.state, &format!("/api/v1/deliveries?deploy={old}")).await;
    assert_eq!(list, json!({"deliveries": []}));
    let (_, list) = get(&app.state, &format!("/api/v1/deliveries?deploy={new}")).await;
    assert_eq!(list["deliveries"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn deliveries_no_server_sends_are_given_up_after_a_day() {
    use shiplog_model::DeliveryState;
    use shiplog_server::store::Attempted;
    let db = TestDb::new().await;
    let tokens = writer_only();
    // A server whose file lists two webhooks enqueues for both; no worker sends.
    let hooks = vec![
        generic("removed", "http://127.0.0.1:9/hook"),
        generic("kept", "http://127.0.0.1:9/hook"),
    ];
    let old =
        AppState::new(db.store().await, tokens, "https://shiplog.test").with_webhooks(Webhooks {
            hooks,
            tuning: Tuning::default(),
        });
    let id = create(&old, &new_deploy("api", "prod", 1)).await;
    let states = async || {
        let (_, list) = get(
            &old,
            &format!("/api/v1/deliveries?deploy={id}&webhook=removed"),
        )
        .await;
        let state = list["deliveries"][0]["state"].as_str().unwrap().to_owned();
        (state, list["deliveries"][0]["last_error"].clone())
    };
    // The server it is replaced by sends only `kept`.
    let tokens = writer_only();
    let new = AppState::new(db.store().await, tokens, "https://shiplog.test")
        .with_webhooks(Webhooks {
            hooks: vec![generic("kept", "http://127.0.0.1:9/hook")],
            tuning: Tuning::default(),
        })
        .store;
    let now = chrono::Utc::now();
    let hours = |h: i64| now + chrono::Duration::hours(h);
    assert_eq!(stale::sweep(&new, hours(23)).await.unwrap(), 0);
    assert_eq!(states().await.0, "pending", "a day is given to send it");
    assert_eq!(
        stale::sweep(&old.store, hours(25)).await.unwrap(),
        0,
        "a server leaves its own webhooks to its worker"
    );

    // An attempt under way when the day is up is left to finish, and recorded.
    let due = new.due_deliveries("removed", hours(25), 10).await.unwrap();
    let until = hours(25) + chrono::Duration::seconds(60);
    let claimed = (new.claim_delivery(due[0], hours(25), until).await.unwrap()).unwrap();
    assert_eq!(stale::sweep(&new, hours(25)).await.unwrap(), 0);
    let delivered = Attempted {
        state: DeliveryState::Delivered,
        status: Some(200),
        error: None,
        next_attempt_at: 0,
    };
    assert!(
        new.record_attempt(&claimed, &delivered, hours(25))
            .await
            .unwrap()
    );
    assert_eq!(states().await.0, "delivered");

    // A second deploy's delivery of `removed`, due for a day, nobody sending it: given up; the
    // `kept` one is the new server's to send.
    let later = create(&old, &new_deploy("api", "prod", 2)).await;
    assert_eq!(stale::sweep(&new, hours(25)).await.unwrap(), 1);
    let (_, list) = get(&old, &format!("/api/v1/deliveries?deploy={later}")).await;
    let by_webhook: HashMap<&str, (&str, &Value)> = list["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let webhook = d["webhook"].as_str().unwrap();
            (webhook, (d["state"].as_str().unwrap(), &d["last_error"]))
        })
        .collect();
    assert_eq!(by_webhook["removed"], ("failed", &json!(stale::REASON)));
    assert_eq!(by_webhook["kept"].0, "pending");
    assert_eq!(
        stale::sweep(&new, hours(26)).await.unwrap(),
        0,
        "failed stays failed"
    );
}
