//! The memory provider's state and rules: capture, cancel, refund ceilings, idempotency replay.

use std::collections::HashMap;

use payment_core::{
    CardDetails, ChargeId, ChargeRecord, ChargeStatus, DeclineReason, Error, ErrorKind, IdempotencyKey, ListCharges,
    ListOrder, Money, Mutation, Operation, Page, PageCursor, PaymentSource, RefundId, RefundRecord, RefundStatus,
    Result, Timestamp,
};

use super::{NAME, not_found};

/// Everything that makes two requests of one mutation "the same".
fn fingerprint(op: &Mutation) -> String {
    match op {
        Mutation::CreateCharge(c) => {
            format!(
                "create|{}|{:?}|{}|{:?}|{:?}|{:?}",
                c.amount,
                source_fingerprint(&c.source),
                c.capture,
                c.reference,
                c.description,
                c.metadata
            ) + &format!("|{:?}", c.authentication)
        }
        Mutation::CaptureCharge { charge_id, amount } => format!("capture|{charge_id}|{amount:?}"),
        Mutation::CancelCharge { charge_id } => format!("cancel|{charge_id}"),
        Mutation::CompleteCharge { charge_id, data } => format!("complete|{charge_id}|{data:?}"),
        Mutation::CreateRefund(r) => format!("refund|{}|{:?}|{:?}|{:?}", r.charge_id, r.amount, r.reason, r.metadata),
    }
}

fn source_fingerprint(source: &PaymentSource) -> String {
    match source {
        PaymentSource::Card(c) => format!("card|{}|{}/{}", c.number(), c.exp_month, c.exp_year),
        other => format!("{other:?}"),
    }
}

/// What an operation produced, kept for replay.
#[derive(Debug, Clone)]
pub(super) enum Outcome {
    Charge(Box<ChargeRecord>),
    Refund(Box<RefundRecord>),
}

impl Outcome {
    pub(super) fn charge(self) -> Result<ChargeRecord> {
        match self {
            Outcome::Charge(c) => Ok(*c),
            Outcome::Refund(_) => Err(Error::new(ErrorKind::Integrity, "stored outcome is a refund, not a charge")),
        }
    }

    pub(super) fn refund(self) -> Result<RefundRecord> {
        match self {
            Outcome::Refund(r) => Ok(*r),
            Outcome::Charge(_) => Err(Error::new(ErrorKind::Integrity, "stored outcome is a charge, not a refund")),
        }
    }
}

/// A replayable result: the record, or the error's kind and message.
#[derive(Debug, Clone)]
struct Stored {
    fingerprint: String,
    result: std::result::Result<Outcome, (ErrorKind, String)>,
}

#[derive(Debug, Default)]
pub(super) struct MemoryState {
    charges: Vec<ChargeRecord>,
    index: HashMap<String, usize>,
    refunds: HashMap<String, Vec<RefundRecord>>,
    keys: HashMap<(Operation, String), Stored>,
}

impl MemoryState {
    pub(super) fn charge_count(&self) -> usize {
        self.charges.len()
    }

    /// Runs `f` once per key: a repeat with the same request replays the stored result; a repeat
    /// with another request is an `IdempotencyConflict`.
    pub(super) fn idempotent(
        &mut self,
        key: IdempotencyKey,
        op: Mutation,
        f: impl FnOnce(&mut MemoryState, Mutation) -> Result<Outcome>,
    ) -> Result<Outcome> {
        let fingerprint = fingerprint(&op);
        let slot = (op.operation(), key.as_str().to_owned());
        if let Some(stored) = self.keys.get(&slot) {
            if stored.fingerprint != fingerprint {
                return Err(Error::new(
                    ErrorKind::IdempotencyConflict,
                    format!("idempotency key {key} was used with a different request"),
                ));
            }
            return stored.result.clone().map_err(|(kind, message)| Error::new(kind, message));
        }
        let result = f(self, op);
        let stored = match &result {
            Ok(o) => Ok(o.clone()),
            Err(e) => Err((e.kind(), e.message().to_owned())),
        };
        self.keys.insert(slot, Stored { fingerprint, result: stored });
        result
    }

