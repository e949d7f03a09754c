//! A warning about a condition that fails request after request (a full
//! disk, a store outage, no file descriptors left) is logged once a minute
//! while it lasts, not once per request.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often a throttled warning may repeat.
const EVERY: Duration = Duration::from_secs(60);

/// When a warning was last let through; usable as a `static`.
pub struct WarnThrottle(Mutex<Option<Instant>>);

impl WarnThrottle {
    pub const fn new() -> Self {
        Self(Mutex::new(None))
    }

    /// Whether the warning is due now; if so, the next one waits a minute.
    pub fn due(&self) -> bool {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let due = last.is_none_or(|at| at.elapsed() >= EVERY);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}

impl Default for WarnThrottle {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_one_warning_through_a_minute() {
        let throttle = WarnThrottle::new();
        assert!(throttle.due());
        assert!(!throttle.due() && !throttle.due());
        *throttle.0.lock().unwrap() = Some(Instant::now() - EVERY);
        assert!(throttle.due(), "a minute later");
    }
}
