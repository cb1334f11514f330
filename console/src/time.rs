//! How times and durations read: relative ("5 min ago") with the absolute time always at hand.

use chrono::{DateTime, Duration, Utc};

/// "just now", "5 min ago", "3 h ago", "2 days ago", "in 5 min".
pub fn relative(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let delta = now - then;
    let (amount, future) = if delta < Duration::zero() {
        (-delta, true)
    } else {
        (delta, false)
    };
    let text = if amount < Duration::seconds(45) {
        return "just now".into();
    } else if amount < Duration::minutes(90) {
        format!("{} min", amount.num_minutes().max(1))
    } else if amount < Duration::hours(48) {
        format!("{} h", amount.num_hours())
    } else if amount < Duration::days(60) {
        format!("{} days", amount.num_days())
    } else {
        format!("{} months", amount.num_days() / 30)
    };
    if future {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// `2026-01-31 14:05 UTC`.
pub fn absolute(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `< 0.1 s`, `0.5 s`, `4.2 s`, `42 s`, `3 min 5 s`, `2 h 10 min`: under ten seconds with a tenth, so a
/// deploy of half a second never reads "0 s".
pub fn duration(d: Duration) -> String {
    let millis = d.num_milliseconds().max(0);
    let seconds = millis / 1000;
    match seconds {
        0..10 => {
            // Tenths, rounded; 9.96 s reads "10 s", not "10.0 s".
            let tenths = (millis + 50) / 100;
            if tenths >= 100 {
                "10 s".to_owned()
            } else if tenths == 0 {
                "< 0.1 s".to_owned()
            } else {
                format!("{}.{} s", tenths / 10, tenths % 10)
            }
        }
        10..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

/// A duration given in (possibly fractional) seconds.
pub fn seconds(secs: f64) -> String {
    duration(Duration::milliseconds((secs * 1000.0) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn relative_times_read_naturally() {
        let now = at("2026-01-10T12:00:00Z");
        assert_eq!(relative(now, at("2026-01-10T11:59:30Z")), "just now");
        assert_eq!(relative(now, at("2026-01-10T11:55:00Z")), "5 min ago");
        assert_eq!(relative(now, at("2026-01-10T09:00:00Z")), "3 h ago");
        assert_eq!(relative(now, at("2026-01-07T12:00:00Z")), "3 days ago");
        // Never "1 days": under two days reads in hours.
        assert_eq!(relative(now, at("2026-01-09T02:00:00Z")), "34 h ago");
        assert_eq!(relative(now, at("2026-01-08T14:00:00Z")), "46 h ago");
        assert_eq!(relative(now, at("2026-01-08T12:00:00Z")), "2 days ago");
        assert_eq!(relative(now, at("2026-01-10T12:10:00Z")), "in 10 min");
        assert_eq!(absolute(now), "2026-01-10 12:00:00 UTC");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(Duration::seconds(42)), "42 s");
        assert_eq!(duration(Duration::seconds(185)), "3 min 5 s");
        assert_eq!(duration(Duration::seconds(7800)), "2 h 10 min");
        assert_eq!(seconds(1.5), "1.5 s");
        assert_eq!(seconds(0.5), "0.5 s");
        assert_eq!(seconds(0.04), "< 0.1 s");
        assert_eq!(seconds(9.96), "10 s");
        assert_eq!(seconds(12.7), "12 s");
    }
}
