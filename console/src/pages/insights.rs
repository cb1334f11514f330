//! `/insights`: per namespace and app, deploy frequency, change failure rate, median deploy
//! duration and time to restore, over a window kept in the URL (`?days=30`).

use shiplog_model::{InsightRow, Insights};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::components::charts::{Bar, BarChart, RateMeter};
use crate::components::states::{Empty, ErrorNote, Loading};
use crate::route::Route;
use crate::time::seconds;
use crate::url_state::param;

const WINDOWS: [u32; 3] = [7, 30, 90];

#[function_component(InsightsPage)]
pub fn insights_page() -> Html {
    let location = use_location();
    let days = location
        .as_ref()
        .and_then(|l| param(l.query_str(), "days"))
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|d| (1..=366).contains(d))
        .unwrap_or(30);
    let insights = use_state(|| None::<Result<Insights, String>>);
    {
        let insights = insights.clone();
        use_effect_with(days, move |days| {
            let days = *days;
            insights.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                insights.set(Some(api::insights(days).await.map_err(|e| e.to_string())));
            });
        });
    }
    let body = match &*insights {
        None => html! { <Loading /> },
        Some(Err(message)) => html! { <ErrorNote message={message.clone()} /> },
        Some(Ok(data)) if data.rows.is_empty() => {
            html! { <Empty message="No deploys ended in this window." /> }
        }
        Some(Ok(data)) => html! { <InsightsTable insights={data.clone()} /> },
    };
    html! {
        <>
            <h1>{"Insights"}</h1>
            <nav aria-label="Window" class="windows">
                { for WINDOWS.iter().map(|w| {
                    let current = *w == days;
                    html! {
                        <Link<Route, Vec<(&'static str, String)>> to={Route::Insights} query={Some(vec![("days", w.to_string())])}
                            classes={classes!(current.then_some("current"))}>
                            {format!("{w} days")}
                        </Link<Route, Vec<(&'static str, String)>>>
                    }
                }) }
            </nav>
            {body}
        </>
    }
}

/// `12 deploys`, and apart from them, those that never ended: `12 deploys · 1 cancelled · 2
/// abandoned`.
fn deploy_counts(row: &InsightRow) -> String {
    let mut counts = vec![counted(row.deploys, "deploy")];
    for (n, words) in [
        (row.cancelled, "cancelled"),
        (row.abandoned, "abandoned"),
        (row.blocked, "blocked"),
    ] {
        if n > 0 {
            counts.push(format!("{n} {words}"));
        }
    }
    counts.join(" · ")
}

fn counted(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[derive(Properties, PartialEq)]
struct TableProps {
    insights: Insights,
}

#[function_component(InsightsTable)]
fn insights_table(props: &TableProps) -> Html {
    html! {
        <div class="table-wrap">
        <table class="insights">
            <thead><tr>
                <th scope="col">{"Namespace"}</th><th scope="col">{"App"}</th>
                <th scope="col">{"Deploys / day"}</th><th scope="col">{"Per day"}</th>
                <th scope="col">{"Change failure rate"}</th><th scope="col">{"Median duration"}</th>
                <th scope="col">{"Median time to restore"}</th>
            </tr></thead>
            <tbody>
            { for props.insights.rows.iter().map(|row| {
                let bars: Vec<Bar> = row.daily.iter().map(|d| Bar { label: d.day.to_string(), total: d.deploys, failed: d.failures }).collect();
                let rate = format!("{:.0} %", row.change_failure_rate * 100.0);
                html! {
                    <tr>
                        <td>{&row.namespace}</td>
                        <td>{&row.app}</td>
                        <td>{format!("{:.2}", row.deploys_per_day)}<div class="meta">{deploy_counts(row)}</div></td>
                        <td><BarChart bars={bars} title={format!("Deploys per day of {} in {}", row.app, row.namespace)} /></td>
                        <td>{rate.clone()}{" "}<RateMeter fraction={row.change_failure_rate} label={format!("Change failure rate {rate}")} />
                            <div class="meta">{format!("{} of {} failed", row.failures, row.deploys)}</div></td>
                        <td>{row.median_duration_secs.map(seconds).unwrap_or_else(|| "—".into())}</td>
                        <td>{row.median_time_to_restore_secs.map(seconds).unwrap_or_else(|| "—".into())}</td>
                    </tr>
                }
            }) }
            </tbody>
        </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploys_that_never_ended_are_counted_apart() {
        let mut row = InsightRow {
            deploys: 1,
            ..InsightRow::default()
        };
        assert_eq!(deploy_counts(&row), "1 deploy");
        row.deploys = 12;
        row.abandoned = 2;
        assert_eq!(deploy_counts(&row), "12 deploys · 2 abandoned");
        row.cancelled = 1;
        assert_eq!(
            deploy_counts(&row),
            "12 deploys · 1 cancelled · 2 abandoned"
        );
    }
}
