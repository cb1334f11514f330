//! `/history`: every deploy, newest first, filtered by namespace, app, environment, status,
//! actor, time range and free text — all kept in the URL. New deploys appear live.

use chrono::{DateTime, NaiveDateTime, Utc};
use shiplog_model::{DeployStatus, HistoryQuery};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::components::diff::change_summary;
use crate::components::locks::LockBanner;
use crate::components::states::{Empty, ErrorNote, Loading};
use crate::components::status::StatusBadge;
use crate::components::time_ago::TimeAgo;
use crate::history_state::{Action, HistoryState, Load};
use crate::live::use_deploy_events;
use crate::route::Route;
use crate::time::duration;
use crate::url_state::decode_pairs;

/// Text filters: (query key, label).
const TEXT_FILTERS: [(&str, &str); 5] = [
    ("namespace", "Namespace"),
    ("app", "App"),
    ("environment", "Environment"),
    ("actor", "Actor"),
    ("q", "Search"),
];

#[function_component(HistoryPage)]
pub fn history_page() -> Html {
    let location = use_location();
    let query_str = location
        .as_ref()
        .map(|l| l.query_str().to_owned())
        .unwrap_or_default();
    let parsed = HistoryQuery::from_pairs(decode_pairs(&query_str)).map(|mut q| {
        q.cursor = None;
        q
    });
    let state = use_reducer(HistoryState::default);

    {
        let state = state.clone();
        use_effect_with(parsed.clone(), move |parsed| {
            if let Ok(query) = parsed.clone() {
                state.dispatch(Action::Reset(query.clone()));
                wasm_bindgen_futures::spawn_local(async move {
                    match api::history(&query).await {
                        Ok(page) => state.dispatch(Action::Loaded(query, Box::new(page))),
                        Err(e) => state.dispatch(Action::Failed(e.to_string())),
                    }
                });
            }
        });
    }
    {
        let on_event = {
            let state = state.clone();
            Callback::from(move |event| state.dispatch(Action::Live(Box::new(event))))
        };
        // Events were missed: the first page again, for the filters on screen.
        let on_resync = {
            let (state, parsed) = (state.clone(), parsed.clone());
            Callback::from(move |()| {
                let Ok(query) = parsed.clone() else { return };
                let state = state.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    match api::history(&query).await {
                        Ok(page) => state.dispatch(Action::Loaded(query, Box::new(page))),
                        Err(e) => state.dispatch(Action::Failed(e.to_string())),
                    }
                });
            })
        };
        use_deploy_events(on_event, on_resync);
    }

    {
        // Lets benchmarks and tests read when the first page was on screen.
        let ready = state.load == Load::Ready;
        use_effect_with(ready, move |ready| {
            if *ready {
                mark("shiplog:history-rendered");
            }
        });
    }

    let load_more = {
        let state = state.clone();
        Callback::from(move |_| {
            let Some(cursor) = state.next_cursor else {
                return;
            };
            let query = state.query.clone();
            let next = HistoryQuery {
                cursor: Some(cursor),
                ..query.clone()
            };
            state.dispatch(Action::LoadingMore);
            let state = state.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::history(&next).await {
                    Ok(page) => state.dispatch(Action::More(query, Box::new(page))),
                    Err(e) => state.dispatch(Action::Failed(e.to_string())),
                }
            });
        })
    };

    let body = match (&parsed, &state.load) {
        (Err(e), _) => {
            html! { <ErrorNote message={format!("This address has an invalid filter — {e}.")} /> }
        }
        (_, Load::Loading) => html! { <Loading /> },
        (_, Load::Failed(message)) => html! { <ErrorNote message={message.clone()} /> },
        (_, Load::Ready) if state.items.is_empty() => {
            html! { <Empty message="No deploys match these filters." /> }
        }
        (_, Load::Ready) => html! {
            <>
                <DeployTable deploys={state.items.clone()} />
                if state.next_cursor.is_some() {
                    <button class="more" onclick={load_more} disabled={state.loading_more}>
                        { if state.loading_more { "Loading…" } else { "Show older deploys" } }
                    </button>
                }
            </>
        },
    };
    html! {
        <>
            <h1>{"History"}</h1>
            <LockBanner environment={parsed.as_ref().ok().and_then(|q| q.environment.clone().or(q.namespace.clone()))} />
            <Filters query={parsed.clone().unwrap_or_default()} />
            <p class="live-note" aria-live="polite">{"New deploys appear here as they happen."}</p>
            {body}
        </>
    }
}

#[derive(Properties, PartialEq)]
struct FiltersProps {
    query: HistoryQuery,
}

