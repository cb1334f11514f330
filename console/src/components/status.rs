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
        DeployStatus::Abandoned => ("○", "abandoned"),
        DeployStatus::Blocked => ("⛔", "blocked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_symbol_and_words() {
        let described: Vec<_> = DeployStatus::ALL.into_iter().map(describe).collect();
        for (i, (symbol, words)) in described.iter().enumerate() {
            assert!(!symbol.is_empty() && !words.is_empty());
            assert!(
                described[..i]
                    .iter()
                    .all(|(s, w)| s != symbol && w != words),
                "{words} is told apart"
            );
        }
        assert_eq!(describe(DeployStatus::Abandoned), ("○", "abandoned"));
        assert_eq!(describe(DeployStatus::Cancelled), ("–", "cancelled"));
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
