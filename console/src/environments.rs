//! The environments grid: which namespaces come first, which cells exist, and where two
//! namespaces of the pipeline run different versions.

use shiplog_model::{DeploySummary, EnvironmentMatrix};

/// Where a namespace name sits in a usual pipeline; unknown names sort after, by name.
fn pipeline_rank(namespace: &str) -> u8 {
    let name = namespace.to_ascii_lowercase();
    let stages: [&[&str]; 6] = [
        &["dev", "development"],
        &["test", "testing", "ci"],
        &["qa", "uat"],
        &["stage", "staging", "preprod", "pre-prod"],
        &["prod", "production", "live"],
        &[],
    ];
    stages
        .iter()
        .position(|names| {
            names
                .iter()
                .any(|n| name == *n || name.ends_with(&format!("-{n}")))
        })
        .unwrap_or(stages.len()) as u8
}

/// The namespaces as columns: the order given (`dev,stage,prod`) first, then the rest in
/// pipeline order (dev → test → qa → stage → prod), then alphabetically.
pub fn column_order(namespaces: &[String], explicit: Option<&str>) -> Vec<String> {
    let wanted: Vec<&str> = explicit
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let mut columns: Vec<String> = wanted
        .iter()
        .filter(|n| namespaces.iter().any(|m| m == *n))
        .map(|n| n.to_string())
        .collect();
    let mut rest: Vec<&String> = namespaces.iter().filter(|n| !columns.contains(n)).collect();
    rest.sort_by_key(|n| (pipeline_rank(n), n.to_string()));
    columns.extend(rest.into_iter().cloned());
    columns
}

/// An earlier namespace of the pipeline runs a newer version than a later one.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    pub app: String,
    /// The namespace that is ahead (e.g. stage) and what it runs.
    pub ahead: Running,
    /// The namespace that is behind (e.g. prod) and what it runs.
    pub behind: Running,
}

/// What runs in a namespace: its latest successful deploy.
#[derive(Debug, Clone, PartialEq)]
pub struct Running {
    pub namespace: String,
    pub deploy: DeploySummary,
}

/// For each app, each pair of neighbouring columns whose successful versions differ, where the
/// earlier column was deployed more recently.
pub fn drifts(matrix: &EnvironmentMatrix, columns: &[String]) -> Vec<Drift> {
    let mut found = Vec::new();
    for app in &matrix.apps {
        let running: Vec<Running> = columns
            .iter()
            .filter_map(|ns| {
                let deploy = matrix.cell(app, ns)?.latest_success.clone()?;
                Some(Running {
                    namespace: ns.clone(),
                    deploy,
                })
            })
            .collect();
        for pair in running.windows(2) {
            let (ahead, behind) = (&pair[0], &pair[1]);
            if ahead.deploy.version != behind.deploy.version
                && ahead.deploy.started_at > behind.deploy.started_at
            {
                found.push(Drift {
                    app: app.clone(),
                    ahead: ahead.clone(),
                    behind: behind.clone(),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_model::{Deploy, DeployId, DeployStatus, EnvironmentCell, NewDeploy};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn columns_follow_the_pipeline_unless_told_otherwise() {
        let found = names(&["prod", "alpha", "dev", "staging", "team-prod", "qa"]);
        assert_eq!(
            column_order(&found, None),
            names(&["dev", "qa", "staging", "prod", "team-prod", "alpha"])
        );
        assert_eq!(
            column_order(&found, Some("prod, dev,unknown")),
            names(&["prod", "dev", "qa", "staging", "team-prod", "alpha"])
        );
    }

    fn success(id: i64, namespace: &str, version: &str, day: u32) -> Deploy {
        let new: NewDeploy = serde_json::from_value(serde_json::json!({
            "repo": "acme/shop", "app": "api", "namespace": namespace, "version": version,
            "commit": {"sha": "abc"}, "actor": "alice", "run": {"id": id}
        }))
        .unwrap();
        let mut deploy = new.into_deploy(
            DeployId(id),
            format!("2026-01-{day:02}T00:00:00Z").parse().unwrap(),
        );
        deploy.status = DeployStatus::Succeeded;
        deploy
    }

    fn matrix(deploys: Vec<Deploy>) -> EnvironmentMatrix {
        EnvironmentMatrix::from_cells(
            deploys
                .into_iter()
                .map(|d| EnvironmentCell {
                    app: d.app.clone(),
                    namespace: d.namespace.clone(),
                    latest: DeploySummary::of(&d),
                    latest_success: Some(DeploySummary::of(&d)),
                })
                .collect(),
        )
    }

    #[test]
    fn drift_is_reported_where_an_earlier_namespace_is_newer() {
        let m = matrix(vec![
            success(1, "dev", "v3", 5),
            success(2, "stage", "v3", 4),
            success(3, "prod", "v2", 2),
        ]);
        let columns = column_order(&m.namespaces, None);
        let drift = drifts(&m, &columns);
        assert_eq!(drift.len(), 1);
        assert_eq!(drift[0].ahead.namespace, "stage");
        assert_eq!(drift[0].behind.namespace, "prod");
        assert_eq!(drift[0].behind.deploy.version.as_deref(), Some("v2"));
        assert_eq!(m.cell("api", "prod").unwrap().latest.id, DeployId(3));
    }
}
