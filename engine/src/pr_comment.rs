//! The plan as one comment on the pull request, updated in place on every push: found again by
//! a hidden marker per environment, and fitted to GitHub's limit of [`MAX_COMMENT_CHARS`]
//! characters by construction — a plan too long for a comment is cut between blocks (never
//! inside a code block) and says so, with a link to the job summary that holds it whole.
//! Needs a token with `pull-requests: write`.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::github::{GithubError, MAX_PAGES, PER_PAGE, owner_and_name};
use crate::host::Host;
use crate::kube::client::{Kube, Landed, Sent};
use crate::kube::request::Request;

/// GitHub's limit for a comment's body, in characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;

/// The number of the pull request an event payload (`GITHUB_EVENT_PATH`) is about.
pub fn pull_request_number(event: &Value) -> Option<u64> {
    event["pull_request"]["number"].as_u64()
}

/// The hidden line that finds this environment's plan comment again: the environment's name
/// with anything but letters, digits, `.`, `_` and `/` replaced, so it cannot end the comment.
pub fn marker(environment: &str) -> String {
    let name: String = environment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/') {
                c
            } else {
                '_'
            }
        })
        .take(200)
        .collect();
    format!("<!-- shiplog plan: {name} -->")
}

/// The comment: the marker, then `plan` (Markdown), cut to fit when it must, ending with a
/// note that links to `summary_url`.
pub fn body(marker: &str, plan: &str, summary_url: &str) -> String {
    let whole = format!("{marker}\n{plan}");
    if whole.chars().count() <= MAX_COMMENT_CHARS {
        return whole;
    }
    let note = format!(
        "\n\n**The plan is cut here**: it is longer than a comment may be. The whole plan is in \
         the [job summary]({summary_url}).\n"
    );
    let room = MAX_COMMENT_CHARS.saturating_sub(note.chars().count());
    let kept = prefix_outside_code(&whole, room);
    format!("{kept}{note}")
}

/// The longest prefix of `text` of at most `max` characters that ends with a whole line
/// outside any fenced code block.
fn prefix_outside_code(text: &str, max: usize) -> &str {
    let mut open: Option<usize> = None;
    let (mut last, mut at, mut count) = (0, 0, 0);
    for line in text.split_inclusive('\n') {
        count += line.chars().count();
        if count > max {
            break;
        }
        at += line.len();
        let ticks = line.chars().take_while(|c| *c == '`').count();
        open = match open {
            None if ticks >= 3 => Some(ticks),
            Some(n) if ticks >= n && line.trim_end().chars().all(|c| c == '`') => None,
            other => other,
        };
        if open.is_none() {
            last = at;
        }
    }
    &text[..last]
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
}

/// What [`upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
}

/// Updates the comment on pull request `number` of `repo` (`owner/name`) that carries
/// `marker`, or creates it: one comment per environment, whatever the number of pushes.
/// Reads at most [`MAX_PAGES`] pages of comments. A creation that fails after GitHub may have
/// stored the comment (a 502, a dropped connection) is looked for by its marker rather than
/// repeated ([`Kube::send_once`]), and a comment found so is given this plan.
pub async fn upsert<H: Host>(
    api: &Kube<H>,
    repo: &str,
    number: u64,
    marker: &str,
    body: &str,
) -> Result<Upserted, GithubError> {
    let (owner, name) = owner_and_name(repo)?;
    let issue = format!("/repos/{owner}/{name}/issues");
    let content = json!({ "body": body });
    let (id, upserted) = match find_marked(api, &issue, number, marker).await? {
        Some(id) => (id, Upserted::Updated),
        None => {
            let create = Request::post_json(format!("{issue}/{number}/comments"), &content);
            let landed = async || match find_marked(api, &issue, number, marker).await {
                Ok(Some(id)) => Landed::Found(id),
                Ok(None) => Landed::Absent,
                Err(_) => Landed::Unknown,
            };
            match api.send_once(&create, landed).await? {
                Sent::Answered(_) => return Ok(Upserted::Created),
                // Ours, or another job's made meanwhile for the same environment: this plan is
                // newer.
                Sent::Landed(id) => (id, Upserted::Created),
            }
        }
    };
    let path = format!("{issue}/comments/{id}");
    api.send(&Request::patch_json(path, &content)).await?;
    Ok(upserted)
}

