//! The adaptive pace of `iam import` without `--rate`: find the provider's rate limit within
//! seconds, whatever its gateway's shape, and hold just under it.
//!
//! Plain arithmetic on a clock it is given ([`Adaptive`] takes every `Instant`), so it is tested
//! without waiting, against simulated gateways. In one paragraph:
//!
//! A 429 (or 503) pauses every request for its `Retry-After`, else for an exponential backoff
//! with jitter (50 ms doubling, as the AWS SDKs' retries). The 429s to requests sent before the
//! last decision are the same episode: they only lengthen the pause. Each new episode is one
//! decision ([`decide`], table-tested): a limit the answer publishes is believed; a pause of 2 s
//! or more (a fixed window's rest) means the rate is what was delivered over the last 10 s;
//! else the requests since the last pause are replayed against a token bucket whose burst is
//! what the gateway let through before its first 429 ([`replay_bounds`]), which bounds the
//! gateway's rate (BBR's point: what was delivered says where the limit is). Close bounds are
//! held: CUBIC-style, straight back to just under that rate, flat for 30 pauses, then probing
//! slowly above it. Loose ones ramp again from the lower bound, more slowly. Before any bound,
//! the rate doubles every 0.35 s from what the first burst delivered. A 429 while holding that
//! the replay does not explain (the rate sent was under the gateway's: a request arrived early)
//! doubles the margin kept under the limit; one while probing above it halves it. Against a
//! burst of 1, which refuses a request arriving early by any amount, the hold also leaves
//! [`BURST1_SLACK`] between requests.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The rate never goes below this (requests per second), nor above 100,000.
pub const MIN_RATE: f64 = 0.5;
const MAX_RATE: f64 = 100_000.0;
/// The longest pause one answer can ask for.
pub const MAX_PAUSE: Duration = Duration::from_secs(300);
/// The first backoff after a 429 without `Retry-After`; doubled per 429 in a row, up to 64x.
const BACKOFF: Duration = Duration::from_millis(50);
/// The first ramp starts from what the first burst delivered, this at least (requests/s).
const FIRST_RATE: f64 = 4.0;
/// The first ramp's doubling time; each ramp after a 429 doubles it, up to [`MAX_DOUBLING`].
const FIRST_DOUBLING: Duration = Duration::from_millis(350);
const MAX_DOUBLING: Duration = Duration::from_millis(2800);
/// Where the hold starts, relative to its plateau; it probes beyond once back there.
const HOLD: f64 = 0.98;
/// The cubic's coefficient (per second cubed): 4.6 s from [`HOLD`] back to the plateau, unless
/// [`PROBE_AFTER`] pauses are longer (a probe costs a pause).
const CUBIC: f64 = 0.0002;
const PROBE_AFTER: f64 = 30.0;
/// How much later the hold probes each time the same limit (within 3%) is found again, up to 4
/// times in a row (a slow gateway's probes cost a larger share of its requests: at 1/s, one in 30).
const PROBE_SLOWER: f64 = 2.5;
/// The time a hold against a burst of 1 leaves between requests beyond the gateway's interval:
/// how unevenly requests reach a gateway on a local host (150 to 330 µs measured; 2% of a
/// 100/s interval, 0.1% of a 5/s one).
pub const BURST1_SLACK: Duration = Duration::from_micros(200);
/// Sends remembered for the replay.
const REMEMBERED: usize = 8192;

/// Where the controller is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// No 429 yet: no limit but the window.
    Free,
    /// Ramping up to find the limit: `from` requests/s at `start`, doubling every `doubling`.
    Ramp {
        from: f64,
        start: Instant,
        doubling: Duration,
    },
    /// Holding: `plateau * (1 + (1 - HOLD) ((t - start - k) / k)^3)`, from 98% of the plateau
    /// at `start` back to it after `k` s, then probing beyond.
    Hold {
        plateau: f64,
        start: Instant,
        k: f64,
    },
}

/// What one new 429 episode decides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// Hold under this limit.
    Hold(f64),
    /// Ramp again from this rate.
    Ramp(f64),
}

