//! Locking and unlocking an environment from the environments page of a signed-in console:
//! the reason is shown as text, the column is marked, a deploy step's check is held, the
//! history of that environment shows the lock, and unlocking (with a name) lifts it.

use fantoccini::Locator;
use shiplog_e2e::browser::PATIENCE;
use shiplog_e2e::deploys::deploy;
use shiplog_e2e::run_read_protected;
use shiplog_e2e::server::{READ_TOKEN, TOKEN};
use shiplog_model::DeployStatus::Succeeded;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_is_locked_with_a_reason_and_unlocked_from_the_console() {
    run_read_protected(|s| async move {
        let api = &s.server.api;
        api.record(&deploy("api", "prod", Succeeded, "v1.0.0"))
            .await?;
        api.record(&deploy("api", "stage", Succeeded, "v1.1.0"))
            .await?;
        let b = &s.browser;

        b.open("/").await?;
        b.wait_for("form.sign-in input[name=token]")
            .await?
            .send_keys(READ_TOKEN)
            .await?;
        b.wait_for("form.sign-in button[type=submit]")
            .await?
            .click()
            .await?;
        b.wait_for("table.grid").await?;

        b.wait_for("details.lock-form summary")
            .await?
            .click()
            .await?;
        b.wait_for("details.lock-form select[name=environment] option[value=prod]")
            .await?
            .click()
            .await?;
        let hostile = "incident <b>4711</b>";
        b.wait_for("details.lock-form input[name=reason]")
            .await?
            .send_keys(hostile)
            .await?;
        b.wait_for("details.lock-form input[name=by]")
            .await?
            .send_keys("@octocat")
            .await?;
        b.wait_for("details.lock-form button[type=submit]")
            .await?
            .click()
            .await?;

        let hold = b.wait_for("ul.holds li.locked").await?;
        let text = hold.text().await?;
        assert!(
            text.starts_with("🔒 prod is locked by @octocat") && text.contains(hostile),
            "{text}"
        );
        assert!(
            hold.find_all(Locator::Css("b")).await?.is_empty(),
            "the reason is text, never markup"
        );
        let mark = b.wait_for("table.grid th .lock-mark").await?;
        assert_eq!(
            mark.attr("title").await?.as_deref(),
            Some(format!("prod is locked by @octocat: {hostile}").as_str())
        );
        // The api's cell in prod is marked too; its cell in stage is not.
        let marks = b
            .client
            .find_all(Locator::Css("table.grid td.cell .lock-mark"))
            .await?;
        assert_eq!(marks.len(), 1, "one app in one locked namespace");

        // A deploy step's check is held now; the lock was audited as the console's.
        let check = reqwest::Client::new()
            .get(s.server.url("/api/v1/locks/check?environment=prod&app=api"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json::<serde_json::Value>()
            .await?;
        assert_eq!(
            check["held"]["lock"]["via"], "console (signed in)",
            "{check}"
        );

        // The history of prod shows the lock; stage's does not.
        b.open("/history?namespace=prod").await?;
        let banner = b.wait_for("ul.holds.banner li.locked").await?;
        assert!(banner.text().await?.contains("prod is locked by @octocat"));
        b.open("/history?namespace=stage").await?;
        b.history_rendered().await?;
        assert!(
            b.client
                .find_all(Locator::Css("ul.holds.banner"))
                .await?
                .is_empty()
        );

        // Unlocking asks who unlocks.
        b.open("/").await?;
        b.wait_for("ul.holds button.unlock").await?.click().await?;
        b.client.send_alert_text("@hubot").await?;
        b.client.accept_alert().await?;
        let deadline = std::time::Instant::now() + PATIENCE;
        while !b
            .client
            .find_all(Locator::Css("ul.holds"))
            .await?
            .is_empty()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the lock is still shown"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let locks = reqwest::Client::new()
            .get(s.server.url("/api/v1/locks"))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json::<serde_json::Value>()
            .await?;
        assert_eq!(locks["locks"], serde_json::json!([]));
        assert_eq!(locks["events"][0]["action"], "unlocked");
        assert_eq!(locks["events"][0]["by"], "@hubot");
        Ok(())
    })
    .await;
}
