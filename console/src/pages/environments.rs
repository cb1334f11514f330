//! `/`: what runs where. Rows are apps, columns are namespaces in pipeline order (or
//! `?order=dev,stage,prod`); each cell shows the latest deploy's version, status, age, who and
//! commit, and what still runs when it did not succeed. Cells are the server's summaries: the
//! deploy's page has the rest.

use shiplog_model::{
    DeployStatus, DeploySummary, EnvironmentCell, EnvironmentMatrix, HistoryQuery, Locks,
};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::components::locks::LockPanel;
use crate::components::states::{Empty, ErrorNote, Loading};
use crate::components::status::StatusBadge;
use crate::components::time_ago::TimeAgo;
use crate::environments::{Drift, column_order, drifts};
use crate::live::use_deploy_events;
use crate::route::Route;
use crate::url_state::param;

#[function_component(EnvironmentsPage)]
pub fn environments_page() -> Html {
    let matrix = use_state(|| None::<Result<EnvironmentMatrix, String>>);
    let locks = use_state(Locks::default);
    let refresh = use_state(|| 0u32);
    let location = use_location();
    let order = location
        .as_ref()
        .and_then(|l| param(l.query_str(), "order"));

    {
        let (matrix, locks) = (matrix.clone(), locks.clone());
        use_effect_with(*refresh, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                matrix.set(Some(api::environments().await.map_err(|e| e.to_string())));
                // Without locks (an older server, say) the page shows no holds.
                if let Ok(answer) = api::locks().await {
                    locks.set(answer);
                }
            });
        });
    }
    {
        let refresh = refresh.clone();
        let again = Callback::from(move |()| refresh.set(*refresh + 1));
        use_deploy_events(again.reform(|_| ()), again);
    }

    let matrix = match &*matrix {
        None => return html! { <><h1>{"Environments"}</h1><Loading /></> },
        Some(Err(message)) => {
            return html! { <><h1>{"Environments"}</h1><ErrorNote message={message.clone()} /></> };
        }
        Some(Ok(matrix)) => matrix,
    };
    if matrix.cells.is_empty() {
        return html! {
            <><h1>{"Environments"}</h1>
            <Empty message="No deploys recorded yet. Deploys appear here as soon as the shiplog action or CLI reports one." /></>
        };
    }
    let columns = column_order(&matrix.namespaces, order.as_deref());
    let on_change = {
        let refresh = refresh.clone();
        Callback::from(move |()| refresh.set(*refresh + 1))
    };
    // The lock that holds `app` (every app when `None`) in namespace `ns`, said for a tooltip.
    let locked = |ns: &str, app: Option<&str>| {
        locks
            .locks
            .iter()
            .filter(|l| l.environment == ns)
            .find(|l| l.app.is_none() || l.app.as_deref() == app)
            .map(|l| format!("{} is locked by {}: {}", l.target(), l.by, l.reason))
    };
    html! {
        <>
            <h1>{"Environments"}</h1>
            <p class="hint">{"Latest deploy of every app in every namespace. Columns follow the pipeline; set "}
               <code>{"?order=dev,stage,prod"}</code>{" to choose."}</p>
            <LockPanel locks={(*locks).clone()} environments={columns.clone()} {on_change} />
            <DriftNotes drifts={drifts(matrix, &columns)} />
            <div class="table-wrap">
            <table class="grid">
                <thead><tr>
                    <th scope="col">{"App"}</th>
                    { for columns.iter().map(|ns| html! {
                        <th scope="col">{ns}
                            if let Some(why) = locked(ns, None) {
                                <span class="lock-mark" title={why.clone()} aria-label={why}>{" 🔒"}</span>
                            }
                        </th>
                    }) }
                </tr></thead>
                <tbody>
                { for matrix.apps.iter().map(|app| html! {
                    <tr class="app-row">
                        <th scope="row">{app}</th>
                        { for columns.iter().map(|ns| html! {
                            <CellView cell={matrix.cell(app, ns).cloned()} locked={locked(ns, Some(app))} />
                        }) }
                    </tr>
                }) }
                </tbody>
            </table>
            </div>
        </>
    }
}

