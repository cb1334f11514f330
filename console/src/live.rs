//! The live event stream (`/api/v1/stream`) as a hook: a component gets every created or
//! updated deploy while it is mounted, and is told to fetch what it shows again whenever events
//! may have been missed — after the server's `resync` event (the client fell too far behind and
//! the server closed the stream) and after any reconnection of a dropped stream. The hook
//! reconnects by itself; the connection closes when the component unmounts.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::select_all;
use gloo_net::eventsource::futures::EventSource;
use shiplog_model::DeployEvent;
use shiplog_model::event::RESYNC_EVENT;
use yew::prelude::*;

const STREAM: &str = "/api/v1/stream";
/// How long to wait before connecting again when the browser gave up on the stream (the server
/// refused it or is gone); while it only reconnects by itself, the browser keeps its own pace.
const RETRY: Duration = Duration::from_secs(5);

/// Calls `on_event` for each deploy event, and `on_resync` whenever events may have been
/// missed, while the calling component is mounted. The callbacks of the latest render are used.
#[hook]
pub fn use_deploy_events(on_event: Callback<DeployEvent>, on_resync: Callback<()>) {
    let latest = use_mut_ref(|| (on_event.clone(), on_resync.clone()));
    *latest.borrow_mut() = (on_event, on_resync);
    use_effect_with((), move |_| {
        let (abort, registration) = AbortHandle::new_pair();
        wasm_bindgen_futures::spawn_local(async move {
            let _ = Abortable::new(follow(latest), registration).await;
        });
        move || abort.abort()
    });
}

type Callbacks = Rc<RefCell<(Callback<DeployEvent>, Callback<()>)>>;

/// Follows the stream for as long as the future lives, connecting again after a `resync` or a
/// stream the browser gave up on. Every connection but the first is followed by `on_resync`
/// once it is open, so nothing published in between is missed.
async fn follow(callbacks: Callbacks) {
    let mut first = true;
    loop {
        let Ok(mut source) = EventSource::new(STREAM) else {
            return;
        };
        let subscriptions: Option<Vec<_>> = ["open", "created", "updated", RESYNC_EVENT]
            .into_iter()
            .map(|kind| source.subscribe(kind).ok())
            .collect();
        let Some(subscriptions) = subscriptions else {
            return;
        };
        let mut messages = select_all(subscriptions);
        while let Some(message) = messages.next().await {
            let Ok((kind, message)) = message else {
                // Closed for good (an error status, say): try again later.
                yew::platform::time::sleep(RETRY).await;
                break;
            };
            match kind.as_str() {
                // The browser reconnects a dropped stream by itself: each time, events may have
                // been missed.
                "open" if first => first = false,
                "open" => {
                    let on_resync = callbacks.borrow().1.clone();
                    on_resync.emit(());
                }
                kind if kind == RESYNC_EVENT => break,
                _ => {
                    let Some(data) = message.data().as_string() else {
                        continue;
                    };
                    if let Ok(event) = serde_json::from_str::<DeployEvent>(&data) {
                        let on_event = callbacks.borrow().0.clone();
                        on_event.emit(event);
                    }
                }
            }
        }
        first = false;
        drop(messages);
        source.close();
    }
}
