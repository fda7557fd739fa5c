//! `RetryPolicy`: the open trait that decides whether and when to try again, and the built-ins.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How a transport-level failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportFailure {
    /// The connection could not be made: the request was never sent.
    Connect,
    /// No response in time after sending.
    Timeout,
    /// The connection broke after sending (reset, closed, truncated body).
    Broken,
}

/// What went wrong with one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptFailure {
    /// No HTTP response.
    Transport(TransportFailure),
    /// An HTTP response the provider marks as retryable (429, 5xx, Ping++'s 403 rate limit).
    Status {
        /// The HTTP status.
        status: u16,
        /// The provider's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
}

/// Everything a policy may look at to decide.
#[derive(Debug, Clone, Copy)]
pub struct RetryContext {
    /// How many attempts have been made so far (1 after the first).
    pub attempts: u32,
    /// Time since the call started.
    pub elapsed: Duration,
    /// What went wrong with the last attempt.
    pub failure: AttemptFailure,
    /// Whether the engine may repeat the request without risking a double effect.
    pub safe_to_repeat: bool,
}

/// A policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay.
    Retry {
        /// How long to wait first.
        after: Duration,
    },
    /// Give up; the last failure is returned.
    Stop,
}

/// Decides whether a failed attempt is retried and after how long. Open: implement it for your own
/// schedules. The engine never repeats an unsafe request whatever the policy says.
pub trait RetryPolicy: Send + Sync + Debug {
    /// Decides after a failed attempt.
    fn decide(&self, ctx: &RetryContext) -> RetryDecision;
    /// The longest a whole call may take, retries included, when the caller sets no deadline.
    fn max_elapsed(&self) -> Option<Duration> {
        None
    }
}

fn retry_after_of(failure: &AttemptFailure) -> Option<Duration> {
    match failure {
        AttemptFailure::Status { retry_after, .. } => *retry_after,
        AttemptFailure::Transport(_) => None,
    }
}

/// Never retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Once;

impl RetryPolicy for Once {
    fn decide(&self, _: &RetryContext) -> RetryDecision {
        RetryDecision::Stop
    }
}

/// Retries immediately (or after `Retry-After`) up to `max_attempts` attempts in all.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl RetryPolicy for Retry {
    fn decide(&self, ctx: &RetryContext) -> RetryDecision {
        if !ctx.safe_to_repeat || ctx.attempts >= self.max_attempts {
            return RetryDecision::Stop;
        }
        RetryDecision::Retry { after: retry_after_of(&ctx.failure).unwrap_or(Duration::ZERO) }
    }
}

/// Exponential backoff with jitter; parameter names as the `backoff` crate spells them.
///
/// The n-th retry waits `initial_interval * multiplier^(n-1)`, capped at `max_interval`, spread by
/// ±`randomization_factor`; a `Retry-After` from the provider replaces the computed delay.
#[derive(Debug, Clone)]
pub struct ExponentialBackoff {
    /// The first delay.
    pub initial_interval: Duration,
    /// Growth per retry.
    pub multiplier: f64,
    /// The largest delay.
    pub max_interval: Duration,
    /// The whole call's budget, retries included; `None` for no limit.
    pub max_elapsed_time: Option<Duration>,
    /// Jitter: each delay is spread uniformly over ±this fraction (0 turns jitter off).
    pub randomization_factor: f64,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The jitter sequence (random by default; [`Jitter::seeded`] for reproducible runs).
    pub jitter: Jitter,
}

/// The random sequence jitter is drawn from; shared by clones of a policy.
#[derive(Debug, Clone)]
pub struct Jitter {
    state: Arc<AtomicU64>,
}

impl Jitter {
    /// A reproducible sequence.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter { state: Arc::new(AtomicU64::new(seed | 1)) }
    }

    // A uniform number in [0, 1) from a splitmix64 step; lock-free.
    fn unit(&self) -> f64 {
        let mut z = self.state.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::seeded(seed())
    }
}

impl Default for ExponentialBackoff {
    fn default() -> Self {
        ExponentialBackoff {
            initial_interval: Duration::from_millis(250),
            multiplier: 2.0,
            max_interval: Duration::from_secs(8),
            max_elapsed_time: Some(Duration::from_secs(60)),
            randomization_factor: 0.3,
            max_attempts: 5,
            jitter: Jitter::default(),
        }
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    nanos | 1
}

impl ExponentialBackoff {
    /// Fixes the jitter sequence, for reproducible tests.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.jitter = Jitter::seeded(seed);
        self
    }

    /// Without jitter, for exact delays.
    pub fn without_jitter(mut self) -> Self {
        self.randomization_factor = 0.0;
        self
    }

