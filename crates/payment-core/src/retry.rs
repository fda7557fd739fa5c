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

/// Everything a policy may look at to decide. The engine asks only when repeating the request is
/// safe (nothing was sent, or the operation survives ambiguity): a policy cannot make an unsafe
/// repeat happen, so it is not told about unsafe ones.
#[derive(Debug, Clone, Copy)]
pub struct RetryContext {
    /// How many attempts have been made so far (1 after the first).
    pub attempts: u32,
    /// Time since the call started.
    pub elapsed: Duration,
    /// What went wrong with the last attempt.
    pub failure: AttemptFailure,
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
    /// A policy with its own state for one call, when this one keeps state across decisions
    /// (a schedule that advances); `None` (the default) shares `self` between calls.
    fn for_call(&self) -> Option<Arc<dyn RetryPolicy>> {
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

/// Another policy, except that a connection that could not be made is not tried again: for an
/// account with another behind it (a routed primary), where moving on at once (nothing was sent)
/// beats waiting out a host that is down.
#[derive(Debug, Clone)]
pub struct FailFastOnConnect {
    inner: Arc<dyn RetryPolicy>,
}

impl FailFastOnConnect {
    /// `inner`, giving up on a refused connection.
    pub fn new(inner: Arc<dyn RetryPolicy>) -> FailFastOnConnect {
        FailFastOnConnect { inner }
    }
}

impl RetryPolicy for FailFastOnConnect {
    fn decide(&self, ctx: &RetryContext) -> RetryDecision {
        if ctx.failure == AttemptFailure::Transport(TransportFailure::Connect) {
            return RetryDecision::Stop;
        }
        self.inner.decide(ctx)
    }

    fn max_elapsed(&self) -> Option<Duration> {
        self.inner.max_elapsed()
    }

    fn for_call(&self) -> Option<Arc<dyn RetryPolicy>> {
        self.inner.for_call().map(|inner| Arc::new(FailFastOnConnect { inner }) as Arc<dyn RetryPolicy>)
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
        if ctx.attempts >= self.max_attempts {
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
        if ctx.attempts >= self.max_attempts {
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
            && ctx.elapsed.saturating_add(after) > limit
        {
            return RetryDecision::Stop;
        }
        RetryDecision::Retry { after }
    }

    fn max_elapsed(&self) -> Option<Duration> {
        self.max_elapsed_time
    }
}

/// Lets any `backoff::backoff::Backoff` drive the delays (feature `backoff`). Each call runs its
/// own schedule, made fresh by the factory, so concurrent calls never share or reset delays.
#[cfg(feature = "backoff")]
pub struct BackoffPolicy<B> {
    make: Arc<dyn Fn() -> B + Send + Sync>,
    schedule: std::sync::Mutex<B>,
    max_attempts: u32,
}

#[cfg(feature = "backoff")]
impl<B: backoff::backoff::Backoff + Send + 'static> BackoffPolicy<B> {
    /// Schedules made by `make` (one per call); `max_attempts` counts the first attempt.
    pub fn new(make: impl Fn() -> B + Send + Sync + 'static, max_attempts: u32) -> Self {
        let make: Arc<dyn Fn() -> B + Send + Sync> = Arc::new(make);
        BackoffPolicy { schedule: std::sync::Mutex::new(make()), make, max_attempts }
    }
}

#[cfg(feature = "backoff")]
impl<B> Debug for BackoffPolicy<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackoffPolicy").field("max_attempts", &self.max_attempts).finish_non_exhaustive()
    }
}

#[cfg(feature = "backoff")]
impl<B: backoff::backoff::Backoff + Send + 'static> RetryPolicy for BackoffPolicy<B> {
    fn decide(&self, ctx: &RetryContext) -> RetryDecision {
        if ctx.attempts >= self.max_attempts {
            return RetryDecision::Stop;
        }
        let Ok(mut schedule) = self.schedule.lock() else { return RetryDecision::Stop };
        match (retry_after_of(&ctx.failure), schedule.next_backoff()) {
            (Some(after), _) => RetryDecision::Retry { after },
            (None, Some(after)) => RetryDecision::Retry { after },
            (None, None) => RetryDecision::Stop,
        }
    }

    fn for_call(&self) -> Option<Arc<dyn RetryPolicy>> {
        let make = self.make.clone();
        Some(Arc::new(BackoffPolicy { schedule: std::sync::Mutex::new(make()), make, max_attempts: self.max_attempts }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(attempts: u32, failure: AttemptFailure, _safe: bool) -> RetryContext {
        RetryContext { attempts, elapsed: Duration::ZERO, failure }
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
        let p = BackoffPolicy::new(|| backoff::backoff::Constant::new(Duration::from_millis(40)), 3);
        assert_eq!(p.decide(&ctx(1, BROKEN, true)), RetryDecision::Retry { after: Duration::from_millis(40) });
        assert_eq!(p.decide(&ctx(3, BROKEN, true)), RetryDecision::Stop);
    }

    #[cfg(feature = "backoff")]
    #[test]
    fn two_concurrent_calls_each_run_their_own_schedule() {
        let schedule = || backoff::ExponentialBackoff {
            initial_interval: Duration::from_millis(100),
            current_interval: Duration::from_millis(100),
            randomization_factor: 0.0,
            multiplier: 2.0,
            max_interval: Duration::from_secs(10),
            max_elapsed_time: None,
            ..backoff::ExponentialBackoff::default()
        };
        let shared = BackoffPolicy::new(schedule, 10);
        let a = shared.for_call().expect("a per-call schedule");
        let b = shared.for_call().expect("a per-call schedule");
        let ms = |n| RetryDecision::Retry { after: Duration::from_millis(n) };
        // Interleaved as two calls in flight would be: neither advances nor resets the other.
        assert_eq!(a.decide(&ctx(1, BROKEN, true)), ms(100));
        assert_eq!(b.decide(&ctx(1, BROKEN, true)), ms(100));
        assert_eq!(a.decide(&ctx(2, BROKEN, true)), ms(200));
        assert_eq!(a.decide(&ctx(3, BROKEN, true)), ms(400));
        assert_eq!(b.decide(&ctx(2, BROKEN, true)), ms(200));
        assert_eq!(shared.for_call().expect("fresh").decide(&ctx(1, BROKEN, true)), ms(100));
    }

    #[test]
    fn backoff_stops_at_the_elapsed_budget() {
        let p = ExponentialBackoff { max_elapsed_time: Some(Duration::from_secs(1)), ..ExponentialBackoff::default() };
        let late = RetryContext { elapsed: Duration::from_millis(990), ..ctx(1, BROKEN, true) };
        assert_eq!(p.decide(&late), RetryDecision::Stop);
    }

    proptest::proptest! {
        /// Whatever a provider says to wait and however long the call has run, deciding never
        /// panics (a provider's number meets a clock here).
        #[test]
        fn deciding_never_overflows(secs in proptest::prelude::any::<u64>(), nanos in 0u32..1_000_000_000, elapsed in proptest::prelude::any::<u64>(), attempts in 0u32..10) {
            let failure = AttemptFailure::Status { status: 503, retry_after: Some(Duration::new(secs, nanos)) };
            let ctx = RetryContext { attempts, elapsed: Duration::from_nanos(elapsed).saturating_mul(1_000_000), failure };
            let _ = ExponentialBackoff::default().decide(&ctx);
            let _ = Retry { max_attempts: 5 }.decide(&ctx);
            let _ = Once.decide(&ctx);
        }
    }
}
