//! `shiplog lock`, `shiplog unlock` and `shiplog locks`: environment locks on the history
//! server (`/api/v1/locks`), which every deploy step asks before it touches the cluster.

use std::process::ExitCode;

use shiplog::platform::Native;
use shiplog::provenance::{Given, Provenance};
use shiplog_engine::kube::client::Kube;
use shiplog_engine::kube::request::{Request, encode};
use shiplog_engine::kube::retry::Backoff;
use shiplog_engine::pipeline::Platform as _;
use shiplog_engine::pipeline::notify::server_error;
use shiplog_model::{Lock, LockRequest, Locks};

use crate::Output;
use crate::deploy::runtime;

/// The history server and who acts: the flags the lock commands share.
#[derive(clap::Args)]
pub struct Server {
    /// The history server, e.g. https://shiplog.acme.dev.
    #[arg(long, env = "SHIPLOG_SERVER_URL")]
    server_url: String,
    /// The history server's write token (`shiplog locks` on a server without a read token
    /// needs none).
    #[arg(long, env = "SHIPLOG_SERVER_TOKEN", hide_env_values = true)]
    server_token: Option<String>,
}

/// Which lock: an environment, or one app in it.
#[derive(clap::Args)]
pub struct Which {
    /// The environment (or namespace) name.
    #[arg(value_name = "ENVIRONMENT", env = "SHIPLOG_ENVIRONMENT")]
    environment: String,
    /// Lock only this app in the environment.
    #[arg(long, env = "SHIPLOG_APP")]
    app: Option<String>,
    /// Who acts, for the audit log (default: $GITHUB_ACTOR, else the git user, else $USER).
    #[arg(long, env = "SHIPLOG_ACTOR", value_name = "NAME")]
    by: Option<String>,
    #[command(flatten)]
    server: Server,
}

#[derive(clap::Args)]
pub struct LockArgs {
    #[command(flatten)]
    which: Which,
    /// Why deploys are held, one line ("incident 4711"); deploy steps show it.
    #[arg(long, env = "SHIPLOG_LOCK_REASON")]
    reason: String,
}

#[derive(clap::Args)]
pub struct UnlockArgs {
    #[command(flatten)]
    which: Which,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    server: Server,
    /// Output format.
    #[arg(long, env = "SHIPLOG_OUTPUT", value_enum, default_value_t = Output::Text)]
    output: Output,
}

/// Exit code of a request the server refused or could not answer.
const REFUSED: u8 = 1;

impl Which {
    fn path(&self) -> String {
        let mut path = format!("/api/v1/locks/{}", encode(&self.environment));
        if let Some(app) = &self.app {
            path = format!("{path}/{}", encode(app));
        }
        path
    }

    fn by(&self) -> String {
        self.by.clone().unwrap_or_else(|| {
            Provenance::of_this_process(&Given::default())
                .actor
                .unwrap_or_else(|| "unnamed".into())
        })
    }
}

impl Server {
    fn client(&self) -> Result<Kube<<Native as shiplog_engine::pipeline::Platform>::Host>, String> {
        let platform = Native::from(Provenance::default());
        let host = platform.public_host(&self.server_url, self.server_token.as_deref())?;
        Ok(Kube::new(host, Backoff::default()))
    }
}

/// Sends `request`, its answer as JSON (`null` for none); the error printed, as the server
/// said it.
fn call(server: &Server, request: &Request) -> Result<serde_json::Value, ExitCode> {
    let failed = |message: String| {
        eprintln!("shiplog: {}: {message}", server.server_url);
        ExitCode::from(REFUSED)
    };
    let client = server.client().map_err(failed)?;
    let answer = runtime()
        .block_on(client.send(request))
        .map_err(|e| failed(server_error(&e)))?;
    if answer.body.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    serde_json::from_slice(&answer.body).map_err(|e| failed(format!("the server answered: {e}")))
}

pub fn lock(args: &LockArgs) -> ExitCode {
    let body = LockRequest {
        reason: args.reason.clone(),
        by: args.which.by(),
    };
    if let Err(e) = body.validate() {
        eprintln!("shiplog: --{}: {}", e.field, e.message);
        return ExitCode::from(2);
    }
    let request = Request::put_json(args.which.path(), &serde_json::to_value(&body).unwrap());
    match call(&args.which.server, &request) {
        Ok(answer) => {
            match serde_json::from_value::<Lock>(answer) {
                Ok(lock) => println!("{} is locked: {}", lock.target(), lock.reason),
                Err(_) => println!("locked"),
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

pub fn unlock(args: &UnlockArgs) -> ExitCode {
    let which = &args.which;
    let path = format!("{}?by={}", which.path(), encode(&which.by()));
    match call(&which.server, &Request::delete(path)) {
        Ok(_) => {
            let target = match &which.app {
                Some(app) => format!("{app} in {}", which.environment),
                None => which.environment.clone(),
            };
            println!("{target} is unlocked");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

pub fn list(args: &ListArgs) -> ExitCode {
    let answer = match call(&args.server, &Request::get("/api/v1/locks".into())) {
        Ok(answer) => answer,
        Err(code) => return code,
    };
    if args.output == Output::Json {
        println!("{answer:#}");
        return ExitCode::SUCCESS;
    }
    let locks: Locks = match serde_json::from_value(answer) {
        Ok(locks) => locks,
        Err(e) => {
            eprintln!(
                "shiplog: {}: the server answered: {e}",
                args.server.server_url
            );
            return ExitCode::from(REFUSED);
        }
    };
    if locks.locks.is_empty() {
        println!("no locks");
    }
    for lock in &locks.locks {
        println!(
            "locked  {}  by {} since {}: {}",
            lock.target(),
            lock.by,
            lock.since.format("%Y-%m-%d %H:%M UTC"),
            lock.reason
        );
    }
    for freeze in &locks.freezes {
        let state = if freeze.active { "frozen" } else { "freeze" };
        println!("{state}  {}  {}", freeze.environment, freeze.window);
    }
    ExitCode::SUCCESS
}
