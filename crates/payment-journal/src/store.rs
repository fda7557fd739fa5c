//! `JournalStore`: where a journal keeps its rows (memory, SQLite, PostgreSQL), and the rules
//! every store applies the same way.

use std::fmt;

use async_trait::async_trait;
use payment_core::{Error, ErrorKind, IdempotencyKey, Result};

use crate::record::{Attempt, Begin, JournalEvent, NewAttempt, Payment, Transition};
use crate::state::AttemptState;

/// Storage for logical payments, attempts and events. Every write is one transaction; every
/// attempt write is fenced by its version.
#[async_trait]
pub trait JournalStore: Send + Sync + fmt::Debug {
    /// `memory`, `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// The concrete store (its pool, for an application sharing the database).
    fn as_any(&self) -> &dyn std::any::Any;
    /// Records a new Prepared attempt for `new`'s key, or returns the payment when it allows none
    /// now (it succeeded, was declined, or has an attempt still unresolved).
    async fn prepare(&self, new: NewAttempt) -> Result<Begin>;
    /// Applies one fenced write and appends its event; refused (see [`is_fenced`]) when the
    /// attempt's version is not the expected one or the state may not follow.
    async fn transition(&self, t: Transition) -> Result<Attempt>;
    /// Leases up to `claim.limit` unresolved attempts that are due and not leased to anyone (only
    /// those its filter selects) to its owner until its lease end; each is handed to exactly one
    /// claimer.
    async fn claim_due(&self, claim: DueClaim<'_>) -> Result<Vec<Attempt>>;
    /// One logical payment with its attempts.
    async fn payment(&self, key: &str) -> Result<Option<Payment>>;
    /// Logical payments (in `state`, when given), oldest first.
    async fn payments(&self, state: Option<AttemptState>) -> Result<Vec<Payment>>;
    /// A payment's transitions, in order.
    async fn events(&self, key: &str) -> Result<Vec<JournalEvent>>;
    /// The earliest moment an unresolved attempt becomes claimable (due and unleased), if any.
    async fn next_claimable_ms(&self) -> Result<Option<i64>>;
    /// Every attempt at `account` for the charge `charge_id`, or sent with `reference` (as their
    /// reference, or as the key itself: GSP's notifications name the request id).
    async fn attempts_for(
        &self,
        account: &str,
        charge_id: Option<&str>,
        reference: Option<&str>,
    ) -> Result<Vec<Attempt>>;
    /// One page of the charge attempts at `page.account` created in `[from_ms, to_ms)`, in
    /// (created, id) order after `page.after`: reconciliation streams the journal with it.
    async fn charge_attempts_created(&self, page: CreatedPage<'_>) -> Result<Vec<Attempt>>;
    /// Claims a webhook event for a delivery's handling until `lease_until_ms` (see
    /// [`payment_core::webhook::Inbox::claim`]): new, or in progress past its lease, is this
    /// delivery's; in progress or done is not.
    async fn claim_delivery(
        &self,
        provider: &str,
        event_id: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<payment_core::DeliveryClaim>;
    /// Marks a claimed webhook event handled, if its lease is still the one ending at
    /// `lease_until_ms` (a delivery that took it over since keeps it).
    async fn finish_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()>;
    /// Forgets a delivery the application did not take, if its lease is still the one ending at
    /// `lease_until_ms`.
    async fn forget_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()>;
    /// Now, in Unix milliseconds, on the clock every user of this store shares: leases, due
    /// times and settle horizons are written and compared in it (see [`crate::StoreClock`]).
    /// A store one host keeps (memory, SQLite) answers its wall clock.
    fn now_ms(&self) -> i64;
    /// Commits and writes of its group commit so far (`None`: a store that does not batch).
    fn commit_stats(&self) -> Option<crate::batch::CommitStats> {
        None
    }
    /// Reads the shared clock again: `always` before a recovery claim, else only when the last
    /// reading has aged. A store without a clock of its own has nothing to read.
    async fn refresh_clock(&self, _always: bool) -> Result<()> {
        Ok(())
    }
}

/// One page of [`JournalStore::charge_attempts_created`]: named fields, so the bounds and the
/// keyset position cannot be swapped.
#[derive(Debug, Clone, Copy)]
pub struct CreatedPage<'a> {
    /// The account (the `provider` column).
    pub account: &'a str,
    /// Created at or after (unix milliseconds).
    pub from_ms: i64,
    /// Created before (unix milliseconds).
    pub to_ms: i64,
    /// The last (created, id) of the previous page.
    pub after: Option<(i64, &'a str)>,
    /// At most this many.
    pub limit: u32,
}

/// One recovery claim: lease up to `limit` unresolved attempts due at `now_ms` (those `filter`
/// selects) to `owner` until `lease_until_ms`. Named fields, so the two instants cannot be swapped.
#[derive(Debug, Clone, Copy)]
pub struct DueClaim<'a> {
    /// Now, in the store's clock: attempts due by then are claimable.
    pub now_ms: i64,
    /// The claimer.
    pub owner: &'a str,
    /// When the lease ends.
    pub lease_until_ms: i64,
    /// At most this many.
    pub limit: u32,
    /// Which attempts.
    pub filter: &'a ClaimFilter,
}

/// Which due attempts a claim may take.
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    /// Only this logical payment's.
    pub key: Option<String>,
    /// Only this account's.
    pub account: Option<String>,
}

const FENCED: &str = "journal_fenced";
/// Marks an answer the journal itself gave (in flight elsewhere, still unknown, not recorded):
/// it says nothing about the provider's health.
pub(crate) const JOURNAL_ANSWER: &str = "journal_answer";

/// Whether `e` is the journal's own answer about a payment (in flight elsewhere, still being
/// recovered, an outcome it could not record), not the provider's.
pub fn is_journal_answer(e: &Error) -> bool {
    e.provider_code() == Some(JOURNAL_ANSWER)
}
const SECOND_SUCCESS: &str = "journal_second_success";

/// Whether `e` is a refused stale write: someone else holds a newer version of the attempt.
pub fn is_fenced(e: &Error) -> bool {
    e.kind() == ErrorKind::Journal && e.provider_code() == Some(FENCED)
}

/// Whether `e` is the one-success constraint refusing a second succeeded charge for one key.
pub fn is_second_success(e: &Error) -> bool {
    e.kind() == ErrorKind::Journal && e.provider_code() == Some(SECOND_SUCCESS)
}

pub(crate) fn fenced(attempt_id: &str, expected: i64) -> Error {
    Error::new(
        ErrorKind::Journal,
        format!("attempt {attempt_id} has moved past version {expected}: another writer holds it"),
    )
    .with_provider_code(FENCED)
}

pub(crate) fn second_success(key: &str) -> Error {
    Error::new(
        ErrorKind::Journal,
        format!("payment {key} already has a succeeded charge attempt; a second one is refused"),
    )
    .with_provider_code(SECOND_SUCCESS)
}

/// The same refusal named by the attempt: a SQL store learns of it from the database's
/// constraint, after which PostgreSQL reads nothing more in that transaction.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn second_success_of_attempt(attempt_id: &str) -> Error {
    Error::new(
        ErrorKind::Journal,
        format!("the payment of attempt {attempt_id} already has a succeeded charge attempt; a second one is refused"),
    )
    .with_provider_code(SECOND_SUCCESS)
}