    pub(super) fn charge(&self, id: &ChargeId) -> Result<&ChargeRecord> {
        self.index.get(id.as_str()).map(|&i| &self.charges[i]).ok_or_else(|| not_found("charge", id.as_str()))
    }

    fn charge_mut(&mut self, id: &ChargeId) -> Result<&mut ChargeRecord> {
        let i = *self.index.get(id.as_str()).ok_or_else(|| not_found("charge", id.as_str()))?;
        Ok(&mut self.charges[i])
    }

    pub(super) fn create_charge(&mut self, op: Mutation) -> Result<Outcome> {
        let Mutation::CreateCharge(request) = op else { return Err(Error::invalid("not a charge")) };
        if let Some(reason) = decline_of(&request.source)? {
            return Err(Error::new(ErrorKind::CardDeclined(reason), "the card was declined")
                .with_provider_code(reason.as_str()));
        }
        let id = ChargeId::new(format!("ch_mem_{:06}", self.charges.len() + 1));
        let zero = Money::zero(request.amount.currency);
        let record = ChargeRecord {
            provider: NAME.to_owned(),
            id: id.clone(),
            status: if request.capture { ChargeStatus::Succeeded } else { ChargeStatus::Authorized },
            amount: request.amount,
            amount_captured: if request.capture { request.amount } else { zero },
            amount_refunded: zero,
            reference: request.reference,
            description: request.description,
            metadata: request.metadata,
            created: Timestamp::now(),
            next_action: None,
            failure: None,
            raw: serde_json::json!({"id": id.as_str(), "object": "memory_charge"}).into(),
        };
        self.index.insert(id.as_str().to_owned(), self.charges.len());
        self.charges.push(record.clone());
        Ok(Outcome::Charge(Box::new(record)))
    }

