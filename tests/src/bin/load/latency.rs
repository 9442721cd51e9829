//! Latencies, counted in an HDR histogram, and their percentiles.

use std::sync::{Mutex, MutexGuard, PoisonError};

use hdrhistogram::Histogram;

use crate::MAX_DEADLINE_SECS;

/// The largest latency told apart, in microseconds: a message cannot take
/// longer than the longest run (the deadline, plus 4 s of clean-up), so one
/// more minute covers any latency a real run can see. Anything larger (a
/// garbled time stamp) counts as this.
const HIGHEST_MICROS: u64 = (MAX_DEADLINE_SECS + 60) * 1_000_000;

/// Significant decimal digits kept: every figure is within 0.1% of the
/// latency it stands for (exact below 2 ms), far finer than one run differs
/// from the next, in about 190 KB of counters whatever the number of
/// deliveries.
const SIGNIFICANT_DIGITS: u8 = 3;

/// Every latency of a run, in microseconds, shared by all clients.
///
/// A histogram counts values in buckets instead of keeping them, so its
/// memory stays the same for a hundred deliveries or a billion, and it needs
/// no sampling. One for the whole run, rather than one per client, because
/// ten thousand clients would need ten thousand of them.
#[derive(Debug)]
pub struct Latencies(Mutex<Histogram<u64>>);

impl Latencies {
    /// An empty histogram.
    pub fn new() -> Latencies {
        let histogram = Histogram::new_with_bounds(1, HIGHEST_MICROS, SIGNIFICANT_DIGITS)
            .expect("the bounds are constants: 1 <= highest, 3 significant digits");
        Latencies(Mutex::new(histogram))
    }

    /// Counts `latencies`: a client hands in a whole read's worth at once,
    /// so that clients take the lock once per read, not once per line.
    pub fn record(&self, latencies: &[u64]) {
        let mut histogram = self.histogram();
        for &micros in latencies {
            histogram.saturating_record(micros);
        }
    }

    fn histogram(&self) -> MutexGuard<'_, Histogram<u64>> {
        // Recording cannot panic, so a poisoned lock still holds sound counts.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The percentiles; `None` when nothing was recorded.
fn summarize(histogram: &Histogram<u64>) -> Option<Summary> {
    (!histogram.is_empty()).then(|| Summary {
        samples: histogram.len(),
        p50: histogram.value_at_quantile(0.5),
        p90: histogram.value_at_quantile(0.9),
        p99: histogram.value_at_quantile(0.99),
        p999: histogram.value_at_quantile(0.999),
        max: histogram.max(),
    })
}

/// Every latency of a run, kept apart by where the receiver is: on the
/// sender's server, or on another one, which the line reached through the
/// servers' shared backend (Redis). With one server, every line is local.
#[derive(Debug)]
pub struct ByServer {
    same: Latencies,
    other: Latencies,
}

impl ByServer {
    /// Empty histograms.
    pub fn new() -> ByServer {
        ByServer {
            same: Latencies::new(),
            other: Latencies::new(),
        }
    }

    /// Counts a read's latencies, to receivers on the sender's server
    /// (`same`) and on another (`other`).
    pub fn record(&self, same: &[u64], other: &[u64]) {
        for (histogram, latencies) in [(&self.same, same), (&self.other, other)] {
            if !latencies.is_empty() {
                histogram.record(latencies);
            }
        }
    }

    /// The percentiles of every latency, and of each kind apart.
    pub fn summary(&self) -> Spread {
        let same = self.same.histogram();
        let other = self.other.histogram();
        let mut all = same.clone();
        // Both histograms have the same bounds, so adding cannot overflow them.
        all.add(&*other)
            .expect("histograms with the same bounds add up");
        Spread {
            all: summarize(&all),
            same: summarize(&same),
            other: summarize(&other),
        }
    }
}

/// The latencies of a run: all of them, and apart by where the receiver was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spread {
    /// Every delivery.
    pub all: Option<Summary>,
    /// Deliveries to a member on the sender's server.
    pub same: Option<Summary>,
    /// Deliveries to a member on another server.
    pub other: Option<Summary>,
}

