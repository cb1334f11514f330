//! The step's inputs as the runner passes them (`INPUT_*`, hyphens kept): masked as soon as
//! they are read when they hold secrets, and turned into the pipeline's [`DeployInputs`] with
//! errors that name the input.

use crate::runner::inputs::{InputError, Inputs, Problem};
use shiplog_engine::deploy::Options;
use shiplog_engine::pipeline::{
    DeployInputs, Kubeconfig, LockPolicy, Platform as _, ServerTarget, SlackTarget,
};

use crate::js;
use crate::platform::Node;

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

pub fn deploy_inputs(inputs: &StepInputs, platform: &Node) -> Result<DeployInputs, InputError> {
    let manifests = inputs.lines("manifests");
    // A redeploy deploys what the history server kept ([`crate::main_step`]).
    if manifests.is_empty() && inputs.text("redeploy").is_none() {
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
        inline: Vec::new(),
        namespace: inputs.text("namespace"),
        images: inputs.lines("images"),
        kubeconfig,
        context: inputs.text("context"),
        options: Options {
            create_namespace: inputs.boolean("create-namespace", true)?,
            dry_run: inputs.boolean("dry-run", false)?,
            timeout: inputs.duration("timeout", std::time::Duration::from_secs(300))?,
            rollback_on_failure: inputs.boolean("rollback-on-failure", false)?,
            force_conflicts: inputs.boolean("force-conflicts", true)?,
        },
        app: inputs.text("app"),
        environment: inputs.text("environment"),
        server: inputs.text("server-url").map(|url| ServerTarget {
            url,
            token: inputs.text("server-token"),
        }),
        slack,
        restores: None,
        locks: LockPolicy {
            required: inputs.choice("lock-check", &["optional", "required"], "optional")?
                == "required",
            override_lock: inputs.boolean("override-lock", false)?,
        },
        github: crate::github_deployment::target(inputs, platform)?,
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
