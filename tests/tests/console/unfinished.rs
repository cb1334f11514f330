//! Deploys that never ended read as such: `cancelled` and `abandoned` in the history (badge and
//! status filter), on the deploy's page (why it did not finish) and apart in insights.

use chrono::{Duration, Utc};
use fantoccini::Locator;
use shiplog_e2e::deploys::{deploy, one_after_another};
use shiplog_e2e::run;
use shiplog_model::DeployStatus::{Cancelled, InProgress, Succeeded};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_and_abandoned_deploys_show_as_such() {
    run(|s| async move {
        let mut deploys = one_after_another([
            deploy("api", "prod", Succeeded, "v1.0.0"),
            deploy("api", "prod", Cancelled, "v1.1.0"),
            deploy("web", "prod", InProgress, "v2.0.0"),
        ]);
        // The web deploy's job died: its result was due a second ago.
        deploys[2].deadline = Some(Utc::now() - Duration::seconds(1));
        let ids = s.server.api.record_all(&deploys).await?;
        assert_eq!(s.server.reap().await?, 1, "the overdue deploy is abandoned");
        let (cancelled, abandoned) = (ids[1].0, ids[2].0);
        let b = &s.browser;

        b.open("/history?status=abandoned").await?;
        b.history_rendered().await?;
        assert_eq!(b.history_ids().await?, [abandoned]);
        let badge = b.wait_for("table.history .status.abandoned").await?;
        assert_eq!(badge.text().await?.trim(), "○ abandoned");
        let mut options = Vec::new();
        for option in b
            .client
            .find_all(Locator::Css("form.filters select[name=status] option"))
            .await?
        {
            options.push(option.attr("value").await?.unwrap_or_default());
        }
        assert!(
            options.iter().any(|o| o == "abandoned") && options.iter().any(|o| o == "cancelled"),
            "{options:?}"
        );

        b.open("/history?status=cancelled").await?;
        b.history_rendered().await?;
        assert_eq!(b.history_ids().await?, [cancelled]);
        let badge = b.wait_for("table.history .status.cancelled").await?;
        assert_eq!(badge.text().await?.trim(), "– cancelled");

        b.open(&format!("/deploys/{abandoned}")).await?;
        let heading = b.wait_for("section.failure h2").await?;
        assert_eq!(heading.text().await?, "Why it did not finish");
        let reason = b.wait_for("section.failure .reason").await?.text().await?;
        assert!(
            reason.starts_with("no result was reported by ")
                && reason.ends_with(" UTC: the job was cancelled or its runner stopped"),
            "{reason}"
        );
        let lead = b.wait_for("article.deploy p.lead .status").await?;
        assert_eq!(lead.text().await?.trim(), "○ abandoned");

        b.open("/insights?days=7").await?;
        let table = b.wait_for("table.insights").await?.text().await?;
        assert!(table.contains("1 deploy · 1 cancelled"), "{table}");
        assert!(table.contains("0 deploys · 1 abandoned"), "{table}");
        Ok(())
    })
    .await;
}
