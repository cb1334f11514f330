//! Any path the console does not know.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::route::Route;

#[function_component(NotFound)]
pub fn not_found() -> Html {
    html! {
        <section>
            <h1>{"Page not found"}</h1>
            <p>{"This address does not lead to a shiplog view. "}
               <Link<Route> to={Route::Environments}>{"See what runs where"}</Link<Route>>{"."}</p>
        </section>
    }
}
