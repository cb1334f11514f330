//! `shiplog deploy` with Slack flags, against the local Slack stand-in: the terminal face
//! announces a deploy as the Action does, and never shows the webhook URL or the token.

use crate::support::{Deploys as _, FIXTURE, RUNNER, Sim};
use shiplog_testkit::slack::Standin;

const TOKEN: &str = "xoxb-cli-standin-token-77aa";

#[test]
fn a_webhook_hears_once_and_a_bot_message_is_updated_in_place() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let slack = runtime.block_on(Standin::start(TOKEN));
    let sim = Sim::start(&[]);
    let webhook = slack.webhook_url();
    let (code, stdout, stderr) = sim.deploy_with(
        &["--manifests", FIXTURE, "--slack-webhook", &webhook],
        &RUNNER,
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(slack.webhook_posts().len(), 1);
    assert!(!format!("{stdout}{stderr}").contains(&webhook));

    let api = slack.api_url();
    let (code, stdout, stderr) = sim.deploy_with(
        &[
            "--manifests",
            FIXTURE,
            "--slack-token",
            TOKEN,
            "--slack-channel",
            "#deploys",
            "--output",
            "json",
        ],
        &[
            RUNNER.as_slice(),
            &[("SHIPLOG_SLACK_API_URL", api.as_str())],
        ]
        .concat(),
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let messages = slack.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].edits, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["slack"]["ts"], messages[0].ts.as_str(), "{report}");
    assert!(!format!("{stdout}{stderr}").contains(TOKEN));
}
