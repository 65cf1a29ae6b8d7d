//! Rate limiting for the login and token endpoints, per client address (an IPv6 address by its
//! /64, which one subscriber usually holds whole) and optionally per scope (a municipality and
//! provider, so one municipality's logins never use up another's), on `governor`'s keyed
//! limiter (GCRA). It lives in the process: behind a load balancer each instance limits on its
//! own, which bounds guessing and hammering without a database write per attempt.
//!
//! A quota of `limit` per `window` allows a burst of `limit` attempts, then one more every
//! `window / limit`: sustained, `limit` per `window`, with no window edge to burst across.
//!
//! It fails closed: a limiter that cannot be built (a limit of 0, or a window too short to
//! share out) refuses every attempt, and when it tracks as many addresses as it may, every
//! attempt counts in the one bucket of unknown addresses until a sweep makes room. There is no
//! lock of ours to poison: governor keeps its state in a `DashMap`, whose locks do not poison,
//! and the sweep's bookkeeping is atomic.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::Quota;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;

/// The bucket an attempt is counted in: its scope and address (`None` for all unknown
/// addresses, and for every address when the limiter is full).
type Key = (Box<str>, Option<IpAddr>);

/// Counts attempts per address against a quota of `limit` per `window`.
#[derive(Debug)]
pub struct RateLimiter {
    /// `None` when no quota could be made of the limit and window: every attempt is refused.
    buckets: Option<Buckets<DefaultClock>>,
}

/// The most addresses with a bucket of their own: some megabytes at most.
const MAX_TRACKED: usize = 100_000;

/// How often, at most, buckets that are full again are forgotten. A sweep walks every bucket,
/// so a flood of attempts does not make one per attempt.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Every this many sweeps, the memory freed is given back too.
const SHRINK_EVERY: u64 = 60;

impl RateLimiter {
    /// At most `limit` attempts per `window` from one address. A `limit` of 0, or a window
    /// shorter than `limit` nanoseconds, makes a limiter that refuses everything.
    pub fn new(limit: u32, window: Duration) -> Self {
        let buckets = quota(limit, window).map(|quota| Buckets::new(governor::RateLimiter::keyed(quota), MAX_TRACKED));
        Self { buckets }
    }

    /// Counts an attempt from `address` (unknown addresses share one bucket); false when over
    /// the limit, or when the limiter is unusable.
    pub fn allow(&self, address: Option<IpAddr>) -> bool {
        self.allow_in("", address)
    }

    /// Counts an attempt from `address` within `scope` (e.g. `4601/idporten`): each scope has
    /// buckets of its own. Returns whether it is allowed.
    pub fn allow_in(&self, scope: &str, address: Option<IpAddr>) -> bool {
        self.buckets.as_ref().is_some_and(|buckets| buckets.allow(scope, address.map(network)))
    }
}

/// The part of an address one client controls: an IPv4 address whole, an IPv6 address by its
/// /64 (an IPv4-mapped one as the IPv4 address it is).
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

/// `limit` per `window`, as a burst of `limit` given back one at a time.
fn quota(limit: u32, window: Duration) -> Option<Quota> {
    let burst = NonZeroU32::new(limit)?;
    Quota::with_period(window / limit).map(|quota| quota.allow_burst(burst))
}

type Keyed<C> = governor::RateLimiter<Key, DefaultKeyedStateStore<Key>, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// The keyed limiter with its housekeeping, over any clock so tests can move time.
#[derive(Debug)]
struct Buckets<C: Clock> {
    limiter: Keyed<C>,
    max_tracked: usize,
    /// When the buckets were made, on the limiter's clock.
    start: C::Instant,
    /// Nanoseconds from `start` to the last sweep.
    last_sweep: AtomicU64,
    sweeps: AtomicU64,
}

impl<C: Clock> Buckets<C> {
    fn new(limiter: Keyed<C>, max_tracked: usize) -> Self {
        let start = limiter.clock().now();
        Self { limiter, max_tracked, start, last_sweep: AtomicU64::new(0), sweeps: AtomicU64::new(0) }
    }

    fn allow(&self, scope: &str, address: Option<IpAddr>) -> bool {
        self.sweep_when_due();
        // When full, an attempt counts in its scope's bucket of unknown addresses rather than in
        // one of its own: memory stays bounded, and a flood of addresses is limited as one.
        let address = if self.limiter.len() >= self.max_tracked { None } else { address };
        self.limiter.check_key(&(Box::from(scope), address)).is_ok()
    }

    /// Sweeps when [`SWEEP_INTERVAL`] has passed since the last sweep; of callers racing, one
    /// sweeps and the others go on.
    fn sweep_when_due(&self) {
        let now = self.limiter.clock().now().duration_since(self.start).as_u64();
        let last = self.last_sweep.load(Ordering::Relaxed);
        if Duration::from_nanos(now.saturating_sub(last)) < SWEEP_INTERVAL
            || self.last_sweep.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        let sweeps = self.sweeps.fetch_add(1, Ordering::Relaxed) + 1;
        self.sweep(sweeps.is_multiple_of(SHRINK_EVERY));
    }

