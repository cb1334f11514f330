//! One deploy from start to end, the same for every face of shiplog (the `shiplog` CLI and the
//! GitHub Action): read the manifests, reach the cluster, validate everything, record and
//! announce the start, deploy, then announce and record the outcome. Everything the world
//! provides — files, environment, clock, transport, credential plugins, where progress goes —
//! comes from a [`Platform`]; what happened comes back as an [`Outcome`] for the face to
//! show.

pub mod access;
pub mod github_deployment;
pub mod github_oidc;
pub mod id_token;
pub mod locks;
pub mod notify;
pub mod restore;

use chrono::{DateTime, Utc};
use shiplog_model::{Created, Deploy, DeployId, DeployStatus, Failure, NewDeploy, SlackMessage};

use crate::check::{Finding, check};
use crate::deploy::{self, DeployError, Options, Report, Traceability, prepare};
use crate::host::Host;
use crate::kube::client::Kube;
use crate::kube::retry::Backoff;
use crate::kubeconfig::ExecConfig;
use crate::manifest::Manifest;
use crate::record::{self, Facts, finish};
use crate::sources::{self, FileSystem};
use crate::wording::counted;

pub use access::{Cluster, Kubeconfig};
pub use github_deployment::GithubDeployTarget;
pub use locks::LockPolicy;
use notify::Notifier;
pub use notify::{ServerTarget, SlackTarget};

/// What a face of shiplog provides.
#[allow(async_fn_in_trait)]
pub trait Platform {
    type Host: Host;
    type Files: FileSystem;

    fn files(&self) -> &Self::Files;
    /// An environment variable (the runner's context: `GITHUB_REPOSITORY`, …).
    fn env(&self, name: &str) -> Option<String>;
    fn now(&self) -> DateTime<Utc>;
    /// 64 random bits (a deploy's run id outside GitHub Actions).
    fn random_u64(&self) -> u64;
    /// The history server recorded the start of the deploy as `created`: a face that can finish
    /// the record should the deploy be stopped before its end (the Action's post step) keeps
    /// what it needs.
    fn recorded_start(&self, _server: &ServerTarget, _created: &Created) {}
    /// A GitHub deployment `id` was created for the deploy: a face that can end it should the
    /// deploy be stopped before its end keeps it.
    fn github_deployment_created(&self, _id: i64) {}
    /// A line of progress for the person watching.
    fn log(&self, line: &str);
    /// Something went wrong that does not change the outcome.
    fn warn(&self, message: &str);
    /// A secret was read (a token, a key): it must never be shown from now on.
    fn mask(&self, secret: &str);
    /// Runs an exec credential plugin; its standard output.
    async fn run_plugin(&self, exec: &ExecConfig) -> Result<Vec<u8>, String>;
    /// The transport to the API server of `cluster`.
    fn cluster_host(&self, cluster: &Cluster) -> Result<Self::Host, String>;
    /// The transport to a server with a publicly trusted certificate (or plain HTTP), with an
    /// optional bearer token.
    fn public_host(&self, base: &str, token: Option<&str>) -> Result<Self::Host, String>;
}

/// What to deploy, and where to tell about it.
#[derive(Debug, Clone)]
pub struct DeployInputs {
    /// Files, directories, globs; several per entry on separate lines.
    pub manifests: Vec<String>,
    /// Manifests given as text, `(name, content)`, besides those read from `manifests` (a
    /// redeploy's kept objects, [`restore`]).
    pub inline: Vec<(String, String)>,
    pub namespace: Option<String>,
    pub images: Vec<String>,
    pub kubeconfig: Kubeconfig,
    pub context: Option<String>,
    pub options: Options,
    pub app: Option<String>,
    pub environment: Option<String>,
    pub server: Option<ServerTarget>,
    pub slack: Option<SlackTarget>,
    /// The earlier deploy this one deploys again ([`restore`]), for the record.
    pub restores: Option<DeployId>,
    /// What to do about environment locks and freeze windows ([`locks`]).
    pub locks: LockPolicy,
    /// The repository whose GitHub deployments mirror the deploy (the Action's).
    pub github: Option<GithubDeployTarget>,
}

