//! A cluster that tries to act on the runner: a crash-looping pod whose log holds workflow
//! commands in every form the runner honours, escapes and an over-long line. The failure's
//! evidence reaches the step log, the record and Slack as text, and nothing in it becomes a
//! command.

use crate::runner::runner_commands;
use crate::{Sim, World, token_auth};

/// A container log written to act on the runner: every form of workflow command, one
/// `::stop-commands::` of its own, ANSI escapes and a 10,000-character line.
fn hostile_log() -> String {
    [
        "starting api".to_owned(),
        "::add-mask::pwned-mask".to_owned(),
        "::set-output name=status::pwned-output".to_owned(),
        "##[set-output name=status;]pwned-legacy-output".to_owned(),
        "level=info ##[add-mask]pwned-legacy-mask".to_owned(),
        "   ::error file=k8s/app.yaml,line=1::pwned-annotation".to_owned(),
        "::stop-commands::pwned-stop".to_owned(),
        "::warning::pwned-after-own-stop".to_owned(),
        "::pwned-stop::".to_owned(),
        "::notice::pwned-after-resume".to_owned(),
        "\u{1b}[8mpwned-hidden\u{1b}[0m \u{1b}[2J".to_owned(),
        "A".repeat(10_000),
        "panic: missing DATABASE_URL".to_owned(),
    ]
    .join("\n")
}

#[test]
fn a_crash_loop_shows_its_logs_as_evidence_and_nothing_in_them_acts_on_the_runner() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("api.log");
    std::fs::write(&log, hostile_log()).unwrap();
    let sim = Sim::start(&[
        "--image-rule",
        "*:crash=CrashLoopBackOff",
        "--pod-log",
        &format!("*:crash={}", log.display()),
    ]);
    let mut world = World::on(sim, token_auth);
    let main = world.failing_deploy("ghcr.io/acme/api:crash", "3s");

    // The evidence is there: the reason, how the container ended, the current and the
    // previous instance's log, as text.
    let commands = runner_commands(&main.stdout);
    let error = commands.iter().find(|c| c.name == "error").unwrap();
    assert!(error.data.contains("CrashLoopBackOff"), "{error:?}");
    for evidence in [
        "last ended: exit code 1 (Error)",
        "last log lines before the last restart:",
        "panic: missing DATABASE_URL",
        "pwned-annotation",
    ] {
        assert!(
            main.stdout.contains(evidence),
            "{evidence:?} in {}",
            main.stdout
        );
    }

    // Nothing from the log became a command: masks are the secrets', outputs the Action's,
    // annotations its own; no escape reached the terminal; the long line was cut.
    let from_the_log: Vec<_> = commands
        .iter()
        .filter(|c| format!("{}{}", c.properties, c.data).contains("pwned"))
        .collect();
    assert!(from_the_log.is_empty(), "{from_the_log:#?}");
    assert_eq!(main.outputs["status"], "failed");
    assert!(!main.stdout.contains('\u{1b}'), "an escape reached the log");
    assert!(main.stdout.contains("␛[8mpwned-hidden"));
    assert!(!main.stdout.contains(&"A".repeat(4_097)));
    assert!(main.stdout.contains("more bytes)"));

    // The record carries the evidence and is finished; Slack's thread reply stays within
    // Slack's limits (the stand-in refuses anything beyond them).
    let record = world.deploy_record(&main.outputs["deploy-id"]);
    assert_eq!(record["status"], "failed");
    let details = record["failure"]["details"].to_string();
    assert!(details.contains("missing DATABASE_URL"), "{details}");
    let messages = world.slack.messages();
    let parent = messages.iter().find(|m| m.thread_ts.is_none()).unwrap();
    let reply = messages
        .iter()
        .find(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()))
        .expect("the details in a thread reply");
    let reply = serde_json::to_string(&reply.blocks).unwrap();
    assert!(reply.contains("missing DATABASE_URL"), "{reply}");
}
