//! Per-integration state that changes at run time: daily send counts, deauthorization, and the
//! integrations admins set through the admin API.

use rusqlite::{Connection, OptionalExtension, params};

/// The UTC day of a timestamp, `YYYY-MM-DD` (days since the epoch converted by the civil
/// calendar algorithm, no date crate needed).
pub fn utc_day(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{:04}-{m:02}-{d:02}", if m <= 2 { y + 1 } else { y })
}

/// Reserves one send of today's allowance. Returns the count after the reservation, or `None`
/// when `cap` sends are already counted today.
pub fn reserve_send(
    conn: &Connection,
    integration: &str,
    cap: u32,
    now: i64,
) -> anyhow::Result<Option<i64>> {
    let day = utc_day(now);
    let count: i64 = conn
        .prepare_cached("SELECT count FROM daily_sends WHERE integration = ?1 AND day = ?2")?
        .query_row(params![integration, day], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    if count >= cap as i64 {
        return Ok(None);
    }
    conn.prepare_cached(
        "INSERT INTO daily_sends (integration, day, count) VALUES (?1, ?2, 1)
         ON CONFLICT (integration, day) DO UPDATE SET count = count + 1",
    )?
    .execute(params![integration, day])?;
    Ok(Some(count + 1))
}

/// Gives back a reservation whose send did not go out.
pub fn release_send(conn: &Connection, integration: &str, reserved_at: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "UPDATE daily_sends SET count = MAX(count - 1, 0) WHERE integration = ?1 AND day = ?2",
    )?
    .execute(params![integration, utc_day(reserved_at)])?;
    Ok(())
}

pub fn sends_today(conn: &Connection, integration: &str, now: i64) -> anyhow::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT count FROM daily_sends WHERE integration = ?1 AND day = ?2")?
        .query_row(params![integration, utc_day(now)], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

pub fn set_deauthorized(
    conn: &Connection,
    integration: &str,
    reason: &str,
    now: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO integration_status (integration, deauthorized_at, reason) VALUES (?1, ?2, ?3)
         ON CONFLICT (integration) DO UPDATE SET deauthorized_at = ?2, reason = ?3",
    )?
    .execute(params![integration, now, reason])?;
    Ok(())
}

pub fn clear_deauthorized(conn: &Connection, integration: &str) -> anyhow::Result<()> {
    conn.prepare_cached("DELETE FROM integration_status WHERE integration = ?1")?
        .execute(params![integration])?;
    Ok(())
}

/// Every deauthorized integration: (id, since, reason).
pub fn deauthorized(conn: &Connection) -> anyhow::Result<Vec<(String, i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT integration, deauthorized_at, COALESCE(reason, '') FROM integration_status WHERE deauthorized_at IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Saves an integration set through the admin API (as JSON); it overrides the file's.
pub fn save(conn: &Connection, id: &str, config_json: &str, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO integrations (id, config, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET config = ?2, updated_at = ?3",
    )?
    .execute(params![id, config_json, now])?;
    Ok(())
}

pub fn saved(conn: &Connection) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT id, config FROM integrations ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_days() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(951_782_400_000), "2000-02-29");
        assert_eq!(utc_day(1_795_311_044_825), "2026-11-22");
        assert_eq!(utc_day(1_795_305_599_999), "2026-11-21");
    }
}
