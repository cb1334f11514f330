//! Freeze windows (`--freeze`): times when deploys to an environment are held, evaluated on the
//! wall clock of the window's own time zone, so a window keeps its local hours across daylight
//! saving changes.
//!
//! A window is `ENVIRONMENT RANGE TIME-ZONE`, the environment `*` for every one:
//! - weekly: `prod Fri 16:00..Mon 08:00 Europe/Berlin` (from Friday 16:00 to Monday 08:00,
//!   every week; a range may wrap around the week's end);
//! - dates: `* 2026-12-24..2027-01-01 Europe/Berlin` (whole days, the last one included) or
//!   `* 2026-12-24T12:00..2026-12-27T08:00 America/New_York`.
//!
//! The range's ends are separated by `..` or `–` (an en dash), or by `-` between weekly ends.
//! Pure: [`FreezeWindow::at`] takes the instant.

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;
use shiplog_model::Freeze;

/// Most freeze windows a server takes.
pub const MAX_WINDOWS: usize = 100;

/// One configured window.
#[derive(Debug, Clone, PartialEq)]
pub struct FreezeWindow {
    environment: String,
    range: Range,
    zone: Tz,
    /// The window as given, for people.
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Range {
    /// Minutes from Monday 00:00, start included, end excluded; wraps when `end <= start`.
    Weekly { start: u32, end: u32 },
    /// Local times, start included, end excluded.
    Dates {
        start: NaiveDateTime,
        end: NaiveDateTime,
    },
}

const WEEK_MINUTES: u32 = 7 * 24 * 60;

impl FreezeWindow {
    /// Parses one `--freeze` value.
    pub fn parse(text: &str) -> Result<FreezeWindow, String> {
        let text = text.trim();
        let mut words = text.split_whitespace();
        let (Some(environment), Some(zone)) = (words.next(), text.split_whitespace().last()) else {
            return Err(format!("{text:?}: expected ENVIRONMENT RANGE TIME-ZONE"));
        };
        let middle: Vec<&str> = words.collect();
        let range = match middle.split_last() {
            Some((_, range)) if !range.is_empty() => range.join(" "),
            _ => return Err(format!("{text:?}: expected ENVIRONMENT RANGE TIME-ZONE")),
        };
        let zone: Tz = zone.parse().map_err(|_| {
            format!(
                "{text:?}: {zone:?} is not a time zone of the IANA database (e.g. Europe/Berlin)"
            )
        })?;
        let range = parse_range(&range).map_err(|e| format!("{text:?}: {e}"))?;
        Ok(FreezeWindow {
            environment: environment.to_owned(),
            range,
            zone,
            text: text[environment.len()..].trim().to_owned(),
        })
    }

    /// The window as the API shows it at `now`: whether it is open, and until when.
    pub fn at(&self, now: DateTime<Utc>) -> Freeze {
        let local = now.with_timezone(&self.zone).naive_local();
        let until = self.open_until(local).map(|end| self.instant(end));
        Freeze {
            environment: self.environment.clone(),
            window: self.text.clone(),
            active: until.is_some(),
            until,
        }
    }

    /// The local end of the window around `local`, if it is open then.
    fn open_until(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        match self.range {
            Range::Dates { start, end } => (start <= local && local < end).then_some(end),
            Range::Weekly { start, end } => {
                let minute = local.weekday().num_days_from_monday() * 24 * 60
                    + local
                        .time()
                        .signed_duration_since(NaiveTime::MIN)
                        .num_minutes() as u32;
                let open = if start < end {
                    start <= minute && minute < end
                } else {
                    minute >= start || minute < end
                };
                open.then(|| {
                    let ahead = (end + WEEK_MINUTES - minute) % WEEK_MINUTES;
                    let at_minute = local
                        .with_second(0)
                        .and_then(|t| t.with_nanosecond(0))
                        .unwrap_or(local);
                    at_minute + Duration::minutes(i64::from(ahead))
                })
            }
        }
    }

    /// The instant of a local time: a time skipped by a daylight saving change counts as the
    /// first instant after the gap (the minute after the last local time before it).
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        (0..=180)
            .find_map(|back| {
                let earlier = self
                    .zone
                    .from_local_datetime(&(local - Duration::minutes(back)))
                    .earliest()?;
                Some(earlier.with_timezone(&Utc) + Duration::minutes(back.min(1)))
            })
            .unwrap_or_else(|| local.and_utc())
    }
}

impl fmt::Display for FreezeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.environment, self.text)
    }
}

fn parse_range(text: &str) -> Result<Range, String> {
    let normalised = text.replace('–', "..");
    let (start, end) = match normalised.split_once("..") {
        Some(ends) => ends,
        None => weekly_dash(&normalised).ok_or_else(|| {
            "the range needs two ends separated by `..` (Fri 16:00..Mon 08:00, \
             2026-12-24..2027-01-01)"
                .to_owned()
        })?,
    };
    let (start, end) = (start.trim(), end.trim());
    if start.starts_with(|c: char| c.is_alphabetic()) {
        let (start, end) = (weekly(start)?, weekly(end)?);
        if start == end {
            return Err("the range is empty: its ends are the same time".into());
        }
        return Ok(Range::Weekly { start, end });
    }
    let start = date_time(start, false)?;
    let end = date_time(end, true)?;
    if end <= start {
        return Err("the range ends before it starts".into());
    }
    Ok(Range::Dates { start, end })
}

