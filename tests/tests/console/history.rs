//! `/history`: deep links show exactly the matching deploys, the filter form navigates, back
//! and forward restore earlier filters, and new deploys appear live.

use std::collections::BTreeSet;

use serde_json::json;
use shiplog_e2e::browser::PATIENCE;
use shiplog_e2e::deploys::{deploy, one_after_another};
use shiplog_e2e::{Session, run};
use shiplog_model::DeployStatus::{Failed, RolledBack, Succeeded};
use shiplog_model::{DeployId, DeployStatus};

/// The seeded history: (app, namespace, status), oldest first.
const HISTORY: [(&str, &str, DeployStatus); 10] = [
    ("api", "prod", Failed),
    ("api", "prod", Succeeded),
    ("web", "prod", Failed),
    ("api", "stage", Failed),
    ("web", "stage", Failed),
    ("api", "prod", RolledBack),
    ("worker", "prod", Failed),
    ("api", "dev", Failed),
    ("web", "stage", Succeeded),
    ("worker", "stage", Succeeded),
];

/// Records [`HISTORY`]; returns each deploy's id with its app, namespace and status.
async fn seed(
    session: &Session,
) -> anyhow::Result<Vec<(DeployId, &'static str, &'static str, DeployStatus)>> {
    let deploys = one_after_another(
        HISTORY.map(|(app, namespace, status)| deploy(app, namespace, status, "v1.0.0")),
    );
    let ids = session.server.api.record_all(&deploys).await?;
    Ok(ids
        .into_iter()
        .zip(HISTORY)
        .map(|(id, (app, namespace, status))| (id, app, namespace, status))
        .collect())
}

