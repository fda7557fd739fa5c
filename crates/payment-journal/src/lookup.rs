//! What recovery looks up to learn an attempt's fate: a charge by its reference, a capture or
//! cancel or completion by reading the charge, a refund by elimination among the charge's refunds.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;
use payment_core::{
    ChargeId, ChargeStatus, CreateCharge, ListRefunds, Money, MutationOutput, PaymentClient, PaymentSource, Result,
    Timestamp,
};

use crate::journal::Journal;
use crate::record::Attempt;
use crate::request::StoredRequest;
use crate::state::AttemptState;

/// What a lookup learned.
/// The request a search for a charge by its reference is made with: only the reference and the
/// amount identify it (the source is not looked at).
pub(crate) fn reference_probe(amount: payment_core::Money, reference: &str) -> CreateCharge {
    let mut probe = CreateCharge::new(amount, PaymentSource::Token(String::new()));
    probe.reference = Some(reference.to_owned());
    probe
}

/// Where a search for `attempt`'s charge starts: five minutes before it was sent.
pub(crate) fn search_from(attempt: &Attempt) -> Timestamp {
    Timestamp::from_unix(attempt.dispatched_ms.unwrap_or(attempt.created_ms).div_euclid(1000) - 300)
}

pub(crate) enum Looked {
    /// The operation took effect: its record.
    Found(Box<MutationOutput>),
    /// Proven not to have taken effect, and why.
    Absent(String),
    /// Nothing can be told, and why.
    Cannot(String),
}

