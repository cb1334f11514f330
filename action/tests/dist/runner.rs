//! A GitHub runner in miniature: runs the built `action/dist` under `node` exactly as a runner
//! does — inputs as `INPUT_*` variables (hyphens kept), the run's context as `GITHUB_*`
//! variables, and fresh `GITHUB_OUTPUT`, `GITHUB_STATE` and `GITHUB_STEP_SUMMARY` files — then
//! reads back what the step wrote. The dist is `$SHIPLOG_ACTION_DIST` (set by `cargo xtask
//! test` to the one it just built), else the committed `action/dist`; node is `$SHIPLOG_NODE`
//! (set by `cargo xtask test` to the node 24 that `runs.using: node24` names), else `node`.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Lines};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

/// The repository, run and job every test runs in.
pub const REPO: &str = "acme/shop";
pub const RUN_ID: u64 = 7;
pub const RUNNER_NAME: &str = "runner-3";
pub const SHA: &str = "4f2a9c1e0b7d";
pub const COMMIT_MESSAGE: &str = "Ship the <cart> & \"checkout\"\n\nWith a body.";

pub fn dist() -> PathBuf {
    let dist = std::env::var_os("SHIPLOG_ACTION_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dist"));
    assert!(
        dist.join("main.cjs").is_file(),
        "{} has no main.cjs: run `cargo xtask dist`",
        dist.display()
    );
    dist
}

/// What one step did.
#[derive(Debug)]
pub struct Step {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: HashMap<String, String>,
    pub state: HashMap<String, String>,
    pub summary: String,
}

impl Step {
    /// Everything the step showed or wrote, but the `::add-mask::` commands themselves.
    pub fn shown(&self) -> String {
        let stdout: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect();
        let outputs: Vec<&String> = self.outputs.values().collect();
        format!(
            "{}\n{}\n{outputs:?}\n{:?}\n{}",
            stdout.join("\n"),
            self.stderr,
            self.state,
            self.summary
        )
    }

    /// The values the step asked the runner to mask.
    pub fn masked(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix("::add-mask::"))
            .collect()
    }

    /// Fails unless no secret appears anywhere the step wrote and each was masked.
    pub fn assert_secrets_hidden(&self, secrets: &[&str]) {
        let shown = self.shown();
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret} was shown:\n{shown}");
            assert!(
                self.masked().contains(secret),
                "{secret} was not masked: {:?}",
                self.masked()
            );
        }
    }
}

/// Reads a file of file commands: `name=value` or `name<<DELIMITER` … `DELIMITER`.
pub fn parse_file_commands(text: &str) -> HashMap<String, String> {
    let mut values = HashMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for line in lines.by_ref() {
                if line == delimiter {
                    break;
                }
                value.push(line);
            }
            values.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            values.insert(name.to_owned(), value.to_owned());
        }
    }
    values
}

