//! An integration's send limit as admins write it (`80/s`, `200/15m`, `1000/24h`); the pacing
//! itself is [`crate::rules::pacing`].

use std::fmt;
use std::str::FromStr;

/// At most `count` sends per `per_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimit {
    pub count: u32,
    pub per_ms: i64,
}

impl FromStr for SendLimit {
    type Err = String;

    /// `COUNT/PERIOD`, the period a number (1 if left out) and a unit `s`, `m`, `h` or `d`:
    /// `80/s`, `200/15m`, `1000/24h`.
    fn from_str(text: &str) -> Result<SendLimit, String> {
        let invalid = |why: &str| {
            format!(
                "send limit `{text}` {why}; write COUNT/PERIOD, e.g. `80/s`, `200/15m`, `1000/24h`"
            )
        };
        let (count, period) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| invalid("has no `/`"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| invalid("does not start with a whole number"))?;
        if count == 0 {
            return Err(invalid("allows nothing (a count of 0)"));
        }
        let period = period.trim();
        let unit_at = period
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| invalid("has no unit"))?;
        let (amount, unit) = period.split_at(unit_at);
        let amount: i64 = match amount {
            "" => 1,
            n => n.parse().map_err(|_| invalid("has a period too long"))?,
        };
        let unit_ms = match unit {
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(invalid("has a unit other than s, m, h or d")),
        };
        if amount == 0 || amount > 30 * 86_400_000 / unit_ms {
            return Err(invalid("has a period that is zero or longer than 30 days"));
        }
        Ok(SendLimit {
            count,
            per_ms: amount * unit_ms,
        })
    }
}

impl fmt::Display for SendLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (amount, unit) = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "m"),
            (1_000, "s"),
        ]
        .into_iter()
        .find(|(ms, _)| self.per_ms % ms == 0)
        .map(|(ms, unit)| (self.per_ms / ms, unit))
        .unwrap_or((self.per_ms, "ms"));
        match amount {
            1 => write!(f, "{}/{unit}", self.count),
            n => write!(f, "{}/{n}{unit}", self.count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_and_print_as_written() {
        for (text, count, per_ms) in [
            ("80/s", 80, 1_000),
            ("80/1s", 80, 1_000),
            ("200/15m", 200, 900_000),
            (" 1000 / 24h ", 1_000, 86_400_000),
            ("5/2d", 5, 172_800_000),
        ] {
            let limit: SendLimit = text.parse().unwrap();
            assert_eq!(limit, SendLimit { count, per_ms }, "{text}");
            assert_eq!(limit.to_string().parse::<SendLimit>(), Ok(limit));
        }
        assert_eq!(
            SendLimit {
                count: 200,
                per_ms: 900_000
            }
            .to_string(),
            "200/15m"
        );
        for (bad, why) in [
            ("80", "has no `/`"),
            ("x/s", "whole number"),
            ("0/s", "a count of 0"),
            ("80/", "has no unit"),
            ("80/15", "has no unit"),
            ("80/w", "other than s, m, h or d"),
            ("80/0s", "zero or longer"),
            ("80/31d", "zero or longer"),
        ] {
            let error = bad.parse::<SendLimit>().unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
            assert!(error.contains("e.g. `80/s`"), "{error}");
        }
    }
}
