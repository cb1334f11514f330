//! Records that fit the history server's limits (`shiplog_model::limits`) by construction.
//!
//! A deploy may touch more objects than a record may list, or explain a failure at greater
//! length than a record may carry. What a record leaves out, it says: a cut list ends with an
//! entry counting what it leaves out (kind or text [`OMITTED`]), a cut text ends with `…`.
//! Resources that failed, then workloads, then the objects that changed are kept before
//! unchanged ones; otherwise lists keep their first entries. Short texts (repository, actor,
//! commit, …) are cut to the short-text limit and lose NUL characters. The start of a deploy
//! (images, workloads, commit message)
//! takes at most half of [`MAX_RECORD_BYTES`], so its outcome (resources, failure) always has
//! the other half.

use std::collections::BTreeMap;

use crate::plan::is_workload;

use shiplog_model::limits::{
    MAX_FAILURE_DETAILS, MAX_IMAGES, MAX_LONG_TEXT, MAX_RECORD_BYTES, MAX_RESOURCES,
    MAX_SHORT_TEXT, MAX_WORKLOADS, cut, json_len,
};
use shiplog_model::{
    Deploy, DeployUpdate, Failure, NewDeploy, ResourceAction, ResourceChange, WorkloadRef,
};

/// How an entry that stands for left-out entries is marked.
pub const OMITTED: &str = "(omitted)";

/// How many times a part's caps are halved at most; by then its list is one entry and its long
/// texts 64 bytes, far below any budget.
const LEVELS: u32 = 10;

/// Fits the lists and long texts a new deploy carries into half of [`MAX_RECORD_BYTES`].
pub fn fit_new(deploy: &mut NewDeploy) {
    let images = std::mem::take(&mut deploy.images);
    let workloads = std::mem::take(&mut deploy.workloads);
    let message = std::mem::take(&mut deploy.commit.message);
    fit_identity(deploy);
    let NewDeploy {
        images: fitted_images,
        workloads: fitted_workloads,
        commit,
        ..
    } = deploy;
    shrink_to(
        MAX_RECORD_BYTES / 2,
        &mut [
            &mut |level| {
                *fitted_images = fit_images(&images, level);
                json_len(fitted_images)
            },
            &mut |level| {
                *fitted_workloads = fit_workloads(&workloads, level);
                json_len(fitted_workloads)
            },
            &mut |level| {
                commit.message = cut(&message, text_cap(MAX_LONG_TEXT, level));
                json_len(&commit.message)
            },
        ],
    );
}

/// A short text as the server takes it: no NUL, at most [`MAX_SHORT_TEXT`] bytes.
fn short_text(text: &str) -> String {
    cut(&text.replace('\0', ""), MAX_SHORT_TEXT)
}

/// Fits the short texts that say what was deployed, from where and by whom: from outside a
/// workflow they come from flags and the git checkout (`--actor`, the git user), which GitHub's
/// own limits do not bound.
fn fit_identity(deploy: &mut NewDeploy) {
    for text in [
        &mut deploy.repo,
        &mut deploy.app,
        &mut deploy.namespace,
        &mut deploy.actor,
        &mut deploy.commit.sha,
        &mut deploy.run.job,
    ] {
        *text = short_text(text);
    }
    for text in [
        &mut deploy.environment,
        &mut deploy.version,
        &mut deploy.git_ref,
        &mut deploy.commit.url,
        &mut deploy.run.step,
    ] {
        *text = text.as_deref().map(short_text);
    }
}

/// Fits the resources and failure an update sets into what `deploy` (the record it updates)
/// leaves of [`MAX_RECORD_BYTES`].
pub fn fit_update(update: &mut DeployUpdate, deploy: &Deploy) {
    let carried = deploy.carried();
    let budget = MAX_RECORD_BYTES.saturating_sub(
        json_len(carried.commit_message) + json_len(carried.images) + json_len(carried.workloads),
    );
    let resources = update.resources.take();
    let failure = update.failure.take();
    let DeployUpdate {
        resources: fitted_resources,
        failure: fitted_failure,
        ..
    } = update;
    shrink_to(
        budget,
        &mut [
            &mut |level| {
                *fitted_resources = resources.as_deref().map(|r| fit_resources(r, level));
                json_len(fitted_resources)
            },
            &mut |level| {
                *fitted_failure = failure.as_ref().map(|f| fit_failure(f, level));
                json_len(fitted_failure)
            },
        ],
    );
}

