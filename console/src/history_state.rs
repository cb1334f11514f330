//! The history view's state as a reducer. `reduce` is a plain function of (state, action), so
//! paging, live updates and filter changes are unit-tested without a browser.

use std::rc::Rc;

use shiplog_model::{Cursor, Deploy, DeployEvent, HistoryQuery, Page};
use yew::Reducible;

/// Where loading stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Load {
    Loading,
    Ready,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct HistoryState {
    /// The filters the items were loaded for.
    pub query: HistoryQuery,
    pub items: Vec<Deploy>,
    pub next_cursor: Option<Cursor>,
    pub load: Load,
    /// A "load more" request is running.
    pub loading_more: bool,
}

impl Default for HistoryState {
    fn default() -> Self {
        HistoryState {
            query: HistoryQuery::default(),
            items: Vec::new(),
            next_cursor: None,
            load: Load::Loading,
            loading_more: false,
        }
    }
}

pub enum Action {
    /// New filters: start over.
    Reset(HistoryQuery),
    /// The first page for `query` arrived.
    Loaded(HistoryQuery, Box<Page<Deploy>>),
    /// More rows are being fetched.
    LoadingMore,
    /// The next page for `query` arrived.
    More(HistoryQuery, Box<Page<Deploy>>),
    Failed(String),
    /// A deploy was created or updated somewhere.
    Live(Box<DeployEvent>),
}

impl Reducible for HistoryState {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(reduce((*self).clone(), action))
    }
}

/// The next state. Answers for filters that are no longer current are dropped.
pub fn reduce(mut state: HistoryState, action: Action) -> HistoryState {
    match action {
        Action::Reset(query) => {
            return HistoryState {
                query,
                ..HistoryState::default()
            };
        }
        Action::Loaded(query, page) if query == state.query => {
            let page = *page;
            state.items = page.items;
            state.next_cursor = page.next_cursor;
            state.load = Load::Ready;
        }
        Action::LoadingMore => state.loading_more = true,
        Action::More(query, page) if query == state.query => {
            let page = *page;
            let known: std::collections::HashSet<_> = state.items.iter().map(|d| d.id).collect();
            state
                .items
                .extend(page.items.into_iter().filter(|d| !known.contains(&d.id)));
            state.next_cursor = page.next_cursor;
            state.loading_more = false;
        }
        Action::Failed(message) => {
            state.load = Load::Failed(message);
            state.loading_more = false;
        }
        Action::Live(event) => apply_live(&mut state, event.deploy),
        Action::Loaded(..) | Action::More(..) => {}
    }
    state
}

fn apply_live(state: &mut HistoryState, deploy: Deploy) {
    if let Some(existing) = state.items.iter_mut().find(|d| d.id == deploy.id) {
        *existing = deploy;
        return;
    }
    if state.load != Load::Ready || !matches(&state.query, &deploy) {
        return;
    }
    // Newest first by (started_at, id); a live deploy is usually the newest of all.
    let key = (deploy.started_at, deploy.id);
    let position = state
        .items
        .iter()
        .position(|d| (d.started_at, d.id) < key)
        .unwrap_or(state.items.len());
    // Past the loaded pages it belongs to a page not yet fetched.
    if position < state.items.len() || state.next_cursor.is_none() {
        state.items.insert(position, deploy);
    }
}

/// Whether `deploy` passes the filters of `query`, as the server would decide.
pub fn matches(query: &HistoryQuery, deploy: &Deploy) -> bool {
    let equal = |filter: &Option<String>, value: &str| filter.as_deref().is_none_or(|f| f == value);
    equal(&query.namespace, &deploy.namespace)
        && equal(&query.app, &deploy.app)
        && equal(&query.environment, &deploy.environment)
        && equal(&query.repo, &deploy.repo)
        && equal(&query.actor, &deploy.actor)
        && query.status.is_none_or(|s| s == deploy.status)
        && query.since.is_none_or(|t| deploy.started_at >= t)
        && query.until.is_none_or(|t| deploy.started_at < t)
        && query.q.as_deref().is_none_or(|q| text_matches(q, deploy))
}

