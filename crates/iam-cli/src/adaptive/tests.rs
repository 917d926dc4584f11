use super::*;

use std::sync::mpsc;

use crate::pace::late_by;

fn s(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

#[test]
fn what_a_429_teaches() {
    let (one, ten) = (s(1.0), s(10.0));
    let (hold, ramp) = (Next::Hold, Next::Ramp);
    let mid = |lo: f64, hi: f64| (lo * hi).sqrt();
    // (published, bounds, burst, current rate, (delivered, refilled) over 10 s, pause, ramping)
    // -> next
    #[rustfmt::skip]
    let cases = [
        // A published limit is believed.
        (Some(20.0), Some((5.0, 50.0)), 2.0, 25.0, (12.0, 12.0), one, false, hold(20.0)),
        (Some(0.1), None, 2.0, 25.0, (12.0, 12.0), ten, false, hold(MIN_RATE)),
        (Some(7.0), None, 2.0, 25.0, (12.0, 12.0), one, true, hold(7.0)),
        // Within 15%: the geometric middle against a burst of 2 or more (the gateway's rate is
        // under the upper bound), the lower bound against 1, however close.
        (None, Some((19.8, 20.2)), 2.0, 25.0, (12.0, 12.0), one, false, hold(mid(19.8, 20.2))),
        (None, Some((19.8, 20.2)), 1.0, 25.0, (12.0, 12.0), one, true, hold(19.8)),
        (None, Some((18.0, 20.0)), 2.0, 19.0, (12.0, 12.0), one, false, hold(mid(18.0, 20.0))),
        (None, Some((18.0, 20.0)), 1.0, 19.0, (12.0, 12.0), one, false, hold(18.0)),
        (None, Some((89.8, 101.0)), 1.0, 95.0, (60.0, 59.0), one, false, hold(89.8)),
        // A slow gateway: bounds within the slowest ramp's step (28% at 1/s) are close.
        (None, Some((1.0, 1.25)), 2.0, 1.2, (0.8, 0.8), one, false, hold(1.0)),
        (None, Some((1.0, 1.4)), 2.0, 1.2, (0.8, 0.8), one, false, ramp(1.0)),
        // What the bucket refilled is a floor; its burst is not (after a burst of 100 at
        // 100/s, 1.8 s delivered 276, 153/s, of which the bucket refilled 98/s).
        (None, Some((9.0, 10.0)), 2.0, 25.0, (12.0, 12.0), one, false, hold(12.0)),
        (None, Some((99.5, 100.5)), 2.0, 150.0, (153.0, 98.0), one, false, hold(mid(99.5, 100.5))),
        (None, Some((80.0, 100.0)), 2.0, 150.0, (153.0, 98.0), one, false, ramp(90.0)),
        // Too coarse: ramp again from the lower bound or what was refilled, under the rate
        // refused.
        (None, Some((5.0, 10.0)), 2.0, 12.0, (3.0, 3.0), one, false, ramp(5.0)),
        (None, Some((5.0, 10.0)), 2.0, 12.0, (7.0, 7.0), one, false, ramp(7.0)),
        (None, Some((5.0, 10.0)), 2.0, 12.0, (9.5, 9.5), one, true, ramp(9.0)),
        // Only an upper bound: ramping, again from half of it; holding, 5% under the rate.
        (None, Some((0.0, 5.77)), 2.0, 5.77, (5.5, 5.5), one, true, ramp(0.5 * 5.77)),
        (None, Some((0.0, 5.77)), 2.0, 5.77, (0.85, 0.85), one, false, hold(0.95 * 5.77)),
        // Nothing to replay: ramping, ramp on; holding, 95% of the rate or what was refilled.
        (None, None, 2.0, 20.0, (3.0, 3.0), one, true, ramp(20.0)),
        (None, None, 2.0, 20.0, (3.0, 3.0), one, false, hold(19.0)),
        (None, None, 2.0, 20.0, (19.5, 19.5), one, false, hold(19.5)),
        // A window's long Retry-After: what it delivered is the rate.
        (None, Some((0.1, 0.1)), 2.0, 998.0, (100.0, 100.0), ten, false, hold(100.0)),
        (None, Some((0.1, 0.1)), 2.0, 150.0, (10.0, 0.0), ten, false, hold(10.0)),
        (None, None, 2.0, 0.1, (0.0, 0.0), ten, false, hold(MIN_RATE)),
    ];
    for (i, (published, bounds, burst, current, delivered, pause, ramping, expected)) in
        cases.into_iter().enumerate()
    {
        let next = decide(published, bounds, burst, current, delivered, pause, ramping);
        let ((Next::Hold(a), Next::Hold(b)) | (Next::Ramp(a), Next::Ramp(b))) = (next, expected)
        else {
            panic!("case {i}: {next:?}, not {expected:?}");
        };
        assert!((a - b).abs() < 1e-9, "case {i}: {next:?}, not {expected:?}");
    }
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
        (None, Some(0.0), MAX_DOUBLING),
    ];
    for (ramping, hi, expected) in cases {
        let next = next_doubling(ramping, hi);
        assert!(
            next.abs_diff(expected) < ms(1),
            "{ramping:?} {hi:?}: {next:?}"
        );
    }
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

#[test]
fn the_backoff_doubles_from_50_ms_with_half_of_it_random() {
    let ms = Duration::from_millis;
    // (429s in a row, jitter) -> pause
    let cases = [
        (1, 0.0, ms(25)),
        (1, 0.999_999, ms(50)),
        (2, 0.0, ms(50)),
        (3, 0.5, ms(150)),
        (7, 0.0, ms(1600)),
        (40, 0.0, ms(1600)),
        (2, 7.0, ms(100)),
    ];
    for (streak, jitter, expected) in cases {
        let pause = backoff(streak, jitter);
        assert!(
            pause.abs_diff(expected) < ms(1),
            "{streak} {jitter}: {pause:?}"
        );
    }
}

/// A GCRA bucket (the simulator's and governor's), for the tests.
fn gateway(rate: f64, burst: f64, from: Instant, at: &[f64]) -> Vec<(Instant, bool)> {
    let mut bucket = bucket(rate, burst, true);
    at.iter().map(|&x| (from + s(x), bucket(x).0)).collect()
}

#[test]
fn the_replay_bounds_the_gateway_s_rate() {
    let t0 = Instant::now();
    // A ramp doubling every 0.5 s from 1/s into a 20/s bucket of burst 2.
    let mut at = Vec::new();
    let mut x = 0.0_f64;
    while x < 10.0 {
        at.push(x);
        x += 1.0 / 2f64.powf(x / 0.5);
    }
    let answered = gateway(20.0, 2.0, t0, &at);
    let first_refused = answered.iter().position(|&(_, ok)| !ok).unwrap();
    let (lo, hi) = replay_bounds(2.0, t0, &answered[..=first_refused]).unwrap();
    assert!(lo <= 20.0 + 1e-6 && hi >= 20.0 - 1e-6, "{lo}..{hi}");
    assert!(hi / lo < 1.15, "close: {lo}..{hi}");
    // Nothing refused, or nothing admitted: no bounds; one admitted: no lower bound.
    assert_eq!(replay_bounds(2.0, t0, &answered[..first_refused]), None);
    assert_eq!(replay_bounds(2.0, t0, &[(t0, false)]), None);
    let one = replay_bounds(1.0, t0, &[(t0, true), (t0 + s(0.1), false)]).unwrap();
    assert_eq!(one.0, 0.0);
    assert!((one.1 - 10.0).abs() < 1e-6, "{one:?}");
}

/// The first window at `t0`: 8 requests sent at once, the first `admitted` answered, the rest
/// refused at 2 ms with `Retry-After: 1`.
fn first_window(c: &mut Adaptive, t0: Instant, admitted: u32) {
    let at = |i: u32| t0 + s(0.0001 * f64::from(i));
    for i in 0..8 {
        c.sent(at(i));
    }
    for i in 0..8 {
        if i < admitted {
            c.answered(at(i));
        } else {
            c.limited(at(i), Some(s(1.0)), None, t0 + s(0.002), 0.5);
        }
    }
}

#[test]
fn the_burst_is_what_the_first_window_let_through_and_a_burst_of_1_gets_slack() {
    // 8 requests at once into a burst-1 bucket: one admitted, seven refused; after the pause
    // one admitted, then one refused: the second decision counts the first window's burst.
    let t0 = Instant::now();
    let mut c = Adaptive::new(t0);
    first_window(&mut c, t0, 1);
    assert_eq!(c.burst, None, "counted at the next decision");
    let resumed = t0 + s(1.002);
    c.sent(resumed);
    c.answered(resumed);
    c.sent(resumed + s(0.2));
    c.limited(
        resumed + s(0.2),
        Some(s(1.0)),
        None,
        resumed + s(0.201),
        0.5,
    );
    assert_eq!(c.burst, Some(1.0));
    c.hold(100.0, t0, s(1.0));
    let Mode::Hold { plateau, .. } = c.mode else {
        panic!("{:?}", c.mode)
    };
    assert!(
        (1.0 / plateau - 0.0102).abs() < 1e-9,
        "{plateau}: 10 ms + 200 µs"
    );
    // A burst of 2 gets none.
    c.burst = Some(2.0);
    c.hold(100.0, t0, s(1.0));
    assert_eq!(
        c.mode,
        Mode::Hold {
            plateau: 100.0,
            start: t0,
            k: 30.0 * 2.5
        }
    );
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
fn a_lone_refusal_right_after_a_pause_does_not_become_the_limit() {
    // A provider answering a few 503s with Retry-After: 1 (a fault, not a rate limit): the
    // first window, 3 of 8 refused; then the first request after the pause is refused too.
    // Nothing bounds a rate there, so the ramp goes on (it once held at 0.5/s).
    let t0 = Instant::now();
    let mut c = Adaptive::new(t0);
    first_window(&mut c, t0, 5);
    let after = t0 + s(1.003);
    c.sent(after);
    c.limited(after, Some(s(1.0)), None, after + s(0.001), 0.5);
    assert!(matches!(c.mode, Mode::Ramp { .. }), "{:?}", c.mode);
    let rate = c.rate(after + s(2.5)).unwrap();
    assert!(rate > 5.0, "the ramp goes on: {rate}/s");
}

/// A gateway as the simulation runs it: when a request arrives (s), admitted or refused with
/// its `Retry-After`.
type Gateway = Box<dyn FnMut(f64) -> (bool, Option<Duration>) + Send>;

fn bucket(rate: f64, burst: f64, retry_after: bool) -> impl FnMut(f64) -> (bool, Option<Duration>) {
    let interval = 1.0 / rate;
    let tolerance = (burst - 1.0) * interval;
    let mut tat = 0.0_f64;
    move |x| {
        if x >= tat - tolerance {
            tat = tat.max(x) + interval;
            return (true, None);
        }
        let wait = (tat - tolerance - x).ceil().max(1.0);
        (false, retry_after.then(|| Duration::from_secs(wait as u64)))
    }
}

fn window(rate: f64, secs: f64) -> impl FnMut(f64) -> (bool, Option<Duration>) {
    let budget = (rate * secs) as u64;
    let (mut current, mut used) = (-1.0_f64, 0u64);
    move |x| {
        let w = (x / secs).floor();
        if w != current {
            (current, used) = (w, 0);
        }
        if used < budget {
            used += 1;
            return (true, None);
        }
        let rest = ((w + 1.0) * secs - x).ceil().max(1.0);
        (false, Some(Duration::from_secs(rest as u64)))
    }
}

/// The five shapes of section 6 at `limit` requests/s.
fn shapes(limit: f64) -> Vec<(&'static str, Gateway)> {
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
}

/// How requests travel: seconds from leaving to reaching the gateway (uniform, so requests
/// sent close together may arrive in another order), and from there to the answer.
#[derive(Clone, Copy, Debug)]
struct Path {
    arrive: (f64, f64),
    answer: (f64, f64),
}

/// A local host: 0.1 to 0.4 ms to the gateway (the 150 to 330 µs spread measured).
const LOCAL: Path = Path {
    arrive: (0.0001, 0.0004),
    answer: (0.0002, 0.001),
};
/// `iam-sandbox --arrival-jitter 1-5`: 1 to 5 ms.
const JITTER: Path = Path {
    arrive: (0.001, 0.005),
    answer: (0.0002, 0.001),
};

/// Runs the controller against `gateway` on a simulated clock (no waiting), as `iam import`
/// drives it through the pace: up to `window` requests in flight, spaced one at a time by the
/// rate of the moment and never caught up (and against a burst of 1, later after a slow answer:
/// `pace::late_by`), over `path`. The gateway runs on a thread of its
/// own and sees only when requests arrive. Returns (delivered per second / limit, the share of
/// requests refused).
fn simulate(
    gateway: Gateway,
    rows: usize,
    limit: f64,
    window: usize,
    path: Path,
    seed: u64,
) -> (f64, f64) {
    let (to_gateway, arrivals) = mpsc::channel::<f64>();
    let (verdicts, from_gateway) = mpsc::channel();
    let server = std::thread::spawn(move || {
        let mut gateway = gateway;
        for at in arrivals {
            if verdicts.send(gateway(at)).is_err() {
                break;
            }
        }
    });
    let t0 = Instant::now();
    let mut c = Adaptive::new(t0);
    let mut random = seed | 1;
    let mut uniform = move |(lo, hi): (f64, f64)| {
        random ^= random << 13;
        random ^= random >> 7;
        random ^= random << 17;
        lo + (hi - lo) * ((random >> 11) as f64 / (1u64 << 53) as f64)
    };
    // In flight: (sent, reaches the gateway, answered at, the gateway's verdict once there).
    type Verdict = Option<(bool, Option<Duration>)>;
    let mut flight: Vec<(f64, f64, f64, Verdict)> = Vec::new();
    let (mut now, mut last_sent, mut paused_until) = (0.0_f64, f64::MIN, 0.0_f64);
    let (mut done, mut refused, mut sent) = (0usize, 0usize, 0usize);
    // The last request's round trip once answered, and the last 64, as the pace keeps them.
    let (mut last_rtt, mut rtts): (Option<f64>, VecDeque<f64>) = (None, VecDeque::new());
    let secs = |at: Instant| at.duration_since(t0).as_secs_f64();
    while done < rows && now < 3600.0 {
        let send_at = if flight.len() >= window || done + flight.len() >= rows {
            f64::INFINITY
        } else {
            let at = now.max(paused_until);
            match c.rate(t0 + s(at)) {
                Some(rate) if last_sent >= 0.0 => {
                    let (interval, next) = (1.0 / rate, last_sent + 1.0 / rate);
                    let floor = rtts.iter().copied().reduce(f64::min);
                    match floor.filter(|f| c.burst_of_1() && *f < interval / 2.0) {
                        Some(floor) => at.max(secs(late_by(
                            t0 + s(next),
                            s(interval),
                            s(floor),
                            last_rtt.map(s),
                            t0 + s(at),
                        ))),
                        None => at.max(next),
                    }
                }
                _ => at,
            }
        };
        let next = |heard: bool, time: fn(&(f64, f64, f64, _)) -> f64| {
            (flight.iter().enumerate())
                .filter(|(_, f)| f.3.is_some() == heard)
                .map(|(i, f)| (time(f), i))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .unwrap_or((f64::INFINITY, 0))
        };
        let (arrive_at, arriving) = next(false, |f| f.1);
        let (answer_at, answered) = next(true, |f| f.2);
        if arrive_at <= send_at && arrive_at <= answer_at {
            now = arrive_at;
            to_gateway.send(now).expect("the gateway runs");
            flight[arriving].3 = Some(from_gateway.recv().expect("the gateway answers"));
        } else if answer_at <= send_at {
            now = answer_at;
            let (sent_at, _, _, verdict) = flight.swap_remove(answered);
            if sent_at == last_sent {
                last_rtt = Some(now - sent_at);
            }
            if rtts.len() == 64 {
                rtts.pop_front();
            }
            rtts.push_back(now - sent_at);
            match verdict.expect("arrived") {
                (true, _) => {
                    c.answered(t0 + s(sent_at));
                    done += 1;
                }
                (false, retry_after) => {
                    refused += 1;
                    let jitter = uniform((0.0, 1.0));
                    let pause = c.limited(t0 + s(sent_at), retry_after, None, t0 + s(now), jitter);
                    if std::env::var_os("IAM_SIM_TRACE").is_some() {
                        eprintln!(
                            "{now:.3} refused (sent {sent_at:.3}) pause {pause:?} -> {:?} margin {} limit {:?}",
                            c.mode, c.margin, c.limit
                        );
                    }
                    paused_until = paused_until.max(now + pause.as_secs_f64());
                }
            }
        } else {
            now = send_at;
            last_sent = now;
            last_rtt = None;
            c.sent(t0 + s(now));
            sent += 1;
            let reaches = now + uniform(path.arrive);
            flight.push((now, reaches, reaches + uniform(path.answer), None));
        }
    }
    drop(to_gateway);
    server.join().expect("the gateway thread");
    (done as f64 / now / limit, refused as f64 / sent as f64)
}

/// The best a client can do against a burst of 1 over `path` at `limit`: requests spaced the
/// gateway's interval plus the widest spread of arrival delays, else one arriving late makes the
/// next, on time, look early. 0.71 of 100/s with 1 to 5 ms.
fn burst1_ceiling(limit: f64, path: Path) -> f64 {
    1.0 / (1.0 + limit * (path.arrive.1 - path.arrive.0))
}

/// Every shape of section 6 at 5, 20 and 100/s, 8 in flight, on a local path and with 1 to 5 ms
/// of arrival jitter: `cargo test -p iam-cli --lib shapes -- --nocapture` prints the table.
/// The bar is issue 29's (0.90 of the limit, under 5% refused), but against a burst of 1: 0.85 of
/// [`burst1_ceiling`], which no client spacing by send times alone beats with 1-5 ms of jitter
/// (a known gap on the local path too: 0.87 at 100/s here, 0.89 in section 6, where discovering
/// the limit costs 3 s of a 40 s run).
#[test]
fn every_shape_at_every_rate_with_and_without_jitter() {
    let mut failures = Vec::new();
    for (name, path) in [("local", LOCAL), ("1-5 ms", JITTER)] {
        for limit in [5.0_f64, 20.0, 100.0] {
            let rows = (40.0 * limit).max(300.0) as usize;
            for seed in [7, 1234] {
                for (what, gateway) in shapes(limit) {
                    let (share, refused) = simulate(gateway, rows, limit, 8, path, seed);
                    println!(
                        "{name:6} {what:32} R {limit:5}: {share:.3}, {:.1}% refused (seed {seed})",
                        100.0 * refused
                    );
                    let bar = match what {
                        "bucket, burst 1" => 0.90_f64.min(0.85 * burst1_ceiling(limit, path)),
                        _ => 0.90,
                    };
                    if !(bar..=1.25).contains(&share) || refused >= 0.05 {
                        failures.push(format!(
                            "{name} {what} at {limit}/s: {share:.3}, {:.1}%",
                            100.0 * refused
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn no_rate_of_a_small_burst_gets_the_ramp_stuck() {
    // Every rate from 1/s to 120/s, bursts 1 and 2: the 429s once left the ramp at a rate just
    // above a burst-1 bucket's (each 1 s pause let one request through, then it ramped on from
    // the rate refused), until its doubling time overflowed (a panic at 5/s).
    let mut failures = Vec::new();
    let only: Option<u32> = std::env::var("IAM_SIM_RATE")
        .ok()
        .and_then(|r| r.parse().ok());
    for r in (1..=120).filter(|r| only.is_none_or(|o| o == *r)) {
        let limit = f64::from(r);
        for burst in [1.0, 2.0] {
            let rows = (40.0 * limit).max(300.0) as usize;
            let gateway = Box::new(bucket(limit, burst, true));
            let (share, refused) = simulate(gateway, rows, limit, 8, LOCAL, r as u64);
            if share < 0.80 || refused >= 0.05 {
                failures.push(format!(
                    "burst {burst} at {limit}/s: {share:.2}, {:.1}%",
                    100.0 * refused
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any sequence of answers, refusals, pauses and published limits: the pause is the
    /// `Retry-After` asked for (300 s at most), else a backoff of 3.2 s at most or the rest of
    /// the episode's pause; a 429 of an episode already decided changes nothing but when the
    /// pace starts again; a published limit is held under; the rate stays finite and in range.
    #[test]
    fn any_answers_keep_the_pace_in_range(
        steps in proptest::collection::vec(
            (
                0u32..2_000_000,
                0u32..3_000_000,
                proptest::option::weighted(
                    0.4,
                    (proptest::option::of(0u32..400_000), proptest::option::of(1e-3f64..1e6)),
                ),
            ),
            1..300,
        )
    ) {
        let t0 = Instant::now();
        let mut c = Adaptive::new(t0);
        let mut now = t0;
        let mut longest = Duration::ZERO;
        for (i, (gap, took, refused)) in steps.into_iter().enumerate() {
            let sent = now + Duration::from_micros(u64::from(gap));
            c.sent(sent);
            let heard = sent + Duration::from_micros(u64::from(took));
            now = heard;
            let Some((retry_after, published)) = refused else {
                c.answered(sent);
                continue;
            };
            let wait = retry_after.map(|ms| Duration::from_millis(u64::from(ms)));
            let same_episode = c.decided_at.is_some_and(|at| sent < at);
            let before = c.mode;
            let pause = c.limited(sent, wait, published, heard, (i as f64 * 0.618).fract());
            match wait {
                Some(wait) => proptest::prop_assert_eq!(pause, wait.min(MAX_PAUSE)),
                None if same_episode => proptest::prop_assert!(pause <= longest.max(s(3.2))),
                None => proptest::prop_assert!(pause >= s(0.025) && pause <= s(3.2), "{pause:?}"),
            }
            longest = longest.max(pause);
            let rate = c.rate(heard + pause).expect("limited");
            proptest::prop_assert!(rate.is_finite() && (MIN_RATE..=MAX_RATE).contains(&rate), "{rate}");
            if same_episode {
                let unchanged = match (before, c.mode) {
                    (Mode::Ramp { from: a, doubling: x, .. }, Mode::Ramp { from: b, doubling: y, .. }) => a == b && x == y,
                    (Mode::Hold { plateau: a, k: x, .. }, Mode::Hold { plateau: b, k: y, .. }) => a == b && x == y,
                    (a, b) => a == b,
                };
                proptest::prop_assert!(unchanged, "{before:?} became {:?}", c.mode);
            } else if let Some(limit) = published {
                proptest::prop_assert!(rate <= limit.max(MIN_RATE) + 1e-9, "{rate} over {limit}");
            }
        }
    }
}
