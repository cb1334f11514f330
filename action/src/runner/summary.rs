//! The job summary of a deploy (`$GITHUB_STEP_SUMMARY`): a heading with the verdict, the
//! facts, a table of every resource and what happened to it, each change's diff (folded), why
//! it failed, and links to the deploy's record and the run.
//!
//! GitHub takes at most 1 MiB of summary per step; [`render`] stays under [`MAX_BYTES`] by
//! bounding every field and ending the table with an "… and N more" row when the resources do
//! not fit. All record text goes through [`markdown`](super::markdown), so it shows as written.

use std::time::Duration;

use shiplog_model::{DeployStatus, Failure, ResourceAction, ResourceChange};

use super::markdown::{clip, code_block, code_block_as, inline, link};

/// The most a summary may take, in bytes (GitHub's limit is 1 MiB).
pub const MAX_BYTES: usize = 1_000_000;
/// Characters kept of a name, namespace, image or reason.
const FIELD_CHARS: usize = 300;
/// Characters kept of a failure's reason.
const REASON_CHARS: usize = 2_000;
/// Characters kept of one line of a failure's details.
const DETAIL_CHARS: usize = 2_000;
/// Bytes of failure details shown.
const DETAILS_BYTES: usize = 100_000;
/// Images or created namespaces named.
const LIST_ITEMS: usize = 20;
/// Longer URLs are left out rather than cut.
const URL_BYTES: usize = 2_048;
/// Room kept for the table's "… and N more" row.
const MORE_ROW_BYTES: usize = 64;
/// Bytes of object diffs shown; the rest are counted and left to the deploy record.
const DIFFS_BYTES: usize = 400_000;

/// What the summary tells.
#[derive(Debug, Clone)]
pub struct SummaryFacts<'a> {
    pub app: &'a str,
    pub environment: Option<&'a str>,
    pub namespace: &'a str,
    pub status: DeployStatus,
    /// Validated against the cluster without changing it.
    pub dry_run: bool,
    pub resources: &'a [ResourceChange],
    pub failure: Option<&'a Failure>,
    pub images: &'a [String],
    /// The deploy's page in the shiplog console.
    pub deploy_url: Option<&'a str>,
    pub run_url: Option<&'a str>,
    pub duration: Option<Duration>,
    pub namespaces_created: &'a [String],
    /// The lock or freeze the deploy went ahead despite (`override-lock`).
    pub lock_override: Option<&'a str>,
}

/// The summary's Markdown, under [`MAX_BYTES`].
pub fn render(facts: &SummaryFacts<'_>) -> String {
    let mut head = heading(facts);
    head.push_str(&facts_lines(facts));
    let tail = format!(
        "{}{}{}",
        diffs_section(facts),
        facts.failure.map(failure_section).unwrap_or_default(),
        links(facts)
    );
    let budget = MAX_BYTES.saturating_sub(head.len() + tail.len() + MORE_ROW_BYTES);
    format!("{head}{}{tail}", table(facts, budget))
}

fn verdict(status: DeployStatus, dry_run: bool) -> &'static str {
    match (status, dry_run) {
        (DeployStatus::Succeeded, false) => "✅ deployed",
        (DeployStatus::Succeeded, true) => "🧪 dry run passed",
        (DeployStatus::Failed, false) => "❌ failed",
        (DeployStatus::Failed, true) => "❌ dry run failed",
        (DeployStatus::RolledBack, _) => "↩️ failed and rolled back",
        (DeployStatus::Cancelled, _) => "⏹️ cancelled",
        (DeployStatus::InProgress, _) => "⏳ in progress",
        (DeployStatus::Abandoned, _) => "❔ abandoned: no result was reported",
        (DeployStatus::Blocked, _) => "⛔ held: nothing was deployed",
    }
}

/// `## ✅ deployed: api → production`.
fn heading(facts: &SummaryFacts<'_>) -> String {
    let target = facts.environment.unwrap_or(facts.namespace);
    format!(
        "## {}: {} → {}\n\n",
        verdict(facts.status, facts.dry_run),
        inline(&clip(facts.app, FIELD_CHARS)),
        inline(&clip(target, FIELD_CHARS))
    )
}

