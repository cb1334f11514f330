//! Slack over the native host (feature `cli`): a webhook URL or a bot token becomes a
//! [`Slack`] client whose errors mask that secret.

use super::client::{Slack, SlackError, WEB_API};
use crate::native::http::HttpHost;

fn host(base: &str, token: Option<&str>, secret: &str) -> Result<HttpHost, SlackError> {
    HttpHost::public(base, token.map(str::to_owned))
        .map_err(|e| SlackError::Unreachable(e.replace(secret, "***")))
}

/// Slack through the incoming webhook at `url`.
pub fn webhook(url: &str) -> Result<Slack<HttpHost>, SlackError> {
    Ok(Slack::webhook(host(url, None, url)?).masking(url))
}

/// Slack's Web API at `api` ([`WEB_API`] unless testing) with the bot `token`, posting to
/// `channel`.
pub fn bot(api: Option<&str>, token: &str, channel: &str) -> Result<Slack<HttpHost>, SlackError> {
    let host = host(api.unwrap_or(WEB_API), Some(token), token)?;
    Ok(Slack::bot(host, channel).masking(token))
}
