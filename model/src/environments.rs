//! The environment matrix (`GET /api/v1/environments`): for every app in every namespace, a
//! summary of the latest deploy and of the latest successful one.
//!
//! A cell never carries a whole [`Deploy`]: its size does not depend on what one record lists
//! (workloads, images, resources, failure details), only on a few short texts, and is at most
//! [`MAX_CELL_BYTES`]. The answer has one cell per app × namespace that was ever deployed to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::deploy::{Deploy, DeployId, DeployStatus};
use crate::limits::cut;

/// Longest commit title a summary keeps, in bytes (longer titles are cut and end with `…`).
pub const MAX_TITLE_BYTES: usize = 256;

/// Most bytes one cell adds to the matrix's JSON, counting its share of `apps` and
/// `namespaces`, whatever the deploys carry (checked by a test with every text at its limit and
/// made of characters JSON escapes as `\u00XX`). A usual cell takes about 500 bytes.
pub const MAX_CELL_BYTES: usize = 52 * 1024;

/// What the matrix shows of one deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploySummary {
    pub id: DeployId,
    pub status: DeployStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Who triggered the deploy.
    pub actor: String,
    /// The commit's short SHA (seven characters).
    pub commit_sha: String,
    /// The first line of the commit message, at most [`MAX_TITLE_BYTES`].
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub commit_title: String,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// How many workloads the deploy lists.
    pub workloads: u32,
    /// How many resources (per-object outcomes) the deploy lists.
    pub resources: u32,
}

impl DeploySummary {
    /// The summary of `deploy`.
    pub fn of(deploy: &Deploy) -> DeploySummary {
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        DeploySummary {
            id: deploy.id,
            status: deploy.status,
            version: deploy.version.clone(),
            actor: deploy.actor.clone(),
            commit_sha: deploy.commit.short_sha().to_owned(),
            commit_title: cut(deploy.commit.title(), MAX_TITLE_BYTES),
            started_at: deploy.started_at,
            finished_at: deploy.finished_at,
            workloads: count(deploy.workloads.len()),
            resources: count(deploy.resources.len()),
        }
    }

    /// How people name what was deployed: the version, or else the short SHA.
    pub fn label(&self) -> &str {
        self.version.as_deref().unwrap_or(&self.commit_sha)
    }
}

/// One cell: an app in one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentCell {
    pub app: String,
    pub namespace: String,
    /// The most recent deploy, whatever its outcome.
    pub latest: DeploySummary,
    /// The most recent deploy that succeeded, if any did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_success: Option<DeploySummary>,
}

/// Every cell, plus the apps and namespaces in sorted order for laying out a grid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentMatrix {
    pub apps: Vec<String>,
    pub namespaces: Vec<String>,
    pub cells: Vec<EnvironmentCell>,
}

impl EnvironmentMatrix {
    /// Builds the matrix from its cells, deriving the sorted app and namespace lists.
    pub fn from_cells(mut cells: Vec<EnvironmentCell>) -> Self {
        cells.sort_by(|a, b| (&a.app, &a.namespace).cmp(&(&b.app, &b.namespace)));
        let mut apps: Vec<String> = cells.iter().map(|c| c.app.clone()).collect();
        apps.dedup();
        let mut namespaces: Vec<String> = cells.iter().map(|c| c.namespace.clone()).collect();
        namespaces.sort();
        namespaces.dedup();
        EnvironmentMatrix {
            apps,
            namespaces,
            cells,
        }
    }

    /// The cell of `app` in `namespace`.
    pub fn cell(&self, app: &str, namespace: &str) -> Option<&EnvironmentCell> {
        self.cells
            .iter()
            .find(|c| c.app == app && c.namespace == namespace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::{Commit, WorkflowRun, WorkloadRef};
    use crate::limits::{MAX_SHORT_TEXT, MAX_WORKLOADS, json_len};

    /// A deploy whose every short text is at its limit, made of a character JSON writes as six
    /// bytes, with a long commit title and the most workloads a record may list.
    fn hostile(id: i64) -> Deploy {
        let text = "\u{1}".repeat(MAX_SHORT_TEXT);
        Deploy {
            restores: None,
            lock_override: None,
            github_deployment: None,
            id: DeployId(id),
            repo: text.clone(),
            app: text.clone(),
            environment: text.clone(),
            namespace: text.clone(),
            cluster: Some(text.clone()),
            status: DeployStatus::Succeeded,
            version: Some(text.clone()),
            images: vec![text.clone(); 10],
            workloads: vec![
                WorkloadRef {
                    kind: text.clone(),
                    name: text.clone()
                };
                MAX_WORKLOADS
            ],
            commit: Commit {
                sha: text.clone(),
                message: "\u{1}".repeat(10_000),
                url: None,
            },
            git_ref: None,
            actor: text.clone(),
            run: WorkflowRun::default(),
            started_at: "2026-01-01T00:00:00.123456789Z".parse().unwrap(),
            finished_at: Some("2026-01-01T00:00:00.123456789Z".parse().unwrap()),
            deadline: None,
            resources: Vec::new(),
            failure: None,
            slack: None,
        }
    }

    #[test]
    fn a_cell_is_small_whatever_its_deploys_carry() {
        let deploy = hostile(i64::MAX);
        let cell = EnvironmentCell {
            app: deploy.app.clone(),
            namespace: deploy.namespace.clone(),
            latest: DeploySummary::of(&deploy),
            latest_success: Some(DeploySummary::of(&deploy)),
        };
        let matrix = EnvironmentMatrix::from_cells(vec![cell]);
        let size = json_len(&matrix);
        assert!(size <= MAX_CELL_BYTES, "{size} bytes");
        assert!(size > MAX_CELL_BYTES - 1024, "the bound is tight: {size}");
        assert!(json_len(&deploy) > 10 * size, "the deploy itself is not");
        assert_eq!(matrix.cells[0].latest.workloads, 500);
    }

    #[test]
    fn long_titles_are_cut_on_a_character() {
        let mut deploy = hostile(1);
        deploy.commit.message = format!("{}\nbody", "é".repeat(300));
        let title = DeploySummary::of(&deploy).commit_title;
        assert!(title.len() <= MAX_TITLE_BYTES, "{}", title.len());
        assert!(title.ends_with("é…"), "{title}");
    }

    #[test]
    fn a_summary_names_its_deploy_by_version_or_sha() {
        let mut deploy = hostile(1);
        deploy.version = None;
        deploy.commit.sha = "0123456789abcdef".into();
        assert_eq!(DeploySummary::of(&deploy).label(), "0123456");
        deploy.version = Some("v1.2.0".into());
        assert_eq!(DeploySummary::of(&deploy).label(), "v1.2.0");
    }
}