/// A duration as people read it: `350ms`, `45s`, `1m 23s`, `1h 2m`.
pub fn human_duration(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        return format!("{}ms", duration.as_millis());
    }
    let seconds = duration.as_secs();
    let parts = [
        (seconds / 3600, "h"),
        (seconds / 60 % 60, "m"),
        (seconds % 60, "s"),
    ];
    let shown: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect();
    shown.join(" ")
}

fn action_word(action: ResourceAction, dry_run: bool) -> &'static str {
    match (action, dry_run) {
        (ResourceAction::Created, false) => "created",
        (ResourceAction::Created, true) => "would be created",
        (ResourceAction::Configured, false) => "configured",
        (ResourceAction::Configured, true) => "would be configured",
        (ResourceAction::Unchanged, _) => "unchanged",
        (ResourceAction::Failed, _) => "failed",
    }
}

/// `12 (2 created, 10 unchanged)`.
fn resource_counts(facts: &SummaryFacts<'_>) -> String {
    let actions = [
        ResourceAction::Created,
        ResourceAction::Configured,
        ResourceAction::Unchanged,
        ResourceAction::Failed,
    ];
    let counts: Vec<String> = actions
        .into_iter()
        .filter_map(|action| {
            let n = facts
                .resources
                .iter()
                .filter(|r| r.action == action)
                .count();
            (n > 0).then(|| format!("{n} {}", action_word(action, facts.dry_run)))
        })
        .collect();
    format!("{} ({})", facts.resources.len(), counts.join(", "))
}

/// `a, b, … and 3 more`, each item escaped.
fn named_list(items: &[String]) -> String {
    let mut named: Vec<String> = items
        .iter()
        .take(LIST_ITEMS)
        .map(|item| inline(&clip(item, FIELD_CHARS)))
        .collect();
    if items.len() > LIST_ITEMS {
        named.push(format!("… and {} more", items.len() - LIST_ITEMS));
    }
    named.join(", ")
}

/// The facts, one paragraph each.
fn facts_lines(facts: &SummaryFacts<'_>) -> String {
    let mut first = vec![format!(
        "**Namespace:** {}",
        inline(&clip(facts.namespace, FIELD_CHARS))
    )];
    if !facts.resources.is_empty() {
        first.push(format!("**Resources:** {}", resource_counts(facts)));
    }
    if let Some(duration) = facts.duration {
        first.push(format!("**Duration:** {}", human_duration(duration)));
    }
    let mut out = format!("{}\n\n", first.join(" · "));
    if let Some(hold) = facts.lock_override {
        out.push_str(&format!(
            "**⚠️ Deployed despite:** {} (override-lock)\n\n",
            inline(&clip(hold, FIELD_CHARS))
        ));
    }
    for (label, items) in [
        ("Images", facts.images),
        ("Namespaces created", facts.namespaces_created),
    ] {
        if !items.is_empty() {
            out.push_str(&format!("**{label}:** {}\n\n", named_list(items)));
        }
    }
    out
}

fn row(resource: &ResourceChange, dry_run: bool) -> String {
    let name = format!("{}/{}", resource.kind, resource.name);
    let namespace = resource.namespace.as_deref().unwrap_or("—");
    let mut change = action_word(resource.action, dry_run).to_owned();
    if let Some(message) = &resource.message {
        change = format!("{change}: {message}");
    }
    let cell = |text: &str| inline(&clip(text, FIELD_CHARS));
    format!(
        "| {} | {} | {} |\n",
        cell(&name),
        cell(namespace),
        cell(&change)
    )
}

/// The resources table, within `budget` bytes (and the room kept for its last row).
fn table(facts: &SummaryFacts<'_>, budget: usize) -> String {
    if facts.resources.is_empty() {
        return "No resources were applied.\n\n".to_owned();
    }
    let mut out = String::from("| Resource | Namespace | Change |\n| --- | --- | --- |\n");
    for (shown, resource) in facts.resources.iter().enumerate() {
        let row = row(resource, facts.dry_run);
        if out.len() + row.len() > budget {
            let more = facts.resources.len() - shown;
            out.push_str(&format!("| … and {more} more | | |\n"));
            break;
        }
        out.push_str(&row);
    }
    out.push('\n');
    out
}

