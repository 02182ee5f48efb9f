//! Memory guard: every output is sized before it is allocated.

use crate::error::{KleeneError, Result};

/// Default cap on one request's output: 8 GiB.
pub const DEFAULT_MAX_BYTES: u128 = 8 << 30;

/// The byte cap for one request: `KLEENE_MAX_BYTES` if set to a positive integer, else 8 GiB.
pub fn max_bytes() -> u128 {
    std::env::var("KLEENE_MAX_BYTES")
        .ok()
        .and_then(|v| v.trim().parse::<u128>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(DEFAULT_MAX_BYTES)
}

/// Checks that `count` elements of `elem_bytes` bytes each fit under the cap.
/// `count` is the product of `dims`, computed without overflow.
pub fn check_elements(what: &str, dims: &[usize], elem_bytes: usize) -> Result<usize> {
    let mut count: u128 = 1;
    for &d in dims {
        count = count.saturating_mul(d as u128);
    }
    let needed = count.saturating_mul(elem_bytes as u128);
    let limit = max_bytes();
    if needed > limit || count > usize::MAX as u128 {
        return Err(KleeneError::TooLarge {
            what: what.to_string(),
            needed,
            limit,
        });
    }
    Ok(count as usize)
}

/// Default cap on one request's work: 2^40 elementary steps (minutes of CPU at most).
pub const DEFAULT_MAX_WORK: u128 = 1 << 40;

/// The work cap for one request: `KLEENE_MAX_WORK` if set to a positive integer, else 2^40.
///
/// Loops whose length the caller chooses (cellular automaton generations, chart parsing)
/// are sized before they start and refused above this cap, so no call runs unbounded: a
/// deterministic refusal rather than a Ctrl-C check inside the loop.
pub fn max_work() -> u128 {
    std::env::var("KLEENE_MAX_WORK")
        .ok()
        .and_then(|v| v.trim().parse::<u128>().ok())
        .filter(|&v| v > 0)
        .unwrap_or(DEFAULT_MAX_WORK)
}

/// Checks that a loop of `factors` multiplied steps (computed without overflow) fits under
/// [`max_work`].
pub fn check_work(what: &str, factors: &[u128]) -> Result<()> {
    let needed = factors.iter().fold(1u128, |acc, &f| acc.saturating_mul(f));
    let limit = max_work();
    if needed > limit {
        return Err(KleeneError::TooMuchWork {
            what: what.to_string(),
            needed,
            limit,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_overflowing_requests() {
        assert!(check_elements("x", &[usize::MAX, 4], 4).is_err());
        assert!(check_elements("x", &[1 << 40], 8).is_err());
        assert_eq!(check_elements("x", &[3, 5], 4).unwrap(), 15);
        assert!(check_work("x", &[1 << 30, 1 << 30]).is_err());
        assert!(check_work("x", &[u128::MAX, 2]).is_err());
        assert!(check_work("x", &[1 << 20, 1 << 10]).is_ok());
    }
}