    /// The delay before retry number `n` (1-based), before jitter.
    pub fn base_delay(&self, n: u32) -> Duration {
        let exp = i32::try_from(n.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial_interval.as_secs_f64() * self.multiplier.powi(exp);
        let capped = secs.min(self.max_interval.as_secs_f64());
        Duration::try_from_secs_f64(capped).unwrap_or(self.max_interval)
    }
}

impl RetryPolicy for ExponentialBackoff {
    fn decide(&self, ctx: &RetryContext) -> RetryDecision {
        if !ctx.safe_to_repeat || ctx.attempts >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let after = match retry_after_of(&ctx.failure) {
            Some(after) => after,
            None => {
                let base = self.base_delay(ctx.attempts).as_secs_f64();
                let spread = base * self.randomization_factor.clamp(0.0, 1.0);
                let jittered = base - spread + 2.0 * spread * self.jitter.unit();
                Duration::try_from_secs_f64(jittered.max(0.0)).unwrap_or(self.max_interval)
            }
        };
        if let Some(limit) = self.max_elapsed_time
            && ctx.elapsed + after > limit
        {
            return RetryDecision::Stop;
        }
        RetryDecision::Retry { after }
    }

    fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed_time
    }
}

/// Lets any `backoff::backoff::Backoff` drive the delays (feature `backoff`).
#[cfg(feature = "backoff")]
#[derive(Debug)]
pub struct BackoffPolicy<B> {
    inner: std::sync::Mutex<B>,
    max_attempts: u32,
}

#[cfg(feature = "backoff")]
impl<B: backoff::backoff::Backoff + Send + Debug> BackoffPolicy<B> {
    /// Wraps a `backoff` schedule; `max_attempts` counts the first attempt.
    pub fn new(backoff: B, max_attempts: u32) -> Self {
        BackoffPolicy { inner: std::sync::Mutex::new(backoff), max_attempts }
    }
}

#[cfg(feature = "backoff")]
impl<B: backoff::backoff::Backoff + Send + Debug> RetryPolicy for BackoffPolicy<B> {
    fn decide(&self, ctx: &RetryContext) -> RetryDecision {
        if !ctx.safe_to_repeat || ctx.attempts >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let Ok(mut schedule) = self.inner.lock() else { return RetryDecision::Stop };
        if ctx.attempts == 1 {
            schedule.reset();
        }
        match (retry_after_of(&ctx.failure), schedule.next_backoff()) {
            (Some(after), _) => RetryDecision::Retry { after },
            (None, Some(after)) => RetryDecision::Retry { after },
            (None, None) => RetryDecision::Stop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(attempts: u32, failure: AttemptFailure, safe: bool) -> RetryContext {
        RetryContext { attempts, elapsed: Duration::ZERO, failure, safe_to_repeat: safe }
    }

    const BROKEN: AttemptFailure = AttemptFailure::Transport(TransportFailure::Broken);

    #[test]
    fn once_never_retries() {
        assert_eq!(Once.decide(&ctx(1, BROKEN, true)), RetryDecision::Stop);
    }

    #[test]
    fn retry_counts_attempts_and_respects_safety() {
        let p = Retry { max_attempts: 3 };
        assert_eq!(p.decide(&ctx(1, BROKEN, true)), RetryDecision::Retry { after: Duration::ZERO });
        assert_eq!(p.decide(&ctx(3, BROKEN, true)), RetryDecision::Stop);
        assert_eq!(p.decide(&ctx(1, BROKEN, false)), RetryDecision::Stop);
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let p = ExponentialBackoff {
            initial_interval: Duration::from_millis(100),
            multiplier: 2.0,
            max_interval: Duration::from_millis(350),
            max_attempts: 10,
            ..ExponentialBackoff::default()
        }
        .without_jitter();
        let delays: Vec<_> = (1..=4).map(|n| p.decide(&ctx(n, BROKEN, true))).collect();
        let ms = |n| RetryDecision::Retry { after: Duration::from_millis(n) };
        assert_eq!(delays, vec![ms(100), ms(200), ms(350), ms(350)]);
        let rate_limited = AttemptFailure::Status { status: 429, retry_after: Some(Duration::from_secs(3)) };
        assert_eq!(p.decide(&ctx(1, rate_limited, true)), ms(3000));
    }

    #[test]
    fn jitter_stays_within_the_factor() {
        let p = ExponentialBackoff { randomization_factor: 0.5, ..ExponentialBackoff::default() }.with_seed(7);
        for _ in 0..200 {
            let RetryDecision::Retry { after } = p.decide(&ctx(1, BROKEN, true)) else { panic!() };
            assert!(after >= Duration::from_millis(125) && after <= Duration::from_millis(375), "{after:?}");
        }
    }

    #[cfg(feature = "backoff")]
    #[test]
    fn a_backoff_schedule_drives_the_delays() {
        let p = BackoffPolicy::new(backoff::backoff::Constant::new(Duration::from_millis(40)), 3);
        assert_eq!(p.decide(&ctx(1, BROKEN, true)), RetryDecision::Retry { after: Duration::from_millis(40) });
        assert_eq!(p.decide(&ctx(3, BROKEN, true)), RetryDecision::Stop);
        assert_eq!(p.decide(&ctx(1, BROKEN, false)), RetryDecision::Stop);
    }

    #[test]
    fn backoff_stops_at_the_elapsed_budget() {
        let p = ExponentialBackoff { max_elapsed_time: Some(Duration::from_secs(1)), ..ExponentialBackoff::default() };
        let late = RetryContext { elapsed: Duration::from_millis(990), ..ctx(1, BROKEN, true) };
        assert_eq!(p.decide(&late), RetryDecision::Stop);
    }
}
