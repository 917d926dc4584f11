//! How fast `iam import` sends: the provider's rate limit is the speed limit of the import as a
//! whole, not of each request.
//!
//! One spacer for both modes: a GCRA with a burst of 1 (a request leaves an interval after the
//! last one left, never closer; one that leaves late is not caught up, since a gateway with a
//! burst of 1 counts from when it arrived). Its interval is `--rate N`'s 1/N s, or the adaptive
//! controller's rate of the moment ([`crate::adaptive`]: none until the first 429), re-read
//! while waiting. Not governor's limiter: its quota is fixed when it is made, and the adaptive
//! rate moves with every request. Each request is timed to about 0.1 ms: tokio's 1 ms timer to
//! 3 ms before, then a thread's sleep, then a yield (on tokio's timer alone one request in ten
//! left 0.7 ms late, and the next arrived early).
//!
//! In both modes a 429 or a 503 pauses every request until the time it names (without
//! `Retry-After`: 1 s with `--rate`, the controller's backoff when adaptive), and the import
//! sends the row again (see `row_state`).

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use crate::adaptive::{Adaptive, BURST1_SLACK, MAX_PAUSE, MIN_RATE};
use crate::progress::{Meter, Status};

/// How close to a request's time the pace stops sleeping on tokio's timer (1 ms tick).
const COARSE: Duration = Duration::from_millis(3);
/// How long before a request's time a thread's sleep ends (waking a task takes about 150 µs).
const FINE: Duration = Duration::from_micros(200);
/// The pause after a 429 without `Retry-After`, with `--rate`.
const DEFAULT_PAUSE: Duration = Duration::from_secs(1);

struct State {
    adaptive: Option<Adaptive>,
    paused_until: Option<Instant>,
    /// When the last request left: the spacer's next is an interval later.
    last_sent: Option<Instant>,
    /// The last request's round trip, once answered, and the shortest of the last 64.
    last_rtt: Option<Duration>,
    rtts: VecDeque<Duration>,
    recent: Meter,
    /// A xorshift state for the backoff's jitter.
    seed: u64,
}

impl State {
    /// When the next request may leave, if not now: the end of a pause, else the spacer's.
    fn due(&self, fixed: Option<NonZeroU32>, now: Instant) -> Option<Instant> {
        if let Some(until) = self.paused_until.filter(|u| *u > now) {
            return Some(until);
        }
        let rate = match (fixed, &self.adaptive) {
            (Some(n), _) => Some(f64::from(n.get())),
            (None, Some(adaptive)) => adaptive.rate(now),
            (None, None) => None,
        };
        let interval = Duration::from_secs_f64(1.0 / rate?.max(MIN_RATE));
        let mut next = self.last_sent? + interval;
        // The shortest round trip is looked for only against a burst of 1 (not with `--rate`).
        let burst_of_1 = self.adaptive.as_ref().is_some_and(Adaptive::burst_of_1);
        let floor = burst_of_1.then(|| self.rtts.iter().min()).flatten();
        if let Some(floor) = floor.filter(|f| **f < interval / 2) {
            next = late_by(next, interval, *floor, self.last_rtt, now);
        }
        (next > now).then_some(next)
    }

