//! A deploy status as a badge: a symbol and a word, never colour alone.

use shiplog_model::DeployStatus;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct StatusProps {
    pub status: DeployStatus,
}

/// The symbol and words for a status.
pub fn describe(status: DeployStatus) -> (&'static str, &'static str) {
    match status {
        DeployStatus::Succeeded => ("✓", "succeeded"),
        DeployStatus::Failed => ("✗", "failed"),
        DeployStatus::RolledBack => ("↩", "rolled back"),
        DeployStatus::InProgress => ("●", "in progress"),
        DeployStatus::Cancelled => ("–", "cancelled"),
    }
}

#[function_component(StatusBadge)]
pub fn status_badge(props: &StatusProps) -> Html {
    let (symbol, words) = describe(props.status);
    html! {
        <span class={classes!("status", props.status.as_str().to_owned())}>
            <span aria-hidden="true">{symbol}</span>{" "}{words}
        </span>
    }
}
