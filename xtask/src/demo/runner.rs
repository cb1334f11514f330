//! A GitHub runner in miniature: runs the built Action under `node` for one deploy of the story
//! and reads back (and prints) how it ended.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::story::{Deploy, sha};
use super::{DEMO_TOKEN, shown};

/// A GitHub runner in miniature (as in action/tests/dist/runner.rs): runs the Action's main
/// step under `node` with the job's context and inputs, and reads back what it wrote.
pub(super) struct Runner {
    node: PathBuf,
    main: PathBuf,
    server: String,
    kubeconfig: PathBuf,
    home: PathBuf,
    workspace: PathBuf,
    pub(super) runs: PathBuf,
}

impl Runner {
    pub(super) fn new(
        dir: &Path,
        action: &Path,
        server: &str,
        kubeconfig: &Path,
    ) -> anyhow::Result<Runner> {
        let main = action.join("main.cjs");
        anyhow::ensure!(main.is_file(), "{} is missing", main.display());
        let runner = Runner {
            node: crate::setup::action_node()?,
            main,
            server: server.to_owned(),
            kubeconfig: kubeconfig.to_owned(),
            home: dir.join("runner").join("home"),
            workspace: dir.join("runner").join("workspace"),
            runs: dir.join("runs"),
        };
        for d in [&runner.home, &runner.workspace, &runner.runs] {
            std::fs::create_dir_all(d)?;
        }
        Ok(runner)
    }

