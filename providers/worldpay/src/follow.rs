//! Following a payment's single-use action links (settle, cancel, refund, and the issuer's
//! 3-D Secure steps) with `RejectDuplicate` semantics: after an ambiguous failure the payment's
//! events show whether the link was used.

use std::sync::Arc;

use bytes::Bytes;
use payment_core::transport::{Call, HttpReply, Lookup, LookupAnswer, Phase};
use payment_core::{Error, ErrorKind, Money, Operation, RequestOptions, Result};

use crate::CAPABILITIES;
use crate::client::{WorldpayClient, classify};
use crate::mapping::{self, ChargeKey};
use crate::wire::{EventsResponse, PAYMENTS_ACCEPT, Value, ValueAction};

impl WorldpayClient {
    /// Follows `relation` from the payment's current links, with `RejectDuplicate` semantics: the
    /// link is single-use, so after an ambiguous failure the events show whether it was used.
    pub(crate) async fn act(
        &self,
        operation: Operation,
        key: &ChargeKey,
        relation: &str,
        body: Option<Bytes>,
        options: &RequestOptions,
    ) -> Result<HttpReply> {
        let (events, _) = self.events_of(key).await.map_err(|e| e.with_operation(operation))?;
        self.act_on(operation, key, &events, relation, body, options).await
    }

    /// [`Self::act`] with the payment's events already read.
    pub(crate) async fn act_on(
        &self,
        operation: Operation,
        key: &ChargeKey,
        events: &EventsResponse,
        relation: &str,
        body: Option<Bytes>,
        options: &RequestOptions,
    ) -> Result<HttpReply> {
        let href = events.href(relation).map(str::to_owned).ok_or_else(|| {
            Error::new(
                ErrorKind::Conflict,
                format!("Worldpay offers no {relation} for this payment now (last event: {})", events.last_event),
            )
            .with_operation(operation)
        })?;
        // Card Payments links are single-use, per action (documented): a link still offered was
        // not used. Whether the Payments API's partial actions get a fresh link each time is not
        // documented, so there a link still offered proves nothing by itself.
        let step = Step {
            used: href.clone(),
            action: relation.to_owned(),
            repeatable: (key.l.is_some() || href.contains("/api/payments/"))
                && relation.to_ascii_lowercase().contains("partial"),
            before: events.last_event.clone(),
        };
        let lookup = Lookup {
            request: self.lookup_request(key),
            found: Arc::new(move |response| {
                if !response.status().is_success() {
                    return LookupAnswer::Unknown;
                }
                serde_json::from_slice::<EventsResponse>(response.body())
                    .map_or(LookupAnswer::Unknown, |after| step.judge(&after))
            }),
        };
        let mut call = Call::new(
            operation,
            &CAPABILITIES.idempotency,
            self.request(http::Method::POST, &href, body, PAYMENTS_ACCEPT),
        )
        .reference(key.r.clone())
        .lookup(lookup)
        .classify(classify)
        .deadline(options.timeout);
        if let Some(k) = &options.idempotency_key {
            call = call.key(k.clone());
        }
        let reply = self.engine().execute(call).await?;
        if reply.phase == Phase::Send {
            reply.ok_or(Self::error_of)?;
        }
        Ok(reply)
    }

    pub(crate) fn value_action(amount: Money, key: &ChargeKey, reference: &str) -> Result<Bytes> {
        if amount.currency.code() != key.c {
            return Err(Error::invalid(format!("the payment is in {}, not {}", key.c, amount.currency)));
        }
        let body = ValueAction {
            value: Value { currency: key.c.clone(), amount: amount.minor },
            reference: reference.to_owned(),
        };
        serde_json::to_vec(&body).map(Bytes::from).map_err(|e| Error::invalid(format!("cannot encode the action: {e}")))
    }
}

/// One action sent down a link, as a lookup after an ambiguous failure judges it.
struct Step {
    used: String,
    action: String,
    repeatable: bool,
    before: String,
}

impl Step {
    /// Whether the payment's events `after` show the action landed (`Found`), not sent
    /// (`Absent`), or cannot tell.
    fn judge(&self, after: &EventsResponse) -> LookupAnswer {
        let offered = after.offers(&self.used);
        if offered && !self.repeatable {
            return LookupAnswer::Absent;
        }
        if offered {
            // Only a move this action makes, from a stage it could not explain, says it landed:
            // the stage also moves by itself (settled, refunded) and by others' actions.
            let moved_here = !mapping::follows_action(&self.action, &self.before)
                && mapping::follows_action(&self.action, &after.last_event);
            return if moved_here { LookupAnswer::Found } else { LookupAnswer::Unknown };
        }
        // The link is used: found where the payment is where this action takes it; used by some
        // other action otherwise, and whether this one landed cannot be told.
        if mapping::follows_action(&self.action, &after.last_event) {
            LookupAnswer::Found
        } else {
            LookupAnswer::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(last_event: &str, offered: &[&str]) -> EventsResponse {
        let mut e =
            EventsResponse { last_event: last_event.into(), links: Default::default(), actions: Default::default() };
        for href in offered {
            e.actions.relations.insert(format!("a{}", e.actions.relations.len()), serde_json::json!({ "href": href }));
        }
        e
    }

    #[test]
    fn a_single_use_link_still_offered_was_not_used() {
        let step = Step {
            used: "L1".into(),
            action: "payments:settle".into(),
            repeatable: false,
            before: "Authorized".into(),
        };
        assert!(matches!(step.judge(&events("Authorized", &["L1"])), LookupAnswer::Absent));
        assert!(matches!(step.judge(&events("Sent for Settlement", &["L2"])), LookupAnswer::Found));
        assert!(matches!(step.judge(&events("Sent for Cancellation", &[])), LookupAnswer::Unknown));
    }

    #[test]
    fn a_link_that_may_be_offered_again_proves_only_a_move_the_action_makes() {
        let partial = |before: &str| Step {
            used: "https://x/api/payments/L/partialRefunds".into(),
            action: "payments:partialRefund".into(),
            repeatable: true,
            before: before.into(),
        };
        let href = "https://x/api/payments/L/partialRefunds";
        // Never absent while the link may simply be offered again.
        assert!(matches!(
            partial("Sent for Settlement").judge(&events("Sent for Settlement", &[href])),
            LookupAnswer::Unknown
        ));
        // Settled by the batch meanwhile: not this refund's doing.
        assert!(matches!(partial("Sent for Settlement").judge(&events("Settled", &[href])), LookupAnswer::Unknown));
        // The stage this refund leads to, from one it could not explain: found.
        assert!(matches!(partial("Settled").judge(&events("sentForPartialRefund", &[href])), LookupAnswer::Found));
        // Already refunding before: a second partial refund cannot be told from the first.
        assert!(matches!(partial("Sent for Refund").judge(&events("Sent for Refund", &[href])), LookupAnswer::Unknown));
    }
}
