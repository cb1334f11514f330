//! Where a deploy comes from, when `shiplog` runs outside GitHub Actions: a laptop or another
//! CI has no `GITHUB_REPOSITORY`, `GITHUB_SHA` or `GITHUB_ACTOR`, so the facts come from the
//! git checkout the command runs in — the `origin` remote's `owner/name` (and its host, for
//! the commit's link), `HEAD`, and the git user (else `$USER`). `--repo`, `--commit` and
//! `--actor` override each; inside Actions the runner's variables win over git.
//!
//! The deploy engine reads these facts as the `GITHUB_*` variables ([`Provenance::var`]), so a
//! deploy from a laptop is recorded, annotated and announced as one from a workflow is. Each
//! invocation is its own record (a random run id, as every deploy outside a workflow run).

use std::process::Command;

/// The facts, each from a flag, the runner's environment or git, in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `owner/name`.
    pub repo: Option<String>,
    pub commit: Option<String>,
    pub actor: Option<String>,
    /// The forge's base URL (`https://github.com`), for the commit's link.
    pub server: Option<String>,
}

/// What the user said on the command line.
#[derive(Debug, Clone, Default)]
pub struct Given {
    pub repo: Option<String>,
    pub commit: Option<String>,
    pub actor: Option<String>,
}

/// The forge's base URL and `owner/name` of a git remote URL: `git@github.com:acme/shop.git`,
/// `https://github.com/acme/shop(.git)`, `ssh://git@host:22/acme/shop.git`.
pub fn parse_remote(url: &str) -> Option<(String, String)> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let (host, path) = if let Some((_, rest)) = url.split_once("://") {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/')?;
        (host.split(':').next()?, path)
    } else {
        // scp-like: [user@]host:owner/name
        let (authority, path) = url.split_once(':')?;
        (
            authority.rsplit_once('@').map_or(authority, |(_, h)| h),
            path,
        )
    };
    let mut parts = path.rsplitn(3, '/');
    let (name, owner) = (parts.next()?, parts.next()?);
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    (valid(host) && valid(owner) && valid(name))
        .then(|| (format!("https://{host}"), format!("{owner}/{name}")))
}

/// `git ARGS` in the current directory: its trimmed output, when it succeeds with some.
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (output.status.success() && !text.is_empty()).then(|| text.to_owned())
}

impl Provenance {
    /// The facts from `given`, else `env` (the runner's variables), else `git`.
    pub fn gather(
        given: &Given,
        env: impl Fn(&str) -> Option<String>,
        git: impl Fn(&[&str]) -> Option<String>,
    ) -> Provenance {
        // Asked of git only when neither a flag nor the runner says.
        let remote = std::cell::OnceCell::new();
        let remote = || {
            remote.get_or_init(|| {
                git(&["remote", "get-url", "origin"]).and_then(|url| parse_remote(&url))
            })
        };
        let in_actions = env("GITHUB_REPOSITORY").is_some();
        Provenance {
            repo: given
                .repo
                .clone()
                .or_else(|| env("GITHUB_REPOSITORY"))
                .or_else(|| remote().as_ref().map(|(_, repo)| repo.clone())),
            commit: given
                .commit
                .clone()
                .or_else(|| env("GITHUB_SHA"))
                .or_else(|| git(&["rev-parse", "HEAD"])),
            actor: given
                .actor
                .clone()
                .or_else(|| env("GITHUB_ACTOR"))
                .or_else(|| git(&["config", "user.name"]))
                .or_else(|| env("USER")),
            server: env("GITHUB_SERVER_URL").or_else(|| {
                (!in_actions)
                    .then(|| remote().as_ref().map(|(server, _)| server.clone()))
                    .flatten()
            }),
        }
    }

    /// From the command's flags, the process environment and the git checkout of the current
    /// directory.
    pub fn of_this_process(given: &Given) -> Provenance {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Provenance::gather(given, env, git)
    }

    /// The fact the engine reads as the runner's variable `name`, if this is one of them.
    pub fn var(&self, name: &str) -> Option<String> {
        match name {
            "GITHUB_REPOSITORY" => self.repo.clone(),
            "GITHUB_SHA" => self.commit.clone(),
            "GITHUB_ACTOR" => self.actor.clone(),
            "GITHUB_SERVER_URL" => self.server.clone(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes_name_their_forge_and_repository() {
        let github = Some(("https://github.com".into(), "acme/shop".into()));
        assert_eq!(parse_remote("git@github.com:acme/shop.git"), github);
        assert_eq!(parse_remote("https://github.com/acme/shop"), github);
        assert_eq!(
            parse_remote("https://token@github.com/acme/shop.git/"),
            github
        );
        assert_eq!(
            parse_remote("ssh://git@gitlab.example.com:2222/platform/acme/shop.git"),
            Some(("https://gitlab.example.com".into(), "acme/shop".into()))
        );
        assert_eq!(parse_remote("/srv/git/shop.git"), None);
        assert_eq!(parse_remote("git@github.com:shop"), None);
        assert_eq!(parse_remote("https://github.com/acme/sh op"), None);
    }

    #[test]
    fn flags_win_over_the_runner_which_wins_over_git() {
        let git = |args: &[&str]| match args {
            ["remote", "get-url", "origin"] => Some("git@github.com:acme/shop.git".to_owned()),
            ["rev-parse", "HEAD"] => Some("a".repeat(40)),
            ["config", "user.name"] => Some("Jane Doe".to_owned()),
            _ => None,
        };
        let nothing = |_: &str| None;
        let laptop = Provenance::gather(&Given::default(), nothing, git);
        assert_eq!(laptop.repo.as_deref(), Some("acme/shop"));
        assert_eq!(laptop.commit, Some("a".repeat(40)));
        assert_eq!(laptop.actor.as_deref(), Some("Jane Doe"));
        assert_eq!(
            laptop.var("GITHUB_SERVER_URL").as_deref(),
            Some("https://github.com")
        );

        let runner = |name: &str| match name {
            "GITHUB_REPOSITORY" => Some("acme/api".to_owned()),
            "GITHUB_ACTOR" => Some("octocat".to_owned()),
            _ => None,
        };
        let given = Given {
            commit: Some("b".repeat(40)),
            ..Given::default()
        };
        let asked = std::cell::RefCell::new(Vec::new());
        let counting_git = |args: &[&str]| {
            asked.borrow_mut().push(args.join(" "));
            git(args)
        };
        let mixed = Provenance::gather(&given, runner, counting_git);
        assert!(
            !asked.borrow().iter().any(|a| a.starts_with("remote")),
            "the runner named the repository: {:?}",
            asked.borrow()
        );
        assert_eq!(mixed.repo.as_deref(), Some("acme/api"));
        assert_eq!(mixed.commit, Some("b".repeat(40)));
        assert_eq!(mixed.actor.as_deref(), Some("octocat"));
        // Inside Actions the runner says where the forge is, not the checkout's remote.
        assert_eq!(mixed.server, None);

        let no_git = |_: &[&str]| None;
        let user = |name: &str| (name == "USER").then(|| "jane".to_owned());
        let bare = Provenance::gather(&Given::default(), user, no_git);
        assert_eq!((bare.repo, bare.actor.as_deref()), (None, Some("jane")));
    }
}
