//! Timestamps as the contract wants them: milliseconds since the Unix epoch.
//!
//! Platforms send RFC 3339 / ISO-8601 text (Open Messaging `channel.time`) or epoch numbers (X).
//! The conversion is the days-from-civil algorithm (Howard Hinnant's, proleptic Gregorian
//! calendar), written out here rather than pulling a date crate into every component.

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_DAY: u64 = 86_400_000;

/// Now, in milliseconds since the Unix epoch. Under WASI this reads the host's wall clock.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Parse an RFC 3339 timestamp such as `2026-09-01T10:15:00.000Z` or
/// `2026-09-01T12:15:00+02:00` into epoch milliseconds.
///
/// Fractional seconds of any length are accepted (cut to milliseconds), as are the lower-case
/// `t` / `z` and the space separator that RFC 3339 allows. Returns `None` for anything else,
/// including impossible dates and instants before 1970.
pub fn parse_rfc3339_ms(text: &str) -> Option<u64> {
    let mut cursor = Cursor(text.as_bytes());
    let year = cursor.digits(4)?;
    cursor.expect(b"-")?;
    let month = cursor.digits(2)?;
    cursor.expect(b"-")?;
    let day = cursor.digits(2)?;
    cursor.expect(b"Tt ")?;
    let hour = cursor.digits(2)?;
    cursor.expect(b":")?;
    let minute = cursor.digits(2)?;
    cursor.expect(b":")?;
    let second = cursor.digits(2)?;
    let millis = if cursor.peek() == Some(b'.') {
        cursor.expect(b".")?;
        cursor.fraction_ms()?
    } else {
        0
    };
    let offset_minutes = match cursor.expect(b"Zz+-")? {
        b'Z' | b'z' => 0,
        sign => {
            let hours = cursor.digits(2)?;
            cursor.expect(b":")?;
            let minutes = cursor.digits(2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = (hours * 60 + minutes) as i64;
            if sign == b'-' { -offset } else { offset }
        }
    };
    if !cursor.0.is_empty()
        || !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }

    let days = days_from_civil(year as i64, month, day);
    let seconds =
        days * 86_400 + (hour * 3_600 + minute * 60 + second) as i64 - offset_minutes * 60;
    let seconds = u64::try_from(seconds).ok()?;
    seconds.checked_mul(1_000)?.checked_add(millis)
}

/// Format epoch milliseconds as RFC 3339 in UTC with milliseconds, e.g. `2026-09-01T10:20:00.123Z`
/// (the form Genesys sends and expects in `channel.time`).
pub fn format_rfc3339_ms(epoch_ms: u64) -> String {
    let days = epoch_ms / MS_PER_DAY;
    let in_day = epoch_ms % MS_PER_DAY;
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1_000 % 60,
        in_day % 1_000,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1–12).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month as i64 + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A forward-only reader over the timestamp's bytes.
struct Cursor<'a>(&'a [u8]);

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.0.first().copied()
    }

    /// Take one byte if it is one of `allowed`.
    fn expect(&mut self, allowed: &[u8]) -> Option<u8> {
        let byte = self.peek().filter(|byte| allowed.contains(byte))?;
        self.0 = &self.0[1..];
        Some(byte)
    }

    /// Take exactly `count` ASCII digits as a number.
    fn digits(&mut self, count: usize) -> Option<u32> {
        let digits = self.0.get(..count)?;
        let mut value = 0;
        for &byte in digits {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u32::from(byte - b'0');
        }
        self.0 = &self.0[count..];
        Some(value)
    }

    /// Take one or more fraction digits as milliseconds (digits past the third are dropped).
    fn fraction_ms(&mut self) -> Option<u64> {
        let count = self
            .0
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        if count == 0 {
            return None;
        }
        let millis = self.0[..count]
            .iter()
            .chain(b"000")
            .take(3)
            .fold(0, |value, &byte| value * 10 + u64::from(byte - b'0'));
        self.0 = &self.0[count..];
        Some(millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_timestamps() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_ms("2026-09-01T10:15:00.000Z"),
            Some(1_788_257_700_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-09-01T10:20:00.123Z"),
            Some(1_788_258_000_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-09-01T10:20:00.1Z"),
            Some(1_788_258_000_100)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-09-01T10:20:00.123999Z"),
            Some(1_788_258_000_123)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-09-01t10:20:00z"),
            Some(1_788_258_000_000)
        );
        assert_eq!(
            parse_rfc3339_ms("2026-09-01 10:20:00Z"),
            Some(1_788_258_000_000)
        );
    }

    #[test]
    fn applies_offsets() {
        let utc = parse_rfc3339_ms("2026-09-01T10:15:00Z");
        assert_eq!(parse_rfc3339_ms("2026-09-01T12:15:00+02:00"), utc);
        assert_eq!(parse_rfc3339_ms("2026-09-01T04:45:00-05:30"), utc);
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:30:00+01:00"), None);
    }

    #[test]
    fn rejects_what_is_not_rfc3339() {
        for text in [
            "",
            "2026-09-01",
            "2026-09-01T10:15:00",
            "2026-09-01T10:15Z",
            "2026-13-01T10:15:00Z",
            "2026-02-29T10:15:00Z",
            "2026-09-31T10:15:00Z",
            "2026-09-01T24:00:00Z",
            "2026-09-01T10:15:00.Z",
            "2026-09-01T10:15:00Z ",
            "2026-09-01T10:15:00+0200",
            "1790000000123",
        ] {
            assert_eq!(parse_rfc3339_ms(text), None, "{text:?}");
        }
        assert_eq!(
            parse_rfc3339_ms("2024-02-29T00:00:00Z"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339_ms(1_788_258_000_123),
            "2026-09-01T10:20:00.123Z"
        );
        assert_eq!(
            format_rfc3339_ms(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn round_trips() {
        for ms in [
            0,
            1,
            951_782_399_999,
            1_709_164_800_000,
            1_788_258_000_123,
            4_102_444_800_000,
            253_402_300_799_999,
        ] {
            assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms), "{ms}");
        }
        // Every day across four centuries maps back to itself.
        for day in 0..146_097 {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ms() > 1_577_836_800_000);
    }
}