/// How a deploy ended, as an exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Deployed and rolled out (or, for a dry run, accepted by the server).
    Deployed,
    /// Not attempted: the [`Gate`] stopped it (an earlier step of the job failed).
    Skipped,
    /// A rollout failed (rolled back or not), or applying failed part-way.
    Failed,
    /// The input is invalid; nothing was changed.
    Invalid,
    /// The cluster cannot be reached or refuses the credentials.
    Unreachable,
    /// A lock or freeze window held the deploy; nothing was changed.
    Blocked,
}

impl Verdict {
    /// `0` deployed (or skipped), `1` failed, `2` invalid input, `3` cluster unreachable,
    /// `4` held by a lock or freeze window.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Deployed | Verdict::Skipped => 0,
            Verdict::Failed => 1,
            Verdict::Invalid => 2,
            Verdict::Unreachable => 3,
            Verdict::Blocked => 4,
        }
    }
}

/// Everything a face needs to show what happened.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    /// Why the deploy did not succeed, in one line.
    pub reason: Option<String>,
    /// Problems found in the manifests before anything was touched.
    pub findings: Vec<Finding>,
    /// What the server-side dry run refused.
    pub problems: Vec<String>,
    pub report: Option<Report>,
    /// The image substitutions made, `Kind/name container: from → to`.
    pub substitutions: Vec<String>,
    pub namespace: Option<String>,
    /// The deploy as recorded (or as it would have been, without a history server).
    pub deploy: Option<Deploy>,
    /// The console's page of the deploy, when recorded.
    pub deploy_url: Option<String>,
    pub slack: Option<SlackMessage>,
}

impl Outcome {
    /// The failure of a deploy stopped before it began: the reason, then each finding and
    /// each refusal of the server.
    pub fn stopped_failure(&self) -> Failure {
        Failure {
            reason: self.reason.clone().unwrap_or_default(),
            details: self
                .findings
                .iter()
                .map(ToString::to_string)
                .chain(self.problems.iter().cloned())
                .collect(),
        }
    }

    fn new(verdict: Verdict, reason: Option<String>) -> Self {
        Outcome {
            verdict,
            reason,
            findings: Vec::new(),
            problems: Vec::new(),
            report: None,
            substitutions: Vec::new(),
            namespace: None,
            deploy: None,
            deploy_url: None,
            slack: None,
        }
    }
}

/// The commit message of the push or pull request that triggered the run, from the event
/// payload the runner writes (`GITHUB_EVENT_PATH`).
pub fn commit_message(platform: &impl Platform) -> Option<String> {
    let path = platform.env("GITHUB_EVENT_PATH")?;
    let event: serde_json::Value =
        serde_json::from_slice(&platform.files().read(&path).ok()?).ok()?;
    [
        &event["head_commit"]["message"],
        &event["pull_request"]["title"],
    ]
    .into_iter()
    .find_map(|m| m.as_str().map(str::to_owned))
}

/// The record of this deploy, when the runner's facts are there.
fn new_deploy(
    platform: &impl Platform,
    inputs: &DeployInputs,
    namespace: &str,
    manifests: &[Manifest],
) -> Option<NewDeploy> {
    let images = sources::lines(&inputs.images);
    let facts = Facts {
        app: inputs.app.as_deref(),
        environment: inputs.environment.as_deref(),
        namespace,
        images: &images,
        manifests,
        deadline: record::deadline(platform.now(), &inputs.options),
        local_run_id: record::local_run_id(platform.random_u64()),
    };
    match record::new_deploy(&facts, |name| platform.env(name)) {
        Ok(mut deploy) => {
            deploy.commit.message = commit_message(platform).unwrap_or_default();
            deploy.restores = inputs.restores;
            Some(deploy)
        }
        Err(missing) => {
            if inputs.server.is_some() || inputs.slack.is_some() {
                platform.warn(&format!(
                    "the deploy is neither recorded nor announced: {} not set",
                    missing.join(", ")
                ));
            }
            None
        }
    }
}