/// `Fri 16:00-Mon 08:00`: a dash between weekly ends (dates have dashes of their own).
fn weekly_dash(text: &str) -> Option<(&str, &str)> {
    let (start, end) = text.split_once('-')?;
    (weekly(start.trim()).is_ok() && weekly(end.trim()).is_ok()).then_some((start, end))
}

/// `Fri 16:00` as minutes from Monday 00:00.
fn weekly(text: &str) -> Result<u32, String> {
    let (day, time) = text
        .split_once(' ')
        .ok_or_else(|| format!("{text:?} is not `DAY HH:MM`"))?;
    let day: Weekday = day
        .parse()
        .map_err(|_| format!("{day:?} is not a day of the week (Mon … Sun)"))?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M")
        .map_err(|_| format!("{time:?} is not a time HH:MM"))?;
    Ok(day.num_days_from_monday() * 24 * 60 + time.hour() * 60 + time.minute())
}

/// `2026-12-24` or `2026-12-24T12:00`; a date alone ending a range includes its whole day.
fn date_time(text: &str, end: bool) -> Result<NaiveDateTime, String> {
    if let Ok(at) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M") {
        return Ok(at);
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is neither `DAY HH:MM` nor a date YYYY-MM-DD[THH:MM]"))?;
    let day = if end {
        date.succ_opt().unwrap_or(date)
    } else {
        date
    };
    Ok(day.and_time(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_weekly_window_keeps_its_local_hours_when_the_clocks_go_forward() {
        // Europe/Berlin leaves CET for CEST on 2026-03-29 at 01:00 UTC (02:00 → 03:00 local).
        let window = FreezeWindow::parse("prod Sat 22:00..Sun 02:30 Europe/Berlin").unwrap();
        // 00:45 UTC is 01:45 CET: inside.
        let open = window.at(at("2026-03-29T00:45:00Z"));
        assert!(open.active);
        // 02:30 local does not exist that night: the window ends at the first instant after
        // the gap, 03:00 CEST.
        assert_eq!(open.until, Some(at("2026-03-29T01:00:00Z")));
        // 01:15 UTC is 03:15 CEST: outside (a fixed +01:00 would say 02:15, inside).
        assert!(!window.at(at("2026-03-29T01:15:00Z")).active);
    }

    #[test]
    fn a_weekend_freeze_ends_at_eight_local_time_on_either_side_of_the_autumn_change() {
        // Europe/Berlin goes back from CEST to CET on 2026-10-25.
        let window = FreezeWindow::parse("prod Fri 16:00-Mon 08:00 Europe/Berlin").unwrap();
        // Monday 2026-10-26 06:30 UTC is 07:30 CET: still frozen (+02:00 would say 08:30).
        let frozen = window.at(at("2026-10-26T06:30:00Z"));
        assert!(frozen.active);
        assert_eq!(frozen.until, Some(at("2026-10-26T07:00:00Z")));
        assert!(!window.at(at("2026-10-26T07:00:00Z")).active);
        // A summer weekend ends at 06:00 UTC.
        let summer = window.at(at("2026-07-13T05:59:00Z"));
        assert_eq!(summer.until, Some(at("2026-07-13T06:00:00Z")));
        // Friday 16:00 local, in winter 15:00 UTC.
        assert!(!window.at(at("2026-10-30T14:59:00Z")).active);
        assert!(window.at(at("2026-10-30T15:00:00Z")).active);
        // Wednesday is open for deploys.
        assert!(!window.at(at("2026-10-28T12:00:00Z")).active);
    }

    #[test]
    fn a_date_range_includes_its_last_day_in_its_own_time_zone() {
        let window = FreezeWindow::parse("* 2026-12-24–2026-12-26 America/New_York").unwrap();
        // 04:30 UTC on the 27th is 23:30 on the 26th in New York.
        let late = window.at(at("2026-12-27T04:30:00Z"));
        assert!(late.active);
        assert_eq!(late.until, Some(at("2026-12-27T05:00:00Z")));
        assert!(!window.at(at("2026-12-27T05:00:00Z")).active);
        assert!(!window.at(at("2026-12-24T04:59:00Z")).active);
        assert_eq!(late.environment, "*");
        assert_eq!(late.window, "2026-12-24–2026-12-26 America/New_York");
    }

    #[test]
    fn times_in_a_date_range() {
        let window =
            FreezeWindow::parse("prod 2026-12-24T12:00..2026-12-27T08:00 Europe/Berlin").unwrap();
        assert!(window.at(at("2026-12-24T11:00:00Z")).active);
        assert!(!window.at(at("2026-12-24T10:59:00Z")).active);
    }

    #[test]
    fn mistakes_are_named() {
        let error = |text: &str| FreezeWindow::parse(text).unwrap_err();
        assert!(error("prod Fri 16:00..Mon 08:00 Mars/Olympus").contains("Mars/Olympus"));
        assert!(error("prod Fry 16:00..Mon 08:00 UTC").contains("\"Fry\""));
        assert!(error("prod Fri 16:00 UTC").contains("two ends"));
        assert!(error("prod Fri 16:00..Fri 16:00 UTC").contains("empty"));
        assert!(error("prod 2026-12-24..2026-12-01 UTC").contains("ends before"));
        assert!(error("prod UTC").contains("ENVIRONMENT RANGE TIME-ZONE"));
        assert!(error("prod Fri 25:00..Mon 08:00 UTC").contains("25:00"));
    }
}
