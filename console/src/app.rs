//! The application shell: router, header navigation, theme switch, and the page for the route.

use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::layout::Layout;
use crate::pages;
use crate::route::Route;

#[function_component(App)]
pub fn app() -> Html {
    html! {
        <BrowserRouter>
            <Layout>
                <Switch<Route> render={switch} />
            </Layout>
        </BrowserRouter>
    }
}

fn switch(route: Route) -> Html {
    match route {
        Route::Environments => html! { <pages::environments::EnvironmentsPage /> },
        Route::History => html! { <pages::history::HistoryPage /> },
        Route::Deploy { id } => html! { <pages::deploy::DeployPage {id} /> },
        Route::Compare { from, to } => html! { <pages::compare::ComparePage {from} {to} /> },
        Route::Insights => html! { <pages::insights::InsightsPage /> },
        Route::NotFound => html! { <pages::not_found::NotFound /> },
    }
}
