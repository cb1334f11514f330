//! The console's sign-in, for servers with a read token: `GET /sign-in` shows a form (plain
//! HTML, no script, styled by the console's own stylesheet, so the strict Content-Security-Policy
//! holds); `POST /sign-in` exchanges the read token for the session cookie ([`crate::auth::session`])
//! and goes back to the page that asked; `POST /sign-out` clears it. Not for API clients: they
//! send `Authorization: Bearer`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

use crate::AppState;

/// The longest `next` path kept; a longer one goes to `/`.
const NEXT_LIMIT: usize = 2048;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(page).post(sign_in))
        .route("/sign-out", post(sign_out))
}

/// Where the sign-in page sends a browser that must sign in to see `path_and_query`.
pub fn sign_in_url(path_and_query: &str) -> String {
    format!(
        "/sign-in?next={}",
        utf8_percent_encode(path_and_query, NON_ALPHANUMERIC)
    )
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

async fn page(State(state): State<AppState>, Query(query): Query<NextQuery>) -> Response {
    let next = local_path(query.next.as_deref());
    if !state.auth.read_protected() {
        return Redirect::to(next).into_response();
    }
    render(StatusCode::OK, next, None)
}

async fn sign_in(State(state): State<AppState>, Form(form): Form<SignInForm>) -> Response {
    let next = local_path(form.next.as_deref());
    let Some(session) = state.auth.session() else {
        return Redirect::to(next).into_response();
    };
    if !state.auth.is_read_token(&form.token) {
        tracing::info!("a console sign-in with a wrong read token was refused");
        return render(
            StatusCode::UNAUTHORIZED,
            next,
            Some("That is not this server's read token."),
        );
    }
    with_cookie(Redirect::to(next), &session.set_cookie(Utc::now()))
}

async fn sign_out(State(state): State<AppState>) -> Response {
    match state.auth.session() {
        Some(session) => with_cookie(Redirect::to("/sign-in"), &session.clear_cookie()),
        None => Redirect::to("/").into_response(),
    }
}

fn with_cookie(redirect: Redirect, cookie: &str) -> Response {
    let mut response = redirect.into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

/// `next` when it is a path on this server, else `/`: the form must not send a browser away.
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/sign-")
                && path.len() <= NEXT_LIMIT
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/",
    }
}

fn render(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let text = |s: &str| html_escape::encode_text(s).into_owned();
    let attr = |s: &str| html_escape::encode_double_quoted_attribute(s).into_owned();
    let error = error
        .map(|e| format!("<p class=\"state error\" role=\"alert\">{}</p>", text(e)))
        .unwrap_or_default();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"color-scheme\" content=\"light dark\">\
         <title>Sign in · shiplog</title>{stylesheet}</head>\
         <body><header class=\"site\"><span class=\"brand\">shiplog</span></header>\
         <main id=\"main\" class=\"sign-in\"><h1>Sign in</h1>\
         <p>This server's deploy history is private. Enter its read token to see it.</p>{error}\
         <form method=\"post\" action=\"/sign-in\" class=\"sign-in\">\
         <label for=\"token\">Read token</label>\
         <input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
         <input type=\"hidden\" name=\"next\" value=\"{next}\">\
         <button type=\"submit\">Sign in</button></form></main></body></html>",
        stylesheet = crate::console::stylesheet_link().unwrap_or_default(),
        next = attr(next),
    );
    let mut response = (status, html).into_response();
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(
            local_path(Some("/history?status=failed")),
            "/history?status=failed"
        );
        for away in [
            "https://evil.test/",
            "//evil.test/",
            "/\\evil.test",
            "evil",
            "/sign-in",
            "/x\r\nSet-Cookie: a=b",
        ] {
            assert_eq!(local_path(Some(away)), "/", "{away}");
        }
        assert_eq!(local_path(None), "/");
        assert_eq!(
            sign_in_url("/history?q=a b"),
            "/sign-in?next=%2Fhistory%3Fq%3Da%20b"
        );
    }
}