#[derive(Properties, PartialEq)]
struct CellProps {
    cell: Option<EnvironmentCell>,
    /// Why deploys of this app to this namespace are held, when a lock holds them.
    locked: Option<String>,
}

#[function_component(CellView)]
fn cell_view(props: &CellProps) -> Html {
    let Some(cell) = &props.cell else {
        return html! { <td class="cell none"><span class="visually-hidden">{"never deployed"}</span>{"—"}</td> };
    };
    let latest = &cell.latest;
    let running = cell.latest_success.as_ref().filter(|s| s.id != latest.id);
    html! {
        <td class={classes!("cell", latest.status.as_str().to_owned())}>
            <Link<Route> to={Route::Deploy { id: latest.id.0 }} classes="version">
                { latest.label().to_owned() }
            </Link<Route>>
            <div><StatusBadge status={latest.status} />
                if let Some(why) = &props.locked {
                    <span class="lock-mark" title={why.clone()} aria-label={why.clone()}>{" 🔒"}</span>
                }
            </div>
            <div class="meta"><TimeAgo at={latest.started_at} />{" · "}{&latest.actor}</div>
            <div class="meta commit" title={latest.commit_title.clone()}>
                <code>{&latest.commit_sha}</code>{" · "}{contents(latest)}
            </div>
            if let Some(running) = running {
                if latest.status != DeployStatus::InProgress || running.version != latest.version {
                    <div class="meta">{"running "}
                        <Link<Route> to={Route::Deploy { id: running.id.0 }}>
                            { running.label().to_owned() }
                        </Link<Route>>
                    </div>
                }
            }
        </td>
    }
}

/// "2 workloads", or the resources when no workload was listed ("1 resource").
fn contents(deploy: &DeploySummary) -> String {
    let counted = |n: u32, noun: &str| match n {
        1 => format!("1 {noun}"),
        n => format!("{n} {noun}s"),
    };
    if deploy.workloads > 0 || deploy.resources == 0 {
        counted(deploy.workloads, "workload")
    } else {
        counted(deploy.resources, "resource")
    }
}

#[derive(Properties, PartialEq)]
struct DriftProps {
    drifts: Vec<Drift>,
}

#[function_component(DriftNotes)]
fn drift_notes(props: &DriftProps) -> Html {
    if props.drifts.is_empty() {
        return html! {};
    }
    html! {
        <ul class="drift" aria-label="Namespaces running different versions">
            { for props.drifts.iter().map(|d| html! { <DriftNote drift={d.clone()} /> }) }
        </ul>
    }
}

#[derive(Properties, PartialEq)]
struct OneDriftProps {
    drift: Drift,
}

/// "stage is 3 deploys ahead of prod": counts the successful deploys of the app to the ahead
/// namespace since the behind namespace's version was deployed.
#[function_component(DriftNote)]
fn drift_note(props: &OneDriftProps) -> Html {
    let count = use_state(|| None::<String>);
    {
        let (count, drift) = (count.clone(), props.drift.clone());
        use_effect_with(props.drift.clone(), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let query = HistoryQuery {
                    app: Some(drift.app.clone()),
                    namespace: Some(drift.ahead.namespace.clone()),
                    status: Some(DeployStatus::Succeeded),
                    since: Some(drift.behind.deploy.started_at),
                    limit: Some(100),
                    ..Default::default()
                };
                if let Ok(page) = api::history(&query).await {
                    let more = if page.next_cursor.is_some() { "+" } else { "" };
                    count.set(Some(format!("{}{more}", page.items.len())));
                }
            });
        });
    }
    let d = &props.drift;
    let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "an unversioned build".into());
    html! {
        <li>
            <strong>{&d.app}</strong>{": "}{&d.ahead.namespace}
            { match &*count {
                Some(n) => format!(" is {n} deploy{} ahead of ", if n == "1" { "" } else { "s" }),
                None => " is ahead of ".to_owned(),
            } }
            {&d.behind.namespace}
            {format!(" ({} vs {})", version(&d.ahead.deploy.version), version(&d.behind.deploy.version))}
        </li>
    }
}