/// Runs one deploy.
pub async fn run<P: Platform>(platform: &P, inputs: &DeployInputs) -> Outcome {
    run_gated(platform, inputs, async { Gate::Proceed }).await
}

/// Whether a deploy may change the cluster, decided while it reads and checks everything (the
/// Action asks GitHub whether an earlier step of the job failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Proceed,
    /// Change nothing, record and announce nothing: the reason.
    Stop(String),
}

/// Runs one deploy once `gate` lets it: the manifests are read, the cluster reached and every
/// object checked while the gate decides; nothing is changed, recorded or announced before.
pub async fn run_gated<P: Platform>(
    platform: &P,
    inputs: &DeployInputs,
    gate: impl Future<Output = Gate>,
) -> Outcome {
    let (ready, gate, server) = futures_util::future::join3(
        get_ready(platform, inputs),
        gate,
        id_token::target(platform, inputs.server.as_ref()),
    )
    .await;
    if let Gate::Stop(reason) = gate {
        return Outcome::new(Verdict::Skipped, Some(reason));
    }
    let inputs = &DeployInputs {
        server,
        ..inputs.clone()
    };
    // The phases after the first request are boxed: each is then a state machine of its own,
    // which the Action's WebAssembly compiles (lazily, on first poll) only when it runs, instead
    // of one function holding the whole pipeline, compiled before the cluster is reached.
    match ready {
        Ok(ready) => Box::pin(deploy_ready(platform, inputs, ready)).await,
        Err(stopped) => {
            let namespace = stopped.outcome.namespace.clone().unwrap_or_default();
            let mut notifier = notifier(platform, inputs, &namespace, &stopped.manifests);
            Box::pin(refused(&mut notifier, stopped.outcome)).await
        }
    }
}

/// A deploy read, connected and checked: ready to change the cluster.
struct Ready<H> {
    kube: Kube<H>,
    discovery: crate::kube::discovery::Discovery,
    access: crate::kubeconfig::ClusterAccess,
    manifests: Vec<Manifest>,
    namespace: String,
    /// The `images` input, one per entry, each matching a container of the manifests.
    images: Vec<String>,
}

/// A deploy that cannot begin, with the objects known so far for its record.
struct Stopped {
    outcome: Outcome,
    manifests: Vec<Manifest>,
}

fn stopped(verdict: Verdict, reason: String, namespace: &str) -> Stopped {
    let mut outcome = Outcome::new(verdict, Some(reason));
    outcome.namespace = Some(namespace.to_owned());
    Stopped {
        outcome,
        manifests: Vec::new(),
    }
}

