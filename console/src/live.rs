//! The live event stream (`/api/v1/stream`) as a hook: a component gets every created or
//! updated deploy while it is mounted. The connection closes when the component unmounts.

use futures_util::StreamExt as _;
use futures_util::future::{AbortHandle, Abortable};
use futures_util::stream::select;
use gloo_net::eventsource::futures::EventSource;
use shiplog_model::DeployEvent;
use yew::prelude::*;

/// Calls `on_event` for each deploy event while the calling component is mounted.
#[hook]
pub fn use_deploy_events(on_event: Callback<DeployEvent>) {
    use_effect_with((), move |_| {
        let (abort, registration) = AbortHandle::new_pair();
        let mut source = EventSource::new("/api/v1/stream").ok();
        let streams = source.as_mut().and_then(|source| {
            Some((
                source.subscribe("created").ok()?,
                source.subscribe("updated").ok()?,
            ))
        });
        if let Some((created, updated)) = streams {
            let events = select(created, updated).filter_map(|item| async move {
                let (_, message) = item.ok()?;
                serde_json::from_str::<DeployEvent>(&message.data().as_string()?).ok()
            });
            let task = events.for_each(move |event| {
                on_event.emit(event);
                async {}
            });
            wasm_bindgen_futures::spawn_local(async move {
                let _ = Abortable::new(task, registration).await;
            });
        }
        move || {
            abort.abort();
            drop(source);
        }
    });
}