/// The span of one journal write (`payment journal dispatched`): a child of the operation's span,
/// it shows how long the write waited for its commit.
pub(crate) fn write_span(store: &'static str, to: AttemptState) -> tracing::Span {
    tracing::info_span!(
        target: "payment::journal",
        "payment.journal",
        otel.name = format_args!("payment journal {}", to.as_str()),
        payment.journal.store = store,
        payment.journal.state = to.as_str(),
    )
}

/// A storage failure, with what was being done.
pub(crate) fn storage(what: &str, e: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Journal, format!("the journal could not {what}: {e}"))
}

/// What `prepare` must do, decided the same way by every store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Insert attempt `seq` with `provider_key` (and the payment itself when `new_payment`).
    Insert {
        /// The attempt number.
        seq: i64,
        /// The key sent to the provider.
        provider_key: String,
        /// Whether the payment row is new.
        new_payment: bool,
    },
    /// Return the payment as it is.
    Existing,
}

pub(crate) fn decide(existing: Option<&Payment>, new: &NewAttempt) -> Result<Decision> {
    let Some(payment) = existing else {
        return Ok(Decision::Insert { seq: 1, provider_key: new.idempotency_key.clone(), new_payment: true });
    };
    let operation = new.request.operation();
    if payment.operation != operation || (payment.account != new.account && !new.rules.other_account) {
        return Err(Error::new(
            ErrorKind::IdempotencyConflict,
            format!(
                "idempotency key {} was used for {} at {}, not {operation} at {}",
                payment.idempotency_key, payment.operation, payment.account, new.account
            ),
        ));
    }
    if payment.fingerprint != new.request.fingerprint() {
        return Err(Error::new(
            ErrorKind::IdempotencyConflict,
            format!("idempotency key {} was used for a different {operation} request", payment.idempotency_key),
        ));
    }
    match payment.latest() {
        Some(latest)
            if latest.state.allows_new_attempt()
                || (latest.state == AttemptState::Declined && new.rules.after_decline) =>
        {
            let seq = latest.seq + 1;
            // A provider that never saw the key may get it again; otherwise each attempt has its own.
            let provider_key = if payment.attempts.iter().all(|a| a.dispatched_ms.is_none()) {
                new.idempotency_key.clone()
            } else {
                let key = IdempotencyKey::new(new.idempotency_key.clone())?;
                key.derive(&attempt_suffix(&key, seq))?.as_str().to_owned()
            };
            Ok(Decision::Insert { seq, provider_key, new_payment: false })
        }
        _ => Ok(Decision::Existing),
    }
}

