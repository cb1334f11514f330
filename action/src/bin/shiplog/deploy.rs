//! `shiplog deploy`: flags, reading the manifests, the cluster's kubeconfig, and the report.
//! The deploy itself is [`shiplog_action::deploy`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use shiplog_action::check::check;
use shiplog_action::deploy::{self, DeployError, Options, Report, Traceability, prepare};
use shiplog_action::kube::client::Kube;
use shiplog_action::kube::retry::Backoff;
use shiplog_action::native::cluster::{connect, kubeconfig_path};
use shiplog_action::native::http::HttpHost;
use shiplog_action::record;
use shiplog_model::{DeployStatus, Failure, ResourceAction};

use crate::{FAILED, INVALID, Output, UNREACHABLE, read_manifests, report_findings};

#[derive(clap::Args)]
pub struct DeployArgs {
    /// Manifest files, directories (searched recursively for .yaml, .yml, .json) or globs.
    /// Repeat the flag or give several lines.
    #[arg(long = "manifests", required = true)]
    manifests: Vec<String>,
    /// Namespace for objects that do not name one (default: the context's, else `default`).
    #[arg(long)]
    namespace: Option<String>,
    /// Images to deploy, e.g. `ghcr.io/acme/api:v2`: each replaces every container image of the
    /// same repository, in every pod template. Repeat the flag or give several lines.
    #[arg(long)]
    images: Vec<String>,
    /// The kubeconfig (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long)]
    context: Option<String>,
    /// How long rollouts may take, e.g. 300s, 5m, 1h.
    #[arg(long, default_value = "5m", value_parser = shiplog_action::duration::parse)]
    timeout: Duration,
    /// When a rollout fails, restore each failed Deployment's previous version and wait for it.
    #[arg(long)]
    rollback_on_failure: bool,
    /// Validate and dry-run every object on the server; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Create missing namespaces.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    create_namespace: bool,
    /// The application, for the history record (default: the first workload's name).
    #[arg(long)]
    app: Option<String>,
    /// The environment, for the history record (default: the namespace).
    #[arg(long)]
    environment: Option<String>,
    /// The history server to record the deploy in, e.g. https://shiplog.acme.dev.
    #[arg(long, env = "SHIPLOG_SERVER_URL")]
    server_url: Option<String>,
    /// The history server's write token.
    #[arg(long, env = "SHIPLOG_SERVER_TOKEN", hide_env_values = true)]
    server_token: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Splits arguments given as several lines (as workflow inputs are) into one per line.
fn lines(arguments: &[String]) -> Vec<String> {
    arguments
        .iter()
        .flat_map(|a| a.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

pub fn run(args: &DeployArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    runtime.block_on(deploy_async(args))
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("shiplog: {message}");
    ExitCode::from(code)
}

async fn deploy_async(args: &DeployArgs) -> ExitCode {
    let files = match read_manifests(&lines(&args.manifests)) {
        Ok(files) => files,
        Err(e) => return fail(INVALID, &e),
    };
    let path = match kubeconfig_path(args.kubeconfig.as_deref()) {
        Ok(path) => path,
        Err(e) => return fail(UNREACHABLE, &e.to_string()),
    };
    let (access, host) = match connect(&path, args.context.as_deref()).await {
        Ok(connected) => connected,
        Err(e) => return fail(UNREACHABLE, &e.to_string()),
    };
    let kube = Kube::new(host, Backoff::default());
    let discovery = match deploy::discover(&kube).await {
        Ok(discovery) => discovery,
        Err(e) => {
            return fail(
                UNREACHABLE,
                &format!("{} (context {}): {e}", access.server, access.context),
            );
        }
    };
    let namespace = args
        .namespace
        .clone()
        .or(access.namespace.clone())
        .unwrap_or_else(|| "default".into());
    let checked = check(&files, &namespace, |v, k| discovery.serves(v, k));
    if !checked.findings.is_empty() {
        report_findings(
            args.output,
            files.len(),
            checked.manifests.len(),
            &checked.findings,
        );
        return ExitCode::from(INVALID);
    }
    let mut manifests = checked.manifests;
    let trace = Traceability {
        repository: std::env::var("GITHUB_REPOSITORY").ok(),
        commit: std::env::var("GITHUB_SHA").ok(),
    };
    let images = prepare(&mut manifests, &lines(&args.images), &trace);
    let options = Options {
        create_namespace: args.create_namespace,
        dry_run: args.dry_run,
        timeout: args.timeout,
        rollback_on_failure: args.rollback_on_failure,
    };
    let images_given = lines(&args.images);
    let facts = record::Facts {
        app: args.app.as_deref(),
        environment: args.environment.as_deref(),
        namespace: &namespace,
        images: &images_given,
        manifests: &manifests,
    };
    let recorder = match (&args.server_url, args.dry_run) {
        (Some(url), false) => Recorder::start(url, args.server_token.clone(), &facts).await,
        _ => None,
    };
    let outcome = deploy::deploy(&kube, &discovery, &manifests, &options).await;
    let (code, status, resources, failure) = match outcome {
        Ok(report) => {
            print_report(args.output, &report, &images);
            let code = match report.status {
                DeployStatus::Succeeded => ExitCode::SUCCESS,
                _ => ExitCode::from(FAILED),
            };
            (code, report.status, report.resources, report.failure)
        }
        Err(error) => {
            let (code, reason) = match &error {
                DeployError::Access(e) => (UNREACHABLE, format!("{}: {e}", access.server)),
                DeployError::Rejected {
                    problems,
                    namespaces_created,
                } => {
                    for problem in problems {
                        eprintln!("{problem}");
                    }
                    let changed = if namespaces_created.is_empty() {
                        "nothing was changed".to_owned()
                    } else {
                        format!(
                            "only the namespaces {} were created",
                            namespaces_created.join(", ")
                        )
                    };
                    let reason = format!(
                        "the server-side dry run refused {} objects; {changed}",
                        problems.len()
                    );
                    (INVALID, reason)
                }
                DeployError::Apply(message) => (FAILED, message.clone()),
            };
            let code = fail(code, &reason);
            let failure = Failure {
                reason,
                details: match error {
                    DeployError::Rejected { problems, .. } => problems,
                    _ => Vec::new(),
                },
            };
            (code, DeployStatus::Failed, Vec::new(), Some(failure))
        }
    };
    if let Some(recorder) = recorder {
        recorder
            .end(&record::finish(status, resources, failure))
            .await;
    }
    code
}

/// The history record of this deploy, once started. Failures are warnings.
struct Recorder {
    server: Kube<HttpHost>,
    created: shiplog_model::Created,
}

fn warn_unrecorded(message: &str) {
    eprintln!("shiplog: warning: the deploy is not recorded in the history server: {message}");
}

impl Recorder {
    async fn start(url: &str, token: Option<String>, facts: &record::Facts<'_>) -> Option<Self> {
        let deploy = match record::new_deploy(facts, |name| std::env::var(name).ok()) {
            Ok(deploy) => deploy,
            Err(missing) => {
                warn_unrecorded(&format!("{} not set", missing.join(", ")));
                return None;
            }
        };
        let host = match HttpHost::public(url, token) {
            Ok(host) => host,
            Err(e) => {
                warn_unrecorded(&e);
                return None;
            }
        };
        let server = Kube::new(host, record::BACKOFF);
        match record::start(&server, &deploy).await {
            Ok(created) => Some(Recorder { server, created }),
            Err(e) => {
                warn_unrecorded(&format!("{url}: {e}"));
                None
            }
        }
    }

    async fn end(self, update: &shiplog_model::DeployUpdate) {
        match record::end(&self.server, &self.created, update).await {
            Ok(()) => eprintln!("recorded as {}", self.created.url),
            Err(e) => warn_unrecorded(&format!("{}: {e}", self.created.url)),
        }
    }
}

fn action_name(action: ResourceAction) -> &'static str {
    match action {
        ResourceAction::Created => "created",
        ResourceAction::Configured => "configured",
        ResourceAction::Unchanged => "unchanged",
        ResourceAction::Failed => "failed",
    }
}

fn print_report(output: Output, report: &Report, images: &[String]) {
    if output == Output::Json {
        let mut value = serde_json::to_value(report).expect("a report serializes");
        value["images"] = images.into();
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
        let place = change
            .namespace
            .as_deref()
            .map(|ns| format!(" in {ns}"))
            .unwrap_or_default();
        println!(
            "{}/{}{place} {}{suffix}",
            change.kind,
            change.name,
            action_name(change.action)
        );
    }
    let count = |action| {
        report
            .resources
            .iter()
            .filter(|c| c.action == action)
            .count()
    };
    let summary = format!(
        "{} objects: {} created, {} configured, {} unchanged",
        report.resources.len(),
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
