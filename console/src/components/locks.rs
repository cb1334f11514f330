//! Environment locks in the console: what holds deploys now (locks and open freeze windows)
//! with an Unlock button each, and a form to lock an environment with a reason. The server
//! decides whether the console may (`--console-locks`); its refusal is shown as it says it.

use shiplog_model::{Freeze, Lock, LockRequest, Locks};
use yew::prelude::*;

use crate::api;
use crate::components::time_ago::TimeAgo;
use crate::pages::history::form_pairs;
use crate::time::absolute;

/// The locks and open freezes that concern `environments` (all of them when `None`).
pub fn holding<'a>(
    locks: &'a Locks,
    environments: Option<&'a [String]>,
) -> (Vec<&'a Lock>, Vec<&'a Freeze>) {
    let concerns = |name: &str| environments.is_none_or(|names| names.iter().any(|n| n == name));
    (
        locks
            .locks
            .iter()
            .filter(|l| concerns(&l.environment))
            .collect(),
        locks
            .freezes
            .iter()
            .filter(|f| f.active && (f.environment == "*" || concerns(&f.environment)))
            .collect(),
    )
}

#[derive(Properties, PartialEq)]
pub struct LocksProps {
    pub locks: Locks,
    /// The environments (namespaces) offered to lock, and whose holds are listed.
    pub environments: Vec<String>,
    /// Asked after a lock or unlock succeeded.
    pub on_change: Callback<()>,
}

/// The holds on the page's environments, each lock with an Unlock button, and the lock form.
#[function_component(LockPanel)]
pub fn lock_panel(props: &LocksProps) -> Html {
    let failure = use_state(|| None::<String>);
    let form = use_node_ref();
    let (locks, freezes) = holding(&props.locks, Some(&props.environments));
    let onsubmit = {
        let (form, failure, on_change) = (form.clone(), failure.clone(), props.on_change.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(element) = form.cast::<web_sys::HtmlFormElement>() else {
                return;
            };
            let pairs = form_pairs(&element);
            let field = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let environment = field("environment");
            let request = LockRequest {
                reason: field("reason"),
                by: field("by"),
            };
            if let Err(e) = request.validate() {
                failure.set(Some(format!("{}: {}", e.field, e.message)));
                return;
            }
            let (failure, on_change) = (failure.clone(), on_change.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::lock(&environment, None, &request).await {
                    Ok(_) => {
                        failure.set(None);
                        on_change.emit(());
                    }
                    Err(e) => failure.set(Some(e.to_string())),
                }
            });
        })
    };
    html! {
        <section class="locks" aria-label="Locks">
            if !locks.is_empty() || !freezes.is_empty() {
                <ul class="holds">
                    { for locks.iter().map(|lock| html! {
                        <LockRow lock={(*lock).clone()} on_change={props.on_change.clone()} failure={failure.clone()} />
                    }) }
                    { for freezes.iter().map(|freeze| html! { <FreezeRow freeze={(*freeze).clone()} /> }) }
                </ul>
            }
            <details class="lock-form">
                <summary>{"Lock an environment…"}</summary>
                <form ref={form} {onsubmit} aria-label="Lock an environment">
                    <label>{"Environment"}
                        <select name="environment">
                            { for props.environments.iter().map(|e| html! { <option value={e.clone()}>{e}</option> }) }
                        </select>
                    </label>
                    <label>{"Reason"}<input name="reason" type="text" required=true maxlength="1024" placeholder="incident 4711" /></label>
                    <label>{"Your name"}<input name="by" type="text" required=true maxlength="256" placeholder="@octocat" /></label>
                    <button type="submit">{"Lock"}</button>
                </form>
            </details>
            if let Some(message) = &*failure {
                <p class="error" role="alert">{message}</p>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct LockRowProps {
    lock: Lock,
    on_change: Callback<()>,
    failure: UseStateHandle<Option<String>>,
}

#[function_component(LockRow)]
fn lock_row(props: &LockRowProps) -> Html {
    let lock = &props.lock;
    let onclick = {
        let (lock, on_change, failure) =
            (lock.clone(), props.on_change.clone(), props.failure.clone());
        Callback::from(move |_| {
            let Some(by) = ask_name() else {
                return;
            };
            let (lock, on_change, failure) = (lock.clone(), on_change.clone(), failure.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match api::unlock(&lock.environment, lock.app.as_deref(), &by).await {
                    Ok(()) => {
                        failure.set(None);
                        on_change.emit(());
                    }
                    Err(e) => failure.set(Some(e.to_string())),
                }
            });
        })
    };
    html! {
        <li class="hold locked">
            { lock_words(lock) }
            {" "}<button type="button" class="unlock" {onclick}>{format!("Unlock {}", lock.target())}</button>
        </li>
    }
}

/// "🔒 prod is locked by @octocat 5 min ago: “incident 4711”", as text nodes only.
fn lock_words(lock: &Lock) -> Html {
    html! {
        <>
            <span aria-hidden="true">{"🔒 "}</span>
            <strong>{lock.target()}</strong>{" is locked by "}{&lock.by}{" "}<TimeAgo at={lock.since} />
            {": "}<q>{&lock.reason}</q>
        </>
    }
}

/// Who unlocks, asked with the browser's prompt (`None`: cancelled).
fn ask_name() -> Option<String> {
    let window = web_sys::window()?;
    let name = window
        .prompt_with_message("Unlock as (your name):")
        .ok()
        .flatten()?;
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

#[derive(Properties, PartialEq)]
struct FreezeRowProps {
    freeze: Freeze,
}

#[function_component(FreezeRow)]
fn freeze_row(props: &FreezeRowProps) -> Html {
    let freeze = &props.freeze;
    let environment = match freeze.environment.as_str() {
        "*" => "Every environment".to_owned(),
        name => name.to_owned(),
    };
    html! {
        <li class="hold frozen">
            <span aria-hidden="true">{"❄ "}</span>
            <strong>{environment}</strong>{" is frozen"}
            if let Some(until) = freeze.until {
                {" until "}<time datetime={until.to_rfc3339()}>{absolute(until)}</time>
            }
            {" (freeze window "}<code>{&freeze.window}</code>{")"}
        </li>
    }
}

/// The holds on one environment, or on every one, as a banner (the history page).
#[derive(Properties, PartialEq)]
pub struct BannerProps {
    /// The environment the page shows; every hold when `None`.
    pub environment: Option<String>,
}

#[function_component(LockBanner)]
pub fn lock_banner(props: &BannerProps) -> Html {
    let locks = use_state(|| None::<Locks>);
    {
        let locks = locks.clone();
        use_effect_with(props.environment.clone(), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(answer) = api::locks().await {
                    locks.set(Some(answer));
                }
            });
        });
    }
    let Some(answer) = &*locks else {
        return html! {};
    };
    let names = props.environment.clone().map(|e| vec![e]);
    let (held, frozen) = holding(answer, names.as_deref());
    if held.is_empty() && frozen.is_empty() {
        return html! {};
    }
    html! {
        <ul class="holds banner" aria-label="Deploys held">
            { for held.iter().map(|lock| html! { <li class="hold locked">{ lock_words(lock) }</li> }) }
            { for frozen.iter().map(|freeze| html! { <FreezeRow freeze={(*freeze).clone()} /> }) }
        </ul>
    }
}
