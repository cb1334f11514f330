//! `shiplog redeploy DEPLOY_ID`: deploy again what an earlier deploy applied, as the history
//! server keeps it, through the normal pipeline; the new record says which deploy it restores.
//! Secrets are left as they are in the cluster (a record keeps no Secret values).

use std::process::ExitCode;

use shiplog_engine::pipeline::{self, Platform as _, Verdict, restore};
use shiplog_model::DeployId;

use crate::deploy::{How, Place, runtime, show};

#[derive(clap::Args)]
pub struct RedeployArgs {
    /// The deploy to restore (its id, as in the console's `/deploys/ID`).
    #[arg(env = "SHIPLOG_DEPLOY_ID", value_name = "DEPLOY_ID")]
    id: i64,
    #[command(flatten)]
    place: Place,
    #[command(flatten)]
    how: How,
}

pub fn run(args: &RedeployArgs) -> ExitCode {
    let invalid = ExitCode::from(Verdict::Invalid.exit_code());
    let Some(server) = args.how.server() else {
        eprintln!("shiplog: redeploy needs --server-url: the history server keeps the manifests");
        return invalid;
    };
    let inputs = match args.place.inputs(false) {
        Ok(inputs) => args.how.apply_to(inputs),
        Err(code) => return code,
    };
    let platform = args.how.platform();
    let runtime = runtime();
    let id = DeployId(args.id);
    let (inputs, left_alone) =
        match runtime.block_on(restore::inputs(&platform, &server, id, inputs)) {
            Ok(restored) => restored,
            Err(e) => {
                eprintln!("shiplog: {e}");
                return invalid;
            }
        };
    platform.log(&format!("redeploying what deploy {id} applied"));
    for name in &left_alone {
        platform.log(&format!(
            "{name} is left as it is in the cluster: a record keeps no Secret values"
        ));
    }
    let outcome = runtime.block_on(pipeline::run(&platform, &inputs));
    show(args.how.output(), &outcome);
    ExitCode::from(outcome.verdict.exit_code())
}
