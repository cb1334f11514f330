//! The Slack messages about a deploy, built from its record (pure): the "deploying" message
//! of bot mode, the outcome (success or failure, with the reason and each failed workload's
//! diagnosis), and the thread reply with the failure's details and log lines.
//!
//! Every message has a top-level `text` fallback and Block Kit blocks that respect Slack's
//! limits ([`limits`]): pieces are fitted one by one (record text escaped for mrkdwn, cut with
//! an ellipsis), and each block's constructor fits its text again as the last guard, so no
//! record, however long or hostile, yields a message Slack rejects.

use shiplog_model::{Deploy, DeployId, DeployStatus, ResourceAction};

use super::mrkdwn::{escape, escape_tail_within, escape_within, link, width};

pub use super::blocks::{Block, Message, Text, limits};

/// The budget of a heading line (a workload's name, the first line of a detail), so that
/// what follows it keeps most of its block.
pub(super) const HEADING: usize = 500;

/// The console's page of deploy `id` on the history server at `server`.
pub fn deploy_page_url(server: &str, id: DeployId) -> String {
    format!("{}/deploys/{id}", server.trim_end_matches('/'))
}

/// How an outcome is shown: emoji and verb.
fn status_words(status: DeployStatus) -> (&'static str, &'static str) {
    match status {
        DeployStatus::InProgress => ("🚀", "deploying"),
        DeployStatus::Succeeded => ("✅", "deployed"),
        DeployStatus::Failed => ("❌", "failed"),
        DeployStatus::RolledBack => ("↩️", "failed and was rolled back"),
        DeployStatus::Cancelled => ("⏹️", "cancelled"),
        DeployStatus::Abandoned => ("❔", "was abandoned: no result was reported"),
        DeployStatus::Blocked => ("⛔", "was held: nothing was deployed"),
    }
}

/// `api → prod · v1.4.2 · alice` (raw text).
fn title(deploy: &Deploy) -> String {
    let mut title = format!("{} → {}", deploy.app, deploy.environment);
    if let Some(version) = &deploy.version {
        title.push_str(&format!(" · {version}"));
    }
    format!("{title} · {}", deploy.actor)
}