/// What a 429 teaches, from the limit its headers published (`RateLimit-Policy`: believed),
/// the replay's bounds on the gateway's rate (`None`: nothing to replay), the gateway's burst,
/// the rate in force, what was delivered over the last 10 s and what the bucket must have
/// refilled in that time (the same less its burst: a floor on its rate), the pause asked for,
/// and whether the pace was ramping.
pub fn decide(
    published: Option<f64>,
    bounds: Option<(f64, f64)>,
    burst: f64,
    current: f64,
    (delivered, refilled): (f64, f64),
    pause: Duration,
    ramping: bool,
) -> Next {
    let floor = |rate: f64| rate.max(refilled).max(MIN_RATE);
    if let Some(limit) = published {
        return Next::Hold(limit.max(MIN_RATE));
    }
    if pause >= Duration::from_secs(2) {
        // A window's budget is spent: what it delivered, pauses included, is its rate.
        return Next::Hold(delivered.max(MIN_RATE));
    }
    match bounds {
        // Close: within 15%, or a slow gateway's within 5% beyond the slowest ramp's step
        // between two requests (ramping again could not bound it better). The gateway's rate
        // is under the upper bound. Held at their geometric middle against a burst of 2 or
        // more (which refuses a hold above its rate only once its spare token is spent, and
        // that bounds the rate finely), else at the lower bound: a burst of 1 refuses the first
        // request above its rate (at 115/s, a hold at the middle of 3% bounds was refused 10 ms
        // after the pause).
        Some((lo, hi)) if lo > 0.0 && hi <= lo * 1.15_f64.max(1.05 * slowest_step(lo)) => {
            let middle = burst >= 2.0 && hi <= lo * 1.15;
            Next::Hold(floor(if middle { (lo * hi).sqrt() } else { lo }))
        }
        // Too coarse (the ramp stepped over the limit): again from what is known to pass.
        Some((lo, hi)) if lo > 0.0 => Next::Ramp(floor(lo).min(0.9 * hi).max(MIN_RATE)),
        // Only an upper bound (one success, then the refusal) while ramping: again from half of
        // it, never from the rate refused (that held above a burst-1 bucket for ever).
        Some((_, hi)) if ramping => Next::Ramp((0.5 * hi).max(MIN_RATE)),
        // Nothing admitted since the pause (a 503, or a pause too short for the bucket to
        // fill) while ramping: nothing learnt, ramp on.
        None if ramping => Next::Ramp(floor(current)),
        // Holding, with no lower bound (a refusal right after the pause): 5% under the rate
        // refused, or what was refilled.
        Some(_) | None => Next::Hold(floor(0.95 * current)),
    }
}

/// The doubling time of a ramp started again after a 429: twice the last (1 s after a hold),
/// and near the rate refused (`hi`) at most 5% a request (ln 2 / ln 1.05 = 14.2 requests a
/// doubling), so that the next 429 bounds the rate within 5%; [`MAX_DOUBLING`] at most.
fn next_doubling(ramping: Option<Duration>, hi: Option<f64>) -> Duration {
    let near = hi.map_or(Duration::ZERO, |hi| {
        Duration::from_secs_f64(14.2 / hi.max(MIN_RATE))
    });
    ramping
        .map_or(Duration::from_secs(1), |doubling| doubling * 2)
        .max(near)
        .min(MAX_DOUBLING)
}

/// How much the slowest ramp grows between two requests at `rate`: the finest it can bound.
fn slowest_step(rate: f64) -> f64 {
    2f64.powf(1.0 / (MAX_DOUBLING.as_secs_f64() * rate.max(MIN_RATE)))
}

/// The margin kept under the limit after a 429 while holding: sent `under` the plateau, it
/// doubles (2% to 30%: the path made a request arrive early), unless the replay `explained` it
/// (the rate sent was above the gateway's: the limit moves instead); sent above it while
/// probing, it halves.
pub fn next_margin(margin: f64, under: bool, explained: bool) -> f64 {
    match (under, explained) {
        (true, true) => margin,
        (true, false) => (margin * 2.0).clamp(0.02, 0.3),
        (false, _) if margin < 0.005 => 0.0,
        (false, _) => margin / 2.0,
    }
}

