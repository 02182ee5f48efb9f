//! The one error type of the core; the binding crate maps each variant to a Python exception.

use thiserror::Error;

/// Errors raised by kleene-core. Every variant names what was wrong and what is allowed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum KleeneError {
    /// A parameter is outside its allowed range or inconsistent with another one.
    #[error("invalid `{name}`: {message}")]
    InvalidParameter { name: String, message: String },
    /// The request would allocate more memory than allowed.
    #[error("request too large: {what} needs {needed} bytes, above the limit of {limit} bytes (set KLEENE_MAX_BYTES to raise it)")]
    TooLarge {
        what: String,
        needed: u128,
        limit: u128,
    },
    /// The request would run longer than allowed.
    #[error("request too long: {what} needs about {needed} steps, above the limit of {limit} (set KLEENE_MAX_WORK to raise it)")]
    TooMuchWork {
        what: String,
        needed: u128,
        limit: u128,
    },
    /// The caller interrupted the call (Ctrl-C); see [`crate::interrupt`].
    #[error("interrupted")]
    Interrupted,
}

impl KleeneError {
    pub fn invalid(name: &str, message: impl Into<String>) -> Self {
        KleeneError::InvalidParameter {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, KleeneError>;

/// Returns an `InvalidParameter` error unless `ok`.
pub fn ensure(ok: bool, name: &str, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(KleeneError::invalid(name, message()))
    }
}
