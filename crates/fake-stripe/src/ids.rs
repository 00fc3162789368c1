//! Object ids and clocks, as Stripe makes them: a readable prefix (`pi_`, `ch_`, …)
//! and 24 random alphanumerics; times are Unix seconds.

use rand::Rng;
use rand::distr::Alphanumeric;
use std::time::{SystemTime, UNIX_EPOCH};

/// Random characters after the prefix (Stripe's ids carry 24).
const ID_RANDOM_CHARS: usize = 24;

/// A fresh id such as `pi_3KmnTJLueXt1u2td0dWi1igs`.
pub(crate) fn new_id(prefix: &str) -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(ID_RANDOM_CHARS)
        .map(char::from)
        .collect();
    format!("{prefix}_{random}")
}

/// Now, in Unix seconds (0 if the clock is before 1970, which it is not).
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_prefix_and_differ() {
        let a = new_id("pi");
        let b = new_id("pi");
        assert!(a.starts_with("pi_"));
        assert_eq!(a.len(), 3 + ID_RANDOM_CHARS);
        assert_ne!(a, b);
    }
}

/// The (year, month) of a Unix time, UTC (for card expiry checks).
pub(crate) fn year_month(unix_s: i64) -> (i64, i64) {
    // Howard Hinnant's days-to-civil algorithm.
    let z = unix_s.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

#[cfg(test)]
mod calendar_tests {
    use super::year_month;

    #[test]
    fn unix_times_map_to_their_month() {
        assert_eq!(year_month(0), (1970, 1));
        assert_eq!(year_month(951_782_400), (2000, 2)); // 2000-02-29
        assert_eq!(year_month(1_767_225_599), (2025, 12)); // 2025-12-31 23:59:59
        assert_eq!(year_month(1_767_225_600), (2026, 1));
    }
}
