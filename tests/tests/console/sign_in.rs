//! A server whose history needs a read token: the console sends the browser to the sign-in
//! page, a wrong token is refused with a message, the right one shows the history and its live
//! updates (the event stream carries the cookie, as EventSource cannot send a header), and
//! signing out locks the console again.

use shiplog_e2e::browser::PATIENCE;
use shiplog_e2e::deploys::deploy;
use shiplog_e2e::run_read_protected;
use shiplog_e2e::server::READ_TOKEN;
use shiplog_model::DeployStatus::Succeeded;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_with_the_read_token_shows_history_and_live_updates() {
    run_read_protected(|s| async move {
        let api = &s.server.api;
        let first = api
            .record(&deploy("api", "prod", Succeeded, "v1.0.0"))
            .await?;
        assert_eq!(
            api.get("/api/v1/deploys").await?.status(),
            401,
            "the API needs the read token"
        );
        let b = &s.browser;

        b.open("/history?namespace=prod").await?;
        b.wait_for("form.sign-in input[name=token]").await?;
        assert_eq!(
            b.location().await?,
            "/sign-in?next=%2Fhistory%3Fnamespace%3Dprod"
        );

        // A wrong token is refused, with a message.
        b.wait_for("form.sign-in input[name=token]")
            .await?
            .send_keys("not-the-read-token")
            .await?;
        b.wait_for("form.sign-in button[type=submit]")
            .await?
            .click()
            .await?;
        let alert = b.wait_for("p.error[role=alert]").await?;
        assert_eq!(alert.text().await?, "That is not this server's read token.");

        // The right one leads back to the page asked for, with its history.
        b.wait_for("form.sign-in input[name=token]")
            .await?
            .send_keys(READ_TOKEN)
            .await?;
        b.wait_for("form.sign-in button[type=submit]")
            .await?
            .click()
            .await?;
        b.history_rendered().await?;
        assert_eq!(b.location().await?, "/history?namespace=prod");
        assert_eq!(b.history_ids().await?, vec![first.0]);

        // A deploy recorded now arrives over the event stream, which the cookie opened.
        s.server.stream_clients(1, PATIENCE).await?;
        let live = api
            .record(&deploy("api", "prod", Succeeded, "v2.0.0"))
            .await?;
        let row = b
            .wait_for(&format!("table.history tr[data-deploy-id=\"{live}\"]"))
            .await?;
        assert!(row.text().await?.contains("v2.0.0"));

        // Signing out locks the console again.
        b.wait_for("form.sign-out button[type=submit]")
            .await?
            .click()
            .await?;
        b.wait_for("form.sign-in input[name=token]").await?;
        b.open("/history").await?;
        b.wait_for("form.sign-in input[name=token]").await?;
        assert_eq!(b.location().await?, "/sign-in?next=%2Fhistory");
        Ok(())
    })
    .await;
}
