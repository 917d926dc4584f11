//! A rate limiter per route, in the shapes providers' API gateways have, beyond which a request
//! is answered 429 and nothing is created:
//!
//! - a **token bucket** (GCRA, the governor crate): R requests per second with a burst of B (any
//!   B from 1; R when not given, as AWS API Gateway's default), 429 with `Retry-After` in whole
//!   seconds, rounded up, at least 1 (what HTTP can say of a 10 ms wait);
//! - **fixed windows** (as Azure API Management's rate-limit policy): R x W requests in each
//!   window of W seconds, 429 with `Retry-After` the rest of the window;
//! - either **without `Retry-After`** (as AWS API Gateway and Envoy answer by default).
//!
//! Set at start (`iam-sandbox --rate-limit 20 --burst 2`, `--window 10`, `--no-retry-after`;
//! [`crate::Config::rate_limit`]) for every route, or per route through
//! [`crate::Sandbox::set_rate_limit`] or `POST /_sandbox/faults`:
//!
//! ```json
//! {"route": "nexway", "rate_limit": {"per_second": 20, "burst": 2}}
//! {"route": "nexway", "rate_limit": {"per_second": 10, "window_secs": 10}}
//! {"route": "nexway", "rate_limit": {"per_second": 20, "burst": 2, "retry_after": false}}
//! {"route": "nexway", "rate_limit": null}
//! ```
//!
//! A route's limit is shared by all its tenants.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::Route;

/// A route's limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests admitted per second, on average.
    pub per_second: u32,
    /// Token bucket: requests admitted at once after a quiet spell; `per_second` (one second's
    /// worth) when absent. Not with `window_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Fixed windows of this many seconds, `per_second` x `window_secs` requests each, instead
    /// of a token bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_secs: Option<u32>,
    /// Whether a 429 says when to come back (`Retry-After`); true when absent.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub retry_after: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl RateLimit {
    /// `per_second` requests a second, a token bucket with a burst of one second's worth,
    /// answering `Retry-After`.
    pub fn per_second(per_second: u32) -> Self {
        Self {
            per_second,
            burst: None,
            window_secs: None,
            retry_after: true,
        }
    }

    /// Sets the token bucket's burst.
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }

    /// Fixed windows of `secs` seconds instead of a token bucket.
    pub fn window(mut self, secs: u32) -> Self {
        self.window_secs = Some(secs);
        self
    }

    /// 429s without `Retry-After`.
    pub fn without_retry_after(mut self) -> Self {
        self.retry_after = false;
        self
    }

    /// Why the limit cannot be used, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.per_second == 0 {
            return Err("rate_limit.per_second must be at least 1".to_owned());
        }
        if self.burst == Some(0) {
            return Err("rate_limit.burst must be at least 1".to_owned());
        }
        if self.window_secs == Some(0) {
            return Err("rate_limit.window_secs must be at least 1".to_owned());
        }
        if self.burst.is_some() && self.window_secs.is_some() {
            return Err(
                "rate_limit: burst is a token bucket's, window_secs a fixed window's; give one"
                    .to_owned(),
            );
        }
        Ok(())
    }

    fn limiter(&self, now: Instant) -> Option<Limiter> {
        let rate = NonZeroU32::new(self.per_second)?;
        Some(match self.window_secs {
            Some(secs) => Limiter::Window {
                started: now,
                length: Duration::from_secs(u64::from(secs)),
                budget: u64::from(self.per_second) * u64::from(secs),
                index: 0,
                used: 0,
            },
            None => {
                let burst = NonZeroU32::new(self.burst.unwrap_or(self.per_second))?;
                Limiter::Bucket(RateLimiter::direct(
                    Quota::per_second(rate).allow_burst(burst),
                ))
            }
        })
    }
}

/// A limiter in force.
enum Limiter {
    Bucket(DefaultDirectRateLimiter),
    Window {
        started: Instant,
        length: Duration,
        budget: u64,
        /// The window `used` counts in.
        index: u64,
        used: u64,
    },
}

impl Limiter {
    /// Admits a request at `now`, or says how long until one would be admitted.
    fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        match self {
            Limiter::Bucket(limiter) => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(now)),
            Limiter::Window {
                started,
                length,
                budget,
                index,
                used,
            } => {
                let elapsed = now.saturating_duration_since(*started);
                let current = (elapsed.as_nanos() / length.as_nanos()) as u64;
                if current != *index {
                    *index = current;
                    *used = 0;
                }
                if *used < *budget {
                    *used += 1;
                    Ok(())
                } else {
                    let end = *length * (current as u32 + 1);
                    Err(end.saturating_sub(elapsed))
                }
            }
        }
    }
}

