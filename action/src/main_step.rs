//! The main step: read the inputs, mask the secrets, deploy through the pipeline — gated on no
//! earlier step of the job having failed, which GitHub is asked while the deploy gets ready —
//! report the outcome ([`crate::report`]) and fail the step with the engine's message when the
//! deploy failed. In `mode: plan` the deploy is the server's dry run: each object's change is
//! shown and nothing is changed, recorded or announced.

use crate::runner::commands::{self, Annotation, Level};
use shiplog_engine::pipeline::{self, Gate, Platform as _, Verdict, id_token, restore};
use shiplog_model::DeployId;

use crate::job;
use crate::plan_comment;
use crate::platform::{Node, print_lines};
use crate::protocol::save_state;
use crate::report::report;
use crate::step_inputs::{deploy_inputs, runner_inputs};

pub async fn run() -> u8 {
    let platform = Node::default();
    let inputs = runner_inputs(&platform);
    let mode = match inputs.choice("mode", &["deploy", "notify", "plan"], "deploy") {
        Ok(mode) => mode,
        Err(e) => return fail(&e.to_string()),
    };
    save_state("mode", mode);
    if mode == "notify" {
        platform.log("shiplog watches this job: its post step alerts Slack if a step fails");
        return 0;
    }
    let mut deploy_inputs = match deploy_inputs(&inputs, &platform) {
        Ok(deploy_inputs) => deploy_inputs,
        Err(e) => return fail(&e.to_string()),
    };
    let redeploy = match inputs.deploy_id("redeploy") {
        Ok(id) => id,
        Err(e) => return fail(&e.to_string()),
    };
    if let Some(id) = redeploy {
        let Some(server) = id_token::target(&platform, deploy_inputs.server.as_ref()).await else {
            return fail(
                "input `redeploy` needs `server-url`: the history server keeps the manifests",
            );
        };
        match restore::inputs(&platform, &server, DeployId(id), deploy_inputs).await {
            Ok((restored, left_alone)) => {
                platform.log(&format!("redeploying what deploy {id} applied"));
                for name in left_alone {
                    platform.log(&format!(
                        "{name} is left as it is in the cluster: a record keeps no Secret values"
                    ));
                }
                deploy_inputs = restored;
            }
            Err(e) => return fail(&e),
        }
    }
    if mode == "plan" {
        deploy_inputs.options.dry_run = true;
        deploy_inputs.slack = None;
        deploy_inputs.server = None;
        deploy_inputs.github = None;
    }
    // GitHub is asked about the job's other steps while the deploy reads and checks everything;
    // the cluster is changed only once no earlier step is known to have failed.
    let gate = async {
        match job::check(&platform, &inputs).await {
            Ok(check) => {
                if let Some(number) = check.own_step {
                    save_state("step-number", &number.to_string());
                }
                match check.failed.first() {
                    Some(step) => Gate::Stop(format!(
                        "not deploying: step \"{}\" of this job failed (the post step alerts Slack)",
                        step.name
                    )),
                    None => Gate::Proceed,
                }
            }
            Err(e) => {
                platform.log(&format!("the job's other steps are not checked: {e}"));
                Gate::Proceed
            }
        }
    };
    let outcome = pipeline::run_gated(&platform, &deploy_inputs, gate).await;
    if outcome.verdict == Verdict::Skipped {
        platform.log(outcome.reason.as_deref().unwrap_or("not deploying"));
        save_state("skipped", "true");
        return 0;
    }
    let summary = report(&platform, &deploy_inputs, &outcome);
    if mode == "plan" {
        let environment = deploy_inputs
            .environment
            .as_deref()
            .or(outcome.namespace.as_deref())
            .unwrap_or("default");
        plan_comment::post(&platform, &inputs, environment, &summary).await;
    }
    match outcome.verdict {
        Verdict::Deployed => 0,
        _ => fail(outcome.reason.as_deref().unwrap_or("the deploy failed")),
    }
}

/// Fails the step with `message` as an error annotation.
fn fail(message: &str) -> u8 {
    let annotation = Annotation {
        message,
        ..Annotation::default()
    };
    print_lines([commands::annotation(Level::Error, &annotation)]);
    1
}
