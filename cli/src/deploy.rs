//! `shiplog deploy`: flags, reading the manifests, the cluster's kubeconfig, and the report.
//! The deploy itself is [`shiplog_engine::deploy`].

use std::process::ExitCode;
use std::time::Duration;

use shiplog::cluster::kubeconfig_files;
use shiplog::platform::Native;
use shiplog::provenance::{Given, Provenance};
use shiplog_engine::deploy::{Options, Report};
use shiplog_engine::pipeline::{
    self, DeployInputs, Kubeconfig, LockPolicy, Outcome, ServerTarget, SlackTarget, Verdict,
};
use shiplog_engine::wording::counted;
use shiplog_model::{DeployStatus, ResourceAction};

use crate::{Output, report_findings};

/// Where to deploy: the flags every command that reaches the cluster shares.
#[derive(clap::Args)]
pub struct Place {
    /// Namespace for objects that do not name one (default: the context's, else `default`).
    #[arg(long, env = "SHIPLOG_NAMESPACE")]
    namespace: Option<String>,
    /// The kubeconfig (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<String>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, env = "SHIPLOG_CONTEXT")]
    context: Option<String>,
}

/// What to deploy and where: the flags `shiplog deploy` and `shiplog diff` share.
#[derive(clap::Args)]
pub struct Target {
    /// Manifest files, directories (searched recursively for .yaml, .yml, .json) or globs.
    /// Repeat the flag or give several lines.
    #[arg(long = "manifests", env = "SHIPLOG_MANIFESTS", required = true)]
    manifests: Vec<String>,
    /// Images to deploy, e.g. `ghcr.io/acme/api:v2`: each replaces every container image of the
    /// same repository, in every pod template. Repeat the flag or give several lines.
    #[arg(long, env = "SHIPLOG_IMAGES")]
    images: Vec<String>,
    #[command(flatten)]
    place: Place,
}

impl Place {
    /// The inputs of a deploy to this place of nothing yet, that records and announces nothing
    /// (a plan, when `dry_run`); an unreadable kubeconfig is exit 3, reported.
    pub fn inputs(&self, dry_run: bool) -> Result<DeployInputs, ExitCode> {
        let kubeconfig = match kubeconfig_files(self.kubeconfig.as_deref()) {
            Ok(files) => Kubeconfig::Files(files),
            Err(e) => {
                eprintln!("shiplog: {e}");
                return Err(ExitCode::from(Verdict::Unreachable.exit_code()));
            }
        };
        Ok(DeployInputs {
            manifests: Vec::new(),
            inline: Vec::new(),
            namespace: self.namespace.clone(),
            images: Vec::new(),
            kubeconfig,
            context: self.context.clone(),
            options: Options {
                create_namespace: true,
                dry_run,
                timeout: Duration::from_secs(300),
                rollback_on_failure: false,
                force_conflicts: true,
            },
            app: None,
            environment: None,
            server: None,
            slack: None,
            restores: None,
            locks: LockPolicy::default(),
            github: None,
        })
    }
}

impl Target {
    /// [`Place::inputs`] with these manifests and images.
    pub fn inputs(&self, dry_run: bool) -> Result<DeployInputs, ExitCode> {
        Ok(DeployInputs {
            manifests: self.manifests.clone(),
            images: self.images.clone(),
            ..self.place.inputs(dry_run)?
        })
    }
}

#[derive(clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    how: How,
}