/// The filter form. Submitting it navigates, so the filters become part of the URL and history.
#[function_component(Filters)]
fn filters(props: &FiltersProps) -> Html {
    let navigator = use_navigator();
    let form = use_node_ref();
    let q = &props.query;
    let current = |key: &str| -> String {
        q.to_pairs()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .unwrap_or_default()
    };
    let onsubmit = {
        let form = form.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(form) = form.cast::<web_sys::HtmlFormElement>() else {
                return;
            };
            let pairs = form_pairs(&form);
            if let Some(navigator) = &navigator {
                let _ = navigator.push_with_query(&Route::History, &pairs);
            }
        })
    };
    let local = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
            .unwrap_or_default()
    };
    html! {
        <form class="filters" ref={form} {onsubmit} role="search" aria-label="Filter deploys" key={format!("{q:?}")}>
            { for TEXT_FILTERS.iter().map(|(key, label)| html! {
                <label>{*label}<input name={*key} type={if *key == "q" { "search" } else { "text" }} value={current(key)} /></label>
            }) }
            <label>{"Status"}
                <select name="status">
                    <option value="" selected={q.status.is_none()}>{"any"}</option>
                    { for DeployStatus::ALL.iter().map(|s| html! {
                        <option value={s.as_str()} selected={q.status == Some(*s)}>{s.as_str().replace('_', " ")}</option>
                    }) }
                </select>
            </label>
            <label>{"From (UTC)"}<input name="since" type="datetime-local" value={local(q.since)} /></label>
            <label>{"Until (UTC)"}<input name="until" type="datetime-local" value={local(q.until)} /></label>
            <button type="submit">{"Apply"}</button>
        </form>
    }
}

/// The non-empty fields of the form as query pairs, times converted to RFC 3339 UTC.
pub fn form_pairs(form: &web_sys::HtmlFormElement) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let elements = form.elements();
    for i in 0..elements.length() {
        let Some(element) = elements.item(i) else {
            continue;
        };
        let (name, value) =
            if let Some(input) = wasm_bindgen::JsCast::dyn_ref::<HtmlInputElement>(&element) {
                (input.name(), input.value())
            } else if let Some(select) =
                wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlSelectElement>(&element)
            {
                (select.name(), select.value())
            } else {
                continue;
            };
        let value = value.trim().to_owned();
        if name.is_empty() || value.is_empty() {
            continue;
        }
        let value = if name == "since" || name == "until" {
            to_rfc3339(&value).unwrap_or(value)
        } else {
            value
        };
        pairs.push((name, value));
    }
    pairs
}

/// Records a Performance API mark (`performance.mark(name)`).
fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

fn to_rfc3339(local: &str) -> Option<String> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M").ok()?;
    Some(
        naive
            .and_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

#[derive(Properties, PartialEq)]
pub struct TableProps {
    pub deploys: Vec<shiplog_model::Deploy>,
}

/// Deploys as a table, one row each, linking to the deploy's page.
#[function_component(DeployTable)]
pub fn deploy_table(props: &TableProps) -> Html {
    html! {
        <div class="table-wrap">
        <table class="history">
            <thead><tr>
                <th scope="col">{"Started"}</th><th scope="col">{"App"}</th><th scope="col">{"Namespace"}</th>
                <th scope="col">{"Version"}</th><th scope="col">{"Status"}</th><th scope="col">{"Who"}</th>
                <th scope="col">{"Commit"}</th><th scope="col">{"Changes"}</th><th scope="col">{"Took"}</th>
            </tr></thead>
            <tbody>
            { for props.deploys.iter().map(|d| html! {
                <tr key={d.id.0} data-deploy-id={d.id.to_string()}>
                    <td><TimeAgo at={d.started_at} /></td>
                    <td>{&d.app}</td>
                    <td>{&d.namespace}</td>
                    <td><Link<Route> to={Route::Deploy { id: d.id.0 }}>
                        { d.version.clone().unwrap_or_else(|| format!("#{}", d.id)) }
                    </Link<Route>></td>
                    <td><StatusBadge status={d.status} /></td>
                    <td>{&d.actor}</td>
                    <td class="commit"><code>{d.commit.short_sha()}</code>{" "}<span class="commit-title">{d.commit.title()}</span></td>
                    <td class="changes">{change_summary(d.resource_counts())}</td>
                    <td>{ d.duration().map(duration).unwrap_or_default() }</td>
                </tr>
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
    fn form_times_become_utc() {
        assert_eq!(
            to_rfc3339("2026-01-31T14:05").as_deref(),
            Some("2026-01-31T14:05:00Z")
        );
        assert_eq!(to_rfc3339("yesterday"), None);
    }
}
