//! Healing: settling a charge attempt the journal left open from the provider's final word, only
//! where that word is about this very attempt and settling hides nothing a person must see.

use payment_core::{ChargeId, ChargeRecord, Operation, PaymentClient, Result};

use crate::finding::{Class, Finding};
use crate::ledger::Stage;
use crate::reconcile::Reconciler;
use crate::record::{Attempt, StoredOutcome, Transition};
use crate::state::AttemptState;
use crate::store::is_fenced;

/// How far the provider's clock may run behind ours: a charge created longer than this before
/// the attempt was sent is not that attempt's.
const CLOCK_SKEW_MS: i64 = 5_000;

/// The state a final charge settles its attempt in (`None` while the provider has not decided).
pub(crate) fn settles(charge: &ChargeRecord) -> Option<AttemptState> {
    match Stage::of(charge.status) {
        Stage::Open => None,
        Stage::Failed => Some(AttemptState::Declined),
        Stage::Authorized | Stage::Captured | Stage::Canceled => Some(AttemptState::Succeeded),
    }
}

/// The states heal may settle: sent (or asked about) and still open, or handed to a person
/// because recovery could not learn the outcome. Never prepared (not sent), never settled.
fn healable(state: AttemptState) -> bool {
    matches!(
        state,
        AttemptState::Dispatched
            | AttemptState::Unknown
            | AttemptState::Pending
            | AttemptState::AwaitingCustomer
            | AttemptState::NeedsReconciliation
    )
}

impl Reconciler {
    /// Settles `holder` from the provider's `charge` when every rule allows; otherwise says in
    /// `finding` why not. The write is fenced: a writer that moved the attempt meanwhile wins.
    pub(crate) async fn heal(
        &self,
        client: &PaymentClient,
        holder: &Attempt,
        attempts: &[Attempt],
        charge: &ChargeRecord,
        finding: &mut Finding,
    ) -> Result<()> {
        if let Err(why) = self.may_heal(holder, attempts, charge).await {
            finding.evidence = format!("{}: not settled: {why}", finding.evidence);
            return Ok(());
        }
        // The record kept is a fresh read under the id the journal knows (a list entry may
        // lack what a read has: Worldpay's link data and actions).
        let id = holder.charge_id.clone().unwrap_or_else(|| charge.id.to_string());
        let fresh = match client.retrieve_charge(&ChargeId::new(id)).await {
            Ok(c) => c,
            Err(e) => {
                finding.evidence = format!("{}: not settled: reading it again failed: {e}", finding.evidence);
                return Ok(());
            }
        };
        let by_id = holder.charge_id.as_deref() == Some(charge.id.as_str());
        let to = match settles(&fresh) {
            None => {
                finding.evidence.push_str(": still open at the provider");
                return Ok(());
            }
            Some(AttemptState::Declined) if !by_id => {
                finding.evidence.push_str(": not settled: a decline is taken only from the charge the attempt named");
                return Ok(());
            }
            Some(to) => to,
        };
        if Some(fresh.amount) != holder.request.amount() {
            finding.evidence.push_str(&format!(": not settled: a fresh read says {}", fresh.amount));
            return Ok(());
        }
        let now = self.store.now_ms();
        let detail = format!("reconciliation: the provider's charge {} is {}", fresh.id, fresh.status.as_str());
        let mut t = Transition::to(holder, to, now, detail.clone()).outcome(StoredOutcome::Charge(Box::new(fresh)));
        // Never another form of the id the journal holds (later captures and refunds use it).
        if holder.charge_id.is_some() {
            t.charge_id.clone_from(&holder.charge_id);
        }
        match self.store.transition(t).await {
            Ok(_) => {
                finding.class = Class::Healed;
                finding.evidence = format!("{}; settled {} -> {to}", finding.evidence, holder.state);
                tracing::info!(target: "payment::journal", key_hash = %payment_core::telemetry::key_hash(&holder.idempotency_key), charge = %charge.id, "{detail}");
                Ok(())
            }
            Err(e) if is_fenced(&e) => {
                finding.evidence.push_str(": not settled: it changed while this run read it; run again");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Why `holder` may not be settled from `charge`, if it may not.
    async fn may_heal(&self, holder: &Attempt, attempts: &[Attempt], charge: &ChargeRecord) -> Result<(), String> {
        if !healable(holder.state) {
            return Err(format!("a {} attempt is not settled by reconciliation", holder.state));
        }
        if holder.charge_id.as_deref() != Some(charge.id.as_str()) {
            // Found by its reference alone: only when the reference names this attempt and no
            // other, and the charge is not older than the attempt's sending.
            if holder.charge_id.is_some() {
                return Err("the attempt names another charge".into());
            }
            let reference = holder.request.reference();
            let sharing = attempts
                .iter()
                .filter(|a| {
                    a.id != holder.id && a.operation == Operation::CreateCharge && a.request.reference() == reference
                })
                .count();
            if sharing > 0 {
                return Err(format!(
                    "{sharing} other attempt(s) were sent with its reference: a person must tell them apart"
                ));
            }
            let sent = holder.dispatched_ms.unwrap_or(holder.created_ms);
            if charge.created.unix() * 1000 < sent - CLOCK_SKEW_MS {
                return Err("the charge was created before the attempt was sent".into());
            }
        }
        self.store.refresh_clock(true).await.map_err(|e| e.to_string())?;
        let now = self.store.now_ms();
        if holder.lease_until_ms.is_some_and(|until| until > now) {
            return Err(format!(
                "leased to {} until it is done with it",
                holder.lease_owner.as_deref().unwrap_or("a worker")
            ));
        }
        let payment = self.store.payment(&holder.idempotency_key).await.map_err(|e| e.to_string())?;
        if let Some(other) = payment
            .iter()
            .flat_map(|p| p.attempts.iter())
            .find(|a| a.id != holder.id && a.operation == Operation::CreateCharge && a.state == AttemptState::Succeeded)
        {
            return Err(format!(
                "payment {} already holds charge {}: a second charge, which a person must reverse",
                holder.idempotency_key,
                other.charge_id.as_deref().unwrap_or("(none)")
            ));
        }
        if holder.state == AttemptState::NeedsReconciliation {
            // A late success (the attempt had been settled without this charge, and the app
            // told so) is for a person to keep or reverse, never to make the payment's success.
            let events = self.store.events(&holder.idempotency_key).await.map_err(|e| e.to_string())?;
            // Any hand-over from a settled state, not only the latest: one late success is enough.
            let late = events.iter().any(|e| {
                e.attempt_id == holder.id
                    && e.to_state == AttemptState::NeedsReconciliation
                    && matches!(
                        e.from_state,
                        Some(AttemptState::Declined | AttemptState::NotSent | AttemptState::ProvenAbsent)
                    )
            });
            if late {
                return Err(
                    "a late success after the payment was settled without it: a person keeps or reverses it".into()
                );
            }
        }
        Ok(())
    }
}
