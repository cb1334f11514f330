//! The runner's OIDC ID token request: a job with `permissions: id-token: write` gets
//! `ACTIONS_ID_TOKEN_REQUEST_URL` and `ACTIONS_ID_TOKEN_REQUEST_TOKEN`; a GET of that URL with
//! `&audience=<audience>` and `Authorization: bearer <request token>` answers
//! `{"value": "<JWT>"}`. The request is sent by [`super::id_token`].

use crate::kube::request::encode;

/// The runner's variables for an ID token request.
pub const REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub const REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

/// Splits the request URL into its origin (the host's base) and the path with its query, with
/// `audience` added to the query.
pub fn request_parts(url: &str, audience: &str) -> Result<(String, String), String> {
    let (scheme, rest) = url
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "https" | "http"))
        .ok_or_else(|| format!("{REQUEST_URL} is not an http(s) URL"))?;
    let (host, path) = match rest.find(['/', '?']) {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    let path = if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    let audience = encode(audience);
    Ok((
        format!("{scheme}://{host}"),
        format!("{path}{separator}audience={audience}"),
    ))
}

/// The token service's answer.
#[derive(Debug, serde::Deserialize)]
pub struct IdToken {
    pub value: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audience_is_added_to_the_request_url() {
        assert_eq!(
            request_parts(
                "https://pipelines.actions.githubusercontent.com/abc/00000000/idtoken/x?api-version=2.0",
                "https://shiplog.acme.dev"
            )
            .unwrap(),
            (
                "https://pipelines.actions.githubusercontent.com".to_owned(),
                "/abc/00000000/idtoken/x?api-version=2.0&audience=https%3A%2F%2Fshiplog.acme.dev"
                    .to_owned()
            )
        );
        assert_eq!(
            request_parts("http://127.0.0.1:5000", "a b").unwrap(),
            (
                "http://127.0.0.1:5000".to_owned(),
                "/?audience=a%20b".to_owned()
            )
        );
        assert_eq!(
            request_parts("http://h?x=1", "a").unwrap().1,
            "/?x=1&audience=a"
        );
        assert!(request_parts("ftp://h/x", "a").is_err());
    }
}
