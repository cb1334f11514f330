//! `shiplog`: the deploy engine from a terminal or any CI system.
//!
//! Exit codes: `0` success, `1` rollout failed (rolled back or not), `2` invalid input
//! (nothing was changed), `3` cluster unreachable or not authorised.

mod deploy;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shiplog_action::check::{Finding, check};
use shiplog_action::native::files::LocalFiles;
use shiplog_action::pipeline::Verdict;
use shiplog_action::sources;
use shiplog_action::wording::counted;

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
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Manifest files, directories (searched recursively for .yaml, .yml, .json) or globs.
    /// Repeat the flag or give several lines.
    #[arg(long = "manifests", required = true)]
    manifests: Vec<String>,
    /// Namespace for objects that do not name one.
    #[arg(long, default_value = "default")]
    namespace: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
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
