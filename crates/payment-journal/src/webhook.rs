//! Webhooks into the journal: a durable inbox, and events that settle the attempts they name —
//! monotonically, since deliveries come in any order (a late `pending` never undoes `succeeded`).

use async_trait::async_trait;
use payment_core::webhook::Inbox;
use payment_core::{EventKind, EventRecord, Operation, Result, Trust, WebhookEvent};

use crate::journal::Journal;
use crate::record::{Attempt, StoredOutcome, Transition};
use crate::recover::Resolution;
use crate::request::StoredRequest;
use crate::state::AttemptState;

/// The state an event proves for an attempt of `operation`, if it proves one.
fn proven(operation: Operation, kind: &EventKind) -> Option<AttemptState> {
    use EventKind as K;
    match operation {
        Operation::CreateCharge => match kind {
            K::ChargeSucceeded | K::ChargeCaptured | K::ChargeAuthorized => Some(AttemptState::Succeeded),
            K::ChargeFailed => Some(AttemptState::Declined),
            K::ChargePending => Some(AttemptState::Pending),
            _ => None,
        },
        Operation::CaptureCharge => {
            matches!(kind, K::ChargeCaptured | K::ChargeSucceeded).then_some(AttemptState::Succeeded)
        }
        Operation::CancelCharge => matches!(kind, K::ChargeCanceled).then_some(AttemptState::Succeeded),
        // A completion ends as its charge does.
        Operation::CompleteCharge => match kind {
            K::ChargeSucceeded | K::ChargeCaptured | K::ChargeAuthorized => Some(AttemptState::Succeeded),
            K::ChargeFailed => Some(AttemptState::Declined),
            _ => None,
        },
        Operation::CreateRefund => match kind {
            K::RefundSucceeded => Some(AttemptState::Succeeded),
            K::RefundFailed => Some(AttemptState::Declined),
            K::RefundPending => Some(AttemptState::Pending),
            _ => None,
        },
        // The journal records only mutations; an event proves nothing about a read.
        payment_core::non_mutations!() => None,
    }
}

