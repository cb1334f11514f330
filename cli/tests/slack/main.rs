//! The Slack client against a local Slack stand-in ([`standin`]), through the native host as
//! the `shiplog` binary would use it: webhook and bot mode, update in place, thread replies,
//! permalinks, rate limits, server errors, Slack's limits and hostile record text.

use shiplog_testkit::slack as standin;

use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use shiplog::http::HttpHost;
use shiplog::platform::Native;
use shiplog_engine::kube::retry::Backoff;
use shiplog_engine::pipeline::SlackTarget;
use shiplog_engine::pipeline::notify::slack_client;
use shiplog_engine::slack::client::{Posted, Slack, SlackError};
use shiplog_engine::slack::message::{self, Block, Message, Text, limits};
use shiplog_model::{
    Commit, Deploy, DeployId, DeployStatus, Failure, ResourceAction, ResourceChange, WorkflowRun,
};
use standin::{Fault, Standin, displayed, texts, well_escaped};

const TOKEN: &str = "xoxb-standin-token-9c1d";

/// Quick retries, so that exhausting them takes milliseconds.
const FAST: Backoff = Backoff {
    attempts: 3,
    connect_attempts: 2,
    first: Duration::from_millis(10),
    max: Duration::from_secs(5),
};

fn deploy(status: DeployStatus) -> Deploy {
    Deploy {
        restores: None,
        lock_override: None,
        github_deployment: None,
        id: DeployId(42),
        repo: "acme/shop".into(),
        app: "api".into(),
        environment: "prod".into(),
        namespace: "prod".into(),
        cluster: None,
        status,
        version: Some("v1.4.2".into()),
        images: vec!["ghcr.io/acme/api:v1.4.2".into()],
        workloads: Vec::new(),
        commit: Commit {
            sha: "0123456789abcdef".into(),
            message: "Ship it\n\nbody".into(),
            url: Some("https://github.com/acme/shop/commit/0123456789abcdef".into()),
        },
        git_ref: Some("refs/heads/main".into()),
        actor: "alice".into(),
        run: WorkflowRun {
            id: 7,
            attempt: 1,
            job: "deploy".into(),
            step: None,
            url: Some("https://github.com/acme/shop/actions/runs/7".into()),
        },
        started_at: Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap(),
        finished_at: (status != DeployStatus::InProgress)
            .then(|| Utc.with_ymd_and_hms(2026, 1, 1, 12, 1, 23).unwrap()),
        deadline: None,
        resources: Vec::new(),
        failure: None,
        slack: None,
    }
}

fn failed(reason: &str, details: Vec<String>) -> Deploy {
    let mut deploy = deploy(DeployStatus::Failed);
    deploy.failure = Some(Failure {
        reason: reason.into(),
        details,
    });
    deploy.resources = vec![ResourceChange {
        diff: None,
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: "api".into(),
        namespace: Some("prod".into()),
        action: ResourceAction::Failed,
        message: Some(reason.into()),
    }];
    deploy
}

/// Slack as the `shiplog` binary reaches it, retrying quickly.
fn client(target: SlackTarget) -> Slack<HttpHost> {
    slack_client(&Native::default(), &target)
        .unwrap()
        .with_backoff(FAST)
}

fn bot_with(standin: &Standin, token: &str, channel: &str) -> Slack<HttpHost> {
    client(SlackTarget::Bot {
        token: token.into(),
        channel: channel.into(),
        api: Some(standin.api_url()),
    })
}

fn bot(standin: &Standin, channel: &str) -> Slack<HttpHost> {
    bot_with(standin, TOKEN, channel)
}

fn webhook(standin: &Standin) -> Slack<HttpHost> {
    client(SlackTarget::Webhook(standin.webhook_url()))
}

const PAGE: &str = "https://shiplog.acme.dev/deploys/42";

#[tokio::test]
async fn webhook_posts_one_message_answered_ok() {
    let standin = Standin::start(TOKEN).await;
    let slack = webhook(&standin);
    let deploy = deploy(DeployStatus::Succeeded);
    assert_eq!(slack.announce_start(&deploy, Some(PAGE)).await, Ok(None));
    let announced = slack
        .announce_outcome(&deploy, Some(PAGE), None)
        .await
        .unwrap();
    assert_eq!(announced.record, None, "a webhook message has no ts");
    assert!(announced.warnings.is_empty());
    let posts = standin.webhook_posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["text"], message::outcome(&deploy, Some(PAGE)).text);
    assert_eq!(posts[0]["blocks"][0]["type"], "header");
}