/// The pause after the `streak`-th 429 in a row without `Retry-After`: 50 ms doubling, up to
/// 64 times, of which a random half (`jitter` in [0, 1)).
fn backoff(streak: u32, jitter: f64) -> Duration {
    let doubled = BACKOFF * 2u32.pow(streak.saturating_sub(1).min(6));
    doubled.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// Whether a token bucket of `rate` requests/s and `burst`, full at `from`, admits every success
/// of `sends` (with `last_too`, the last send as well). A refused request takes no token.
fn bucket_admits(
    rate: f64,
    burst: f64,
    from: Instant,
    sends: &[(Instant, bool)],
    last_too: bool,
) -> bool {
    let interval = 1.0 / rate;
    let tolerance = (burst - 1.0).max(0.0) * interval;
    let mut tat = 0.0_f64;
    for (i, &(at, ok)) in sends.iter().enumerate() {
        if !(ok || (last_too && i + 1 == sends.len())) {
            continue;
        }
        let x = at.saturating_duration_since(from).as_secs_f64();
        if x + 1e-9 < tat - tolerance {
            return false;
        }
        tat = tat.max(x) + interval;
    }
    true
}

/// The smallest rate in [0.1, 100,000] for which `admits` holds (it is monotone), if any.
fn smallest_rate(admits: impl Fn(f64) -> bool) -> Option<f64> {
    let (mut lo, mut hi) = (0.1_f64, MAX_RATE);
    if !admits(hi) {
        return None;
    }
    if admits(lo) {
        return Some(lo);
    }
    for _ in 0..48 {
        let mid = (lo * hi).sqrt();
        if admits(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Some(hi)
}

/// Bounds on a token bucket's rate from the requests sent since it was last full (`from`), the
/// last of them refused: the smallest rate admitting every success (0 from a single one), and
/// the smallest that would have admitted the refused one too; `None` when nothing was admitted.
pub fn replay_bounds(burst: f64, from: Instant, sends: &[(Instant, bool)]) -> Option<(f64, f64)> {
    let admitted = sends.iter().filter(|&&(_, ok)| ok).count();
    if sends.last().is_none_or(|&(_, ok)| ok) || admitted == 0 {
        return None;
    }
    let lo = if admitted < 2 {
        0.0
    } else {
        smallest_rate(|rate| bucket_admits(rate, burst, from, sends, false))?
    };
    let hi = smallest_rate(|rate| bucket_admits(rate, burst, from, sends, true))?;
    Some((lo, hi.max(lo)))
}

/// The adaptive controller.
#[derive(Clone, Debug)]
pub struct Adaptive {
    pub mode: Mode,
    /// The limit found, if any.
    pub limit: Option<f64>,
    /// The gateway's burst: the requests it admitted among those sent before its first 429 was
    /// heard, counted at the next decision (when they are answered).
    burst: Option<f64>,
    /// How far under the limit the hold stays ([`next_margin`]).
    margin: f64,
    /// How many times in a row the same limit was found (up to 4).
    found_again: i32,
    /// When the last decision was made: 429s to requests sent before it are the same episode.
    decided_at: Option<Instant>,
    /// When the last pause ends (the gateway's bucket is full again then).
    resumed_at: Instant,
    /// 429s without `Retry-After` in a row.
    streak: u32,
    /// Requests sent, oldest first, and their answer once known (`true`: not refused).
    sends: VecDeque<(Instant, Option<bool>)>,
    started: Instant,
}

impl Adaptive {
    pub fn new(now: Instant) -> Self {
        Self {
            mode: Mode::Free,
            limit: None,
            burst: None,
            margin: 0.0,
            found_again: 0,
            decided_at: None,
            resumed_at: now,
            streak: 0,
            sends: VecDeque::new(),
            started: now,
        }
    }

    /// The rate to send at, at `now`; `None` before the first 429.
    pub fn rate(&self, now: Instant) -> Option<f64> {
        let since = |start: Instant| now.saturating_duration_since(start).as_secs_f64();
        let rate = match self.mode {
            Mode::Free => return None,
            Mode::Ramp {
                from,
                start,
                doubling,
            } => from * 2f64.powf(since(start) / doubling.as_secs_f64()),
            Mode::Hold { plateau, start, k } => {
                let x = (since(start) - k) / k;
                plateau * (1.0 + (1.0 - HOLD) * x * x * x)
            }
        };
        Some(rate.clamp(MIN_RATE, MAX_RATE))
    }

    /// Whether the gateway showed a burst of 1 (it refuses a request arriving early by any
    /// amount: the pace then waits out a slow answer, see `pace::late_by`).
    pub fn burst_of_1(&self) -> bool {
        self.burst.is_some_and(|b| b <= 1.0)
    }

    /// A request is sent at `at`.
    pub fn sent(&mut self, at: Instant) {
        self.sends.push_back((at, None));
        let old = |t: Instant| at.saturating_duration_since(t) > Duration::from_secs(30);
        while self.sends.len() > REMEMBERED || self.sends.front().is_some_and(|&(t, _)| old(t)) {
            self.sends.pop_front();
        }
    }

    /// The request sent at `sent` was answered, not refused.
    pub fn answered(&mut self, sent: Instant) {
        self.mark(sent, true);
        self.streak = 0;
    }

    fn mark(&mut self, sent: Instant, ok: bool) {
        let entry = self.sends.iter_mut().rev();
        if let Some(entry) = entry.into_iter().find(|(t, a)| *t == sent && a.is_none()) {
            entry.1 = Some(ok);
        }
    }

    /// Requests admitted per second (by send time) over the last 10 s, or since the start if
    /// shorter; and the same less the gateway's burst (see [`decide`]).
    fn delivered(&self, now: Instant) -> (f64, f64) {
        let span = now
            .saturating_duration_since(self.started)
            .min(Duration::from_secs(10));
        let since = now - span;
        let ok = self
            .sends
            .iter()
            .filter(|(t, a)| *t >= since && *a == Some(true))
            .count() as f64;
        let span = span.as_secs_f64().max(1e-3);
        (ok / span, (ok - self.burst.unwrap_or(0.0)).max(0.0) / span)
    }

    /// The request sent at `sent` was refused (429 or 503) at `now`, asking to wait
    /// `retry_after`, publishing the limit `published` (requests/s) if its headers did. Returns
    /// the pause everyone waits; `jitter` in [0, 1) spreads a backoff.
    pub fn limited(
        &mut self,
        sent: Instant,
        retry_after: Option<Duration>,
        published: Option<f64>,
        now: Instant,
        jitter: f64,
    ) -> Duration {
        self.mark(sent, false);
        let same_episode = self.decided_at.is_some_and(|at| sent < at);
        let pause = match retry_after {
            Some(wait) => wait.min(MAX_PAUSE),
            None if same_episode => self.resumed_at.saturating_duration_since(now),
            None => {
                self.streak += 1;
                backoff(self.streak, jitter)
            }
        };
        let resume = now + pause;
        if same_episode {
            // Only the pause may grow, and the pace starts again from its end.
            if resume > self.resumed_at {
                self.resumed_at = resume;
                if let Mode::Ramp { start, .. } | Mode::Hold { start, .. } = &mut self.mode {
                    *start = resume;
                }
            }
            return pause;
        }
        if self.mode == Mode::Free && published.is_none() {
            let delivered = self.sends.iter().filter(|(_, a)| *a == Some(true)).count();
            self.mode = Mode::Ramp {
                from: (delivered as f64).max(FIRST_RATE),
                start: resume,
                doubling: FIRST_DOUBLING,
            };
        } else {
            self.decide(sent, published, pause, now, resume);
        }
        self.decided_at = Some(now);
        self.resumed_at = resume;
        pause
    }

    /// One decision: what the requests since the last pause (`resumed_at`) teach.
    fn decide(
        &mut self,
        sent: Instant,
        published: Option<f64>,
        pause: Duration,
        now: Instant,
        resume: Instant,
    ) {
        if self.burst.is_none()
            && let Some(first) = self.decided_at
        {
            let admitted = self
                .sends
                .iter()
                .filter(|(t, a)| *t < first && *a == Some(true));
            self.burst = Some((admitted.count() as f64).max(1.0));
        }
        let from = self.resumed_at;
        let replayed: Vec<(Instant, bool)> = (self.sends.iter())
            .filter(|(t, _)| *t >= from && *t <= sent)
            .filter_map(|&(t, answer)| answer.map(|ok| (t, ok)))
            .collect();
        let burst = self.burst.unwrap_or(1.0);
        let bounds = replay_bounds(burst, from, &replayed);
        let current = self.rate(sent).unwrap_or(MIN_RATE);
        if let Mode::Hold { start, k, .. } = self.mode {
            let under = sent.saturating_duration_since(start).as_secs_f64() <= k;
            let explained = bounds.is_some_and(|(_, hi)| hi <= current);
            self.margin = next_margin(self.margin, under, explained);
        }
        let ramping = match self.mode {
            Mode::Ramp { doubling, .. } => Some(doubling),
            _ => None,
        };
        let delivered = self.delivered(now);
        match decide(
            published,
            bounds,
            burst,
            current,
            delivered,
            pause,
            ramping.is_some(),
        ) {
            Next::Hold(limit) => self.hold(limit, resume, pause),
            Next::Ramp(from) => {
                self.mode = Mode::Ramp {
                    from,
                    start: resume,
                    doubling: next_doubling(ramping, bounds.map(|(_, hi)| hi)),
                }
            }
        }
    }

    /// Holds under `limit`, less the margin (and against a burst of 1, [`BURST1_SLACK`]), from
    /// `start`; back at the plateau after 4.6 s, or 30 pauses if longer, and 2.5 times later
    /// for each time in a row the same limit was found.
    fn hold(&mut self, limit: f64, start: Instant, pause: Duration) {
        let again = self
            .limit
            .is_some_and(|last| (limit - last).abs() <= 0.03 * last);
        self.found_again = if again {
            (self.found_again + 1).min(4)
        } else {
            0
        };
        self.limit = Some(limit);
        let k = ((1.0 - HOLD) / CUBIC)
            .cbrt()
            .max(PROBE_AFTER * pause.as_secs_f64())
            * PROBE_SLOWER.powi(self.found_again);
        let mut plateau = (limit * (1.0 - self.margin)).max(MIN_RATE);
        if self.burst_of_1() {
            plateau = 1.0 / (1.0 / plateau + BURST1_SLACK.as_secs_f64());
        }
        self.mode = Mode::Hold { plateau, start, k };
    }
}

#[cfg(test)]
mod tests;
