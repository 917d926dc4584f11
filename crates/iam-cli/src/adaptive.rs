//! The adaptive pace of `iam import` without `--rate`: find the provider's rate limit within
//! seconds, whatever its gateway's shape, and hold just under it.
//!
//! Plain arithmetic on a clock it is given ([`Adaptive`] takes every `Instant`), so it is tested
//! without waiting. The design and its anchors:
//!
//! - **A 429 costs a pause.** `Retry-After` is honoured exactly (in whole seconds, as HTTP writes
//!   it: a gateway that means 10 ms says 1 s), and a 429 without it waits an exponential backoff
//!   with jitter (50 ms doubling, as the AWS SDKs' retry strategies do). So the controller spends
//!   as few 429s as it can: it does not saw around the limit the way AIMD does.
//! - **Measure, don't guess** (TCP BBR's point: the delivery rate says where the limit is). When
//!   a 429 ends a stretch of sending, the requests since the last pause are replayed against a
//!   token bucket ([`replay_bounds`]): the smallest rate that admits every success, and the
//!   smallest that would also have admitted the refused request, bound the gateway's rate. The
//!   burst of that bucket is what the gateway let through at the start, before its first 429.
//!   What the bucket refilled (the successes of the last ten seconds less its burst) is a floor
//!   on its rate; what it delivered is not (a burst of 100 at 100/s delivers 150/s over its
//!   first two seconds). A gateway with fixed windows (a long `Retry-After`, the rest of its
//!   window) is tight by what it delivered over the last ten seconds, pauses included.
//! - **Find it fast, then hold it** (CUBIC's shape, as in aws-sdk-rust's adaptive retry mode:
//!   return quickly to the last rate that worked, then probe slowly). Before any limit is known
//!   the rate doubles every 0.35 s from what the first burst delivered, 4/s at least
//!   ([`Mode::Probe`]); a ramp that steps over the limit ramps again from under it, at most 5%
//!   a request near the rate refused, so that the next 429 bounds the limit within 5%; once
//!   bounded, it holds at 98% of the limit and climbs back along a cubic curve that is flat
//!   near the limit and probes beyond it ([`Mode::Hold`]); each time the same limit is found
//!   again the probing slows down (16 times). A probe costs a pause, so probes come at least
//!   30 pauses apart (a 1 s `Retry-After`: 30 s).
//! - **Space by arrival against a burst of 1.** Requests reach the gateway less evenly than they
//!   leave: one that arrives late makes the next, on time, look early, and a burst-1 bucket
//!   refuses it. The tail of that lateness (milliseconds on a loaded machine or a network path)
//!   is beyond any margin, but a slow answer shows it: the next request waits as much
//!   ([`spaced`]), less the slack beyond the rate known to pass ([`Adaptive::slack`]), not
//!   beyond the limit held (the bounds' middle, above the gateway's rate half the time). The
//!   burst is known as soon as every request sent before the first 429 was heard is answered.
//! - **Learn the margin the path needs.** A 429 under the limit found doubles the margin the
//!   hold keeps under it ([`next_margin`]), one while probing above it halves it. Unless the
//!   replay says the rate sent was above the gateway's: then the limit was too high, and it
//!   moves instead.
//! - **One episode, one decision.** The 429s to requests sent into the same empty bucket (sent
//!   before the last decision) do not back off further or decide again; a longer `Retry-After`
//!   among them moves the end of the pause, and the pace starts again from there.
//!
//! The one decision with many cases, what a 429 teaches, is [`decide`], table-tested.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The rate never goes below this (requests per second).
pub const MIN_RATE: f64 = 0.5;
/// The longest pause one answer can ask for.
pub const MAX_PAUSE: Duration = Duration::from_secs(300);
/// The first backoff after a 429 without `Retry-After`; doubled per 429 in a row, up to 64x.
pub const BACKOFF: Duration = Duration::from_millis(50);
/// The cubic's coefficient (per second cubed, relative to the limit) before the limit is
/// confirmed: 0.0002 takes about 4.6 s back to the limit from [`HOLD`] (30 pauses at least).
const CUBIC: f64 = 0.0002;
/// Where the hold starts, relative to the limit found (less the margin). It was 95% until the
/// same limit was found twice; measured, 98% from the start did as well or better on every
/// simulated shape (the replay's lower bound is what passed; a limit found too high is refused
/// soon and corrected, without the margin growing).
const HOLD: f64 = 0.98;
/// The shortest time between probes, in pauses (see [`Adaptive::hold`]).
const PROBE_COST: f64 = 30.0;
/// How much slower the probing gets each time the same limit is found again.
const CONFIDENCE: f64 = 16.0;
/// The slowest start of the first ramp (requests/s), whatever the first burst delivered: from a
/// burst of 1, a ramp from 1/s spent more than a second under 4/s, a second of sending lost
/// against a gateway of 100/s (on a 2/s gateway the ramp comes down again by halves).
const FIRST_RATE: f64 = 4.0;
/// The first ramp's doubling time, before any limit is known.
const FIRST_DOUBLING: Duration = Duration::from_millis(350);
/// The slowest ramp (its doubling time) after refusals while ramping: at 5/s, 5% a request.
const MAX_DOUBLING: Duration = Duration::from_millis(2800);
/// The most of the path's spread a hold against a burst of 1 leaves, as a share of its interval.
const SPREAD_HELD: f64 = 0.02;
/// How many intervals beyond `due` a slow answer may delay the next request ([`spaced`]).
const STALL_COVERED: u32 = 2;
/// Sends remembered for the replay (and for the delivered rate of the last 10 s).
const REMEMBERED: usize = 8192;

/// Where the controller is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mode {
    /// No 429 yet: no rate limit but the window.
    Free,
    /// Ramping up to find the limit: `from` requests/s at `start`, doubling every `doubling`.
    Probe {
        from: f64,
        start: Instant,
        doubling: Duration,
    },
    /// Holding under `limit`: the cubic `limit * (1 + c (t - start - k)^3)`.
    Hold {
        limit: f64,
        start: Instant,
        k: f64,
        c: f64,
    },
}

/// What one new 429 teaches ([`decide`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// The limit is known: hold under it. `tight`: published, or bounded within 3% by the
    /// replay (else the lower bound, or a guess: 90% of the rate refused, or what a window
    /// delivered).
    Hold { limit: f64, tight: bool },
    /// The bounds are too far apart (the ramp stepped over the limit): ramp again, more slowly,
    /// from `from`.
    Probe { from: f64 },
}