#[tokio::test]
async fn bot_posts_updates_in_place_threads_the_failure_and_links_it() {
    let standin = Standin::start(TOKEN).await;
    let slack = bot(&standin, "#deploys");
    let started = slack
        .announce_start(&deploy(DeployStatus::InProgress), Some(PAGE))
        .await
        .unwrap()
        .expect("bot mode returns the message");
    assert!(
        started.channel.starts_with('C'),
        "the channel id, not its name"
    );
    let deploy = failed(
        "Deployment/api: container api keeps crashing (CrashLoopBackOff, 5 restarts)",
        vec![
            "pod api-1 container api: CrashLoopBackOff".into(),
            "last log lines:\npanic: config <missing> & no default\nexit 2".into(),
        ],
    );
    let announced = slack
        .announce_outcome(&deploy, Some(PAGE), Some(&started))
        .await
        .unwrap();
    assert!(announced.warnings.is_empty(), "{:?}", announced.warnings);
    let record = announced.record.unwrap();
    assert_eq!(record.channel, started.channel);
    assert_eq!(record.ts.as_deref(), Some(started.ts.as_str()));
    let permalink = record.permalink.unwrap();
    assert!(permalink.ends_with(&format!("/p{}", started.ts.replace('.', ""))));

    let messages = standin.messages();
    assert_eq!(messages.len(), 2, "one message updated in place, one reply");
    let (main, reply) = (&messages[0], &messages[1]);
    assert_eq!(main.edits, 1);
    assert!(main.text.as_deref().unwrap().starts_with("❌ api → prod"));
    assert_eq!(reply.thread_ts.as_deref(), Some(main.ts.as_str()));
    let reply_texts = texts(reply.text.as_deref(), &reply.blocks);
    assert!(
        reply_texts
            .iter()
            .any(|t| displayed(t).contains("```panic: config <missing> & no default\nexit 2```"))
    );
    let requests = standin.requests();
    assert_eq!(
        requests,
        [
            "POST /api/chat.postMessage",
            "POST /api/chat.update",
            "POST /api/chat.postMessage",
            "GET /api/chat.getPermalink",
        ]
    );
}

#[tokio::test]
async fn a_success_in_bot_mode_has_no_thread() {
    let standin = Standin::start(TOKEN).await;
    let slack = bot(&standin, "C0DEPLOYS");
    let announced = slack
        .announce_outcome(&deploy(DeployStatus::Succeeded), None, None)
        .await
        .unwrap();
    assert!(announced.record.unwrap().permalink.is_some());
    assert_eq!(standin.messages().len(), 1);
    assert_eq!(standin.messages()[0].channel, "C0DEPLOYS");
}

