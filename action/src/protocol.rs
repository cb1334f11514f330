//! The runner's file commands, written through the JS host: outputs (`$GITHUB_OUTPUT`), state
//! for the post step (`$GITHUB_STATE`, read back as `STATE_*`) and the job summary
//! (`$GITHUB_STEP_SUMMARY`). The formats are [`crate::runner`]'s.

use crate::runner::files;

use crate::js;
use shiplog_engine::pipeline::Platform as _;

use crate::platform::{Node, print_lines, random_token};

/// Appends `name` = `value` to the file the runner names in `variable`.
fn append_command(variable: &str, name: &str, value: &str) {
    let Some(path) = js::env(variable).filter(|p| !p.is_empty()) else {
        print_lines([format!("{variable} is not set: {name} is not passed on")]);
        return;
    };
    let delimiter = random_token();
    let written = files::file_command(name, value, &delimiter)
        .map_err(|e| e.to_string())
        .and_then(|command| js::append_file(&path, &command).map_err(|e| js::message(&e)));
    if let Err(e) = written {
        Node::default().warn(&format!("{name} could not be written to {variable}: {e}"));
    }
}

/// Sets a step output.
pub fn set_output(name: &str, value: &str) {
    append_command("GITHUB_OUTPUT", name, value);
}

/// Saves a value for the post step.
pub fn save_state(name: &str, value: &str) {
    append_command("GITHUB_STATE", name, value);
}

/// A value the main step saved.
pub fn state(name: &str) -> Option<String> {
    js::env(&files::state_variable(name)).filter(|v| !v.is_empty())
}

/// Appends Markdown to the job summary.
pub fn append_summary(markdown: &str) {
    if let Some(path) = js::env("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty())
        && let Err(e) = js::append_file(&path, markdown)
    {
        Node::default().warn(&format!(
            "the job summary could not be written: {}",
            js::message(&e)
        ));
    }
}