/// Reads the manifests, reaches the cluster, discovers what it serves and checks every object;
/// changes nothing.
async fn get_ready<P: Platform>(
    platform: &P,
    inputs: &DeployInputs,
) -> Result<Ready<P::Host>, Stopped> {
    let given = inputs.namespace.as_deref().unwrap_or("default");
    let mut files = if inputs.manifests.is_empty() && !inputs.inline.is_empty() {
        Vec::new()
    } else {
        sources::read_all(platform.files(), &inputs.manifests)
            .map_err(|e| stopped(Verdict::Invalid, e.to_string(), given))?
    };
    files.extend(inputs.inline.iter().cloned());
    let (access, cluster) =
        access::connect(platform, &inputs.kubeconfig, inputs.context.as_deref())
            .await
            .map_err(|e| stopped(Verdict::Unreachable, e, given))?;
    let namespace = inputs
        .namespace
        .clone()
        .or(access.namespace.clone())
        .unwrap_or_else(|| "default".into());
    let host = platform
        .cluster_host(&cluster)
        .map_err(|e| stopped(Verdict::Unreachable, e, &namespace))?;
    let kube = Kube::new(host, Backoff::default());
    platform.log(&format!(
        "cluster {} (context {})",
        access.server, access.context
    ));
    let discovery = deploy::discover(&kube).await.map_err(|e| {
        let reason = format!("{} (context {}): {e}", access.server, access.context);
        stopped(Verdict::Unreachable, reason, &namespace)
    })?;
    let checked = check(&files, &namespace, |v, k| discovery.serves(v, k));
    if !checked.findings.is_empty() {
        let reason = format!(
            "{} in {}; nothing was changed",
            counted(checked.findings.len(), "problem"),
            counted(files.len(), "file")
        );
        let mut invalid = stopped(Verdict::Invalid, reason, &namespace);
        invalid.outcome.findings = checked.findings;
        invalid.manifests = checked.manifests;
        return Err(invalid);
    }
    let images = sources::lines(&inputs.images);
    let objects = checked.manifests.iter().map(|m| (m.kind(), &m.object));
    let unmatched = crate::images::unmatched(objects, &images);
    if let Some(first) = unmatched.first() {
        let reason = format!(
            "images: {first} matches no container image in the manifests{}; nothing was changed",
            match unmatched.len() {
                1 => String::new(),
                n => format!(" (nor do {} more)", n - 1),
            }
        );
        return Err(stopped(Verdict::Invalid, reason, &namespace));
    }
    Ok(Ready {
        kube,
        discovery,
        access,
        manifests: checked.manifests,
        namespace,
        images,
    })
}

fn notifier<'p, P: Platform>(
    platform: &'p P,
    inputs: &DeployInputs,
    namespace: &str,
    manifests: &[Manifest],
) -> Notifier<'p, P> {
    let record = (!inputs.options.dry_run)
        .then(|| new_deploy(platform, inputs, namespace, manifests))
        .flatten();
    Notifier::new(
        platform,
        record,
        inputs.server.as_ref(),
        inputs.slack.as_ref(),
    )
    .with_github(inputs.github.as_ref())
}

/// Announces and records a deploy that ended before it began.
async fn refused<P: Platform>(notifier: &mut Notifier<'_, P>, outcome: Outcome) -> Outcome {
    let failure = outcome.stopped_failure();
    notifier
        .finish(finish(DeployStatus::Failed, Vec::new(), Some(failure)))
        .await;
    with_record(notifier, outcome)
}

fn with_record<P: Platform>(notifier: &Notifier<'_, P>, mut outcome: Outcome) -> Outcome {
    outcome.deploy = notifier.deploy.clone();
    outcome.deploy_url = notifier.deploy_page().map(str::to_owned);
    outcome.slack = notifier.slack_message.clone();
    outcome
}

