//! A deploy's webhook deliveries (`GET /api/v1/deliveries?deploy=ID`): each webhook told of the
//! deploy's start and end, whether it was delivered, after how many attempts, and what the
//! receiver last answered. Nothing is shown when no webhook is configured.

use shiplog_model::{Deliveries as Answer, Delivery, DeployId};
use yew::prelude::*;

use crate::api;
use crate::components::time_ago::TimeAgo;

#[derive(Properties, PartialEq)]
pub struct DeliveriesProps {
    pub deploy: DeployId,
    /// Changes when the deploy does (its end enqueues a delivery): fetched again then.
    pub revision: String,
}

#[function_component(DeliveryLog)]
pub fn delivery_log(props: &DeliveriesProps) -> Html {
    let answer = use_state(|| None::<Result<Answer, String>>);
    {
        let (answer, id) = (answer.clone(), props.deploy);
        use_effect_with((id, props.revision.clone()), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                answer.set(Some(api::deliveries(id).await.map_err(|e| e.to_string())));
            });
        });
    }
    let deliveries = match &*answer {
        Some(Ok(answer)) if !answer.deliveries.is_empty() => &answer.deliveries,
        Some(Err(message)) => {
            return html! { <p class="hint">{format!("Webhook deliveries could not be read: {message}")}</p> };
        }
        _ => return html! {},
    };
    html! {
        <section class="deliveries" aria-labelledby="deliveries-title">
            <h2 id="deliveries-title">{"Webhook deliveries"}</h2>
            <div class="table-wrap">
            <table class="deliveries">
                <thead><tr>
                    <th scope="col">{"Webhook"}</th><th scope="col">{"Event"}</th>
                    <th scope="col">{"State"}</th><th scope="col">{"Attempts"}</th>
                    <th scope="col">{"Last answer"}</th><th scope="col">{"When"}</th>
                </tr></thead>
                <tbody>{ for deliveries.iter().map(row) }</tbody>
            </table>
            </div>
        </section>
    }
}

fn row(delivery: &Delivery) -> Html {
    let answer = match (&delivery.last_status, &delivery.last_error) {
        (Some(status), _) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "—".into(),
    };
    let state = delivery.state.as_str();
    html! {
        <tr data-delivery-id={delivery.id.to_string()}>
            <td>{&delivery.webhook}</td>
            <td>{delivery.event.as_str()}</td>
            <td class={classes!("delivery-state", state)}>{state}</td>
            <td>{delivery.attempts}</td>
            <td class="answer">{answer}</td>
            <td>
                if let Some(at) = delivery.delivered_at {
                    {"delivered "}<TimeAgo at={at} />
                } else if let Some(next) = delivery.next_attempt_at {
                    {"next attempt "}<TimeAgo at={next} />
                } else {
                    {"queued "}<TimeAgo at={delivery.created_at} />
                }
            </td>
        </tr>
    }
}