/// Each object's diff, folded, within [`DIFFS_BYTES`]; the objects left out are counted.
fn diffs_section(facts: &SummaryFacts<'_>) -> String {
    let changed: Vec<&ResourceChange> = facts
        .resources
        .iter()
        .filter(|r| r.diff.is_some())
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    let title = if facts.dry_run {
        "What would change"
    } else {
        "What changed"
    };
    let mut out = format!("### {title}\n\n");
    for (shown, resource) in changed.iter().enumerate() {
        let name = format!("{}/{}", resource.kind, resource.name);
        let block = format!(
            "<details><summary>{} {}</summary>\n\n{}\n</details>\n\n",
            inline(&clip(&name, FIELD_CHARS)),
            action_word(resource.action, facts.dry_run),
            code_block_as("diff", resource.diff.as_deref().unwrap_or_default())
        );
        if out.len() + block.len() > DIFFS_BYTES {
            let left = changed.len() - shown;
            out.push_str(&format!(
                "… and {left} more changed objects: their diffs are in the deploy record.\n\n"
            ));
            break;
        }
        out.push_str(&block);
    }
    out
}

/// The reason, and the details verbatim in a folded code block.
fn failure_section(failure: &Failure) -> String {
    let mut out = format!(
        "### Why it failed\n\n{}\n\n",
        inline(&clip(&failure.reason, REASON_CHARS))
    );
    if failure.details.is_empty() {
        return out;
    }
    let mut text = String::new();
    let mut shown = 0;
    for detail in &failure.details {
        let line = clip(detail, DETAIL_CHARS);
        if text.len() + line.len() + 1 > DETAILS_BYTES {
            break;
        }
        text.push_str(&line);
        text.push('\n');
        shown += 1;
    }
    out.push_str("<details><summary>Details</summary>\n\n");
    out.push_str(&code_block(text.trim_end_matches('\n')));
    let hidden = failure.details.len() - shown;
    if hidden > 0 {
        out.push_str(&format!("\n… and {hidden} more lines\n"));
    }
    out.push_str("\n</details>\n\n");
    out
}

