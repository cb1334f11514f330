//! Telling the world about a deploy: the record in the history server (start and end) and the
//! Slack messages (a "deploying" message in bot mode, the outcome, the failure thread), and the
//! GitHub deployment when there is one ([`super::github_deployment`]). All are best effort:
//! every problem becomes a warning through the [`Platform`], never a different outcome.

use shiplog_model::{Created, Deploy, DeployId, DeployUpdate, NewDeploy};

use crate::kube::client::{Kube, KubeError};
use crate::record;
use crate::slack::client::{Posted, Slack, WEB_API};

use super::Platform;
use super::github_deployment::{GithubDeployTarget, GithubDeployer};

/// Where Slack messages go.
#[derive(Clone, PartialEq, Eq)]
pub enum SlackTarget {
    /// An incoming webhook URL: one message when the deploy ends.
    Webhook(String),
    /// A bot token (`chat:write`) and channel: a message updated in place, a failure thread
    /// and a permalink. `api` replaces `https://slack.com/api` (a proxy, or a test stand-in).
    Bot {
        token: String,
        channel: String,
        api: Option<String>,
    },
}

impl std::fmt::Debug for SlackTarget {
    // Both forms carry a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SlackTarget::Webhook(_) => f.write_str("Webhook(…)"),
            SlackTarget::Bot { channel, .. } => {
                f.debug_struct("Bot").field("channel", channel).finish()
            }
        }
    }
}

impl SlackTarget {
    /// The secret this target carries.
    pub fn secret(&self) -> &str {
        match self {
            SlackTarget::Webhook(url) => url,
            SlackTarget::Bot { token, .. } => token,
        }
    }
}

/// The history server to record in.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerTarget {
    pub url: String,
    pub token: Option<String>,
}

impl std::fmt::Debug for ServerTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTarget")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The record and the Slack thread of one deploy.
pub struct Notifier<'p, P: Platform> {
    platform: &'p P,
    new_deploy: Option<NewDeploy>,
    /// The history server, and where it is.
    server: Option<(Kube<P::Host>, ServerTarget)>,
    slack: Option<Slack<P::Host>>,
    /// The deploy as recorded so far (a local copy when there is no history server).
    pub deploy: Option<Deploy>,
    pub created: Option<Created>,
    started: Option<Posted>,
    pub slack_message: Option<shiplog_model::SlackMessage>,
    github: Option<GithubDeployer<P::Host>>,
    /// The deploy got as far as changing the cluster ([`Notifier::start`] announced it).
    began: bool,
}

/// A Slack client for `target` over the platform's transport; errors mask its secret.
pub fn slack_client<P: Platform>(
    platform: &P,
    target: &SlackTarget,
) -> Result<Slack<P::Host>, String> {
    let secret = target.secret();
    let (base, token) = match target {
        SlackTarget::Webhook(url) => (url.as_str(), None),
        SlackTarget::Bot { token, api, .. } => {
            (api.as_deref().unwrap_or(WEB_API), Some(token.as_str()))
        }
    };
    let host = platform
        .public_host(base, token)
        .map_err(|e| e.replace(secret, "***"))?;
    Ok(match target {
        SlackTarget::Webhook(_) => Slack::webhook(host),
        SlackTarget::Bot { channel, .. } => Slack::bot(host, channel),
    }
    .masking(secret))
}

impl<'p, P: Platform> Notifier<'p, P> {
    /// A notifier for `new_deploy` (`None` when the runner's facts are missing: nothing is
    /// recorded or announced).
    pub fn new(
        platform: &'p P,
        new_deploy: Option<NewDeploy>,
        server: Option<&ServerTarget>,
        slack: Option<&SlackTarget>,
    ) -> Self {
        let server = server.and_then(|target| {
            platform
                .public_host(&target.url, target.token.as_deref())
                .map(|host| (Kube::new(host, record::BACKOFF), target.clone()))
                .map_err(|e| warn_unrecorded(platform, &e))
                .ok()
        });
        let slack = slack.and_then(|target| {
            slack_client(platform, target)
                .map_err(|e| platform.warn(&format!("Slack is not notified: {e}")))
                .ok()
        });
        Notifier {
            platform,
            new_deploy: new_deploy.map(|mut deploy| {
                record::fit_new(&mut deploy);
                deploy
            }),
            server,
            slack,
            deploy: None,
            created: None,
            started: None,
            slack_message: None,
            github: None,
            began: false,
        }
    }

    /// Mirrors the deploy as a GitHub deployment in `target`'s repository, when given.
    pub fn with_github(mut self, target: Option<&GithubDeployTarget>) -> Self {
        self.github = target.and_then(|target| GithubDeployer::new(self.platform, target));
        self
    }

    /// The console's page of this deploy, once recorded.
    pub fn deploy_page(&self) -> Option<&str> {
        self.created.as_ref().map(|c| c.url.as_str())
    }