fn text_matches(q: &str, deploy: &Deploy) -> bool {
    let needle = q.to_lowercase();
    deploy
        .search_fields()
        .iter()
        .any(|text| text.to_lowercase().contains(&needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_model::{DeployEventKind, DeployId, DeployStatus, NewDeploy};

    fn deploy(id: i64, namespace: &str, status: DeployStatus, started: &str) -> Deploy {
        let new: NewDeploy = serde_json::from_value(serde_json::json!({
            "repo": "acme/shop", "app": "api", "namespace": namespace,
            "commit": {"sha": "abc"}, "actor": "alice", "run": {"id": id}
        }))
        .unwrap();
        let mut deploy = new.into_deploy(DeployId(id), started.parse().unwrap());
        deploy.status = status;
        deploy
    }

    fn live(deploy: Deploy) -> Action {
        Action::Live(Box::new(DeployEvent {
            kind: DeployEventKind::Created,
            deploy,
        }))
    }

    fn loaded(query: &HistoryQuery, items: Vec<Deploy>) -> HistoryState {
        let state = reduce(HistoryState::default(), Action::Reset(query.clone()));
        reduce(
            state,
            Action::Loaded(
                query.clone(),
                Box::new(Page {
                    items,
                    next_cursor: None,
                }),
            ),
        )
    }

    #[test]
    fn live_deploys_that_match_appear_on_top() {
        let query = HistoryQuery {
            namespace: Some("prod".into()),
            ..Default::default()
        };
        let state = loaded(
            &query,
            vec![deploy(
                1,
                "prod",
                DeployStatus::Succeeded,
                "2026-01-01T00:00:00Z",
            )],
        );
        let state = reduce(
            state,
            live(deploy(
                2,
                "prod",
                DeployStatus::InProgress,
                "2026-01-02T00:00:00Z",
            )),
        );
        let state = reduce(
            state,
            live(deploy(
                3,
                "dev",
                DeployStatus::InProgress,
                "2026-01-03T00:00:00Z",
            )),
        );
        let ids: Vec<_> = state.items.iter().map(|d| d.id.0).collect();
        assert_eq!(ids, [2, 1], "the dev deploy does not match");

        let mut finished = deploy(2, "prod", DeployStatus::Succeeded, "2026-01-02T00:00:00Z");
        finished.version = Some("v2".into());
        let state = reduce(state, live(finished));
        assert_eq!(
            state.items[0].status,
            DeployStatus::Succeeded,
            "updated in place"
        );
        assert_eq!(state.items.len(), 2);
    }

    #[test]
    fn stale_answers_are_ignored_and_pages_append() {
        let old = HistoryQuery {
            namespace: Some("dev".into()),
            ..Default::default()
        };
        let new = HistoryQuery {
            namespace: Some("prod".into()),
            ..Default::default()
        };
        let state = reduce(HistoryState::default(), Action::Reset(new.clone()));
        let stale = Page {
            items: vec![deploy(
                9,
                "dev",
                DeployStatus::Failed,
                "2026-01-01T00:00:00Z",
            )],
            next_cursor: None,
        };
        let state = reduce(state, Action::Loaded(old, Box::new(stale)));
        assert_eq!(state.load, Load::Loading);
        assert!(state.items.is_empty());

        let cursor = Cursor {
            started_at_ms: 1,
            id: DeployId(5),
        };
        let first = Page {
            items: vec![deploy(
                5,
                "prod",
                DeployStatus::Succeeded,
                "2026-01-05T00:00:00Z",
            )],
            next_cursor: Some(cursor),
        };
        let state = reduce(state, Action::Loaded(new.clone(), Box::new(first)));
        let state = reduce(state, Action::LoadingMore);
        let second = Page {
            items: vec![deploy(
                4,
                "prod",
                DeployStatus::Succeeded,
                "2026-01-04T00:00:00Z",
            )],
            next_cursor: None,
        };
        let state = reduce(state, Action::More(new, Box::new(second)));
        assert_eq!(state.items.len(), 2);
        assert!(!state.loading_more);
        assert_eq!(state.next_cursor, None);
    }

    #[test]
    fn filters_match_like_the_server() {
        let d = deploy(1, "prod", DeployStatus::Failed, "2026-01-01T00:00:00Z");
        let q = |json: serde_json::Value| -> HistoryQuery { serde_json::from_value(json).unwrap() };
        assert!(matches(
            &q(serde_json::json!({"namespace": "prod", "status": "failed"})),
            &d
        ));
        assert!(!matches(&q(serde_json::json!({"status": "succeeded"})), &d));
        assert!(matches(&q(serde_json::json!({"q": "ACME"})), &d));
        assert!(!matches(
            &q(serde_json::json!({"since": "2026-01-02T00:00:00Z"})),
            &d
        ));
    }
}