/// Deploys what [`get_ready`] prepared, announcing and recording it.
async fn deploy_ready<P: Platform>(
    platform: &P,
    inputs: &DeployInputs,
    ready: Ready<P::Host>,
) -> Outcome {
    let Ready {
        kube,
        discovery,
        access,
        mut manifests,
        namespace,
        images,
    } = ready;
    let mut notifier = notifier(platform, inputs, &namespace, &manifests);
    // A dry run changes nothing: no lock holds it.
    let decision = if inputs.options.dry_run {
        locks::Decision::Proceed
    } else {
        let subject = notifier.subject(inputs, &namespace, &manifests);
        locks::decide(notifier.server(), &subject, inputs.locks, |w| {
            platform.warn(w)
        })
        .await
    };
    match decision {
        locks::Decision::Proceed => {}
        locks::Decision::Override(hold) => notifier.overriding(hold),
        locks::Decision::Hold(reason) => {
            let mut outcome = Outcome::new(Verdict::Blocked, Some(reason.clone()));
            outcome.namespace = Some(namespace);
            let failure = Failure {
                reason,
                details: Vec::new(),
            };
            notifier.without_github();
            notifier
                .finish(finish(DeployStatus::Blocked, Vec::new(), Some(failure)))
                .await;
            return with_record(&notifier, outcome);
        }
    }
    let trace = Traceability {
        repository: platform.env("GITHUB_REPOSITORY"),
        commit: platform.env("GITHUB_SHA"),
    };
    let substitutions = prepare(&mut manifests, &images);
    notifier.start(true).await;
    platform.log(&format!("deploying {}", counted(manifests.len(), "object")));
    let mut outcome =
        match deploy::deploy(&kube, &discovery, &manifests, &trace, &inputs.options).await {
            Ok(report) => {
                let verdict = match report.status {
                    DeployStatus::Succeeded => Verdict::Deployed,
                    _ => Verdict::Failed,
                };
                let mut outcome =
                    Outcome::new(verdict, report.failure.as_ref().map(|f| f.reason.clone()));
                notifier
                    .finish(finish(
                        report.status,
                        report.resources.clone(),
                        report.failure.clone(),
                    ))
                    .await;
                notifier.keep_manifests(&manifests).await;
                outcome.report = Some(report);
                outcome
            }
            Err(error) => {
                let outcome = refusal(error, &access);
                let failure = Failure {
                    reason: outcome.reason.clone().unwrap_or_default(),
                    details: outcome.problems.clone(),
                };
                notifier
                    .finish(finish(DeployStatus::Failed, Vec::new(), Some(failure)))
                    .await;
                outcome
            }
        };
    outcome.substitutions = substitutions;
    outcome.namespace = Some(namespace);
    with_record(&notifier, outcome)
}

