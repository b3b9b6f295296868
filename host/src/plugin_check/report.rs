//! What a suite found: the checks, passed or failed, and how they print.

/// What a suite found: each check with whether it passed.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<(bool, String)>,
}

impl Report {
    pub(super) fn check(&mut self, ok: bool, what: impl Into<String>) {
        self.checks.push((ok, what.into()));
    }

    /// Adds `other`'s checks, each prefixed with `prefix`.
    pub(super) fn absorb(&mut self, prefix: &str, other: Report) {
        for (ok, what) in other.checks {
            self.checks.push((ok, format!("{prefix}{what}")));
        }
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|(ok, _)| *ok)
    }

    /// The checks that failed.
    pub fn failures(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter(|(ok, _)| !ok)
            .map(|(_, what)| what.as_str())
            .collect()
    }

    /// `ok   what` / `FAIL what`, then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (ok, what) in &self.checks {
            out.push_str(if *ok { "ok   " } else { "FAIL " });
            out.push_str(what);
            out.push('\n');
        }
        let failed = self.checks.iter().filter(|(ok, _)| !ok).count();
        out.push_str(&match failed {
            0 => format!("passed: {} checks\n", self.checks.len()),
            n => format!("FAILED: {n} of {} checks\n", self.checks.len()),
        });
        out
    }
}
