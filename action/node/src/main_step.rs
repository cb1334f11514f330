//! The main step: read the inputs, mask the secrets, check that no earlier step of the job has
//! failed, deploy through the pipeline, then report the way a runner shows it — annotations
//! for invalid manifests, groups around long lists, outputs, the job summary, state for the
//! post step — and fail the step with the engine's message when the deploy failed.

use shiplog_action::deploy::Options;
use shiplog_action::pipeline::{
    self, DeployInputs, Kubeconfig, Outcome, Platform as _, ServerTarget, SlackTarget, Verdict,
};
use shiplog_action::runner::commands::{self, Annotation, Level};
use shiplog_action::runner::inputs::{InputError, Inputs, Problem};
use shiplog_action::runner::summary::{self, SummaryFacts};
use shiplog_model::{DeployStatus, Failure, ResourceAction};

use crate::job;
use crate::js;
use crate::platform::{Node, print_lines};
use crate::protocol::{append_summary, save_state, set_output};

/// Inputs that hold secrets: masked before anything else happens.
pub const SECRET_INPUTS: [&str; 5] = [
    "kubeconfig",
    "slack-webhook",
    "slack-token",
    "server-token",
    "github-token",
];

/// Where Slack's Web API is, when not at slack.com (a proxy, a test stand-in).
pub const SLACK_API_VARIABLE: &str = "SHIPLOG_SLACK_API_URL";

/// The step's inputs, from the runner's environment.
pub type StepInputs = Inputs<fn(&str) -> Option<String>>;

/// The step's inputs, every secret among them masked.
pub fn runner_inputs(platform: &Node) -> StepInputs {
    let inputs: StepInputs = Inputs::new(js::env);
    for name in SECRET_INPUTS {
        if let Some(value) = inputs.text(name) {
            platform.mask(&value);
        }
    }
    inputs
}

pub async fn run() -> u8 {
    let platform = Node::default();
    let inputs = runner_inputs(&platform);
    let mode = match inputs.choice("mode", &["deploy", "notify"], "deploy") {
        Ok(mode) => mode,
        Err(e) => return fail(&e.to_string()),
    };
    save_state("mode", mode);
    if mode == "notify" {
        platform.log("shiplog watches this job: its post step alerts Slack if a step fails");
        return 0;
    }
    let deploy_inputs = match deploy_inputs(&inputs, &platform) {
        Ok(deploy_inputs) => deploy_inputs,
        Err(e) => return fail(&e.to_string()),
    };
    match job::check(&platform, &inputs).await {
        Ok(check) => {
            if let Some(number) = check.own_step {
                save_state("step-number", &number.to_string());
            }
            if let Some(step) = check.failed.first() {
                platform.log(&format!(
                    "not deploying: step \"{}\" of this job failed (the post step alerts Slack)",
                    step.name
                ));
                save_state("skipped", "true");
                return 0;
            }
        }
        Err(e) => platform.log(&format!("the job's other steps are not checked: {e}")),
    }
    let outcome = pipeline::run(&platform, &deploy_inputs).await;
    report(&platform, &deploy_inputs, &outcome);
    match outcome.verdict {
        Verdict::Deployed => 0,
        _ => fail(outcome.reason.as_deref().unwrap_or("the deploy failed")),
    }
}

/// Fails the step with `message` as an error annotation.
fn fail(message: &str) -> u8 {
    let annotation = Annotation {
        message,
        ..Annotation::default()
    };
    print_lines([commands::annotation(Level::Error, &annotation)]);
    1
}

fn deploy_inputs(inputs: &StepInputs, platform: &Node) -> Result<DeployInputs, InputError> {
    let manifests = inputs.lines("manifests");
    if manifests.is_empty() {
        return Err(InputError {
            input: "manifests".into(),
            problem: Problem::Missing,
        });
    }
    let kubeconfig = match inputs.text("kubeconfig") {
        Some(content) => Kubeconfig::Inline(content),
        None => Kubeconfig::Files(kubeconfig_files(platform)),
    };
    let slack = slack_target(inputs, platform)?;
    Ok(DeployInputs {
        manifests,
        namespace: inputs.text("namespace"),
        images: inputs.lines("images"),
        kubeconfig,
        context: inputs.text("context"),
        options: Options {
            create_namespace: inputs.boolean("create-namespace", true)?,
            dry_run: inputs.boolean("dry-run", false)?,
            timeout: inputs.duration("timeout", std::time::Duration::from_secs(300))?,
            rollback_on_failure: inputs.boolean("rollback-on-failure", false)?,
        },
        app: inputs.text("app"),
        environment: inputs.text("environment"),
        server: inputs.text("server-url").map(|url| ServerTarget {
            url,
            token: inputs.text("server-token"),
        }),
        slack,
    })
}

/// Slack from the inputs: a webhook, or a bot token and channel.
pub fn slack_target(
    inputs: &StepInputs,
    platform: &Node,
) -> Result<Option<SlackTarget>, InputError> {
    Ok(
        match (
            inputs.text("slack-webhook"),
            inputs.text("slack-token"),
            inputs.text("slack-channel"),
        ) {
            (Some(url), _, _) => Some(SlackTarget::Webhook(url)),
            (None, Some(token), Some(channel)) => Some(SlackTarget::Bot {
                token,
                channel,
                api: platform.env(SLACK_API_VARIABLE),
            }),
            (None, Some(_), None) => {
                return Err(InputError {
                    input: "slack-channel".into(),
                    problem: Problem::Missing,
                });
            }
            _ => None,
        },
    )
}

/// `$KUBECONFIG` (what aks-set-context exports), else `~/.kube/config`.
fn kubeconfig_files(platform: &Node) -> Vec<String> {
    let separator = if platform.env("RUNNER_OS").as_deref() == Some("Windows") {
        ';'
    } else {
        ':'
    };
    match platform.env("KUBECONFIG") {
        Some(list) => list
            .split(separator)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        None => platform
            .env("HOME")
            .map(|home| vec![format!("{home}/.kube/config")])
            .unwrap_or_default(),
    }
}

fn action_word(action: ResourceAction) -> &'static str {
    match action {
        ResourceAction::Created => "created",
        ResourceAction::Configured => "configured",
        ResourceAction::Unchanged => "unchanged",
        ResourceAction::Failed => "failed",
    }
}

/// Shows the outcome: log, annotations, outputs, summary, state.
fn report(platform: &Node, inputs: &DeployInputs, outcome: &Outcome) {
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
        print_lines([commands::group(&format!(
            "{} resources",
            report.resources.len()
        ))]);
        for change in &report.resources {
            let place = change
                .namespace
                .as_deref()
                .map(|ns| format!(" in {ns}"))
                .unwrap_or_default();
            platform.log(&format!(
                "{}/{}{place} {}",
                change.kind,
                change.name,
                action_word(change.action)
            ));
        }
        print_lines([commands::end_group()]);
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
    let stopped = Failure {
        reason: outcome.reason.clone().unwrap_or_default(),
        details: outcome
            .findings
            .iter()
            .map(ToString::to_string)
            .chain(outcome.problems.iter().cloned())
            .collect(),
    };
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
    };
    append_summary(&summary::render(&facts));
}