/// The limiters in force, by route.
#[derive(Default)]
pub(crate) struct Limits(BTreeMap<Route, (RateLimit, Limiter)>);

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(route, (limit, _))| (route, limit)))
            .finish()
    }
}

impl Limits {
    /// Sets (a fresh, full bucket; a window starting now) or clears the limit of `route`.
    pub(crate) fn set(&mut self, route: Route, limit: Option<RateLimit>) {
        match limit.and_then(|l| Some((l, l.limiter(Instant::now())?))) {
            Some(entry) => {
                self.0.insert(route, entry);
            }
            None => {
                self.0.remove(&route);
            }
        }
    }

    pub(crate) fn all(&self) -> BTreeMap<Route, RateLimit> {
        self.0.iter().map(|(r, (l, _))| (*r, *l)).collect()
    }

    /// Admits a request of `route`, or refuses it with the `Retry-After` to answer (whole
    /// seconds), if the limit answers one.
    pub(crate) fn admit(&mut self, route: Route) -> Result<(), Option<u64>> {
        match self.0.get_mut(&route) {
            None => Ok(()),
            Some((limit, limiter)) => limiter
                .admit(Instant::now())
                .map_err(|wait| limit.retry_after.then(|| retry_after_secs(wait))),
        }
    }
}

/// `Retry-After` for a wait: whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_429_until_the_bucket_refills() {
        let mut limits = Limits::default();
        limits.set(Route::Nexway, Some(RateLimit::per_second(1).burst(3)));
        for _ in 0..3 {
            assert_eq!(limits.admit(Route::Nexway), Ok(()));
        }
        assert_eq!(
            limits.admit(Route::Nexway),
            Err(Some(1)),
            "a wait under 1 s says 1"
        );
        assert_eq!(limits.admit(Route::Entrust), Ok(()), "per route");
        limits.set(Route::Nexway, None);
        assert_eq!(limits.admit(Route::Nexway), Ok(()));
    }

    #[test]
    fn a_burst_of_one_refuses_the_second_request_at_once() {
        let mut limits = Limits::default();
        limits.set(Route::Entrust, Some(RateLimit::per_second(5).burst(1)));
        assert_eq!(limits.admit(Route::Entrust), Ok(()));
        assert_eq!(limits.admit(Route::Entrust), Err(Some(1)));
    }

    #[test]
    fn a_fixed_window_spends_its_budget_then_names_the_rest_of_the_window() {
        let mut limits = Limits::default();
        limits.set(Route::Nexway, Some(RateLimit::per_second(2).window(10)));
        for _ in 0..20 {
            assert_eq!(limits.admit(Route::Nexway), Ok(()));
        }
        // The rest of a 10 s window that began just now: 10 s, in whole seconds.
        assert_eq!(limits.admit(Route::Nexway), Err(Some(10)));
        let mut limiter = RateLimit::per_second(2)
            .window(10)
            .limiter(Instant::now())
            .unwrap();
        let start = Instant::now();
        for _ in 0..20 {
            assert_eq!(limiter.admit(start), Ok(()));
        }
        let rest = limiter.admit(start + Duration::from_secs(7)).unwrap_err();
        assert!(
            rest <= Duration::from_secs(3) && rest > Duration::from_millis(2900),
            "{rest:?}"
        );
        assert_eq!(
            limiter.admit(start + Duration::from_secs(10)),
            Ok(()),
            "a new window"
        );
    }

    #[test]
    fn without_retry_after_a_429_names_no_wait() {
        let mut limits = Limits::default();
        limits.set(
            Route::Nexway,
            Some(RateLimit::per_second(1).burst(1).without_retry_after()),
        );
        assert_eq!(limits.admit(Route::Nexway), Ok(()));
        assert_eq!(limits.admit(Route::Nexway), Err(None));
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(50)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
    }

    #[test]
    fn json_form_and_checks() {
        let limit: RateLimit = serde_json::from_str(r#"{"per_second": 20}"#).unwrap();
        assert_eq!(limit, RateLimit::per_second(20));
        assert!(
            RateLimit::per_second(0)
                .check()
                .unwrap_err()
                .contains("per_second")
        );
        assert!(RateLimit::per_second(5).burst(0).check().is_err());
        assert!(RateLimit::per_second(5).window(0).check().is_err());
        assert!(
            RateLimit::per_second(5)
                .burst(2)
                .window(10)
                .check()
                .is_err()
        );
        let window: RateLimit =
            serde_json::from_str(r#"{"per_second": 10, "window_secs": 10, "retry_after": false}"#)
                .unwrap();
        assert_eq!(
            window,
            RateLimit::per_second(10).window(10).without_retry_after()
        );
        assert!(serde_json::from_str::<RateLimit>(r#"{"per_second": 1, "rate": 2}"#).is_err());
    }
}
