//! A rate limiter per route, as a provider's API gateway has: R requests per second with a
//! burst of B (GCRA, the governor crate), beyond which a request is answered 429 with
//! `Retry-After` (whole seconds, at least 1) and nothing is created.
//!
//! Set at start (`iam-sandbox --rate-limit 20 --burst 20`, [`crate::Config::rate_limit`]) for
//! every route, or per route through [`crate::Sandbox::set_rate_limit`] or
//! `POST /_sandbox/faults`:
//!
//! ```json
//! {"route": "nexway", "rate_limit": {"per_second": 20, "burst": 20}}
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
    /// Requests admitted at once after a quiet spell; `per_second` (one second's worth) when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl RateLimit {
    /// `per_second` requests a second, with a burst of one second's worth.
    pub fn per_second(per_second: u32) -> Self {
        Self {
            per_second,
            burst: None,
        }
    }

    /// Sets the burst.
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
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
        Ok(())
    }

    fn quota(&self) -> Option<Quota> {
        let rate = NonZeroU32::new(self.per_second)?;
        let burst = NonZeroU32::new(self.burst.unwrap_or(self.per_second))?;
        Some(Quota::per_second(rate).allow_burst(burst))
    }
}

/// The limiters in force, by route.
#[derive(Default)]
pub(crate) struct Limits(BTreeMap<Route, (RateLimit, DefaultDirectRateLimiter)>);

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(route, (limit, _))| (route, limit)))
            .finish()
    }
}

impl Limits {
    /// Sets (a fresh, full bucket) or clears the limit of `route`.
    pub(crate) fn set(&mut self, route: Route, limit: Option<RateLimit>) {
        match limit.and_then(|l| Some((l, l.quota()?))) {
            Some((limit, quota)) => {
                self.0.insert(route, (limit, RateLimiter::direct(quota)));
            }
            None => {
                self.0.remove(&route);
            }
        }
    }

    pub(crate) fn all(&self) -> BTreeMap<Route, RateLimit> {
        self.0.iter().map(|(r, (l, _))| (*r, *l)).collect()
    }

    /// Admits a request of `route`, or says how long until one would be admitted.
    pub(crate) fn admit(&self, route: Route) -> Result<(), Duration> {
        match self.0.get(&route) {
            None => Ok(()),
            Some((_, limiter)) => limiter
                .check()
                .map_err(|not_until| not_until.wait_time_from(Instant::now())),
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
        let wait = limits.admit(Route::Nexway).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert_eq!(limits.admit(Route::Entrust), Ok(()), "per route");
        limits.set(Route::Nexway, None);
        assert_eq!(limits.admit(Route::Nexway), Ok(()));
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
        assert!(serde_json::from_str::<RateLimit>(r#"{"per_second": 1, "rate": 2}"#).is_err());
    }
}
