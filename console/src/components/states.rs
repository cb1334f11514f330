//! Loading, error and empty states, so every page says clearly what is going on.

use yew::prelude::*;

#[function_component(Loading)]
pub fn loading() -> Html {
    html! { <p class="state loading" role="status" aria-live="polite">{"Loading…"}</p> }
}

#[derive(Properties, PartialEq)]
pub struct MessageProps {
    pub message: AttrValue,
}

#[function_component(ErrorNote)]
pub fn error_note(props: &MessageProps) -> Html {
    html! { <p class="state error" role="alert">{props.message.clone()}</p> }
}

#[function_component(Empty)]
pub fn empty(props: &MessageProps) -> Html {
    html! { <p class="state empty">{props.message.clone()}</p> }
}
