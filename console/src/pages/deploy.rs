//! `/deploys/{id}`: every fact of one deploy, its resource changes with each object's diff, the
//! failure explained, links to commit, run, Slack and the GitHub deployment, what changed since
//! the previous deploy of the same app and namespace, and a comparison of its manifests with any
//! other deploy there.
//! Updates live while the deploy is in progress.

use shiplog_model::{Deploy, DeployId, DeployStatus, ResourceAction};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::components::deliveries::DeliveryLog;
use crate::components::diff::{Diff, change_summary};
use crate::components::states::{ErrorNote, Loading};
use crate::components::status::StatusBadge;
use crate::components::time_ago::TimeAgo;
use crate::live::use_deploy_events;
use crate::route::Route;
use crate::time::duration;

#[derive(Properties, PartialEq)]
pub struct DeployProps {
    pub id: i64,
}

type Loaded = Option<Result<(Deploy, Option<Deploy>), String>>;

#[function_component(DeployPage)]
pub fn deploy_page(props: &DeployProps) -> Html {
    let loaded = use_state(|| None as Loaded);
    let refresh = use_state(|| 0u32);
    {
        let loaded = loaded.clone();
        let id = DeployId(props.id);
        use_effect_with((id, *refresh), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                let result = async {
                    let deploy = api::deploy(id).await?;
                    let previous = api::previous(&deploy).await?;
                    Ok((deploy, previous))
                };
                loaded.set(Some(
                    result.await.map_err(|e: api::ApiFailure| e.to_string()),
                ));
            });
        });
    }
    {
        let again = {
            let refresh = refresh.clone();
            Callback::from(move |()| refresh.set(*refresh + 1))
        };
        let id = props.id;
        let on_event = {
            let again = again.clone();
            Callback::from(move |event: shiplog_model::DeployEvent| {
                if event.deploy.id.0 == id {
                    again.emit(());
                }
            })
        };
        use_deploy_events(on_event, again);
    }
    match &*loaded {
        None => html! { <Loading /> },
        Some(Err(message)) => {
            html! { <><h1>{format!("Deploy #{}", props.id)}</h1><ErrorNote message={message.clone()} /></> }
        }
        Some(Ok((deploy, previous))) => {
            html! { <DeployView deploy={deploy.clone()} previous={previous.clone()} /> }
        }
    }
}

#[derive(Properties, PartialEq)]
struct ViewProps {
    deploy: Deploy,
    previous: Option<Deploy>,
}

