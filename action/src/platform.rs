//! The Action's [`Platform`]: the runner's environment and file system through the JS host,
//! progress on stdout, warnings as `::warning::` annotations and every secret masked with
//! `::add-mask::` the moment it is read.

use crate::runner::commands::{self, Annotation, Level};
use crate::runner::files;
use chrono::{DateTime, Utc};
use shiplog_engine::kubeconfig::{
    ExecConfig, WITHHELD_FROM_PLUGINS_NAMES, WITHHELD_FROM_PLUGINS_PREFIXES,
};
use shiplog_engine::pipeline::{Cluster, Platform, ServerTarget};
use shiplog_engine::sources::{Entry, FileSystem};
use shiplog_model::Created;
use wasm_bindgen_futures::JsFuture;

use crate::host::NodeHost;
use crate::js;

/// The runner's file system, through Node.
#[derive(Debug, Default)]
pub struct NodeFiles;

impl FileSystem for NodeFiles {
    fn entry(&self, path: &str) -> Option<Entry> {
        match js::entry(path) {
            1 => Some(Entry::File),
            2 => Some(Entry::Directory),
            _ => None,
        }
    }

    fn walk(&self, dir: &str) -> Result<Vec<String>, String> {
        let files = js::walk(dir).map_err(|e| js::message(&e))?;
        Ok(files.iter().filter_map(|f| f.as_string()).collect())
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        js::read_file(path).map_err(|e| js::message(&e))
    }
}

/// A random token (`ghadelimiter_<uuid>`): a file command's delimiter, or the token that
/// resumes workflow commands.
pub fn random_token() -> String {
    let random: [u8; 16] = js::random_bytes(16).try_into().unwrap_or([0x5a; 16]);
    files::delimiter_from(random)
}

/// Prints lines on stdout, where the runner reads workflow commands.
pub fn print_lines(lines: impl IntoIterator<Item = String>) {
    for line in lines {
        js::print(&format!("{line}\n"));
    }
}

/// The platform of the Action.
#[derive(Debug, Default)]
pub struct Node {
    files: NodeFiles,
}

impl Platform for Node {
    type Host = NodeHost;
    type Files = NodeFiles;

    fn files(&self) -> &NodeFiles {
        &self.files
    }

    fn env(&self, name: &str) -> Option<String> {
        js::env(name).filter(|v| !v.is_empty())
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(js::now_ms() as i64).unwrap_or_default()
    }

    fn random_u64(&self) -> u64 {
        u64::from_le_bytes(js::random_bytes(8).try_into().unwrap_or([0x5a; 8]))
    }

    /// Keeps the record's id and server for the post step, which finishes the record as
    /// `cancelled` should this step be stopped before it reports the end.
    fn recorded_start(&self, server: &ServerTarget, created: &Created) {
        crate::protocol::save_state(crate::post_step::DEPLOY_ID, &created.id.to_string());
        crate::protocol::save_state(crate::post_step::SERVER_URL, &server.url);
    }

    fn github_deployment_created(&self, id: i64) {
        crate::protocol::save_state(crate::post_step::GITHUB_DEPLOYMENT_ID, &id.to_string());
    }

    fn log(&self, line: &str) {
        // Logged text may come from the cluster (events, container logs): it must not be able to
        // issue workflow commands.
        print_lines(commands::inert(line, random_token));
    }

    fn warn(&self, message: &str) {
        let annotation = Annotation {
            message,
            ..Annotation::default()
        };
        print_lines([commands::annotation(Level::Warning, &annotation)]);
    }

    fn mask(&self, secret: &str) {
        print_lines(commands::add_mask(secret));
    }

    async fn run_plugin(&self, exec: &ExecConfig) -> Result<Vec<u8>, String> {
        let env: js_sys::Array = exec
            .env
            .iter()
            .map(|(k, v)| -> wasm_bindgen::JsValue { js::strings([k.as_str(), v.as_str()]).into() })
            .collect();
        let promise = js::run_plugin(
            &exec.command,
            js::strings(exec.args.iter().map(String::as_str)),
            env,
            &exec.exec_info(),
            js::strings(WITHHELD_FROM_PLUGINS_NAMES.iter().copied()),
            js::strings(WITHHELD_FROM_PLUGINS_PREFIXES.iter().copied()),
        );
        let output = JsFuture::from(promise).await.map_err(|e| js::message(&e))?;
        Ok(js_sys::Uint8Array::new(&output).to_vec())
    }

    fn cluster_host(&self, cluster: &Cluster) -> Result<NodeHost, String> {
        NodeHost::cluster(cluster)
    }

    fn public_host(&self, base: &str, token: Option<&str>) -> Result<NodeHost, String> {
        NodeHost::public(base, token)
    }
}
