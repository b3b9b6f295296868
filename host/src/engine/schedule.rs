//! `schedule`: is it open, closed, a holiday or an emergency, from weekly hours in an IANA time
//! zone, written in the step ([`Hours`]) or kept as a named schedule group of the configuration
//! ([`Group`], as Genesys Cloud's schedule groups: open, closed and holiday schedules, and an
//! emergency switch). The host owns the groups and what admins switch at run time; the engine
//! asks it through [`ScheduleGroups`].

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

/// Opening hours written in a `schedule` step: weekly hours and holidays in a time zone.
#[derive(Debug, Clone)]
pub struct Hours {
    tz: TimeZone,
    window: Window,
    holidays: Vec<Date>,
}

/// A schedule: weekly time ranges and whole dates. A moment is in it when it falls in one of
/// the ranges or on one of the dates.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// (weekday, from, to) ranges; `to` exclusive.
    ranges: Vec<(Weekday, Time, Time)>,
    dates: Vec<Date>,
}

/// A schedule group at one moment in its time zone: emergency first, then holiday, closed and
/// open schedules; outside all of them it is closed.
#[derive(Debug, Clone)]
pub struct Group {
    pub tz: TimeZone,
    pub open: Vec<Window>,
    pub closed: Vec<Window>,
    pub holiday: Vec<Window>,
    /// Holiday dates added at run time (the admin API).
    pub extra_holidays: Vec<Date>,
    /// An emergency is on: every `schedule` step on the group takes `emergency`.
    pub emergency: bool,
}

/// A schedule problem and the field it is in.
#[derive(Debug)]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

/// What the schedule says about a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Closed,
    Holiday,
    Emergency,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
            Status::Holiday => "holiday",
            Status::Emergency => "emergency",
        }
    }
}

/// The named schedule groups a flow's `schedule` steps may use (`group: NAME`).
pub trait ScheduleGroups: Send + Sync {
    /// The group's state at `now_ms`, or `None` when there is no group by that name.
    fn status(&self, group: &str, now_ms: i64) -> Option<Status>;
}

/// No schedule groups at all.
pub struct NoGroups;

impl ScheduleGroups for NoGroups {
    fn status(&self, _group: &str, _now_ms: i64) -> Option<Status> {
        None
    }
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

/// An IANA time zone, or the error naming it.
pub fn time_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    TimeZone::get(name).map_err(|_| ScheduleError {
        field: "timezone",
        message: format!("unknown time zone `{name}` (use an IANA name such as `Europe/Berlin`)"),
    })
}

/// A date `YYYY-MM-DD`, or the error naming it (`field` says where it was written).
pub fn date(text: &str, field: &'static str) -> Result<Date, ScheduleError> {
    text.parse::<Date>().map_err(|_| ScheduleError {
        field,
        message: format!("`{text}` must be a date like 2026-12-25"),
    })
}

impl Window {
    /// Weekly `hours` (weekday → `"09:00-17:00"`, several ranges with `,`, or `closed`) and
    /// whole `dates`.
    pub fn parse(
        hours: &BTreeMap<String, String>,
        dates: &[String],
        dates_field: &'static str,
    ) -> Result<Window, ScheduleError> {
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
        let dates = dates
            .iter()
            .map(|d| date(d, dates_field))
            .collect::<Result<_, _>>()?;
        Ok(Window { ranges, dates })
    }

    fn contains(&self, local: &jiff::Zoned) -> bool {
        let (day, time) = (local.weekday(), local.time());
        self.dates.contains(&local.date())
            || self
                .ranges
                .iter()
                .any(|(d, from, to)| *d == day && *from <= time && time < *to)
    }
}

fn local(tz: &TimeZone, now_ms: i64) -> Option<jiff::Zoned> {
    Timestamp::from_millisecond(now_ms)
        .ok()
        .map(|ts| ts.to_zoned(tz.clone()))
}

impl Hours {
    pub fn parse(
        timezone: &str,
        hours: &BTreeMap<String, String>,
        holidays: &[String],
    ) -> Result<Hours, ScheduleError> {
        let tz = time_zone(timezone)?;
        let window = Window::parse(hours, &[], "hours")?;
        let holidays = holidays
            .iter()
            .map(|d| date(d, "holidays"))
            .collect::<Result<_, _>>()?;
        Ok(Hours {
            tz,
            window,
            holidays,
        })
    }

    pub fn status(&self, now_ms: i64) -> Status {
        let Some(local) = local(&self.tz, now_ms) else {
            return Status::Closed;
        };
        if self.holidays.contains(&local.date()) {
            Status::Holiday
        } else if self.window.contains(&local) {
            Status::Open
        } else {
            Status::Closed
        }
    }
}

impl Group {
    pub fn status(&self, now_ms: i64) -> Status {
        if self.emergency {
            return Status::Emergency;
        }
        let Some(local) = local(&self.tz, now_ms) else {
            return Status::Closed;
        };
        let within = |windows: &[Window]| windows.iter().any(|w| w.contains(&local));
        if self.extra_holidays.contains(&local.date()) || within(&self.holiday) {
            Status::Holiday
        } else if within(&self.closed) {
            Status::Closed
        } else if within(&self.open) {
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

    #[test]
    fn a_group_is_emergency_then_holiday_then_closed_then_open() {
        let weekdays: BTreeMap<String, String> =
            [("mon".to_string(), "08:00-20:00".to_string())].into();
        let lunch: BTreeMap<String, String> =
            [("mon".to_string(), "12:00-13:00".to_string())].into();
        let mut group = Group {
            tz: time_zone("Europe/Berlin").unwrap(),
            open: vec![Window::parse(&weekdays, &[], "dates").unwrap()],
            closed: vec![Window::parse(&lunch, &[], "dates").unwrap()],
            holiday: vec![
                Window::parse(&BTreeMap::new(), &["2026-11-30".into()], "dates").unwrap(),
            ],
            extra_holidays: Vec::new(),
            emergency: false,
        };
        // Monday 2026-11-23, 10:00 and 12:30 Berlin; 21:00 Berlin.
        assert_eq!(group.status(ms("2026-11-23T09:00:00Z")), Status::Open);
        assert_eq!(group.status(ms("2026-11-23T11:30:00Z")), Status::Closed);
        assert_eq!(group.status(ms("2026-11-23T20:00:00Z")), Status::Closed);
        // Monday 2026-11-30 is a holiday, all day.
        assert_eq!(group.status(ms("2026-11-30T09:00:00Z")), Status::Holiday);
        group
            .extra_holidays
            .push(date("2026-11-23", "holidays").unwrap());
        assert_eq!(group.status(ms("2026-11-23T09:00:00Z")), Status::Holiday);
        group.emergency = true;
        assert_eq!(group.status(ms("2026-11-23T09:00:00Z")), Status::Emergency);
    }
}
