//! A circuit breaker per provider account: transport failures and 5xx open it (a run of them, or
//! a failure rate over a window), declines do not; open, it refuses locally (so failover is
//! immediate); after a while it lets exactly one probe through, which closes or reopens it.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payment_core::{Error, ErrorKind};

/// Where the breaker reads the time: the real monotonic clock, or a test's.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time since an arbitrary fixed start.
    fn now(&self) -> Duration;
}

/// The process's monotonic clock.
#[derive(Debug, Clone)]
pub struct SystemClock(Instant);

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock(Instant::now())
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.0.elapsed()
    }
}

/// A clock that moves only when told: tests of the breaker never sleep.
#[derive(Debug, Clone, Default)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(u64::try_from(by.as_millis()).unwrap_or(u64::MAX), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// When a breaker opens and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerSettings {
    /// This many failures in a row open it.
    pub consecutive_failures: u32,
    /// Or this share of failures (percent) among the calls of the last `window`…
    pub failure_rate_percent: u32,
    /// …over this window…
    pub window: Duration,
    /// …once it holds at least this many calls.
    pub min_calls: u32,
    /// How long it stays open before one probe may go through.
    pub open_for: Duration,
}

impl Default for BreakerSettings {
    fn default() -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: 5,
            failure_rate_percent: 50,
            window: Duration::from_secs(60),
            min_calls: 20,
            open_for: Duration::from_secs(30),
        }
    }
}

/// What one call says about the account's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The provider answered as a working service (a success or a decline).
    Up,
    /// A transport failure or a 5xx.
    Down,
    /// Says nothing about the provider (a refused request, a local error).
    Neutral,
}

impl Health {
    /// How `result` counts.
    pub fn of<T>(result: &Result<T, Error>) -> Health {
        let Err(e) = result else { return Health::Up };
        if payment_journal::is_journal_answer(e) {
            // The journal's own word (in flight elsewhere, still recovering): no request was judged.
            return Health::Neutral;
        }
        match e.kind() {
            ErrorKind::CardDeclined(_) => Health::Up,
            ErrorKind::Network | ErrorKind::Timeout | ErrorKind::ProviderUnavailable => Health::Down,
            // A lost answer: the call was sent and the connection or the server failed.
            ErrorKind::OutcomeUnknown => Health::Down,
            _ => Health::Neutral,
        }
    }
}

/// The breaker's state, as shown by `route explain` and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the time given (on the breaker's clock).
    Open {
        /// When a probe may go.
        until: Duration,
    },
    /// One probe is allowed (or in flight).
    HalfOpen {
        /// Whether the probe is out.
        probing: bool,
    },
}

#[derive(Debug)]
struct Inner {
    state: BreakerState,
    consecutive: u32,
    recent: VecDeque<(Duration, bool)>,
    opened: u64,
}

/// One account's breaker; cheap to clone (clones share the state).
#[derive(Debug, Clone)]
pub struct Breaker {
    account: Arc<str>,
    settings: Arc<BreakerSettings>,
    clock: Arc<dyn Clock>,
    inner: Arc<Mutex<Inner>>,
}

/// Leave to make one call; report how it went with [`Permit::record`]. Dropped unreported (the
/// call was abandoned), it counts as neutral and frees the probe slot.
#[derive(Debug)]
pub struct Permit {
    breaker: Breaker,
    probe: bool,
    done: bool,
}

impl Permit {
    /// Whether this call is the half-open probe.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    /// Reports the call's health.
    pub fn record(mut self, health: Health) {
        self.done = true;
        self.breaker.record(self.probe, health);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.record(self.probe, Health::Neutral);
        }
    }
}

/// The `payment.breaker.state` gauge's value: 0 closed, 1 half-open, 2 open.
fn gauge(state: BreakerState) -> u64 {
    match state {
        BreakerState::Closed => 0,
        BreakerState::HalfOpen { .. } => 1,
        BreakerState::Open { .. } => 2,
    }
}

/// The error of a call refused by an open breaker: definite and never sent.
pub const CIRCUIT_OPEN: &str = "circuit_open";