#[tokio::test]
async fn a_vanished_deploying_message_is_replaced_by_a_new_one_with_a_warning() {
    let standin = Standin::start(TOKEN).await;
    let slack = bot(&standin, "#deploys");
    let gone = Posted {
        channel: "C00000001".into(),
        ts: "1.000000".into(),
    };
    let announced = slack
        .announce_outcome(&deploy(DeployStatus::Succeeded), None, Some(&gone))
        .await
        .unwrap();
    assert_eq!(
        announced.warnings,
        [SlackError::Api("message_not_found".into())]
    );
    assert!(announced.record.is_some());
    assert_eq!(standin.messages().len(), 1);
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_retry_after_says() {
    let standin = Standin::start(TOKEN).await;
    standin.fail_next(1, Fault::RateLimit(1));
    let slack = bot(&standin, "#deploys");
    let begun = Instant::now();
    let posted = slack
        .post(&message::outcome(&deploy(DeployStatus::Succeeded), None))
        .await
        .unwrap();
    assert!(posted.is_some());
    assert!(
        begun.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(standin.requests().len(), 2);

    standin.fail_next(1, Fault::RateLimit(1));
    let slack = webhook(&standin);
    let message = message::outcome(&deploy(DeployStatus::Succeeded), None);
    assert_eq!(slack.post(&message).await, Ok(None));
    assert_eq!(standin.webhook_posts().len(), 1);
}

#[tokio::test]
async fn server_errors_exhaust_the_retries_and_come_back_as_an_error() {
    let standin = Standin::start(TOKEN).await;
    standin.fail_next(10, Fault::ServerError);
    let message = message::outcome(&deploy(DeployStatus::Succeeded), None);
    let error = webhook(&standin).post(&message).await.unwrap_err();
    assert!(
        matches!(error, SlackError::Http { status: 500, .. }),
        "{error}"
    );
    assert_eq!(standin.requests().len(), FAST.attempts as usize);
    let error = bot(&standin, "#deploys").post(&message).await.unwrap_err();
    assert!(
        matches!(error, SlackError::Http { status: 500, .. }),
        "{error}"
    );
    assert_eq!(standin.requests().len(), 2 * FAST.attempts as usize);
    assert!(standin.messages().is_empty() && standin.webhook_posts().is_empty());
}

#[tokio::test]
async fn refusals_are_final_and_never_show_the_secrets() {
    let standin = Standin::start(TOKEN).await;
    let message = message::outcome(&deploy(DeployStatus::Succeeded), None);
    let wrong = bot_with(&standin, "xoxb-wrong-secret", "#d");
    assert_eq!(
        wrong.post(&message).await,
        Err(SlackError::Api("invalid_auth".into()))
    );
    assert_eq!(
        bot(&standin, "").post(&message).await,
        Err(SlackError::Api("channel_not_found".into()))
    );
    assert_eq!(standin.requests().len(), 2, "not retried");

    // Nothing listens on the webhook's port any more: the error must not quote the URL.
    let url = standin.webhook_url();
    drop(standin);
    let error = client(SlackTarget::Webhook(url.clone()))
        .post(&message)
        .await
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(matches!(error, SlackError::Unreachable(_)), "{text}");
    assert!(
        !text.contains("hook-secret") && !text.contains(TOKEN),
        "{text}"
    );
}

#[tokio::test]
async fn the_standin_rejects_what_slack_rejects() {
    let standin = Standin::start(TOKEN).await;
    let slack = bot(&standin, "#deploys");
    let too_many = Message {
        text: "x".into(),
        blocks: vec![Block::Divider; limits::BLOCKS + 1],
    };
    let long_header = Message {
        text: "x".into(),
        blocks: vec![Block::Header {
            text: Text::PlainText {
                text: "h".repeat(limits::HEADER_TEXT + 1),
                emoji: true,
            },
        }],
    };
    let eleven_fields = Message {
        text: "x".into(),
        blocks: vec![Block::Section {
            text: None,
            fields: vec![Text::Mrkdwn { text: "f".into() }; limits::FIELDS + 1],
        }],
    };
    for message in [too_many, long_header, eleven_fields] {
        assert_eq!(
            slack.post(&message).await,
            Err(SlackError::Api("invalid_blocks".into()))
        );
    }
    let empty = Message {
        text: String::new(),
        blocks: Vec::new(),
    };
    assert_eq!(
        slack.post(&empty).await,
        Err(SlackError::Api("no_text".into()))
    );
    assert!(matches!(
        webhook(&standin).post(&empty).await,
        Err(SlackError::Http { status: 400, .. })
    ));
}

#[tokio::test]
async fn huge_deploys_fit_slacks_limits() {
    let standin = Standin::start(TOKEN).await;
    let details = (0..120)
        .map(|i| format!("event {i}: {}", "<&>".repeat(2000)))
        .chain([format!(
            "last log lines:\n{}",
            "log line & <tag>\n".repeat(5000)
        )])
        .collect();
    let mut deploy = failed(&"reason ".repeat(1000), details);
    deploy.images = (0..500)
        .map(|i| format!("ghcr.io/acme/img-{i}:v1"))
        .collect();
    deploy.app = "a".repeat(300);
    deploy.resources = (0..300)
        .map(|i| ResourceChange {
            diff: None,
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: format!("w{i}"),
            namespace: Some("prod".into()),
            action: ResourceAction::Failed,
            message: Some("x".repeat(5000)),
        })
        .collect();
    let slack = bot(&standin, "#deploys");
    let announced = slack
        .announce_outcome(&deploy, Some(PAGE), None)
        .await
        .unwrap();
    assert!(announced.warnings.is_empty(), "{:?}", announced.warnings);
    assert_eq!(standin.messages().len(), 2);
}

#[tokio::test]
async fn hostile_record_text_round_trips_intact() {
    let standin = Standin::start(TOKEN).await;
    let title = r#"Fix "quoted" <b>bold</b> & <!channel> 'x' &amp; <@U123> > done"#;
    let mut deploy = failed(
        "Deployment/api: <script>alert(\"x\")</script> & more",
        vec!["last log lines:\nerror: a < b && c > d\n<html>".into()],
    );
    deploy.commit.message = format!("{title}\nsecond <line> & more");
    deploy.app = "api <&> \"app\"".into();
    deploy.actor = "<https://evil.example|eve>".into();
    let slack = bot(&standin, "#deploys");
    let started = slack
        .announce_start(&deploy, Some(PAGE))
        .await
        .unwrap()
        .unwrap();
    slack
        .announce_outcome(&deploy, Some(PAGE), Some(&started))
        .await
        .unwrap();
    let messages = standin.messages();
    assert_eq!(messages.len(), 2);
    let all: Vec<String> = messages
        .iter()
        .flat_map(|m| texts(m.text.as_deref(), &m.blocks))
        .collect();
    for text in &all {
        assert!(well_escaped(text), "not escaped for mrkdwn: {text}");
    }
    let shown: Vec<String> = all.iter().map(|t| displayed(t)).collect();
    let shows = |wanted: &str| shown.iter().any(|t| t.contains(wanted));
    assert!(shows(&format!("0123456 {title}")), "{shown:#?}");
    assert!(shows("api <&> \"app\" → prod"));
    assert!(shows("<https://evil.example|eve>"));
    assert!(shows("<script>alert(\"x\")</script> & more"));
    assert!(shows("error: a < b && c > d\n<html>"));
}
