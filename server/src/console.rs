//! Serves the console: its hashed assets with long-lived caching, and its `index.html` for every
//! other non-API path so deep links (`/history?…`, `/deploys/{id}`) open the app. For
//! `/deploys/{id}` the page's `<title>` and OpenGraph tags describe the deploy, so a link pasted
//! into Slack previews as "✅ api → prod · v1.4.2 · alice".
//!
//! When a read token protects the data, the app's page is served only to a signed-in browser
//! (or a bearer of a read credential); others are sent to `/sign-in` ([`crate::sign_in`]).
//!
//! The console is embedded in release builds and read from `console/dist` in debug builds; when
//! it has not been built, a short page says how to build it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use shiplog_model::{Deploy, DeployId, DeployStatus};

use crate::AppState;
use crate::error::AppError;

#[derive(rust_embed::Embed)]
#[folder = "../console/dist"]
#[allow_missing = true]
struct Assets;

const NOT_BUILT: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>shiplog</title></head><body><main><h1>shiplog</h1><p>The console has not been built. \
Run <code>cargo xtask console</code> (or <code>cargo xtask demo</code>), then reload. \
The API is at <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p></main></body></html>";

/// Every GET the API does not answer: an asset, or the app.
pub async fn fallback(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || (method != Method::GET && method != Method::HEAD) {
        return AppError::NotFound("no such route".into()).into_response();
    }
    let name = path.trim_start_matches('/');
    if !name.is_empty()
        && name != "index.html"
        && let Some(asset) = Assets::get(name)
    {
        return asset_response(name, asset);
    }
    if let Some(sign_in) = must_sign_in(&state, &uri, &headers) {
        return sign_in;
    }
    app_page(None, state.auth.read_protected())
}

/// `/deploys/{id}`: the app, with link-preview tags for the deploy.
pub async fn deploy_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(sign_in) = must_sign_in(&state, &uri, &headers) {
        return sign_in;
    }
    // Previews must not reveal what a read token protects.
    let deploy = match (state.auth.read_protected(), id.parse::<DeployId>()) {
        (false, Ok(id)) => state.store.get(id).await.ok(),
        _ => None,
    };
    app_page(
        deploy.map(|d| Preview::of(&d, &state.deploy_url(d.id))),
        state.auth.read_protected(),
    )
}

/// A redirect to the sign-in page when a read token protects the data and the request has no
/// read credential.
fn must_sign_in(state: &AppState, uri: &Uri, headers: &HeaderMap) -> Option<Response> {
    state.auth.reader(headers).err().map(|_| {
        let here = uri.path_and_query().map_or("/", |p| p.as_str());
        Redirect::to(&crate::sign_in::sign_in_url(here)).into_response()
    })
}

/// The console's stylesheet `<link>`, for server-rendered pages (the sign-in page).
pub fn stylesheet_link() -> Option<String> {
    let index = Assets::get("index.html")?;
    let html = String::from_utf8_lossy(&index.data);
    html.split("<link")
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(attributes, _)| attributes))
        .find(|attributes| attributes.contains("rel=\"stylesheet\""))
        .map(|attributes| format!("<link{attributes}>"))
}

fn asset_response(name: &str, asset: rust_embed::EmbeddedFile) -> Response {
    let cache = if is_hashed(name) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mime = asset.metadata.mimetype().to_owned();
    let mut response = asset.data.into_owned().into_response();
    let headers = response.headers_mut();
    if let Ok(mime) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, mime);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// trunk names built assets `name-<16 hex digits>[_bg].ext`; such a name never changes content.
fn is_hashed(name: &str) -> bool {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The app's page. `signed_in`: reading needs a credential and this request had one (the
/// console then offers to sign out).
fn app_page(preview: Option<Preview>, signed_in: bool) -> Response {
    let Some(index) = Assets::get("index.html") else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response();
    };
    let html = String::from_utf8_lossy(&index.data).into_owned();
    let policy = content_security_policy(&html);
    let html = match preview {
        Some(preview) => preview.inject(&html),
        None => html,
    };
    let html = if signed_in {
        html.replacen(
            "</head>",
            "<meta name=\"shiplog-session\" content=\"signed-in\"></head>",
            1,
        )
    } else {
        html
    };
    let mut response = html.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if let Ok(policy) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    response
}