/// What a 429 teaches, from the limit the answer published in its headers (`RateLimit-Policy`,
/// `X-RateLimit-Limit-Second`: believed when present), the replay's bounds on the gateway's
/// rate (`None` when there was nothing to replay), the gateway's burst (as its first answers
/// showed it; 1 until they have) and the path's spread ([`Adaptive::spread`]), the rate in
/// force, what was delivered over
/// the last 10 s (`delivered`, and `refilled`: the same less the gateway's burst, what its
/// bucket must have refilled), and the pause the gateway asked for.
///
/// `refilled` is what a token bucket's rate is known to be at least (over a span it admits
/// its burst plus its rate times the span, no more); `delivered` is not (a burst of 100 at
/// 100/s delivers 150/s over its first two seconds), but it is a window's rate.
pub fn decide(
    published: Option<f64>,
    bounds: Option<(f64, f64)>,
    (burst, spread): (f64, Duration),
    current: f64,
    (delivered, refilled): (f64, f64),
    pause: Duration,
    probing: bool,
) -> Next {
    if let Some(limit) = published {
        return Next::Hold {
            limit: limit.max(MIN_RATE),
            tight: true,
        };
    }
    if pause >= Duration::from_secs(2) {
        // A window's budget is spent: what it delivered over a window and its pause is the rate.
        return Next::Hold {
            limit: delivered.max(MIN_RATE),
            tight: false,
        };
    }
    match bounds {
        // Bounds within 3% are tight. Held at:
        // - tight, with a burst of 2 or more: their geometric middle. The gateway's rate is
        //   under the upper bound (a bucket at that rate would have admitted the request
        //   refused), so a hold there was above it by construction: its cubic crossed the rate
        //   13 s in, spent the spare token and was refused 25 s in (100.37/s held on a bucket
        //   of 100/s, one 429 in every other 40 s run: 0.90x or 0.92x);
        // - tight, against a burst of 1: their geometric middle too. A ramp is refused at its first
        //   request closer than the bucket's interval, so the bounds are one step either side,
        //   and the upper one is half a step high on average (100.4 to 101.3/s on a 100/s
        //   bucket; the spacing, which counts from the limit, then came 1% short).
        //   Against a burst of 1, the bounds may be twice the path's spread wider (in time
        //   between requests) and still tight: a request is admitted or refused up to a spread
        //   late or early, so a ramp bounds no finer (at 100/s on a local host, 96.3-99.8/s and
        //   98.8-102.7/s around a bucket of 100/s), and the hold leaves the spread as slack;
        // - within 15%, with a burst of 2 or more: their middle too. The lower bound is what is
        //   known to pass, but a hold there climbs back only after its cubic's 30 s (a burst of
        //   2 at 20/s, bounded to 18.8-20.6/s by a ramp of 15 requests, was held 6% under for a
        //   whole 40 s run), while a hold above the gateway's rate is refused once the burst is
        //   spent, and that bounds the rate finely;
        // - else the lower bound: a burst of 1 refuses the first request above its rate (loose
        //   bounds come from arrival jitter, and trying the middle costs a pause each time),
        //   and wider bounds are a slow gateway's, no wider than the slowest ramp's step between
        //   two requests: ramping again could bound them no better (at 1/s, 28% a request: it
        //   once ramped again for ever, a 429 in three).
        // Even above the rate refused: a request refused under the gateway's rate (it arrived
        // early) moves the margin (`next_margin`), not the limit.
        Some((lo, hi)) if hi <= lo * 1.15_f64.max(1.05 * slowest_step(lo)) => {
            // Tight: within 3%, and against a burst of 1 within twice the path's spread more
            // (in time between requests; the bounds of a ramp can be no finer), the spread
            // counted as the hold leaves it (2% of the interval at most).
            let path = if burst < 2.0 {
                2.0 * spread_share(spread, hi)
            } else {
                0.0
            };
            let tight = hi <= lo * (1.03 + path);
            Next::Hold {
                limit: if tight || (hi <= lo * 1.15 && burst >= 2.0) {
                    (lo * hi).sqrt()
                } else {
                    lo
                }
                .max(refilled)
                .max(MIN_RATE),
                tight,
            }
        }
        // Too coarse (the ramp stepped over the limit): ramp again, more slowly, from what is
        // known to pass.
        Some((lo, hi)) if lo > 0.0 => Next::Probe {
            from: lo.max(refilled).min(0.9 * hi).max(MIN_RATE),
        },
        // Only an upper bound (one success since the pause, then the refusal) while ramping:
        // ramp again from half of it, never from the rate refused (ramping on from there held
        // above a burst-1 bucket's rate for ever, a request a pause; coming down 10% a pause
        // from a first ramp of 4/s cost a 2/s bucket 6% of its requests in 429s).
        Some((_, hi)) if probing => Next::Probe {
            from: (0.5 * hi).max(MIN_RATE),
        },
        // No success since the pause (a 503, or a pause too short for the bucket to fill) while
        // ramping: nothing was learnt, so go on ramping from here, more slowly.
        None if probing => Next::Probe {
            from: current.max(refilled).max(MIN_RATE),
        },
        // Holding, with no lower bound: 10% under the rate refused, or what the bucket refilled.
        Some(_) | None => Next::Hold {
            limit: (current * 0.9).max(refilled).max(MIN_RATE),
            tight: false,
        },
    }
}

/// The doubling time of a ramp started again after a 429, from the one that was ramping (if
/// any) and the rate the replay found refused (`hi`, if any): slower each time (twice the last,
/// 1 s after a hold), and near the rate refused at most 5% a request (ln 2 / ln 1.05 = 14.2
/// requests a doubling), so that the next 429 bounds the rate within 5%; [`MAX_DOUBLING`] at
/// most.
fn next_doubling(ramping: Option<Duration>, hi: Option<f64>) -> Duration {
    let near = hi.map_or(Duration::ZERO, |hi| {
        Duration::from_secs_f64(14.2 / hi.max(MIN_RATE))
    });
    ramping
        .map_or(Duration::from_secs(1), |doubling| doubling * 2)
        .max(near)
        .min(MAX_DOUBLING)
}

/// How much the slowest ramp (doubling every [`MAX_DOUBLING`]) grows between two requests at
/// `rate`: the finest bounds a ramp can give there.
fn slowest_step(rate: f64) -> f64 {
    2f64.powf(1.0 / (MAX_DOUBLING.as_secs_f64() * rate.max(MIN_RATE)))
}

/// The hold's margin under the limit after a 429 refused a request sent `under` the plateau
/// (true) or above it, while probing (false); `explained`: the replay puts the gateway's rate
/// under the rate the request was sent at (the limit held was too high, not the path uneven:
/// the limit moves, the margin stays).
pub fn next_margin(margin: f64, under: bool, explained: bool) -> f64 {
    if under && explained {
        margin
    } else if under {
        (margin * 2.0).clamp(0.02, 0.3)
    } else if margin < 0.005 {
        0.0
    } else {
        margin / 2.0
    }
}

/// The share of the interval at `rate` that a hold against a burst of 1 leaves for the path's
/// `spread`: all of it, up to [`SPREAD_HELD`].
fn spread_share(spread: Duration, rate: f64) -> f64 {
    (spread.as_secs_f64() * rate).min(SPREAD_HELD)
}

/// The rate whose interval is `spread` shorter than `rate`'s: the limit a hold spaced
/// `spread` beyond it sends `rate` under (the hold's spacing against a burst of 1, undone).
/// Unchanged when the spread is as long as the interval (or `rate` is 0).
fn beyond(rate: f64, spread: Duration) -> f64 {
    let shorter = 1.0 / rate - spread.as_secs_f64();
    if rate > 0.0 && shorter > 0.0 {
        (1.0 / shorter).min(100_000.0)
    } else {
        rate
    }
}

/// The rate known to pass when holding under `limit`: the limit itself when the answer
/// `published` it; else the replay's lower bound (what every success since the pause was
/// admitted at) or what the bucket refilled, whichever is higher, `limit` at most (a window's,
/// or a guess under the rate refused); `limit` when neither says anything. The spacing's slack
/// counts from it ([`Adaptive::slack`]): a limit held at the bounds' middle may be above the
/// gateway's rate (half the time), and a slow answer's wait counted from there was that much
/// short (traced at 100/s: a limit found at 101.16/s, a request answered after 1.48 ms, the
/// next one waited 0.95 ms and was refused; waited from the lower bound, it would have waited
/// 0.2 ms more).
fn known_rate(
    limit: f64,
    published: Option<f64>,
    bounds: Option<(f64, f64)>,
    refilled: f64,
) -> f64 {
    let passed = bounds.map_or(0.0, |(lo, _)| lo).max(refilled);
    let known = if published.is_none() && passed > 0.0 {
        passed.min(limit)
    } else {
        limit
    };
    known.max(MIN_RATE)
}

/// What is known of the last request sent when the next one is due ([`spaced`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LastAnswer {
    /// Answered after this round trip.
    After(Duration),
    /// Not answered yet.
    Awaited,
}

/// When the next request may leave: `due` (an interval after the last one, sent at
/// `last_sent`), later by as much as the last one's round trip exceeded the shortest seen
/// lately (`floor`) and the `slack` the spacing already leaves (the interval less the gateway's
/// as found), up to two more intervals (`STALL_COVERED`).
///
/// A gateway with a small burst spaces requests by when they *arrive*: one that arrives late
/// makes the next, on time, look early, and a burst-1 bucket refuses it (a 1 s `Retry-After`
/// then costs a second of sending; no margin covers the tail of a loaded machine or a network
/// path). A slow answer says its request was likely late, so the next one waits as much. Only
/// when answers come back well within the interval (`floor` under half of it); a far provider
/// answers too late to tell, and gets `due`. While the last one is awaited past `due`, 3 ms at
/// a time (so that the pace sleeps between looks instead of spinning).
///
/// Up to two intervals, not one: at 100/s a request answered after 13.7 ms (a stall on a loaded
/// host), the next sent one interval late, 20.6 ms after it, was refused (it arrived 7 ms after
/// the stalled one); the 1 s pause cost a hundred times the 3 ms more that would have avoided
/// it. While answers are slow for long, the rate falls to a third at worst (from a half).
pub fn spaced(
    due: Instant,
    interval: Duration,
    last_sent: Instant,
    last: LastAnswer,
    floor: Option<Duration>,
    slack: Duration,
    now: Instant,
) -> Instant {
    let Some(floor) = floor.filter(|f| *f < interval / 2) else {
        return due;
    };
    let latest = due + interval * STALL_COVERED;
    match last {
        LastAnswer::After(rtt) => (due + rtt.saturating_sub(floor + slack)).min(latest),
        LastAnswer::Awaited if now < due || last_sent + floor >= now => due,
        LastAnswer::Awaited => (now + Duration::from_millis(3)).min(latest),
    }
}

