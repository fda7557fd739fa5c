//! The exactly-once soak: many logical charges and refunds through a provider's client against its
//! mock with faults on, then a count at the mock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use payment::mocks::{FaultKind, FaultPlan, FaultRule};
use payment::transport::{EngineBuilder, Sleeper};
use payment::{
    CreateRefund, ErrorKind, ExponentialBackoff, IdempotencyKey, IdempotencySupport, Money, Outcome, PaymentClient,
    RequestOptions,
};

use payment::ProviderDriver;

use crate::targets;

/// What the soak counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Logical charges attempted.
    pub charges: usize,
    /// Logical charges that ended with a charge.
    pub charged: usize,
    /// Logical refunds attempted.
    pub refunds: usize,
    /// Logical refunds that ended applied.
    pub refunded: usize,
    /// Calls that first ended `OutcomeUnknown` or retryable and were finished by repeating them with the same key.
    pub recovered: usize,
    /// Calls that ended with any other error (must be zero).
    pub failed: usize,
    /// Calls on `None` operations that ended `OutcomeUnknown` (allowed, counted).
    pub unknown_unrepeatable: usize,
    /// Charges the mock holds.
    pub mock_charges: usize,
    /// Refunds the mock applied.
    pub mock_refunds: usize,
    /// References the mock charged more than once (must be zero).
    pub duplicate_references: usize,
    /// Requests the mock saw.
    pub requests: usize,
    /// Requests the mock answered with a fault.
    pub faults: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// The first unexpected error, for the report.
    pub first_error: Option<String>,
}

impl Tally {
    /// Whether every reference was charged exactly once and nothing was lost or applied twice.
    pub fn exactly_once(&self) -> bool {
        self.failed == 0
            && self.duplicate_references == 0
            && self.charged == self.charges
            && self.mock_charges == self.charged
            && self.mock_refunds == self.refunded
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "charges {}/{} (mock holds {}), refunds {}/{} (mock applied {}), recovered {}, unknown on unrepeatable ops {}, \
             failed {}, duplicate references {}, requests {} ({} faulted), {:.1}s",
            self.charged,
            self.charges,
            self.mock_charges,
            self.refunded,
            self.refunds,
            self.mock_refunds,
            self.recovered,
            self.unknown_unrepeatable,
            self.failed,
            self.duplicate_references,
            self.requests,
            self.faults,
            self.elapsed.as_secs_f64()
        )?;
        if let Some(e) = &self.first_error {
            write!(f, "; first error: {e}")?;
        }
        Ok(())
    }
}

/// Waits a thousandth of each delay: the retry path runs, the soak stays fast.
#[derive(Debug)]
struct ScaledSleeper;

impl Sleeper for ScaledSleeper {
    fn sleep(&self, d: Duration) -> futures::future::BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(d / 1000))
    }
}

/// The fault mix: lost responses, 503s, 429s with `Retry-After`, resets and delays.
pub fn fault_plan(seed: u64) -> FaultPlan {
    let post = |kind, p| FaultRule::always(kind).methods(&["POST"]).probability(p);
    FaultPlan {
        seed,
        rules: vec![
            FaultRule::always(FaultKind::Delay { ms: 5 }).probability(0.05),
            post(FaultKind::DropAfterCommit, 0.10),
            post(FaultKind::ResetBeforeCommit, 0.05),
            FaultRule::always(FaultKind::Status { status: 503, retry_after: None }).probability(0.05),
            FaultRule::always(FaultKind::Status { status: 429, retry_after: Some(1) }).probability(0.05),
        ],
    }
}

/// Repeats a call with the same key while its outcome is unknown or the failure is retryable (what
/// an app should do: the key makes every repeat safe).
async fn until_known<T, F, Fut>(tally_recovered: &mut usize, mut call: F) -> payment::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = payment::Result<T>>,
{
    let mut last = None;
    for _ in 0..5 {
        match call().await {
            Err(e) if e.outcome() == Outcome::Unknown || e.is_retryable() => {
                *tally_recovered += 1;
                last = Some(e);
            }
            other => return other,
        }
    }
    Err(last.unwrap_or_else(|| payment::Error::new(ErrorKind::OutcomeUnknown, "still unknown")))
}