/// How to deploy, record and announce: the flags `shiplog deploy` and `shiplog redeploy` share.
#[derive(clap::Args)]
pub struct How {
    /// How long rollouts may take, e.g. 300s, 5m, 1h30m (Go duration syntax, at most 24h).
    #[arg(long, env = "SHIPLOG_TIMEOUT", default_value = "5m", value_parser = shiplog_engine::duration::parse)]
    timeout: Duration,
    /// When a rollout fails, restore each failed Deployment's previous version and wait for it.
    #[arg(long, env = "SHIPLOG_ROLLBACK_ON_FAILURE")]
    rollback_on_failure: bool,
    /// Validate and dry-run every object on the server; change nothing.
    #[arg(long, env = "SHIPLOG_DRY_RUN")]
    dry_run: bool,
    /// Create missing namespaces.
    #[arg(long, env = "SHIPLOG_CREATE_NAMESPACE", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    create_namespace: bool,
    /// Take over fields another manager holds (each named in the output and the record);
    /// `--force-conflicts=false` refuses the deploy instead (exit 2, nothing changed). The
    /// replicas a HorizontalPodAutoscaler sets are always left to it.
    #[arg(long, env = "SHIPLOG_FORCE_CONFLICTS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    force_conflicts: bool,
    /// The application, for the history record (default: the first workload's name).
    #[arg(long, env = "SHIPLOG_APP")]
    app: Option<String>,
    /// The environment, for the history record (default: the namespace).
    #[arg(long, env = "SHIPLOG_ENVIRONMENT")]
    environment: Option<String>,
    /// The repository deployed, `OWNER/NAME` (default: $GITHUB_REPOSITORY, else the git
    /// checkout's `origin` remote).
    #[arg(long, env = "SHIPLOG_REPO", value_name = "OWNER/NAME")]
    repo: Option<String>,
    /// The commit deployed (default: $GITHUB_SHA, else the checkout's HEAD).
    #[arg(long, env = "SHIPLOG_COMMIT", value_name = "SHA")]
    commit: Option<String>,
    /// Who deploys (default: $GITHUB_ACTOR, else the git user, else $USER).
    #[arg(long, env = "SHIPLOG_ACTOR", value_name = "NAME")]
    actor: Option<String>,
    /// The history server to record the deploy in, e.g. https://shiplog.acme.dev.
    #[arg(long, env = "SHIPLOG_SERVER_URL")]
    server_url: Option<String>,
    /// The history server's write token.
    #[arg(long, env = "SHIPLOG_SERVER_TOKEN", hide_env_values = true)]
    server_token: Option<String>,
    /// A Slack incoming webhook URL: one message when the deploy ends.
    #[arg(long, env = "SHIPLOG_SLACK_WEBHOOK", hide_env_values = true)]
    slack_webhook: Option<String>,
    /// A Slack bot token (`chat:write`): a "deploying" message updated in place with the
    /// outcome, the failure's details in a thread. Needs --slack-channel.
    #[arg(
        long,
        env = "SHIPLOG_SLACK_TOKEN",
        hide_env_values = true,
        requires = "slack_channel"
    )]
    slack_token: Option<String>,
    /// The Slack channel (name or id) for --slack-token.
    #[arg(long, env = "SHIPLOG_SLACK_CHANNEL", requires = "slack_token")]
    slack_channel: Option<String>,
    /// Slack's Web API base URL (for a proxy or a stand-in).
    #[arg(long, env = "SHIPLOG_SLACK_API_URL", default_value = None, hide = true)]
    slack_api_url: Option<String>,
    /// Deploy even when the environment is locked or in a freeze window; the record, the Slack
    /// message and the server's audit log say so.
    #[arg(long, env = "SHIPLOG_OVERRIDE_LOCK")]
    override_lock: bool,
    /// When the history server cannot say whether the environment is locked: `optional`
    /// deploys with a warning, `required` holds the deploy (exit 4).
    #[arg(long, env = "SHIPLOG_LOCK_CHECK", value_enum, default_value_t = LockCheck::Optional)]
    lock_check: LockCheck,
    /// Output format.
    #[arg(long, env = "SHIPLOG_OUTPUT", value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// `--lock-check`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LockCheck {
    Optional,
    Required,
}

impl How {
    /// `inputs` deployed, recorded and announced as these flags say.
    pub fn apply_to(&self, inputs: DeployInputs) -> DeployInputs {
        DeployInputs {
            options: Options {
                create_namespace: self.create_namespace,
                dry_run: self.dry_run,
                timeout: self.timeout,
                rollback_on_failure: self.rollback_on_failure,
                force_conflicts: self.force_conflicts,
            },
            app: self.app.clone(),
            environment: self.environment.clone(),
            server: self.server(),
            slack: slack_target(self),
            locks: LockPolicy {
                required: self.lock_check == LockCheck::Required,
                override_lock: self.override_lock,
            },
            ..inputs
        }
    }

    /// The history server, when named.
    pub fn server(&self) -> Option<ServerTarget> {
        self.server_url.as_ref().map(|url| ServerTarget {
            url: url.clone(),
            token: self.server_token.clone(),
        })
    }

