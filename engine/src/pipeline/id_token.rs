//! The job's OIDC ID token as the history server's bearer token, when no `server-token` is
//! given and the runner offers one (`permissions: id-token: write`); its audience is the
//! server's URL. The token is masked as soon as it is read. See `github_oidc` for the
//! request's shape.

use crate::kube::client::Kube;
use crate::kube::request::Request;
use crate::kube::retry::Backoff;
use crate::pipeline::github_oidc::{IdToken, REQUEST_TOKEN, REQUEST_URL, request_parts};
use crate::pipeline::{Platform, ServerTarget};

/// A few quick retries: the token service is on the runner's path to GitHub.
const BACKOFF: Backoff = Backoff {
    attempts: 3,
    connect_attempts: 2,
    first: std::time::Duration::from_millis(200),
    max: std::time::Duration::from_secs(2),
};

/// The history server to record in: `server` itself, or — when it has no token and the runner
/// offers an ID token — `server` with the job's ID token. A failure is a warning: the server
/// will then refuse the record, which only warns too.
pub async fn target<P: Platform>(
    platform: &P,
    server: Option<&ServerTarget>,
) -> Option<ServerTarget> {
    let mut server = server?.clone();
    if server.token.is_some() {
        return Some(server);
    }
    let (Some(url), Some(token)) = (platform.env(REQUEST_URL), platform.env(REQUEST_TOKEN)) else {
        return Some(server);
    };
    platform.mask(&token);
    let audience = server.url.trim_end_matches('/').to_owned();
    match request(platform, &url, &token, &audience).await {
        Ok(id_token) => {
            platform.log("the deploy is recorded with this job's OIDC token");
            server.token = Some(id_token);
        }
        Err(e) => platform.warn(&format!(
            "no OIDC token for the history server ({e}); the deploy is sent without credentials"
        )),
    }
    Some(server)
}

async fn request<P: Platform>(
    platform: &P,
    url: &str,
    token: &str,
    audience: &str,
) -> Result<String, String> {
    let (base, path) = request_parts(url, audience)?;
    let service = Kube::new(platform.public_host(&base, Some(token))?, BACKOFF);
    let answer = service
        .send(&Request::get(path))
        .await
        .map_err(|e| format!("the runner's token service: {e}"))?;
    let IdToken { value } = serde_json::from_slice(&answer.body)
        .map_err(|_| "the runner's token service answered without a token".to_owned())?;
    platform.mask(&value);
    Ok(value)
}
