//! A small fixed-window rate limiter for the login and token endpoints, per client address.
//! It lives in the process: behind a load balancer each instance limits on its own, which
//! bounds guessing and hammering without a database write per attempt.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts attempts per address in windows of a fixed length.
#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<Option<IpAddr>, (Instant, u32)>>,
}

/// The most addresses remembered before old windows are swept.
const MAX_TRACKED: usize = 100_000;

impl RateLimiter {
    /// At most `limit` attempts per `window` from one address.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, counts: Mutex::new(HashMap::new()) }
    }

    /// Counts an attempt from `address` (unknown addresses share one bucket); false when over
    /// the limit.
    pub fn allow(&self, address: Option<IpAddr>) -> bool {
        let now = Instant::now();
        let Ok(mut counts) = self.counts.lock() else { return true };
        if counts.len() >= MAX_TRACKED {
            let window = self.window;
            counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = counts.entry(address).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_and_window() {
        let limiter = RateLimiter::new(3, Duration::from_secs(3600));
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        assert!((0..3).all(|_| limiter.allow(a)));
        assert!(!limiter.allow(a), "the fourth attempt in the window is refused");
        assert!(limiter.allow(b), "another address has its own count");
        let short = RateLimiter::new(1, Duration::ZERO);
        assert!(short.allow(a) && short.allow(a), "a new window starts the count again");
    }
}
