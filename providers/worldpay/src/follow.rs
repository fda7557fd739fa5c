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
        let used = href.clone();
        let action = relation.to_owned();
        // Card Payments links are single-use, per action [documented]: a link still offered was
        // not used. Whether the Payments API's partial actions get a fresh link each time is not
        // documented, so there a link still offered proves nothing unless the stage is unchanged
        // and the action cannot repeat.
        let repeatable = key.l.is_some() && relation.to_ascii_lowercase().contains("partial");
        let before = events.last_event.clone();
        let lookup = Lookup {
            request: self.lookup_request(key),
            found: Arc::new(move |response| {
                if !response.status().is_success() {
                    return LookupAnswer::Unknown;
                }
                match serde_json::from_slice::<EventsResponse>(response.body()) {
                    Ok(e) if e.offers(&used) && !repeatable => LookupAnswer::Absent,
                    Ok(e) if e.offers(&used) && e.last_event != before => LookupAnswer::Found,
                    Ok(e) if e.offers(&used) => LookupAnswer::Unknown,
                    // The link is used, and the payment is where this action takes it.
                    Ok(e) if mapping::follows_action(&action, &e.last_event) => LookupAnswer::Found,
                    // Used by some other action: whether this one landed cannot be told.
                    Ok(_) | Err(_) => LookupAnswer::Unknown,
                }
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
