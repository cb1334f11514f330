//! What changed, before and after: each object's diff on the deploy page, the history's
//! change counts, and the comparison of two deploys' manifests at a shareable URL, reached from
//! the deploy page's link and its "Compare with…" choice.

use fantoccini::Locator;
use shiplog_e2e::deploys::{deploy, one_after_another};
use shiplog_e2e::run;
use shiplog_model::DeployStatus::Succeeded;
use shiplog_model::{AppliedManifests, AppliedObject, NewDeploy, ResourceAction, ResourceChange};

/// What a deploy of `version` applied: the api Deployment at that image, and a ConfigMap.
fn applied(version: &str) -> AppliedManifests {
    let object = |kind: &str, name: &str, yaml: String| AppliedObject {
        api_version: "v1".into(),
        kind: kind.into(),
        name: name.into(),
        namespace: Some("prod".into()),
        yaml,
    };
    AppliedManifests {
        digest: format!("{:0>64}", version.trim_start_matches('v')),
        objects: vec![
            object(
                "Deployment",
                "api",
                format!("spec:\n  replicas: 2\n  image: ghcr.io/acme/api:{version}\n"),
            ),
            object("ConfigMap", "settings", "data:\n  mode: fast\n".into()),
        ],
        note: None,
    }
}

/// A deploy of `version` that changed the api Deployment, with the change's diff.
fn changed(version: &str, diff: &str) -> NewDeploy {
    let mut new = deploy("api", "prod", Succeeded, version);
    new.resources = vec![
        ResourceChange {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "api".into(),
            namespace: Some("prod".into()),
            action: ResourceAction::Configured,
            message: None,
            diff: Some(diff.into()),
        },
        ResourceChange {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "settings".into(),
            namespace: Some("prod".into()),
            action: ResourceAction::Unchanged,
            message: None,
            diff: None,
        },
    ];
    new
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_shows_its_diffs_and_compares_with_any_other() {
    run(|s| async move {
        let hostile = "--- live Deployment/api\n+++ planned Deployment/api\n@@ -1,2 +1,2 @@\n-  note: old\n+  note: <img src=x onerror=alert(1)>";
        let deploys = one_after_another([
            changed("v1", "--- live Deployment/api\n+++ planned Deployment/api"),
            changed("v2", hostile),
            changed("v3", "--- live Deployment/api\n+++ planned Deployment/api"),
        ]);
        let ids = s.server.api.record_all(&deploys).await?;
        for (id, version) in ids.iter().zip(["v1", "v2", "v3"]) {
            s.server.api.keep_manifests(*id, &applied(version)).await?;
        }
        let b = &s.browser;

        b.open("/history").await?;
        b.history_rendered().await?;
        let cell = b
            .wait_for(&format!("table.history tr[data-deploy-id=\"{}\"] td.changes", ids[1]))
            .await?;
        assert_eq!(cell.text().await?, "1 changed");

        // The deploy page: each changed object's diff, as text.
        b.open(&format!("/deploys/{}", ids[1])).await?;
        let summary = b.wait_for("details.object.configured summary").await?;
        assert_eq!(summary.text().await?, "Deployment/api configured");
        summary.click().await?;
        let added = b.wait_for("details.object.configured pre.diff span.add").await?;
        assert_eq!(added.text().await?, "+  note: <img src=x onerror=alert(1)>");
        assert!(
            b.client.find_all(Locator::Css("img")).await?.is_empty(),
            "diff text never becomes markup"
        );

        // "Compare the manifests with #previous": a shareable URL.
        b.wait_for("a.compare-previous").await?.click().await?;
        let lead = b.wait_for("article.compare p.summary").await?;
        assert_eq!(
            lead.text().await?,
            "1 changed · 0 added · 0 removed · 1 unchanged"
        );
        assert!(
            b.location().await?.ends_with(&format!("/compare/{}/{}", ids[0], ids[1])),
            "{}",
            b.location().await?
        );
        let lines: Vec<String> = {
            let mut lines = Vec::new();
            for span in b
                .client
                .find_all(Locator::Css("details.object.changed pre.diff span.del, details.object.changed pre.diff span.add"))
                .await?
            {
                lines.push(span.text().await?);
            }
            lines
        };
        assert_eq!(
            lines,
            ["-  image: ghcr.io/acme/api:v1", "+  image: ghcr.io/acme/api:v2"]
        );

        // "Compare with…" any other deploy of the app in the namespace, the earlier first.
        b.open(&format!("/deploys/{}", ids[0])).await?;
        b.wait_for(&format!("select[name=compare] option[value=\"{}\"]", ids[2]))
            .await?
            .click()
            .await?;
        b.wait_for("article.compare p.summary").await?;
        assert!(
            b.location().await?.ends_with(&format!("/compare/{}/{}", ids[0], ids[2])),
            "{}",
            b.location().await?
        );
        // The shared URL opens the same view on its own.
        b.open(&format!("/compare/{}/{}", ids[0], ids[2])).await?;
        let object = b.wait_for("details.object.changed summary code").await?;
        assert_eq!(object.text().await?, "Deployment/api in prod");
        Ok(())
    })
    .await;
}
