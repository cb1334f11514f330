//! `shiplog`: the deploy engine from a terminal or any CI system.
//!
//! Exit codes: `0` success, `1` rollout failed (rolled back or not), `2` invalid input
//! (nothing was changed), `3` cluster unreachable or not authorised.

mod deploy;
mod diff;
mod lock;
mod redeploy;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shiplog::files::LocalFiles;
use shiplog_engine::check::{Finding, check};
use shiplog_engine::pipeline::Verdict;
use shiplog_engine::sources;
use shiplog_engine::wording::counted;

#[derive(Parser)]
#[command(
    name = "shiplog",
    version,
    about = "Validate and deploy Kubernetes manifests, and record the deploy."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests without a cluster: YAML/JSON syntax, required fields, name rules per
    /// kind, duplicates. Reports every problem with file and line; exits 2 if there is one.
    Validate(ValidateArgs),
    /// Validate, apply (server-side) and watch the rollout of manifests; explain a failure and
    /// optionally roll back.
    Deploy(Box<deploy::DeployArgs>),
    /// Show what a deploy would change, object by object (the live object against the API
    /// server's dry run of the apply, as a YAML diff; Secret values never shown); change
    /// nothing. Prints "no changes" when there are none.
    Diff(Box<diff::DiffArgs>),
    /// Deploy again what an earlier deploy applied, as the history server keeps it (needs
    /// --server-url): validated, applied, watched, announced and recorded as restoring it.
    /// Secrets are left as they are in the cluster.
    Redeploy(Box<redeploy::RedeployArgs>),
    /// Lock an environment (or one app in it) on the history server: deploys to it are held,
    /// recorded `blocked` and exit 4, until `shiplog unlock`. A lock on a name holds deploys
    /// whose environment or namespace has that name.
    Lock(lock::LockArgs),
    /// Lift a lock set by `shiplog lock` (or the console).
    Unlock(lock::UnlockArgs),
    /// List the locks in force, the server's freeze windows and the latest lock events.
    Locks(lock::ListArgs),
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Manifest files, directories (searched recursively for .yaml, .yml, .json) or globs.
    /// Repeat the flag or give several lines.
    #[arg(long = "manifests", env = "SHIPLOG_MANIFESTS", required = true)]
    manifests: Vec<String>,
    /// Namespace for objects that do not name one.
    #[arg(long, env = "SHIPLOG_NAMESPACE", default_value = "default")]
    namespace: String,
    /// Output format.
    #[arg(long, env = "SHIPLOG_OUTPUT", value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Output {
    Text,
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Validate(args) => validate(&args),
        Command::Deploy(args) => deploy::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Redeploy(args) => redeploy::run(&args),
        Command::Lock(args) => lock::lock(&args),
        Command::Unlock(args) => lock::unlock(&args),
        Command::Locks(args) => lock::list(&args),
    }
}

fn validate(args: &ValidateArgs) -> ExitCode {
    let invalid = ExitCode::from(Verdict::Invalid.exit_code());
    let contents = match sources::read_all(&LocalFiles, &args.manifests) {
        Ok(contents) => contents,
        Err(e) => {
            eprintln!("shiplog: {e}");
            return invalid;
        }
    };
    let checked = check(&contents, &args.namespace, |_, _| true);
    report_findings(
        args.output,
        contents.len(),
        checked.manifests.len(),
        &checked.findings,
    );
    if checked.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        invalid
    }
}

fn report_findings(output: Output, files: usize, objects: usize, findings: &[Finding]) {
    match output {
        Output::Json => {
            let summary =
                serde_json::json!({"files": files, "objects": objects, "problems": findings});
            println!("{summary:#}");
        }
        Output::Text if findings.is_empty() => {
            let verb = if objects == 1 { "is" } else { "are" };
            let (objects, files) = (counted(objects, "object"), counted(files, "file"));
            println!("{objects} in {files} {verb} valid");
        }
        Output::Text => {
            for finding in findings {
                eprintln!("{finding}");
            }
            eprintln!(
                "{} in {}; nothing was changed",
                counted(findings.len(), "problem"),
                counted(files, "file")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// Every flag can also be set from the environment (CI systems pass settings that way), and
    /// `--help` says which variable; `--kubeconfig` falls back to `KUBECONFIG`, a list of files,
    /// by the kubeconfig rules.
    #[test]
    fn every_flag_has_an_environment_variable() {
        let cli = Cli::command();
        for command in cli.get_subcommands() {
            for arg in command.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "kubeconfig") {
                    continue;
                }
                let variable = arg.get_env().map(|v| v.to_string_lossy().into_owned());
                assert!(
                    variable
                        .as_deref()
                        .is_some_and(|v| v.starts_with("SHIPLOG_")),
                    "shiplog {} --{id} has no SHIPLOG_* variable",
                    command.get_name()
                );
            }
        }
    }
}