/// Whether a token bucket of `rate` requests/s and `burst`, full at `from`, admits every
/// success of `sends` (and, with `last_too`, the last send as well). A refused request takes no
/// token.
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
        let x = at.saturating_duration_since(from).as_secs_f64();
        let must = ok || (last_too && i + 1 == sends.len());
        if !must {
            continue;
        }
        if x + 1e-9 < tat - tolerance {
            return false;
        }
        tat = tat.max(x) + interval;
    }
    true
}

/// The smallest rate in [0.1, 100,000] for which `admits` holds (it is monotone), if any.
fn smallest_rate(admits: impl Fn(f64) -> bool) -> Option<f64> {
    let (mut lo, mut hi) = (0.1_f64, 100_000.0_f64);
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

/// Bounds on a token bucket's rate from the requests sent since it was last full (`from`),
/// the last of them refused: the smallest rate admitting every success (0 when there was only
/// one), and the smallest that would have admitted the refused one too; `None` when nothing
/// was admitted.
pub fn replay_bounds(burst: f64, from: Instant, sends: &[(Instant, bool)]) -> Option<(f64, f64)> {
    // No success since the bucket was full: not the bucket's refusal (a fault, or a pause too
    // short for it to fill), so nothing is bounded.
    let admitted = sends.iter().filter(|&&(_, ok)| ok).count();
    if sends.last().is_none_or(|&(_, ok)| ok) || admitted == 0 {
        return None;
    }
    // One success bounds nothing from below (any rate admits one request): 0.
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
    /// The rate known to pass under it ([`known_rate`]), if any.
    known: Option<f64>,
    /// How many times in a row the same limit was found (probing slows with each).
    pub confidence: u32,
    /// The gateway's burst, as its first answers showed it.
    pub burst: Option<f64>,
    /// How far under the limit the hold stays, learnt from 429s: refused under the limit means
    /// the requests reach the gateway less evenly than they leave (a burst of 1 refuses a
    /// request that arrives a millisecond early), so the margin doubles (2% to 30%); refused
    /// only while probing above it, it halves.
    pub margin: f64,
    /// How unevenly requests reach the gateway, as the pace measured it: the spread of the
    /// recent round trips (their median less the shortest), the largest measured at a 429
    /// ([`Adaptive::measured_spread`]). Against a burst of 1 the hold leaves this much time
    /// beyond the gateway's interval.
    pub spread: Duration,
    /// The spread the hold in force leaves (see [`beyond`]).
    held_spread: Duration,
    /// When the first 429 was heard, until the burst is counted: every request sent before it
    /// was sent while the gateway's bucket was full or emptying (answers to requests sent
    /// together may come in any order, so the first refused one is no boundary).
    first_heard: Option<Instant>,
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
            known: None,
            confidence: 0,
            burst: None,
            margin: 0.0,
            spread: Duration::ZERO,
            held_spread: Duration::ZERO,
            first_heard: None,
            decided_at: None,
            resumed_at: now,
            streak: 0,
            sends: VecDeque::new(),
            started: now,
        }
    }

    /// The rate to send at, at `now`; `None` before the first 429.
    pub fn rate(&self, now: Instant) -> Option<f64> {
        match self.mode {
            Mode::Free => None,
            Mode::Probe {
                from,
                start,
                doubling,
            } => {
                let x = now.saturating_duration_since(start).as_secs_f64();
                let rate = from * 2f64.powf(x / doubling.as_secs_f64());
                Some(rate.clamp(MIN_RATE, 100_000.0))
            }
            Mode::Hold { limit, start, k, c } => {
                let x = now.saturating_duration_since(start).as_secs_f64() - k;
                Some((limit * (1.0 + c * x * x * x)).clamp(MIN_RATE, 100_000.0))
            }
        }
    }

    /// Whether the next request waits out the last one's slow answer ([`spaced`]): against a
    /// burst of 1 only. A larger burst absorbs a late arrival (at a steady rate under the limit,
    /// a burst of 2 admits any request arriving after the one before it).
    pub fn spaces_by_answers(&self) -> bool {
        self.burst.is_some_and(|burst| burst <= 1.0)
    }

    /// How much longer than the gateway's interval the interval at `rate` is, counted from
    /// the rate known to pass (the replay's lower bound, as sent; else the limit found): what a
    /// request may arrive late without the next one being refused.
    pub fn slack(&self, rate: f64) -> Duration {
        self.known.or(self.limit).map_or(Duration::ZERO, |limit| {
            Duration::from_secs_f64((1.0 / rate.max(MIN_RATE) - 1.0 / limit.max(MIN_RATE)).max(0.0))
        })
    }

    /// The path's spread as measured now (by the pace, before a 429's [`Adaptive::limited`]):
    /// kept if larger than the last. Measured over 64 round trips of paced requests it ranged
    /// from 150 to 330 µs on one local host (with the first requests, sent together, it read
    /// up to 1.2 ms), and a hold that left 100 µs was refused every 10 to 30 s.
    pub fn measured_spread(&mut self, spread: Duration) {
        self.spread = self.spread.max(spread);
    }

    /// A request is sent at `at`.
    pub fn sent(&mut self, at: Instant) {
        self.sends.push_back((at, None));
        while self.sends.len() > REMEMBERED
            || self
                .sends
                .front()
                .is_some_and(|&(t, _)| at.saturating_duration_since(t) > Duration::from_secs(30))
        {
            self.sends.pop_front();
        }
    }

    fn mark(&mut self, sent: Instant, ok: bool) {
        if let Some(entry) = self
            .sends
            .iter_mut()
            .rev()
            .find(|(t, answer)| *t == sent && answer.is_none())
        {
            entry.1 = Some(ok);
        }
        // Every request sent before the first 429 was heard is answered: the burst is known.
        if let Some(first) = self.first_heard
            && !self
                .sends
                .iter()
                .any(|(t, answer)| *t < first && answer.is_none())
        {
            self.count_burst(first);
        }
    }

    /// The gateway's burst: the requests it admitted among those sent before the first 429 was
    /// heard at `first`.
    fn count_burst(&mut self, first: Instant) {
        let burst = self
            .sends
            .iter()
            .filter(|(t, answer)| *t < first && *answer == Some(true))
            .count();
        self.burst = Some((burst as f64).max(1.0));
        self.first_heard = None;
    }

    /// The request sent at `sent` was answered, not refused.
    pub fn answered(&mut self, sent: Instant) {
        self.mark(sent, true);
        self.streak = 0;
    }

    /// What was delivered (requests not refused, by send time) per second over the last 10 s,
    /// or since the start if that is shorter, and the same less the gateway's burst (see
    /// [`decide`]).
    fn delivered(&self, now: Instant) -> (f64, f64) {
        let span = now
            .saturating_duration_since(self.started)
            .min(Duration::from_secs(10));
        let since = now - span;
        let ok = self
            .sends
            .iter()
            .filter(|(t, answer)| *t >= since && *answer == Some(true))
            .count();
        let span = span.as_secs_f64().max(1e-3);
        let burst = self.burst.unwrap_or(0.0);
        (ok as f64 / span, (ok as f64 - burst).max(0.0) / span)
    }

    /// The request sent at `sent` was refused (429 or 503) at `now`, asking
    /// to wait `retry_after`, publishing the limit `published` (requests/s) if its headers did.
    /// Returns the pause everyone waits; `jitter` in [0, 1) spreads the backoff when the answer
    /// names no wait.
    pub fn limited(
        &mut self,
        sent: Instant,
        retry_after: Option<Duration>,
        published: Option<f64>,
        now: Instant,
        jitter: f64,
    ) -> Duration {
        self.mark(sent, false);
        // 429s to requests sent before the last decision are the same episode: they were sent
        // into the same empty bucket, so they teach nothing new and do not back off further.
        let same_episode = self.decided_at.is_some_and(|at| sent < at);
        let pause = match retry_after {
            Some(wait) => wait.min(MAX_PAUSE),
            None if same_episode => self.resumed_at.saturating_duration_since(now),
            None => {
                self.streak += 1;
                let doubled = BACKOFF * 2u32.pow(self.streak.saturating_sub(1).min(6));
                doubled.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
            }
        };
        let resume = now + pause;
        if same_episode {
            // Only the pause may grow, and the pace starts again from its end.
            if resume > self.resumed_at {
                self.resumed_at = resume;
                match &mut self.mode {
                    Mode::Probe { start, .. } | Mode::Hold { start, .. } => *start = resume,
                    Mode::Free => {}
                }
            }
            return pause;
        }
        let from = self.resumed_at;
        match self.mode {
            Mode::Free if published.is_none() => {
                let delivered = self
                    .sends
                    .iter()
                    .filter(|(_, answer)| *answer == Some(true))
                    .count();
                self.first_heard = Some(now);
                self.mode = Mode::Probe {
                    from: (delivered as f64).max(FIRST_RATE),
                    start: resume,
                    doubling: FIRST_DOUBLING,
                };
            }
            Mode::Free | Mode::Probe { .. } | Mode::Hold { .. } => {
                if let Some(first) = self.first_heard {
                    self.count_burst(first);
                }
                let replayed: Vec<(Instant, bool)> = self
                    .sends
                    .iter()
                    .filter(|(t, _)| *t >= from && *t <= sent)
                    .filter_map(|&(t, answer)| answer.map(|ok| (t, ok)))
                    .collect();
                let sent_at = replay_bounds(self.burst.unwrap_or(1.0), from, &replayed);
                let current = self.rate(sent).unwrap_or(MIN_RATE);
                // The replay says the rate sent was above the gateway's: the limit held was
                // too high.
                let explained = sent_at.is_some_and(|(_, hi)| hi <= current);
                // Holding against a burst of 1, requests were spaced the path's spread beyond
                // the limit: unless the limit was too high, the replay's bounds, and the rate
                // sent, are the gateway's less that. When it was, they are the gateway's as
                // sent: undone, the limit held again was the one refused (a first ramp's lower
                // bound 1.4% above a bucket of 100/s, let through by a request that arrived
                // late: refused at 99.93/s, held again at 101.26/s, refused again 4.7 s later).
                let (bounds, current) = match self.mode {
                    Mode::Hold { .. } if self.spaces_by_answers() && !explained => (
                        sent_at.map(|(lo, hi)| {
                            (beyond(lo, self.held_spread), beyond(hi, self.held_spread))
                        }),
                        beyond(current, self.held_spread),
                    ),
                    _ => (sent_at, current),
                };
                if let Mode::Hold { start, k, .. } = self.mode {
                    let under = sent.saturating_duration_since(start).as_secs_f64() <= k;
                    self.margin = next_margin(self.margin, under, explained);
                }
                let probing = matches!(self.mode, Mode::Probe { .. });
                let delivered = self.delivered(now);
                match decide(
                    published,
                    bounds,
                    (self.burst.unwrap_or(1.0), self.spread),
                    current,
                    delivered,
                    pause,
                    probing,
                ) {
                    Next::Hold { limit, tight } => {
                        self.hold(limit, tight, resume, pause);
                        // What passed as sent, not as the hold's spacing undone: the slack is
                        // the time beyond that.
                        self.known = Some(known_rate(limit, published, sent_at, delivered.1));
                    }
                    Next::Probe { from } => {
                        let ramping = match self.mode {
                            Mode::Probe { doubling, .. } => Some(doubling),
                            _ => None,
                        };
                        self.mode = Mode::Probe {
                            from,
                            start: resume,
                            doubling: next_doubling(ramping, bounds.map(|(_, hi)| hi)),
                        };
                    }
                }
            }
        }
        self.decided_at = Some(now);
        self.resumed_at = resume;
        pause
    }

    /// Holds under `limit` (less the margin) from `start`, probing more slowly the more often
    /// it was found.
    fn hold(&mut self, limit: f64, tight: bool, start: Instant, pause: Duration) {
        let same = self
            .limit
            .is_some_and(|known| (limit - known).abs() <= 0.03 * known);
        self.confidence = if same || (tight && self.limit.is_none()) {
            (self.confidence + 1).min(4)
        } else {
            0
        };
        self.limit = Some(limit);
        // The cubic's time back to the limit: the longer a 429 pauses, the rarer the probes
        // (a probe every PROBE_COST pauses: a 1 s Retry-After costs 1/30 of the time at most).
        let c = CUBIC / CONFIDENCE.powi(self.confidence as i32);
        let k = ((1.0 - HOLD) / c)
            .cbrt()
            .max(PROBE_COST * pause.as_secs_f64());
        let c = (1.0 - HOLD) / (k * k * k);
        let plateau = (limit * (1.0 - self.margin)).max(MIN_RATE);
        // A burst of 1 refuses a request that arrives early by any amount, and how early they
        // arrive is a matter of time, not of the rate: leave the path's spread between requests
        // (at 100/s, 180 µs on a local host is 1.8%; at 5/s, 0.1%), up to 2% of the interval
        // (measured over 64 paced round trips, the spread was 150 to 330 µs on one host; beyond
        // 2%, the slack costs more than the 429s it avoids: a 1 s pause in 40 s is 2.5%).
        self.held_spread = if self.spaces_by_answers() {
            Duration::from_secs_f64(spread_share(self.spread, plateau) / plateau)
        } else {
            Duration::ZERO
        };
        let plateau = (1.0 / (1.0 / plateau + self.held_spread.as_secs_f64())).max(MIN_RATE);
        self.mode = Mode::Hold {
            limit: plateau,
            start,
            k,
            c,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gateway on the simulated clock: admitted, or refused with its `Retry-After`.
    type Gateway = dyn FnMut(f64) -> (bool, Option<Duration>);

    fn s(secs: f64) -> Duration {
        Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_ramp_started_again_is_slower_and_fine_near_the_rate_refused() {
        let ms = Duration::from_millis;
        // (the ramp's doubling, if ramping; the rate refused, if bounded) -> the next doubling
        let cases = [
            (Some(ms(350)), None, ms(700)),
            (Some(ms(350)), Some(100.0), ms(700)),
            (Some(ms(350)), Some(10.0), ms(1420)),
            (Some(ms(2000)), Some(100.0), MAX_DOUBLING),
            (Some(ms(350)), Some(1.0), MAX_DOUBLING),
            (None, None, ms(1000)),
            (None, Some(5.0), ms(2840).min(MAX_DOUBLING)),
            (None, Some(0.0), MAX_DOUBLING),
        ];
        for (ramping, hi, expected) in cases {
            let next = next_doubling(ramping, hi);
            assert!(
                next.abs_diff(expected) < ms(1),
                "{ramping:?} {hi:?}: {next:?}, not {expected:?}"
            );
        }
    }

    #[test]
    fn what_a_429_teaches() {
        let (one, ten) = (s(1.0), s(10.0));
        let hold = |limit: f64, tight: bool| Next::Hold { limit, tight };
        let probe = |from: f64| Next::Probe { from };
        // (published, bounds, burst, current rate, (delivered, refilled) over 10 s, pause,
        // ramping) -> next
        #[rustfmt::skip]
        let cases = [
            // A published limit is believed.
            (Some(20.0), Some((5.0, 50.0)), 2.0, 25.0, (12.0, 12.0), one, false, hold(20.0, true)),
            (Some(0.1), None, 2.0, 25.0, (12.0, 12.0), ten, false, hold(MIN_RATE, true)),
            (Some(7.0), None, 2.0, 25.0, (12.0, 12.0), one, true, hold(7.0, true)),
            // Bounds within 3%: hold at their geometric middle (the gateway's rate is under the
            // upper one), and trust it; within 15%: at their middle too; wider, within the
            // slowest ramp's step (a slow gateway): at the lower one. Ramping or not.
            (None, Some((19.8, 20.2)), 2.0, 25.0, (12.0, 12.0), one, false, hold(399.96f64.sqrt(), true)),
            (None, Some((19.8, 20.2)), 2.0, 25.0, (12.0, 12.0), one, true, hold(399.96f64.sqrt(), true)),
            (None, Some((18.0, 20.0)), 2.0, 25.0, (12.0, 12.0), one, false, hold(360f64.sqrt(), false)),
            (None, Some((18.0, 20.0)), 2.0, 19.0, (12.0, 12.0), one, false, hold(360f64.sqrt(), false)),
            // A burst of 1 at the lower one, where a hold above the gateway's rate is refused
            // at once.
            (None, Some((18.0, 20.0)), 1.0, 19.0, (12.0, 12.0), one, false, hold(18.0, false)),
            (None, Some((89.8, 101.0)), 1.0, 95.0, (60.0, 59.0), one, false, hold(89.8, false)),
            (None, Some((1.0, 1.25)), 2.0, 1.2, (0.8, 0.8), one, false, hold(1.0, false)),
            // Refused at 98.5/s, the replay putting the gateway at 99.4 to 99.5 (the request
            // arrived early): the limit stays, as the replay found it.
            (None, Some((99.38, 99.48)), 2.0, 98.49, (95.4, 95.4), one, false, hold((99.38f64 * 99.48).sqrt(), true)),
            // Against a burst of 1, tight bounds are held at their middle.
            (None, Some((99.0, 101.0)), 1.0, 101.0, (60.0, 59.0), one, true, hold(9999f64.sqrt(), true)),
            // What the bucket refilled is a floor.
            (None, Some((9.0, 10.0)), 2.0, 25.0, (12.0, 12.0), one, false, hold(12.0, false)),
            // Its burst is not: after a burst of 100 at 100/s, 1.8 s delivered 276 (153/s), of
            // which the bucket refilled 176 (98/s).
            (None, Some((99.5, 100.5)), 2.0, 150.0, (153.0, 98.0), one, false, hold((99.5f64 * 100.5).sqrt(), true)),
            (None, Some((90.0, 100.0)), 2.0, 150.0, (153.0, 98.0), one, false, hold(98.0, false)),
            // Too coarse: ramp again from the lower bound, or what was refilled, below the rate
            // refused.
            (None, Some((5.0, 10.0)), 2.0, 12.0, (3.0, 3.0), one, false, probe(5.0)),
            (None, Some((5.0, 10.0)), 2.0, 12.0, (7.0, 7.0), one, false, probe(7.0)),
            (None, Some((5.0, 10.0)), 2.0, 12.0, (9.5, 9.5), one, true, probe(9.0)),
            // One success since the pause, then the refusal: only the upper bound is known.
            // Ramping, ramp again from half of it (never from the rate refused); holding, hold
            // 10% under the rate refused.
            (None, Some((0.0, 5.77)), 2.0, 5.77, (0.85, 0.85), one, true, probe(0.5 * 5.77)),
            (None, Some((0.0, 5.77)), 2.0, 5.77, (5.5, 5.5), one, true, probe(0.5 * 5.77)),
            (None, Some((0.0, 5.77)), 2.0, 5.77, (0.85, 0.85), one, false, hold(0.9 * 5.77, false)),
            // Nothing to replay: holding, 90% of the rate, or what was refilled; ramping, ramp
            // on from the rate of the moment.
            (None, None, 2.0, 20.0, (3.0, 3.0), one, false, hold(18.0, false)),
            (None, None, 2.0, 20.0, (3.0, 3.0), one, true, probe(20.0)),
            // A window's long Retry-After: what it delivered over the window is the rate, all
            // of it.
            (None, Some((0.1, 0.1)), 2.0, 998.0, (100.0, 100.0), ten, false, hold(100.0, false)),
            (None, Some((0.1, 0.1)), 2.0, 150.0, (10.0, 0.0), ten, false, hold(10.0, false)),
            (None, None, 2.0, 0.1, (0.0, 0.0), ten, false, hold(MIN_RATE, false)),
        ];
        for (i, (published, bounds, burst, current, delivered, pause, probing, expected)) in
            cases.into_iter().enumerate()
        {
            assert_eq!(
                decide(
                    published,
                    bounds,
                    (burst, Duration::ZERO),
                    current,
                    delivered,
                    pause,
                    probing
                ),
                expected,
                "case {i}"
            );
        }
    }

    #[test]
    fn against_a_burst_of_1_bounds_as_fine_as_the_path_allows_are_tight() {
        let us = Duration::from_micros;
        let hold = |limit: f64, tight: bool| Next::Hold { limit, tight };
        // (bounds, burst, the path's spread) -> next; after a first ramp at 100/s, 1 s pause.
        #[rustfmt::skip]
        let cases = [
            // Ramps measured against a burst-1 bucket of 100/s on a local host (spread ~180 µs):
            // 369 and 389 µs apart in time, within twice the spread and 3%: the middle.
            ((96.3, 99.85), 1.0, us(180), hold((96.3f64 * 99.85).sqrt(), true)),
            ((98.76, 102.71), 1.0, us(180), hold((98.76f64 * 102.71).sqrt(), true)),
            // Without the spread, the lower bound, as before.
            ((96.3, 99.85), 1.0, us(0), hold(96.3, false)),
            // At 5/s the spread is 0.2% of the interval: 5% bounds stay loose.
            ((4.8, 5.04), 1.0, us(180), hold(4.8, false)),
            // A spread beyond 2% of the interval counts as 2%: 11% bounds are loose.
            ((90.0, 100.0), 1.0, us(700), hold(90.0, false)),
            // A burst of 2 absorbs the spread: 3.7% bounds at their middle, but not tight.
            ((96.3, 99.85), 2.0, us(180), hold((96.3f64 * 99.85).sqrt(), false)),
        ];
        for (bounds, burst, spread, expected) in cases {
            let next = decide(
                None,
                Some(bounds),
                (burst, spread),
                101.0,
                (0.0, 0.0),
                Duration::from_secs(1),
                true,
            );
            assert_eq!(
                next, expected,
                "{bounds:?} burst {burst}, spread {spread:?}"
            );
        }
    }

    #[test]
    fn a_rate_sent_with_the_spread_beyond_the_interval_is_the_limit_less_it() {
        let us = Duration::from_micros;
        // (rate sent, spread) -> the limit it was sent under
        let cases = [
            (98.15, us(0), 98.15),
            // Measured: held at 98.15/s under 100.77/s with a spread of 272.6 µs.
            (98.15, us(272), 1.0 / (1.0 / 98.15 - 272e-6)),
            (1.0 / 0.0102, us(200), 100.0),
            (0.0, us(200), 0.0),
            // A spread as long as the interval: unchanged.
            (1000.0, us(1000), 1000.0),
        ];
        for (rate, spread, limit) in cases {
            let got = beyond(rate, spread);
            assert!(
                (got - limit).abs() < 1e-6,
                "{rate} less {spread:?}: {got}, not {limit}"
            );
        }
    }

    #[test]
    fn the_spread_kept_is_the_largest_measured() {
        let us = Duration::from_micros;
        let mut c = Adaptive::new(Instant::now());
        for (measured, kept) in [(us(101), us(101)), (us(264), us(264)), (us(104), us(264))] {
            c.measured_spread(measured);
            assert_eq!(c.spread, kept, "after {measured:?}");
        }
    }

    #[test]
    fn against_a_burst_of_1_a_limit_refused_as_sent_is_held_again_under_the_rate_refused() {
        // A first ramp's bounds 1.4% above a bucket of 100/s (a request let through because it
        // arrived late), held with 150 µs of spread left; refused at the rate the hold sent.
        let t = Instant::now();
        let mut c = Adaptive::new(t);
        c.burst = Some(1.0);
        c.spread = Duration::from_micros(150);
        c.hold(101.4, true, t, Duration::from_secs(1));
        let mut now = t;
        for _ in 0..200 {
            now += Duration::from_secs_f64(1.0 / c.rate(now).expect("holding"));
            c.sent(now);
            c.answered(now);
        }
        let refused = now + Duration::from_secs_f64(1.0 / c.rate(now).expect("holding"));
        let rate = c.rate(refused).expect("holding");
        c.sent(refused);
        let heard = refused + Duration::from_micros(300);
        c.limited(refused, Some(Duration::from_secs(1)), None, heard, 0.5);
        // Held again under the rate refused by the spread (undoing the spacing would hold the
        // same limit again: 101.4/s, and the same plateau), the margin unchanged.
        let Mode::Hold { limit: plateau, .. } = c.mode else {
            panic!("holding: {:?}", c.mode);
        };
        let under = 1.0 / (1.0 / rate + 150e-6);
        assert!((plateau - under).abs() < 0.05, "{plateau}, not {under}");
        assert!(c.limit.expect("holding") < 101.0, "{:?}", c.limit);
        assert_eq!(c.margin, 0.0);
    }

    #[test]
    fn the_slack_counts_from_the_rate_known_to_pass() {
        // (limit held, published, bounds, refilled) -> the rate known to pass
        let cases = [
            // A published limit is known.
            (100.0, Some(100.0), Some((99.0, 101.0)), 0.0, 100.0),
            // Tight bounds held at their middle: the lower one is what passed.
            (100.0, None, Some((99.0, 101.0)), 0.0, 99.0),
            // What the bucket refilled is known too.
            (100.0, None, Some((99.0, 101.0)), 99.5, 99.5),
            // Never above the limit held (a guess 10% under the rate refused, a window's).
            (90.0, None, Some((95.0, 110.0)), 0.0, 90.0),
            (100.0, None, Some((95.0, 110.0)), 120.0, 100.0),
            // No lower bound (one success, or none): what was refilled, else the limit.
            (45.0, None, Some((0.0, 50.0)), 0.0, 45.0),
            (45.0, None, Some((0.0, 50.0)), 30.0, 30.0),
            (45.0, None, None, 0.0, 45.0),
            (45.0, None, None, 30.0, 30.0),
        ];
        for (limit, published, bounds, refilled, known) in cases {
            assert_eq!(
                known_rate(limit, published, bounds, refilled),
                known,
                "{limit} {published:?} {bounds:?} {refilled}"
            );
        }
        // The slack a hold leaves a slow answer counts from it: at 98/s under a limit of
        // 101/s known to pass at 99/s, 1/98 - 1/99 s (not 1/98 - 1/101).
        let t = Instant::now();
        let mut c = Adaptive::new(t);
        c.limit = Some(101.0);
        c.known = Some(99.0);
        let slack = c.slack(98.0).as_secs_f64();
        assert!((slack - (1.0 / 98.0 - 1.0 / 99.0)).abs() < 1e-9, "{slack}");
        c.known = None;
        let slack = c.slack(98.0).as_secs_f64();
        assert!((slack - (1.0 / 98.0 - 1.0 / 101.0)).abs() < 1e-9, "{slack}");

        // Holding against a burst of 1 with 200 µs of spread left: what passed is the rate as
        // sent (a 10.2 ms interval), not that rate with the spacing undone (10 ms: 100/s).
        let mut c = Adaptive::new(t);
        c.burst = Some(1.0);
        c.spread = Duration::from_micros(200);
        c.hold(100.0, true, t, Duration::from_secs(1));
        let at = |i: u32| t + Duration::from_micros(10_200) * i;
        for i in 0..50 {
            c.sent(at(i));
            c.answered(at(i));
        }
        let refused = at(49) + Duration::from_micros(10_100);
        c.sent(refused);
        let heard = refused + Duration::from_micros(300);
        c.limited(refused, Some(Duration::from_secs(1)), None, heard, 0.5);
        let known = c.known.expect("holding");
        assert!((known - 1.0 / 0.0102).abs() < 0.01, "{known}");
        assert!(c.limit.expect("holding") > known, "{:?}", c.limit);
    }

    #[test]
    fn against_a_burst_of_1_the_hold_leaves_the_paths_spread_beyond_the_interval() {
        let t = Instant::now();
        let us = Duration::from_micros;
        // (burst, spread) -> the plateau held under a limit of 100/s (a 10 ms interval)
        let cases = [
            (1.0, us(0), 100.0),
            (1.0, us(200), 1.0 / 0.0102),
            (1.0, us(180), 1.0 / 0.01018),
            // At most 2% of the interval.
            (1.0, us(700), 1.0 / 0.0102),
            (2.0, us(200), 100.0),
        ];
        for (burst, spread, plateau) in cases {
            let mut c = Adaptive::new(t);
            c.burst = Some(burst);
            c.spread = spread;
            c.hold(100.0, true, t, Duration::from_secs(1));
            let Mode::Hold { limit, .. } = c.mode else {
                panic!("holding");
            };
            assert!(
                (limit - plateau).abs() < 1e-9,
                "burst {burst}, spread {spread:?}: {limit}, not {plateau}"
            );
        }
    }

    #[test]
    fn a_lone_refusal_right_after_a_pause_does_not_become_the_limit() {
        // A provider answering a few 503s with Retry-After: 1 (a fault, not a rate limit): the
        // first window, 3 of 8 refused; then the first request after the pause is refused too.
        // Nothing bounds a rate there, so the ramp goes on (it once held at 0.5/s).
        let t0 = Instant::now();
        let mut c = Adaptive::new(t0);
        for i in 0..8 {
            c.sent(t0 + s(0.0001 * f64::from(i)));
        }
        for i in 0..5 {
            c.answered(t0 + s(0.0001 * f64::from(i)));
        }
        for i in 5..8 {
            c.limited(
                t0 + s(0.0001 * f64::from(i)),
                Some(s(1.0)),
                None,
                t0 + s(0.002),
                0.5,
            );
        }
        let after = t0 + s(1.003);
        c.sent(after);
        c.limited(after, Some(s(1.0)), None, after + s(0.001), 0.5);
        assert!(matches!(c.mode, Mode::Probe { .. }), "{:?}", c.mode);
        let rate = c.rate(after + s(2.5)).unwrap();
        assert!(rate > 5.0, "the ramp goes on: {rate}/s");
    }

    #[test]
    fn a_slow_answer_delays_the_next_request_as_much() {
        let t0 = Instant::now();
        let ms = |x: f64| s(x / 1000.0);
        let (sent, interval) = (t0, ms(10.0));
        let due = sent + interval;
        let no = Duration::ZERO;
        // (last answer, shortest round trip, the spacing's slack, now) -> the next may leave at
        // (ms after t0)
        let cases = [
            // Answered as fast as ever: on time.
            (LastAnswer::After(ms(0.3)), Some(ms(0.3)), no, ms(5.0), 10.0),
            // 4 ms slower than the shortest: 4 ms later.
            (LastAnswer::After(ms(4.3)), Some(ms(0.3)), no, ms(5.0), 14.0),
            // A stall of 13.7 ms: 13.4 ms later (one interval more was refused, measured).
            (
                LastAnswer::After(ms(13.7)),
                Some(ms(0.3)),
                no,
                ms(5.0),
                23.4,
            ),
            // At most two more intervals.
            (
                LastAnswer::After(ms(40.0)),
                Some(ms(0.3)),
                no,
                ms(5.0),
                30.0,
            ),
            // The spacing's slack (an interval longer than the gateway's) covers that much
            // lateness.
            (
                LastAnswer::After(ms(4.3)),
                Some(ms(0.3)),
                ms(1.5),
                ms(0.0),
                12.5,
            ),
            (
                LastAnswer::After(ms(1.0)),
                Some(ms(0.3)),
                ms(1.5),
                ms(0.0),
                10.0,
            ),
            // No round trip known yet, or answers too slow to tell (half the interval or
            // more): on time.
            (LastAnswer::After(ms(4.3)), None, no, ms(5.0), 10.0),
            (LastAnswer::After(ms(9.0)), Some(ms(5.0)), no, ms(5.0), 10.0),
            // Awaited before it is due: due (looked at again then).
            (LastAnswer::Awaited, Some(ms(0.3)), no, ms(5.0), 10.0),
            // Awaited past due: looked at again 3 ms later (the pace sleeps, rather than spins,
            // that long), up to two more intervals.
            (LastAnswer::Awaited, Some(ms(0.3)), no, ms(12.0), 15.0),
            (LastAnswer::Awaited, Some(ms(0.3)), no, ms(19.5), 22.5),
            (LastAnswer::Awaited, Some(ms(0.3)), no, ms(28.5), 30.0),
            (LastAnswer::Awaited, Some(ms(0.3)), no, ms(35.0), 30.0),
        ];
        for (i, (last, floor, slack, now, expected)) in cases.into_iter().enumerate() {
            let at = spaced(due, interval, sent, last, floor, slack, t0 + now);
            let got = at.duration_since(t0).as_secs_f64() * 1000.0;
            assert!((got - expected).abs() < 1e-6, "case {i}: {got} ms");
        }
    }

    #[test]
    fn the_burst_is_known_once_the_first_window_is_answered() {
        // 8 requests at once into a burst-1 bucket: one admitted, the first 429 heard while
        // others are still out; once all are answered the burst is 1, before any new decision,
        // so the ramp after the pause already spaces by the answers.
        let t0 = Instant::now();
        let mut c = Adaptive::new(t0);
        let at = |i: u32| t0 + s(0.0001 * f64::from(i));
        for i in 0..8 {
            c.sent(at(i));
        }
        c.limited(at(3), Some(s(1.0)), None, t0 + s(0.002), 0.5);
        assert_eq!(c.burst, None, "others still out");
        c.answered(at(0));
        for i in [1, 2, 4, 5, 6] {
            c.limited(at(i), Some(s(1.0)), None, t0 + s(0.003), 0.5);
            assert_eq!(c.burst, None, "request 7 is still out");
        }
        c.limited(at(7), Some(s(1.0)), None, t0 + s(0.004), 0.5);
        assert_eq!(c.burst, Some(1.0));
        assert!(c.spaces_by_answers());
        assert!(matches!(c.mode, Mode::Probe { .. }), "{:?}", c.mode);
    }

    #[test]
    fn the_margin_doubles_when_refused_under_the_limit_and_halves_when_probing() {
        // (margin, refused under the plateau, the replay puts the gateway under the rate sent)
        // -> next margin
        let cases = [
            (0.0, true, false, 0.02),
            (0.02, true, false, 0.04),
            (0.2, true, false, 0.3),
            (0.3, true, false, 0.3),
            (0.0, true, true, 0.0),
            (0.04, true, true, 0.04),
            (0.04, false, false, 0.02),
            (0.04, false, true, 0.02),
            (0.004, false, false, 0.0),
            (0.0, false, false, 0.0),
        ];
        for (margin, under, explained, expected) in cases {
            let next = next_margin(margin, under, explained);
            assert!(
                (next - expected).abs() < 1e-12,
                "{margin} {under} {explained}: {next}"
            );
        }
    }

    /// A GCRA bucket (the simulator's and governor's), for the tests.
    fn gateway(rate: f64, burst: f64, from: Instant, at: &[f64]) -> Vec<(Instant, bool)> {
        let interval = 1.0 / rate;
        let tolerance = (burst - 1.0) * interval;
        let mut tat = 0.0_f64;
        at.iter()
            .map(|&x| {
                let ok = x >= tat - tolerance;
                if ok {
                    tat = tat.max(x) + interval;
                }
                (from + s(x), ok)
            })
            .collect()
    }

    #[test]
    fn a_published_limit_is_held_from_the_first_429() {
        let t0 = Instant::now();
        let mut c = Adaptive::new(t0);
        c.sent(t0);
        c.limited(t0, Some(s(1.0)), Some(20.0), t0 + s(0.001), 0.5);
        assert_eq!(c.limit, Some(20.0));
        let rate = c.rate(t0 + s(1.001)).unwrap();
        assert!((19.5..20.0).contains(&rate), "{rate}");
    }

    #[test]
    fn the_replay_bounds_the_gateway_s_rate() {
        let t0 = Instant::now();
        // A ramp doubling every 0.5 s from 1/s into a 20/s bucket of burst 2.
        let mut at = Vec::new();
        let (mut x, mut rate) = (0.0_f64, 1.0_f64);
        while x < 10.0 {
            at.push(x);
            rate = 2f64.powf(x / 0.5);
            x += 1.0 / rate;
        }
        let answered = gateway(20.0, 2.0, t0, &at);
        let first_refused = answered.iter().position(|&(_, ok)| !ok).unwrap();
        let sends = &answered[..=first_refused];
        let (lo, hi) = replay_bounds(2.0, t0, sends).unwrap();
        assert!(lo <= 20.0 + 1e-6 && hi >= 20.0 - 1e-6, "{lo}..{hi}");
        assert!(hi / lo < 1.15, "tight: {lo}..{hi}");
        // Nothing refused: no bounds.
        assert_eq!(replay_bounds(2.0, t0, &answered[..first_refused]), None);
        let _ = rate;
    }

    /// Runs the controller against a gateway on a simulated clock (no waiting): one request at
    /// a time, each answered 1 ms after it is sent. Returns (delivered per second / limit,
    /// share of requests refused).
    fn simulate(
        gateway: &mut dyn FnMut(f64) -> (bool, Option<Duration>),
        rows: usize,
        limit: f64,
    ) -> (f64, f64) {
        let t0 = Instant::now();
        let mut c = Adaptive::new(t0);
        let (mut now, mut last_sent, mut paused_until) = (0.0_f64, f64::MIN, 0.0_f64);
        let (mut done, mut refused, mut sent) = (0usize, 0usize, 0usize);
        let mut jitter = 0.37_f64;
        while done < rows && now < 3600.0 {
            now = now.max(paused_until);
            if let Some(rate) = c.rate(t0 + s(now)) {
                now = now.max(last_sent + 1.0 / rate);
            }
            last_sent = now;
            let at = t0 + s(now);
            c.sent(at);
            sent += 1;
            let (ok, retry_after) = gateway(now);
            let answered = now + 0.001;
            if ok {
                c.answered(at);
                done += 1;
            } else {
                refused += 1;
                jitter = (jitter * 7.3).fract();
                let pause = c.limited(at, retry_after, None, t0 + s(answered), jitter);
                paused_until = paused_until.max(answered + pause.as_secs_f64());
            }
            now = answered;
        }
        (done as f64 / now / limit, refused as f64 / sent as f64)
    }

    fn bucket(
        rate: f64,
        burst: f64,
        retry_after: bool,
    ) -> impl FnMut(f64) -> (bool, Option<Duration>) {
        let interval = 1.0 / rate;
        let tolerance = (burst - 1.0) * interval;
        let mut tat = 0.0_f64;
        move |x| {
            if x >= tat - tolerance {
                tat = tat.max(x) + interval;
                (true, None)
            } else {
                let wait = tat - tolerance - x;
                (
                    false,
                    retry_after.then(|| Duration::from_secs(wait.ceil().max(1.0) as u64)),
                )
            }
        }
    }

    fn window(rate: f64, secs: f64) -> impl FnMut(f64) -> (bool, Option<Duration>) {
        let budget = (rate * secs) as u64;
        let (mut current, mut used) = (-1.0_f64, 0u64);
        move |x| {
            let w = (x / secs).floor();
            if w != current {
                current = w;
                used = 0;
            }
            if used < budget {
                used += 1;
                (true, None)
            } else {
                let rest = (w + 1.0) * secs - x;
                (
                    false,
                    Some(Duration::from_secs(rest.ceil().max(1.0) as u64)),
                )
            }
        }
    }

    /// Runs the controller against a gateway on a simulated clock (no waiting) as `iam import`
    /// drives it: up to `window` requests in flight, each reaching the gateway 0.2 to 2 ms after
    /// it is sent (so requests sent together may arrive in another order) and answered 0.2 to
    /// 1 ms after that. Returns (delivered per second / limit, share of requests refused).
    fn simulate_window(
        gateway: &mut dyn FnMut(f64) -> (bool, Option<Duration>),
        rows: usize,
        limit: f64,
        window: usize,
        seed: u64,
    ) -> (f64, f64) {
        let t0 = Instant::now();
        let mut c = Adaptive::new(t0);
        let mut random = seed | 1;
        let mut uniform = move |lo: f64, hi: f64| {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            lo + (hi - lo) * ((random >> 11) as f64 / (1u64 << 53) as f64)
        };
        // In flight: (sent, reaches the gateway, answered at, the gateway's answer once it
        // has reached it).
        type Heard = Option<(bool, Option<Duration>)>;
        let mut flight: Vec<(f64, f64, f64, Heard)> = Vec::new();
        let (mut now, mut last_sent, mut paused_until) = (0.0_f64, f64::MIN, 0.0_f64);
        let (mut done, mut refused, mut sent) = (0usize, 0usize, 0usize);
        // The last request's round trip once answered, and the shortest seen, as the pace
        // spaces by them.
        let (mut last_rtt, mut floor): (Option<f64>, Option<f64>) = (None, None);
        while done < rows && now < 3600.0 {
            let send_at = if flight.len() >= window || done + flight.len() >= rows {
                f64::INFINITY
            } else {
                let mut at = now.max(paused_until);
                if let Some(rate) = c.rate(t0 + s(at)) {
                    let due = spaced(
                        t0 + s(last_sent.max(0.0) + 1.0 / rate),
                        s(1.0 / rate),
                        t0 + s(last_sent.max(0.0)),
                        last_rtt.map_or(LastAnswer::Awaited, |r| LastAnswer::After(s(r))),
                        floor.filter(|_| c.spaces_by_answers()).map(s),
                        c.slack(rate),
                        t0 + s(at),
                    );
                    at = at.max(due.duration_since(t0).as_secs_f64());
                }
                at
            };
            let arrive = flight
                .iter()
                .enumerate()
                .filter(|(_, f)| f.3.is_none())
                .min_by(|a, b| a.1.1.total_cmp(&b.1.1));
            let answer = flight
                .iter()
                .enumerate()
                .filter(|(_, f)| f.3.is_some())
                .min_by(|a, b| a.1.2.total_cmp(&b.1.2));
            let arrive_at = arrive.map_or(f64::INFINITY, |(_, f)| f.1);
            let answer_at = answer.map_or(f64::INFINITY, |(_, f)| f.2);
            if arrive_at <= send_at && arrive_at <= answer_at {
                let i = arrive.unwrap().0;
                now = arrive_at;
                flight[i].3 = Some(gateway(now));
            } else if answer_at <= send_at {
                let i = answer.unwrap().0;
                now = answer_at;
                let (sent_at, _, _, heard) = flight.swap_remove(i);
                let (ok, retry_after) = heard.unwrap();
                let rtt = now - sent_at;
                floor = Some(floor.map_or(rtt, |f: f64| f.min(rtt)));
                if sent_at == last_sent {
                    last_rtt = Some(rtt);
                }
                if ok {
                    c.answered(t0 + s(sent_at));
                    done += 1;
                } else {
                    refused += 1;
                    let jitter = uniform(0.0, 1.0);
                    let pause = c.limited(t0 + s(sent_at), retry_after, None, t0 + s(now), jitter);
                    paused_until = paused_until.max(now + pause.as_secs_f64());
                }
            } else {
                now = send_at;
                last_sent = now;
                last_rtt = None;
                c.sent(t0 + s(now));
                sent += 1;
                let reaches = now + uniform(0.0002, 0.002);
                flight.push((now, reaches, reaches + uniform(0.0002, 0.001), None));
            }
        }
        (done as f64 / now / limit, refused as f64 / sent as f64)
    }

    /// The table of [`simulate_window`] over every shape: `cargo test -p iam-cli --lib
    /// shapes_table -- --nocapture` prints it; the assertions are the bar.
    #[test]
    fn shapes_table_with_a_window_of_8_and_jitter() {
        let mut failures = Vec::new();
        for limit in [5.0_f64, 20.0, 100.0] {
            let rows = (40.0 * limit).max(300.0) as usize;
            let shapes = |limit: f64| -> Vec<(&str, Box<Gateway>)> {
                vec![
                    ("bucket, burst = rate", Box::new(bucket(limit, limit, true))),
                    ("bucket, burst 2", Box::new(bucket(limit, 2.0, true))),
                    ("bucket, burst 1", Box::new(bucket(limit, 1.0, true))),
                    (
                        "bucket, burst 2, no Retry-After",
                        Box::new(bucket(limit, 2.0, false)),
                    ),
                    ("fixed 10 s windows", Box::new(window(limit, 10.0))),
                ]
            };
            for seed in [7, 1234] {
                for (what, mut gateway) in shapes(limit) {
                    let (share, refused) = simulate_window(&mut *gateway, rows, limit, 8, seed);
                    println!(
                        "{what:35} R {limit:5}: {share:.3} of the limit, {:.1}% refused (seed {seed})",
                        100.0 * refused
                    );
                    // A burst of 1 refuses a request that arrives 1.8 ms early; spacing by the
                    // answers' round trips avoids that, at the cost of this model's uniform
                    // 0 to 2.6 ms spread of round trips (0.65 without it; a known gap).
                    // A burst of 2 at 20/s: this model's first ramp bounds the rate to 18.7 to
                    // 20.4; held at the lower bound, that was 0.887 over 12 seeds; at the
                    // bounds' middle, 0.923.
                    let bar = match what {
                        "bucket, burst 1" => 0.75,
                        _ => 0.90,
                    };
                    if !(bar..=1.25).contains(&share) || refused >= 0.05 {
                        failures.push(format!(
                            "{what} at {limit}/s: {share:.2}, {:.1}%",
                            100.0 * refused
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn no_rate_of_a_small_burst_gets_the_ramp_stuck() {
        // Every rate from 1/s to 120/s, bursts 1 and 2: the 429s once left the ramp at a rate
        // just above a burst-1 bucket's (each 1 s pause let one request through, then ramped on
        // from the rate refused), until its doubling time overflowed (a panic at 5/s).
        let mut failures = Vec::new();
        for r in 1..=120 {
            let limit = f64::from(r);
            for burst in [1.0, 2.0] {
                for seed in [3, 99] {
                    let rows = (40.0 * limit).max(300.0) as usize;
                    let mut gateway = bucket(limit, burst, true);
                    let (share, refused) = simulate_window(&mut gateway, rows, limit, 8, seed);
                    if share < 0.65 || refused >= 0.05 {
                        failures.push(format!(
                            "burst {burst} at {limit}/s (seed {seed}): {share:.2}, {:.1}%",
                            100.0 * refused
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn finds_and_holds_every_shape_of_limit_on_a_simulated_clock() {
        // (what, gateway, limit, rows) -> at least this share of the limit, at most this share
        // refused. One request in flight; a 60 s run at the limit.
        for limit in [5.0, 20.0, 100.0] {
            let rows = (60.0 * limit) as usize;
            let shapes: Vec<(&str, Box<Gateway>)> = vec![
                ("bucket, burst = rate", Box::new(bucket(limit, limit, true))),
                ("bucket, burst 2", Box::new(bucket(limit, 2.0, true))),
                ("bucket, burst 1", Box::new(bucket(limit, 1.0, true))),
                (
                    "bucket, burst 2, no Retry-After",
                    Box::new(bucket(limit, 2.0, false)),
                ),
                ("fixed 10 s windows", Box::new(window(limit, 10.0))),
            ];
            for (what, mut gateway) in shapes {
                let (share, refused) = simulate(&mut *gateway, rows, limit);
                assert!(
                    (0.85..=1.25).contains(&share),
                    "{what} at {limit}/s: {share:.2} of the limit"
                );
                assert!(
                    refused < 0.05,
                    "{what} at {limit}/s: {:.1}% refused",
                    100.0 * refused
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any sequence of answers, refusals, pauses and published limits: no panic, and the
        /// pace, the pause and the spacing stay finite and in range. (Random answers seldom
        /// repeat one pattern 60 times; the stuck ramp that once overflowed a `Duration` is
        /// [`no_rate_of_a_small_burst_gets_the_ramp_stuck`]'s.)
        #[test]
        fn any_answers_keep_the_pace_in_range(
            steps in proptest::collection::vec(
                (
                    0u32..2_000_000,
                    0u32..3_000_000,
                    proptest::option::weighted(
                        0.4,
                        (
                            proptest::option::of(0u32..400_000),
                            proptest::option::of(1e-3f64..1e6),
                        ),
                    ),
                ),
                1..300,
            )
        ) {
            let t0 = Instant::now();
            let mut c = Adaptive::new(t0);
            let mut now = t0;
            for (i, (gap, took, refused)) in steps.into_iter().enumerate() {
                let sent = now + Duration::from_micros(u64::from(gap));
                c.sent(sent);
                let heard = sent + Duration::from_micros(u64::from(took));
                match refused {
                    None => c.answered(sent),
                    Some((retry_after, published)) => {
                        let wait = retry_after.map(|ms| Duration::from_millis(u64::from(ms)));
                        let jitter = (i as f64 * 0.618).fract();
                        let pause = c.limited(sent, wait, published, heard, jitter);
                        proptest::prop_assert!(pause <= MAX_PAUSE);
                    }
                }
                let rtt = heard - sent;
                now = heard;
                if let Some(rate) = c.rate(now) {
                    proptest::prop_assert!(
                        rate.is_finite() && (MIN_RATE..=100_000.0).contains(&rate),
                        "{rate}"
                    );
                    let interval = Duration::from_secs_f64(1.0 / rate);
                    let floor = Some(rtt / 2);
                    let slack = c.slack(rate);
                    let answer = LastAnswer::After(rtt);
                    let due = spaced(sent + interval, interval, sent, answer, floor, slack, now);
                    proptest::prop_assert!(due >= sent + interval && due <= sent + interval * 2);
                }
            }
        }
    }
}
