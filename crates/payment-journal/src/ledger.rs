//! The journal's side of one charge, as reconciliation compares it with the provider's: which
//! attempt holds it, what the journal says it should be now, and the difference, in words.

use payment_core::{ChargeRecord, ChargeStatus, Money, Operation};
use serde::Serialize;

use crate::record::{Attempt, StoredOutcome};
use crate::state::AttemptState;

/// The stage a charge reached, coarse enough for both sides to agree on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Waiting for the payer or the provider.
    Open,
    /// Authorized, not captured.
    Authorized,
    /// Captured (money kept, less any refunds).
    Captured,
    /// Canceled before capture.
    Canceled,
    /// Declined or failed: no money moved.
    Failed,
}

impl Stage {
    /// The stage of a charge's status.
    pub fn of(status: ChargeStatus) -> Stage {
        match status {
            ChargeStatus::Pending | ChargeStatus::RequiresAction => Stage::Open,
            ChargeStatus::Authorized => Stage::Authorized,
            ChargeStatus::Succeeded => Stage::Captured,
            ChargeStatus::Canceled => Stage::Canceled,
            ChargeStatus::Failed => Stage::Failed,
        }
    }

    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Open => "open",
            Stage::Authorized => "authorized",
            Stage::Captured => "captured",
            Stage::Canceled => "canceled",
            Stage::Failed => "failed",
        }
    }
}

/// What the journal holds for one charge: the attempt that created it and every attempt on it.
#[derive(Debug)]
pub(crate) struct Ledger<'a> {
    /// The charge attempt that holds the charge.
    pub holder: &'a Attempt,
    /// Every attempt on the charge (captures, cancels, completions, refunds), the holder included.
    pub attempts: &'a [Attempt],
}

/// What the comparison found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Both sides agree.
    Same,
    /// The provider charged another amount than the journal sent.
    Amount(String),
    /// The provider's charge is at another stage, or kept another amount.
    Status(String),
    /// The journal has not settled its attempt yet (or a person must): what the provider shows.
    Unsettled(String),
    /// The sides agree only if refunds the journal has not settled yet landed: for later.
    Waiting(String),
}

/// Whether `attempt` is the charge attempt that made `charge`: by the charge id it recorded,
/// else by the reference it was sent with, when it recorded none or when the provider's
/// references name one charge each (`unique_references`: the same reference is the same charge,
/// whatever form of its id a list shows).
pub(crate) fn made(attempt: &Attempt, charge: &ChargeRecord, unique_references: bool) -> bool {
    if attempt.operation != Operation::CreateCharge {
        return false;
    }
    if attempt.charge_id.as_deref() == Some(charge.id.as_str()) {
        return true;
    }
    let same_reference = charge.reference.is_some() && attempt.request.reference() == charge.reference.as_deref();
    same_reference && (attempt.charge_id.is_none() || unique_references)
}

