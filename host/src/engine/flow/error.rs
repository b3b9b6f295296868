//! A problem in a flow file, with where it is, so an author fixes a file in one round: parsing
//! and validation both report every problem they find as one of these. Shown as
//! `LINE:COLUMN: message`, so `FILE:` before it gives the `FILE:LINE:COL: message` lines editors
//! and CI read.

use std::fmt;

/// One problem in a flow file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowError {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{l}:{c}: {}", self.message),
            (Some(l), None) => write!(f, "{l}: {}", self.message),
            _ => write!(f, "{}", self.message),
        }
    }
}