/// The outcome of a deploy the engine could not carry out.
fn refusal(error: DeployError, access: &crate::kubeconfig::ClusterAccess) -> Outcome {
    match error {
        DeployError::Access(e) => Outcome::new(
            Verdict::Unreachable,
            Some(format!("{}: {e}", access.server)),
        ),
        DeployError::Rejected {
            problems,
            namespaces_created,
        } => {
            let changed = if namespaces_created.is_empty() {
                "nothing was changed".to_owned()
            } else {
                format!(
                    "only the namespaces {} were created",
                    namespaces_created.join(", ")
                )
            };
            let reason = format!(
                "the server-side dry run refused {}; {changed}",
                counted(problems.len(), "object")
            );
            let mut outcome = Outcome::new(Verdict::Invalid, Some(reason));
            outcome.problems = problems;
            outcome
        }
        DeployError::Apply(message) => Outcome::new(Verdict::Failed, Some(message)),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::kube::client::tests::Scripted;
    use crate::sources::Entry;

    /// Files in memory.
    #[derive(Default)]
    struct Memory(BTreeMap<String, String>);

    impl FileSystem for Memory {
        fn entry(&self, path: &str) -> Option<Entry> {
            self.0.contains_key(path).then_some(Entry::File)
        }

        fn walk(&self, _dir: &str) -> Result<Vec<String>, String> {
            Ok(Vec::new())
        }

        fn read(&self, path: &str) -> Result<Vec<u8>, String> {
            self.0
                .get(path)
                .map(|text| text.as_bytes().to_vec())
                .ok_or_else(|| "no such file".into())
        }
    }

    /// A platform whose every call is recorded; hosts answer nothing.
    #[derive(Default)]
    struct Fake {
        files: Memory,
        said: RefCell<Vec<String>>,
    }

    impl Platform for Fake {
        type Host = Scripted;
        type Files = Memory;

        fn files(&self) -> &Memory {
            &self.files
        }
        fn env(&self, _name: &str) -> Option<String> {
            None
        }
        fn now(&self) -> DateTime<Utc> {
            DateTime::UNIX_EPOCH
        }
        fn random_u64(&self) -> u64 {
            7
        }
        fn log(&self, line: &str) {
            self.said.borrow_mut().push(format!("log: {line}"));
        }
        fn warn(&self, message: &str) {
            self.said.borrow_mut().push(format!("warn: {message}"));
        }
        fn mask(&self, _secret: &str) {}
        async fn run_plugin(&self, _exec: &ExecConfig) -> Result<Vec<u8>, String> {
            Err("no plugins here".into())
        }
        fn cluster_host(&self, _cluster: &Cluster) -> Result<Scripted, String> {
            Ok(Scripted::default())
        }
        fn public_host(&self, _base: &str, _token: Option<&str>) -> Result<Scripted, String> {
            Ok(Scripted::default())
        }
    }

    fn inputs(manifests: &str) -> DeployInputs {
        DeployInputs {
            manifests: vec![manifests.into()],
            inline: Vec::new(),
            namespace: Some("prod".into()),
            images: Vec::new(),
            kubeconfig: Kubeconfig::Files(vec!["kubeconfig".into()]),
            context: None,
            options: Options {
                create_namespace: true,
                dry_run: false,
                timeout: Duration::from_secs(1),
                rollback_on_failure: false,
                force_conflicts: true,
            },
            app: None,
            environment: None,
            server: Some(ServerTarget {
                url: "https://shiplog.example".into(),
                token: None,
            }),
            slack: None,
            restores: None,
            locks: LockPolicy::default(),
            github: None,
        }
    }

    fn outcome(platform: &Fake, inputs: &DeployInputs, gate: Gate) -> Outcome {
        let running = run_gated(platform, inputs, async { gate });
        futures_util::FutureExt::now_or_never(running).expect("nothing waits")
    }

    #[test]
    fn manifests_that_cannot_be_read_are_invalid_input() {
        let platform = Fake::default();
        let outcome = outcome(&platform, &inputs("k8s/app.yaml"), Gate::Proceed);
        assert_eq!(outcome.verdict, Verdict::Invalid);
        assert_eq!(outcome.verdict.exit_code(), 2);
        assert_eq!(
            outcome.reason.as_deref(),
            Some("k8s/app.yaml: no such file or directory")
        );
        assert_eq!(outcome.namespace.as_deref(), Some("prod"));
    }

    #[test]
    fn a_missing_kubeconfig_means_the_cluster_is_unreachable() {
        let mut platform = Fake::default();
        platform.files.0.insert(
            "app.yaml".into(),
            "kind: ConfigMap\nmetadata: {name: a}\n".into(),
        );
        let outcome = outcome(&platform, &inputs("app.yaml"), Gate::Proceed);
        assert_eq!(outcome.verdict, Verdict::Unreachable);
        assert_eq!(outcome.verdict.exit_code(), 3);
        assert!(
            outcome
                .reason
                .unwrap()
                .contains("reading the kubeconfig kubeconfig"),
            "the reason names the file"
        );
        // Without the runner's facts nothing is recorded, and the user is told why.
        assert_eq!(
            *platform.said.borrow(),
            [
                "warn: the deploy is neither recorded nor announced: GITHUB_REPOSITORY, GITHUB_SHA, GITHUB_ACTOR not set"
            ]
        );
    }

    #[test]
    fn a_closed_gate_changes_records_and_announces_nothing() {
        let platform = Fake::default();
        let outcome = outcome(
            &platform,
            &inputs("k8s/app.yaml"),
            Gate::Stop("step \"Run tests\" failed".into()),
        );
        assert_eq!(outcome.verdict, Verdict::Skipped);
        assert_eq!(outcome.verdict.exit_code(), 0);
        assert_eq!(outcome.reason.as_deref(), Some("step \"Run tests\" failed"));
        assert!(platform.said.borrow().is_empty(), "{:?}", platform.said);
    }
}
