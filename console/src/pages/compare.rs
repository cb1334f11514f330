//! `/compare/{from}/{to}`: what deploy `to` applied against what deploy `from` applied, object
//! by object, from the manifests the server keeps with each record. A shareable URL.

use shiplog_model::{DeployId, ManifestsDiff, ObjectChange};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::components::diff::Diff;
use crate::components::states::{ErrorNote, Loading};
use crate::route::Route;

#[derive(Properties, PartialEq)]
pub struct CompareProps {
    pub from: i64,
    pub to: i64,
}

#[function_component(ComparePage)]
pub fn compare_page(props: &CompareProps) -> Html {
    let loaded = use_state(|| None as Option<Result<ManifestsDiff, String>>);
    {
        let loaded = loaded.clone();
        let ids = (DeployId(props.from), DeployId(props.to));
        use_effect_with(ids, move |(from, to)| {
            let (from, to) = (*from, *to);
            loaded.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let answer = api::compare(from, to).await.map_err(|e| e.to_string());
                loaded.set(Some(answer));
            });
        });
    }
    let title = html! {
        <h1>{"Deploy "}<Link<Route> to={Route::Deploy { id: props.from }}>{format!("#{}", props.from)}</Link<Route>>
            {" → "}<Link<Route> to={Route::Deploy { id: props.to }}>{format!("#{}", props.to)}</Link<Route>></h1>
    };
    let body = match &*loaded {
        None => html! { <Loading /> },
        Some(Err(message)) => html! { <ErrorNote message={message.clone()} /> },
        Some(Ok(diff)) => view(diff),
    };
    html! { <article class="compare">{title}{body}</article> }
}

fn view(diff: &ManifestsDiff) -> Html {
    let count = |change| diff.objects.iter().filter(|o| o.change == change).count();
    let word = |change| match change {
        ObjectChange::Added => "added",
        ObjectChange::Removed => "removed",
        ObjectChange::Changed => "changed",
    };
    html! {
        <>
            <p class="lead summary">{format!(
                "{} changed · {} added · {} removed · {} unchanged",
                count(ObjectChange::Changed), count(ObjectChange::Added),
                count(ObjectChange::Removed), diff.unchanged
            )}</p>
            { for diff.notes.iter().map(|note| html! { <p class="state note">{note}</p> }) }
            if diff.objects.is_empty() && diff.notes.is_empty() {
                <p class="state empty">{"Both deploys applied the same objects."}</p>
            }
            { for diff.objects.iter().map(|object| html! {
                <details class={classes!("object", word(object.change))} open=true>
                    <summary><code>{&object.object}</code>{" "}{word(object.change)}</summary>
                    <Diff text={object.diff.clone()} />
                </details>
            }) }
        </>
    }
}
