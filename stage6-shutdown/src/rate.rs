//! A per-client rate limit: the token bucket.

use tokio::time::Instant;

// ANCHOR: rate_limit
// ANCHOR: bucket
/// Allows `rate` lines a second on average, and bursts of up to `burst`.
///
/// The bucket holds up to `burst` tokens and refills at `rate` tokens a
/// second; each line takes one. It is one client's, owned by its task, so it
/// needs no lock. It reads tokio's clock, which tests can pause and advance.
#[derive(Debug)]
pub struct RateLimit {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

impl RateLimit {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32) -> Self {
        RateLimit {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            refilled: Instant::now(),
        }
    }

    /// Takes a token if there is one; `false` means the line is over the limit.
    pub fn try_take(&mut self) -> bool {
        // ANCHOR_END: bucket
        // Exercise 6.1: see "Your job" in chapter 6.
        // ANCHOR: exercise_6_1
        let now = Instant::now();
        let elapsed = now.duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
        // ANCHOR_END: exercise_6_1
    }
}
// ANCHOR_END: rate_limit

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_rate() {
        let mut limit = RateLimit::new(2, 3);
        assert!(limit.try_take() && limit.try_take() && limit.try_take());
        assert!(!limit.try_take(), "the burst is spent");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(limit.try_take(), "half a second at 2/s earns one token");
        assert!(!limit.try_take());
        tokio::time::advance(Duration::from_secs(60)).await;
        let taken = (0..10).filter(|_| limit.try_take()).count();
        assert_eq!(taken, 3, "a long pause saves up no more than the burst");
    }
}
