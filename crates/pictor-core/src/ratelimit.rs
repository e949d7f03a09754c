//! Rate limiting: a token bucket per client. Uploads per caller (its owner,
//! or its IP address when anonymous; `limits.uploads_per_minute`) and
//! requests per credential (an API key or token; `limits.requests_per_minute`).
//! Each is off unless set. The table of buckets is bounded: when it is full, buckets that
//! have refilled completely (so carry no state) are dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::{Error, ErrorKind, Result};

const MAX_CLIENTS: usize = 100_000;

pub struct RateLimiter {
    per_minute: f64,
    /// What is counted, and the setting that caps it, for the refusal.
    what: &'static str,
    setting: &'static str,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` of `what` per client, in bursts of up to that many; 0 = off.
    pub fn new(per_minute: u32, what: &'static str, setting: &'static str) -> Self {
        Self { per_minute: per_minute.into(), what, setting, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `client`, or refuses with 429 and `Retry-After`.
    pub fn check(&self, client: &str) -> Result<()> {
        if self.per_minute <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= MAX_CLIENTS && !buckets.contains_key(client) {
            let full = self.per_minute;
            let rate = full / 60.0;
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * rate < full);
        }
        let (tokens, at) = buckets.entry(client.to_string()).or_insert((self.per_minute, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_minute / 60.0).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - *tokens) * 60.0 / self.per_minute).ceil().max(1.0) as u64;
        Err(Error::new(ErrorKind::RateLimited, format!("too many {}; retry in {wait} s ({})", self.what, self.setting))
            .with_retry_after(wait))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_per_client() {
        let limiter = RateLimiter::new(2, "uploads", "limits.uploads_per_minute");
        assert!(limiter.check("a").is_ok() && limiter.check("a").is_ok());
        let refused = limiter.check("a").unwrap_err();
        assert_eq!((refused.kind, refused.retry_after), (ErrorKind::RateLimited, Some(30)));
        assert!(limiter.check("b").is_ok(), "clients are limited separately");
        assert!(RateLimiter::new(0, "uploads", "limits.uploads_per_minute").check("a").is_ok());
    }
}