/// Links to the deploy's record and the run.
fn links(facts: &SummaryFacts<'_>) -> String {
    let links: Vec<String> = [
        ("Deploy record", facts.deploy_url),
        ("Workflow run", facts.run_url),
    ]
    .into_iter()
    .filter_map(|(label, url)| Some((label, url.filter(|u| u.len() <= URL_BYTES)?)))
    .map(|(label, url)| link(label, url))
    .collect();
    if links.is_empty() {
        String::new()
    } else {
        format!("{}\n", links.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: &str, name: &str, action: ResourceAction) -> ResourceChange {
        ResourceChange {
            diff: None,
            api_version: "v1".into(),
            kind: kind.into(),
            name: name.into(),
            namespace: Some("prod".into()),
            action,
            message: None,
        }
    }

    fn facts<'a>(status: DeployStatus, resources: &'a [ResourceChange]) -> SummaryFacts<'a> {
        SummaryFacts {
            app: "api",
            environment: Some("production"),
            namespace: "prod",
            status,
            dry_run: false,
            resources,
            failure: None,
            images: &[],
            deploy_url: None,
            run_url: None,
            duration: None,
            namespaces_created: &[],
            lock_override: None,
        }
    }

    #[test]
    fn a_success_has_the_verdict_facts_table_and_links() {
        let resources = [
            change("ConfigMap", "cfg", ResourceAction::Unchanged),
            change("Deployment", "api", ResourceAction::Configured),
        ];
        let images = ["ghcr.io/acme/api:v1.4.2".to_owned()];
        let created = ["prod".to_owned()];
        let summary = render(&SummaryFacts {
            images: &images,
            namespaces_created: &created,
            duration: Some(Duration::from_secs(83)),
            deploy_url: Some("https://shiplog.example/deploys/42"),
            run_url: Some("https://github.com/acme/shop/actions/runs/7"),
            ..facts(DeployStatus::Succeeded, &resources)
        });
        assert_eq!(
            summary,
            "## ✅ deployed: api → production\n\n\
             **Namespace:** prod · **Resources:** 2 (1 configured, 1 unchanged) · **Duration:** 1m 23s\n\n\
             **Images:** ghcr.io/acme/api:v1.4.2\n\n\
             **Namespaces created:** prod\n\n\
             | Resource | Namespace | Change |\n\
             | --- | --- | --- |\n\
             | ConfigMap/cfg | prod | unchanged |\n\
             | Deployment/api | prod | configured |\n\n\
             [Deploy record](https://shiplog.example/deploys/42) · \
             [Workflow run](https://github.com/acme/shop/actions/runs/7)\n"
        );
    }

    #[test]
    fn verdicts_and_dry_run_wording() {
        let resources = [change("Service", "api", ResourceAction::Created)];
        let dry = render(&SummaryFacts {
            dry_run: true,
            ..facts(DeployStatus::Succeeded, &resources)
        });
        assert!(dry.starts_with("## 🧪 dry run passed: api → production\n"));
        assert!(dry.contains("| Service/api | prod | would be created |"));
        let rolled_back = render(&SummaryFacts {
            environment: None,
            ..facts(DeployStatus::RolledBack, &[])
        });
        assert!(rolled_back.starts_with("## ↩️ failed and rolled back: api → prod\n"));
        assert!(rolled_back.contains("No resources were applied."));
    }

    #[test]
    fn a_failure_shows_the_reason_and_folded_details() {
        let mut failed = change("Deployment", "api", ResourceAction::Failed);
        failed.message = Some("ImagePullBackOff".into());
        let failure = Failure {
            reason: "api: image ghcr.io/acme/api:v2 cannot be pulled (ImagePullBackOff)".into(),
            details: vec!["pod api-1: Back-off pulling image".into(), "```".into()],
        };
        let resources = [failed];
        let summary = render(&SummaryFacts {
            failure: Some(&failure),
            ..facts(DeployStatus::Failed, &resources)
        });
        assert!(summary.contains("| Deployment/api | prod | failed: ImagePullBackOff |"));
        assert!(summary.contains(
            "### Why it failed\n\napi: image ghcr.io/acme/api:v2 cannot be pulled (ImagePullBackOff)\n\n\
             <details><summary>Details</summary>\n\n\
             ````text\npod api-1: Back-off pulling image\n```\n````\n\n</details>\n"
        ));
    }

    #[test]
    fn hostile_record_text_stays_inside_its_cell() {
        let mut hostile = change("Deployment", "x|y", ResourceAction::Failed);
        hostile.message = Some("<img src=x onerror=alert(1)>\n| injected | row |".into());
        let resources = [hostile];
        let summary = render(&SummaryFacts {
            app: "<b>app</b>",
            ..facts(DeployStatus::Failed, &resources)
        });
        let row = summary
            .lines()
            .find(|l| l.starts_with("| Deployment"))
            .unwrap();
        assert_eq!(
            row,
            r"| Deployment/x\|y | prod | failed: &lt;img src=x onerror=alert(1)&gt;<br>\| injected \| row \| |"
        );
        assert!(summary.starts_with("## ❌ failed: &lt;b&gt;app&lt;/b&gt; → production"));
        assert!(!summary.contains("<img") && !summary.contains("<b>"));
    }

    #[test]
    fn huge_deploys_stay_under_the_limit_with_a_count_of_the_rest() {
        let name = "n".repeat(250);
        let resources: Vec<ResourceChange> = (0..20_000)
            .map(|i| {
                let mut r = change("ConfigMap", &format!("{name}-{i}"), ResourceAction::Failed);
                r.message = Some("&".repeat(400));
                r
            })
            .collect();
        let failure = Failure {
            reason: "|".repeat(10_000),
            details: vec!["x".repeat(5_000); 10_000],
        };
        let images = vec!["<".repeat(1_000); 100];
        let summary = render(&SummaryFacts {
            failure: Some(&failure),
            images: &images,
            namespaces_created: &images,
            ..facts(DeployStatus::Failed, &resources)
        });
        assert!(summary.len() < MAX_BYTES, "{} bytes", summary.len());
        let more = summary
            .lines()
            .find(|l| l.starts_with("| … and "))
            .expect("a row counts what was left out");
        let rows = summary
            .lines()
            .filter(|l| l.starts_with("| ConfigMap/"))
            .count();
        assert_eq!(more, format!("| … and {} more | | |", 20_000 - rows));
        assert!(rows > 100, "{rows} rows shown");
        assert!(summary.contains("… and 80 more"), "the image list is cut");
        assert!(summary.contains("more lines\n"), "the details are cut");
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_duration(Duration::from_millis(350)), "350ms");
        assert_eq!(human_duration(Duration::from_secs(45)), "45s");
        assert_eq!(human_duration(Duration::from_secs(3720)), "1h 2m");
    }
}
