//! Recovery: settles attempts whose outcome a crash, a timeout or a lost answer left open, by
//! what each operation's capabilities say a repeat does.

use std::sync::Arc;
use std::time::Duration;

use crate::journal::{Journal, bounded, inside, millis, send};
use crate::lookup::{Looked, RefundBooks};
use crate::record::{Attempt, StoredOutcome, Transition};
use crate::resolution::by_charge;
pub use crate::resolution::{ClientSource, RecoveryEvent, RecoveryObserver, RecoveryReport, Resolution};
use crate::settle::{settle, state_of};
use crate::state::AttemptState;
use crate::store::{ClaimFilter, DueClaim, is_fenced};
use futures::FutureExt as _;
use futures::StreamExt as _;
use payment_core::transport::delivery::{Delivery, observe};
use payment_core::{
    ChargeId, Error, ErrorKind, IdempotencyKey, IdempotencySupport, MutationOutput, Operation, PaymentClient,
    RequestOptions, Result,
};

/// Why absence cannot be concluded yet: the attempt, sent at `sent_ms`, is still inside the
/// provider's visibility lag (a lookup may not show it yet).
fn inside_lag(client: &PaymentClient, sent_ms: i64, now_ms: i64) -> Option<String> {
    let lag = client.capabilities().idempotency.visibility_lag;
    (now_ms - sent_ms < millis(lag)).then(|| format!("inside {}'s visibility lag of {lag:?}", client.account()))
}

/// How a repeat of `operation` is honoured at this client's provider.
fn support_of(client: &PaymentClient, operation: Operation) -> IdempotencySupport {
    client.capabilities().idempotency.support(operation)
}

impl Journal {
    /// Why an attempt cannot be proven absent yet: inside the provider's visibility lag, or while
    /// its request may still land — the sender's lease (which bounds its last send) and the
    /// settle horizon after it (how long a provider may still act on a request its client gave
    /// up on). A new attempt follows a proven absence under a new key, so concluding it while
    /// the first request is still on its way would pay twice — unless the provider refuses the
    /// reference the new attempt reuses.
    fn too_soon_for_absence(&self, client: &PaymentClient, attempt: &Attempt) -> Option<String> {
        let sent_at = attempt.dispatched_ms.unwrap_or(attempt.created_ms);
        if let Some(wait) = inside_lag(client, sent_at, self.now_ms()) {
            return Some(wait);
        }
        // A charge whose provider refuses a reused reference: the next attempt is sent with the
        // same reference, so a late landing of this one makes it a duplicate, never a second charge.
        let refused_again = matches!(support_of(client, attempt.operation), IdempotencySupport::RejectDuplicate { .. })
            && attempt.operation == Operation::CreateCharge
            && attempt.request.reference().is_some();
        if refused_again {
            return None;
        }
        let options = &self.inner.options;
        self.still_landing_for(attempt).map(|ms| {
            format!(
                "its request may still land for {ms} ms (the sender's lease of {:?} and a settle horizon of {:?})",
                options.lease, options.settle_horizon
            )
        })
    }

    /// How many more milliseconds `attempt`'s request may still take effect at the provider —
    /// the sender's lease from its dispatch, then the settle horizon — or `None` once it cannot.
    /// Until then nothing may be sent for its payment anywhere its reference does not protect.
    pub fn still_landing_for(&self, attempt: &Attempt) -> Option<i64> {
        let options = &self.inner.options;
        let sent_at = attempt.dispatched_ms.unwrap_or(attempt.created_ms);
        let settled_after = sent_at + millis(options.lease) + millis(options.settle_horizon);
        let left = settled_after - self.now_ms();
        (left > 0).then_some(left)
    }

    /// Settles every attempt that is due now (unresolved, not held by a live writer), each
    /// claimed by this journal alone, connecting to providers through `clients`.
    pub async fn recover(&self, clients: &dyn ClientSource) -> Result<RecoveryReport> {
        self.recover_where(clients, &ClaimFilter::default()).await
    }

