//! The environment matrix (`GET /api/v1/environments`): for every app, and every workload of
//! it, in every namespace, the latest deploy and the latest successful one.

use serde::{Deserialize, Serialize};

use crate::deploy::Deploy;

/// One cell: an app (or one of its workloads) in one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentCell {
    pub app: String,
    /// `None` for the app as a whole; otherwise the workload's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    pub namespace: String,
    /// The most recent deploy, whatever its outcome.
    pub latest: Deploy,
    /// The most recent deploy that succeeded, if any did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_success: Option<Deploy>,
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
        cells.sort_by(|a, b| {
            (&a.app, &a.workload, &a.namespace).cmp(&(&b.app, &b.workload, &b.namespace))
        });
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

    /// The app-level cell for `app` in `namespace`.
    pub fn cell(&self, app: &str, namespace: &str) -> Option<&EnvironmentCell> {
        self.cells
            .iter()
            .find(|c| c.app == app && c.workload.is_none() && c.namespace == namespace)
    }
}