/// A policy that allows only this origin, WebAssembly compilation, and the page's own inline
/// boot script (by hash).
fn content_security_policy(html: &str) -> String {
    let hashes: String = inline_scripts(html)
        .map(|script| {
            format!(
                " 'sha256-{}'",
                STANDARD.encode(Sha256::digest(script.as_bytes()))
            )
        })
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{hashes}; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The bodies of `<script>` elements that have no `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (attributes, after) = rest.split_once('>')?;
        let (body, _) = after.split_once("</script>")?;
        (!attributes.contains("src=")).then_some(body)
    })
}

/// What a link preview of a deploy shows.
struct Preview {
    title: String,
    description: String,
    url: String,
}

impl Preview {
    fn of(deploy: &Deploy, url: &str) -> Preview {
        let mut title = format!(
            "{} {} → {}",
            status_emoji(deploy.status),
            deploy.app,
            deploy.namespace
        );
        if let Some(version) = &deploy.version {
            title.push_str(&format!(" · {version}"));
        }
        title.push_str(&format!(" · {}", deploy.actor));
        let mut description = format!(
            "{} {} to {} — {} ({})",
            deploy.status.as_str().replace('_', " "),
            deploy.app,
            deploy.environment,
            deploy.commit.title(),
            deploy.commit.short_sha()
        );
        if let Some(failure) = &deploy.failure {
            description.push_str(&format!(". {}", failure.reason));
        }
        Preview {
            title,
            description,
            url: url.to_owned(),
        }
    }

    /// Replaces the page's `<title>` and adds OpenGraph and Twitter card tags.
    fn inject(&self, html: &str) -> String {
        let attr = |text: &str| html_escape::encode_double_quoted_attribute(text).into_owned();
        let tags = format!(
            "<title>{title_text}</title>\n\
             <meta property=\"og:site_name\" content=\"shiplog\">\n\
             <meta property=\"og:type\" content=\"website\">\n\
             <meta property=\"og:title\" content=\"{title}\">\n\
             <meta property=\"og:description\" content=\"{description}\">\n\
             <meta property=\"og:url\" content=\"{url}\">\n\
             <meta name=\"twitter:card\" content=\"summary\">\n\
             <meta name=\"twitter:title\" content=\"{title}\">\n\
             <meta name=\"twitter:description\" content=\"{description}\">\n\
             <meta name=\"description\" content=\"{description}\">",
            title_text = html_escape::encode_text(&self.title),
            title = attr(&self.title),
            description = attr(&self.description),
            url = attr(&self.url),
        );
        match (html.find("<title>"), html.find("</title>")) {
            (Some(start), Some(end)) if start < end => {
                format!(
                    "{}{tags}{}",
                    &html[..start],
                    &html[end + "</title>".len()..]
                )
            }
            _ => html.replacen("</head>", &format!("{tags}</head>"), 1),
        }
    }
}

fn status_emoji(status: DeployStatus) -> &'static str {
    match status {
        DeployStatus::Succeeded => "✅",
        DeployStatus::Failed => "❌",
        DeployStatus::RolledBack => "↩️",
        DeployStatus::InProgress => "⏳",
        DeployStatus::Cancelled => "⚪",
        DeployStatus::Abandoned => "❔",
        DeployStatus::Blocked => "⛔",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_asset_names_are_recognised() {
        assert!(is_hashed("shiplog-console-0123456789abcdef_bg.wasm"));
        assert!(is_hashed("shiplog-console-0123456789abcdef.js"));
        assert!(is_hashed("style-0123456789abcdef.css"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("favicon.svg"));
    }

    #[test]
    fn inline_scripts_are_hashed_into_the_policy() {
        let html =
            "<head><script src=\"/a.js\"></script><script type=\"module\">boot()</script></head>";
        let scripts: Vec<_> = inline_scripts(html).collect();
        assert_eq!(scripts, ["boot()"]);
        let policy = content_security_policy(html);
        let expected = STANDARD.encode(Sha256::digest(b"boot()"));
        assert!(policy.contains(&format!("'sha256-{expected}'")), "{policy}");
        assert!(policy.contains("'wasm-unsafe-eval'"));
    }

    #[test]
    fn preview_tags_escape_record_text() {
        let preview = Preview {
            title: "✅ api → prod · v1 · \"eve\" <script>".into(),
            description: "a & b".into(),
            url: "https://x/deploys/1".into(),
        };
        let html = preview.inject("<html><head><title>shiplog</title></head></html>");
        assert!(
            html.contains("<title>✅ api → prod · v1 · \"eve\" &lt;script&gt;</title>"),
            "{html}"
        );
        assert!(
            html.contains("content=\"✅ api → prod · v1 · &quot;eve&quot; &lt;script&gt;\""),
            "{html}"
        );
        assert!(!html.contains("<script>"));
        assert_eq!(html.matches("<title>").count(), 1);
    }
}