impl Ledger<'_> {
    /// The amount the journal sent.
    pub fn amount(&self) -> Option<Money> {
        self.holder.request.amount()
    }

    /// Compares the provider's `charge` with what the journal holds. `exact_amounts`: the
    /// provider's reads state captured and refunded amounts (else only the stage is compared).
    pub fn compare(&self, charge: &ChargeRecord, exact_amounts: bool) -> Verdict {
        if let Some(sent) = self.amount()
            && sent != charge.amount
        {
            return Verdict::Amount(format!("the journal sent {sent}; the provider holds {}", charge.amount));
        }
        let at_provider = Stage::of(charge.status);
        match self.holder.state {
            AttemptState::Succeeded => {}
            AttemptState::Declined if at_provider == Stage::Failed => return Verdict::Same,
            AttemptState::Declined | AttemptState::ProvenAbsent | AttemptState::NotSent => {
                return Verdict::Status(format!(
                    "the journal recorded the charge {}; the provider's is {}",
                    self.holder.state,
                    at_provider.as_str()
                ));
            }
            other => {
                return Verdict::Unsettled(format!(
                    "the journal's attempt is {other}; the provider's charge is {}",
                    at_provider.as_str()
                ));
            }
        }
        let Some((expected, kept)) = self.expected() else {
            return Verdict::Unsettled("the journal's success keeps no record of the charge".into());
        };
        if expected != at_provider {
            return Verdict::Status(format!(
                "the journal expects it {}; the provider's is {}",
                expected.as_str(),
                at_provider.as_str()
            ));
        }
        if expected != Stage::Captured {
            return Verdict::Same;
        }
        let provider_kept = charge.amount_captured.minor - charge.amount_refunded.minor;
        // A refund still in flight may or may not be counted by the provider yet.
        let in_flight = self.refunds_in_flight(charge.amount.minor);
        let agrees = |in_flight: i64| {
            if exact_amounts {
                provider_kept <= kept && provider_kept >= kept - in_flight
            } else {
                // Reads that show only the stage reached (Worldpay's) still say "refunded in
                // full", and whether any refund exists.
                let refunded_in_full = charge.amount_captured.minor > 0 && provider_kept <= 0;
                let captured = self.captured_kept();
                let journal_refunded = captured.is_some_and(|c| kept < c);
                (!refunded_in_full || kept - in_flight <= 0)
                    && (!charge.shows_a_refund() || journal_refunded || in_flight > 0)
            }
        };
        if agrees(0) {
            return Verdict::Same;
        }
        if in_flight > 0 && agrees(in_flight) {
            return Verdict::Waiting(format!(
                "the provider keeps {}; the journal expects {} unless its refunds still open landed",
                Money::new(provider_kept, charge.amount.currency),
                Money::new(kept, charge.amount.currency)
            ));
        }
        if !exact_amounts {
            return Verdict::Status(format!(
                "the provider shows {}; the journal expects {} kept",
                if provider_kept <= 0 { "it refunded in full" } else { "a refund" },
                Money::new(kept, charge.amount.currency)
            ));
        }
        Verdict::Status(format!(
            "the journal expects {} kept; the provider keeps {} (captured {}, refunded {})",
            Money::new(kept, charge.amount.currency),
            Money::new(provider_kept, charge.amount.currency),
            charge.amount_captured,
            charge.amount_refunded
        ))
    }

    /// The stage the journal's latest charge record shows, after its later operations, and the
    /// amount it expects kept (captured less refunded).
    fn expected(&self) -> Option<(Stage, i64)> {
        let (at, record) = self.latest_record()?;
        let refunded_since: i64 = self
            .attempts
            .iter()
            .filter(|a| a.operation == Operation::CreateRefund && a.state == AttemptState::Succeeded)
            .filter(|a| a.updated_ms >= at.updated_ms)
            .filter_map(|a| match &a.outcome {
                Some(StoredOutcome::Refund(r)) => Some(r.amount.minor),
                _ => None,
            })
            .sum();
        let kept = record.amount_captured.minor - record.amount_refunded.minor - refunded_since;
        Some((Stage::of(record.status), kept))
    }

    /// The latest charge record the journal holds for the charge, with the attempt it came with.
    fn latest_record(&self) -> Option<(&Attempt, &ChargeRecord)> {
        self.attempts
            .iter()
            .filter(|a| a.state == AttemptState::Succeeded && a.operation != Operation::CreateRefund)
            .filter_map(|a| match &a.outcome {
                Some(StoredOutcome::Charge(c)) => Some((a, c.as_ref())),
                _ => None,
            })
            .max_by_key(|(a, _)| (a.updated_ms, a.seq))
    }

    /// What the latest charge record kept before refunds were taken off it.
    fn captured_kept(&self) -> Option<i64> {
        self.latest_record().map(|(_, r)| r.amount_captured.minor - r.amount_refunded.minor)
    }

    /// What refunds not yet final in the journal may have taken (a refund in full counts the
    /// whole charge).
    fn refunds_in_flight(&self, whole: i64) -> i64 {
        self.attempts
            .iter()
            .filter(|a| a.operation == Operation::CreateRefund)
            // Prepared was never sent.
            .filter(|a| a.state != AttemptState::Prepared)
            .filter(|a| a.state.is_unresolved() || a.state == AttemptState::NeedsReconciliation)
            .map(|a| a.request.amount().map_or(whole, |m| m.minor))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use payment_core::{ChargeId, Currency, PaymentSource, RefundId, RefundRecord, RefundStatus, Timestamp};

    use super::*;
    use crate::request::StoredRequest;

    fn record(status: ChargeStatus, amount: i64, captured: i64, refunded: i64) -> ChargeRecord {
        ChargeRecord {
            provider: "p".into(),
            id: ChargeId::new("ch_1"),
            status,
            amount: Money::new(amount, Currency::JPY),
            amount_captured: Money::new(captured, Currency::JPY),
            amount_refunded: Money::new(refunded, Currency::JPY),
            reference: Some("order-1".into()),
            description: None,
            metadata: BTreeMap::new(),
            created: Timestamp::from_unix(1_800_000_000),
            next_action: None,
            failure: None,
            raw: Default::default(),
        }
    }

    fn attempt(
        seq: i64,
        mutation: payment_core::Mutation,
        state: AttemptState,
        outcome: Option<StoredOutcome>,
    ) -> Attempt {
        Attempt {
            id: format!("a{seq}"),
            idempotency_key: format!("k{seq}"),
            seq: 1,
            account: "p".into(),
            operation: mutation.operation(),
            state,
            version: 1,
            provider_key: format!("k{seq}"),
            request: StoredRequest::of(&mutation),
            charge_id: Some("ch_1".into()),
            refund_id: None,
            outcome,
            created_ms: seq * 1000,
            updated_ms: seq * 1000 + 10,
            dispatched_ms: Some(seq * 1000),
            due_ms: 0,
            lease_owner: None,
            lease_until_ms: None,
            recover_tries: 0,
        }
    }

    fn create(state: AttemptState, outcome: Option<ChargeRecord>) -> Attempt {
        let request =
            payment_core::CreateCharge::new(Money::new(1000, Currency::JPY), PaymentSource::channel("alipay"))
                .reference("order-1");
        attempt(
            1,
            payment_core::Mutation::CreateCharge(request),
            state,
            outcome.map(|c| StoredOutcome::Charge(Box::new(c))),
        )
    }

    fn refund(seq: i64, amount: i64, state: AttemptState) -> Attempt {
        let request = payment_core::CreateRefund::partial(ChargeId::new("ch_1"), Money::new(amount, Currency::JPY));
        let outcome = RefundRecord {
            provider: "p".into(),
            id: RefundId::new(format!("re_{seq}")),
            charge_id: ChargeId::new("ch_1"),
            status: RefundStatus::Succeeded,
            amount: Money::new(amount, Currency::JPY),
            reason: None,
            created: Timestamp::from_unix(1_800_000_000),
            raw: Default::default(),
        };
        let done = (state == AttemptState::Succeeded).then(|| StoredOutcome::Refund(Box::new(outcome)));
        attempt(seq, payment_core::Mutation::CreateRefund(request), state, done)
    }

    fn verdict(attempts: &[Attempt], charge: &ChargeRecord) -> Verdict {
        Ledger { holder: &attempts[0], attempts }.compare(charge, true)
    }

    #[test]
    fn the_same_charge_is_the_same() {
        let at_provider = record(ChargeStatus::Succeeded, 1000, 1000, 0);
        let attempts = [create(AttemptState::Succeeded, Some(at_provider.clone()))];
        assert_eq!(verdict(&attempts, &at_provider), Verdict::Same);
    }

    #[test]
    fn another_amount_is_named_before_anything_else() {
        let attempts = [create(AttemptState::Succeeded, Some(record(ChargeStatus::Succeeded, 1000, 1000, 0)))];
        let v = verdict(&attempts, &record(ChargeStatus::Canceled, 1001, 0, 0));
        assert!(matches!(v, Verdict::Amount(ref w) if w.contains("1001")), "{v:?}");
    }

    #[test]
    fn a_refund_made_at_the_provider_is_a_status_difference() {
        let attempts = [create(AttemptState::Succeeded, Some(record(ChargeStatus::Succeeded, 1000, 1000, 0)))];
        let v = verdict(&attempts, &record(ChargeStatus::Succeeded, 1000, 1000, 300));
        assert!(matches!(v, Verdict::Status(ref w) if w.contains("700")), "{v:?}");
    }

    #[test]
    fn journaled_refunds_are_expected_and_one_in_flight_is_tolerated() {
        let created = create(AttemptState::Succeeded, Some(record(ChargeStatus::Succeeded, 1000, 1000, 0)));
        let attempts = [created.clone(), refund(2, 300, AttemptState::Succeeded)];
        assert_eq!(verdict(&attempts, &record(ChargeStatus::Succeeded, 1000, 1000, 300)), Verdict::Same);
        let attempts =
            [created.clone(), refund(2, 300, AttemptState::Succeeded), refund(3, 200, AttemptState::Unknown)];
        assert_eq!(verdict(&attempts, &record(ChargeStatus::Succeeded, 1000, 1000, 300)), Verdict::Same);
        // Agreeing only if the open refund landed is not agreeing yet.
        assert!(matches!(verdict(&attempts, &record(ChargeStatus::Succeeded, 1000, 1000, 500)), Verdict::Waiting(_)));
        assert!(matches!(verdict(&attempts, &record(ChargeStatus::Succeeded, 1000, 1000, 600)), Verdict::Status(_)));
    }

    #[test]
    fn stage_only_reads_still_show_a_refund_in_full() {
        let attempts = [create(AttemptState::Succeeded, Some(record(ChargeStatus::Succeeded, 1000, 1000, 0)))];
        let stage_only = |c: &ChargeRecord| Ledger { holder: &attempts[0], attempts: &attempts }.compare(c, false);
        assert!(matches!(stage_only(&record(ChargeStatus::Succeeded, 1000, 1000, 1000)), Verdict::Status(_)));
        assert_eq!(stage_only(&record(ChargeStatus::Succeeded, 1000, 1000, 0)), Verdict::Same);
        // A refund of unknown amount the journal does not hold is a difference; one it holds is not.
        let mut refunded_in_part = record(ChargeStatus::Succeeded, 1000, 1000, 0);
        refunded_in_part.metadata.insert(payment_core::REFUNDED_IN_PART.into(), "true".into());
        assert!(matches!(stage_only(&refunded_in_part), Verdict::Status(_)));
        let created = create(AttemptState::Succeeded, Some(record(ChargeStatus::Succeeded, 1000, 1000, 0)));
        let with_refund = [created, refund(2, 300, AttemptState::Succeeded)];
        let ledger = Ledger { holder: &with_refund[0], attempts: &with_refund };
        assert_eq!(ledger.compare(&refunded_in_part, false), Verdict::Same);
    }

    #[test]
    fn a_partial_capture_released_as_a_refund_keeps_what_was_captured() {
        // PAY.JP writes what a partial capture released to amount_refunded: kept is the same.
        let authorized = record(ChargeStatus::Authorized, 1000, 0, 0);
        let captured = record(ChargeStatus::Succeeded, 1000, 1000, 200);
        let capture = attempt(
            2,
            payment_core::Mutation::CaptureCharge {
                charge_id: ChargeId::new("ch_1"),
                amount: Some(Money::new(800, Currency::JPY)),
            },
            AttemptState::Succeeded,
            Some(StoredOutcome::Charge(Box::new(captured.clone()))),
        );
        let attempts = [create(AttemptState::Succeeded, Some(authorized)), capture];
        assert_eq!(verdict(&attempts, &captured), Verdict::Same);
        assert!(matches!(verdict(&attempts, &record(ChargeStatus::Canceled, 1000, 0, 0)), Verdict::Status(_)));
    }

    #[test]
    fn an_unsettled_or_declined_attempt_is_told_apart() {
        let at_provider = record(ChargeStatus::Succeeded, 1000, 1000, 0);
        let attempts = [create(AttemptState::NeedsReconciliation, None)];
        assert!(matches!(verdict(&attempts, &at_provider), Verdict::Unsettled(_)));
        let attempts = [create(AttemptState::Declined, None)];
        assert!(matches!(verdict(&attempts, &at_provider), Verdict::Status(_)));
        assert_eq!(verdict(&attempts, &record(ChargeStatus::Failed, 1000, 0, 0)), Verdict::Same);
    }

    #[test]
    fn a_reference_names_the_charge_only_when_no_id_says_otherwise() {
        let charge = record(ChargeStatus::Succeeded, 1000, 1000, 0);
        let mut a = create(AttemptState::Succeeded, None);
        assert!(made(&a, &charge, false));
        a.charge_id = Some("ch_other".into());
        assert!(!made(&a, &charge, false), "a second charge with the same reference is another charge");
        assert!(made(&a, &charge, true), "unique references: another form of the same charge's id");
        a.charge_id = None;
        assert!(made(&a, &charge, false));
    }
}
