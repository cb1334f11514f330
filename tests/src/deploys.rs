//! Deploys to seed the server with: [`deploy`] builds one for the API, with a unique run so
//! that idempotency never merges two, and [`one_after_another`] spaces a sequence out in time;
//! [`seed_bulk`] stores a large synthetic history through `Store::insert_bulk`, in large
//! batches, the way the server's own benchmark does.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use shiplog_model::{Commit, Deploy, DeployId, DeployStatus, NewDeploy, WorkflowRun};
use shiplog_server::store::Store;

/// A deploy of `app` (repository `acme/<app>`) at `version` into `namespace` by alice, started
/// now and, unless in progress, finished 90 seconds later.
pub fn deploy(app: &str, namespace: &str, status: DeployStatus, version: &str) -> NewDeploy {
    static RUN: AtomicI64 = AtomicI64::new(1);
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let started_at = Utc::now();
    NewDeploy {
        restores: None,
        lock_override: None,
        github_deployment: None,
        repo: format!("acme/{app}"),
        app: app.to_owned(),
        environment: None,
        namespace: namespace.to_owned(),
        cluster: None,
        status,
        version: Some(version.to_owned()),
        images: vec![format!("ghcr.io/acme/{app}:{version}")],
        workloads: Vec::new(),
        commit: Commit {
            sha: format!("{run:07x}{:033x}", run * 7919),
            message: format!("Release {version} of {app}"),
            url: None,
        },
        git_ref: Some("refs/heads/main".into()),
        actor: "alice".into(),
        run: WorkflowRun {
            id: run,
            attempt: 1,
            job: format!("deploy-{namespace}"),
            step: None,
            url: None,
        },
        started_at: Some(started_at),
        finished_at: finished(status, started_at),
        deadline: None,
        resources: Vec::new(),
        failure: None,
        slack: None,
    }
}

/// `deploys`, oldest first, restarted a minute apart so that the last started a minute ago.
pub fn one_after_another(deploys: impl IntoIterator<Item = NewDeploy>) -> Vec<NewDeploy> {
    let mut deploys: Vec<_> = deploys.into_iter().collect();
    let count = deploys.len();
    for (i, deploy) in deploys.iter_mut().enumerate() {
        let started_at = Utc::now() - Duration::minutes((count - i) as i64);
        deploy.started_at = Some(started_at);
        deploy.finished_at = finished(deploy.status, started_at);
    }
    deploys
}

fn finished(status: DeployStatus, started_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (status != DeployStatus::InProgress).then(|| started_at + Duration::seconds(90))
}

/// Apps and namespaces of the bulk history.
pub const BULK_APPS: usize = 50;
pub const BULK_NAMESPACES: usize = 5;
/// Deploys handed to `Store::insert_bulk` at a time.
const BATCH: usize = 20_000;

/// The namespace `ns-<n>` of the bulk history.
pub fn bulk_namespace(n: usize) -> String {
    format!("ns-{}", n % BULK_NAMESPACES)
}

/// Stores `total` finished deploys spread over the last two years: [`BULK_APPS`] apps in
/// [`BULK_NAMESPACES`] namespaces, 88% succeeded, 8% failed, 2% rolled back, 2% cancelled.
/// Calls `progress(done)` after each batch.
pub async fn seed_bulk(
    store: &Store,
    total: usize,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<()> {
    let span = Duration::days(730);
    let origin = Utc::now() - span;
    let step = span / i32::try_from(total.max(1))?;
    for first in (0..total).step_by(BATCH) {
        let batch: Vec<Deploy> = (first..total.min(first + BATCH))
            .map(|n| bulk_deploy(n, origin + step * i32::try_from(n).expect("fits")))
            .collect();
        store.insert_bulk(&batch).await?;
        progress(first + batch.len());
    }
    Ok(())
}

/// Deploy `n` of the bulk history; its facts are scattered by a hash of `n`.
fn bulk_deploy(n: usize, started_at: DateTime<Utc>) -> Deploy {
    let hash = splitmix(n as u64);
    let app = format!("app-{:02}", hash % BULK_APPS as u64);
    let namespace = bulk_namespace((hash >> 8) as usize);
    let status = match (hash >> 16) % 100 {
        0..88 => DeployStatus::Succeeded,
        88..96 => DeployStatus::Failed,
        96..98 => DeployStatus::RolledBack,
        _ => DeployStatus::Cancelled,
    };
    let mut new = deploy(
        &app,
        &namespace,
        status,
        &format!("v{}.{}.{}", n % 7, n % 31, n % 101),
    );
    new.actor = format!("dev-{}", (hash >> 24) % 20);
    new.run.id = i64::try_from(n).expect("fits");
    new.commit.sha = format!("{hash:016x}{:024x}", n);
    new.started_at = Some(started_at);
    new.finished_at = Some(started_at + Duration::seconds(30 + (hash >> 32) as i64 % 570));
    new.into_deploy(DeployId(0), started_at)
}

/// A well-mixed 64-bit hash (SplitMix64's finaliser).
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d4_9b3f_a4b5_f6b9);
    z ^ (z >> 31)
}
