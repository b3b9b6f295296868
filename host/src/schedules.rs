//! The schedule groups of the configuration, live: built once from `[[schedule]]` and
//! `[[schedule_group]]` (their hours checked), with what admins switched at run time (an
//! emergency, added holidays) kept in the store, so a switch takes effect at the next `schedule`
//! step without a restart and survives one. The engine asks through
//! [`ScheduleGroups`](crate::engine::schedule::ScheduleGroups).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, RwLock};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::config::{ScheduleConfig, ScheduleGroupConfig};
use crate::engine::schedule::{self, Group, ScheduleGroups, Status, Window};
use crate::model::{ScheduleOverride, now_ms};
use crate::store::{CatalogStore, Signal, SignalBus};

/// A group as admins see it: its configuration, what they switched and its state now.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub id: String,
    pub timezone: String,
    pub open: Vec<String>,
    pub closed: Vec<String>,
    pub holiday: Vec<String>,
    pub emergency: bool,
    /// Holiday dates admins added.
    pub holidays_added: Vec<String>,
    /// `open`, `closed`, `holiday` or `emergency`, right now.
    pub status: Status,
}

struct Live {
    config: ScheduleGroupConfig,
    group: Group,
    /// What admins switched.
    value: ScheduleOverride,
}

/// The schedule groups (see the module docs).
pub struct Schedules {
    groups: RwLock<BTreeMap<String, Live>>,
    store: Option<Arc<dyn CatalogStore>>,
    /// Tells the other hosts sharing the store about a switch.
    bus: Option<Arc<dyn SignalBus>>,
}

/// Builds the groups of a configuration, checking every schedule's hours and dates and every
/// group's time zone. Without a store (`flow validate`, `flow test`) switches are not kept.
pub fn build(
    schedules: &[ScheduleConfig],
    groups: &[ScheduleGroupConfig],
) -> anyhow::Result<Schedules> {
    let mut windows = BTreeMap::new();
    for s in schedules {
        let window = Window::parse(&s.hours, &s.dates, "dates")
            .map_err(|e| anyhow::anyhow!("schedule `{}`: {}", s.id, e.message))?;
        windows.insert(s.id.clone(), window);
    }
    let mut live = BTreeMap::new();
    for config in groups {
        let tz = schedule::time_zone(&config.timezone)
            .map_err(|e| anyhow::anyhow!("schedule group `{}`: {}", config.id, e.message))?;
        let pick = |names: &[String]| -> anyhow::Result<Vec<Window>> {
            names
                .iter()
                .map(|n| {
                    windows.get(n).cloned().with_context(|| {
                        format!("schedule group `{}`: no schedule `{n}`", config.id)
                    })
                })
                .collect()
        };
        let group = Group {
            tz,
            open: pick(&config.open)?,
            closed: pick(&config.closed)?,
            holiday: pick(&config.holiday)?,
            extra_holidays: Vec::new(),
            emergency: config.emergency,
        };
        live.insert(
            config.id.clone(),
            Live {
                value: ScheduleOverride {
                    group: config.id.clone(),
                    ..Default::default()
                },
                config: config.clone(),
                group,
            },
        );
    }
    Ok(Schedules {
        groups: RwLock::new(live),
        store: None,
        bus: None,
    })
}

impl Schedules {
    /// The configuration's groups with the switches stored for them.
    pub async fn open(
        schedules: &[ScheduleConfig],
        groups: &[ScheduleGroupConfig],
        store: Arc<dyn CatalogStore>,
        bus: Option<Arc<dyn SignalBus>>,
    ) -> anyhow::Result<Schedules> {
        let mut built = build(schedules, groups)?;
        for value in store.schedule_overrides().await? {
            // A group since removed from the configuration keeps its row, unused.
            let _ = built.apply(value);
        }
        built.store = Some(store);
        built.bus = bus;
        Ok(built)
    }

