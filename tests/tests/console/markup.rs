//! Text from records is rendered as text: a commit message that is markup shows as markup on
//! the deploy page and in the history, and never becomes an element or runs.

use fantoccini::Locator;
use shiplog_e2e::browser::Browser;
use shiplog_e2e::deploys::deploy;
use shiplog_e2e::run;
use shiplog_model::DeployStatus;

const MESSAGE: &str = "<img src=x onerror=alert(1)>";

/// No element was made of the message and no alert is open.
async fn assert_inert(b: &Browser, page: &str) -> anyhow::Result<()> {
    let images = b.client.find_all(Locator::Css("img")).await?;
    assert!(
        images.is_empty(),
        "{page}: the message became {} img element(s)",
        images.len()
    );
    match b.client.get_alert_text().await {
        Err(e) if e.is_no_such_alert() => Ok(()),
        Ok(text) => panic!("{page}: an alert opened: {text:?}"),
        Err(e) => Err(e.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_message_with_markup_shows_literally_and_never_runs() {
    run(|s| async move {
        let mut hostile = deploy("api", "prod", DeployStatus::Succeeded, "v1.4.2");
        hostile.commit.message = MESSAGE.into();
        let id = s.server.api.record(&hostile).await?;
        let b = &s.browser;

        b.open(&format!("/deploys/{id}")).await?;
        let message = b.wait_for("pre.commit-message").await?;
        assert_eq!(
            message.text().await?,
            MESSAGE,
            "the deploy page shows the message as text"
        );
        assert_eq!(
            message.html(true).await?,
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_inert(b, "deploy page").await?;

        b.open("/history").await?;
        b.history_rendered().await?;
        let title = b
            .wait_for(&format!(
                "table.history tr[data-deploy-id=\"{id}\"] .commit-title"
            ))
            .await?;
        assert_eq!(
            title.text().await?,
            MESSAGE,
            "the history row shows the message as text"
        );
        assert_inert(b, "history").await
    })
    .await;
}
