//! Durations as users write them in flags and workflow inputs: `5m`, `90s`, `1h30m`, `300`
//! (seconds), as `kubectl --timeout` accepts them.

use std::time::Duration;

/// Parses `text`; the error says what is accepted.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("invalid duration \"{text}\": use e.g. 300s, 5m or 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: u64 = number.parse().map_err(|_| invalid())?;
        number.clear();
        let unit = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                Duration::from_millis(1)
            }
            'h' => Duration::from_secs(3600),
            'm' => Duration::from_secs(60),
            's' => Duration::from_secs(1),
            _ => return Err(invalid()),
        };
        total += unit * u32::try_from(value).map_err(|_| invalid())?;
    }
    if number.is_empty() {
        Ok(total)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_style_durations() {
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse("5 minutes").is_err());
        assert!(parse("5m3").is_err());
        assert!(parse("").is_err());
    }
}