impl Spread {
    /// What crossing to another server adds to a line's latency, in
    /// microseconds: the median to a member on another server minus the
    /// median to one on the sender's server. Negative only through noise.
    pub fn hop_p50(&self) -> Option<i64> {
        let (same, other) = (self.same?, self.other?);
        Some(other.p50 as i64 - same.p50 as i64)
    }
}

/// The percentiles of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// How many latencies the figures come from: every delivery.
    pub samples: u64,
    /// Half the latencies are at most this.
    pub p50: u64,
    /// 90% of the latencies are at most this.
    pub p90: u64,
    /// 99% of the latencies are at most this.
    pub p99: u64,
    /// 99.9% of the latencies are at most this.
    pub p999: u64,
    /// The largest latency.
    pub max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summarize_all(latencies: &[u64]) -> Option<Summary> {
        let histogram = Latencies::new();
        histogram.record(latencies);
        summarize(&histogram.histogram())
    }

    #[test]
    fn percentiles_of_one_to_a_thousand() {
        let latencies: Vec<u64> = (1..=1000).rev().collect();
        assert_eq!(
            summarize_all(&latencies),
            Some(Summary {
                samples: 1000,
                p50: 500,
                p90: 900,
                p99: 990,
                p999: 999,
                max: 1000
            })
        );
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let summary = summarize_all(&[42]).unwrap();
        assert_eq!((summary.p50, summary.p999, summary.max), (42, 42, 42));
    }

    #[test]
    fn a_few_slow_samples_show_in_p999_only() {
        let mut latencies = vec![10; 9995];
        latencies.extend([5000; 5]);
        let summary = summarize_all(&latencies).unwrap();
        assert_eq!((summary.p99, summary.p999), (10, 10));
        // Above 2,048 µs a bucket spans a few microseconds: 5,000 counts as up to 5,003.
        assert_eq!(summary.max / 10, 500, "{summary:?}");
        latencies.extend([5000; 10]);
        assert_eq!(summarize_all(&latencies).unwrap().p999 / 10, 500);
    }

    #[test]
    fn large_latencies_stay_within_a_thousandth() {
        for micros in [2_047, 41_620, 3_674_210, 600_000_000] {
            let summary = summarize_all(&[micros]).unwrap();
            let error = summary.max.abs_diff(micros) as f64 / micros as f64;
            assert!(error <= 0.001, "{micros} µs was counted as {}", summary.max);
        }
        // A garbled time stamp counts as the largest latency, not as a panic.
        let garbled = summarize_all(&[u64::MAX]).unwrap().max;
        assert!((HIGHEST_MICROS..HIGHEST_MICROS + 5_000_000).contains(&garbled));
    }

    #[test]
    fn latencies_are_kept_apart_by_server_and_added_up() {
        let by_server = ByServer::new();
        by_server.record(&[100, 100, 100], &[]);
        by_server.record(&[], &[900]);
        let spread = by_server.summary();
        let samples = |summary: Option<Summary>| summary.map(|s| s.samples);
        assert_eq!(
            (
                samples(spread.all),
                samples(spread.same),
                samples(spread.other)
            ),
            (Some(4), Some(3), Some(1))
        );
        assert_eq!(spread.all.unwrap().max, 900);
        assert_eq!(spread.hop_p50(), Some(800));
        let one_server = ByServer::new();
        one_server.record(&[5], &[]);
        assert_eq!(one_server.summary().hop_p50(), None);
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(summarize_all(&[]), None);
    }

    #[test]
    fn the_count_has_no_cap() {
        // The list this replaced kept at most 10 million latencies.
        let latencies = Latencies::new();
        latencies.0.lock().unwrap().record_n(7, 30_000_000).unwrap();
        latencies.record(&[7]);
        assert_eq!(latencies.histogram().len(), 30_000_001);
    }
}
