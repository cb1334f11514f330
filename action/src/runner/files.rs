//! File commands: what a step appends to `$GITHUB_OUTPUT`, `$GITHUB_STATE` or `$GITHUB_ENV`,
//! and how the post step reads its state back (`STATE_<name>`).
//!
//! Every value is written in the heredoc form `@actions/core`'s `prepareKeyValueMessage`
//! writes, `name<<DELIM`, the value, `DELIM`, which carries any value, multi-line ones
//! included, as long as the delimiter occurs in neither name nor value. The delimiter must
//! be unguessable by whoever controls the value; the caller draws the random bytes.

/// Why an entry cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileCommandError {
    #[error("name should not contain the delimiter \"{0}\"")]
    DelimiterInName(String),
    #[error("value should not contain the delimiter \"{0}\"")]
    DelimiterInValue(String),
    /// Empty, or containing a line break, `=` or `<<`, which the runner would read as the end
    /// of the name (a check `@actions/core` leaves to the runner).
    #[error("{0:?} is not a valid name")]
    InvalidName(String),
}

/// The entry `name<<delimiter\nvalue\ndelimiter\n` to append to a command file.
pub fn file_command(name: &str, value: &str, delimiter: &str) -> Result<String, FileCommandError> {
    if name.is_empty() || name.contains(['\r', '\n', '=']) || name.contains("<<") {
        return Err(FileCommandError::InvalidName(name.to_owned()));
    }
    if name.contains(delimiter) {
        return Err(FileCommandError::DelimiterInName(delimiter.to_owned()));
    }
    if value.contains(delimiter) {
        return Err(FileCommandError::DelimiterInValue(delimiter.to_owned()));
    }
    Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"))
}

/// A delimiter as `@actions/core` makes them, `ghadelimiter_` and a UUID: `random_bytes`
/// formatted as a version-4 UUID (version and variant bits set).
pub fn delimiter_from(random_bytes: [u8; 16]) -> String {
    let mut bytes = random_bytes;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "ghadelimiter_{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The environment variable in which the post step finds the state saved as `name`.
pub fn state_variable(name: &str) -> String {
    format!("STATE_{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DELIMITER: &str = "ghadelimiter_0b9f2c1e-7d4a-4c3b-9a8e-1f2e3d4c5b6a";

    #[test]
    fn entries_are_heredocs_like_prepare_key_value_message() {
        assert_eq!(
            file_command("deploy-url", "https://x/1", DELIMITER).unwrap(),
            format!("deploy-url<<{DELIMITER}\nhttps://x/1\n{DELIMITER}\n")
        );
        assert_eq!(
            file_command("reason", "line 1\nline 2", "D").unwrap(),
            "reason<<D\nline 1\nline 2\nD\n"
        );
        assert_eq!(file_command("empty", "", "D").unwrap(), "empty<<D\n\nD\n");
    }

    #[test]
    fn the_delimiter_and_broken_names_are_refused() {
        let hostile = format!("x\n{DELIMITER}\ninjected=1");
        assert_eq!(
            file_command("reason", &hostile, DELIMITER),
            Err(FileCommandError::DelimiterInValue(DELIMITER.into()))
        );
        assert_eq!(
            file_command(&format!("a{DELIMITER}"), "v", DELIMITER),
            Err(FileCommandError::DelimiterInName(DELIMITER.into()))
        );
        for name in ["", "a=b", "a<<b", "a\nb"] {
            assert_eq!(
                file_command(name, "v", DELIMITER),
                Err(FileCommandError::InvalidName(name.into())),
                "{name:?}"
            );
        }
    }

    #[test]
    fn delimiters_look_like_version_4_uuids() {
        assert_eq!(
            delimiter_from([0xff; 16]),
            "ghadelimiter_ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        assert_eq!(
            delimiter_from([0; 16]),
            "ghadelimiter_00000000-0000-4000-8000-000000000000"
        );
        let bytes: [u8; 16] = std::array::from_fn(|i| i as u8 * 17);
        assert_eq!(
            delimiter_from(bytes),
            "ghadelimiter_00112233-4455-4677-8899-aabbccddeeff"
        );
    }

    #[test]
    fn state_is_read_back_from_state_variables() {
        assert_eq!(state_variable("deploy_id"), "STATE_deploy_id");
    }
}
