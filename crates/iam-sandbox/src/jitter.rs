//! Arrival jitter: a delay between the client and the gateway's rate limit, as a real network
//! adds one, different for each request (so requests sent in order may arrive out of it). A
//! client that spaces its requests evenly sees them arrive unevenly, which a token bucket with
//! a small burst refuses. Deterministic: the delays follow a fixed sequence (splitmix64 of a
//! counter), so a run can be repeated.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Delays drawn evenly from `min..=max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrivalJitter {
    /// The shortest delay.
    pub min: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl ArrivalJitter {
    /// `MIN-MAX` in milliseconds (`1-5`, `0.5-2`), as `--arrival-jitter` takes it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("`{text}`: expected MIN-MAX in milliseconds, e.g. 1-5");
        let (min, max) = text.split_once('-').ok_or_else(bad)?;
        let ms = |v: &str| -> Result<Duration, String> {
            let v: f64 = v.trim().parse().map_err(|_| bad())?;
            if !(0.0..=10_000.0).contains(&v) {
                return Err(format!("`{text}`: {v} ms is outside 0 to 10000"));
            }
            Ok(Duration::from_secs_f64(v / 1000.0))
        };
        let (min, max) = (ms(min)?, ms(max)?);
        if min > max {
            return Err(format!("`{text}`: MIN is above MAX"));
        }
        Ok(Self { min, max })
    }

    /// The `n`-th delay of the sequence.
    pub fn delay(&self, n: u64) -> Duration {
        let unit = (splitmix64(n) >> 11) as f64 / (1u64 << 53) as f64;
        self.min + (self.max - self.min).mul_f64(unit)
    }
}

/// The delays of one simulator, in turn.
#[derive(Debug, Default)]
pub(crate) struct Delays {
    jitter: Option<ArrivalJitter>,
    next: AtomicU64,
}

impl Delays {
    pub(crate) fn new(jitter: Option<ArrivalJitter>) -> Self {
        Self {
            jitter,
            next: AtomicU64::new(0),
        }
    }

    /// Waits for the next request's delay (none without jitter). A thread's sleep, not the
    /// runtime's timer, whose millisecond ticks would round every delay up.
    pub(crate) async fn wait(&self) {
        let Some(jitter) = self.jitter else {
            return;
        };
        let delay = jitter.delay(self.next.fetch_add(1, Ordering::Relaxed));
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(delay)).await;
    }
}

fn splitmix64(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_max_in_milliseconds() {
        let ms = Duration::from_millis;
        let cases = [
            ("1-5", Ok((ms(1), ms(5)))),
            ("0.5-2", Ok((Duration::from_micros(500), ms(2)))),
            ("3-3", Ok((ms(3), ms(3)))),
            ("5-1", Err("MIN is above MAX")),
            ("5", Err("expected MIN-MAX")),
            ("a-b", Err("expected MIN-MAX")),
            ("1-20000", Err("outside 0 to 10000")),
        ];
        for (text, expected) in cases {
            match (ArrivalJitter::parse(text), expected) {
                (Ok(j), Ok((min, max))) => assert_eq!((j.min, j.max), (min, max), "{text}"),
                (Err(e), Err(part)) => assert!(e.contains(part), "{text}: {e}"),
                (got, _) => panic!("{text}: {got:?}"),
            }
        }
    }

    #[test]
    fn delays_spread_over_the_whole_range_and_repeat_from_run_to_run() {
        let j = ArrivalJitter::parse("1-5").unwrap();
        let delays: Vec<f64> = (0..10_000)
            .map(|n| j.delay(n).as_secs_f64() * 1e3)
            .collect();
        assert!(delays.iter().all(|d| (1.0..=5.0).contains(d)));
        // Evenly: each millisecond of the range holds about a quarter of them.
        for lo in 1..5 {
            let share = delays
                .iter()
                .filter(|d| (f64::from(lo)..f64::from(lo + 1)).contains(*d))
                .count() as f64
                / 1e4;
            assert!((0.23..0.27).contains(&share), "{lo} ms: {share}");
        }
        // Consecutive requests are delayed differently (they arrive out of order at times).
        let overtaken = delays.windows(2).filter(|w| w[0] > w[1] + 1.0).count();
        assert!(overtaken > 2_000, "{overtaken}");
        assert_eq!(j.delay(7), ArrivalJitter::parse("1-5").unwrap().delay(7));
    }
}