    fn jitter(&mut self) -> f64 {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        (self.seed >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Against a burst of 1: when the request `due` at `next` may leave, after the last one's
/// round trip (`last`, `None` while it is out) exceeded the shortest lately (`floor`) by more
/// than the hold's [`BURST1_SLACK`], that much later, up to two `interval`s. A request that
/// reaches the gateway late (a stall on a loaded host, a slow path) makes the next, on time,
/// arrive early, and a burst of 1 refuses it (a 1 s pause); its slow answer shows it. While it
/// is still out past `next`, the next waits on (looked at again each millisecond). Section 6
/// on a 2-core host, burst 1 at 100/s: 0.73x without this.
pub(crate) fn late_by(
    next: Instant,
    interval: Duration,
    floor: Duration,
    last: Option<Duration>,
    now: Instant,
) -> Instant {
    let latest = next + interval * 2;
    match last {
        Some(rtt) => (next + rtt.saturating_sub(floor + BURST1_SLACK)).min(latest),
        None if now < next => next,
        None => (now + Duration::from_millis(1)).min(latest),
    }
}

/// The pace of one import. Cheap to share (`Arc`).
pub struct Pace {
    sem: Semaphore,
    fixed: Option<NonZeroU32>,
    state: Mutex<State>,
    interrupted: AtomicBool,
    interrupt: Notify,
    limited: AtomicU64,
}

/// A request slot: hold it while the request is out, then give it to [`Pace::answered`].
pub struct Slot<'a> {
    _permit: SemaphorePermit<'a>,
    sent: Instant,
}

/// What the pace needs to know of an answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Heard {
    /// Any answer but a rate limit (or no answer).
    Answer,
    /// 429 or 503: pause everything this long; and the limit the answer published in its
    /// headers (requests/s), if it did.
    Limited(Option<Duration>, Option<f64>),
}

impl Pace {
    /// `concurrency` requests in flight at most; `rate`: `--rate`, else adaptive.
    pub fn new(concurrency: usize, rate: Option<NonZeroU32>) -> Self {
        let now = Instant::now();
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
            | 1;
        Self {
            sem: Semaphore::new(concurrency),
            fixed: rate,
            state: Mutex::new(State {
                adaptive: rate.is_none().then(|| Adaptive::new(now)),
                paused_until: None,
                last_sent: None,
                last_rtt: None,
                rtts: VecDeque::new(),
                recent: Meter::new(now),
                seed,
            }),
            interrupted: AtomicBool::new(false),
            interrupt: Notify::new(),
            limited: AtomicU64::new(0),
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

    /// Waits for a request slot, the end of any pause, and the spacer. `None`: interrupted
    /// while waiting for the pause or the rate (the request is not sent).
    pub async fn acquire(&self) -> Option<Slot<'_>> {
        let permit = self
            .sem
            .acquire()
            .await
            .expect("the semaphore is never closed");
        loop {
            let due = {
                let mut state = self.state.lock().expect("lock");
                let now = Instant::now();
                match state.due(self.fixed, now) {
                    Some(due) => due,
                    None => {
                        state.last_sent = Some(now);
                        state.last_rtt = None;
                        if let Some(adaptive) = &mut state.adaptive {
                            adaptive.sent(now);
                        }
                        let _permit = permit;
                        return Some(Slot { _permit, sent: now });
                    }
                }
            };
            if !self.sleep_toward(due).await {
                return None;
            }
        }
    }

    /// Sleeps toward `due`, 50 ms at most (the due time moves: a pause, a ramp): on tokio's
    /// timer to [`COARSE`] before it, then on a thread to [`FINE`] before, then a yield. False
    /// when interrupted.
    async fn sleep_toward(&self, due: Instant) -> bool {
        let now = Instant::now();
        if due > now + COARSE {
            let wake = (due - COARSE).min(now + Duration::from_millis(50));
            return self.wait(tokio::time::sleep_until(wake.into())).await;
        }
        if due > now + FINE {
            let wait = due - now - FINE;
            let _ = tokio::task::spawn_blocking(move || std::thread::sleep(wait)).await;
        } else {
            tokio::task::yield_now().await;
        }
        !self.is_interrupted()
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

    /// The answer to the request of `slot`; frees the slot.
    pub fn answered(&self, slot: Slot<'_>, heard: Heard) {
        let now = Instant::now();
        let mut state = self.state.lock().expect("lock");
        let rtt = now.saturating_duration_since(slot.sent);
        if state.last_sent == Some(slot.sent) {
            state.last_rtt = Some(rtt);
        }
        if state.rtts.len() == 64 {
            state.rtts.pop_front();
        }
        state.rtts.push_back(rtt);
        match heard {
            Heard::Answer => {
                state.recent.add(now);
                if let Some(adaptive) = &mut state.adaptive {
                    adaptive.answered(slot.sent);
                }
            }
            Heard::Limited(after, published) => {
                self.limited.fetch_add(1, Ordering::Relaxed);
                let jitter = state.jitter();
                let pause = match &mut state.adaptive {
                    Some(adaptive) => adaptive.limited(slot.sent, after, published, now, jitter),
                    None => after.unwrap_or(DEFAULT_PAUSE).min(MAX_PAUSE),
                };
                let until = now + pause;
                state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
            }
        }
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

#[cfg(test)]
mod tests;
