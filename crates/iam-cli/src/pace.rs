//! How fast `iam import` sends: the provider's rate limit is the speed limit of the import as a
//! whole, not of each request.
//!
//! - `--rate N`: a governor (GCRA) limiter, N requests per second, evenly spaced (burst 2, so
//!   that a timer firing late on a loaded machine is caught up: N on average, N + 1 at most in
//!   any second).
//! - Without it, adaptive: the first 429 sets a rate (90% of the rate answered in the last
//!   second) and halves the requests in flight; the rate then grows by 1% of itself per second,
//!   and the window by one per window of answers, until the next 429 (AIMD). Each 429 episode
//!   counts once: answers to requests sent before the last decrease do not decrease again.
//!
//! In both modes a 429 (or a 503 with `Retry-After`) pauses every request until the time it
//! names, and the row is sent again by the import (see `row_state`).

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Notify, Semaphore, SemaphorePermit};

/// The longest pause one answer can ask for.
const MAX_PAUSE: Duration = Duration::from_secs(300);
/// The pause after a 429 without `Retry-After`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

/// The adaptive controller, as plain arithmetic on a clock it is given (so it can be tested
/// without waiting).
#[derive(Clone, Debug, PartialEq)]
pub struct Aimd {
    /// Requests per second; `None` until the first 429 (no limit but the window).
    pub rate: Option<f64>,
    /// Requests in flight at most.
    pub window: usize,
    /// The window's ceiling (`--concurrency`).
    pub max_window: usize,
    /// When the rate or window last decreased: answers to requests sent before it are ignored.
    pub decreased_at: Option<Instant>,
    /// When the rate last grew.
    pub grown_at: Instant,
    /// Answers counted toward the next window increase.
    pub answers: usize,
}

/// Multiplicative decrease of the rate.
const BETA: f64 = 0.9;
/// Additive increase, per second, as a fraction of the rate set at the last decrease.
const GROWTH: f64 = 0.01;
/// The rate never goes below this (requests per second).
const MIN_RATE: f64 = 0.5;

impl Aimd {
    pub fn new(max_window: usize, now: Instant) -> Self {
        Self {
            rate: None,
            window: max_window,
            max_window,
            decreased_at: None,
            grown_at: now,
            answers: 0,
        }
    }

    /// A 429 to a request sent at `sent`, with `answered` requests answered in the last second.
    /// Returns whether the rate or window changed.
    pub fn limited(&mut self, sent: Instant, answered_last_second: f64, now: Instant) -> bool {
        if self.decreased_at.is_some_and(|at| sent < at) {
            return false; // the same episode
        }
        // Nothing answered in the last second says nothing of the limit: the pause and the
        // window act alone, and a rate in force still decreases.
        let measured = (answered_last_second > 0.0).then_some(answered_last_second * BETA);
        self.rate = match (self.rate, measured) {
            (Some(rate), Some(measured)) => Some(measured.min(rate * BETA).max(MIN_RATE)),
            (Some(rate), None) => Some((rate * BETA).max(MIN_RATE)),
            (None, measured) => measured.map(|m| m.max(MIN_RATE)),
        };
        self.window = (self.window / 2).max(1);
        self.decreased_at = Some(now);
        self.grown_at = now;
        self.answers = 0;
        true
    }

    /// An answer that was not a 429. Returns whether the rate or window changed.
    pub fn answered(&mut self, now: Instant) -> bool {
        let mut changed = false;
        self.answers += 1;
        if self.window < self.max_window && self.answers >= self.window {
            self.window += 1;
            self.answers = 0;
            changed = true;
        }
        if let Some(rate) = self.rate {
            let elapsed = now.saturating_duration_since(self.grown_at);
            if elapsed >= Duration::from_secs(1) {
                // 1% of the rate per second, compounding once a second.
                self.rate = Some(rate + rate * GROWTH * elapsed.as_secs_f64());
                self.grown_at = now;
                changed = true;
            }
        }
        changed
    }
}

/// Answers per 100 ms over the last second, for the rate the provider actually took.
#[derive(Debug)]
struct Recent {
    started: Instant,
    buckets: [u32; 10],
    /// The 100 ms tick of `buckets[tick % 10]`.
    tick: u64,
}

