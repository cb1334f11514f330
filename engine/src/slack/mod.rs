//! Slack notifications: [`message`] builds the messages about a deploy from its record and
//! [`job`] the alert about a job's failed steps (pure, within Slack's limits, record text
//! escaped — helped by [`mrkdwn`], in the Block Kit pieces of [`blocks`]); [`client`] sends them through the
//! [`Host`](crate::host::Host) — an incoming webhook, or the Web API with a bot token for the
//! "deploying" message updated in place, the failure thread and the permalink. A client for a
//! webhook URL or a bot token is built over any platform by
//! [`pipeline::notify::slack_client`](crate::pipeline::notify::slack_client).
//!
//! Slack trouble never changes a deploy's outcome: every failure is a
//! [`SlackError`](client::SlackError) value for the caller to report as a warning.

pub mod blocks;
pub mod client;
pub mod job;
pub mod message;
pub mod mrkdwn;
