//! `/`: the environment grid shows, for every app and namespace, the latest deploy's version
//! linking to it, its commit — including a failed deploy that came after a successful one — and
//! where an earlier namespace runs a newer version than a later one, all from the server's
//! summaries.

use std::collections::BTreeMap;

use fantoccini::Locator;
use shiplog_e2e::browser::PATIENCE;
use shiplog_e2e::deploys::{deploy, one_after_another};
use shiplog_e2e::run;
use shiplog_model::DeployStatus::{self, Failed, Succeeded};

/// The seeded history, oldest first: (app, namespace, version, status).
const HISTORY: [(&str, &str, &str, DeployStatus); 13] = [
    ("api", "dev", "v1.0.0", Succeeded),
    ("api", "stage", "v1.0.0", Succeeded),
    ("api", "prod", "v1.0.0", Succeeded),
    ("web", "dev", "v3.1.0", Succeeded),
    ("web", "stage", "v3.1.0", Succeeded),
    ("web", "prod", "v3.1.0", Succeeded),
    ("worker", "dev", "v0.9.0", Succeeded),
    ("api", "dev", "v1.1.0", Succeeded),
    ("api", "stage", "v1.1.0", Succeeded),
    ("web", "dev", "v3.2.0", Succeeded),
    ("worker", "stage", "v0.9.0", Succeeded),
    // The latest prod deploy of api failed; prod still runs v1.0.0.
    ("api", "prod", "v1.1.0", Failed),
    ("web", "dev", "v3.3.0-rc.1", Succeeded),
];

/// Reads the grid: for each app row and namespace column, the cell's version link text, target
/// and classes (`None` where nothing was deployed).
const READ_GRID: &str = r"
    const grid = document.querySelector('table.grid');
    const columns = [...grid.querySelectorAll('thead th')].slice(1).map(th => th.textContent.trim());
    return [...grid.querySelectorAll('tbody tr.app-row')].map(row => ({
        app: row.querySelector('th').textContent.trim(),
        cells: [...row.querySelectorAll('td')].map((td, i) => {
            const link = td.querySelector('a.version');
            return [columns[i], link && {
                version: link.textContent.trim(),
                href: link.getAttribute('href'),
                class: td.className,
                commit: td.querySelector('.commit code').textContent,
                title: td.querySelector('.commit').getAttribute('title'),
                running: [...td.querySelectorAll('a:not(.version)')].map(a => a.getAttribute('href')),
            }];
        }),
    }));
";

#[derive(Debug, serde::Deserialize)]
struct Cell {
    version: String,
    href: String,
    class: String,
    commit: String,
    title: String,
    running: Vec<String>,
}

/// The drift notes once each has counted the deploys between its namespaces.
const COUNTED_DRIFTS: &str =
    "//ul[contains(@class, 'drift')][count(li) = 2][not(li[contains(., ' is ahead of ')])]";

#[derive(serde::Deserialize)]
struct Row {
    app: String,
    cells: Vec<(String, Option<Cell>)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_shows_the_latest_version_per_app_and_namespace() {
    run(|s| async move {
        let deploys = one_after_another(
            HISTORY
                .map(|(app, namespace, version, status)| deploy(app, namespace, status, version)),
        );
        let ids = s.server.api.record_all(&deploys).await?;
        // The last deploy of each (app, namespace) wins.
        let mut latest = BTreeMap::new();
        for ((id, deploy), (app, namespace, version, status)) in
            ids.iter().zip(&deploys).zip(HISTORY)
        {
            latest.insert(
                (app.to_owned(), namespace.to_owned()),
                (
                    version,
                    status,
                    format!("/deploys/{id}"),
                    deploy.commit.short_sha().to_owned(),
                ),
            );
        }

        let b = &s.browser;
        b.open("/?order=dev,stage,prod").await?;
        b.wait_for("table.grid a.version").await?;
        let rows: Vec<Row> = serde_json::from_value(b.client.execute(READ_GRID, vec![]).await?)?;

        let mut shown = BTreeMap::new();
        for row in rows {
            let columns: Vec<_> = row.cells.iter().map(|(ns, _)| ns.as_str()).collect();
            assert_eq!(columns, ["dev", "stage", "prod"], "the ordered columns");
            for (namespace, cell) in row.cells {
                if let Some(cell) = cell {
                    shown.insert((row.app.clone(), namespace), cell);
                }
            }
        }
        assert!(
            shown.keys().eq(latest.keys()),
            "cells with a deploy: {:?}",
            shown.keys()
        );
        for (key, (version, status, href, sha)) in &latest {
            let cell = &shown[key];
            assert_eq!(
                (cell.version.as_str(), cell.href.as_str()),
                (*version, href.as_str()),
                "{key:?}"
            );
            assert_eq!(cell.commit, *sha, "{key:?}");
            assert_eq!(cell.title, format!("Release {version} of {}", key.0));
            assert!(
                cell.class.split(' ').any(|c| c == status.as_str()),
                "{key:?}: class {:?}",
                cell.class
            );
        }

        // The failed prod deploy of api says what still runs: the last successful one.
        let failed = &shown[&("api".to_owned(), "prod".to_owned())];
        assert_eq!(
            failed.running,
            [format!("/deploys/{}", ids[2])],
            "api in prod still runs v1.0.0"
        );

        // Drift, read from the summaries of what each namespace runs: api's stage is ahead of
        // prod (which still runs v1.0.0), web's dev of stage; worker runs one version.
        let notes = b
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::XPath(COUNTED_DRIFTS))
            .await?
            .text()
            .await?;
        assert_eq!(
            notes.lines().collect::<Vec<_>>(),
            [
                "api: stage is 1 deploy ahead of prod (v1.1.0 vs v1.0.0)",
                "web: dev is 2 deploys ahead of stage (v3.3.0-rc.1 vs v3.1.0)",
            ]
        );
        Ok(())
    })
    .await;
}
