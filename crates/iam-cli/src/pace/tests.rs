use super::*;

fn state(
    adaptive: Option<Adaptive>,
    paused_until: Option<Instant>,
    last_sent: Option<Instant>,
) -> State {
    let now = Instant::now();
    State {
        adaptive,
        paused_until,
        last_sent,
        last_rtt: None,
        rtts: VecDeque::new(),
        recent: Meter::new(now),
        seed: 1,
    }
}

#[test]
fn the_next_request_waits_for_the_pause_then_an_interval_after_the_last_one() {
    let t = Instant::now();
    let ms = Duration::from_millis;
    let rate = NonZeroU32::new(50); // 20 ms
    // An adaptive pace holding at 100/s: its rate of the moment, 10 ms.
    let mut held = Adaptive::new(t);
    held.mode = crate::adaptive::Mode::Hold {
        plateau: 100.0 / 0.98, // the hold's start: 98% of its plateau
        start: t,
        k: 1e9,
    };
    #[rustfmt::skip]
    let cases = [
        // (--rate, adaptive, paused until, last sent, now) -> due (None: now)
        (rate, None, None, None, t, None),                             // the first request
        (rate, None, None, Some(t), t + ms(5), Some(t + ms(20))),
        (rate, None, None, Some(t), t + ms(20), None),
        (rate, None, None, Some(t), t + ms(35), None),                 // late: not caught up
        (rate, None, Some(t + ms(900)), Some(t), t + ms(30), Some(t + ms(900))),
        (rate, None, Some(t + ms(900)), Some(t), t + ms(901), None),
        (None, Some(Adaptive::new(t)), None, Some(t), t + ms(1), None), // no limit before a 429
        (None, Some(held.clone()), None, Some(t), t + ms(1), Some(t + ms(10))),
        (None, Some(held), Some(t + ms(500)), Some(t), t + ms(1), Some(t + ms(500))),
    ];
    for (i, (fixed, adaptive, paused, last, now, expected)) in cases.into_iter().enumerate() {
        let due = state(adaptive, paused, last).due(fixed, now);
        let close = match (due, expected) {
            (Some(a), Some(b)) => a.max(b) - a.min(b) < Duration::from_micros(1),
            (a, b) => a == b,
        };
        assert!(close, "case {i}: {due:?}, not {expected:?}");
    }
}

#[test]
fn against_a_burst_of_1_a_slow_answer_delays_the_next_request_as_much() {
    let t = Instant::now();
    let ms = |x: f64| Duration::from_secs_f64(x / 1000.0);
    let (next, interval, floor) = (t + ms(10.0), ms(10.0), ms(0.3));
    // (the last request's round trip, if answered; now) -> the next may leave (ms after t)
    #[rustfmt::skip]
    let cases = [
        (Some(ms(0.3)), ms(5.0), 10.0),  // as fast as ever: on time
        (Some(ms(0.7)), ms(5.0), 10.2),  // 0.4 ms slower, less the hold's 0.2 ms slack
        (Some(ms(4.5)), ms(5.0), 14.0),
        (Some(ms(13.7)), ms(5.0), 23.2), // a stall: the next waits it out
        (Some(ms(40.0)), ms(5.0), 30.0), // two intervals more at most
        (None, ms(5.0), 10.0),           // still out before it is due: due
        (None, ms(12.0), 13.0),          // still out past it: a millisecond at a time
        (None, ms(29.5), 30.0),
    ];
    for (i, (last, now, expected)) in cases.into_iter().enumerate() {
        let at = late_by(next, interval, floor, last, t + now);
        let got = at.duration_since(t).as_secs_f64() * 1000.0;
        assert!(
            (got - expected).abs() < 1e-6,
            "case {i}: {got} ms, not {expected}"
        );
    }
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
    let line = status.describe(true);
    assert!(line.contains("held back by the provider for 0."), "{line}");
    let before = Instant::now();
    let slot = pace.acquire().await.unwrap();
    assert!(
        before.elapsed() >= Duration::from_millis(200),
        "waited for the pause"
    );
    pace.answered(slot, Heard::Answer);
}

#[tokio::test]
async fn with_rate_two_requests_never_leave_closer_than_its_interval() {
    // At 50/s, 20 ms apart, even after an idle spell (a pause) in which a burst of 2 would have
    // let two leave at once and spent a strict gateway's spare token.
    let pace = Pace::new(4, NonZeroU32::new(50));
    let first = pace.acquire().await.unwrap();
    pace.answered(first, Heard::Answer);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let a = pace.acquire().await.unwrap();
    let b = pace.acquire().await.unwrap();
    let c = pace.acquire().await.unwrap();
    for (x, y) in [(&a, &b), (&b, &c)] {
        let apart = y.sent - x.sent;
        assert!(apart >= Duration::from_millis(20), "{apart:?} apart");
        assert!(apart < Duration::from_millis(30), "{apart:?} apart: late");
    }
    for slot in [a, b, c] {
        pace.answered(slot, Heard::Answer);
    }
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