/// Fits each part at level 0, then fits the largest part one level further until the parts'
/// sizes add up to at most `budget`. A part is a function that fits its field at a level and
/// answers the field's size as JSON.
fn shrink_to(budget: usize, parts: &mut [&mut dyn FnMut(u32) -> usize]) {
    let mut levels = vec![0; parts.len()];
    let mut sizes: Vec<usize> = parts.iter_mut().map(|fit| fit(0)).collect();
    while sizes.iter().sum::<usize>() > budget {
        let Some(largest) = (0..parts.len())
            .filter(|&i| levels[i] < LEVELS)
            .max_by_key(|&i| sizes[i])
        else {
            return;
        };
        levels[largest] += 1;
        sizes[largest] = parts[largest](levels[largest]);
    }
}

fn fit_images(images: &[String], level: u32) -> Vec<String> {
    fit_list(
        images,
        count_cap(MAX_IMAGES, level),
        |_| 0,
        |left| format!("{OMITTED} {}", counted(left.len(), "more image")),
    )
    .into_iter()
    .map(|image| cut(&image, MAX_SHORT_TEXT))
    .collect()
}

fn fit_workloads(workloads: &[WorkloadRef], level: u32) -> Vec<WorkloadRef> {
    fit_list(
        workloads,
        count_cap(MAX_WORKLOADS, level),
        |_| 0,
        |left| WorkloadRef {
            kind: OMITTED.into(),
            name: counted(left.len(), "more workload"),
        },
    )
}

/// How many entries a list keeps at `level`: `max` halved `level` times, at least one.
fn count_cap(max: usize, level: u32) -> usize {
    (max >> level).max(1)
}

/// How many bytes a text keeps at `level`: `max` halved `level` times, at least 64.
fn text_cap(max: usize, level: u32) -> usize {
    (max >> level).max(64)
}

fn fit_resources(resources: &[ResourceChange], level: u32) -> Vec<ResourceChange> {
    let rank = |r: &ResourceChange| match r.action {
        ResourceAction::Failed => 0,
        _ if is_workload(&r.kind) || r.kind == "CronJob" => 1,
        ResourceAction::Created | ResourceAction::Configured => 2,
        ResourceAction::Unchanged => 3,
    };
    let message_cap = text_cap(MAX_LONG_TEXT, level);
    let mut fitted: Vec<ResourceChange> = fit_list(
        resources,
        count_cap(MAX_RESOURCES, level),
        rank,
        omitted_resources,
    )
    .into_iter()
    .map(|mut resource| {
        resource.message = resource.message.map(|m| cut(&m, message_cap));
        resource
    })
    .collect();
    fit_diffs(&mut fitted, MAX_RECORD_DIFFS >> level);
    fitted
}

/// Most bytes of object diffs a record keeps (at level 0): the diffs are kept in the list's
/// order, each cut to what is left, and once less than [`MIN_KEPT_DIFF`] is left the rest
/// say [`DIFF_NOT_KEPT`].
const MAX_RECORD_DIFFS: usize = MAX_RECORD_BYTES / 4;
/// The shortest piece of a diff worth keeping.
const MIN_KEPT_DIFF: usize = 256;
/// What a diff left out of a record says instead.
const DIFF_NOT_KEPT: &str = "(diff not kept: the record holds the first 128 KiB of diffs)";

fn fit_diffs(resources: &mut [ResourceChange], budget: usize) {
    let mut left = budget;
    for diff in resources.iter_mut().filter_map(|r| r.diff.as_mut()) {
        let kept = if left >= MIN_KEPT_DIFF {
            cut(diff, left.min(MAX_LONG_TEXT))
        } else {
            DIFF_NOT_KEPT.to_owned()
        };
        left = left.saturating_sub(kept.len());
        *diff = kept;
    }
}

/// The entry that stands for the resources left out: their number, each action's share, and
/// the action most of them had.
fn omitted_resources(left: &[&ResourceChange]) -> ResourceChange {
    let mut by_action: BTreeMap<&str, (usize, ResourceAction)> = BTreeMap::new();
    for resource in left {
        by_action
            .entry(resource.action.as_str())
            .or_insert((0, resource.action))
            .0 += 1;
    }
    let (_, action) = by_action.values().max_by_key(|(n, _)| *n).copied().unwrap();
    let shares: Vec<String> = by_action
        .iter()
        .map(|(name, (n, _))| format!("{n} {name}"))
        .collect();
    ResourceChange {
        api_version: String::new(),
        kind: OMITTED.into(),
        name: counted(left.len(), "more object"),
        namespace: None,
        action,
        message: Some(format!(
            "not listed, a record lists at most {MAX_RESOURCES} resources: {}",
            shares.join(", ")
        )),
        diff: None,
    }
}

fn fit_failure(failure: &Failure, level: u32) -> Failure {
    let detail_cap = text_cap(MAX_LONG_TEXT, level);
    Failure {
        reason: cut(&failure.reason, MAX_SHORT_TEXT),
        details: fit_list(
            &failure.details,
            count_cap(MAX_FAILURE_DETAILS, level),
            |_| 0,
            |left| format!("{OMITTED} {}", counted(left.len(), "more line")),
        )
        .into_iter()
        .map(|detail| cut(&detail, detail_cap))
        .collect(),
    }
}