    /// Takes group `id`'s switches from the store (another host changed them).
    pub async fn reload(&self, id: &str) -> anyhow::Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let value = store
            .schedule_overrides()
            .await?
            .into_iter()
            .find(|v| v.group == id)
            .unwrap_or_else(|| ScheduleOverride {
                group: id.to_string(),
                ..Default::default()
            });
        let mut groups = self.groups.write().unwrap_or_else(|e| e.into_inner());
        if groups.contains_key(id) {
            set(&mut groups, value)?;
        }
        Ok(())
    }

    /// The group names, for flow validation.
    pub fn names(&self) -> HashSet<String> {
        self.read().keys().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Live>> {
        self.groups.read().unwrap_or_else(|e| e.into_inner())
    }

    fn apply(&mut self, value: ScheduleOverride) -> anyhow::Result<()> {
        let groups = self.groups.get_mut().unwrap_or_else(|e| e.into_inner());
        set(groups, value)
    }

    /// Every group, as admins see it.
    pub fn list(&self) -> Vec<GroupView> {
        let now = now_ms();
        self.read().values().map(|live| view(live, now)).collect()
    }

    pub fn get(&self, id: &str) -> Option<GroupView> {
        self.read().get(id).map(|live| view(live, now_ms()))
    }

    /// Switches a group's emergency on or off; `None` returns it to the configuration's.
    pub async fn set_emergency(&self, id: &str, on: Option<bool>) -> anyhow::Result<GroupView> {
        self.change(id, |value| value.emergency = on).await
    }

    /// Adds (or, with `add` false, removes) a holiday date of a group.
    pub async fn set_holiday(&self, id: &str, date: &str, add: bool) -> anyhow::Result<GroupView> {
        schedule::date(date, "holidays").map_err(|e| anyhow::anyhow!(e.message))?;
        self.change(id, |value| {
            value.holidays.retain(|d| d != date);
            if add {
                value.holidays.push(date.to_string());
                value.holidays.sort();
            }
        })
        .await
    }

    async fn change(
        &self,
        id: &str,
        edit: impl FnOnce(&mut ScheduleOverride),
    ) -> anyhow::Result<GroupView> {
        let mut value = match self.read().get(id) {
            Some(live) => live.value.clone(),
            None => bail!("no schedule group `{id}` is configured"),
        };
        edit(&mut value);
        if let Some(store) = &self.store {
            store.save_schedule_override(&value, now_ms()).await?;
        }
        let view = {
            let mut groups = self.groups.write().unwrap_or_else(|e| e.into_inner());
            set(&mut groups, value)?;
            view(&groups[id], now_ms())
        };
        tracing::info!(group = %id, "schedule group switched");
        if let Some(bus) = &self.bus {
            let signal = Signal::ScheduleSwitched {
                group: id.to_string(),
            };
            if let Err(e) = bus.signal(signal).await {
                tracing::warn!("cannot tell the other hosts about the switch: {e:#}");
            }
        }
        Ok(view)
    }
}

fn set(groups: &mut BTreeMap<String, Live>, value: ScheduleOverride) -> anyhow::Result<()> {
    let Some(live) = groups.get_mut(&value.group) else {
        bail!("no schedule group `{}`", value.group);
    };
    live.group.emergency = value.emergency.unwrap_or(live.config.emergency);
    live.group.extra_holidays = value
        .holidays
        .iter()
        .filter_map(|d| schedule::date(d, "holidays").ok())
        .collect();
    live.value = value;
    Ok(())
}

fn view(live: &Live, now: i64) -> GroupView {
    GroupView {
        id: live.config.id.clone(),
        timezone: live.config.timezone.clone(),
        open: live.config.open.clone(),
        closed: live.config.closed.clone(),
        holiday: live.config.holiday.clone(),
        emergency: live.group.emergency,
        holidays_added: live.value.holidays.clone(),
        status: live.group.status(now),
    }
}

impl ScheduleGroups for Schedules {
    fn status(&self, group: &str, now_ms: i64) -> Option<Status> {
        self.read().get(group).map(|live| live.group.status(now_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn switches_apply_at_once_and_are_kept() {
        let dir = std::env::temp_dir().join(format!("sb-schedules-{}", uuid::Uuid::new_v4()));
        let store: Arc<dyn crate::store::Store> = Arc::new(
            crate::store::sqlite::SqliteStore::open(&crate::config::StoreConfig {
                path: Some(dir.join("db.sqlite")),
                ..Default::default()
            })
            .unwrap(),
        );
        let schedules = vec![ScheduleConfig {
            id: "always".into(),
            hours: [
                ("mon", "00:00-24:00"),
                ("tue", "00:00-24:00"),
                ("wed", "00:00-24:00"),
                ("thu", "00:00-24:00"),
                ("fri", "00:00-24:00"),
                ("sat", "00:00-24:00"),
                ("sun", "00:00-24:00"),
            ]
            .into_iter()
            .map(|(d, h)| (d.to_string(), h.to_string()))
            .collect(),
            dates: Vec::new(),
        }];
        let groups = vec![ScheduleGroupConfig {
            id: "support-hours".into(),
            timezone: "UTC".into(),
            open: vec!["always".into()],
            ..Default::default()
        }];
        let live = Schedules::open(&schedules, &groups, store.clone(), None)
            .await
            .unwrap();
        let now = now_ms();
        assert_eq!(live.status("support-hours", now), Some(Status::Open));
        assert_eq!(live.status("nope", now), None);
        let today = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .to_string();
        live.set_holiday("support-hours", &today, true)
            .await
            .unwrap();
        assert_eq!(
            live.status("support-hours", now_ms()),
            Some(Status::Holiday)
        );
        live.set_emergency("support-hours", Some(true))
            .await
            .unwrap();
        assert_eq!(
            live.status("support-hours", now_ms()),
            Some(Status::Emergency)
        );
        assert!(
            live.set_holiday("support-hours", "tomorrow", true)
                .await
                .is_err()
        );

        // A new host reads the switches back.
        let again = Schedules::open(&schedules, &groups, store.clone(), None)
            .await
            .unwrap();
        assert_eq!(
            again.status("support-hours", now_ms()),
            Some(Status::Emergency)
        );
        again.set_emergency("support-hours", None).await.unwrap();
        again
            .set_holiday("support-hours", &today, false)
            .await
            .unwrap();
        assert_eq!(again.status("support-hours", now_ms()), Some(Status::Open));
        let _ = std::fs::remove_dir_all(dir);
    }
}