/// The id of the comment on pull request `number` (of the repository whose issues are at
/// `issue`) that carries `marker`, among the first [`MAX_PAGES`] pages.
async fn find_marked<H: Host>(
    api: &Kube<H>,
    issue: &str,
    number: u64,
    marker: &str,
) -> Result<Option<u64>, GithubError> {
    for page in 1..=MAX_PAGES {
        let answer = api
            .send(&Request::get(format!(
                "{issue}/{number}/comments?per_page={PER_PAGE}&page={page}"
            )))
            .await?;
        let comments: Vec<Comment> = serde_json::from_slice(&answer.body)
            .map_err(|e| GithubError::InvalidAnswer(e.to_string()))?;
        if let Some(found) = comments
            .iter()
            .find(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
        {
            return Ok(Some(found.id));
        }
        if comments.len() < PER_PAGE {
            break;
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_cannot_end_the_comment() {
        assert_eq!(marker("prod"), "<!-- shiplog plan: prod -->");
        assert_eq!(marker("a --> b"), "<!-- shiplog plan: a_____b -->");
    }

    #[test]
    fn a_long_plan_is_cut_between_code_blocks_and_links_to_the_summary() {
        let block = format!(
            "<details><summary>Deployment/api</summary>\n\n```diff\n{}```\n</details>\n\n",
            "+ line\n".repeat(500)
        );
        let plan = format!("## 🧪 plan\n\n{}", block.repeat(40));
        let text = body(
            &marker("prod"),
            &plan,
            "https://github.com/acme/shop/actions/runs/7",
        );
        assert!(
            text.chars().count() <= MAX_COMMENT_CHARS,
            "{}",
            text.chars().count()
        );
        assert!(text.starts_with("<!-- shiplog plan: prod -->\n## 🧪 plan"));
        assert!(text.ends_with("[job summary](https://github.com/acme/shop/actions/runs/7).\n"));
        let kept = text.split("\n\n**The plan is cut here**").next().unwrap();
        assert_eq!(
            kept.matches("```").count() % 2,
            0,
            "no code block is left open"
        );
        assert!(
            kept.len() > 60_000,
            "the comment is used, not wasted: {}",
            kept.len()
        );
        let short = body(&marker("prod"), "## plan\n", "https://x");
        assert_eq!(short, "<!-- shiplog plan: prod -->\n## plan\n");
    }

    #[test]
    fn a_comment_answered_502_after_github_stored_it_is_not_posted_again() {
        use crate::kube::client::tests::{Scripted, answer};
        let host = Scripted::default();
        // Found after the 502: ours, or another job's for the same environment (an older plan).
        let marked = json!([{"id": 9, "body": format!("{}\nolder plan", marker("prod"))}]);
        host.answers.borrow_mut().extend([
            answer(200, "[]"),
            answer(502, "Bad Gateway"),
            answer(200, &marked.to_string()),
            answer(200, "{}"),
        ]);
        let api = Kube::new(host, crate::github::BACKOFF);
        let upserted = futures_util::FutureExt::now_or_never(upsert(
            &api,
            "acme/shop",
            4,
            &marker("prod"),
            "plan",
        ))
        .expect("scripted futures never wait");
        assert_eq!(upserted, Ok(Upserted::Created));
        let sent = api.host().sent.borrow();
        assert_eq!(
            sent.iter().filter(|s| s.starts_with("POST")).count(),
            1,
            "{sent:?}"
        );
        assert_eq!(
            sent.last().map(String::as_str),
            Some("PATCH /repos/acme/shop/issues/comments/9"),
            "this plan is written into the comment found"
        );
    }
}