impl Journal {
    /// Looks up what became of `attempt` at the provider.
    pub(crate) async fn look_up(
        &self,
        client: &PaymentClient,
        attempt: &Attempt,
        known_refunds: &mut RefundBooks,
    ) -> Result<Looked> {
        let caps = client.capabilities();
        match &attempt.request {
            StoredRequest::CreateCharge { amount, reference, .. } => {
                let Some(reference) = reference.clone() else {
                    return Ok(Looked::Cannot("the charge was sent without a reference to find it by".into()));
                };
                if !caps.charge.find_by_reference {
                    return Ok(Looked::Cannot(format!(
                        "{} cannot find a charge by its reference",
                        client.provider_name()
                    )));
                }
                match client.find_charge(&reference_probe(*amount, &reference), search_from(attempt)).await? {
                    Some(found) if found.amount == *amount => {
                        Ok(Looked::Found(Box::new(MutationOutput::Charge(found))))
                    }
                    Some(found) => Ok(Looked::Cannot(format!(
                        "reference {reference} names charge {} for {}, not {amount}",
                        found.id, found.amount
                    ))),
                    None => Ok(Looked::Absent(format!("no charge has reference {reference}"))),
                }
            }
            StoredRequest::CaptureCharge { charge_id, .. } | StoredRequest::CancelCharge { charge_id } => {
                if !caps.charge.retrieve {
                    return Ok(Looked::Cannot(format!("{} cannot read charges back", client.provider_name())));
                }
                let charge = client.retrieve_charge(charge_id).await?;
                let capture = match &attempt.request {
                    StoredRequest::CaptureCharge { amount, .. } => Some(*amount),
                    _ => None,
                };
                Ok(match (capture, charge.status) {
                    // A capture is found only when what was captured is what it asked: a charge
                    // captured in part by another capture is not proof of this one.
                    (Some(asked), ChargeStatus::Succeeded) => {
                        let wanted = asked.unwrap_or(charge.amount);
                        if charge.amount_captured == wanted {
                            Looked::Found(Box::new(MutationOutput::Charge(charge)))
                        } else {
                            Looked::Cannot(format!(
                                "charge {charge_id} has {} captured, not the {wanted} this capture asked",
                                charge.amount_captured
                            ))
                        }
                    }
                    (None, ChargeStatus::Canceled) => Looked::Found(Box::new(MutationOutput::Charge(charge))),
                    (_, ChargeStatus::Authorized) => Looked::Absent(format!("charge {charge_id} is still authorized")),
                    (_, status) => Looked::Cannot(format!("charge {charge_id} is {status}")),
                })
            }
            StoredRequest::CompleteCharge { charge_id, .. } => {
                if !caps.charge.retrieve {
                    return Ok(Looked::Cannot(format!("{} cannot read charges back", client.provider_name())));
                }
                let charge = client.retrieve_charge(charge_id).await?;
                Ok(match charge.status {
                    // The provider finishes a charge's customer step once: a charge that went on
                    // (authorized, paid, declined) was completed, by this call or an equal one,
                    // and its state is this call's answer.
                    ChargeStatus::Succeeded | ChargeStatus::Authorized | ChargeStatus::Failed => {
                        Looked::Found(Box::new(MutationOutput::Charge(charge)))
                    }
                    ChargeStatus::RequiresAction => {
                        Looked::Absent(format!("charge {charge_id} still awaits completion"))
                    }
                    status => Looked::Cannot(format!("charge {charge_id} is {status}")),
                })
            }
            StoredRequest::CreateRefund { charge_id, amount, .. } => {
                if !caps.refund.list {
                    return Ok(Looked::Cannot(format!("{} cannot list a charge's refunds", client.provider_name())));
                }
                let book = match known_refunds.entry(charge_id.to_string()) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        v.insert(self.refund_book(&attempt.account, charge_id).await?)
                    }
                };
                self.find_refund(client, charge_id, *amount, book).await
            }
        }
    }

    /// What the journal knows of one charge's refunds at `provider`: the refund ids it holds, and
    /// how many lost refunds compete per amount. Only that charge's attempts are read, never the
    /// whole journal.
    async fn refund_book(&self, provider: &str, charge_id: &ChargeId) -> Result<RefundBook> {
        let mut book = RefundBook::default();
        for a in self.inner.store.attempts_for(provider, Some(charge_id.as_str()), None).await? {
            if let Some(id) = a.refund_id {
                book.known.insert(id);
            }
            if let StoredRequest::CreateRefund { charge_id: refunded, amount, .. } = &a.request
                && refunded == charge_id
                && matches!(a.state, AttemptState::Dispatched | AttemptState::Unknown)
            {
                *book.competing.entry((charge_id.to_string(), *amount)).or_default() += 1;
            }
        }
        Ok(book)
    }

    /// A refund is found by elimination: the charge's refunds of the asked amount that no
    /// journaled attempt explains. None proves absence. When as many are unexplained as lost
    /// refunds compete for them, each took effect; any other count cannot be told apart and goes
    /// to a person. (Refunds made outside the journal look unexplained too: with a journal, make
    /// them all through it.)
    async fn find_refund(
        &self,
        client: &PaymentClient,
        charge_id: &ChargeId,
        amount: Option<Money>,
        book: &mut RefundBook,
    ) -> Result<Looked> {
        let mut pages = client.list_refunds(charge_id, ListRefunds::default());
        let mut unexplained = BTreeMap::new();
        while let Some(refund) = pages.next().await {
            let refund = refund?;
            if !book.known.contains(refund.id.as_str()) && amount.is_none_or(|a| a == refund.amount) {
                unexplained.insert(refund.id.to_string(), refund);
            }
        }
        let slot = (charge_id.to_string(), amount);
        let competing = book.competing.get(&slot).copied().unwrap_or(1).max(1);
        let looked = match (unexplained.len(), unexplained.into_values().next()) {
            (0, _) | (_, None) => {
                Looked::Absent(format!("charge {charge_id} has no refund the journal does not explain"))
            }
            (n, Some(r)) if n == competing => {
                book.known.insert(r.id.to_string());
                Looked::Found(Box::new(MutationOutput::Refund(r)))
            }
            (n, Some(_)) => {
                return Ok(Looked::Cannot(format!(
                    "charge {charge_id} has {n} refund(s) of that amount the journal does not explain, for {competing} lost refund(s)"
                )));
            }
        };
        // Settled either way: it no longer competes.
        if let Some(c) = book.competing.get_mut(&slot) {
            *c = c.saturating_sub(1);
        }
        Ok(looked)
    }
}

/// One refund book per charge, filled as recovery meets the charge's lost refunds.
pub(crate) type RefundBooks = HashMap<String, RefundBook>;

/// Refund ids the journal holds and the lost refunds competing per (charge, amount).
#[derive(Debug, Default)]
pub(crate) struct RefundBook {
    known: HashSet<String>,
    competing: HashMap<(String, Option<Money>), usize>,
}