/// `items` if there are at most `max`; otherwise the `max - 1` that `rank` puts first (lowest
/// rank, then earliest), in their order, and the entry `omitted` makes of the others.
fn fit_list<T: Clone>(
    items: &[T],
    max: usize,
    rank: impl Fn(&T) -> u8,
    omitted: impl Fn(&[&T]) -> T,
) -> Vec<T> {
    if items.len() <= max {
        return items.to_vec();
    }
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (rank(&items[i]), i));
    let (kept, left) = order.split_at(max.saturating_sub(1));
    let mut kept = kept.to_vec();
    kept.sort_unstable();
    let mut left = left.to_vec();
    left.sort_unstable();
    let left: Vec<&T> = left.iter().map(|&i| &items[i]).collect();
    let mut fitted: Vec<T> = kept.iter().map(|&i| items[i].clone()).collect();
    fitted.push(omitted(&left));
    fitted
}

/// "1 more object", "2 more objects".
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiplog_model::{Commit, DeployId, DeployStatus, WorkflowRun};

    fn now() -> chrono::DateTime<chrono::Utc> {
        "2026-02-01T00:00:00Z".parse().unwrap()
    }

    fn new_deploy() -> NewDeploy {
        NewDeploy {
            restores: None,
            lock_override: None,
            github_deployment: None,
            repo: "acme/shop".into(),
            app: "api".into(),
            environment: None,
            namespace: "prod".into(),
            cluster: None,
            status: DeployStatus::InProgress,
            version: Some("v1".into()),
            images: vec!["ghcr.io/acme/api:v1".into()],
            workloads: Vec::new(),
            commit: Commit {
                sha: "4f2a9c1e".into(),
                message: "Ship it".into(),
                url: None,
            },
            git_ref: None,
            actor: "alice".into(),
            run: WorkflowRun {
                id: 1,
                attempt: 1,
                job: "deploy".into(),
                step: None,
                url: None,
            },
            started_at: None,
            deadline: None,
            finished_at: None,
            resources: Vec::new(),
            failure: None,
            slack: None,
        }
    }

    fn resource(i: usize, action: ResourceAction) -> ResourceChange {
        ResourceChange {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: format!("cfg-{i}"),
            namespace: Some("prod".into()),
            action,
            message: None,
            diff: None,
        }
    }

    /// Records `update` on top of `new` as the server would, which must accept it.
    fn recorded(new: &NewDeploy, update: &DeployUpdate) -> Deploy {
        new.validate().expect("the server accepts the start");
        let mut deploy = new.clone().into_deploy(DeployId(1), now());
        update
            .apply_to(&mut deploy, now())
            .expect("the server accepts the end");
        deploy
    }

    #[test]
    fn a_deploy_within_the_limits_is_recorded_as_it_is() {
        let mut new = new_deploy();
        let before = new.clone();
        fit_new(&mut new);
        assert_eq!(new, before);
        let resources: Vec<_> = (0..MAX_RESOURCES)
            .map(|i| resource(i, ResourceAction::Unchanged))
            .collect();
        let mut update = DeployUpdate {
            status: Some(DeployStatus::Succeeded),
            resources: Some(resources.clone()),
            ..DeployUpdate::default()
        };
        fit_update(&mut update, &new.clone().into_deploy(DeployId(1), now()));
        assert_eq!(update.resources, Some(resources));
    }

    #[test]
    fn diffs_beyond_the_records_share_are_cut_then_left_out_saying_so() {
        let new = new_deploy();
        let diff = format!("--- live\n+++ planned\n{}", "+  key: value\n".repeat(1200));
        let resources: Vec<_> = (0..500)
            .map(|i| ResourceChange {
                diff: Some(diff.clone()),
                ..resource(i, ResourceAction::Configured)
            })
            .collect();
        let mut update = DeployUpdate {
            status: Some(DeployStatus::Succeeded),
            resources: Some(resources),
            ..DeployUpdate::default()
        };
        fit_update(&mut update, &new.clone().into_deploy(DeployId(1), now()));
        let deploy = recorded(&new, &update);
        assert_eq!(deploy.resources.len(), 500, "diffs never cost a resource");
        let diffs: Vec<&str> = deploy
            .resources
            .iter()
            .filter_map(|r| r.diff.as_deref())
            .collect();
        assert_eq!(diffs[0], diff, "the first diffs are whole");
        let kept: usize = diffs.iter().map(|d| d.len()).sum();
        assert!(
            kept <= MAX_RECORD_DIFFS + 500 * DIFF_NOT_KEPT.len(),
            "{kept}"
        );
        assert!(
            diffs.iter().any(|d| d.ends_with(" more lines")),
            "one is cut"
        );
        assert_eq!(diffs[499], DIFF_NOT_KEPT);
    }

    #[test]
    fn more_resources_than_a_record_lists_keep_failures_workloads_and_changes() {
        let new = new_deploy();
        // 600 objects; the changed ones and the failed one come last, as workloads do.
        let mut resources: Vec<_> = (0..590)
            .map(|i| resource(i, ResourceAction::Unchanged))
            .collect();
        resources.extend((590..598).map(|i| resource(i, ResourceAction::Configured)));
        resources.push(ResourceChange {
            kind: "Deployment".into(),
            ..resource(598, ResourceAction::Unchanged)
        });
        resources.push(resource(599, ResourceAction::Failed));
        let mut update = DeployUpdate {
            status: Some(DeployStatus::Failed),
            resources: Some(resources),
            failure: Some(Failure {
                reason: "cfg-599 failed".into(),
                details: Vec::new(),
            }),
            ..DeployUpdate::default()
        };
        fit_update(&mut update, &new.clone().into_deploy(DeployId(1), now()));
        let deploy = recorded(&new, &update);
        assert_eq!(deploy.resources.len(), MAX_RESOURCES);
        let names: Vec<&str> = deploy.resources.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names[..489],
            *(0..489).map(|i| format!("cfg-{i}")).collect::<Vec<_>>()
        );
        assert_eq!(names[489], "cfg-590", "every change is kept, in order");
        assert_eq!(
            names[497], "cfg-598",
            "the workload is kept, unchanged as it is"
        );
        assert_eq!(names[498], "cfg-599", "the failure is kept");
        let last = &deploy.resources[499];
        assert_eq!(
            (last.kind.as_str(), last.name.as_str(), last.action),
            (OMITTED, "101 more objects", ResourceAction::Unchanged)
        );
        assert_eq!(
            last.message.as_deref(),
            Some("not listed, a record lists at most 500 resources: 101 unchanged")
        );
    }

    #[test]
    fn long_lists_and_texts_of_the_start_fit_in_half_the_record() {
        let mut new = new_deploy();
        new.images = (0..700)
            .map(|i| format!("ghcr.io/acme/{i}:{}", "v".repeat(900)))
            .collect();
        new.workloads = (0..3000)
            .map(|i| WorkloadRef {
                kind: "Deployment".into(),
                name: format!("w{i}"),
            })
            .collect();
        new.commit.message = "m".repeat(100_000);
        new.version = Some("v".repeat(2000));
        // From a laptop: `--actor` and the git user are anyone's words.
        new.actor = format!("jane\0{}", "e".repeat(5000));
        new.commit.sha = "f".repeat(2000);
        fit_new(&mut new);
        new.validate().expect("the server accepts it");
        assert!(new.carried().bytes() <= MAX_RECORD_BYTES / 2);
        assert_eq!(new.workloads.len(), MAX_WORKLOADS);
        assert_eq!(new.workloads[0].name, "w0");
        assert_eq!(new.workloads[499].kind, OMITTED);
        assert_eq!(new.workloads[499].name, "2501 more workloads");
        assert!(
            new.images.len() < 500,
            "images, the largest part, are halved to fit"
        );
        assert!(new.images.last().unwrap().starts_with("(omitted) "));
        assert!(new.commit.message.ends_with('…'));
        assert!(new.actor.starts_with("janeeee") && new.actor.ends_with('…'));
    }

    #[test]
    fn a_long_failure_fits_what_the_start_leaves() {
        let mut new = new_deploy();
        new.commit.message = "m".repeat(MAX_LONG_TEXT);
        fit_new(&mut new);
        let deploy = new.clone().into_deploy(DeployId(1), now());
        let mut update = DeployUpdate {
            status: Some(DeployStatus::Failed),
            resources: Some(
                (0..500)
                    .map(|i| ResourceChange {
                        message: Some("x".repeat(10_000)),
                        ..resource(i, ResourceAction::Failed)
                    })
                    .collect(),
            ),
            failure: Some(Failure {
                reason: "r".repeat(5000),
                details: vec!["d".repeat(MAX_LONG_TEXT); 300],
            }),
            ..DeployUpdate::default()
        };
        fit_update(&mut update, &deploy);
        let deploy = recorded(&new, &update);
        let failure = deploy.failure.unwrap();
        assert!(failure.reason.len() <= MAX_SHORT_TEXT);
        assert!(failure.details.len() <= MAX_FAILURE_DETAILS);
        assert!(failure.details.last().unwrap().starts_with(OMITTED));
    }
}