    pub(super) fn capture(&mut self, op: Mutation) -> Result<Outcome> {
        let Mutation::CaptureCharge { charge_id: id, amount } = op else { return Err(Error::invalid("not a capture")) };
        let charge = self.charge_mut(&id)?;
        if charge.status != ChargeStatus::Authorized {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("charge {id} is {} and cannot be captured", charge.status),
            ));
        }
        let amount = amount.unwrap_or(charge.amount);
        if amount.currency != charge.amount.currency || amount.minor <= 0 || amount.minor > charge.amount.minor {
            return Err(Error::invalid(format!("capture amount {amount} must be within 1..={}", charge.amount)));
        }
        charge.amount_captured = amount;
        charge.status = ChargeStatus::Succeeded;
        Ok(Outcome::Charge(Box::new(charge.clone())))
    }

    pub(super) fn cancel(&mut self, op: Mutation) -> Result<Outcome> {
        let Mutation::CancelCharge { charge_id: id } = op else { return Err(Error::invalid("not a cancel")) };
        let charge = self.charge_mut(&id)?;
        if charge.status != ChargeStatus::Authorized {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("charge {id} is {} and cannot be canceled", charge.status),
            ));
        }
        charge.status = ChargeStatus::Canceled;
        Ok(Outcome::Charge(Box::new(charge.clone())))
    }

    pub(super) fn refund(&mut self, op: Mutation) -> Result<Outcome> {
        let Mutation::CreateRefund(request) = op else { return Err(Error::invalid("not a refund")) };
        let charge = self.charge_mut(&request.charge_id)?;
        if charge.status != ChargeStatus::Succeeded {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("charge {} is {} and cannot be refunded", charge.id, charge.status),
            ));
        }
        let remaining = charge.amount_captured.checked_sub(charge.amount_refunded)?;
        if remaining.minor == 0 {
            return Err(Error::new(ErrorKind::Conflict, format!("charge {} is already refunded in full", charge.id)));
        }
        let amount = request.amount.unwrap_or(remaining);
        if amount.currency != remaining.currency || amount.minor <= 0 || amount.minor > remaining.minor {
            return Err(Error::invalid(format!("refund amount {amount} must be within 1..={remaining}")));
        }
        charge.amount_refunded = charge.amount_refunded.checked_add(amount)?;
        let charge_id = charge.id.clone();
        let list = self.refunds.entry(charge_id.as_str().to_owned()).or_default();
        let id =
            RefundId::new(format!("re_mem_{}_{}", charge_id.as_str().trim_start_matches("ch_mem_"), list.len() + 1));
        let record = RefundRecord {
            provider: NAME.to_owned(),
            id: id.clone(),
            charge_id,
            status: RefundStatus::Succeeded,
            amount,
            reason: request.reason,
            created: Timestamp::now(),
            raw: serde_json::json!({"id": id.as_str(), "object": "memory_refund"}).into(),
        };
        list.push(record.clone());
        Ok(Outcome::Refund(Box::new(record)))
    }

    pub(super) fn refund_record(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord> {
        self.charge(charge_id)?;
        self.refunds
            .get(charge_id.as_str())
            .and_then(|l| l.iter().find(|r| &r.id == refund_id))
            .cloned()
            .ok_or_else(|| not_found("refund", refund_id.as_str()))
    }

    pub(super) fn charge_page(&self, query: &ListCharges, after: Option<&str>, limit: usize) -> Page<ChargeRecord> {
        let in_window = |c: &&ChargeRecord| {
            query.created_from.is_none_or(|f| c.created >= f) && query.created_to.is_none_or(|t| c.created < t)
        };
        let ordered: Box<dyn Iterator<Item = &ChargeRecord>> = match query.order {
            ListOrder::NewestFirst => Box::new(self.charges.iter().rev()),
            ListOrder::OldestFirst => Box::new(self.charges.iter()),
        };
        let mut rest = ordered.filter(in_window).skip_while(|c| after.is_some_and(|a| c.id.as_str() != a));
        if after.is_some() {
            rest.next();
        }
        let mut items: Vec<ChargeRecord> = rest.by_ref().take(limit).cloned().collect();
        let more = rest.next().is_some();
        let next = if more { items.last().map(|c| PageCursor::after(c.id.as_str())) } else { None };
        items.shrink_to_fit();
        Page { items, next }
    }

    pub(super) fn refund_page(
        &self,
        charge_id: &ChargeId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<RefundRecord>> {
        self.charge(charge_id)?;
        let all = self.refunds.get(charge_id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let start = after.and_then(|a| all.iter().position(|r| r.id.as_str() == a)).map_or(0, |p| p + 1);
        let items: Vec<RefundRecord> = all.iter().skip(start).take(limit).cloned().collect();
        let next =
            (start + items.len() < all.len()).then(|| items.last().map(|r| PageCursor::after(r.id.as_str()))).flatten();
        Ok(Page { items, next })
    }
}

fn decline_of(source: &PaymentSource) -> Result<Option<DeclineReason>> {
    Ok(match source {
        PaymentSource::Token(t) if t == "tok_decline" => Some(DeclineReason::DoNotHonor),
        PaymentSource::Token(t) if t == "tok_insufficient" => Some(DeclineReason::InsufficientFunds),
        PaymentSource::Token(_) => None,
        PaymentSource::Card(card) => card_decline(card)?,
        other => {
            return Err(Error::unsupported(format!(
                "the memory provider takes tokens and cards, not {}",
                other.kind()
            )));
        }
    })
}

fn card_decline(card: &CardDetails) -> Result<Option<DeclineReason>> {
    if !card.luhn_valid() {
        return Err(Error::invalid("card number fails the Luhn check"));
    }
    Ok(match card.number() {
        "4000000000000002" => Some(DeclineReason::DoNotHonor),
        "4000000000009995" => Some(DeclineReason::InsufficientFunds),
        _ => None,
    })
}