    /// Forgets the buckets that are as good as new, and gives memory back when `shrink`.
    fn sweep(&self, shrink: bool) {
        self.limiter.retain_recent();
        if shrink {
            self.limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    fn address(last: u8) -> Option<IpAddr> {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    fn buckets(limit: u32, window: Duration, max_tracked: usize) -> (Buckets<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        let quota = quota(limit, window).expect("test value");
        (Buckets::new(governor::RateLimiter::dashmap_with_clock(quota, clock.clone()), max_tracked), clock)
    }

    #[test]
    fn limits_per_address() {
        let limiter = RateLimiter::new(3, Duration::from_secs(3600));
        let (a, b) = (address(1), address(2));
        assert!((0..3).all(|_| limiter.allow(a)));
        assert!(!limiter.allow(a), "the fourth attempt in the window is refused");
        assert!(limiter.allow(b), "another address has its own count");
        assert!((0..3).all(|_| limiter.allow(None)));
        assert!(!limiter.allow(None), "unknown addresses share one count");
        assert!(!limiter.allow(a), "and the first address is still refused");
    }

    #[test]
    fn attempts_come_back_as_time_passes() {
        let (buckets, clock) = buckets(3, Duration::from_secs(3), MAX_TRACKED);
        let a = address(1);
        assert!((0..3).all(|_| buckets.allow("", a)));
        assert!(!buckets.allow("", a));
        clock.advance(Duration::from_millis(999));
        assert!(!buckets.allow("", a), "not quite a third of the window");
        clock.advance(Duration::from_millis(1));
        assert!(buckets.allow("", a), "one attempt back after a third of the window");
        assert!(!buckets.allow("", a));
        clock.advance(Duration::from_secs(3));
        assert!((0..3).all(|_| buckets.allow("", a)), "the whole burst after a whole window");
        assert!(!buckets.allow("", a));
    }

    #[test]
    fn an_unusable_limiter_refuses_everything() {
        for (limit, window) in
            [(0, Duration::from_secs(60)), (3, Duration::ZERO), (3, Duration::from_nanos(2)), (0, Duration::ZERO)]
        {
            let limiter = RateLimiter::new(limit, window);
            assert!(!limiter.allow(address(1)), "{limit} per {window:?}");
            assert!(!limiter.allow(None), "{limit} per {window:?}");
        }
        assert!(RateLimiter::new(3, Duration::from_nanos(3)).allow(address(1)), "the shortest usable window");
    }

    #[test]
    fn memory_stays_bounded_and_old_buckets_are_swept() {
        let (buckets, clock) = buckets(2, Duration::from_secs(60), 2);
        assert!(buckets.allow("", address(1)) && buckets.allow("", address(2)));
        assert_eq!(buckets.limiter.len(), 2);
        // Full: every attempt, from whatever address, counts in the one shared bucket of 2.
        let allowed = [address(1), address(3), address(4), None].into_iter().filter(|&a| buckets.allow("", a)).count();
        assert_eq!(allowed, 2);
        assert_eq!(buckets.limiter.len(), 3, "two addresses and the shared bucket");
        // A sweep keeps the buckets still in use...
        clock.advance(SWEEP_INTERVAL);
        assert!(!buckets.allow("", address(5)));
        assert_eq!(buckets.limiter.len(), 3);
        // ...and, once they are full again, forgets them, which makes room.
        clock.advance(Duration::from_secs(120));
        assert!(buckets.allow("", address(5)), "room again for a bucket of its own");
        assert_eq!(buckets.limiter.len(), 1);
        buckets.sweep(true);
        assert_eq!(buckets.limiter.len(), 1, "a sweep does not forget a bucket in use");
    }

    #[test]
    fn sweeps_come_at_most_once_an_interval() {
        let (buckets, clock) = buckets(1, Duration::from_millis(10), MAX_TRACKED);
        assert!(buckets.allow("", address(1)));
        clock.advance(Duration::from_millis(500));
        assert!(buckets.allow("", address(2)));
        assert_eq!(buckets.limiter.len(), 2, "no sweep within the interval");
        clock.advance(Duration::from_millis(500));
        assert!(buckets.allow("", address(3)));
        assert_eq!(buckets.limiter.len(), 1, "the sweep forgot the two spent buckets");
        assert_eq!(buckets.sweeps.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn scopes_count_apart_and_an_ipv6_client_counts_by_its_64() {
        let limiter = RateLimiter::new(2, Duration::from_secs(3600));
        let a = address(1);
        assert!(limiter.allow_in("4601/idporten", a) && limiter.allow_in("4601/idporten", a));
        assert!(!limiter.allow_in("4601/idporten", a), "the scope's bucket is empty");
        assert!(limiter.allow_in("1103/idporten", a), "another municipality counts apart");
        assert!(limiter.allow_in("4601/employees", a), "another provider counts apart");
        let v6 = |text: &str| Some(text.parse::<IpAddr>().expect("test value"));
        assert!(limiter.allow(v6("2001:db8:1:2::1")) && limiter.allow(v6("2001:db8:1:2:ffff::9")));
        assert!(!limiter.allow(v6("2001:db8:1:2:abcd::1")), "the same /64 is one client");
        assert!(limiter.allow(v6("2001:db8:1:3::1")), "the next /64 is another");
        assert_eq!(network("::ffff:10.0.0.1".parse().expect("test value")), "10.0.0.1".parse::<IpAddr>().expect("v4"));
    }
}
