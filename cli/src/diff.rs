//! `shiplog diff`: what a deploy of the manifests would change, object by object — the live
//! object against the API server's own dry run of the apply — without changing, recording or
//! announcing anything. Secret values never appear (see the engine's `deploy::change`).

use std::process::ExitCode;

use shiplog::platform::Native;
use shiplog::provenance::{Given, Provenance};
use shiplog_engine::deploy::Report;
use shiplog_engine::pipeline::{self, Outcome};
use shiplog_engine::wording::counted;
use shiplog_model::ResourceAction;

use crate::Output;
use crate::deploy::{Target, count, runtime, show};

#[derive(clap::Args)]
pub struct DiffArgs {
    #[command(flatten)]
    target: Target,
    /// Exit 1 when the deploy would change something (as `git diff --exit-code`); by default
    /// a successful plan exits 0 either way.
    #[arg(long, env = "SHIPLOG_EXIT_CODE")]
    exit_code: bool,
    /// Output format: the diffs as text, or the plan as JSON (each object's `diff`).
    #[arg(long, env = "SHIPLOG_OUTPUT", value_enum, default_value_t = Output::Text)]
    output: Output,
}

pub fn run(args: &DiffArgs) -> ExitCode {
    let inputs = match args.target.inputs(true) {
        Ok(inputs) => inputs,
        Err(code) => return code,
    };
    let platform = Native::from(Provenance::of_this_process(&Given::default()));
    let outcome = runtime().block_on(pipeline::run(&platform, &inputs));
    let Some(report) = &outcome.report else {
        show(args.output, &outcome);
        return ExitCode::from(outcome.verdict.exit_code());
    };
    print_plan(args.output, report, &outcome);
    let changes = report
        .resources
        .iter()
        .any(|r| r.action != ResourceAction::Unchanged);
    if args.exit_code && (changes || !report.namespaces_created.is_empty()) {
        ExitCode::FAILURE
    } else {
        ExitCode::from(outcome.verdict.exit_code())
    }
}

fn print_plan(output: Output, report: &Report, outcome: &Outcome) {
    if output == Output::Json {
        let mut value = serde_json::to_value(report).expect("a report serializes");
        value["images"] = outcome.substitutions.as_slice().into();
        println!("{value:#}");
        return;
    }
    for namespace in &report.namespaces_created {
        println!("namespace/{namespace} would be created");
    }
    for image in &outcome.substitutions {
        println!("image {image}");
    }
    for change in &report.resources {
        if let Some(diff) = &change.diff {
            println!("{diff}");
        }
        if let Some(note) = &change.message {
            println!("note: {}/{}: {note}", change.kind, change.name);
        }
    }
    let count = |action| count(report, action);
    let (created, configured) = (
        count(ResourceAction::Created),
        count(ResourceAction::Configured),
    );
    let unchanged = count(ResourceAction::Unchanged);
    if created + configured == 0 && report.namespaces_created.is_empty() {
        println!(
            "no changes: {} unchanged; nothing was changed",
            counted(unchanged, "object")
        );
    } else {
        println!(
            "plan: {created} to create, {configured} to change, {unchanged} unchanged; nothing \
             was changed"
        );
    }
}