    /// Runs one deploy (of the recorded deploy `restores`, for a redeploy), prints one line
    /// about it; its `status` output (or how node ended) and its recorded id.
    pub(super) fn deploy(
        &self,
        n: usize,
        of: usize,
        deploy: &Deploy,
        restores: Option<&str>,
    ) -> anyhow::Result<(String, Option<String>)> {
        let step = self.runs.join(format!(
            "{n:02}-{}-{}-{}",
            deploy.app, deploy.env, deploy.version
        ));
        std::fs::create_dir_all(&step)?;
        let sha = sha(deploy.app, deploy.version);
        let event = step.join("event.json");
        std::fs::write(
            &event,
            json!({"head_commit": {"id": sha, "message": deploy.message}}).to_string(),
        )?;
        let files = ["GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"]
            .map(|name| (name, step.join(name.to_lowercase())));
        for (_, path) in &files {
            std::fs::write(path, "")?;
        }
        let log = File::create(step.join("log"))?;
        // Prod deploys the release's tag.
        let git_ref = if deploy.env == "prod" {
            format!("refs/tags/{}", deploy.version)
        } else {
            "refs/heads/main".to_owned()
        };
        let started = Instant::now();
        let status = Command::new(&self.node)
            .arg(&self.main)
            .current_dir(&self.workspace)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("KUBECONFIG", &self.kubeconfig)
            .envs([
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REPOSITORY", &format!("acme/{}", deploy.app)),
                ("GITHUB_SHA", &sha),
                ("GITHUB_REF", &git_ref),
                ("GITHUB_ACTOR", deploy.actor),
                ("GITHUB_RUN_ID", &deploy.run_id.to_string()),
                ("GITHUB_RUN_ATTEMPT", "1"),
                ("GITHUB_JOB", &format!("deploy-{}", deploy.env)),
                ("GITHUB_WORKFLOW", "deploy"),
                ("GITHUB_SERVER_URL", "https://github.com"),
                ("GITHUB_API_URL", "https://api.github.com"),
                ("RUNNER_NAME", "demo-runner"),
                ("RUNNER_OS", "Linux"),
            ])
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_WORKSPACE", &self.workspace)
            .envs(files.iter().map(|(k, v)| (k, v)))
            // The `with:` inputs, hyphens kept, and action.yml's defaults as the runner fills
            // them in. No slack-* and no github-token: the Action says it does not check the
            // job's other steps.
            .envs([
                ("INPUT_MODE", deploy.mode),
                ("INPUT_REDEPLOY", restores.unwrap_or_default()),
                (
                    "INPUT_MANIFESTS",
                    &if restores.is_some() {
                        String::new()
                    } else {
                        deploy.manifests.display().to_string()
                    },
                ),
                ("INPUT_NAMESPACE", deploy.env),
                (
                    "INPUT_IMAGES",
                    &if restores.is_some() {
                        String::new()
                    } else {
                        deploy.images.join("\n")
                    },
                ),
                ("INPUT_APP", deploy.app),
                ("INPUT_ENVIRONMENT", deploy.env),
                (
                    "INPUT_TIMEOUT",
                    if deploy.expect == "succeeded" {
                        "2m"
                    } else {
                        "20s"
                    },
                ),
                ("INPUT_ROLLBACK-ON-FAILURE", &deploy.rollback.to_string()),
                ("INPUT_DRY-RUN", "false"),
                ("INPUT_CREATE-NAMESPACE", "true"),
                ("INPUT_SERVER-URL", &self.server),
                ("INPUT_SERVER-TOKEN", DEMO_TOKEN),
            ])
            .stdout(log.try_clone()?)
            .stderr(log)
            .status()
            .with_context(|| format!("running the Action with {}", self.node.display()))?;
        let elapsed = started.elapsed();
        let outputs = parse_file_commands(&std::fs::read_to_string(&files[0].1)?);
        let outcome = outputs
            .get("status")
            .cloned()
            .unwrap_or_else(|| format!("no status (node {status})"));
        let detail = if outcome == "succeeded" {
            changes(outputs.get("resources").map_or("", String::as_str))
        } else {
            first_error(&std::fs::read_to_string(step.join("log"))?)
        };
        let link = match (deploy.mode, restores) {
            ("plan", _) => {
                "plan: nothing changed or recorded (the diffs are in the step's summary)"
            }
            _ => outputs
                .get("deploy-url")
                .map_or("not recorded", String::as_str),
        };
        let detail = match restores {
            Some(id) => format!("redeploys deploy {id}: {detail}"),
            None => detail,
        };
        let width = of.to_string().len();
        println!(
            "  [{n:>width$}/{of}] {:<8} {:<7} → {:<5} {:<11} {:>5.1}s  {link}  {detail}",
            deploy.app,
            deploy.version,
            deploy.env,
            outcome,
            elapsed.as_secs_f64(),
        );
        if outcome != deploy.expect {
            println!(
                "           expected {}; see {}",
                deploy.expect,
                shown(&step.join("log"))
            );
        }
        Ok((outcome, outputs.get("deploy-id").cloned()))
    }
}

/// Reads a file of file commands: `name=value` or `name<<DELIMITER` … `DELIMITER`.
fn parse_file_commands(text: &str) -> HashMap<String, String> {
    let mut values = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            values.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            values.insert(name.to_owned(), value.to_owned());
        }
    }
    values
}

/// "3 configured, 32 unchanged" from the `resources` output.
fn changes(resources: &str) -> String {
    let list: Vec<Value> = serde_json::from_str(resources).unwrap_or_default();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for resource in &list {
        *counts
            .entry(resource["action"].as_str().unwrap_or("?"))
            .or_default() += 1;
    }
    counts
        .iter()
        .map(|(action, n)| format!("{n} {action}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The message of the step's first `::error` annotation, on one line.
fn first_error(log: &str) -> String {
    let Some(line) = log.lines().find(|l| l.starts_with("::error")) else {
        return String::new();
    };
    let message = line
        .strip_prefix("::error")
        .and_then(|rest| rest.split_once("::"))
        .map_or(line, |(_, message)| message);
    let message = message
        .replace("%0D", "")
        .replace("%0A", " ")
        .replace("%25", "%");
    if message.chars().count() > 90 {
        format!("{}…", message.chars().take(90).collect::<String>())
    } else {
        message
    }
}
