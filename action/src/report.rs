//! Showing how a deploy went, the way a runner shows it: error annotations on invalid
//! manifests' files and lines, the resource list and the failure's details in groups, the
//! step's outputs, the job summary and the state the post step reads.

use crate::runner::commands::{self, Annotation, Level};
use crate::runner::summary::{self, SummaryFacts};
use shiplog_engine::deploy::Report;
use shiplog_engine::pipeline::{DeployInputs, Outcome, Platform as _, Verdict};
use shiplog_engine::wording::counted;
use shiplog_model::DeployStatus;

use crate::platform::{Node, print_lines};
use crate::protocol::{append_summary, save_state, set_output};

/// Shows the outcome: log, annotations, outputs, summary, state; the summary's Markdown.
pub fn report(platform: &Node, inputs: &DeployInputs, outcome: &Outcome) -> String {
    for finding in &outcome.findings {
        let message = finding.to_string();
        let annotation = Annotation {
            title: Some("Invalid manifest"),
            file: Some(&finding.file),
            line: u32::try_from(finding.line).ok(),
            message: &message,
            ..Annotation::default()
        };
        print_lines([commands::annotation(Level::Error, &annotation)]);
    }
    for problem in &outcome.problems {
        let annotation = Annotation {
            title: Some("Refused by the API server"),
            message: problem,
            ..Annotation::default()
        };
        print_lines([commands::annotation(Level::Error, &annotation)]);
    }
    let report = outcome.report.as_ref();
    if let Some(report) = report {
        print_lines([commands::group(&counted(
            report.resources.len(),
            "resource",
        ))]);
        for change in &report.resources {
            platform.log(&change.describe());
        }
        print_lines([commands::end_group()]);
        log_diffs(platform, report);
        if let Some(failure) = &report.failure {
            print_lines([commands::group("Why the deploy failed")]);
            for detail in &failure.details {
                platform.log(detail);
            }
            print_lines([commands::end_group()]);
        }
    }
    let status = match report {
        Some(report) => report.status,
        None if outcome.verdict == Verdict::Blocked => DeployStatus::Blocked,
        None => DeployStatus::Failed,
    };
    set_output("status", status.as_str());
    let resources = report.map_or_else(Vec::new, |r| r.resources.clone());
    set_output(
        "resources",
        &serde_json::to_string(&resources).unwrap_or_else(|_| "[]".into()),
    );
    if let (Some(url), Some(deploy)) = (&outcome.deploy_url, &outcome.deploy) {
        set_output("deploy-id", &deploy.id.to_string());
        set_output("deploy-url", url);
        save_state("deploy-url", url);
    }
    if let Some(slack) = &outcome.slack {
        if let Some(ts) = &slack.ts {
            set_output("slack-ts", ts);
        }
        if let Some(permalink) = &slack.permalink {
            set_output("slack-url", permalink);
        }
    }
    save_state("status", status.as_str());
    let run_url = outcome.deploy.as_ref().and_then(|d| d.run.url.clone());
    // A deploy stopped before it began has no report: its reason and findings are the failure.
    let stopped = outcome.stopped_failure();
    let failure = match report {
        Some(report) => report.failure.as_ref(),
        None => Some(&stopped),
    };
    let namespace = outcome.namespace.as_deref().unwrap_or("default");
    let duration = outcome
        .deploy
        .as_ref()
        .and_then(|d| d.duration())
        .and_then(|d| d.to_std().ok());
    let facts = SummaryFacts {
        app: outcome
            .deploy
            .as_ref()
            .map_or(namespace, |d| d.app.as_str()),
        environment: inputs.environment.as_deref(),
        namespace,
        status,
        dry_run: inputs.options.dry_run,
        resources: &resources,
        failure,
        images: &outcome.substitutions,
        deploy_url: outcome.deploy_url.as_deref(),
        run_url: run_url.as_deref(),
        duration,
        namespaces_created: report.map_or(&[], |r| r.namespaces_created.as_slice()),
        lock_override: outcome
            .deploy
            .as_ref()
            .and_then(|d| d.lock_override.as_deref()),
    };
    let summary = summary::render(&facts);
    append_summary(&summary);
    summary
}

/// Bytes of object diffs the step log shows; the rest are counted (the summary and the record
/// have them too, each within its own limit).
const LOG_DIFF_BYTES: usize = 1024 * 1024;

/// Each changed object's diff in a folded group, within [`LOG_DIFF_BYTES`].
fn log_diffs(platform: &Node, report: &Report) {
    let diffs: Vec<&str> = report
        .resources
        .iter()
        .filter_map(|r| r.diff.as_deref())
        .collect();
    if diffs.is_empty() {
        return;
    }
    let title = if report.dry_run {
        "What would change"
    } else {
        "What changed"
    };
    print_lines([commands::group(title)]);
    let mut shown = 0;
    for (i, diff) in diffs.iter().enumerate() {
        shown += diff.len();
        if shown > LOG_DIFF_BYTES {
            platform.log(&format!(
                "… and {} more changed objects (their diffs are in the job summary and the record)",
                diffs.len() - i
            ));
            break;
        }
        for line in diff.lines() {
            platform.log(line);
        }
    }
    print_lines([commands::end_group()]);
}
