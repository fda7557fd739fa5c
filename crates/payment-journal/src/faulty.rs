//! `FaultyStore`: a [`JournalStore`] that fails, loses or delays chosen writes, for tests and
//! soaks that prove a journal write the store could not make never turns into a second charge
//! or a caller told "failed" when money moved.

use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use payment_core::{Error, ErrorKind, Result};

use crate::record::{Attempt, Begin, JournalEvent, NewAttempt, Payment, Transition};
use crate::state::AttemptState;
use crate::store::{DueClaim, JournalStore};

/// Which store call a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreStep {
    /// Recording a new Prepared attempt.
    Prepare,
    /// A write moving an attempt to this state (Dispatched, an outcome, a re-lease).
    Transition(AttemptState),
    /// Recovery claiming due attempts.
    Claim,
}

/// What the fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFault {
    /// The write is not made and the caller gets a journal error (a locked database).
    Fail,
    /// The write is made, but its answer is lost: the caller gets a journal error (a commit
    /// whose acknowledgement never arrived).
    LoseCommit,
    /// The write waits this long first (a long writer, a backup holding the lock).
    Delay(Duration),
}

#[derive(Debug)]
struct Rule {
    step: StoreStep,
    fault: StoreFault,
    remaining: u32,
}

/// A store that injects [`StoreFault`]s into another; cheap to share.
pub struct FaultyStore {
    inner: Arc<dyn JournalStore>,
    rules: Mutex<Vec<Rule>>,
    fired: Mutex<Vec<(StoreStep, StoreFault)>>,
}

impl FaultyStore {
    /// Wraps `inner` with no faults.
    pub fn new(inner: Arc<dyn JournalStore>) -> FaultyStore {
        FaultyStore { inner, rules: Mutex::default(), fired: Mutex::default() }
    }

    /// Makes the next `times` calls of `step` do `fault`.
    pub fn inject(&self, step: StoreStep, fault: StoreFault, times: u32) {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).push(Rule { step, fault, remaining: times });
    }

    /// Removes every fault not yet fired.
    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Every fault fired so far, in order.
    pub fn fired(&self) -> Vec<(StoreStep, StoreFault)> {
        self.fired.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn take(&self, step: StoreStep) -> Option<StoreFault> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let rule = rules.iter_mut().find(|r| r.step == step && r.remaining > 0)?;
        rule.remaining -= 1;
        let fault = rule.fault;
        rules.retain(|r| r.remaining > 0);
        self.fired.lock().unwrap_or_else(|p| p.into_inner()).push((step, fault));
        Some(fault)
    }

    /// Runs `write` under the fault planned for `step`, if any.
    async fn faulted<T>(&self, step: StoreStep, write: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        match self.take(step) {
            None => write.await,
            Some(StoreFault::Fail) => Err(injected(step, "database is locked")),
            Some(StoreFault::LoseCommit) => {
                write.await?;
                Err(injected(step, "the connection closed before the commit was acknowledged"))
            }
            Some(StoreFault::Delay(d)) => {
                tokio::time::sleep(d).await;
                write.await
            }
        }
    }
}

fn injected(step: StoreStep, what: &str) -> Error {
    Error::new(ErrorKind::Journal, format!("the journal could not write ({step:?}): {what} (injected fault)"))
}

impl fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyStore").field("inner", &self.inner).finish_non_exhaustive()
    }
}

#[async_trait]
impl JournalStore for FaultyStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }
    async fn refresh_clock(&self, always: bool) -> Result<()> {
        self.inner.refresh_clock(always).await
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self.inner.as_any()
    }
    async fn prepare(&self, new: NewAttempt) -> Result<Begin> {
        self.faulted(StoreStep::Prepare, self.inner.prepare(new)).await
    }
    async fn transition(&self, t: Transition) -> Result<Attempt> {
        self.faulted(StoreStep::Transition(t.to), self.inner.transition(t)).await
    }
    async fn claim_due(&self, claim: DueClaim<'_>) -> Result<Vec<Attempt>> {
        self.faulted(StoreStep::Claim, self.inner.claim_due(claim)).await
    }
    async fn payment(&self, key: &str) -> Result<Option<Payment>> {
        self.inner.payment(key).await
    }
    async fn payments(&self, state: Option<AttemptState>) -> Result<Vec<Payment>> {
        self.inner.payments(state).await
    }
    async fn events(&self, key: &str) -> Result<Vec<JournalEvent>> {
        self.inner.events(key).await
    }
    async fn next_claimable_ms(&self) -> Result<Option<i64>> {
        self.inner.next_claimable_ms().await
    }
    async fn attempts_for(&self, account: &str, charge: Option<&str>, reference: Option<&str>) -> Result<Vec<Attempt>> {
        self.inner.attempts_for(account, charge, reference).await
    }

    async fn charge_attempts_created(&self, page: crate::store::CreatedPage<'_>) -> Result<Vec<Attempt>> {
        self.inner.charge_attempts_created(page).await
    }
    async fn claim_delivery(
        &self,
        provider: &str,
        event_id: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<payment_core::DeliveryClaim> {
        self.inner.claim_delivery(provider, event_id, now_ms, lease_until_ms).await
    }
    async fn finish_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()> {
        self.inner.finish_delivery(provider, event_id, lease_until_ms).await
    }
    async fn forget_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()> {
        self.inner.forget_delivery(provider, event_id, lease_until_ms).await
    }
}