#[function_component(DeployView)]
fn deploy_view(props: &ViewProps) -> Html {
    let d = &props.deploy;
    let version = d
        .version
        .clone()
        .unwrap_or_else(|| d.commit.short_sha().to_owned());
    let external = |url: &Option<String>, text: String| match url {
        Some(url) => html! { <a href={url.clone()} rel="noopener noreferrer">{text}</a> },
        None => html! { {text} },
    };
    html! {
        <article class="deploy">
            <h1>{format!("{} → {} · {}", d.app, d.namespace, version)}</h1>
            <p class="lead"><StatusBadge status={d.status} />{" by "}{&d.actor}{" · "}<TimeAgo at={d.started_at} /></p>
            if let Some(failure) = &d.failure {
                <section class="failure" aria-labelledby="failure-title">
                    <h2 id="failure-title">{failure_title(d.status)}</h2>
                    <p class="reason">{&failure.reason}</p>
                    if !failure.details.is_empty() {
                        <pre class="details">{failure.details.join("\n")}</pre>
                    }
                </section>
            }
            <section aria-labelledby="facts-title">
                <h2 id="facts-title">{"Facts"}</h2>
                <dl class="facts">
                    <dt>{"Repository"}</dt><dd>{&d.repo}</dd>
                    <dt>{"Environment"}</dt><dd>{&d.environment}</dd>
                    <dt>{"Namespace"}</dt><dd>{&d.namespace}</dd>
                    if let Some(cluster) = &d.cluster { <dt>{"Cluster"}</dt><dd>{cluster}</dd> }
                    <dt>{"Version"}</dt><dd>{version.clone()}</dd>
                    <dt>{"Images"}</dt><dd>{ if d.images.is_empty() { html!{"—"} } else { html! {
                        <ul>{ for d.images.iter().map(|i| html! { <li><code>{i}</code></li> }) }</ul> } } }</dd>
                    <dt>{"Commit"}</dt><dd>{external(&d.commit.url, d.commit.short_sha().to_owned())}
                        if let Some(git_ref) = &d.git_ref { {" on "}<code>{git_ref}</code> }
                        <pre class="commit-message">{&d.commit.message}</pre></dd>
                    <dt>{"Workflow run"}</dt><dd>{external(&d.run.url, format!("run {} attempt {} · job {}", d.run.id, d.run.attempt, d.run.job))}</dd>
                    <dt>{"Started"}</dt><dd><TimeAgo at={d.started_at} both=true /></dd>
                    if let Some(end) = d.finished_at { <dt>{"Finished"}</dt><dd><TimeAgo at={end} both=true /></dd> }
                    if let Some(took) = d.duration().filter(|_| d.status.has_outcome()) { <dt>{"Duration"}</dt><dd>{duration(took)}</dd> }
                    if let Some(due) = d.deadline.filter(|_| d.status == DeployStatus::InProgress) {
                        <dt>{"Result due"}</dt><dd><TimeAgo at={due} both=true /></dd>
                    }
                    if let Some(hold) = &d.lock_override {
                        <dt>{"Deployed despite"}</dt><dd class="override">{hold}{" (override-lock)"}</dd>
                    }
                    if let Some(restored) = d.restores {
                        <dt>{"Restores"}</dt><dd><Link<Route> to={Route::Deploy { id: restored.0 }}>{format!("deploy #{restored}")}</Link<Route>></dd>
                    }
                    if let Some(slack) = &d.slack {
                        <dt>{"Slack"}</dt><dd>{external(&slack.permalink, format!("message in {}", slack.channel))}</dd>
                    }
                    if let Some(github) = &d.github_deployment {
                        <dt>{"GitHub deployment"}</dt><dd>{external(&Some(github.url.clone()), format!("deployment {} to {}", github.id, d.environment))}</dd>
                    }
                </dl>
            </section>
            <Resources deploy={d.clone()} />
            <Changes deploy={d.clone()} previous={props.previous.clone()} />
            <DeliveryLog deploy={d.id} revision={format!("{}{:?}", d.status, d.finished_at)} />
        </article>
    }
}

/// The heading over a deploy's failure: a cancelled or abandoned deploy did not fail, it never
/// ended.
fn failure_title(status: DeployStatus) -> &'static str {
    match status {
        DeployStatus::Cancelled | DeployStatus::Abandoned => "Why it did not finish",
        DeployStatus::Blocked => "What held it",
        _ => "Why it failed",
    }
}

#[derive(Properties, PartialEq)]
struct ResourcesProps {
    deploy: Deploy,
}

