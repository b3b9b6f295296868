//! Named schedules and schedule groups (`[[schedule]]`, `[[schedule_group]]`), as Genesys
//! Cloud's: a schedule is weekly hours and whole dates; a group says which schedules are open,
//! which closed and which holidays, in one time zone, and can be switched to an emergency. Flows
//! name a group in a `schedule` step (`group: support-hours`); admins switch holidays and the
//! emergency through the admin API without a restart. The hours' syntax is checked when the
//! host builds the groups (`crate::schedules`).

use std::collections::{BTreeMap, HashSet};

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// `[[schedule]]`: weekly hours and/or whole dates.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub id: String,
    /// Weekday (`mon`..`sun`) → `"09:00-17:00"`, several ranges with `,`, or `closed`.
    #[serde(default)]
    pub hours: BTreeMap<String, String>,
    /// Whole days, `YYYY-MM-DD` (holidays, a special opening).
    #[serde(default)]
    pub dates: Vec<String>,
}

/// `[[schedule_group]]`: which schedules open, close and make a holiday, in a time zone.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleGroupConfig {
    pub id: String,
    /// The IANA time zone every schedule of the group is read in, e.g. `Europe/Berlin`.
    pub timezone: String,
    /// Open during these schedules...
    #[serde(default)]
    pub open: Vec<String>,
    /// ...unless one of these (a lunch break, an all-hands) says closed...
    #[serde(default)]
    pub closed: Vec<String>,
    /// ...or one of these says holiday.
    #[serde(default)]
    pub holiday: Vec<String>,
    /// Starts in an emergency (admins switch it through the admin API).
    #[serde(default)]
    pub emergency: bool,
}

/// Ids are unique and every schedule a group names exists.
pub(super) fn check(
    schedules: &[ScheduleConfig],
    groups: &[ScheduleGroupConfig],
) -> anyhow::Result<()> {
    let mut ids = HashSet::new();
    for schedule in schedules {
        if !ids.insert(schedule.id.as_str()) {
            bail!("schedule `{}` is defined twice", schedule.id);
        }
        if schedule.hours.is_empty() && schedule.dates.is_empty() {
            bail!("schedule `{}` needs `hours` or `dates`", schedule.id);
        }
    }
    let mut group_ids = HashSet::new();
    for group in groups {
        if !group_ids.insert(group.id.as_str()) {
            bail!("schedule group `{}` is defined twice", group.id);
        }
        for (kind, names) in [
            ("open", &group.open),
            ("closed", &group.closed),
            ("holiday", &group.holiday),
        ] {
            for name in names {
                if !ids.contains(name.as_str()) {
                    bail!(
                        "schedule group `{}`: {kind} schedule `{name}` is not defined (add a [[schedule]] with id = \"{name}\")",
                        group.id
                    );
                }
            }
        }
    }
    Ok(())
}