    /// Like [`Journal::recover`], for the attempts `filter` selects only (one provider's, say).
    pub async fn recover_where(&self, clients: &dyn ClientSource, filter: &ClaimFilter) -> Result<RecoveryReport> {
        self.recover_observed(clients, filter, &|_| {}).await
    }

    /// Like [`Journal::recover_where`], telling `observer` of each resolution as it is written.
    async fn recover_observed(
        &self,
        clients: &dyn ClientSource,
        filter: &ClaimFilter,
        observer: RecoveryObserver<'_>,
    ) -> Result<RecoveryReport> {
        self.inner.store.refresh_clock(true).await?;
        let began = self.now_ms();
        let mut report = RecoveryReport::default();
        loop {
            // Only what was due when this run began: an attempt it put back for later (the
            // provider down) waits for its backoff, instead of being asked again at once forever.
            // Each claim's lease is written on a fresh reading of the shared clock.
            self.inner.store.refresh_clock(true).await?;
            // A claim a worker can finish inside its lease: a few rounds of its concurrency.
            let concurrency = self.inner.options.recovery_concurrency.max(1);
            // The lease is written from a reading taken before the claim: the local deadline
            // starts no later, so waiting for the claim can only shorten the work, never
            // stretch it past the lease.
            let claiming = tokio::time::Instant::now();
            let limit = u32::try_from(concurrency.saturating_mul(4)).unwrap_or(256).min(256);
            let claimed = self.claim(filter, limit, began).await?;
            if claimed.is_empty() {
                return Ok(report);
            }
            // The batch shares one lease: each attempt is worked on only while it is still ours,
            // and what the lease cannot cover is left for the next claim.
            let until = claiming + inside(self.inner.options.recovery_lease);
            let groups = by_charge(claimed);
            let mut settled = futures::stream::iter(groups)
                .map(|group| self.resolve_group(clients, group, until))
                .buffer_unordered(concurrency);
            let mut failed = None;
            while let Some(results) = futures::StreamExt::next(&mut settled).await {
                for resolved in results {
                    match resolved {
                        Ok(r) => {
                            observer(RecoveryEvent::Resolved(&r));
                            report.resolutions.push(r);
                        }
                        // Someone else holds a newer version: they settled it, and their word stands.
                        Err(e) if is_fenced(&e) => {}
                        Err(e) => failed = failed.or(Some(e)),
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e);
            }
        }
    }

    /// Resolves one charge's claimed attempts one after another (their refunds are told apart
    /// by elimination, which needs the others' outcomes), each while the claim's lease lasts.
    async fn resolve_group(
        &self,
        clients: &dyn ClientSource,
        group: Vec<Attempt>,
        until: tokio::time::Instant,
    ) -> Vec<Result<Resolution>> {
        let mut known_refunds = RefundBooks::new();
        let mut out = Vec::with_capacity(group.len());
        for attempt in group {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                continue;
            }
            let span = tracing::info_span!(
                target: "payment::recovery",
                "payment.recover",
                otel.name = format_args!("payment recover {}", attempt.operation.as_str()),
                payment.account = attempt.account.as_str(),
                payment.operation = attempt.operation.as_str(),
                payment.idempotency_key_hash = payment_core::telemetry::key_hash(&attempt.idempotency_key),
                payment.journal.state = attempt.state.as_str(),
                payment.recovery.resolved_to = tracing::field::Empty,
            );
            let resolving = self.resolve_one(clients, attempt, left, &mut known_refunds);
            let resolved = tracing::Instrument::instrument(resolving, span.clone()).await;
            if let Ok(r) = &resolved {
                span.record("payment.recovery.resolved_to", r.to.as_str());
            }
            out.push(resolved);
        }
        out
    }