impl Recent {
    fn new(now: Instant) -> Self {
        Self {
            started: now,
            buckets: [0; 10],
            tick: 0,
        }
    }

    fn advance(&mut self, now: Instant) {
        let tick = (now.saturating_duration_since(self.started).as_millis() / 100) as u64;
        if tick > self.tick {
            for t in (self.tick + 1)..=tick.min(self.tick + 10) {
                self.buckets[(t % 10) as usize] = 0;
            }
            self.tick = tick;
        }
    }

    fn add(&mut self, now: Instant) {
        self.advance(now);
        self.buckets[(self.tick % 10) as usize] += 1;
    }

    /// Answers in the last second: the 9 full buckets and the current one, scaled to the 0.9 s
    /// and the part of the current 100 ms they cover (the bucket of a second ago is gone).
    fn last_second(&mut self, now: Instant) -> f64 {
        self.advance(now);
        let into_tick = now.saturating_duration_since(self.started).as_micros() % 100_000;
        let covered = 0.9 + (into_tick as f64 / 1e6).max(0.001);
        f64::from(self.buckets.iter().sum::<u32>()) / covered
    }
}

struct State {
    aimd: Option<Aimd>,
    paused_until: Option<Instant>,
    recent: Recent,
    /// Permits to forget as they come back (the window shrank below the requests in flight).
    debt: usize,
    /// The window the semaphore stands for.
    window: usize,
}

/// The pace of one import. Cheap to share (`Arc`).
pub struct Pace {
    sem: Semaphore,
    limiter: Mutex<Option<Arc<DefaultDirectRateLimiter>>>,
    state: Mutex<State>,
    interrupted: AtomicBool,
    interrupt: Notify,
    limited: AtomicU64,
    fixed: Option<NonZeroU32>,
}

/// A request slot: hold it while the request is out, then give it to [`Pace::answered`].
pub struct Slot<'a> {
    permit: Option<SemaphorePermit<'a>>,
    sent: Instant,
}

/// What the pace needs to know of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// Any answer but a rate limit (or no answer).
    Answer,
    /// 429, or 503 with `Retry-After`: pause everything this long.
    Limited(Option<Duration>),
}

/// What the progress line shows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Status {
    /// Answers in the last second.
    pub rate: f64,
    /// The rate limit in force (`--rate`, or the adaptive one), if any.
    pub limit: Option<f64>,
    /// Whether the provider asked to wait and the import is waiting.
    pub held: bool,
    /// 429 (and 503 with `Retry-After`) answers so far.
    pub limited: u64,
}

fn limiter(rate: f64) -> Arc<DefaultDirectRateLimiter> {
    let period = Duration::from_secs_f64(1.0 / rate.max(MIN_RATE));
    let quota = Quota::with_period(period).expect("a positive period");
    Arc::new(RateLimiter::direct(quota))
}

impl Pace {
    /// `concurrency` requests in flight at most; `rate`: `--rate`, else adaptive.
    pub fn new(concurrency: usize, rate: Option<NonZeroU32>) -> Self {
        let now = Instant::now();
        let limiter = rate.map(|n| {
            // One request every 1/N s, never N at once; a burst of 2 lets a request whose timer
            // fired late be followed at once by the next, so lateness (a loaded machine) is
            // caught up instead of lost: the average stays N, and a second holds N + 1 at most.
            Arc::new(RateLimiter::direct(
                Quota::per_second(n).allow_burst(NonZeroU32::new(2).expect("2 is not 0")),
            ))
        });
        Self {
            sem: Semaphore::new(concurrency),
            limiter: Mutex::new(limiter),
            state: Mutex::new(State {
                aimd: rate.is_none().then(|| Aimd::new(concurrency, now)),
                paused_until: None,
                recent: Recent::new(now),
                debt: 0,
                window: concurrency,
            }),
            interrupted: AtomicBool::new(false),
            interrupt: Notify::new(),
            limited: AtomicU64::new(0),
            fixed: rate,
        }
    }

