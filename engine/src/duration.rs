//! Durations as users write them in flags and workflow inputs: Go's syntax, as `kubectl
//! --timeout` reads it (`5m`, `90s`, `1h30m`, `1.5h`, `250ms`), plus a bare number of seconds
//! (`300`). Every duration is bounded by [`MAX`]: a timer beyond it is a typo, not a plan, and
//! an unbounded one overflows the host's timers (600 h once rolled back at once).

use std::time::Duration;

/// The longest duration accepted: one day.
pub const MAX: Duration = Duration::from_secs(24 * 3600);

/// Parses `text`; the error says what is accepted.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let invalid = || format!("{text:?} is not a duration (e.g. 300s, 5m, 1h30m)");
    let total = if let Ok(seconds) = text.parse::<u64>() {
        seconds as f64
    } else {
        sum_of_terms(text).ok_or_else(invalid)?
    };
    // Compared as seconds before converting, so 10^30 h is refused rather than overflowing.
    if total > MAX.as_secs_f64() {
        return Err(format!(
            "{text:?} is longer than the longest duration accepted, 24h"
        ));
    }
    Ok(Duration::from_secs_f64(total))
}

/// The seconds in a sequence of `<decimal><unit>` terms (`1h30m`, `1.5s`); `None` when any
/// part is malformed or nothing is given.
fn sum_of_terms(text: &str) -> Option<f64> {
    let mut rest = text;
    let mut total = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_end);
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        total += value * unit_seconds(unit)?;
        rest = next;
    }
    Some(total)
}

/// Seconds per unit, for the units Go's `time.ParseDuration` knows.
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1e-9,
        "us" | "µs" | "μs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_durations() {
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1m0.5s"), Ok(Duration::from_millis(60_500)));
        assert_eq!(parse(" 24h "), Ok(MAX));
    }

    #[test]
    fn malformed_durations_say_what_is_accepted() {
        for text in ["5 minutes", "5m3", "", "m", "1.2.3s", ".s", "5d", "-5m"] {
            let error = parse(text).unwrap_err();
            assert!(
                error.contains("is not a duration (e.g. 300s"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn durations_beyond_a_day_are_refused_without_overflowing() {
        for text in [
            "600h",
            "24h1s",
            "86401",
            "99999999999999999999h",
            "18446744073709551615",
        ] {
            let error = parse(text).unwrap_err();
            assert!(
                error.contains("longest duration accepted, 24h"),
                "{text}: {error}"
            );
        }
    }
}