/// The ids of `seeded` in `namespace`, with `status` if given.
fn expected(
    seeded: &[(DeployId, &str, &str, DeployStatus)],
    namespace: &str,
    status: Option<DeployStatus>,
) -> BTreeSet<i64> {
    seeded
        .iter()
        .filter(|(_, _, ns, s)| *ns == namespace && status.is_none_or(|status| status == *s))
        .map(|(id, ..)| id.0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_link_filters_and_back_forward_show_exactly_the_matching_deploys() {
    run(|s| async move {
        let seeded = seed(&s).await?;
        let prod_failed = expected(&seeded, "prod", Some(Failed));
        let stage_failed = expected(&seeded, "stage", Some(Failed));
        let stage_any = expected(&seeded, "stage", None);
        assert_eq!(
            prod_failed.len(),
            3,
            "the fixture has three failed prod deploys"
        );
        let b = &s.browser;

        b.open("/history?namespace=prod&status=failed").await?;
        b.history_rendered().await?;
        assert_eq!(
            b.history_id_set().await?,
            prod_failed,
            "the deep link's rows"
        );
        let namespace = b.wait_for("form.filters input[name=namespace]").await?;
        assert_eq!(
            namespace.prop("value").await?.as_deref(),
            Some("prod"),
            "the form shows the URL's filters"
        );
        let status = b.wait_for("form.filters select[name=status]").await?;
        assert_eq!(status.prop("value").await?.as_deref(), Some("failed"));

        // Another namespace, through the form.
        b.clear_marks().await?;
        namespace.clear().await?;
        namespace.send_keys("stage").await?;
        b.wait_for("form.filters button[type=submit]")
            .await?
            .click()
            .await?;
        b.history_rendered().await?;
        assert_eq!(
            b.location().await?,
            "/history?namespace=stage&status=failed"
        );
        assert_eq!(
            b.history_id_set().await?,
            stage_failed,
            "rows after changing the namespace"
        );

        // Any status (the form is rebuilt for the new filters: find it again).
        b.clear_marks().await?;
        b.wait_for("form.filters select[name=status]")
            .await?
            .select_by_value("")
            .await?;
        b.wait_for("form.filters button[type=submit]")
            .await?
            .click()
            .await?;
        b.history_rendered().await?;
        assert_eq!(b.location().await?, "/history?namespace=stage");
        assert_eq!(
            b.history_id_set().await?,
            stage_any,
            "rows after clearing the status"
        );

        // Back twice, then forward: each restores that entry's filters and rows.
        for (step, location, rows) in [
            (
                "back",
                "/history?namespace=stage&status=failed",
                &stage_failed,
            ),
            (
                "back",
                "/history?namespace=prod&status=failed",
                &prod_failed,
            ),
            (
                "forward",
                "/history?namespace=stage&status=failed",
                &stage_failed,
            ),
        ] {
            b.clear_marks().await?;
            if step == "back" {
                b.client.back().await?;
            } else {
                b.client.forward().await?;
            }
            b.history_rendered().await?;
            assert_eq!(b.location().await?, location, "address after {step}");
            assert_eq!(
                &b.history_id_set().await?,
                rows,
                "rows after {step} to {location}"
            );
        }
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_recorded_while_history_is_open_appears_without_a_reload() {
    run(|s| async move {
        let seeded = seed(&s).await?;
        let b = &s.browser;
        b.open("/history?namespace=prod").await?;
        b.history_rendered().await?;
        assert_eq!(b.history_id_set().await?, expected(&seeded, "prod", None));
        // A reload would lose this.
        b.client
            .execute("window.shiplogE2e = 'same page';", vec![])
            .await?;
        s.server.stream_clients(1, PATIENCE).await?;

        let api = &s.server.api;
        let elsewhere = api
            .record(&deploy("api", "dev", Succeeded, "v9.9.9"))
            .await?;
        let live = api
            .record(&deploy("api", "prod", Succeeded, "v9.9.9"))
            .await?;
        let row = b
            .wait_for(&format!("table.history tr[data-deploy-id=\"{live}\"]"))
            .await?;
        assert!(
            row.text().await?.contains("v9.9.9"),
            "the new row shows the deploy"
        );

        let ids = b.history_ids().await?;
        assert_eq!(
            ids.first(),
            Some(&live.0),
            "the new deploy is on top: {ids:?}"
        );
        assert!(
            !ids.contains(&elsewhere.0),
            "a deploy outside the filter stays out: {ids:?}"
        );
        let mut older = expected(&seeded, "prod", None);
        older.insert(live.0);
        assert_eq!(ids.iter().copied().collect::<BTreeSet<_>>(), older);
        let marker = b
            .client
            .execute("return window.shiplogE2e;", vec![])
            .await?;
        assert_eq!(marker, json!("same page"), "the page was not reloaded");
        Ok(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_the_stream_cannot_keep_up_with_still_reaches_the_page_by_resync() {
    // Each stream client may fall 4 events behind; the burst is 40.
    let limits = shiplog_server::limits::Limits {
        stream_buffer: 4,
        ..Default::default()
    };
    shiplog_e2e::run_with(limits, |s| async move {
        let seeded = seed(&s).await?;
        let b = &s.browser;
        b.open("/history?namespace=prod").await?;
        b.history_rendered().await?;
        b.client
            .execute("window.shiplogE2e = 'same page';", vec![])
            .await?;
        s.server.stream_clients(1, PATIENCE).await?;

        let burst = one_after_another(
            (0..40).map(|n| deploy("api", "prod", Succeeded, &format!("v9.{n}"))),
        );
        let burst = s.server.record_burst(&burst).await?;
        // The server dropped the client with a `resync`; the page connected again and fetched
        // the first page anew: the newest deploy is there without a reload.
        let newest = burst.last().unwrap();
        b.wait_for(&format!("table.history tr[data-deploy-id=\"{newest}\"]"))
            .await?;
        let ids = b.history_ids().await?;
        let mut want: BTreeSet<i64> = expected(&seeded, "prod", None);
        want.extend(burst.iter().map(|id| id.0));
        let shown: BTreeSet<i64> = ids.iter().copied().collect();
        assert!(shown.is_subset(&want), "{ids:?}");
        assert_eq!(ids.first(), Some(&newest.0), "{ids:?}");
        // It was dropped and connected again: two stream requests in all.
        let metrics = s.server.api.get("/metrics").await?.text().await?;
        let streams: f64 = metrics
            .lines()
            .filter(|l| {
                l.starts_with("shiplog_http_requests_total")
                    && l.contains("route=\"/api/v1/stream\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(streams >= 2.0, "stream requests: {streams}\n{metrics}");
        s.server.stream_clients(1, PATIENCE).await?;
        let marker = b
            .client
            .execute("return window.shiplogE2e;", vec![])
            .await?;
        assert_eq!(marker, json!("same page"), "the page was not reloaded");
        Ok(())
    })
    .await;
}
