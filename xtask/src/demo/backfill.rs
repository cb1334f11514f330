//! The backfill: older history recorded straight through the server's API, never deployed, so
//! the insights page has more than one day to show.

use anyhow::Context as _;
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::DEMO_TOKEN;
use super::story::{images, sha};

/// What the backfilled records carry as their cluster, so the console shows what they are.
pub(super) const BACKFILL_CLUSTER: &str = "backfill (recorded via the API, not deployed)";
/// The boutique's workloads, as the Action records them.
const BOUTIQUE_WORKLOADS: [&str; 12] = [
    "frontend",
    "adservice",
    "currencyservice",
    "cartservice",
    "redis-cart",
    "loadgenerator",
    "recommendationservice",
    "checkoutservice",
    "emailservice",
    "paymentservice",
    "shippingservice",
    "productcatalogservice",
];

/// BACKFILL, not a deploy: records the apps' older releases of the last two weeks through the
/// server's API (dev → stage → prod, one failed prod rollout fixed the next day), so the
/// insights page has more than today to show. Every record names [`BACKFILL_CLUSTER`] as its
/// cluster. Nothing here touches kubesim.
pub(super) fn record_backfill(base: &str) -> anyhow::Result<usize> {
    let releases: [(&str, &str, &str, i64); 8] = [
        ("boutique", "v0.10.3", "alice", 13),
        ("ledger", "1.2.0", "bob", 12),
        ("mailer", "1.9.0", "chen", 11),
        ("boutique", "v0.10.4", "dana", 9),
        ("ledger", "1.3.0", "bob", 7),
        ("ledger", "1.3.1", "bob", 6),
        ("boutique", "v0.10.5", "alice", 4),
        ("mailer", "1.9.1", "chen", 2),
    ];
    let now = Utc::now();
    let mut recorded = 0;
    for (r, (app, version, actor, days_ago)) in releases.into_iter().enumerate() {
        let sha = sha(app, version);
        let run_id = 3000 + r as i64;
        let (kind, workloads): (&str, Vec<&str>) = match app {
            "boutique" => ("Deployment", BOUTIQUE_WORKLOADS.to_vec()),
            "mailer" => ("StatefulSet", vec!["mailer"]),
            _ => ("Deployment", vec![app]),
        };
        for (n, env) in ["dev", "stage", "prod"].into_iter().enumerate() {
            let started = now - Duration::days(days_ago) + Duration::minutes(n as i64 * 40);
            let new = json!({
                "repo": format!("acme/{app}"),
                "app": app,
                "environment": env,
                "namespace": env,
                "cluster": BACKFILL_CLUSTER,
                "version": version,
                "images": images(app, version),
                "workloads": workloads.iter().map(|w| json!({"kind": kind, "name": w})).collect::<Vec<_>>(),
                "commit": {
                    "sha": sha,
                    "message": format!("{app} {version}"),
                    "url": format!("https://github.com/acme/{app}/commit/{sha}"),
                },
                "ref": if env == "prod" { format!("refs/tags/{version}") } else { "refs/heads/main".to_owned() },
                "actor": actor,
                "run": {
                    "id": run_id,
                    "attempt": 1,
                    "job": format!("deploy-{env}"),
                    "url": format!("https://github.com/acme/{app}/actions/runs/{run_id}"),
                },
                "started_at": started.to_rfc3339(),
            });
            let id = post(base, &new)?;
            let failed = (app, version, env) == ("ledger", "1.3.0", "prod");
            let workload = workloads[0];
            let finish = if failed {
                json!({
                    "status": "failed",
                    "finished_at": (started + Duration::minutes(5)).to_rfc3339(),
                    "resources": [{"api_version": "apps/v1", "kind": kind, "name": workload, "namespace": env,
                                   "action": "failed", "message": "1 of 2 pods is in CrashLoopBackOff"}],
                    "failure": {"reason": format!("{workload}: container {workload} keeps crashing (CrashLoopBackOff)"),
                                "details": [format!("pod {workload}-7c9f4d-x2x8q: Back-off restarting failed container")]},
                })
            } else {
                json!({
                    "status": "succeeded",
                    "finished_at": (started + Duration::seconds(30 + (r as i64 * 7) % 50)).to_rfc3339(),
                    "resources": workloads.iter().map(|w| json!({"api_version": "apps/v1", "kind": kind, "name": w,
                        "namespace": env, "action": if r < 3 { "created" } else { "configured" }})).collect::<Vec<_>>(),
                })
            };
            patch(base, id, &finish)?;
            recorded += 1;
        }
    }
    Ok(recorded)
}

fn post(base: &str, body: &Value) -> anyhow::Result<i64> {
    let response: Value = ureq::post(&format!("{base}/api/v1/deploys"))
        .set("Authorization", &format!("Bearer {DEMO_TOKEN}"))
        .send_json(body)
        .context("recording a backfilled deploy")?
        .into_json()?;
    response["id"]
        .as_i64()
        .context("the server's answer has no id")
}

fn patch(base: &str, id: i64, body: &Value) -> anyhow::Result<()> {
    ureq::request("PATCH", &format!("{base}/api/v1/deploys/{id}"))
        .set("Authorization", &format!("Bearer {DEMO_TOKEN}"))
        .send_json(body)
        .with_context(|| format!("finishing backfilled deploy {id}"))?;
    Ok(())
}
