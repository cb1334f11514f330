//! Where else a deploy shows, from its page: the GitHub deployment it is mirrored as (a link
//! that opens nothing of the console's), and the hold it deployed despite, both as text.

use fantoccini::Locator;
use shiplog_e2e::deploys::deploy;
use shiplog_e2e::run;
use shiplog_model::DeployStatus::Succeeded;
use shiplog_model::GithubDeployment;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deploy_page_links_its_github_deployment_and_names_an_override() {
    run(|s| async move {
        let mut new = deploy("api", "prod", Succeeded, "v1.0.0");
        new.github_deployment = Some(GithubDeployment {
            id: 4242,
            url: "https://github.com/acme/shop/deployments/prod".into(),
        });
        new.lock_override =
            Some("prod is locked by @octocat since 2026-12-03 14:05 UTC: <b>x</b>".into());
        let id = s.server.api.record(&new).await?;
        let b = &s.browser;
        b.open(&format!("/deploys/{id}")).await?;
        let link = b
            .wait_for("dl.facts a[href^='https://github.com/']")
            .await?;
        assert_eq!(link.text().await?, "deployment 4242 to prod");
        assert_eq!(
            link.attr("href").await?.as_deref(),
            Some("https://github.com/acme/shop/deployments/prod")
        );
        assert_eq!(
            link.attr("rel").await?.as_deref(),
            Some("noopener noreferrer")
        );
        let held = b.wait_for("dd.override").await?;
        assert_eq!(
            held.text().await?,
            "prod is locked by @octocat since 2026-12-03 14:05 UTC: <b>x</b> (override-lock)"
        );
        assert!(held.find_all(Locator::Css("b")).await?.is_empty());
        Ok(())
    })
    .await;
}