impl Breaker {
    /// A closed breaker for `account`.
    pub fn new(account: &str, settings: Arc<BreakerSettings>, clock: Arc<dyn Clock>) -> Breaker {
        payment_core::telemetry::breaker_state(account, gauge(BreakerState::Closed));
        Breaker {
            account: account.into(),
            settings,
            clock,
            inner: Arc::new(Mutex::new(Inner {
                state: BreakerState::Closed,
                consecutive: 0,
                recent: VecDeque::new(),
                opened: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding it leaves counts, not broken invariants: keep going.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state now (an open breaker whose time is up reads as half-open).
    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.state {
            BreakerState::Open { until } if self.clock.now() >= until => BreakerState::HalfOpen { probing: false },
            other => other,
        }
    }

    /// How many times it has opened.
    pub fn times_opened(&self) -> u64 {
        self.lock().opened
    }

    /// Leave for one call, or the local refusal (`ProviderUnavailable`, code `circuit_open`,
    /// definite: nothing was sent).
    pub fn admit(&self) -> Result<Permit, Error> {
        let now = self.clock.now();
        let mut inner = self.lock();
        match inner.state {
            BreakerState::Closed => Ok(Permit { breaker: self.clone(), probe: false, done: false }),
            BreakerState::Open { until } if now >= until => {
                inner.state = BreakerState::HalfOpen { probing: true };
                payment_core::telemetry::breaker_state(&self.account, gauge(inner.state));
                Ok(Permit { breaker: self.clone(), probe: true, done: false })
            }
            BreakerState::HalfOpen { probing: false } => {
                inner.state = BreakerState::HalfOpen { probing: true };
                Ok(Permit { breaker: self.clone(), probe: true, done: false })
            }
            BreakerState::Open { until } => Err(self.refusal(format!("it reopens for a probe in {:?}", until - now))),
            BreakerState::HalfOpen { probing: true } => Err(self.refusal("a probe is in flight".into())),
        }
    }

    fn refusal(&self, when: String) -> Error {
        Error::new(
            ErrorKind::ProviderUnavailable,
            format!("account {}'s circuit is open after repeated failures, so nothing was sent ({when})", self.account),
        )
        .with_provider_code(CIRCUIT_OPEN)
    }

    fn record(&self, probe: bool, health: Health) {
        let now = self.clock.now();
        let s = &self.settings;
        let mut inner = self.lock();
        if probe {
            inner.state = match health {
                Health::Up => {
                    inner.consecutive = 0;
                    inner.recent.clear();
                    tracing::info!(target: "payment::routing", account = %self.account, "circuit closed: the probe succeeded");
                    BreakerState::Closed
                }
                Health::Down => {
                    inner.opened += 1;
                    tracing::warn!(target: "payment::routing", account = %self.account, "circuit reopened: the probe failed");
                    BreakerState::Open { until: now + s.open_for }
                }
                Health::Neutral => BreakerState::HalfOpen { probing: false },
            };
            payment_core::telemetry::breaker_state(&self.account, gauge(inner.state));
            return;
        }
        if health == Health::Neutral || inner.state != BreakerState::Closed {
            return;
        }
        let failed = health == Health::Down;
        inner.consecutive = if failed { inner.consecutive + 1 } else { 0 };
        inner.recent.push_back((now, failed));
        while inner.recent.front().is_some_and(|(at, _)| now.saturating_sub(*at) > s.window) {
            inner.recent.pop_front();
        }
        let calls = u32::try_from(inner.recent.len()).unwrap_or(u32::MAX);
        let failures = u32::try_from(inner.recent.iter().filter(|(_, f)| *f).count()).unwrap_or(u32::MAX);
        let by_run = inner.consecutive >= s.consecutive_failures.max(1);
        let by_rate =
            calls >= s.min_calls.max(1) && failures.saturating_mul(100) >= s.failure_rate_percent.saturating_mul(calls);
        if failed && (by_run || by_rate) {
            inner.opened += 1;
            inner.state = BreakerState::Open { until: now + s.open_for };
            inner.recent.clear();
            payment_core::telemetry::breaker_state(&self.account, gauge(inner.state));
            tracing::warn!(target: "payment::routing", account = %self.account, consecutive = inner.consecutive, failures, calls, "circuit opened");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(settings: BreakerSettings) -> (Breaker, FakeClock) {
        let clock = FakeClock::default();
        (Breaker::new("payjp", Arc::new(settings), Arc::new(clock.clone())), clock)
    }

    fn fail(b: &Breaker) {
        b.admit().unwrap().record(Health::Down);
    }

    #[test]
    fn a_run_of_failures_opens_it_then_one_probe_closes_it() {
        let (b, clock) = breaker(BreakerSettings { consecutive_failures: 3, ..Default::default() });
        fail(&b);
        fail(&b);
        b.admit().unwrap().record(Health::Up);
        fail(&b);
        fail(&b);
        assert_eq!(b.state(), BreakerState::Closed, "a success in between resets the run");
        fail(&b);
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        let refused = b.admit().unwrap_err();
        assert_eq!(refused.provider_code(), Some(CIRCUIT_OPEN));
        assert_eq!(refused.outcome(), payment_core::Outcome::Definite);
        assert!(refused.http_status().is_none());
        clock.advance(Duration::from_secs(30));
        let probe = b.admit().unwrap();
        assert!(probe.is_probe());
        assert!(b.admit().is_err(), "exactly one probe while it is out");
        probe.record(Health::Up);
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(!b.admit().unwrap().is_probe());
        assert_eq!(b.times_opened(), 1);
    }

    #[test]
    fn a_failed_probe_reopens_and_an_abandoned_one_frees_the_slot() {
        let (b, clock) = breaker(BreakerSettings { consecutive_failures: 1, ..Default::default() });
        fail(&b);
        clock.advance(Duration::from_secs(31));
        b.admit().unwrap().record(Health::Down);
        assert!(matches!(b.state(), BreakerState::Open { .. }));
        clock.advance(Duration::from_secs(31));
        drop(b.admit().unwrap());
        assert_eq!(b.state(), BreakerState::HalfOpen { probing: false });
        assert!(b.admit().unwrap().is_probe());
        assert_eq!(b.times_opened(), 2);
    }

    #[test]
    fn declines_never_open_it_and_a_failure_rate_does() {
        let (b, clock) = breaker(BreakerSettings {
            consecutive_failures: 100,
            failure_rate_percent: 50,
            min_calls: 10,
            window: Duration::from_secs(10),
            ..Default::default()
        });
        for _ in 0..50 {
            b.admit().unwrap().record(Health::of::<()>(&Err(Error::new(
                ErrorKind::CardDeclined(payment_core::DeclineReason::DoNotHonor),
                "no",
            ))));
        }
        assert_eq!(b.state(), BreakerState::Closed);
        clock.advance(Duration::from_secs(11));
        for i in 0..10 {
            b.admit().unwrap().record(if i % 2 == 1 { Health::Down } else { Health::Up });
        }
        assert!(matches!(b.state(), BreakerState::Open { .. }), "5 of 10 failed");
    }

    #[test]
    fn health_counts_transport_and_5xx_only() {
        let e = |k| Err::<(), _>(Error::new(k, "x"));
        assert_eq!(Health::of(&e(ErrorKind::Network)), Health::Down);
        assert_eq!(Health::of(&e(ErrorKind::ProviderUnavailable)), Health::Down);
        assert_eq!(Health::of(&e(ErrorKind::InvalidRequest)), Health::Neutral);
        assert_eq!(Health::of(&e(ErrorKind::RateLimited)), Health::Neutral);
        assert_eq!(Health::of(&Ok::<(), Error>(())), Health::Up);
        let elsewhere =
            Error::new(ErrorKind::OutcomeUnknown, "in flight elsewhere").with_provider_code("journal_answer");
        assert!(payment_journal::is_journal_answer(&elsewhere));
        assert_eq!(Health::of(&Err::<(), _>(elsewhere)), Health::Neutral, "the journal's word is not the provider's");
    }
}
