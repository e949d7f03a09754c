//! Retry and Catch: which errors an `ErrorEquals` list matches, and how long
//! to back off between attempts.
//!
//! Why separate: these rules are small but easy to get subtly wrong (States.ALL
//! never matches States.Runtime; States.TaskFailed matches everything except
//! States.Timeout), and they are unit-tested on their own.

use crate::dataflow::RUNTIME;
use crate::definition::Retrier;
use rand::Rng;
use std::time::Duration;

/// True when an `ErrorEquals` list covers `error`.
pub fn matches(errors: &[String], error: &str) -> bool {
    if error == RUNTIME {
        // AWS: States.Runtime is never retried nor caught.
        return false;
    }
    errors.iter().any(|e| match e.as_str() {
        "States.ALL" => true,
        "States.TaskFailed" => error != "States.Timeout",
        other => other == error,
    })
}

/// The delay before retry number `retries_so_far + 1` under this retrier:
/// IntervalSeconds × BackoffRate^retries, capped by MaxDelaySeconds, then
/// (JitterStrategy FULL) a uniformly random fraction of that.
pub fn delay(r: &Retrier, retries_so_far: u32) -> Duration {
    let mut secs = r.interval_seconds * r.backoff_rate.powi(retries_so_far as i32);
    if let Some(max) = r.max_delay_seconds {
        secs = secs.min(max);
    }
    if r.jitter_full {
        secs *= rand::rng().random_range(0.0..=1.0);
    }
    Duration::from_secs_f64(secs.clamp(0.0, 1e9))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(interval: f64, rate: f64, max: Option<f64>, jitter: bool) -> Retrier {
        Retrier {
            errors: vec![],
            interval_seconds: interval,
            max_attempts: 3,
            backoff_rate: rate,
            max_delay_seconds: max,
            jitter_full: jitter,
        }
    }

    #[test]
    fn error_matching() {
        let all = vec!["States.ALL".to_string()];
        let failed = vec!["States.TaskFailed".to_string()];
        assert!(matches(&all, "Custom"));
        assert!(matches(&all, "States.Timeout"));
        assert!(!matches(&all, "States.Runtime"));
        assert!(matches(&failed, "Custom"));
        assert!(!matches(&failed, "States.Timeout"));
        assert!(matches(&["A".into(), "B".into()], "B"));
        assert!(!matches(&["A".into()], "a"));
    }

    #[test]
    fn exponential_backoff_with_cap() {
        let r = retrier(1.0, 2.0, None, false);
        assert_eq!(delay(&r, 0), Duration::from_secs(1));
        assert_eq!(delay(&r, 1), Duration::from_secs(2));
        assert_eq!(delay(&r, 3), Duration::from_secs(8));
        let capped = retrier(3.0, 3.0, Some(10.0), false);
        assert_eq!(delay(&capped, 1), Duration::from_secs(9));
        assert_eq!(delay(&capped, 2), Duration::from_secs(10));
        let jitter = retrier(4.0, 1.0, None, true);
        for _ in 0..20 {
            assert!(delay(&jitter, 0) <= Duration::from_secs(4));
        }
    }
}