impl Journal {
    /// Settles the unresolved attempts a verified event names (by charge id or reference).
    /// A body-verified event carrying the charge settles at once; a sender-only event (PAY.JP's
    /// token) or one without the charge makes the attempt due now, so recovery reads the charge
    /// back before anything is trusted.
    ///
    /// A success for a charge attempt the journal holds as having done nothing (not sent, proven
    /// absent, declined) is a **late success**: the attempt becomes `needs_reconciliation` and
    /// is reported (see [`Resolution::is_late_success`]); when the payment succeeded elsewhere
    /// too, that is a double charge for the router (or a person) to reverse.
    pub async fn apply_event(&self, event: &WebhookEvent) -> Result<Vec<Resolution>> {
        let store = self.store();
        let mut attempts =
            store.attempts_for(&event.provider, event.object_id.as_deref(), event.reference.as_deref()).await?;
        if is_refund_event(&event.kind) && event.object_id.is_none() {
            // A refund event named by the payment's reference alone (Worldpay's): the refunds are
            // the attempts on the charge that reference made. A refund whose own reference
            // merely equals that text is another payment's.
            let charges: Vec<String> = attempts
                .iter()
                .filter(|a| a.operation == Operation::CreateCharge)
                .filter_map(|a| a.charge_id.clone())
                .collect();
            attempts.retain(|a| a.operation != Operation::CreateRefund);
            for charge in charges {
                for a in store.attempts_for(&event.provider, Some(&charge), None).await? {
                    if !attempts.iter().any(|known| known.id == a.id) {
                        attempts.push(a);
                    }
                }
            }
        }
        if let Some(own) = event.refund_reference.as_deref()
            && is_refund_event(&event.kind)
            && event.object_id.is_none()
            && !attempts.iter().any(|a| a.operation == Operation::CreateRefund && a.request.reference() == Some(own))
            && attempts.iter().any(|a| {
                a.operation == Operation::CreateCharge
                    && a.state.is_unresolved()
                    && a.charge_id.is_none()
                    // Not for ever: past the wait for events the refund goes to a person anyway.
                    && self.now_ms() - a.created_ms < crate::journal::millis(self.options().event_wait)
            })
        {
            // The payment's charge is not settled here yet (its answer is still being recovered),
            // so its refunds cannot be found: the provider delivers the event again later.
            return Err(payment_core::Error::new(
                payment_core::ErrorKind::Journal,
                format!(
                    "refund {own}'s event names a payment whose charge the journal is still settling; deliver it again later"
                ),
            ));
        }
        let mut done = Vec::new();
        for attempt in &attempts {
            let attempt = attempt.clone();
            let Some(to) = proven(attempt.operation, &event.kind) else { continue };
            let exact = names_refund_exactly(&attempt, event, &attempts);
            if exact && attempt.state == AttemptState::Prepared {
                // Not sent yet: the event cannot be about it.
                continue;
            }
            // The provider's own word on this very refund is what a person was asked to find.
            let for_a_person = exact && attempt.state == AttemptState::NeedsReconciliation && !to.is_unresolved();
            if !attempt.state.is_unresolved() && !for_a_person {
                let late = if exact { self.late_refund(&attempt, to, event).await? } else { None };
                if let Some(r) = late.or(self.late_success(&attempt, to, event, &attempts).await?) {
                    done.push(r);
                }
                continue;
            }
            let now = self.now_ms();
            let record = match &event.record {
                EventRecord::Charge(c)
                    if event.trust == Trust::Verified && attempt.operation != Operation::CreateRefund =>
                {
                    Some(StoredOutcome::Charge(c.clone()))
                }
                EventRecord::Refund(r) if event.trust == Trust::Verified => Some(StoredOutcome::Refund(r.clone())),
                _ if event.trust == Trust::Verified && exact => refund_named(&attempt, to, event),
                _ if event.trust == Trust::Verified => refund_settled(&attempt, to, event, &attempts),
                _ => None,
            };
            let (t, how) = match record {
                Some(outcome) if attempt.state.may_become(to) => {
                    let mut t =
                        Transition::to(&attempt, to, now, format!("webhook {} ({})", event.id, event.kind.as_str()))
                            .outcome(outcome);
                    if to.is_unresolved() {
                        t = t.due(now + 1000);
                    }
                    (t, format!("settled by webhook {} ({})", event.id, event.kind.as_str()))
                }
                Some(_) => continue,
                None if leased(&attempt, now) => continue,
                None => {
                    let t =
                        Transition::to(&attempt, attempt.state, now, format!("webhook {}: read it back now", event.id));
                    (
                        t,
                        format!(
                            "due now: webhook {} ({}) is {} only",
                            event.id,
                            event.kind.as_str(),
                            trust_word(event)
                        ),
                    )
                }
            };
            let to = t.to;
            match store.transition(t).await {
                Ok(_) => done.push(Resolution::of(&attempt, to, how)),
                // Someone settled or took it meanwhile: their word stands.
                Err(e) if crate::store::is_fenced(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl Journal {
    /// A refund an event names exactly as accepted or made, that the journal settled as having
    /// done nothing (declined, not sent, proven absent): it landed after all, so a person must
    /// reconcile it (its payment may have been refunded again under a later attempt).
    async fn late_refund(
        &self,
        attempt: &Attempt,
        to: AttemptState,
        event: &WebhookEvent,
    ) -> Result<Option<Resolution>> {
        let nothing_happened =
            matches!(attempt.state, AttemptState::NotSent | AttemptState::ProvenAbsent | AttemptState::Declined);
        if to == AttemptState::Declined || !nothing_happened {
            return Ok(None);
        }
        let how = format!(
            "late refund: webhook {} ({}) says refund {} was made, but the attempt was settled {}",
            event.id,
            event.kind.as_str(),
            event.refund_reference.as_deref().unwrap_or("?"),
            attempt.state
        );
        tracing::error!(target: "payment::journal", key_hash = %payment_core::telemetry::key_hash(&attempt.idempotency_key), seq = attempt.seq, provider = %attempt.account, "{how}");
        let t = Transition::to(attempt, AttemptState::NeedsReconciliation, self.now_ms(), how.clone())
            .outcome(StoredOutcome::Note(how.clone()));
        self.hand_to_person(attempt, t, how).await
    }

    /// Writes `t` (to `needs_reconciliation`); someone who settled the attempt meanwhile wins.
    async fn hand_to_person(&self, attempt: &Attempt, t: Transition, how: String) -> Result<Option<Resolution>> {
        match self.store().transition(t).await {
            Ok(_) => Ok(Some(Resolution::of(attempt, AttemptState::NeedsReconciliation, how))),
            Err(e) if crate::store::is_fenced(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records a success `event` proves for an attempt that was settled as having done nothing.
    /// `named` are every attempt the event names (by charge id or reference), of any payment.
    async fn late_success(
        &self,
        attempt: &Attempt,
        to: AttemptState,
        event: &WebhookEvent,
        named: &[Attempt],
    ) -> Result<Option<Resolution>> {
        let nothing_happened =
            matches!(attempt.state, AttemptState::NotSent | AttemptState::ProvenAbsent | AttemptState::Declined);
        if to != AttemptState::Succeeded || attempt.operation != Operation::CreateCharge || !nothing_happened {
            return Ok(None);
        }
        // Matched by reference alone, the event may be another attempt's at the same provider
        // (the same reference is sent on every attempt): that one explains it, so this is not late.
        if let (Some(own), Some(named)) = (attempt.charge_id.as_deref(), event.object_id.as_deref())
            && own != named
        {
            return Ok(None);
        }
        // A charge another payment holds (it succeeded there, or is still in flight there) is that
        // payment's, never a late success of this one: payments may share a reference (a retry
        // of an order under a new key after a decline).
        if let Some(holder) = named
            .iter()
            .find(|a| a.idempotency_key != attempt.idempotency_key && may_hold_charge(a, event.object_id.as_deref()))
        {
            tracing::debug!(target: "payment::journal", key_hash = %payment_core::telemetry::key_hash(&attempt.idempotency_key), holder_hash = %payment_core::telemetry::key_hash(&holder.idempotency_key), "an event for another payment's charge");
            return Ok(None);
        }
        if let Some(payment) = self.store().payment(&attempt.idempotency_key).await? {
            let explained = payment.attempts.iter().any(|a| {
                a.id != attempt.id
                    && a.account == attempt.account
                    && (a.state.is_unresolved()
                        || a.state == AttemptState::Succeeded
                        || (event.object_id.is_some() && a.charge_id == event.object_id))
            });
            if explained {
                return Ok(None);
            }
        }
        let charge = event.object_id.as_deref().unwrap_or("(not named)");
        let how = format!(
            "late success: webhook {} ({}, {}) says charge {charge} exists, but the attempt was settled {}",
            event.id,
            event.kind.as_str(),
            trust_word(event),
            attempt.state
        );
        tracing::error!(target: "payment::journal", key_hash = %payment_core::telemetry::key_hash(&attempt.idempotency_key), seq = attempt.seq, provider = %attempt.account, charge, "{how}");
        let outcome = match &event.record {
            EventRecord::Charge(c) if event.trust == Trust::Verified => StoredOutcome::Charge(c.clone()),
            _ => StoredOutcome::Note(how.clone()),
        };
        let mut t =
            Transition::to(attempt, AttemptState::NeedsReconciliation, self.now_ms(), how.clone()).outcome(outcome);
        if t.charge_id.is_none() {
            t.charge_id = event.object_id.clone();
        }
        self.hand_to_person(attempt, t, how).await
    }
}

fn is_refund_event(kind: &EventKind) -> bool {
    matches!(kind, EventKind::RefundSucceeded | EventKind::RefundFailed | EventKind::RefundPending)
}

/// Whether `event` names `attempt`'s refund by the refund's own reference (fixed before it was
/// sent: Worldpay's partial refunds): `named` are the refunds of the charge the event's payment
/// reference names, and exactly one of them, this one, was sent with that reference.
fn names_refund_exactly(attempt: &Attempt, event: &WebhookEvent, named: &[Attempt]) -> bool {
    let Some(own) = event.refund_reference.as_deref() else { return false };
    let sent_with = |a: &Attempt| a.operation == Operation::CreateRefund && a.request.reference() == Some(own);
    is_refund_event(&event.kind)
        && event.object_id.is_none()
        && sent_with(attempt)
        && named.iter().filter(|a| sent_with(a)).count() == 1
}

/// The outcome an event that names a refund exactly proves: the refund as recorded (or, when
/// the answer to sending it was lost, as the journal sent it, under the id a provider without
/// refund objects gives it), in the state the event says. The amount is the event's, else the
/// one sent; with neither, nothing is proven.
fn refund_named(attempt: &Attempt, to: AttemptState, event: &WebhookEvent) -> Option<StoredOutcome> {
    let StoredRequest::CreateRefund { charge_id, amount, reason, reference: Some(reference), .. } = &attempt.request
    else {
        return None;
    };
    let status = match to {
        AttemptState::Succeeded => payment_core::RefundStatus::Succeeded,
        AttemptState::Declined => payment_core::RefundStatus::Failed,
        _ => payment_core::RefundStatus::Pending,
    };
    // An event about another amount is not about this refund.
    if let (Some(sent), Some(stated)) = (amount, event.amount)
        && *sent != stated
    {
        return None;
    }
    let mut refund = match &attempt.outcome {
        Some(StoredOutcome::Refund(recorded)) => (**recorded).clone(),
        _ => payment_core::RefundRecord {
            provider: event.provider.clone(),
            id: payment_core::RefundId::synthesized(charge_id, reference),
            charge_id: charge_id.clone(),
            status,
            amount: amount.or(event.amount)?,
            reason: reason.clone(),
            created: event.occurred_at.unwrap_or_else(payment_core::Timestamp::now),
            raw: payment_core::RawJson::from(event.raw.clone()),
        },
    };
    if event.amount.is_some_and(|a| a != refund.amount) {
        return None;
    }
    refund.status = status;
    Some(StoredOutcome::Refund(Box::new(refund)))
}

/// A refund's outcome from a verified event that names its charge but carries no refund (Worldpay
/// has no refund objects: its events are the payment's): the refund the attempt recorded, now
/// succeeded — only for a success, when it is the one open refund of that charge, no other
/// refund of it waits for a person, and the event states its amount.
fn refund_settled(
    attempt: &Attempt,
    to: AttemptState,
    event: &WebhookEvent,
    named: &[Attempt],
) -> Option<StoredOutcome> {
    let Some(StoredOutcome::Refund(recorded)) = &attempt.outcome else { return None };
    let refunds = || named.iter().filter(|a| a.operation == Operation::CreateRefund);
    let open = refunds().filter(|a| a.state.is_unresolved()).count();
    // One with a person is a refund whose fate is not known: the event may be its.
    let with_a_person = refunds().any(|a| a.state == AttemptState::NeedsReconciliation);
    // Only a success is settled by elimination, and only of the stated amount: a failure told
    // by elimination would tell a caller "failed" of a refund that may yet have gone through.
    if attempt.operation != Operation::CreateRefund
        || to != AttemptState::Succeeded
        || open != 1
        || with_a_person
        || event.amount != Some(recorded.amount)
    {
        return None;
    }
    let mut refund = recorded.clone();
    refund.status = payment_core::RefundStatus::Succeeded;
    Some(StoredOutcome::Refund(refund))
}

/// Whether a charge attempt `a` may be the one a charge belongs to: it succeeded with that
/// charge (any charge when `charge` is not known), or it is still open — its answer, and so its
/// charge id, may not be recorded yet. A late success or a reversal must leave such a charge be.
pub fn may_hold_charge(a: &Attempt, charge: Option<&str>) -> bool {
    if a.operation != Operation::CreateCharge {
        return false;
    }
    if a.state.is_unresolved() {
        return true;
    }
    a.state == AttemptState::Succeeded && charge.is_none_or(|c| a.charge_id.as_deref() == Some(c))
}

fn leased(a: &Attempt, now: i64) -> bool {
    a.lease_until_ms.is_some_and(|u| u > now)
}

fn trust_word(event: &WebhookEvent) -> &'static str {
    match (event.trust, &event.record) {
        (Trust::SenderOnly, _) => "sender-verified",
        (Trust::Verified, EventRecord::Charge(_)) => "verified",
        (Trust::Verified, _) => "without the charge",
    }
}

/// The journal is a durable inbox: deliveries are deduplicated across restarts and instances, and
/// an event whose handling died is handled again once its lease runs out.
#[async_trait]
impl Inbox for Journal {
    async fn claim(
        &self,
        provider: &str,
        event_id: &str,
        lease: std::time::Duration,
    ) -> Result<payment_core::DeliveryClaim> {
        let now = self.now_ms();
        self.store().claim_delivery(provider, event_id, now, now.saturating_add(crate::journal::millis(lease))).await
    }

    async fn done(&self, provider: &str, event_id: &str, token: u64) -> Result<()> {
        self.store().finish_delivery(provider, event_id, i64::try_from(token).unwrap_or(i64::MAX)).await
    }

    async fn forget(&self, provider: &str, event_id: &str, token: u64) -> Result<()> {
        self.store().forget_delivery(provider, event_id, i64::try_from(token).unwrap_or(i64::MAX)).await
    }
}
