//! A time shown relative ("5 min ago") with the absolute time as its tooltip and machine value.

use chrono::{DateTime, Utc};
use yew::prelude::*;

use crate::time::{absolute, relative};

#[derive(Properties, PartialEq)]
pub struct TimeProps {
    pub at: DateTime<Utc>,
    /// Show the absolute time after the relative one.
    #[prop_or_default]
    pub both: bool,
}

#[function_component(TimeAgo)]
pub fn time_ago(props: &TimeProps) -> Html {
    let exact = absolute(props.at);
    let ago = relative(chrono::Utc::now(), props.at);
    html! {
        <time datetime={props.at.to_rfc3339()} title={exact.clone()}>
            { if props.both { format!("{exact} ({ago})") } else { ago } }
        </time>
    }
}
