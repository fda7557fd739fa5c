//! A refund "in full" at a provider that cannot read a charge back (Google Standard Payments)
//! goes out as the amount it names: the whole capture. After partial refunds that is more than
//! is left, so the journal, which holds the charge's earlier refunds, sends the rest instead.

use payment_core::{CreateRefund, Error, ErrorKind, Money, Operation, Result};

use crate::record::{Attempt, StoredOutcome};
use crate::state::AttemptState;
use crate::store::JournalStore;

/// `prepared` (the provider's whole amount for a refund asked in full) less the refunds of its
/// charge that the journal holds under other keys. Refused, nothing sent, while one of them is
/// unsettled (the rest is not known) or when nothing is left.
pub(crate) async fn the_rest(
    store: &dyn JournalStore,
    attempt: &Attempt,
    mut prepared: CreateRefund,
) -> Result<CreateRefund> {
    let Some(whole) = prepared.amount else { return Ok(prepared) };
    let charge = prepared.charge_id.as_str();
    let earlier: Vec<Attempt> = store
        .attempts_for(&attempt.account, Some(charge), None)
        .await?
        .into_iter()
        .filter(|a| a.operation == Operation::CreateRefund && a.idempotency_key != attempt.idempotency_key)
        .collect();
    let refuse = |why: String| Err(Error::new(ErrorKind::Conflict, why).with_operation(Operation::CreateRefund));
    // A pending refund's amount is known (the provider took it); any other open one's is not.
    let open = |a: &&Attempt| {
        (a.state.is_unresolved() && a.state != AttemptState::Pending) || a.state == AttemptState::NeedsReconciliation
    };
    if let Some(open) = earlier.iter().find(open) {
        let who = match open.state {
            AttemptState::NeedsReconciliation => "a person settles it",
            _ => "`payment journal recover` settles it",
        };
        return refuse(format!(
            "refund {} of charge {charge} is still {}: the rest is not known until {who}",
            open.idempotency_key, open.state
        ));
    }
    let refunded: i64 = earlier
        .iter()
        .filter(|a| matches!(a.state, AttemptState::Succeeded | AttemptState::Pending))
        .map(|a| match &a.outcome {
            Some(StoredOutcome::Refund(r)) => r.amount.minor,
            _ => a.request.amount().map_or(whole.minor, |m| m.minor),
        })
        .sum();
    let rest = whole.minor - refunded;
    if rest <= 0 {
        return refuse(format!(
            "charge {charge} is refunded in full already ({} of {whole}, per the journal)",
            Money::new(refunded, whole.currency)
        ));
    }
    prepared.amount = Some(Money::new(rest, whole.currency));
    Ok(prepared)
}

#[cfg(test)]
mod tests {
    use payment_core::{ChargeId, Currency, Mutation};

    use super::*;
    use crate::memory::MemoryStore;
    use crate::record::{Begin, NewAttempt, Transition};
    use crate::request::StoredRequest;

    fn refund(amount: Option<i64>) -> CreateRefund {
        let charge = ChargeId::new("cap_1");
        match amount {
            Some(a) => CreateRefund::partial(charge, Money::new(a, Currency::JPY)),
            None => CreateRefund::full(charge),
        }
    }

    async fn refund_attempt(store: &MemoryStore, key: &str, amount: Option<i64>, to: Option<AttemptState>) -> Attempt {
        let new = NewAttempt {
            idempotency_key: key.into(),
            account: "gsp".into(),
            request: StoredRequest::of(&Mutation::CreateRefund(refund(amount))),
            lease_owner: "t".into(),
            lease_until_ms: 0,
            now_ms: 1,
            rules: Default::default(),
        };
        let Begin::Started(a) = store.prepare(new).await.unwrap() else { panic!("new") };
        let a = store.transition(Transition::to(&a, AttemptState::Dispatched, 2, "sent")).await.unwrap();
        // `None`: the answer was lost.
        let mut t = Transition::to(&a, to.unwrap_or(AttemptState::Unknown), 3, "answered");
        t.charge_id = Some("cap_1".into());
        store.transition(t).await.unwrap()
    }

    #[tokio::test]
    async fn the_rest_is_the_whole_less_settled_refunds_and_waits_for_unsettled_ones() {
        let store = MemoryStore::new();
        refund_attempt(&store, "r1", Some(300), Some(AttemptState::Succeeded)).await;
        let me = refund_attempt(&store, "r2", None, None).await;
        let whole = refund(Some(1000));
        let rest = the_rest(&store, &me, whole.clone()).await.unwrap();
        assert_eq!(rest.amount, Some(Money::new(700, Currency::JPY)));
        refund_attempt(&store, "r3", Some(100), None).await;
        let refused = the_rest(&store, &me, whole.clone()).await.unwrap_err();
        assert!(refused.to_string().contains("refund r3") && refused.to_string().contains("unknown"), "{refused}");
    }
}