    /// Resolves one claimed attempt within `left`.
    async fn resolve_one(
        &self,
        clients: &dyn ClientSource,
        attempt: Attempt,
        left: Duration,
        known_refunds: &mut RefundBooks,
    ) -> Result<Resolution> {
        match clients.client_for(&attempt.account) {
            Ok(client) => {
                // A panic while resolving one attempt (a provider's client, say) puts that
                // attempt back with its backoff, so it cannot hold the front of every claim.
                let resolving =
                    std::panic::AssertUnwindSafe(self.resolve(&client, attempt.clone(), known_refunds)).catch_unwind();
                match tokio::time::timeout(left, resolving).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(_)) => self.later(attempt, "resolving it panicked".into()).await,
                    Err(_) => self.later(attempt, "recovery's lease ran out while resolving it".into()).await,
                }
            }
            Err(e) => self.later(attempt, format!("no client: {e}")).await,
        }
    }

    /// Like [`Journal::recover`], waiting for leases and backoffs to run out, for up to
    /// `within`; what is still unknown after that is in the report.
    pub async fn recover_within(&self, clients: &dyn ClientSource, within: Duration) -> Result<RecoveryReport> {
        self.recover_within_where(clients, within, &ClaimFilter::default()).await
    }

    /// Like [`Journal::recover_within`], for the attempts `filter` selects only.
    pub async fn recover_within_where(
        &self,
        clients: &dyn ClientSource,
        within: Duration,
        filter: &ClaimFilter,
    ) -> Result<RecoveryReport> {
        self.recover_within_observed(clients, within, filter, &|_| {}).await
    }

    /// Like [`Journal::recover_within_where`], telling `observer` of each resolution as it is
    /// written and of each wait (a live lease, a backoff) before it begins, so a caller can show
    /// recovery as it goes.
    pub async fn recover_within_observed(
        &self,
        clients: &dyn ClientSource,
        within: Duration,
        filter: &ClaimFilter,
        observer: RecoveryObserver<'_>,
    ) -> Result<RecoveryReport> {
        let deadline = tokio::time::Instant::now() + within;
        let mut report = self.recover_observed(clients, filter, observer).await?;
        loop {
            let Some(next) = self.inner.store.next_claimable_ms().await? else {
                return Ok(report);
            };
            let wait = Duration::from_millis(u64::try_from(next - self.now_ms()).unwrap_or(0));
            if tokio::time::Instant::now() + wait > deadline {
                return Ok(report);
            }
            if !wait.is_zero() {
                observer(RecoveryEvent::Waiting(wait));
            }
            tokio::time::sleep(wait).await;
            let more = self.recover_observed(clients, filter, observer).await?;
            // The latest word on each attempt replaces earlier ones.
            for r in more.resolutions {
                report.resolutions.retain(|o| !(o.idempotency_key == r.idempotency_key && o.seq == r.seq));
                report.resolutions.push(r);
            }
        }
    }

    /// Settles one logical payment's due attempt now (a caller repeating its key).
    pub(crate) async fn recover_payment(&self, client: &PaymentClient, key: &str) -> Result<()> {
        // Only this account's attempt: no attempt is ever settled through another's client.
        let filter = ClaimFilter { key: Some(key.to_owned()), account: Some(client.account().to_owned()) };
        self.inner.store.refresh_clock(true).await?;
        for attempt in self.claim(&filter, 1, self.now_ms()).await? {
            let mut books = RefundBooks::new();
            let resolving = self.resolve(client, attempt, &mut books);
            match tokio::time::timeout(inside(self.inner.options.recovery_lease), resolving).await {
                Ok(Ok(_)) => {}
                // Settled by someone else meanwhile: the caller reads what they wrote.
                Ok(Err(e)) if is_fenced(&e) => {}
                // A resend may have gone out before the journal failed: never a definite failure.
                Ok(Err(e)) => {
                    return Err(Error::new(
                        ErrorKind::OutcomeUnknown,
                        format!("payment {key} could not be settled: {e}; ask again with the same key"),
                    ));
                }
                Err(_) => {
                    return Err(Error::new(
                        ErrorKind::OutcomeUnknown,
                        format!(
                            "payment {key} could not be settled within the recovery lease; ask again with the same key"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Claims up to `limit` attempts that were due (and unleased) at `due_by`.
    async fn claim(&self, filter: &ClaimFilter, limit: u32, due_by: i64) -> Result<Vec<Attempt>> {
        let until = self.now_ms() + millis(self.inner.options.recovery_lease);
        let claim = DueClaim { now_ms: due_by, owner: &self.inner.owner, lease_until_ms: until, limit, filter };
        self.inner.store.claim_due(claim).await
    }

    fn backoff(&self, tries: i64) -> i64 {
        let base = millis(self.inner.options.backoff).max(1);
        let cap = millis(self.inner.options.max_backoff).max(base);
        base.saturating_mul(1_i64 << tries.clamp(0, 20)).min(cap)
    }

    async fn write(
        &self,
        attempt: &Attempt,
        to: AttemptState,
        outcome: Option<StoredOutcome>,
        how: String,
    ) -> Result<Resolution> {
        let now = self.now_ms();
        let mut t = Transition::to(attempt, to, now, format!("recovery by {}: {how}", self.inner.owner));
        t.recovery_try = true;
        if let Some(o) = outcome {
            t = t.outcome(o);
        }
        if to.is_unresolved() {
            t = t.due(now + self.backoff(attempt.recover_tries));
        }
        self.inner.store.transition(t).await?;
        Ok(Resolution::of(attempt, to, how))
    }

    /// Hands an attempt to a person: `needs_reconciliation`, with why.
    async fn to_person(&self, attempt: Attempt, why: String) -> Result<Resolution> {
        let note = format!("{why}, so a person must check the provider");
        self.write(&attempt, AttemptState::NeedsReconciliation, Some(StoredOutcome::Note(note.clone())), note).await
    }

    /// Leaves an attempt as it is, to be asked again after a backoff.
    async fn later(&self, attempt: Attempt, why: String) -> Result<Resolution> {
        let state = attempt.state;
        self.write(&attempt, state, None, format!("still unknown, asking again later ({why})")).await
    }

    async fn resolve(
        &self,
        client: &PaymentClient,
        attempt: Attempt,
        known_refunds: &mut RefundBooks,
    ) -> Result<Resolution> {
        let how = match attempt.state {
            AttemptState::Prepared => {
                return self
                    .write(&attempt, AttemptState::NotSent, None, "never dispatched: nothing was sent".into())
                    .await;
            }
            AttemptState::Pending | AttemptState::AwaitingCustomer => return self.reread(client, attempt).await,
            AttemptState::Dispatched | AttemptState::Unknown => support_of(client, attempt.operation),
            _ => return self.later(attempt, "not recoverable in this state".into()).await,
        };
        let window = client.capabilities().idempotency.replay_window;
        let sent_at = attempt.dispatched_ms.unwrap_or(attempt.created_ms);
        let in_window = self.now_ms() - sent_at < millis(window);
        match how {
            IdempotencySupport::Safe => self.resend(client, attempt, "resent: repeating it is safe", false).await,
            IdempotencySupport::Replay if in_window => {
                self.resend(client, attempt, "resent with the same key: the provider replays it", false).await
            }
            IdempotencySupport::RejectDuplicate { .. } => match self.look_up(client, &attempt, known_refunds).await {
                Ok(Looked::Found(output)) => self.found(attempt, *output, "found by its reference").await,
                Ok(Looked::Absent(why)) if attempt.request.to_mutation().is_err() => {
                    // Absent, but the request cannot be rebuilt (the journal keeps no card
                    // numbers): settled as absent, so the caller's repeat, which has the card,
                    // sends it again under a new attempt.
                    if let Some(wait) = self.too_soon_for_absence(client, &attempt) {
                        return self.later(attempt, wait).await;
                    }
                    let note = format!("proven absent: {why} (not resent: the journal cannot rebuild the request)");
                    self.write(&attempt, AttemptState::ProvenAbsent, Some(StoredOutcome::Note(note.clone())), note)
                        .await
                }
                Ok(Looked::Absent(why)) => {
                    let how = format!("proven absent ({why}), so resent with the same reference");
                    self.resend(client, attempt, &how, true).await
                }
                // A lookup that cannot look proves nothing, and a duplicate check may not span
                // calls (Worldpay's actions follow single-use links: a resend takes a fresh one
                // and would refund again): never a reason to resend.
                Ok(Looked::Cannot(why)) => {
                    if let Some(wait) = inside_lag(client, sent_at, self.now_ms()) {
                        return self.later(attempt, wait).await;
                    }
                    self.to_person(attempt, format!("{why}; not resent without proof it is absent")).await
                }
                Err(e) => self.later(attempt, format!("the lookup failed: {e}")).await,
            },
            // The key window has closed, or repeats are never safe: look, never resend.
            IdempotencySupport::Replay | IdempotencySupport::None => {
                if let Some(wait) = inside_lag(client, sent_at, self.now_ms()) {
                    return self.later(attempt, wait).await;
                }
                let why_not_resent = if matches!(how, IdempotencySupport::None) {
                    "never resent"
                } else {
                    "its replay window has closed"
                };
                match self.look_up(client, &attempt, known_refunds).await {
                    Ok(Looked::Found(output)) => self.found(attempt, *output, "found by lookup").await,
                    Ok(Looked::Absent(why)) => {
                        if let Some(wait) = self.too_soon_for_absence(client, &attempt) {
                            return self.later(attempt, format!("nothing found yet: {wait}")).await;
                        }
                        self.write(
                            &attempt,
                            AttemptState::ProvenAbsent,
                            Some(StoredOutcome::Note(why.clone())),
                            format!("proven absent: {why} ({why_not_resent})"),
                        )
                        .await
                    }
                    Ok(Looked::Cannot(why)) => self.to_person(attempt, format!("{why}; {why_not_resent}")).await,
                    Err(e) => self.later(attempt, format!("the lookup failed: {e}")).await,
                }
            }
        }
    }

    async fn found(&self, attempt: Attempt, output: MutationOutput, how: &str) -> Result<Resolution> {
        let to = state_of(&output);
        self.write(&attempt, to, Some(StoredOutcome::of_output(&output)), how.to_owned()).await
    }

    /// Sends the attempt's request again. Unless the original was `proven_absent`, the resend
    /// repeats a request that may have landed, so only what the provider says of the request
    /// itself (a success, a replay, a decline) settles it: a resend turned away (429) leaves the
    /// attempt as it was, and a resend refused for another reason (the refund is already made,
    /// say) goes to a person.
    async fn resend(
        &self,
        client: &PaymentClient,
        attempt: Attempt,
        how: &str,
        proven_absent: bool,
    ) -> Result<Resolution> {
        let mutation = match attempt.request.to_mutation() {
            Ok(m) => m,
            Err(e) => return self.to_person(attempt, e.message().to_owned()).await,
        };
        let options = RequestOptions {
            idempotency_key: Some(IdempotencyKey::new(attempt.provider_key.clone())?),
            timeout: Some(inside(self.inner.options.recovery_lease)),
        };
        let (result, delivery) =
            observe(bounded(inside(self.inner.options.recovery_lease), send(client, mutation, &options))).await;
        if let (Err(e), Delivery::NotSent) = (&result, delivery) {
            // A resend that never left says nothing about the original: it stays as it was.
            return self.later(attempt, format!("the resend was not sent: {e}")).await;
        }
        let (to, outcome) = settle(&result, delivery);
        let how = match &result {
            Ok(_) => how.to_owned(),
            Err(e) => format!("{how}: {}", e.kind()),
        };
        if let Err(e) = &result
            && !proven_absent
        {
            // "The customer has not finished" to a completion's resend says its charge's step is
            // still open: no completion (which the provider carries out once) has taken effect,
            // and the next one may go out under a new key.
            let step_open = attempt.operation == Operation::CompleteCharge && e.kind() == ErrorKind::ActionRequired;
            if to == AttemptState::ProvenAbsent && !step_open {
                return self
                    .later(attempt, format!("the resend was turned away ({e}); the original may have landed"))
                    .await;
            }
            if to == AttemptState::Declined && !matches!(e.kind(), ErrorKind::CardDeclined(_)) {
                return self
                    .to_person(attempt, format!("the resend was refused ({e}), and the original may have landed"))
                    .await;
            }
        }
        self.write(&attempt, to, Some(outcome), how).await
    }

    /// Re-reads an asynchronous charge or refund until it is final.
    async fn reread(&self, client: &PaymentClient, attempt: Attempt) -> Result<Resolution> {
        let read = match (&attempt.outcome, attempt.charge_id.as_deref(), attempt.refund_id.as_deref()) {
            (Some(StoredOutcome::Refund(r)), _, _) => {
                client.retrieve_refund(&r.charge_id, &r.id).await.map(MutationOutput::Refund)
            }
            (_, Some(charge), None) => client.retrieve_charge(&ChargeId::new(charge)).await.map(MutationOutput::Charge),
            _ => return self.later(attempt, "a pending attempt names nothing to read".into()).await,
        };
        match read {
            Ok(mut output) => {
                crate::settle::keep_action_url(attempt.outcome.as_ref(), &mut output);
                let to = state_of(&output);
                let how = match to {
                    AttemptState::Pending => "re-read: still pending",
                    AttemptState::AwaitingCustomer => "re-read: still awaiting the customer",
                    _ => "re-read: final",
                };
                self.write(&attempt, to, Some(StoredOutcome::of_output(&output)), how.into()).await
            }
            // Nothing to read: only the provider's event can finish it. Past the wait for one, a
            // person must look, rather than it stay pending for ever.
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                let wait = self.inner.options.event_wait;
                let since = attempt.dispatched_ms.unwrap_or(attempt.created_ms);
                if self.now_ms() - since >= millis(wait) {
                    return self.to_person(attempt, format!("{e}, and no event named it within {wait:?}")).await;
                }
                self.later(attempt, format!("waiting for the provider's event ({e})")).await
            }
            Err(e) => self.later(attempt, format!("re-reading failed: {e}")).await,
        }
    }
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Recovery in the background: every `interval`, settles whatever is due.
pub struct Recoverer {
    task: tokio::task::JoinHandle<()>,
}

impl Recoverer {
    /// Starts recovering `journal` through `clients` every `interval` on the current runtime.
    pub fn spawn(journal: Journal, clients: Arc<dyn ClientSource>, interval: Duration) -> Recoverer {
        let task = tokio::spawn(async move {
            loop {
                // Each run on a task of its own: a panic in one (a provider's client, say) is
                // reported, and recovery goes on with the next run.
                let (journal, clients) = (journal.clone(), clients.clone());
                // Aborted with the recoverer: a stopped recoverer leaves no run behind.
                let mut run = AbortOnDrop(tokio::spawn(async move { journal.recover(clients.as_ref()).await }));
                match (&mut run.0).await {
                    Ok(Ok(report)) => {
                        for r in &report.resolutions {
                            tracing::info!(target: "payment::journal", key_hash = %payment_core::telemetry::key_hash(&r.idempotency_key), from = %r.from, to = %r.to, how = %r.how, "recovered");
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(target: "payment::journal", error = %e, "recovery failed; trying again")
                    }
                    Err(e) => {
                        tracing::error!(target: "payment::journal", error = %e, "a recovery run panicked; trying again")
                    }
                }
                tokio::time::sleep(interval).await;
            }
        });
        Recoverer { task }
    }

    /// Stops it (also on drop).
    pub fn stop(self) {}
}

impl Drop for Recoverer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
