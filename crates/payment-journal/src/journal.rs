//! `Journal`: the write-ahead record around every mutating call. Prepared is committed, then
//! Dispatched with the exact request (key and reference fixed), then the first byte goes out,
//! then the outcome is committed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use payment_core::transport::delivery::observe;
use payment_core::{
    CallJournal, CreateCharge, Error, ErrorKind, IdempotencyKey, Mutation, MutationOutput, PaymentClient,
    RequestOptions, Result,
};

use crate::record::{Attempt, AttemptRules, Begin, NewAttempt, Payment, StoredOutcome, Transition};
use crate::request::StoredRequest;
use crate::settle::settle;
use crate::state::AttemptState;
use crate::store::{JournalStore, is_fenced};

/// A moment in an attempt's life, reported to a [`Journal::on_checkpoint`] observer (the crash
/// tests stop the process at each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    /// Prepared is committed; nothing sent.
    Prepared,
    /// Dispatched is committed; the request is about to go out.
    Dispatched,
    /// The provider answered (or the call failed); the outcome is not recorded yet.
    Replied,
    /// The outcome is committed.
    Recorded,
}

impl Checkpoint {
    /// `prepared`, `dispatched`, `replied`, `recorded`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Checkpoint::Prepared => "prepared",
            Checkpoint::Dispatched => "dispatched",
            Checkpoint::Replied => "replied",
            Checkpoint::Recorded => "recorded",
        }
    }
}

/// How a journal holds and recovers attempts.
#[derive(Debug, Clone)]
pub struct JournalOptions {
    /// How long a client holds an attempt it sends: longer than the client's call deadline (the
    /// engine's `call_timeout`, config `timeout`), so no request is still in flight when recovery
    /// may take the attempt over. A per-call `RequestOptions::timeout` is kept inside it. The
    /// facade's `open_journal` sets it to the configured timeout plus five seconds.
    pub lease: Duration,
    /// How long a recovery worker holds an attempt it resolves (its calls are kept inside it); if
    /// the worker dies, the attempt waits this long for the next one.
    pub recovery_lease: Duration,
    /// The first wait before an attempt whose outcome recovery could not learn is tried again
    /// (doubling up to `max_backoff`).
    pub backoff: Duration,
    /// The longest such wait.
    pub max_backoff: Duration,
    /// How long after a sender's lease ran out its last request may still take effect at the
    /// provider (a request a provider keeps processing after its client gave up). Absence that
    /// would let a new attempt follow under a new key is concluded only after it.
    pub settle_horizon: Duration,
    /// How long a pending operation the provider gives no way to read back (a Worldpay refund:
    /// no refund object, only the payment's events) waits for the provider's event naming it
    /// before it goes to a person, instead of staying pending for ever.
    pub event_wait: Duration,
    /// How many claimed attempts recovery resolves at once (their lookups and resends wait on
    /// the provider, not the disk); the attempts of one charge within a claim are resolved one
    /// after another.
    pub recovery_concurrency: usize,
}

impl Default for JournalOptions {
    fn default() -> JournalOptions {
        JournalOptions {
            lease: Duration::from_secs(120),
            recovery_lease: Duration::from_secs(30),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            settle_horizon: Duration::from_secs(30),
            // Past the week over which providers retry an unacknowledged event.
            event_wait: Duration::from_secs(8 * 24 * 3600),
            recovery_concurrency: 8,
        }
    }
}

type Observer = Arc<dyn Fn(Checkpoint, &Attempt) + Send + Sync>;

/// A durable journal of payment attempts over a [`JournalStore`]; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn JournalStore>,
    pub(crate) options: JournalOptions,
    /// Who this journal writes as (leases, events): unique per process.
    pub(crate) owner: String,
    observer: Option<Observer>,
}

impl Journal {
    /// A journal over `store` with default options.
    pub fn new(store: Arc<dyn JournalStore>) -> Journal {
        Journal::with_options(store, JournalOptions::default())
    }