    /// Ctrl-C: requests waiting for the provider's pause or for the rate are not sent.
    pub fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
        self.interrupt.notify_waiters();
    }

    pub fn is_interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    /// Waits for a request slot, the end of any pause, and the rate. `None`: interrupted while
    /// waiting for the pause or the rate (the request is not sent).
    pub async fn acquire(&self) -> Option<Slot<'_>> {
        let permit = self
            .sem
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let mut slot = Slot {
            permit: Some(permit),
            sent: Instant::now(),
        };
        loop {
            let paused = self.state.lock().expect("lock").paused_until;
            if let Some(until) = paused.filter(|u| *u > Instant::now()) {
                if !self.wait(tokio::time::sleep_until(until.into())).await {
                    self.give_back(&mut slot);
                    return None;
                }
                continue;
            }
            let limiter = self.limiter.lock().expect("lock").clone();
            if let Some(limiter) = limiter {
                if !self.wait(limiter.until_ready()).await {
                    self.give_back(&mut slot);
                    return None;
                }
                // The rate changed while this request waited: its token came from the limiter
                // replaced, which would admit beside the new one; take one from the new one.
                let current = self.limiter.lock().expect("lock").clone();
                if current.is_some_and(|current| !Arc::ptr_eq(&current, &limiter)) {
                    continue;
                }
            }
            // A pause may have begun while waiting for the rate.
            let paused = self.state.lock().expect("lock").paused_until;
            if paused.is_none_or(|u| u <= Instant::now()) {
                slot.sent = Instant::now();
                return Some(slot);
            }
        }
    }

    /// Awaits `f` unless interrupted first (false).
    async fn wait<F: std::future::Future>(&self, f: F) -> bool {
        let notified = self.interrupt.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_interrupted() {
            return false;
        }
        tokio::select! {
            _ = f => !self.is_interrupted(),
            _ = notified => false,
        }
    }

    /// Returns the slot's permit, or forgets it if the window shrank.
    fn give_back(&self, slot: &mut Slot<'_>) {
        if let Some(permit) = slot.permit.take() {
            let mut state = self.state.lock().expect("lock");
            if state.debt > 0 {
                state.debt -= 1;
                permit.forget();
            }
        }
    }

    /// The answer to the request of `slot`; frees the slot.
    pub fn answered(&self, mut slot: Slot<'_>, heard: Heard) {
        let now = Instant::now();
        let mut state = self.state.lock().expect("lock");
        let mut rate_changed = None;
        match heard {
            Heard::Answer => {
                state.recent.add(now);
                if let Some(aimd) = &mut state.aimd {
                    let before = aimd.rate;
                    aimd.answered(now);
                    if aimd.rate != before {
                        rate_changed = aimd.rate;
                    }
                }
            }
            Heard::Limited(after) => {
                self.limited.fetch_add(1, Ordering::Relaxed);
                let pause = after.unwrap_or(DEFAULT_PAUSE).min(MAX_PAUSE);
                let until = now + pause;
                state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
                let answered = state.recent.last_second(now);
                if let Some(aimd) = &mut state.aimd
                    && aimd.limited(slot.sent, answered, now)
                {
                    rate_changed = aimd.rate;
                }
            }
        }
        // Resize the window to the controller's.
        if let Some(window) = state.aimd.as_ref().map(|a| a.window) {
            if window < state.window {
                let cut = state.window - window;
                let taken = self.sem.forget_permits(cut);
                state.debt += cut - taken;
            } else if window > state.window {
                let grow = window - state.window;
                let paid = grow.min(state.debt);
                state.debt -= paid;
                self.sem.add_permits(grow - paid);
            }
            state.window = window;
        }
        drop(state);
        if let Some(rate) = rate_changed {
            *self.limiter.lock().expect("lock") = Some(limiter(rate));
        }
        self.give_back(&mut slot);
    }

    /// For the progress line.
    pub fn status(&self) -> Status {
        let now = Instant::now();
        let mut state = self.state.lock().expect("lock");
        let limit = match (&state.aimd, self.fixed) {
            (Some(aimd), _) => aimd.rate,
            (None, Some(n)) => Some(f64::from(n.get())),
            (None, None) => None,
        };
        Status {
            rate: state.recent.last_second(now),
            limit,
            held: state.paused_until.is_some_and(|u| u > now),
            limited: self.limited.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        // A slot dropped without `answered` (a cancelled task) just frees its permit.
        drop(self.permit.take());
    }
}

