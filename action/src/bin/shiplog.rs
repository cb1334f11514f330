//! `shiplog`: the deploy engine from a terminal or any CI system.
//!
//! Exit codes: `0` success, `2` invalid input (nothing was changed).

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use shiplog_action::check::{Finding, check};
use shiplog_action::sources;

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

/// Exit code for input that is invalid; nothing was changed.
const INVALID: u8 = 2;

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Validate(args) => validate(&args),
    }
}

fn validate(args: &ValidateArgs) -> ExitCode {
    let files = match sources::resolve(&args.manifests) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("shiplog: {e}");
            return ExitCode::from(INVALID);
        }
    };
    let mut contents = Vec::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(text) => contents.push((file.display().to_string(), text)),
            Err(e) => {
                eprintln!("shiplog: {}: {e}", file.display());
                return ExitCode::from(INVALID);
            }
        }
    }
    let checked = check(&contents, &args.namespace, |_, _| true);
    report(
        args.output,
        files.len(),
        checked.manifests.len(),
        &checked.findings,
    );
    if checked.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(INVALID)
    }
}

fn report(output: Output, files: usize, objects: usize, findings: &[Finding]) {
    match output {
        Output::Json => {
            let summary =
                serde_json::json!({"files": files, "objects": objects, "problems": findings});
            println!("{summary:#}");
        }
        Output::Text if findings.is_empty() => {
            println!("{objects} objects in {files} files are valid");
        }
        Output::Text => {
            for finding in findings {
                eprintln!("{finding}");
            }
            eprintln!(
                "{} problems in {files} files; nothing was changed",
                findings.len()
            );
        }
    }
}
