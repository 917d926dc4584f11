//! How fast `iam import` sends: the provider's rate limit is the speed limit of the import as a
//! whole, not of each request.
//!
//! - `--rate N`: a governor (GCRA) limiter, N requests per second, evenly spaced, never two
//!   closer than 1/N s (burst 1: a late request is not caught up, so a second holds N at most;
//!   a gateway limiting to exactly N with a small burst admits every request).
//! - Without it, adaptive ([`crate::adaptive`]): no limit until the first 429; then the limit is
//!   found by measuring what the gateway admitted, and held just under, probing slowly. Requests
//!   are spaced at the controller's rate, one at a time (no catch-up burst: a gateway with a
//!   burst of 1 refuses two requests closer than its interval), timed to about 0.1 ms (the
//!   last milliseconds on a thread's sleep, not tokio's 1 ms timer); against a burst of 1, a
//!   late request is not caught up, and a slow answer delays the next request as much
//!   ([`crate::adaptive::spaced`]).
//!
//! In both modes a 429 or a 503 pauses every request until the time it
//! names (without `Retry-After`: 1 s with `--rate`, an exponential backoff with jitter when
//! adaptive), and the row is sent again by the import (see `row_state`).

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use crate::adaptive::{Adaptive, LastAnswer, MAX_PAUSE, spaced};

/// Round trips remembered for the shortest.
const RTTS: usize = 64;

/// How close to a request's time the pace stops sleeping on tokio's timer (1 ms tick).
const COARSE: Duration = Duration::from_millis(3);

/// How long before a request's time the pace stops sleeping on a thread and yields instead
/// (waking a task from a thread's sleep takes about 150 µs).
const FINE: Duration = Duration::from_micros(200);

/// The pause after a 429 without `Retry-After`, with `--rate`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

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
    adaptive: Option<Adaptive>,
    paused_until: Option<Instant>,
    recent: Recent,
    /// When the last request left, for the adaptive spacing.
    last_sent: Option<Instant>,
    /// The last request sent, and its round trip once answered ([`spaced`]).
    last: Option<(Instant, Option<Duration>)>,
    /// The last round trips of paced requests: their shortest ([`spaced`]'s floor) and their
    /// spread ([`spread`]).
    rtts: VecDeque<Duration>,
    /// A xorshift state for the backoff's jitter.
    seed: u64,
}

/// The pace of one import. Cheap to share (`Arc`).
pub struct Pace {
    sem: Semaphore,
    /// `--rate`'s limiter.
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
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
    /// Sent at the adaptive pace's rate (not all at once, before any limit, when requests
    /// queue behind each other and their round trips say nothing of the path).
    paced: bool,
}

/// What the pace needs to know of an answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Heard {
    /// Any answer but a rate limit (or no answer).
    Answer,
    /// 429 or 503: pause everything this long; and the limit the answer
    /// published in its headers (requests/s), if it did.
    Limited(Option<Duration>, Option<f64>),
}

/// What the progress line shows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Status {
    /// Answers in the last second.
    pub rate: f64,
    /// The rate the import sends at (`--rate`, or the adaptive one), if it is limited.
    pub pace: Option<f64>,
    /// The provider's limit as the adaptive pace found it, if it has.
    pub limit: Option<f64>,
    /// How long the provider still holds the import back (a 429's pause), if it does.
    pub held: Option<Duration>,
    /// 429 and 503 answers so far.
    pub limited: u64,
}

