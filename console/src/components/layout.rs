//! The frame around every page: a skip link, the site navigation, the theme switch, and "Sign
//! out" when the server asked this browser to sign in (it marks the page with a
//! `<meta name="shiplog-session">`).

use yew::prelude::*;
use yew_router::prelude::*;

use crate::route::Route;
use crate::theme::{self, Theme};

#[derive(Properties, PartialEq)]
pub struct LayoutProps {
    pub children: Html,
}

#[function_component(Layout)]
pub fn layout(props: &LayoutProps) -> Html {
    let theme = use_state(theme::load);
    {
        let theme = *theme;
        use_effect_with(theme, move |theme| theme::apply(*theme));
    }
    let signed_in = use_state(signed_in);
    let route = use_route::<Route>();
    let nav_link = |to: Route, label: &str| {
        let current = route
            .as_ref()
            .is_some_and(|r| std::mem::discriminant(r) == std::mem::discriminant(&to));
        let aria = current.then_some("page");
        html! {
            <li><Link<Route> {to} classes={classes!(current.then_some("current"))}><span aria-current={aria}>{label}</span></Link<Route>></li>
        }
    };
    let on_theme = {
        let theme = theme.clone();
        Callback::from(move |e: Event| {
            let select: web_sys::HtmlSelectElement = e.target_unchecked_into();
            theme.set(Theme::parse(&select.value()));
        })
    };
    html! {
        <>
            <a class="skip" href="#main">{"Skip to content"}</a>
            <header class="site">
                <Link<Route> to={Route::Environments} classes="brand">{"shiplog"}</Link<Route>>
                <nav aria-label="Main">
                    <ul>
                        {nav_link(Route::Environments, "Environments")}
                        {nav_link(Route::History, "History")}
                        {nav_link(Route::Insights, "Insights")}
                    </ul>
                </nav>
                <label class="theme">
                    <span class="visually-hidden">{"Theme"}</span>
                    <select onchange={on_theme} aria-label="Theme">
                        { for Theme::ALL.iter().map(|t| html! {
                            <option value={t.as_str()} selected={*t == *theme}>{t.label()}</option>
                        }) }
                    </select>
                </label>
                if *signed_in {
                    <form class="sign-out" method="post" action="/sign-out">
                        <button type="submit">{"Sign out"}</button>
                    </form>
                }
            </header>
            <main id="main" tabindex="-1">{props.children.clone()}</main>
        </>
    }
}

/// Whether the server marked the page as seen by a signed-in browser.
fn signed_in() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| {
            document
                .query_selector("meta[name=\"shiplog-session\"]")
                .ok()
                .flatten()
        })
        .is_some()
}