    /// A journal over `store`.
    pub fn with_options(store: Arc<dyn JournalStore>, options: JournalOptions) -> Journal {
        let owner = format!("pid{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]);
        Journal { inner: Arc::new(Inner { store, options, owner, observer: None }) }
    }

    /// This journal, reporting each checkpoint of each attempt to `observer` (metrics, tests).
    pub fn on_checkpoint(self, observer: impl Fn(Checkpoint, &Attempt) + Send + Sync + 'static) -> Journal {
        let inner = &self.inner;
        Journal {
            inner: Arc::new(Inner {
                store: inner.store.clone(),
                options: inner.options.clone(),
                owner: inner.owner.clone(),
                observer: Some(Arc::new(observer)),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn JournalStore> {
        &self.inner.store
    }

    /// The options.
    pub fn options(&self) -> &JournalOptions {
        &self.inner.options
    }

    /// Now on the store's clock (the database's, for a fleet's store).
    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.store.now_ms()
    }

    /// Who this journal writes as.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// The hook to hand to [`PaymentClient::with_journal`].
    pub fn hook(&self) -> Arc<dyn CallJournal> {
        Arc::new(self.clone())
    }

    /// One logical payment.
    pub async fn payment(&self, key: &str) -> Result<Option<Payment>> {
        self.inner.store.payment(key).await
    }

    fn checkpoint(&self, at: Checkpoint, attempt: &Attempt) {
        if let Some(o) = &self.inner.observer {
            o(at, attempt);
        }
    }

    /// Sends a Prepared attempt: fixes the request, commits Dispatched, sends, records.
    async fn run(
        &self,
        client: &PaymentClient,
        attempt: Attempt,
        mutation: Mutation,
        options: &RequestOptions,
    ) -> Result<MutationOutput> {
        self.checkpoint(Checkpoint::Prepared, &attempt);
        let store = &self.inner.store;
        let provider_key = IdempotencyKey::new(attempt.provider_key.clone())?;
        let mut send_options = options.clone();
        send_options.idempotency_key = Some(provider_key.clone());
        // A deadline the caller set is kept inside the lease; without one the client's own call
        // deadline applies, which the lease must outlast (see `JournalOptions::lease`).
        send_options.timeout = options.timeout.map(|t| t.min(inside(self.inner.options.lease)));
        let prepared = match mutation {
            Mutation::CreateCharge(request) => client
                .prepare_charge(
                    self.same_reference(request, &attempt).await.map_err(|e| {
                        not_this_call(&attempt, format!("the journal could not read the earlier attempts ({e})"))
                    })?,
                    &provider_key,
                    &send_options,
                )
                .await
                .map(Mutation::CreateCharge),
            Mutation::CreateRefund(request) => {
                let in_full = request.amount.is_none();
                match client.prepare_refund(request, &send_options).await {
                    // The provider names the whole amount and cannot read what is left: the rest
                    // is the journal's to work out.
                    Ok(prepared) if in_full && prepared.amount.is_some() && !client.capabilities().charge.retrieve => {
                        crate::remainder::the_rest(store.as_ref(), &attempt, prepared).await.map(Mutation::CreateRefund)
                    }
                    prepared => prepared.map(Mutation::CreateRefund),
                }
            }
            other => Ok(other),
        };
        let mutation = match prepared {
            Ok(m) => m,
            Err(e) => {
                // Only reads or a sub-request (a card's token) can have gone out: the operation
                // itself was not sent.
                let to = if e.http_status().is_some() && e.outcome() == payment_core::Outcome::Definite {
                    AttemptState::Declined
                } else {
                    AttemptState::NotSent
                };
                let t = Transition::to(&attempt, to, self.now_ms(), format!("preparing failed: {}", e.kind()))
                    .outcome(StoredOutcome::Error(crate::record::StoredError::of(&e)));
                if let Err(w) = store.transition(t).await {
                    tracing::warn!(target: "payment::journal", key_hash = %payment_core::telemetry::key_hash(&attempt.idempotency_key), error = %w, "could not record a failed preparation");
                }
                // Definite, as the sub-request's failure is: a router fails over on it. (A
                // concurrent call with the key may send a later attempt meanwhile; that call is
                // answered for itself.)
                return Err(e);
            }
        };
        let now = self.now_ms();
        let lease_until = now + millis(self.inner.options.lease);
        let mut dispatch =
            Transition::to(&attempt, AttemptState::Dispatched, now, format!("dispatched by {}", self.owner()))
                .leased(self.owner(), lease_until)
                .due(lease_until);
        dispatch.request = Some(StoredRequest::of(&mutation));
        let attempt = match store.transition(dispatch).await {
            Ok(a) => a,
            Err(e) if is_fenced(&e) => {
                return Err(not_this_call(
                    &attempt,
                    format!(
                        "attempt {} of payment {} was taken over by recovery before it was sent",
                        attempt.seq, attempt.idempotency_key
                    ),
                ));
            }
            Err(e) => return Err(self.undispatched(&attempt, e).await),
        };
        self.checkpoint(Checkpoint::Dispatched, &attempt);
        // The whole operation (several requests for some providers) ends inside the lease, so
        // nothing of it is still in flight when recovery may take the attempt over.
        // Measured after the Dispatched write, which may itself have waited (a busy database).
        let left = Duration::from_millis(u64::try_from(lease_until - self.now_ms()).unwrap_or(0));
        let (result, delivery) = observe(bounded(inside(left), send(client, mutation, &send_options))).await;
        self.checkpoint(Checkpoint::Replied, &attempt);
        let (state, outcome) = settle(&result, delivery);
        let now = self.now_ms();
        let mut t = Transition::to(&attempt, state, now, format!("{} by {}", state, self.owner())).outcome(outcome);
        if state.is_unresolved() {
            // Unknown and pending attempts are for recovery, which may take them at once.
            t = t.due(now);
        }
        match store.transition(t).await {
            Ok(recorded) => {
                self.checkpoint(Checkpoint::Recorded, &recorded);
                result
            }
            // A success stands: recovery finds the same answer. Any failure the journal could not
            // record is unknown to the caller: the attempt stays Dispatched, and recovery may yet
            // find it charged or send it again, so "failed" would not be true.
            Err(w) => {
                tracing::warn!(target: "payment::journal", key_hash = %payment_core::telemetry::key_hash(&attempt.idempotency_key), error = %w, "could not record an outcome");
                result.map_err(|e| {
                    let unknown = Error::new(
                        ErrorKind::OutcomeUnknown,
                        format!(
                            "{e}; the journal could not record this outcome ({w}), so recovery will settle payment {} again",
                            attempt.idempotency_key
                        ),
                    )
                    .with_provider(e.provider())
                    .with_operation(e.operation().unwrap_or(attempt.operation))
                    .with_provider_code(crate::store::JOURNAL_ANSWER);
                    with_key_of(unknown, &attempt)
                })
            }
        }
    }

    /// A Dispatched write that failed (not fenced): this call sent nothing. Either way the
    /// caller hears unknown: marked not sent, a concurrent call may send a later attempt; not
    /// marked, the write may have landed after all (a commit whose answer was lost) and recovery
    /// may send it.
    async fn undispatched(&self, attempt: &Attempt, error: Error) -> Error {
        let t =
            Transition::to(attempt, AttemptState::NotSent, self.now_ms(), format!("dispatch not recorded: {error}"));
        match self.inner.store.transition(t).await {
            Ok(_) => not_this_call(attempt, format!("the journal could not record the dispatch ({error})")),
            Err(w) => not_this_call(
                attempt,
                format!("the journal could not record the dispatch ({error}) nor that it was not sent ({w})"),
            ),
        }
    }

    /// A later attempt of a charge is sent with the reference its earlier attempts were (when the
    /// caller gave none, the provider derived it from the first attempt's key): a provider that
    /// refuses a reused reference then refuses a second charge even if an earlier attempt, proven
    /// absent, lands after all.
    async fn same_reference(&self, mut request: CreateCharge, attempt: &Attempt) -> Result<CreateCharge> {
        if attempt.seq > 1 && request.reference.is_none() {
            let payment = self.inner.store.payment(&attempt.idempotency_key).await?;
            request.reference = payment
                .iter()
                .flat_map(|p| p.attempts.iter())
                .filter(|a| a.seq < attempt.seq && a.dispatched_ms.is_some())
                .find_map(|a| a.request.reference().map(str::to_owned));
        }
        Ok(request)
    }

    /// After a completion, the charge attempts that awaited its customer are read back at once
    /// (by recovery, or by a repeat of their key) instead of after their backoff: the
    /// provider's word, not the completion's answer, settles them. Best effort: an attempt held
    /// by someone else, or a journal that cannot be written now, keeps its own schedule.
    async fn awaiting_due_now(&self, account: &str, charge: &payment_core::ChargeId) {
        let Ok(attempts) = self.inner.store.attempts_for(account, Some(charge.as_str()), None).await else { return };
        let now = self.now_ms();
        for a in
            attempts.iter().filter(|a| a.operation == payment_core::Operation::CreateCharge && a.state.is_unresolved())
        {
            if a.lease_until_ms.is_some_and(|until| until > now) || a.due_ms <= now {
                continue;
            }
            let t = Transition::to(a, a.state, now, "completed: read it back now").due(now);
            if let Err(e) = self.inner.store.transition(t).await {
                tracing::debug!(target: "payment::journal", error = %e, key_hash = %payment_core::telemetry::key_hash(&a.idempotency_key), "not made due");
            }
        }
    }

    /// Answers a call whose key the journal knows, recovering it first when it is unresolved.
    async fn answer(&self, payment: Payment) -> Result<Option<MutationOutput>> {
        let Some(latest) = payment.latest().cloned() else {
            return Err(Error::new(ErrorKind::Journal, format!("payment {} has no attempts", payment.idempotency_key)));
        };
        let key = &payment.idempotency_key;
        match latest.state {
            AttemptState::Succeeded => {
                latest.outcome.as_ref().and_then(StoredOutcome::to_output).map(Some).ok_or_else(|| {
                    Error::new(ErrorKind::Journal, format!("payment {key} succeeded but its record is missing"))
                })
            }
            AttemptState::Declined => Err(match &latest.outcome {
                Some(StoredOutcome::Error(e)) => e.to_error(),
                // Re-read as failed (a customer step that ended in a decline): a decline, with
                // the provider's code, never a request to fix.
                Some(StoredOutcome::Charge(c)) if c.status == payment_core::ChargeStatus::Failed => c.failure_error(),
                _ => Error::new(ErrorKind::InvalidRequest, format!("payment {key} was declined")),
            }),
            AttemptState::NeedsReconciliation => Err(Error::new(
                ErrorKind::OutcomeUnknown,
                format!("payment {key} needs reconciliation by a person: {}", note_of(&latest)),
            )
            .with_provider_code(crate::store::JOURNAL_ANSWER)),
            AttemptState::NotSent | AttemptState::ProvenAbsent => Ok(None),
            AttemptState::Pending | AttemptState::AwaitingCustomer => match &latest.outcome {
                Some(o) => Ok(o.to_output()),
                None => Ok(None),
            },
            AttemptState::Prepared | AttemptState::Dispatched | AttemptState::Unknown => Err(Error::new(
                ErrorKind::OutcomeUnknown,
                match latest.lease_until_ms.filter(|u| *u > self.now_ms()) {
                    Some(until) => format!(
                        "payment {key} is in flight elsewhere (held by {} for {} ms more); ask again then",
                        latest.lease_owner.as_deref().unwrap_or("another process"),
                        until - self.now_ms()
                    ),
                    None => format!("payment {key}'s outcome is still unknown; recovery will keep asking"),
                },
            )
            .with_provider_code(crate::store::JOURNAL_ANSWER)),
        }
    }
}

/// Sends one mutation through a client that has no journal.
pub(crate) async fn send(client: &PaymentClient, m: Mutation, options: &RequestOptions) -> Result<MutationOutput> {
    match m {
        Mutation::CreateCharge(r) => client.create_charge(r, options).await.map(MutationOutput::Charge),
        Mutation::CaptureCharge { charge_id, amount } => {
            client.capture_charge(&charge_id, amount, options).await.map(MutationOutput::Charge)
        }
        Mutation::CancelCharge { charge_id } => {
            client.cancel_charge(&charge_id, options).await.map(MutationOutput::Charge)
        }
        Mutation::CompleteCharge { charge_id, data } => {
            client.complete_charge(&charge_id, &data, options).await.map(MutationOutput::Charge)
        }
        Mutation::CreateRefund(r) => client.create_refund(r, options).await.map(MutationOutput::Refund),
    }
}

/// Runs one provider operation for at most `limit`; cut short, its outcome is unknown (a
/// request may be on the wire: the engine counts it as sent).
pub(crate) async fn bounded(
    limit: Duration,
    operation: impl std::future::Future<Output = Result<MutationOutput>>,
) -> Result<MutationOutput> {
    match tokio::time::timeout(limit, operation).await {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            ErrorKind::Timeout,
            format!("the operation did not finish within {limit:?}, inside the journal's lease"),
        )
        .into_outcome_unknown()),
    }
}

/// This call sent nothing, but the payment is not failed: recovery (a write that may have
/// landed) or another call with the key (a later attempt) may still send it, so only a repeat
/// with the same key learns the payment's answer. Never definite: a caller told "failed" might
/// charge again under a new key.
fn not_this_call(attempt: &Attempt, why: String) -> Error {
    unsent(&attempt.idempotency_key, why)
}

/// [`not_this_call`] for payment `key`, whose attempt may not be known.
fn unsent(key: &str, why: String) -> Error {
    let e = Error::new(
        ErrorKind::OutcomeUnknown,
        format!(
            "{why}; this call sent nothing for payment {key}, but it may yet be sent (by recovery or another call with its key): repeat with the same key"
        ),
    )
    .with_provider_code(crate::store::JOURNAL_ANSWER);
    match IdempotencyKey::new(key.to_owned()) {
        Ok(k) => e.with_idempotency_key(k),
        Err(_) => e,
    }
}

/// `e` carrying the caller's key of `attempt`'s payment, to repeat with (the key was checked when
/// the payment was prepared, so it always parses).
fn with_key_of(e: Error, attempt: &Attempt) -> Error {
    match IdempotencyKey::new(attempt.idempotency_key.clone()) {
        Ok(key) => e.with_idempotency_key(key),
        Err(_) => e,
    }
}

pub(crate) fn note_of(a: &Attempt) -> String {
    match &a.outcome {
        Some(StoredOutcome::Note(n)) => n.clone(),
        Some(StoredOutcome::Error(e)) => e.message.clone(),
        _ => a.state.to_string(),
    }
}

/// The longest a call may take under `lease`: the lease less a margin for the final write (a
/// quarter of it, at most a second), so no request is in flight when the lease runs out.
pub(crate) fn inside(lease: Duration) -> Duration {
    lease.saturating_sub((lease / 4).min(Duration::from_secs(1)))
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl CallJournal for Journal {
    async fn execute(
        &self,
        client: &PaymentClient,
        mutation: Mutation,
        options: &RequestOptions,
    ) -> Result<MutationOutput> {
        self.execute_with(client, mutation, options, AttemptRules::default()).await
    }
}

impl Journal {
    /// Like [`CallJournal::execute`] through `client` (its account recorded as the attempt's
    /// provider), with `rules` saying which earlier attempts of the payment the new one may
    /// follow: how a router fails a payment over to another account under the same key.
    pub async fn execute_with(
        &self,
        client: &PaymentClient,
        mutation: Mutation,
        options: &RequestOptions,
        rules: AttemptRules,
    ) -> Result<MutationOutput> {
        let key = options.key_or_generate();
        let request = StoredRequest::of(&mutation);
        // A known key is answered from the journal; an unresolved one is recovered first; a new
        // attempt follows only one that proved nothing happened. Three rounds cover
        // recover-then-retry; more would mean the journal is changing under us.
        // Leases are written on the shared clock: read again if the last reading has aged (a
        // failed reading keeps the last; the writes that follow report the database's trouble).
        if let Err(e) = self.inner.store.refresh_clock(false).await {
            tracing::warn!(target: "payment::journal", error = %e, "could not read the journal's clock again");
        }
        for _ in 0..3 {
            let now = self.now_ms();
            let new = NewAttempt {
                idempotency_key: key.as_str().to_owned(),
                account: client.account().to_owned(),
                request: request.clone(),
                lease_owner: self.owner().to_owned(),
                lease_until_ms: now + millis(self.inner.options.lease),
                now_ms: now,
                rules,
            };
            // A write whose answer was lost may have left an attempt that recovery marks not
            // sent, and a concurrent call may then send: never a definite failure here.
            let prepared = self.inner.store.prepare(new).await.map_err(|e| {
                // The store's own refusals (another request under the key, an attempt the rules
                // forbid) are definite; a write that failed is not.
                if e.kind() != ErrorKind::Journal {
                    return e;
                }
                unsent(key.as_str(), format!("the journal could not record an attempt ({e})"))
            })?;
            let payment = match prepared {
                Begin::Started(attempt) => {
                    let options = RequestOptions { idempotency_key: Some(key.clone()), ..options.clone() };
                    let completed = match &mutation {
                        Mutation::CompleteCharge { charge_id, .. } => Some(charge_id.clone()),
                        _ => None,
                    };
                    let result = self.run(client, *attempt, mutation, &options).await;
                    if let Some(charge) = completed {
                        self.awaiting_due_now(client.account(), &charge).await;
                    }
                    return result;
                }
                Begin::Existing(payment) => payment,
            };
            let unresolved = payment.latest().is_some_and(|a| a.state.is_unresolved());
            if let Some(elsewhere) = payment.latest().filter(|a| unresolved && a.account != client.account()) {
                // Only the account that holds an attempt can say what became of it.
                return Err(Error::new(
                    ErrorKind::OutcomeUnknown,
                    format!(
                        "payment {key}'s attempt {} at {} is unresolved; it is settled there, not at {}",
                        elsewhere.seq,
                        elsewhere.account,
                        client.account()
                    ),
                )
                .with_provider_code(crate::store::JOURNAL_ANSWER));
            }
            let payment = if unresolved {
                self.recover_payment(client, key.as_str()).await?;
                self.inner.store.payment(key.as_str()).await?.unwrap_or(payment)
            } else {
                payment
            };
            let state = payment.state;
            if let Some(output) = self.answer(payment).await? {
                // `payment -v` shows attempts; say where this answer came from instead.
                let how = if unresolved {
                    "answered from the journal after recovery settled it"
                } else {
                    "answered from the journal, no request sent"
                };
                tracing::debug!(
                    target: "payment::attempt",
                    operation = %request.operation(), idempotency_key = key.as_str(), state = state.as_str(), "{how}"
                );
                return Ok(output);
            }
        }
        Err(Error::new(ErrorKind::Journal, format!("payment {key} kept changing while it was answered; try again")))
    }
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("store", &self.inner.store.backend())
            .field("owner", &self.inner.owner)
            .field("options", &self.inner.options)
            .finish()
    }
}