impl Pace {
    /// `concurrency` requests in flight at most; `rate`: `--rate`, else adaptive.
    pub fn new(concurrency: usize, rate: Option<NonZeroU32>) -> Self {
        let now = Instant::now();
        let limiter = rate.map(|n| {
            // One request every 1/N s, never two closer (burst 1). A burst of 2 caught up a
            // request whose timer fired late, but against a gateway limiting to exactly N with a
            // burst of 2, the catch-up (and the two sent at once after every pause) spent its
            // spare token: each arrival a little early was then refused, a 1 s pause each, and
            // `--rate 100` made 0.32 N (2.1% of requests 429). With burst 1: 0.98 N and no 429
            // there, 0.98 N against a burst of N (was 1.00 N).
            Arc::new(RateLimiter::direct(
                Quota::per_second(n).allow_burst(NonZeroU32::MIN),
            ))
        });
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
        Self {
            sem: Semaphore::new(concurrency),
            limiter,
            state: Mutex::new(State {
                adaptive: rate.is_none().then(|| Adaptive::new(now)),
                paused_until: None,
                recent: Recent::new(now),
                last_sent: None,
                last: None,
                rtts: VecDeque::new(),
                seed,
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
            paced: false,
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
            if let Some(limiter) = &self.limiter
                && !self.wait(limiter.until_ready()).await
            {
                self.give_back(&mut slot);
                return None;
            }
            // The adaptive spacing: one request every 1/rate s, at the rate of the moment (it
            // moves as the controller ramps), later after a slow answer ([`spaced`]), re-read
            // at least every 50 ms while waiting.
            let due = {
                let mut state = self.state.lock().expect("lock");
                let now = Instant::now();
                let paused = state.paused_until.is_some_and(|u| u > now);
                let rate = state.adaptive.as_ref().and_then(|a| a.rate(now));
                let next = match (state.adaptive.as_ref(), rate, state.last_sent) {
                    (Some(adaptive), Some(rate), Some(last)) => Some(match state.last {
                        Some((sent, answer)) => spaced(
                            last + interval(rate),
                            interval(rate),
                            sent,
                            answer.map_or(LastAnswer::Awaited, LastAnswer::After),
                            state
                                .rtts
                                .iter()
                                .min()
                                .copied()
                                .filter(|_| adaptive.spaces_by_answers()),
                            adaptive.slack(rate),
                            now,
                        ),
                        None => last + interval(rate),
                    }),
                    _ => None,
                };
                match (paused, next) {
                    (true, _) => Some(now),
                    (false, Some(next)) if next > now => Some(next),
                    (false, _) => {
                        let catch_up = state
                            .adaptive
                            .as_ref()
                            .is_some_and(|a| !a.spaces_by_answers());
                        let mark = rate.zip(next).map_or(now, |(rate, next)| {
                            mark(next, interval(rate), catch_up, now)
                        });
                        state.last_sent = Some(mark);
                        state.last = Some((now, None));
                        if let Some(adaptive) = &mut state.adaptive {
                            adaptive.sent(now);
                        }
                        slot.sent = now;
                        slot.paced = rate.is_some();
                        None
                    }
                }
            };
            let Some(due) = due else {
                return Some(slot);
            };
            let now = Instant::now();
            if due > now + COARSE {
                // tokio's timer has a 1 ms tick and may fire a tick late: sleep on it to
                // `COARSE` before, re-reading at least every 50 ms.
                let wake = (due - COARSE).min(now + Duration::from_millis(50));
                if !self.wait(tokio::time::sleep_until(wake.into())).await {
                    self.give_back(&mut slot);
                    return None;
                }
            } else if due > now + FINE {
                // The last milliseconds on a thread's own sleep (the kernel's high-resolution
                // timer) to `FINE` before, what waking this task again takes, then yield: a
                // request late by a tick is a request early to the gateway next.
                let wait = due - now - FINE;
                let _ = tokio::task::spawn_blocking(move || std::thread::sleep(wait)).await;
                if self.is_interrupted() {
                    self.give_back(&mut slot);
                    return None;
                }
            } else if due > now {
                tokio::task::yield_now().await;
                if self.is_interrupted() {
                    self.give_back(&mut slot);
                    return None;
                }
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

    /// Returns the slot's permit.
    fn give_back(&self, slot: &mut Slot<'_>) {
        drop(slot.permit.take());
    }

    /// The answer to the request of `slot`; frees the slot.
    pub fn answered(&self, mut slot: Slot<'_>, heard: Heard) {
        let now = Instant::now();
        let mut state = self.state.lock().expect("lock");
        let rtt = now.saturating_duration_since(slot.sent);
        // The first requests leave together, before any limit is known: their round trips
        // include each other's (at the first 429, eight sent at once spread over 0.9 to 1.2 ms,
        // where paced ones spread over 0.2 ms, and the hold left 2% of a 20/s interval for it).
        if slot.paced {
            if state.rtts.len() == RTTS {
                state.rtts.pop_front();
            }
            state.rtts.push_back(rtt);
        }
        if let Some((sent, answer)) = &mut state.last
            && *sent == slot.sent
        {
            *answer = Some(rtt);
        }
        match heard {
            Heard::Answer => {
                state.recent.add(now);
                if let Some(adaptive) = &mut state.adaptive {
                    adaptive.answered(slot.sent);
                }
            }
            Heard::Limited(after, published) => {
                self.limited.fetch_add(1, Ordering::Relaxed);
                state.seed ^= state.seed << 13;
                state.seed ^= state.seed >> 7;
                state.seed ^= state.seed << 17;
                let jitter = (state.seed >> 11) as f64 / (1u64 << 53) as f64;
                let State { adaptive, rtts, .. } = &mut *state;
                let pause = match adaptive {
                    Some(adaptive) => {
                        adaptive.measured_spread(spread(rtts));
                        adaptive.limited(slot.sent, after, published, now, jitter)
                    }
                    None => after.unwrap_or(DEFAULT_PAUSE).min(MAX_PAUSE),
                };
                let until = now + pause;
                state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
            }
        }
        drop(state);
        self.give_back(&mut slot);
    }

    /// For the progress line.
    pub fn status(&self) -> Status {
        let now = Instant::now();
        let mut state = self.state.lock().expect("lock");
        let (pace, limit) = match (&state.adaptive, self.fixed) {
            (Some(adaptive), _) => (adaptive.rate(now), adaptive.limit),
            (None, Some(n)) => (Some(f64::from(n.get())), None),
            (None, None) => (None, None),
        };
        Status {
            rate: state.recent.last_second(now),
            pace,
            limit,
            held: state
                .paused_until
                .filter(|u| *u > now)
                .map(|u| u.saturating_duration_since(now)),
            limited: self.limited.load(Ordering::Relaxed),
        }
    }
}

/// When the spacing counts a request sent at `now`, `due` at `next`, as sent: a timer that
/// fired late is caught up by at most 1% of the `interval` (requests never come closer than
/// 99% of it, and lateness does not add up), unless `catch_up` is off (against a burst of 1:
/// the gateway counts from when the late request arrived, so the next one caught up would
/// arrive early).
fn mark(next: Instant, interval: Duration, catch_up: bool, now: Instant) -> Instant {
    if !catch_up {
        return now;
    }
    next.max(now.checked_sub(interval.mul_f64(0.01)).unwrap_or(now))
        .min(now)
}

/// How unevenly the path delivers: the median of the round trips less the shortest (zero with
/// none). Computed on a 429 only, off the hot path.
fn spread(rtts: &VecDeque<Duration>) -> Duration {
    let mut sorted: Vec<Duration> = rtts.iter().copied().collect();
    sorted.sort_unstable();
    match (sorted.first(), sorted.get(sorted.len() / 2)) {
        (Some(min), Some(median)) => median.saturating_sub(*min),
        _ => Duration::ZERO,
    }
}

/// The time between two requests at `rate` a second.
fn interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate.max(crate::adaptive::MIN_RATE))
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        // A slot dropped without `answered` (a cancelled task) just frees its permit.
        drop(self.permit.take());
    }
}

impl Status {
    /// `19/s, pace 19.6/s, limit 20.0/s found, held back by the provider for 0.8 s (429), 3
    /// rate-limited`.
    pub fn describe(&self, adaptive: bool) -> String {
        let mut text = format!("{:.0}/s", self.rate);
        match (self.pace, adaptive) {
            (Some(pace), true) => text.push_str(&format!(", pace {pace:.1}/s")),
            (Some(pace), false) => text.push_str(&format!(", --rate {pace:.0}/s")),
            (None, _) => {}
        }
        if let Some(limit) = self.limit {
            text.push_str(&format!(", limit {limit:.1}/s found"));
        }
        if let Some(held) = self.held {
            text.push_str(&format!(
                ", held back by the provider for {:.1} s (429/503 Retry-After)",
                held.as_secs_f64()
            ));
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
    fn a_late_request_is_caught_up_by_1_percent_unless_the_burst_is_1() {
        let t = Instant::now();
        let ms = Duration::from_millis;
        let us = Duration::from_micros;
        #[rustfmt::skip]
        let cases = [
            // (late by, catch up, counted as sent this much after it was due)
            (ms(0),   true,  ms(0)),
            (us(50),  true,  ms(0)),     // within 1% of 10 ms: all of it
            (ms(3),   true,  us(2900)),  // 0.1 ms of it
            (us(50),  false, us(50)),    // burst 1: none
            (ms(3),   false, ms(3)),
        ];
        for (late, catch_up, counted) in cases {
            assert_eq!(
                mark(t, ms(10), catch_up, t + late),
                t + counted,
                "late by {late:?}, catch up {catch_up}"
            );
        }
    }

    #[test]
    fn the_spread_is_the_median_round_trip_less_the_shortest() {
        let us = Duration::from_micros;
        let cases: [(&[u64], u64); 4] = [
            (&[], 0),
            (&[400], 0),
            (&[420, 170, 500, 430, 410], 250),
            (&[300, 300, 300, 900], 0),
        ];
        for (rtts, expected) in cases {
            let rtts: VecDeque<Duration> = rtts.iter().map(|&r| us(r)).collect();
            assert_eq!(spread(&rtts), us(expected), "{rtts:?}");
        }
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
    async fn a_429_pauses_everyone_for_its_retry_after_and_sets_a_pace() {
        let pace = Pace::new(4, None);
        assert_eq!(pace.status().pace, None, "no pace before a 429");
        let first = pace.acquire().await.unwrap();
        let second = pace.acquire().await.unwrap();
        pace.answered(first, Heard::Answer);
        pace.answered(
            second,
            Heard::Limited(Some(Duration::from_millis(300)), None),
        );
        let status = pace.status();
        assert_eq!(status.limited, 1);
        let held = status.held.expect("held back");
        assert!(
            held > Duration::from_millis(200) && held <= Duration::from_millis(300),
            "{held:?}"
        );
        assert!(status.pace.is_some(), "a pace once limited");
        assert!(
            status
                .describe(true)
                .contains("held back by the provider for 0."),
            "{}",
            status.describe(true)
        );
        let before = Instant::now();
        let slot = pace.acquire().await.unwrap();
        assert!(
            before.elapsed() >= Duration::from_millis(200),
            "waited for the pause"
        );
        pace.answered(slot, Heard::Answer);
    }

    #[tokio::test]
    async fn only_paced_requests_count_for_the_round_trips_and_their_spread() {
        let pace = Pace::new(4, None);
        // Before any limit, requests leave together: their round trips are not the path's.
        let first = pace.acquire().await.unwrap();
        let second = pace.acquire().await.unwrap();
        assert!(!first.paced && !second.paced);
        pace.answered(first, Heard::Answer);
        pace.answered(second, Heard::Limited(Some(Duration::ZERO), None));
        assert!(pace.state.lock().unwrap().rtts.is_empty());
        // Once limited, the pace spaces requests: theirs count.
        let third = pace.acquire().await.unwrap();
        assert!(third.paced);
        pace.answered(third, Heard::Answer);
        assert_eq!(pace.state.lock().unwrap().rtts.len(), 1);
    }

    #[tokio::test]
    async fn with_rate_two_requests_never_leave_closer_than_its_interval() {
        // At 50/s, 20 ms apart, even after an idle spell (a pause) in which a burst of 2 would
        // have let two leave at once and spent a strict gateway's spare token.
        let pace = Pace::new(4, NonZeroU32::new(50));
        let first = pace.acquire().await.unwrap();
        pace.answered(first, Heard::Answer);
        tokio::time::sleep(Duration::from_millis(60)).await;
        let a = pace.acquire().await.unwrap();
        let b = pace.acquire().await.unwrap();
        let apart = b.sent - a.sent;
        assert!(apart >= Duration::from_millis(15), "{apart:?} apart");
        pace.answered(a, Heard::Answer);
        pace.answered(b, Heard::Answer);
    }

    #[tokio::test]
    async fn interrupted_while_held_back_sends_nothing() {
        let pace = std::sync::Arc::new(Pace::new(2, None));
        let slot = pace.acquire().await.unwrap();
        pace.answered(slot, Heard::Limited(Some(Duration::from_secs(30)), None));
        let waiting = {
            let pace = pace.clone();
            tokio::spawn(async move { pace.acquire().await.is_none() })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        pace.interrupt();
        let interrupted = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the wait ends when interrupted")
            .unwrap();
        assert!(interrupted);
    }
}