#[function_component(Resources)]
fn resources(props: &ResourcesProps) -> Html {
    let d = &props.deploy;
    let [created, configured, unchanged, failed] = d.resource_counts();
    let with_diffs: Vec<&shiplog_model::ResourceChange> =
        d.resources.iter().filter(|r| r.diff.is_some()).collect();
    let action = |a: ResourceAction| match a {
        ResourceAction::Created => "created",
        ResourceAction::Configured => "configured",
        ResourceAction::Unchanged => "unchanged",
        ResourceAction::Failed => "failed",
    };
    html! {
        <section aria-labelledby="resources-title">
            <h2 id="resources-title">{"Resources"}</h2>
            if d.resources.is_empty() {
                <p class="state empty">{"No resource changes were reported."}</p>
            } else {
                <p>{format!("{created} created · {configured} configured · {unchanged} unchanged · {failed} failed")}</p>
                <div class="table-wrap"><table>
                    <thead><tr><th scope="col">{"Kind"}</th><th scope="col">{"Name"}</th><th scope="col">{"Namespace"}</th><th scope="col">{"Change"}</th><th scope="col">{"Note"}</th></tr></thead>
                    <tbody>{ for d.resources.iter().map(|r| html! {
                        <tr class={action(r.action)}>
                            <td>{&r.kind}</td><td>{&r.name}</td><td>{r.namespace.clone().unwrap_or_default()}</td>
                            <td>{action(r.action)}</td><td>{r.message.clone().unwrap_or_default()}</td>
                        </tr>
                    }) }</tbody>
                </table></div>
                if !with_diffs.is_empty() {
                    <h3>{"What changed"}</h3>
                    { for with_diffs.iter().map(|r| html! {
                        <details class={classes!("object", action(r.action))}>
                            <summary><code>{format!("{}/{}", r.kind, r.name)}</code>{" "}{action(r.action)}</summary>
                            <Diff text={r.diff.clone().unwrap_or_default()} />
                        </details>
                    }) }
                }
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ChangesProps {
    deploy: Deploy,
    previous: Option<Deploy>,
}

/// What differs from the previous deploy of the same app and namespace.
#[function_component(Changes)]
fn changes(props: &ChangesProps) -> Html {
    let Some(previous) = &props.previous else {
        return html! {
            <section aria-labelledby="changes-title"><h2 id="changes-title">{"Since the previous deploy"}</h2>
            <p class="state empty">{"This is the first recorded deploy of this app to this namespace."}</p>
            <CompareWith deploy={props.deploy.clone()} /></section>
        };
    };
    let d = &props.deploy;
    let added: Vec<&String> = d
        .images
        .iter()
        .filter(|i| !previous.images.contains(i))
        .collect();
    let removed: Vec<&String> = previous
        .images
        .iter()
        .filter(|i| !d.images.contains(i))
        .collect();
    let show = |v: &Option<String>, fallback: &Deploy| {
        v.clone()
            .unwrap_or_else(|| fallback.commit.short_sha().to_owned())
    };
    html! {
        <section aria-labelledby="changes-title">
            <h2 id="changes-title">{"Since the previous deploy"}</h2>
            <p>{"Previous: "}<Link<Route> to={Route::Deploy { id: previous.id.0 }}>{format!("#{} {}", previous.id, show(&previous.version, previous))}</Link<Route>>
               {" by "}{&previous.actor}{", "}<TimeAgo at={previous.started_at} />{" — "}<StatusBadge status={previous.status} /></p>
            <ul class="changes">
                <li>{format!("Version: {} → {}", show(&previous.version, previous), show(&d.version, d))}</li>
                <li>{format!("Commit: {} → {}", previous.commit.short_sha(), d.commit.short_sha())}</li>
                { for removed.iter().map(|i| html! { <li class="removed">{"− "}<code>{*i}</code></li> }) }
                { for added.iter().map(|i| html! { <li class="added">{"+ "}<code>{*i}</code></li> }) }
                if previous.actor != d.actor { <li>{format!("Deployed by {} (previously {})", d.actor, previous.actor)}</li> }
                <li>{format!("Objects: {}", change_summary(d.resource_counts()))}</li>
            </ul>
            <p><Link<Route> classes="compare-previous" to={Route::Compare { from: previous.id.0, to: d.id.0 }}>
                {format!("Compare the manifests with #{}", previous.id)}</Link<Route>></p>
            <CompareWith deploy={d.clone()} />
        </section>
    }
}

/// Deploys of the same app and namespace offered by "Compare with…".
const COMPARE_CHOICES: u32 = 20;

#[derive(Properties, PartialEq)]
struct CompareWithProps {
    deploy: Deploy,
}

/// "Compare with…": any other recent deploy of the same app and namespace, opening the
/// comparison of their manifests (the earlier one first).
#[function_component(CompareWith)]
fn compare_with(props: &CompareWithProps) -> Html {
    let choices = use_state(Vec::<Deploy>::new);
    {
        let choices = choices.clone();
        let deploy = props.deploy.clone();
        use_effect_with(deploy.id, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(found) = api::same_environment(&deploy, COMPARE_CHOICES).await {
                    choices.set(found.into_iter().filter(|d| d.id != deploy.id).collect());
                }
            });
        });
    }
    let navigator = use_navigator();
    let this = props.deploy.clone();
    let onchange = Callback::from(move |event: Event| {
        let select: web_sys::HtmlSelectElement = event.target_unchecked_into();
        let (Ok(other), Some(navigator)) = (select.value().parse::<i64>(), &navigator) else {
            return;
        };
        let (from, to) = if other < this.id.0 {
            (other, this.id.0)
        } else {
            (this.id.0, other)
        };
        navigator.push(&Route::Compare { from, to });
    });
    if choices.is_empty() {
        return html! {};
    }
    html! {
        <label class="compare-with">{"Compare with… "}
            <select name="compare" {onchange}>
                <option value="" selected=true>{"choose a deploy"}</option>
                { for choices.iter().map(|d| html! {
                    <option value={d.id.to_string()}>{format!("#{} {} · {}", d.id,
                        d.version.clone().unwrap_or_else(|| d.commit.short_sha().to_owned()), d.status.as_str())}</option>
                }) }
            </select>
        </label>
    }
}
