//! Latency samples and their percentiles.

/// The most latency samples a run keeps: 40 MB of `u32`s.
///
/// A bigger run keeps every n-th delivery of each client (see
/// [`sample_stride`]), which spreads the samples evenly over the run instead
/// of keeping only its beginning.
pub const MAX_SAMPLES: u64 = 10_000_000;

/// How many deliveries each client counts per sample it keeps, so that about
/// `planned` deliveries yield at most [`MAX_SAMPLES`] samples.
pub fn sample_stride(planned: u64) -> u32 {
    u32::try_from(planned.div_ceil(MAX_SAMPLES))
        .unwrap_or(u32::MAX)
        .max(1)
}

/// The percentiles of a set of latencies, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// How many samples the figures come from.
    pub samples: usize,
    /// Half the samples are at most this.
    pub p50: u32,
    /// 90% of the samples are at most this.
    pub p90: u32,
    /// 99% of the samples are at most this.
    pub p99: u32,
    /// The largest sample.
    pub max: u32,
}

/// Sorts `samples` and summarises them; `None` when there are none.
pub fn summarize(samples: &mut [u32]) -> Option<Summary> {
    samples.sort_unstable();
    Some(Summary {
        samples: samples.len(),
        p50: percentile(samples, 500)?,
        p90: percentile(samples, 900)?,
        p99: percentile(samples, 990)?,
        max: *samples.last()?,
    })
}

/// The nearest-rank percentile of `sorted`: the smallest sample that at least
/// `per_mille`/1000 of all samples do not exceed.
///
/// Per mille rather than a float keeps the rank exact: p99 of 100 samples is
/// the 99th, never the 100th through rounding.
fn percentile(sorted: &[u32], per_mille: usize) -> Option<u32> {
    let rank = (sorted.len() * per_mille).div_ceil(1000).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_one_to_a_hundred() {
        let mut samples: Vec<u32> = (1..=100).rev().collect();
        let summary = summarize(&mut samples).unwrap();
        assert_eq!(
            summary,
            Summary {
                samples: 100,
                p50: 50,
                p90: 90,
                p99: 99,
                max: 100
            }
        );
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let summary = summarize(&mut [42]).unwrap();
        assert_eq!((summary.p50, summary.p99, summary.max), (42, 42, 42));
    }

    #[test]
    fn a_few_slow_samples_show_in_p99_only() {
        let mut samples = vec![10; 995];
        samples.extend([5000; 5]);
        let summary = summarize(&mut samples).unwrap();
        assert_eq!((summary.p90, summary.p99, summary.max), (10, 10, 5000));
        samples.extend([5000; 10]);
        assert_eq!(summarize(&mut samples).unwrap().p99, 5000);
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(summarize(&mut []), None);
    }

    #[test]
    fn the_stride_keeps_samples_under_the_cap() {
        assert_eq!(sample_stride(0), 1);
        assert_eq!(sample_stride(MAX_SAMPLES), 1);
        assert_eq!(sample_stride(MAX_SAMPLES + 1), 2);
        assert_eq!(sample_stride(100 * MAX_SAMPLES), 100);
    }
}