    /// Where this process's deploy comes from: the flags, the runner, the git checkout.
    pub fn platform(&self) -> Native {
        Native::from(Provenance::of_this_process(&Given {
            repo: self.repo.clone(),
            commit: self.commit.clone(),
            actor: self.actor.clone(),
        }))
    }

    pub fn output(&self) -> Output {
        self.output
    }
}

/// A runtime for one command.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts")
}

pub fn run(args: &DeployArgs) -> ExitCode {
    let inputs = match args.target.inputs(args.how.dry_run) {
        Ok(inputs) => args.how.apply_to(inputs),
        Err(code) => return code,
    };
    let outcome = runtime().block_on(pipeline::run(&args.how.platform(), &inputs));
    show(args.how.output, &outcome);
    ExitCode::from(outcome.verdict.exit_code())
}

fn slack_target(args: &How) -> Option<SlackTarget> {
    if let Some(url) = &args.slack_webhook {
        return Some(SlackTarget::Webhook(url.clone()));
    }
    Some(SlackTarget::Bot {
        token: args.slack_token.clone()?,
        channel: args.slack_channel.clone()?,
        api: args.slack_api_url.clone(),
    })
}

/// Prints what happened: the report (text or JSON), or the problems that stopped the deploy.
pub fn show(output: Output, outcome: &Outcome) {
    if !outcome.findings.is_empty() {
        let files = outcome
            .findings
            .iter()
            .map(|f| f.file.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        report_findings(output, files, 0, &outcome.findings);
        return;
    }
    if let Some(report) = &outcome.report {
        print_report(output, report, outcome);
        return;
    }
    for problem in &outcome.problems {
        eprintln!("{problem}");
    }
    if let Some(reason) = &outcome.reason {
        eprintln!("shiplog: {reason}");
    }
}

fn print_report(output: Output, report: &Report, outcome: &Outcome) {
    let images = &outcome.substitutions;
    if output == Output::Json {
        let mut value = serde_json::to_value(report).expect("a report serializes");
        value["images"] = images.as_slice().into();
        if let Some(deploy) = &outcome.deploy
            && outcome.deploy_url.is_some()
        {
            value["deploy_id"] = deploy.id.0.into();
        }
        value["deploy_url"] = outcome.deploy_url.as_deref().into();
        if let Some(slack) = &outcome.slack {
            value["slack"] = serde_json::to_value(slack).expect("a Slack message serializes");
        }
        println!("{value:#}");
        return;
    }
    let suffix = if report.dry_run { " (dry run)" } else { "" };
    for namespace in &report.namespaces_created {
        println!("namespace/{namespace} created{suffix}");
    }
    for image in images {
        println!("image {image}");
    }
    for change in &report.resources {
        match &change.message {
            Some(note) if change.action != ResourceAction::Failed => {
                println!("{}{suffix}: {note}", change.describe());
            }
            _ => println!("{}{suffix}", change.describe()),
        }
    }
    let count = |action| count(report, action);
    let summary = format!(
        "{}: {} created, {} configured, {} unchanged",
        counted(report.resources.len(), "object"),
        count(ResourceAction::Created),
        count(ResourceAction::Configured),
        count(ResourceAction::Unchanged),
    );
    let summary = match count(ResourceAction::Failed) {
        0 => summary,
        failed => format!("{summary}, {failed} failed"),
    };
    match (&report.failure, report.status) {
        (None, _) if report.dry_run => println!("dry run: {summary}; nothing was changed"),
        (None, _)
            if count(ResourceAction::Unchanged) == report.resources.len()
                && report.namespaces_created.is_empty() =>
        {
            println!(
                "no changes: {} unchanged, nothing was written; every rollout is complete",
                counted(report.resources.len(), "object")
            );
        }
        (None, _) => println!("deployed {summary}; every rollout is complete"),
        (Some(failure), status) => {
            eprintln!("shiplog: {}", failure.reason);
            for detail in &failure.details {
                eprintln!("  {}", detail.replace('\n', "\n    "));
            }
            let outcome = if status == DeployStatus::RolledBack {
                "rolled back"
            } else {
                "failed"
            };
            eprintln!("deploy {outcome}: {summary}");
        }
    }
}

/// How many of the report's objects had `action`.
pub fn count(report: &Report, action: ResourceAction) -> usize {
    report
        .resources
        .iter()
        .filter(|c| c.action == action)
        .count()
}