/// Runs `n` logical charges (and a partial refund of every other one) at `concurrency`.
pub async fn run(provider: &'static ProviderDriver, n: usize, seed: u64, concurrency: usize) -> Result<Tally, String> {
    let started = Instant::now();
    let engine = EngineBuilder::new(provider.name)
        .retry_policy(ExponentialBackoff { max_attempts: 12, ..ExponentialBackoff::default() }.with_seed(seed))
        .sleeper(Arc::new(ScaledSleeper));
    let target = targets::start(provider, engine).await?;
    target.control.set_faults(fault_plan(seed)).map_err(|e| e.to_string())?;
    let client: PaymentClient = target.client.clone();
    let refund_support = client.capabilities().idempotency.create_refund;
    let fixtures = (provider.fixtures)();
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let results: Vec<(usize, usize, usize, usize, usize)> = futures::stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let first_error = first_error.clone();
            let fixtures = fixtures.clone();
            let note = move |e: &payment::Error| {
                if let Ok(mut slot) = first_error.lock() {
                    slot.get_or_insert_with(|| e.to_string());
                }
            };
            async move {
                let (mut recovered, mut failed, mut unknown) = (0, 0, 0);
                let key = IdempotencyKey::new(format!("soak{seed}n{i}")).map_err(|e| e.to_string())?;
                let request = fixtures.charge(Some(format!("soak{seed}n{i}")));
                let options = RequestOptions::with_key(key);
                let charge = until_known(&mut recovered, || client.create_charge(request.clone(), &options)).await;
                let charge = match charge {
                    Ok(c) => c,
                    Err(e) => {
                        note(&e);
                        return Ok::<_, String>((0, 0, recovered, 1, 0));
                    }
                };
                let charge = match targets::settle(&client, charge).await {
                    Ok(c) => c,
                    Err(e) => {
                        note(&e);
                        return Ok((1, 0, recovered, 1, 0));
                    }
                };
                let mut refunded = 0;
                if i % 2 == 0 {
                    let part = Money::new(charge.amount.minor / 4, charge.amount.currency);
                    let rkey = IdempotencyKey::new(format!("soak{seed}n{i}r")).map_err(|e| e.to_string())?;
                    let request = CreateRefund::partial(charge.id.clone(), part).reason("soak");
                    let options = RequestOptions::with_key(rkey);
                    let result = if refund_support == IdempotencySupport::None {
                        client.create_refund(request, &options).await
                    } else {
                        until_known(&mut recovered, || client.create_refund(request.clone(), &options)).await
                    };
                    match result {
                        Ok(_) => refunded = 1,
                        Err(e) if e.outcome() == Outcome::Unknown => unknown += 1,
                        Err(e) => {
                            note(&e);
                            failed += 1;
                        }
                    }
                }
                Ok((1, refunded, recovered, failed, unknown))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<Result<_, String>>>()
        .await
        .into_iter()
        .collect::<Result<_, String>>()?;
    target.control.clear_faults();
    let stats = target.control.stats();
    let (requests, faulted) = target.control.kit().counts();
    let mut tally = Tally {
        charges: n,
        refunds: n.div_ceil(2),
        mock_charges: stats.charges,
        mock_refunds: stats.refunds,
        duplicate_references: stats.charges_by_reference.values().filter(|&&c| c > 1).count(),
        requests: usize::try_from(requests).unwrap_or(usize::MAX),
        faults: usize::try_from(faulted).unwrap_or(usize::MAX),
        ..Tally::default()
    };
    for (charged, refunded, recovered, failed, unknown) in results {
        tally.charged += charged;
        tally.refunded += refunded;
        tally.recovered += recovered;
        tally.failed += failed;
        tally.unknown_unrepeatable += unknown;
    }
    // A refund whose outcome stayed unknown may or may not have been applied: count what the mock did.
    tally.refunded += tally.mock_refunds.saturating_sub(tally.refunded).min(tally.unknown_unrepeatable);
    tally.elapsed = started.elapsed();
    tally.first_error = first_error.lock().ok().and_then(|e| e.clone());
    Ok(tally)
}