/// One job on the runner: its context, its inputs, its working directory.
pub struct Runner {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Runner {
    pub fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let event = dir.path().join("event.json");
        std::fs::write(
            &event,
            serde_json::json!({"head_commit": {"id": SHA, "message": COMMIT_MESSAGE}}).to_string(),
        )
        .unwrap();
        let path = |p: &str| dir.path().join(p).display().to_string();
        let env = [
            ("GITHUB_ACTIONS", "true".to_owned()),
            ("GITHUB_REPOSITORY", REPO.to_owned()),
            ("GITHUB_SHA", SHA.to_owned()),
            ("GITHUB_REF", "refs/heads/main".to_owned()),
            ("GITHUB_ACTOR", "alice".to_owned()),
            ("GITHUB_RUN_ID", RUN_ID.to_string()),
            ("GITHUB_RUN_ATTEMPT", "1".to_owned()),
            ("GITHUB_JOB", "deploy".to_owned()),
            ("GITHUB_SERVER_URL", "https://github.com".to_owned()),
            ("GITHUB_EVENT_PATH", event.display().to_string()),
            ("GITHUB_WORKSPACE", dir.path().display().to_string()),
            ("RUNNER_NAME", RUNNER_NAME.to_owned()),
            ("RUNNER_OS", "Linux".to_owned()),
            ("HOME", path("home")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Runner { dir, env }
    }

    /// Sets an environment variable of the job.
    pub fn env(&mut self, name: &str, value: &str) -> &mut Self {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets a `with:` input as the runner passes it: `INPUT_<NAME>`, hyphens kept.
    pub fn input(&mut self, name: &str, value: &str) -> &mut Self {
        let variable = format!("INPUT_{}", name.replace(' ', "_").to_uppercase());
        self.env(&variable, value)
    }

    /// Writes a file into the workspace; its path.
    pub fn file(&self, name: &str, content: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    /// Runs `entry` (`main.cjs` or `post.cjs`) with `state` from an earlier step.
    pub fn run(&self, entry: &str, state: &HashMap<String, String>) -> Step {
        self.run_node(&[dist().join(entry).display().to_string()], entry, state)
    }

    /// Imports `entry` (`run-main.mjs`, `run-post.mjs`) and calls its `run()`, as tools that
    /// run actions in-process do; node must then exit by itself (nothing left open).
    pub fn run_imported(&self, entry: &str) -> Step {
        let url = format!("file://{}", dist().join(entry).display());
        let script = format!("const {{ run }} = await import({url:?}); await run();");
        self.run_node(
            &["--input-type=module".into(), "-e".into(), script],
            entry,
            &HashMap::new(),
        )
    }

    /// Starts `entry` and leaves it running, its standard output piped (a step the job will
    /// cancel).
    pub fn start(&self, entry: &str) -> Running {
        let script = [dist().join(entry).display().to_string()];
        let (mut command, files) = self.node(&script, entry, &HashMap::new());
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts");
        let stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        Running {
            child,
            stdout,
            state_file: files[1].1.clone(),
        }
    }

    /// The node command that runs `args` as step `entry`, with fresh file-command files (and
    /// their variables), and `state` from an earlier step.
    fn node(
        &self,
        args: &[String],
        entry: &str,
        state: &HashMap<String, String>,
    ) -> (Command, [(&'static str, PathBuf); 3]) {
        let files = ["GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY"]
            .map(|name| (name, self.dir.path().join(format!("{entry}.{name}"))));
        for (_, path) in &files {
            std::fs::write(path, "").unwrap();
        }
        let node = std::env::var_os("SHIPLOG_NODE").unwrap_or_else(|| "node".into());
        let mut command = Command::new(node);
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(files.iter().map(|(k, v)| (k, v)))
            .envs(state.iter().map(|(k, v)| (format!("STATE_{k}"), v)));
        (command, files)
    }

    fn run_node(&self, args: &[String], entry: &str, state: &HashMap<String, String>) -> Step {
        let (mut command, files) = self.node(args, entry, state);
        let output = command.output().expect("node runs");
        let read = |i: usize| std::fs::read_to_string(&files[i].1).unwrap();
        Step {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
            outputs: parse_file_commands(&read(0)),
            state: parse_file_commands(&read(1)),
            summary: read(2),
        }
    }
}

/// A step still running, as the runner sees it until the job is cancelled.
pub struct Running {
    child: Child,
    stdout: Lines<BufReader<ChildStdout>>,
    state_file: PathBuf,
}

impl Running {
    /// Reads the step's standard output until a line contains `text` (fails if the step ends
    /// first); the lines read.
    pub fn read_until(&mut self, text: &str) -> Vec<String> {
        let mut read = Vec::new();
        for line in self.stdout.by_ref() {
            let line = line.unwrap();
            let found = line.contains(text);
            read.push(line);
            if found {
                return read;
            }
        }
        panic!(
            "the step ended without printing {text:?}:\n{}",
            read.join("\n")
        );
    }

    /// Kills the step at once (SIGKILL, as a runner finally does to a cancelled job's step, or
    /// as a dying runner does); the state it had saved for the post step.
    pub fn kill(mut self) -> HashMap<String, String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        parse_file_commands(&std::fs::read_to_string(&self.state_file).unwrap())
    }
}

/// A workflow command the runner would act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    pub name: String,
    pub properties: String,
    pub data: String,
}

/// The workflow commands the runner reads in `stdout`, by its rules: a line is a command when,
/// after leading white space, it starts `::name …::data`, or when it holds the legacy
/// `##[name …]data` anywhere; `::stop-commands::TOKEN` makes it ignore every line but
/// `::TOKEN::`. Names are taken as they come (the runner acts only on the ones it knows, a
/// superset of what any test should see).
pub fn runner_commands(stdout: &str) -> Vec<WorkflowCommand> {
    let mut commands = Vec::new();
    let mut stopped: Option<String> = None;
    for line in stdout.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let current = current_form(line);
        if let Some(token) = &stopped {
            if current.as_ref().is_some_and(|c| c.name == *token) {
                stopped = None;
            }
            continue;
        }
        let Some(command) = current.or_else(|| legacy_form(line)) else {
            continue;
        };
        if command.name == "stop-commands" {
            stopped = Some(command.data.clone());
        } else {
            commands.push(command);
        }
    }
    commands
}

fn current_form(line: &str) -> Option<WorkflowCommand> {
    let rest = line.trim_start().strip_prefix("::")?;
    let (info, data) = rest.split_once("::")?;
    Some(WorkflowCommand::of(info, data))
}

fn legacy_form(line: &str) -> Option<WorkflowCommand> {
    let (_, rest) = line.split_once("##[")?;
    let (info, data) = rest.split_once(']')?;
    Some(WorkflowCommand::of(info, data))
}

impl WorkflowCommand {
    /// The command whose head is `info` (`name properties…`) and whose data is `data`.
    fn of(info: &str, data: &str) -> WorkflowCommand {
        let (name, properties) = info.split_once(' ').unwrap_or((info, ""));
        WorkflowCommand {
            name: name.to_owned(),
            properties: properties.to_owned(),
            data: data.to_owned(),
        }
    }
}