    /// Records the start and, when `announce`, posts the "deploying" message (bot mode).
    pub async fn start(&mut self, announce: bool) {
        let Some(new_deploy) = &self.new_deploy else {
            return;
        };
        if self.deploy.is_some() {
            return;
        }
        if let Some((server, target)) = &self.server {
            match record::start(server, new_deploy).await {
                Ok(created) => {
                    self.platform.recorded_start(target, &created);
                    self.created = Some(created);
                }
                Err(e) => warn_unrecorded(
                    self.platform,
                    &format!("{}: {}", target.url, server_error(&e)),
                ),
            }
        }
        let id = self.created.as_ref().map_or(DeployId(0), |c| c.id);
        let mut deploy = new_deploy.clone().into_deploy(id, self.platform.now());
        self.began = announce;
        if let Some(github) = &mut self.github {
            let page = self.created.as_ref().map(|c| c.url.as_str());
            github.start(self.platform, &deploy, page, announce).await;
            deploy.github_deployment = github.deployment.clone();
        }
        if announce && let Some(slack) = &self.slack {
            match slack.announce_start(&deploy, self.deploy_page()).await {
                Ok(posted) => self.started = posted,
                Err(e) => self.platform.warn(&format!("Slack: {e}")),
            }
        }
        self.deploy = Some(deploy);
    }

    /// Announces and records how the deploy ended (recording its start first when that had
    /// not happened, as for a deploy refused before it began).
    pub async fn finish(&mut self, mut update: DeployUpdate) {
        self.start(false).await;
        let Some(deploy) = &mut self.deploy else {
            return;
        };
        let now = self.platform.now();
        update.finished_at.get_or_insert(now);
        update.github_deployment = deploy.github_deployment.clone();
        record::fit_update(&mut update, deploy);
        if let Err(e) = update.apply_to(deploy, now) {
            self.platform
                .warn(&format!("the deploy record could not be completed: {e}"));
        }
        if let Some(slack) = &self.slack {
            let page = self.created.as_ref().map(|c| c.url.as_str());
            match slack
                .announce_outcome(deploy, page, self.started.as_ref())
                .await
            {
                Ok(announced) => {
                    for warning in announced.warnings {
                        self.platform.warn(&format!("Slack: {warning}"));
                    }
                    self.slack_message = announced.record;
                }
                Err(e) => self.platform.warn(&format!("Slack: {e}")),
            }
        }
        deploy.slack = self.slack_message.clone();
        update.slack = self.slack_message.clone();
        if let (Some((server, _)), Some(created)) = (&self.server, &self.created) {
            match record::end(server, created.id, &update).await {
                Ok(()) => self.platform.log(&format!("recorded as {}", created.url)),
                Err(e) => warn_unrecorded(
                    self.platform,
                    &format!("{}: {}", created.url, server_error(&e)),
                ),
            }
        }
        if let Some(github) = &mut self.github {
            let rolled_out = self.began && !deploy.resources.is_empty();
            github.finish(self.platform, deploy, rolled_out).await;
        }
    }
}

impl<P: Platform> Notifier<'_, P> {
    /// The history server, when there is one.
    pub fn server(&self) -> Option<&Kube<P::Host>> {
        self.server.as_ref().map(|(kube, _)| kube)
    }

    /// Whose deploy this is, as the record names it (or, with nothing recorded, as the inputs
    /// and manifests do).
    pub fn subject(
        &self,
        inputs: &super::DeployInputs,
        namespace: &str,
        manifests: &[crate::manifest::Manifest],
    ) -> super::locks::Subject {
        match &self.new_deploy {
            Some(deploy) => super::locks::Subject {
                app: deploy.app.clone(),
                environment: deploy
                    .environment
                    .clone()
                    .unwrap_or_else(|| deploy.namespace.clone()),
                namespace: deploy.namespace.clone(),
            },
            None => super::locks::Subject {
                app: inputs
                    .app
                    .clone()
                    .or_else(|| manifests.first().map(|m| m.name().to_owned()))
                    .unwrap_or_default(),
                environment: inputs
                    .environment
                    .clone()
                    .unwrap_or_else(|| namespace.to_owned()),
                namespace: namespace.to_owned(),
            },
        }
    }

    /// Mirrors nothing on GitHub: a held deploy deployed nothing, so it is no GitHub deployment.
    pub fn without_github(&mut self) {
        self.github = None;
    }

    /// Records that the deploy goes ahead despite `hold` (its message).
    pub fn overriding(&mut self, hold: String) {
        if let Some(deploy) = &mut self.new_deploy {
            deploy.lock_override = Some(shiplog_model::limits::cut(&hold, 4 * 1024));
        }
    }

    /// Keeps the objects the deploy applied beside its record, when it is recorded.
    pub async fn keep_manifests(&self, manifests: &[crate::manifest::Manifest]) {
        let (Some((server, _)), Some(created)) = (&self.server, &self.created) else {
            return;
        };
        if let Err(e) =
            record::keep_manifests(server, created.id, &record::applied(manifests)).await
        {
            self.platform.warn(&format!(
                "the applied manifests are not kept with the record {}: {}",
                created.url,
                server_error(&e)
            ));
        }
    }
}

/// A history server's error in its own words: a refusal of the credentials is the server's
/// (`403: this token may write acme/* only, not evil/x`), not a cluster's.
pub fn server_error(error: &KubeError) -> String {
    match error {
        KubeError::Unauthorized { status, message } => {
            format!("the server refused the credentials ({status}): {message}")
        }
        other => other.to_string(),
    }
}

fn warn_unrecorded(platform: &impl Platform, message: &str) {
    platform.warn(&format!(
        "the deploy is not recorded in the history server: {message}"
    ));
}