/// The suffix of attempt `seq`'s provider key: the number and a digest of the caller's key, so
/// no caller's own key (`order-7-a2`, a scheme that numbers its retries) is ever another
/// payment's attempt key.
pub(crate) fn attempt_suffix(key: &IdempotencyKey, seq: i64) -> String {
    let digest = payment_core::hex::lower(&payment_core::crypto::sha256(key.as_str().as_bytes())[..4]);
    format!("-a{seq}-{digest}")
}

/// Checks a transition against the attempt it writes; shared by every store.
pub(crate) fn check_transition(current: &Attempt, t: &Transition) -> Result<()> {
    if current.version != t.expected_version {
        return Err(fenced(&t.attempt_id, t.expected_version));
    }
    // The same state again is a re-lease or a refreshed record, not a move.
    if current.state != t.to && !current.state.may_become(t.to) {
        return Err(fenced(&t.attempt_id, t.expected_version)
            .with_provider_message(format!("{} may not become {}", current.state, t.to)));
    }
    Ok(())
}

/// The attempt after `t` (already checked).
pub(crate) fn apply(current: &Attempt, t: &Transition) -> Attempt {
    let mut a = current.clone();
    a.state = t.to;
    a.version += 1;
    if let Some(r) = &t.request {
        a.request = r.clone();
    }
    if t.to == AttemptState::Dispatched && a.dispatched_ms.is_none() {
        a.dispatched_ms = Some(t.now_ms);
    }
    a.charge_id = t.charge_id.clone().or(a.charge_id);
    a.refund_id = t.refund_id.clone().or(a.refund_id);
    if t.outcome.is_some() {
        a.outcome = t.outcome.clone();
    }
    a.updated_ms = t.now_ms;
    a.due_ms = t.due_ms;
    a.lease_owner = t.lease_owner.clone();
    a.lease_until_ms = t.lease_until_ms;
    a.recover_tries += i64::from(t.recovery_try);
    a
}

/// Every attempt at `account` on one charge: those naming `charge_id` or sent with `reference`,
/// and those naming another form of the charge's id that a charge attempt among them recorded
/// (`made` picks those: Worldpay's create answers carry link data its lists' ids lack).
pub async fn attempts_on_charge(
    store: &dyn JournalStore,
    account: &str,
    charge_id: &str,
    reference: Option<&str>,
    made: impl Fn(&Attempt) -> bool,
) -> Result<Vec<Attempt>> {
    let mut attempts = store.attempts_for(account, Some(charge_id), reference).await?;
    let other_ids: Vec<String> =
        attempts.iter().filter(|a| made(a)).filter_map(|a| a.charge_id.clone()).filter(|id| id != charge_id).collect();
    for id in other_ids {
        for a in store.attempts_for(account, Some(&id), None).await? {
            if !attempts.iter().any(|b| b.id == a.id) {
                attempts.push(a);
            }
        }
    }
    Ok(attempts)
}
