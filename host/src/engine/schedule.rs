//! `schedule`: is it open, closed or a holiday, from weekly hours in an IANA time zone.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

/// Parsed opening hours.
#[derive(Debug, Clone)]
pub struct Hours {
    tz: TimeZone,
    /// (weekday, from, to) ranges; `to` exclusive.
    ranges: Vec<(Weekday, Time, Time)>,
    holidays: Vec<Date>,
}

/// A schedule problem and the field it is in.
#[derive(Debug)]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

/// What the schedule says about a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Closed,
    Holiday,
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name.to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

impl Hours {
    pub fn parse(
        timezone: &str,
        hours: &BTreeMap<String, String>,
        holidays: &[String],
    ) -> Result<Hours, ScheduleError> {
        let tz = TimeZone::get(timezone).map_err(|_| ScheduleError {
            field: "timezone",
            message: format!(
                "unknown time zone `{timezone}` (use an IANA name such as `Europe/Berlin`)"
            ),
        })?;
        let mut ranges = Vec::new();
        for (day, spans) in hours {
            let wd = weekday(day).ok_or_else(|| ScheduleError {
                field: "hours",
                message: format!("`{day}` is not a weekday (mon, tue, wed, thu, fri, sat, sun)"),
            })?;
            for span in spans
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "closed")
            {
                let bad = || ScheduleError {
                    field: "hours",
                    message: format!("`{day}: {span}` must look like `09:00-17:00`"),
                };
                let (from, to) = span.split_once('-').ok_or_else(bad)?;
                let from: Time = from.trim().parse().map_err(|_| bad())?;
                let to: Time = if to.trim() == "24:00" {
                    Time::MAX
                } else {
                    to.trim().parse().map_err(|_| bad())?
                };
                if from >= to {
                    return Err(bad());
                }
                ranges.push((wd, from, to));
            }
        }
        let holidays = holidays
            .iter()
            .map(|d| {
                d.parse::<Date>().map_err(|_| ScheduleError {
                    field: "holidays",
                    message: format!("holiday `{d}` must be a date like 2026-12-25"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Hours {
            tz,
            ranges,
            holidays,
        })
    }

    pub fn status(&self, now_ms: i64) -> Status {
        let Ok(ts) = Timestamp::from_millisecond(now_ms) else {
            return Status::Closed;
        };
        let local = ts.to_zoned(self.tz.clone());
        if self.holidays.contains(&local.date()) {
            return Status::Holiday;
        }
        let (day, time) = (local.weekday(), local.time());
        if self
            .ranges
            .iter()
            .any(|(d, from, to)| *d == day && *from <= time && time < *to)
        {
            Status::Open
        } else {
            Status::Closed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn open_closed_and_holidays_in_the_schedules_zone() {
        let hours: BTreeMap<String, String> = [
            ("mon".to_string(), "09:00-12:00, 13:00-17:00".to_string()),
            ("sat".into(), "closed".into()),
        ]
        .into();
        let h = Hours::parse("Europe/Berlin", &hours, &["2026-12-28".into()]).unwrap();
        // Monday 2026-11-23, 08:30 UTC = 09:30 in Berlin.
        assert_eq!(h.status(ms("2026-11-23T08:30:00Z")), Status::Open);
        // 12:30 Berlin: lunch.
        assert_eq!(h.status(ms("2026-11-23T11:30:00Z")), Status::Closed);
        // 07:30 UTC is 08:30 in Berlin: not yet.
        assert_eq!(h.status(ms("2026-11-23T07:30:00Z")), Status::Closed);
        assert_eq!(h.status(ms("2026-11-28T10:00:00Z")), Status::Closed);
        assert_eq!(h.status(ms("2026-12-28T10:00:00Z")), Status::Holiday);
        assert!(Hours::parse("Nowhere/City", &hours, &[]).is_err());
        let bad: BTreeMap<String, String> = [("mon".to_string(), "17:00-09:00".to_string())].into();
        assert!(Hours::parse("UTC", &bad, &[]).is_err());
    }
}
