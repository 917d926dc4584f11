//! Dates as the vendors write them, without a date crate: the simulator only needs "now" and
//! "now + lifetime" in two forms.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `2018-05-29T19:12:54.000+0000`: the form of Entrust's sample answer.
pub(crate) fn entrust(at: SystemTime) -> String {
    let (date, time, millis) = civil(at);
    format!("{date}T{time}.{millis:03}+0000")
}

/// Now, in Entrust's form.
pub(crate) fn entrust_now() -> String {
    entrust(SystemTime::now())
}

/// `2018-05-29T19:12:54Z` (RFC 3339), now.
pub(crate) fn rfc3339_now() -> String {
    let (date, time, _) = civil(SystemTime::now());
    format!("{date}T{time}Z")
}

/// Now plus `lifetime`, in Entrust's form.
pub(crate) fn entrust_in(lifetime: Duration) -> String {
    entrust(SystemTime::now() + lifetime)
}

/// (`YYYY-MM-DD`, `HH:MM:SS`, milliseconds) in UTC.
fn civil(at: SystemTime) -> (String, String, u32) {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem / 60 % 60, rem % 60),
        since.subsec_millis(),
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 -> (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // (seconds since the epoch, Entrust's form); the first is the seed sample's loadDate.
        let table = [
            (1_527_621_174, "2018-05-29T19:12:54.000+0000"),
            (0, "1970-01-01T00:00:00.000+0000"),
            (951_782_400, "2000-02-29T00:00:00.000+0000"),
            (4_102_444_799, "2099-12-31T23:59:59.000+0000"),
        ];
        for (secs, expected) in table {
            assert_eq!(entrust(UNIX_EPOCH + Duration::from_secs(secs)), expected);
        }
    }
}
