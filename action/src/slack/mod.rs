//! Slack notifications about a deploy: [`message`] builds the messages from the deploy record
//! (pure, within Slack's limits, record text escaped — helped by [`mrkdwn`]), [`client`] sends
//! them through the [`Host`](crate::host::Host) — an incoming webhook, or the Web API with a
//! bot token for the "deploying" message updated in place, the failure thread and the
//! permalink — and [`native`] (feature `cli`) builds a client over the native host.
//!
//! Slack trouble never changes a deploy's outcome: every failure is a
//! [`SlackError`](client::SlackError) value for the caller to report as a warning.

pub mod client;
pub mod job;
pub mod message;
pub mod mrkdwn;
#[cfg(feature = "cli")]
pub mod native;
