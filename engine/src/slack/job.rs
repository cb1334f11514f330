//! The alert about a job whose steps failed — what the Action's post step sends, whether or
//! not a deploy ran: the failed steps with links to their logs, who and which commit, within
//! Slack's limits like every message ([`super::message`]).

use super::message::{
    Block, HEADING, Message, commit_field, field, field_room, limits, links_field,
};
use super::mrkdwn::{escape, escape_within, link, width};

/// A step of a job that failed, with the link to its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedStep {
    pub name: String,
    pub log_url: Option<String>,
}

/// A job whose steps failed: what the post step alerts about, whether or not a deploy ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub repo: String,
    pub job: String,
    pub steps: Vec<FailedStep>,
    pub run_url: Option<String>,
    pub actor: String,
    pub commit: shiplog_model::Commit,
    pub git_ref: Option<String>,
    /// The console's page of the deploy this job made, if any.
    pub deploy_page: Option<String>,
}

/// The alert about a failed job: which step failed (linked to its log), who, which commit.
pub fn job_failure(job: &JobFailure) -> Message {
    let first = job.steps.first().map_or("a step", |s| s.name.as_str());
    let headline = format!("❌ {}: job {} failed at step {first}", job.repo, job.job);
    let steps: Vec<String> = job
        .steps
        .iter()
        .map(|step| {
            let name = escape_within(&step.name, HEADING);
            match &step.log_url {
                Some(url) => format!("• {} ({})", name, link(url, "log")),
                None => format!("• {name}"),
            }
        })
        .collect();
    let label = "*Failed steps*\n";
    let steps = fit_lines(&steps, limits::SECTION_TEXT - width(label));
    let mut fields = vec![field("By", &escape_within(&job.actor, field_room("By")))];
    if !job.commit.sha.is_empty() {
        fields.push(commit_field(&job.commit));
    }
    fields.extend(links_field(
        job.run_url.as_deref(),
        job.deploy_page.as_deref(),
    ));
    let context: Vec<String> = [Some(&job.repo), job.git_ref.as_ref()]
        .into_iter()
        .flatten()
        .map(|s| escape_within(s, limits::SECTION_TEXT))
        .collect();
    Message::new(
        &escape(&headline),
        vec![
            Block::header(&headline),
            Block::section(&format!("{label}{steps}")),
            Block::fields(&fields),
            Block::context(&context),
        ],
    )
}

/// As many whole lines as fit in `max`, then how many were left out.
fn fit_lines(lines: &[String], max: usize) -> String {
    let mut text = String::new();
    for (shown, line) in lines.iter().enumerate() {
        let more = format!("\n… and {} more", lines.len() - shown);
        let needed = width(&text) + usize::from(!text.is_empty()) + width(line);
        if needed + width(&more) > max && shown + 1 < lines.len() || needed > max {
            text.push_str(&more);
            break;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slack::message::tests::{assert_within_limits, sample};

    fn job(steps: Vec<FailedStep>) -> JobFailure {
        JobFailure {
            repo: "acme/shop".into(),
            job: "deploy".into(),
            steps,
            run_url: Some("https://github.com/acme/shop/actions/runs/7".into()),
            actor: "alice".into(),
            commit: sample().commit,
            git_ref: Some("refs/heads/main".into()),
            deploy_page: None,
        }
    }

    #[test]
    fn a_job_failure_names_the_step_and_links_its_log() {
        let message = job_failure(&job(vec![FailedStep {
            name: "Run tests".into(),
            log_url: Some("https://github.com/acme/shop/actions/runs/7/job/41#step:3:1".into()),
        }]));
        assert_within_limits(&message);
        assert_eq!(
            message.text,
            "❌ acme/shop: job deploy failed at step Run tests"
        );
        let json = message.to_json().to_string();
        assert!(json.contains("<https://github.com/acme/shop/actions/runs/7/job/41#step:3:1|log>"));
        assert!(json.contains("Workflow run"));
    }

    #[test]
    fn many_hostile_failed_steps_stay_within_limits_and_escaped() {
        let steps = (0..400)
            .map(|n| FailedStep {
                name: format!("Run <script> & \"step\" {n} {}", "x".repeat(200)),
                log_url: Some(format!(
                    "https://github.com/acme/shop/actions/runs/7/job/41#step:{n}:1"
                )),
            })
            .collect();
        let message = job_failure(&job(steps));
        assert_within_limits(&message);
        let json = message.to_json().to_string();
        assert!(!json.contains("<script>"), "markup is escaped");
        assert!(json.contains("more"), "the steps left out are counted");
    }
}
