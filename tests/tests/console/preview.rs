//! The link preview of `/deploys/{id}`, as Slack's unfurler fetches it (no browser): `<title>`
//! and OpenGraph tags that describe the deploy, escaped, and a Content-Security-Policy.

use reqwest::StatusCode;
use reqwest::header::CONTENT_SECURITY_POLICY;
use shiplog_e2e::deploys::deploy;
use shiplog_e2e::server::TestServer;
use shiplog_model::{DeployStatus, Failure};

/// The `content` of the `<meta property="{property}">` tag of `html`, unescaped.
fn meta(html: &str, property: &str) -> Option<String> {
    let opening = format!("<meta property=\"{property}\" content=\"");
    let start = html.find(&opening)? + opening.len();
    let content = &html[start..start + html[start..].find('"')?];
    Some(
        content
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// The text of the page's one `<title>`.
fn title(html: &str) -> &str {
    assert_eq!(html.matches("<title>").count(), 1, "one title: {html}");
    let start = html.find("<title>").expect("a title") + "<title>".len();
    &html[start..start + html[start..].find("</title>").expect("a closed title")]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_links_preview_the_deploy() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let mut good = deploy("api", "prod", DeployStatus::Succeeded, "v1.4.2");
    good.commit.sha = "4f2a9c1e0b7d".into();
    good.commit.message = "Fix checkout\n\nThe cart total was off by one.".into();
    let mut bad = deploy("web", "stage", DeployStatus::Failed, "v2.0.0");
    bad.actor = "bob".into();
    bad.commit.sha = "0123456789ab".into();
    bad.commit.message = "Render \"deals\" & <banners>".into();
    bad.failure = Some(Failure {
        reason: "web: image cannot be pulled (ImagePullBackOff)".into(),
        details: Vec::new(),
    });
    let ids = server.api.record_all(&[good, bad]).await?;

    let cases = [
        (
            ids[0],
            "✅ api → prod · v1.4.2 · alice",
            "succeeded api to prod — Fix checkout (4f2a9c1)".to_owned(),
        ),
        (
            ids[1],
            "❌ web → stage · v2.0.0 · bob",
            "failed web to stage — Render \"deals\" & <banners> (0123456). web: image cannot be \
             pulled (ImagePullBackOff)"
                .to_owned(),
        ),
    ];
    for (id, expected_title, description) in cases {
        let path = format!("/deploys/{id}");
        let response = server.api.get(&path).await?;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let policy = response
            .headers()
            .get(CONTENT_SECURITY_POLICY)
            .unwrap_or_else(|| panic!("{path} has no Content-Security-Policy"))
            .to_str()?
            .to_owned();
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        assert!(policy.contains("object-src 'none'"), "{path}: {policy}");
        let html = response.text().await?;

        assert_eq!(title(&html), expected_title, "{path}: <title>");
        assert_eq!(
            meta(&html, "og:title").as_deref(),
            Some(expected_title),
            "{path}: og:title"
        );
        assert_eq!(
            meta(&html, "og:description"),
            Some(description),
            "{path}: og:description"
        );
        assert_eq!(
            meta(&html, "og:url"),
            Some(server.url(&path)),
            "{path}: og:url"
        );
        assert!(
            !html.contains("<banners>"),
            "{path}: record text is escaped"
        );
    }

    // An unknown deploy still opens the app, with the generic title.
    let html = server.api.get("/deploys/999999").await?.text().await?;
    assert_eq!(title(&html), "shiplog");
    assert_eq!(meta(&html, "og:title"), None);
    Ok(())
}
