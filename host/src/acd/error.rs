//! Why an agent action was refused.

/// Why an agent action was refused; each variant maps to one HTTP status.
#[derive(Debug)]
pub enum AcdError {
    NotFound(String),
    Forbidden(String),
    Conflict(String),
    Invalid(String),
    /// A platform rule refuses it (`window_closed`, `daily_cap_reached`, `content_blocked`);
    /// nothing was sent.
    Refused {
        code: &'static str,
        message: String,
    },
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for AcdError {
    fn from(e: anyhow::Error) -> Self {
        AcdError::Internal(e)
    }
}

impl From<crate::rules::accept::Refusal> for AcdError {
    fn from(refusal: crate::rules::accept::Refusal) -> Self {
        match refusal {
            crate::rules::accept::Refusal::Conflict(m) => AcdError::Conflict(m),
            crate::rules::accept::Refusal::Forbidden(m) => AcdError::Forbidden(m),
        }
    }
}
