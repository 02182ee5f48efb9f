//! Cooperative cancellation of long calls (Ctrl-C from Python).
//!
//! The binding runs a long call on a worker thread and, when the interpreter reports a signal,
//! raises the process-wide flag; the long loops (cellular runs, chart parsing, prefix
//! probabilities, subset construction) [`poll`] it between units of work and return
//! [`KleeneError::Interrupted`]. Signals reach Python's main thread only, so one flag for the
//! process is enough: a Ctrl-C stops every kleene call in flight, as it stops the program.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{KleeneError, Result};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// `Err(Interrupted)` once an interrupt was requested; one relaxed load otherwise.
#[inline]
pub fn poll() -> Result<()> {
    if REQUESTED.load(Ordering::Relaxed) {
        Err(KleeneError::Interrupted)
    } else {
        Ok(())
    }
}

/// Asks every running long loop to stop (`true`), or clears the request (`false`).
pub fn request(stop: bool) {
    REQUESTED.store(stop, Ordering::Relaxed);
}