/// `1h 02m`, `1m 23s`, `45s`.
fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match (seconds / 3600, seconds % 3600 / 60, seconds % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

/// A field: a bold label over its value (built mrkdwn).
pub(super) fn field(label: &str, value: &str) -> String {
    format!("*{label}*\n{value}")
}

/// The value budget of a field labelled `label`.
pub(super) fn field_room(label: &str) -> usize {
    limits::FIELD_TEXT - width(&field(label, ""))
}

/// `link` when it fits in `max`, else the label alone.
fn link_within(url: Option<&str>, label: &str, max: usize) -> String {
    url.map(|url| link(url, label))
        .filter(|l| width(l) <= max)
        .unwrap_or_else(|| escape_within(label, max))
}

pub(super) fn commit_field(commit: &shiplog_model::Commit) -> String {
    let room = field_room("Commit");
    let sha = link_within(commit.url.as_deref(), commit.short_sha(), room);
    let title = commit.title();
    let value = if title.is_empty() {
        sha
    } else {
        let rest = room.saturating_sub(width(&sha) + 1);
        format!("{sha} {}", escape_within(title, rest))
    };
    field("Commit", &value)
}

/// App, environment, version and images, who, commit, duration and links.
fn fact_fields(deploy: &Deploy, deploy_page: Option<&str>) -> Vec<String> {
    let mut fields = vec![field("App", &escape_within(&deploy.app, field_room("App")))];
    let environment = if deploy.environment == deploy.namespace {
        deploy.environment.clone()
    } else {
        format!("{} (namespace {})", deploy.environment, deploy.namespace)
    };
    fields.push(field(
        "Environment",
        &escape_within(&environment, field_room("Environment")),
    ));
    let mut version: Vec<&str> = deploy.version.iter().map(String::as_str).collect();
    version.extend(deploy.images.iter().map(String::as_str));
    if !version.is_empty() {
        let value = escape_within(&version.join("\n"), field_room("Version"));
        fields.push(field("Version", &value));
    }
    fields.push(field("By", &escape_within(&deploy.actor, field_room("By"))));
    if !deploy.commit.sha.is_empty() {
        fields.push(commit_field(&deploy.commit));
    }
    if let Some(duration) = deploy.duration() {
        fields.push(field("Duration", &human_duration(duration.num_seconds())));
    }
    fields.extend(links_field(deploy.run.url.as_deref(), deploy_page));
    fields
}

/// The workflow run and the console's deploy page, those that are known and fit.
pub(super) fn links_field(run_url: Option<&str>, deploy_page: Option<&str>) -> Option<String> {
    let links: Vec<String> = [(run_url, "Workflow run"), (deploy_page, "Deploy page")]
        .into_iter()
        .filter_map(|(url, label)| url.map(|url| link(url, label)))
        .filter(|l| width(l) <= field_room("Links") / 2)
        .collect();
    (!links.is_empty()).then(|| field("Links", &links.join(" · ")))
}

/// Repository, ref, cluster and resource counts, as a context line.
fn context_line(deploy: &Deploy) -> Block {
    let mut elements: Vec<String> = [
        Some(&deploy.repo),
        deploy.git_ref.as_ref(),
        deploy.cluster.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.is_empty())
    .map(|s| escape_within(s, limits::SECTION_TEXT))
    .collect();
    let counts: Vec<String> = deploy
        .resource_counts()
        .into_iter()
        .zip(["created", "configured", "unchanged", "failed"])
        .filter(|(n, _)| *n > 0)
        .map(|(n, word)| format!("{n} {word}"))
        .collect();
    if !counts.is_empty() {
        elements.push(counts.join(", "));
    }
    if elements.is_empty() {
        elements.push(escape(&deploy.namespace));
    }
    Block::context(&elements)
}

/// The blocks after `used` that may still be added, leaving `reserved` for what follows.
fn room_for(used: usize, reserved: usize) -> usize {
    limits::BLOCKS.saturating_sub(used + reserved)
}

/// The "deploying" message of bot mode, updated in place with [`outcome`] at the end.
pub fn deploying(deploy: &Deploy, deploy_page: Option<&str>) -> Message {
    let (emoji, _) = status_words(DeployStatus::InProgress);
    let title = title(deploy);
    Message::new(
        &format!("{emoji} Deploying {}", escape(&title)),
        vec![
            Block::header(&format!("{emoji} Deploying {title}")),
            Block::fields(&fact_fields(deploy, deploy_page)),
            context_line(deploy),
        ],
    )
}

/// The message of a deploy that has ended: the facts, and for a failure the reason and each
/// failed workload's diagnosis.
pub fn outcome(deploy: &Deploy, deploy_page: Option<&str>) -> Message {
    let (emoji, verb) = status_words(deploy.status);
    let title = title(deploy);
    let mut fallback = format!("{emoji} {} {verb}", escape(&title));
    let mut blocks = vec![
        Block::header(&format!("{emoji} {title}")),
        Block::fields(&fact_fields(deploy, deploy_page)),
    ];
    if let Some(hold) = &deploy.lock_override {
        let label = "*⚠️ Deployed despite a hold (override-lock)*\n";
        let hold = escape_within(hold, limits::SECTION_TEXT - width(label));
        blocks.push(Block::section(&format!("{label}{hold}")));
    }
    if let Some(failure) = &deploy.failure {
        let label = match deploy.status {
            DeployStatus::Blocked => "*Why it was held*\n",
            _ => "*Why it failed*\n",
        };
        let reason = escape_within(&failure.reason, limits::SECTION_TEXT - width(label));
        fallback.push_str(&format!(": {reason}"));
        blocks.push(Block::section(&format!("{label}{reason}")));
        let failed: Vec<_> = deploy
            .resources
            .iter()
            .filter(|r| r.action == ResourceAction::Failed)
            // The reason already says what its workload's diagnosis says.
            .filter(|r| r.message.as_deref() != Some(failure.reason.as_str()))
            .collect();
        // Keep one block for the context line and one for "and N more".
        let shown = failed.len().min(room_for(blocks.len(), 2));
        for resource in &failed[..shown] {
            let name = match &resource.namespace {
                Some(ns) => format!("{}/{} in {ns}", resource.kind, resource.name),
                None => format!("{}/{}", resource.kind, resource.name),
            };
            let head = format!("*{}*", escape_within(&name, HEADING));
            let diagnosis = resource.message.as_deref().unwrap_or("failed");
            let body = escape_within(diagnosis, limits::SECTION_TEXT - width(&head) - 1);
            blocks.push(Block::section(&format!("{head}\n{body}")));
        }
        if failed.len() > shown {
            blocks.push(Block::context(&[format!(
                "and {} more failed resources",
                failed.len() - shown
            )]));
        }
    }
    blocks.push(context_line(deploy));
    Message::new(&fallback, blocks)
}

/// [`outcome`] for a webhook, which cannot reply in a thread: the failure's multi-line details
/// (log lines) follow the diagnosis as code blocks, as many as Slack's limits leave room for.
pub fn outcome_with_evidence(deploy: &Deploy, deploy_page: Option<&str>) -> Message {
    let mut message = outcome(deploy, deploy_page);
    let Some(failure) = &deploy.failure else {
        return message;
    };
    let context = message.blocks.pop();
    let room = room_for(message.blocks.len(), 1);
    message.blocks.extend(
        failure
            .details
            .iter()
            .filter(|detail| detail.contains('\n'))
            .take(room)
            .map(|detail| Block::section(&detail_text(detail))),
    );
    message.blocks.extend(context);
    message.within_limits()
}

/// One detail as mrkdwn: a line of text, or a first line over a code block for multi-line
/// details such as log lines (the end kept when it is too long).
fn detail_text(detail: &str) -> String {
    let max = limits::SECTION_TEXT;
    match detail.split_once('\n') {
        None => escape_within(detail, max),
        Some((head, rest)) => {
            let head = escape_within(head, HEADING);
            // A fence inside the logs would end the code block early.
            let rest = rest.replace("```", "`\u{200b}``");
            let room = max - width(&head) - width("\n```\n```");
            format!("{head}\n```{}```", escape_tail_within(&rest, room))
        }
    }
}

/// The thread reply with a failure's details; `None` without a failure, or for a held deploy.
pub fn failure_thread(deploy: &Deploy, deploy_page: Option<&str>) -> Option<Message> {
    let failure = deploy.failure.as_ref()?;
    if deploy.status == DeployStatus::Blocked {
        return None;
    }
    let reason = escape_within(&failure.reason, limits::SECTION_TEXT - 2);
    let mut blocks = vec![Block::section(&format!("*{reason}*"))];
    let shown = failure.details.len().min(room_for(blocks.len(), 1));
    blocks.extend(
        failure.details[..shown]
            .iter()
            .map(|detail| Block::section(&detail_text(detail))),
    );
    let mut tail = Vec::new();
    if failure.details.len() > shown {
        tail.push(format!("{} more details", failure.details.len() - shown));
    }
    if let Some(page) = deploy_page {
        tail.push(link(page, "Deploy page"));
    }
    if !tail.is_empty() {
        blocks.push(Block::context(&tail));
    }
    let fallback = format!(
        "Why {} failed in {}: {reason}",
        escape(&deploy.app),
        escape(&deploy.environment)
    );
    Some(Message::new(&fallback, blocks))
}

#[cfg(test)]
pub(crate) mod tests {
    use chrono::{TimeZone as _, Utc};
    use shiplog_model::{Commit, Failure, ResourceChange, WorkflowRun};

    use super::*;
    use crate::slack::mrkdwn::ELLIPSIS;

    pub(crate) fn sample() -> Deploy {
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
            status: DeployStatus::Succeeded,
            version: Some("v1.4.2".into()),
            images: vec!["ghcr.io/acme/api:v1.4.2".into()],
            workloads: Vec::new(),
            commit: Commit {
                sha: "0123456789abcdef".into(),
                message: "Fix \"quotes\" & <tags>\n\nbody".into(),
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
            finished_at: Some(Utc.with_ymd_and_hms(2026, 1, 1, 12, 1, 23).unwrap()),
            deadline: None,
            resources: Vec::new(),
            failure: None,
            slack: None,
        }
    }

    fn failed(resources: usize, details: Vec<String>) -> Deploy {
        let mut deploy = sample();
        deploy.status = DeployStatus::Failed;
        deploy.failure = Some(Failure {
            reason: "Deployment/api: image cannot be pulled (ImagePullBackOff)".into(),
            details,
        });
        deploy.resources = (0..resources)
            .map(|i| ResourceChange {
                diff: None,
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: format!("api-{i}"),
                namespace: Some("prod".into()),
                action: ResourceAction::Failed,
                message: Some("container api keeps crashing".into()),
            })
            .collect();
        deploy
    }

    /// Every limit of `DESIGN.md`, checked on the JSON Slack would receive.
    pub(crate) fn assert_within_limits(message: &Message) {
        let json = message.to_json();
        let text = json["text"].as_str().unwrap();
        assert!(!text.is_empty() && width(text) <= limits::FALLBACK_TEXT);
        let blocks = json["blocks"].as_array().unwrap();
        assert!(!blocks.is_empty() && blocks.len() <= limits::BLOCKS);
        let len = |t: &serde_json::Value| width(t["text"].as_str().unwrap());
        for block in blocks {
            match block["type"].as_str().unwrap() {
                "header" => {
                    assert_eq!(block["text"]["type"], "plain_text");
                    assert!((1..=limits::HEADER_TEXT).contains(&len(&block["text"])));
                }
                "section" => {
                    let fields = block["fields"].as_array().cloned().unwrap_or_default();
                    assert!(!block["text"].is_null() || !fields.is_empty());
                    if !block["text"].is_null() {
                        assert!((1..=limits::SECTION_TEXT).contains(&len(&block["text"])));
                    }
                    assert!(fields.len() <= limits::FIELDS);
                    for field in &fields {
                        assert!((1..=limits::FIELD_TEXT).contains(&len(field)));
                    }
                }
                "context" => {
                    let elements = block["elements"].as_array().unwrap();
                    assert!((1..=limits::CONTEXT_ELEMENTS).contains(&elements.len()));
                }
                other => panic!("unexpected block {other}"),
            }
        }
    }

    fn all_text(message: &Message) -> String {
        message.to_json().to_string()
    }

    #[test]
    fn a_success_has_every_fact_and_a_fallback() {
        let deploy = sample();
        let message = outcome(&deploy, Some("https://shiplog.acme.dev/deploys/42"));
        assert_within_limits(&message);
        assert_eq!(message.text, "✅ api → prod · v1.4.2 · alice deployed");
        let Block::Section { fields, .. } = &message.blocks[1] else {
            panic!("fields expected")
        };
        let fields: Vec<&str> = fields.iter().map(Text::as_str).collect();
        assert_eq!(fields[0], "*App*\napi");
        assert_eq!(fields[1], "*Environment*\nprod");
        assert_eq!(fields[2], "*Version*\nv1.4.2\nghcr.io/acme/api:v1.4.2");
        assert_eq!(fields[3], "*By*\nalice");
        assert_eq!(
            fields[4],
            "*Commit*\n<https://github.com/acme/shop/commit/0123456789abcdef|0123456> \
             Fix \"quotes\" &amp; &lt;tags&gt;"
        );
        assert_eq!(fields[5], "*Duration*\n1m 23s");
        assert_eq!(
            fields[6],
            "*Links*\n<https://github.com/acme/shop/actions/runs/7|Workflow run> · \
             <https://shiplog.acme.dev/deploys/42|Deploy page>"
        );
        assert!(all_text(&message).contains("refs/heads/main"));
    }

    #[test]
    fn deploying_says_so_and_has_no_duration() {
        let mut deploy = sample();
        deploy.status = DeployStatus::InProgress;
        deploy.finished_at = None;
        let message = deploying(&deploy, None);
        assert_within_limits(&message);
        assert!(message.text.starts_with("🚀 Deploying api → prod"));
        assert!(!all_text(&message).contains("Duration"));
        assert!(!all_text(&message).contains("Deploy page"));
    }

    #[test]
    fn a_failure_has_the_reason_and_each_failed_workload() {
        let message = outcome(&failed(2, Vec::new()), None);
        assert_within_limits(&message);
        assert!(message.text.starts_with("❌ api → prod"));
        assert!(message.text.ends_with("(ImagePullBackOff)"));
        let sections: Vec<String> = message.blocks[2..4]
            .iter()
            .map(|b| serde_json::to_value(b).unwrap()["text"]["text"].to_string())
            .collect();
        assert!(sections[0].contains("Why it failed"));
        assert!(sections[1].contains("Deployment/api-0 in prod"));
        assert!(all_text(&message).contains("2 failed"));
        // A diagnosis that is the reason itself is not repeated.
        let mut deploy = failed(1, Vec::new());
        deploy.resources[0].message = Some(deploy.failure.as_ref().unwrap().reason.clone());
        let message = outcome(&deploy, None);
        assert_within_limits(&message);
        assert_eq!(message.blocks.len(), 4, "header, fields, reason, context");
    }

    #[test]
    fn at_most_fifty_blocks_however_many_workloads_failed() {
        let message = outcome(&failed(200, Vec::new()), None);
        assert_within_limits(&message);
        assert_eq!(message.blocks.len(), limits::BLOCKS);
        assert!(all_text(&message).contains("more failed resources"));
        let details = (0..120).map(|i| format!("event {i}")).collect();
        let thread = failure_thread(&failed(1, details), Some("https://s/deploys/1")).unwrap();
        assert_within_limits(&thread);
        assert_eq!(thread.blocks.len(), limits::BLOCKS);
        assert!(all_text(&thread).contains("more details"));
    }

    #[test]
    fn a_webhook_message_carries_the_logs_and_every_message_stays_within_40000_characters() {
        let log = |n: usize| format!("last log lines:\n{}", "panic: boom\n".repeat(n));
        let details = vec!["pod api-1: CrashLoopBackOff".into(), log(20)];
        let message = outcome_with_evidence(&failed(1, details), None);
        assert_within_limits(&message);
        let text = all_text(&message);
        assert!(text.contains("```panic: boom"), "{text}");
        assert!(
            matches!(message.blocks.last(), Some(Block::Context { .. })),
            "the context line stays last"
        );

        let many = (0..60).map(|_| log(1_000)).collect();
        for message in [
            outcome_with_evidence(&failed(1, many), None),
            failure_thread(&failed(1, (0..60).map(|_| log(1_000)).collect()), None).unwrap(),
        ] {
            assert_within_limits(&message);
            let used: usize =
                width(&message.text) + message.blocks.iter().map(Block::text_width).sum::<usize>();
            assert!(used <= limits::MESSAGE_TEXT, "{used} characters");
        }
    }

    #[test]
    fn the_header_is_cut_at_150_characters() {
        let mut deploy = sample();
        deploy.app = "a".repeat(400);
        let message = outcome(&deploy, None);
        assert_within_limits(&message);
        let Block::Header { text } = &message.blocks[0] else {
            panic!("header expected")
        };
        assert_eq!(width(text.as_str()), limits::HEADER_TEXT);
        assert!(text.as_str().ends_with(ELLIPSIS));
        // Escapes count as sent and are never cut in half.
        deploy.app = "&".repeat(400);
        let header = outcome(&deploy, None).blocks[0].clone();
        let Block::Header { text } = header else {
            panic!()
        };
        assert!(width(text.as_str()) <= limits::HEADER_TEXT);
        assert!(text.as_str().trim_end_matches(ELLIPSIS).ends_with("&amp;"));
    }

    #[test]
    fn long_fields_and_sections_are_cut_with_an_ellipsis() {
        let mut deploy = failed(1, Vec::new());
        deploy.images = (0..500)
            .map(|i| format!("ghcr.io/acme/image-{i}:<tag>"))
            .collect();
        deploy.commit.message = "x".repeat(5000);
        deploy.failure.as_mut().unwrap().reason = "<&>".repeat(3000);
        deploy.resources[0].message = Some("y".repeat(10_000));
        let message = outcome(&deploy, None);
        assert_within_limits(&message);
        let json = all_text(&message);
        assert!(json.contains('…'));
        assert!(!json.contains("&am…") && !json.contains("&l…") && !json.contains("&g…"));
    }

    #[test]
    fn never_more_than_ten_fields_or_context_elements() {
        let many: Vec<String> = (0..30).map(|i| format!("f{i}")).collect();
        let Block::Section { fields, .. } = Block::fields(&many) else {
            panic!()
        };
        assert_eq!(fields.len(), limits::FIELDS);
        let Block::Context { elements } = Block::context(&many) else {
            panic!()
        };
        assert_eq!(elements.len(), limits::CONTEXT_ELEMENTS);
        let long = "z".repeat(5000);
        let Block::Section { fields, .. } = Block::fields(std::slice::from_ref(&long)) else {
            panic!()
        };
        assert_eq!(width(fields[0].as_str()), limits::FIELD_TEXT);
        let Block::Section { text, .. } = Block::section(&long) else {
            panic!()
        };
        assert_eq!(width(text.unwrap().as_str()), limits::SECTION_TEXT);
    }

    #[test]
    fn hostile_record_text_is_escaped_everywhere() {
        let mut deploy = failed(1, vec!["event <!here> & <@U123>".into()]);
        deploy.app = "<!channel> & co".into();
        deploy.actor = "eve <https://evil.example|click>".into();
        deploy.environment = "prod > staging".into();
        deploy.images = vec!["img:<b>&".into()];
        deploy.commit.message = "Fix \"it\" <script>&amp;\nsecond line".into();
        let mut texts = String::new();
        for message in [
            outcome(&deploy, None),
            deploying(&deploy, None),
            failure_thread(&deploy, None).unwrap(),
        ] {
            assert_within_limits(&message);
            texts.push_str(&all_text(&message));
        }
        for raw in [
            "<!channel>",
            "<!here>",
            "<@U123>",
            "<https://evil",
            "<script>",
            "<b>",
        ] {
            assert!(!texts.contains(raw), "{raw} unescaped");
        }
        assert!(texts.contains("&lt;!channel&gt; &amp; co"));
        // Already escaped-looking text stays as typed: `&amp;` is sent as `&amp;amp;`.
        assert!(texts.contains("Fix \\\"it\\\" &lt;script&gt;&amp;amp;"));
        assert!(texts.contains("eve &lt;https://evil.example|click&gt;"));
    }

    #[test]
    fn the_thread_has_details_and_log_lines_in_a_code_block() {
        let logs = (0..500)
            .map(|i| format!("line {i} <ok> ```"))
            .collect::<Vec<_>>()
            .join("\n");
        let deploy = failed(
            1,
            vec![
                "pod api-1 container api: ImagePullBackOff".into(),
                format!("last log lines:\n{logs}"),
            ],
        );
        let thread = failure_thread(&deploy, Some("https://s/deploys/42")).unwrap();
        assert_within_limits(&thread);
        assert!(thread.text.starts_with("Why api failed in prod: "));
        let texts: Vec<String> = thread
            .blocks
            .iter()
            .map(|b| {
                serde_json::to_value(b).unwrap()["text"]["text"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        assert_eq!(texts[1], "pod api-1 container api: ImagePullBackOff");
        let log = &texts[2];
        assert!(log.starts_with("last log lines:\n```…\n"));
        assert!(log.ends_with("line 499 &lt;ok&gt; `\u{200b}`````"));
        assert_eq!(
            log.matches("```").count(),
            2,
            "one code block, fences in logs defused"
        );
        assert!(failure_thread(&sample(), None).is_none());
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(83), "1m 23s");
        assert_eq!(human_duration(3720), "1h 02m");
        assert_eq!(human_duration(-3), "0s");
        assert_eq!(
            deploy_page_url("https://s.dev/", DeployId(9)),
            "https://s.dev/deploys/9"
        );
    }
}