impl Status {
    /// `19/s, limit 20/s (adaptive), held back by the provider (429)`.
    pub fn describe(&self, adaptive: bool) -> String {
        let mut text = format!("{:.0}/s", self.rate);
        if let Some(limit) = self.limit {
            let how = if adaptive { "adaptive" } else { "--rate" };
            text.push_str(&format!(", limit {limit:.1}/s ({how})"));
        }
        if self.held {
            text.push_str(", held back by the provider (429/503 Retry-After)");
        }
        if self.limited > 0 {
            text.push_str(&format!(", {} rate-limited", self.limited));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aimd_decreases_once_per_episode_and_grows_back() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut aimd = Aimd::new(8, t0);
        assert_eq!(aimd.rate, None);

        // First 429: 90% of what was answered in the last second, half the window.
        assert!(aimd.limited(t0, 200.0, t0 + s(1)));
        assert_eq!((aimd.rate, aimd.window), (Some(180.0), 4));
        // Answers to requests sent before that decrease are the same episode.
        assert!(!aimd.limited(t0, 200.0, t0 + s(1)));
        assert_eq!(aimd.rate, Some(180.0));

        // The window grows by one per window of answers; the rate by 1% a second.
        for _ in 0..4 {
            aimd.answered(t0 + s(1));
        }
        assert_eq!(aimd.window, 5);
        aimd.answered(t0 + s(3));
        assert!((aimd.rate.unwrap() - 183.6).abs() < 1e-9, "{:?}", aimd.rate);

        // A later 429: never above 90% of the current rate, even when the last second saw more.
        assert!(aimd.limited(t0 + s(4), 1000.0, t0 + s(4)));
        assert!((aimd.rate.unwrap() - 183.6 * 0.9).abs() < 1e-9);
        // ... and it follows what the provider took when that is less.
        assert!(aimd.limited(t0 + s(5), 20.0, t0 + s(5)));
        assert_eq!(aimd.rate, Some(18.0));
        assert!(aimd.limited(t0 + s(6), 0.0, t0 + s(6)));
        assert_eq!((aimd.rate, aimd.window), (Some(18.0 * 0.9), 1));
        assert!(aimd.limited(t0 + s(7), 0.1, t0 + s(7)));
        assert_eq!(aimd.rate, Some(MIN_RATE));

        // A 429 before any answer (a 503 at the start) sets no rate: the pause and window act.
        let mut fresh = Aimd::new(8, t0);
        assert!(fresh.limited(t0, 0.0, t0));
        assert_eq!((fresh.rate, fresh.window), (None, 4));
    }

    #[test]
    fn recent_counts_the_last_second() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut recent = Recent::new(t0);
        for i in 0..10 {
            recent.add(t0 + ms(i * 100));
        }
        // At 0.95 s: 10 answers over the 0.95 s covered.
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        assert!(close(recent.last_second(t0 + ms(950)), 10.0 / 0.95));
        // At 1.05 s the first bucket is gone: 9 over 0.95 s.
        assert!(close(recent.last_second(t0 + ms(1050)), 9.0 / 0.95));
        assert_eq!(recent.last_second(t0 + ms(5000)), 0.0);
    }

    #[tokio::test]
    async fn a_shrunk_window_forgets_permits_as_they_come_back() {
        let pace = Pace::new(4, None);
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(pace.acquire().await.unwrap());
        }
        let first = held.pop().unwrap();
        pace.answered(first, Heard::Limited(Some(Duration::ZERO)));
        // Window 4 -> 2 with 3 requests still out: the permits coming back are forgotten until
        // two are in flight; then 2 answers grow it to 3.
        assert_eq!(pace.state.lock().unwrap().window, 2);
        for slot in held {
            pace.answered(slot, Heard::Answer);
        }
        let window = pace.state.lock().unwrap().window;
        assert_eq!((window, pace.sem.available_permits()), (3, 3));
        let status = pace.status();
        assert_eq!(
            (status.limited, status.limit),
            (1, None),
            "no answer before the 429"
        );
    }
}
