//! Block Kit pieces within Slack's documented limits: text objects, the four blocks the
//! messages use, and a message whose constructor fits its fallback and leaves out the blocks
//! beyond Slack's count and text limits. The messages themselves are built in
//! [`message`](super::message) and [`job`](super::job).

use serde::Serialize;
use serde_json::Value;

use super::mrkdwn::{escape_within, fit, width};

/// Slack's documented limits (see `DESIGN.md`, "Slack facts").
pub mod limits {
    /// Blocks per message.
    pub const BLOCKS: usize = 50;
    /// Characters of a header's text.
    pub const HEADER_TEXT: usize = 150;
    /// Characters of a section's text (and, here, of any other text object).
    pub const SECTION_TEXT: usize = 3000;
    /// Fields of a section.
    pub const FIELDS: usize = 10;
    /// Characters of one field.
    pub const FIELD_TEXT: usize = 2000;
    /// Elements of a context block.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// Characters of the top-level `text` fallback (Slack's advice: keep it short; it
    /// truncates at 40,000).
    pub const FALLBACK_TEXT: usize = 3000;
    /// Characters of all of a message's text together (Slack truncates a message there).
    pub const MESSAGE_TEXT: usize = 40_000;
}

/// A text object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Text {
    PlainText { text: String, emoji: bool },
    Mrkdwn { text: String },
}

impl Text {
    /// mrkdwn, fitted into `max`.
    fn mrkdwn(text: &str, max: usize) -> Text {
        Text::Mrkdwn {
            text: fit(text, max),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Text::PlainText { text, .. } | Text::Mrkdwn { text } => text,
        }
    }
}

/// A layout block; the constructors keep it within Slack's limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: Text,
    },
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
    },
    Context {
        elements: Vec<Text>,
    },
    Divider,
}

impl Block {
    /// A header of record text (escaped, as Slack unescapes all message text).
    pub fn header(raw: &str) -> Block {
        Block::Header {
            text: Text::PlainText {
                text: escape_within(raw, limits::HEADER_TEXT),
                emoji: true,
            },
        }
    }

    /// A section of built mrkdwn.
    pub fn section(mrkdwn: &str) -> Block {
        Block::Section {
            text: Some(Text::mrkdwn(mrkdwn, limits::SECTION_TEXT)),
            fields: Vec::new(),
        }
    }

    /// A section of fields (built mrkdwn); those beyond the limit are left out.
    pub fn fields(fields: &[String]) -> Block {
        Block::Section {
            text: None,
            fields: fields
                .iter()
                .take(limits::FIELDS)
                .map(|f| Text::mrkdwn(f, limits::FIELD_TEXT))
                .collect(),
        }
    }

    /// A context line of built mrkdwn elements; those beyond the limit are left out.
    pub fn context(elements: &[String]) -> Block {
        Block::Context {
            elements: elements
                .iter()
                .take(limits::CONTEXT_ELEMENTS)
                .map(|e| Text::mrkdwn(e, limits::SECTION_TEXT))
                .collect(),
        }
    }
}

impl Block {
    /// The characters of all the block's text.
    pub(super) fn text_width(&self) -> usize {
        match self {
            Block::Header { text } => width(text.as_str()),
            Block::Section { text, fields } => {
                text.iter().chain(fields).map(|t| width(t.as_str())).sum()
            }
            Block::Context { elements } => elements.iter().map(|t| width(t.as_str())).sum(),
            Block::Divider => 0,
        }
    }
}

/// One message: the notification text and the blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// The top-level fallback (notifications, screen readers, clients without blocks).
    pub text: String,
    pub blocks: Vec<Block>,
}

impl Message {
    pub(super) fn new(fallback: &str, blocks: Vec<Block>) -> Message {
        Message {
            text: fit(fallback, limits::FALLBACK_TEXT),
            blocks,
        }
        .within_limits()
    }

    /// The message with the blocks beyond [`limits::BLOCKS`], or beyond
    /// [`limits::MESSAGE_TEXT`] characters of text with the fallback, left out.
    pub(super) fn within_limits(mut self) -> Message {
        self.blocks.truncate(limits::BLOCKS);
        let mut used = width(&self.text);
        let fitting = self
            .blocks
            .iter()
            .take_while(|block| {
                used += block.text_width();
                used <= limits::MESSAGE_TEXT
            })
            .count();
        self.blocks.truncate(fitting);
        self
    }

    /// The message as Slack's APIs take it (`text` and `blocks`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
