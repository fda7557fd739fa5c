//! Late successes: a charge that turns up (by webhook) for an attempt the router had moved on
//! from. With another success for the same payment it is a double charge; either way the
//! application was told something else, so the router reverses it (configurable) and reports it.

use payment_core::{
    ChargeId, ChargeStatus, CreateRefund, Error, IdempotencyKey, Mutation, MutationOutput, RequestOptions, Result,
    WebhookEvent,
};
use payment_journal::{Attempt, AttemptRules, AttemptState, Resolution, may_hold_charge};
use serde::Serialize;

use crate::client::RoutedClient;
use crate::settings::LateSuccess;

/// What the router did with a late success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Reversal {
    /// Refunded in full.
    Refunded {
        /// The refund.
        refund_id: String,
    },
    /// The authorization was canceled.
    Canceled,
    /// Left for a person, and why.
    Reported {
        /// Why it was not reversed.
        why: String,
    },
}

/// A charge found to have succeeded after its payment had moved on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoubleCharge {
    /// The logical payment.
    pub idempotency_key: String,
    /// The attempt that succeeded and was reported to the application, if any: (account, charge).
    pub kept: Option<(String, String)>,
    /// The account of the late charge.
    pub late_account: String,
    /// The late charge, when known.
    pub late_charge: Option<String>,
    /// What was done about it.
    pub reversal: Reversal,
}

impl DoubleCharge {
    /// Whether the payment also succeeded elsewhere (two charges, not one unexpected one).
    pub fn is_double(&self) -> bool {
        self.kept.is_some()
    }
}

impl RoutedClient {
    /// Hands a verified webhook event received for `account` to the journal (settling what it
    /// names) and deals with any late success it reveals; returns those.
    pub async fn handle_event(&self, account: &str, event: &WebhookEvent) -> Result<Vec<DoubleCharge>> {
        self.account(account)?;
        let mut at_account = event.clone();
        // The journal keeps attempts under account names; the event names its provider.
        at_account.provider = account.to_owned();
        let resolutions = self.journal().apply_event(&at_account).await?;
        let mut found = Vec::new();
        for r in resolutions.iter().filter(|r| r.is_late_success()) {
            found.push(self.late_success(r).await?);
        }
        Ok(found)
    }

    async fn late_success(&self, r: &Resolution) -> Result<DoubleCharge> {
        let key = &r.idempotency_key;
        let payment = self
            .journal()
            .payment(key)
            .await?
            .ok_or_else(|| Error::new(payment_core::ErrorKind::Journal, format!("payment {key} vanished")))?;
        let late = payment.attempts.iter().find(|a| a.seq == r.seq).cloned().ok_or_else(|| {
            Error::new(payment_core::ErrorKind::Journal, format!("payment {key} has no attempt {}", r.seq))
        })?;
        let kept = payment
            .attempts
            .iter()
            .find(|a| a.state == AttemptState::Succeeded && a.seq != r.seq)
            .map(|a| (a.account.clone(), a.charge_id.clone().unwrap_or_default()));
        let reversal = match self.settings().late_success {
            LateSuccess::Report => Reversal::Reported { why: "late_success = report".into() },
            LateSuccess::Reverse => self.reverse(&late).await,
        };
        let found = DoubleCharge {
            idempotency_key: key.clone(),
            kept,
            late_account: late.account.clone(),
            late_charge: late.charge_id.clone(),
            reversal,
        };
        tracing::error!(
            target: "payment::routing",
            key_hash = %payment_core::telemetry::key_hash(key),
            late_account = %found.late_account,
            late_charge = found.late_charge.as_deref().unwrap_or("unknown"),
            kept = ?found.kept,
            reversal = ?found.reversal,
            "{}",
            if found.is_double() { "DOUBLE CHARGE: a payment succeeded at two accounts" } else { "LATE SUCCESS: a payment reported as failed has charged" }
        );
        self.inner.double_charges.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(found.clone());
        Ok(found)
    }

    /// Refunds or cancels the late charge, read back from its account first (the event may be
    /// sender-verified only, and the charge may be captured or not).
    async fn reverse(&self, late: &Attempt) -> Reversal {
        let report = |why: String| Reversal::Reported { why };
        let Some(charge) = late.charge_id.as_deref() else { return report("the event names no charge".into()) };
        // Never reverse a charge another payment holds: it is that payment's, not a double.
        // Another payment sent with the same reference and still open may hold it too: its
        // answer (and the charge id) may not be recorded yet.
        let reference = late.request.reference();
        match self.journal().store().attempts_for(&late.account, Some(charge), reference).await {
            Ok(attempts) => {
                if let Some(holder) = attempts
                    .iter()
                    .find(|a| a.idempotency_key != late.idempotency_key && may_hold_charge(a, Some(charge)))
                {
                    return report(format!("charge {charge} belongs to payment {}", holder.idempotency_key));
                }
            }
            Err(e) => return report(format!("could not check who holds charge {charge}: {e}")),
        }
        let account = match self.account(&late.account) {
            Ok(a) => a,
            Err(e) => return report(e.to_string()),
        };
        let id = ChargeId::new(charge);
        let record = match account.client.retrieve_charge(&id).await {
            Ok(r) => r,
            Err(e) => return report(format!("could not read the charge back: {e}")),
        };
        let key = match IdempotencyKey::new(late.provider_key.clone()).and_then(|k| k.derive("-reverse")) {
            Ok(k) => k,
            Err(e) => return report(e.to_string()),
        };
        let mutation = match record.status {
            ChargeStatus::Authorized => Mutation::CancelCharge { charge_id: id },
            ChargeStatus::Succeeded => {
                Mutation::CreateRefund(CreateRefund::full(id).reason("double charge after failover"))
            }
            other => return report(format!("the provider shows it {}: nothing to reverse now", other.as_str())),
        };
        let options = RequestOptions::with_key(key);
        match self.journal().execute_with(&account.client, mutation, &options, AttemptRules::default()).await {
            Ok(MutationOutput::Refund(r)) => Reversal::Refunded { refund_id: r.id.as_str().to_owned() },
            Ok(MutationOutput::Charge(_)) => Reversal::Canceled,
            Err(e) => report(format!("reversing failed: {e}")),
        }
    }
}
