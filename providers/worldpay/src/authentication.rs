//! 3-D Secure through the Payments API: `POST /api/payments` with `instruction.threeDS`, the
//! browser's device-data collection, the issuer's challenge, and the `_actions` that continue the
//! payment after each (`supply3dsDeviceData`, `complete3dsChallenge`).

use std::collections::BTreeMap;

use bytes::Bytes;
use payment_core::transport::{Call, HttpReply, Phase};
use payment_core::{
    ChargeId, ChargeRecord, ChargeStatus, CompletionData, CreateCharge, DeclineReason, Error, ErrorKind, NextAction,
    NextActionKind, Operation, PaymentSource, RequestOptions, Result, Timestamp,
};

use crate::client::{WorldpayClient, classify, narrative, raw_of};
use crate::mapping::{self, ChargeKey};
use crate::wire::payments_api::{
    API_PAYMENTS_PATH, ApiInstruction, ApiInstrument, ApiOutcome, ApiPaymentRequest, ApiSettlement, DeviceData,
    DeviceDataSupplied, ThreeDs, ThreeDsChallenge, actions,
};
use crate::wire::{CardExpiry, EventsResponse, Merchant, Narrative, Value};
use crate::{CAPABILITIES, NAME};

/// Try's cardholder name for an issuer that authenticates without a challenge (Try documents
/// `3ds2-challenge-identified` as the default for unknown names; this one and the next are read
/// from its 3DS2 naming, inferred).
pub const FRICTIONLESS: &str = "3ds2-frictionless-identified";
/// Try's cardholder name for an issuer that refuses to authenticate without a challenge.
pub const FRICTIONLESS_FAILED: &str = "3ds2-frictionless-failed";

/// The key of [`CompletionData`] that carries the device-data collection's `SessionId`.
pub const COLLECTION_REFERENCE: &str = "collectionReference";

/// The `linkData` of a Payments API href: the segment right after `/api/payments/`.
pub fn link_data(href: &str) -> Option<&str> {
    let (_, rest) = href.split_once(&format!("{API_PAYMENTS_PATH}/"))?;
    let link = rest.split(['/', '?']).next()?;
    (!link.is_empty()).then_some(link)
}

impl WorldpayClient {
    /// Takes a payment that the issuer must authenticate: its answer asks for the browser's
    /// device data (or, rarely, decides at once). `RejectDuplicate` on the reference, recovered
    /// by the events query as any authorization.
    pub(crate) async fn create_authenticated(
        &self,
        request: CreateCharge,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let authentication = request.authentication.as_ref();
        let return_url = authentication.and_then(|a| a.return_url.clone()).filter(|u| u.starts_with("http")).ok_or_else(|| {
            Error::invalid(
                "Worldpay's 3-D Secure needs the return_url (http or https) its challenge sends the customer back to",
            )
        })?;
        let browser = authentication.and_then(|a| a.browser.as_deref()).cloned().ok_or_else(|| {
            Error::invalid(
                "Worldpay's 3-D Secure needs the customer's browser (its Accept and User-Agent headers): set Authentication::browser",
            )
        })?;
        let idem = options.key_or_generate();
        let key = self.new_charge_key(&request, &idem)?;
        let instrument = match &request.source {
            PaymentSource::Card(card) => ApiInstrument {
                kind: "plain".into(),
                card_holder_name: card.holder_name.clone(),
                card_number: Some(card.number().to_owned()),
                expiry_date: Some(CardExpiry { month: card.exp_month, year: card.exp_year }),
                cvc: card.cvc().map(str::to_owned),
                href: None,
            },
            PaymentSource::Token(href) => ApiInstrument {
                kind: "token".into(),
                card_holder_name: None,
                card_number: None,
                expiry_date: None,
                cvc: None,
                href: Some(href.clone()),
            },
            other => {
                return Err(Error::unsupported(format!("Worldpay takes cards and tokens, not {}", other.kind())));
            }
        };
        let body = ApiPaymentRequest {
            transaction_reference: key.r.clone(),
            merchant: Merchant { entity: key.e.clone() },
            instruction: ApiInstruction {
                method: "card".into(),
                narrative: Narrative { line1: narrative(request.description.as_deref()), line2: None },
                value: Value { currency: key.c.clone(), amount: key.a },
                payment_instrument: instrument,
                settlement: Some(ApiSettlement { auto: request.capture }),
                three_ds: Some(ThreeDs {
                    kind: "integrated".into(),
                    mode: "always".into(),
                    challenge: ThreeDsChallenge { return_url },
                    device_data: DeviceData {
                        accept_header: browser.accept_header,
                        user_agent_header: browser.user_agent,
                        browser_language: browser.language,
                        channel: Some("browser".into()),
                    },
                }),
            },
            channel: Some("ecom".into()),
        };
        let body = Bytes::from(
            serde_json::to_vec(&body).map_err(|e| Error::invalid(format!("cannot encode the payment: {e}")))?,
        );
        let call = Call::new(
            Operation::CreateCharge,
            &CAPABILITIES.idempotency,
            self.request(http::Method::POST, API_PAYMENTS_PATH, Some(body), ""),
        )
        .key(idem)
        .reference(key.r.clone())
        .lookup(self.authorize_lookup(&key))
        .classify(classify)
        .deadline(options.timeout);
        let reply = self.engine().execute(call).await?;
        if reply.phase == Phase::Lookup {
            // A lost answer found by the reference: the payment's state, without its link.
            self.same_payment(&reply, &key).await?;
            return moved_on(&key, &reply);
        }
        self.answer(key, &reply, "the Worldpay payment").map(|(record, _)| record)
    }

    /// Continues a payment with the step its customer finished: the device data's collection
    /// reference (`{"collectionReference": SessionId}`), or nothing after a challenge. Completing
    /// a payment that no longer waits answers what it became.
    pub(crate) async fn complete_authenticated(
        &self,
        id: &ChargeId,
        data: &CompletionData,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let key = ChargeKey::from_id(id)?;
        if key.l.is_none() {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "charge {id} has no 3-D Secure step to complete: it was not taken with 3-D Secure, or its answer was recovered without the link that continues it"
                ),
            ));
        }
        let (events, raw) = self.events_of(&key).await.map_err(|e| e.with_operation(Operation::CompleteCharge))?;
        let reference = data.0.get(COLLECTION_REFERENCE).and_then(|v| v.as_str()).filter(|r| !r.is_empty());
        let (relation, body) = if events.href(actions::SUPPLY_DEVICE_DATA).is_some() {
            let Some(reference) = reference else {
                return Err(Error::new(
                    ErrorKind::ActionRequired,
                    format!(
                        "the customer's device data is not collected yet: post the next action's fields to its URL, then complete with {{\"{COLLECTION_REFERENCE}\": <the SessionId it posts back>}}"
                    ),
                ));
            };
            let body = DeviceDataSupplied { collection_reference: reference.to_owned() };
            let bytes = serde_json::to_vec(&body).map_err(|e| Error::invalid(format!("cannot encode: {e}")))?;
            (actions::SUPPLY_DEVICE_DATA, Some(Bytes::from(bytes)))
        } else if reference.is_some() && mapping::status_from_event(&events.last_event) == ChargeStatus::RequiresAction
        {
            // Device data for a step already taken (a repeat, or recovery resending it): the
            // challenge it led to was in that step's answer; never answer the challenge for the
            // customer.
            return Err(Error::new(
                ErrorKind::OutcomeUnknown,
                format!(
                    "the device data of charge {id} was supplied already and the payment now waits at {}; the challenge Worldpay asked for was in that step's answer",
                    events.last_event
                ),
            )
            .with_provider(NAME));
        } else if events.href(actions::COMPLETE_CHALLENGE).is_some() {
            (actions::COMPLETE_CHALLENGE, None)
        } else {
            // Nothing waits for the customer: the payment's own state is the answer.
            let status = mapping::status_from_event(&events.last_event);
            if status == ChargeStatus::Failed {
                return Err(ended(&events.last_event, None, None));
            }
            return mapping::record(&key, status, &events.last_event, Timestamp::now(), raw);
        };
        let reply = self.act_on(Operation::CompleteCharge, &key, &events, relation, body, options).await?;
        if reply.phase == Phase::Lookup {
            // The step was taken and its answer lost: where the payment went is the answer.
            return moved_on(&key, &reply);
        }
        let (record, challenge) = self.answer(key, &reply, "the Worldpay authentication")?;
        // The same challenge again (the link just used): the customer has not answered it, and
        // nothing changed. Another link is the issuer asking again: its record is the answer.
        if relation == actions::COMPLETE_CHALLENGE
            && record.status == ChargeStatus::RequiresAction
            && challenge.as_deref() == events.href(relation)
        {
            return Err(Error::new(
                ErrorKind::ActionRequired,
                "the customer has not answered the issuer's challenge yet: send them to the next action, then complete again",
            )
            .with_provider(NAME)
            .with_http_status(reply.status())
            .with_provider_code("3dsChallenged"));
        }
        Ok(record)
    }

    /// A Payments API answer sent and received as a record: waiting for the customer (with the
    /// step to take), authorized, settling, or a decline; and the challenge link it offers.
    fn answer(&self, mut key: ChargeKey, reply: &HttpReply, what: &str) -> Result<(ChargeRecord, Option<String>)> {
        if !reply.is_success() {
            return Err(reply.fail(Self::error_of(reply)));
        }
        let raw = raw_of(reply, what)?;
        let o: ApiOutcome = serde_json::from_str(raw.as_str()).map_err(|e| reply.tag(Error::decode(what, e)))?;
        if key.l.is_none() {
            key.l = o
                .actions
                .relations
                .values()
                .filter_map(|v| v.get("href")?.as_str())
                .find_map(link_data)
                .map(str::to_owned);
        }
        let next_action = match o.outcome.as_str() {
            "3dsDeviceDataRequired" => {
                let ddc = o.device_data_collection.as_ref().ok_or_else(|| {
                    reply.tag(Error::new(ErrorKind::Decode, "3dsDeviceDataRequired without deviceDataCollection"))
                })?;
                let mut fields = BTreeMap::from([("JWT".to_owned(), ddc.jwt.clone())]);
                if let Some(bin) = &ddc.bin {
                    fields.insert("Bin".to_owned(), bin.clone());
                }
                Some(NextAction {
                    kind: NextActionKind::DeviceData,
                    url: Some(ddc.url.clone()),
                    method: Some("POST".into()),
                    fields,
                    expires_at: None,
                    data: serde_json::json!({ "complete_with": COLLECTION_REFERENCE }),
                })
            }
            "3dsChallenged" => {
                let c = o
                    .challenge
                    .as_ref()
                    .ok_or_else(|| reply.tag(Error::new(ErrorKind::Decode, "3dsChallenged without the challenge")))?;
                Some(NextAction {
                    kind: NextActionKind::Challenge,
                    url: Some(c.url.clone()),
                    method: Some("POST".into()),
                    fields: BTreeMap::from([("JWT".to_owned(), c.jwt.clone())]),
                    expires_at: None,
                    data: serde_json::json!({ "reference": c.reference }),
                })
            }
            _ => None,
        };
        if next_action.is_some() && key.l.is_none() {
            return Err(
                reply.tag(Error::new(ErrorKind::Decode, format!("{} without the action that continues it", o.outcome)))
            );
        }
        let status = match o.outcome.as_str() {
            "authorized" => ChargeStatus::Authorized,
            "refused" | "3dsAuthenticationFailed" | "3dsUnavailable" | "fraudHighRisk" => {
                return Err(reply.tag(ended(&o.outcome, o.refusal_code.as_deref(), o.refusal_description.as_deref())));
            }
            other => mapping::status_from_event(other),
        };
        let challenge = o.actions.href(actions::COMPLETE_CHALLENGE).map(str::to_owned);
        // Worldpay's own clock, from the answer's `Date` (the answer states no time).
        let created = reply.date().unwrap_or_else(Timestamp::now);
        let mut record = mapping::record(&key, status, &o.outcome, created, raw).map_err(|e| reply.tag(e))?;
        record.next_action = next_action;
        Ok((record, challenge))
    }
}

/// A lost answer found by reading the payment: where it went is the answer. Still waiting for
/// its customer, the step to send them to was only in the lost answer, so it cannot go on and is
/// not authorized: unknown, never a failure nor a success.
fn moved_on(key: &ChargeKey, reply: &HttpReply) -> Result<ChargeRecord> {
    let raw = raw_of(reply, "the Worldpay payment's events")?;
    let e: EventsResponse =
        serde_json::from_str(raw.as_str()).map_err(|e| reply.tag(Error::decode("the Worldpay events", e)))?;
    match mapping::status_from_event(&e.last_event) {
        ChargeStatus::RequiresAction => Err(reply.tag(Error::new(
            ErrorKind::OutcomeUnknown,
            format!(
                "Worldpay took payment {}'s request but its answer, which held the customer's step, was lost; it waits at {} and cannot go on from here",
                key.r, e.last_event
            ),
        ))),
        ChargeStatus::Failed => Err(reply.tag(ended(&e.last_event, None, None))),
        status => mapping::record(key, status, &e.last_event, Timestamp::now(), raw).map_err(|e| reply.tag(e)),
    }
}

/// The decline that ends a payment: a refusal by its code, or the authentication's own reason.
fn ended(outcome: &str, code: Option<&str>, description: Option<&str>) -> Error {
    let (reason, text) = match outcome.to_ascii_lowercase().as_str() {
        "3dsauthenticationfailed" => {
            (DeclineReason::AuthenticationFailed, "the issuer did not authenticate the customer")
        }
        "3dsunavailable" => (DeclineReason::AuthenticationFailed, "the issuer's authentication is unavailable"),
        "fraudhighrisk" => (DeclineReason::FraudSuspected, "Worldpay's fraud screening refused it"),
        _ => (code.map(mapping::decline_reason).unwrap_or(DeclineReason::Other), "refused"),
    };
    let message = description.unwrap_or(text).to_owned();
    Error::new(ErrorKind::CardDeclined(reason), message.clone())
        .with_provider(NAME)
        .with_provider_code(code.filter(|c| !c.is_empty()).unwrap_or(outcome).to_owned())
        .with_provider_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_data_is_the_segment_after_api_payments() {
        let href = "https://try.access.worldpay.com/api/payments/eyJrIjoiazNhYjYzMiJ9.abc%3D/3dsDeviceData";
        assert_eq!(link_data(href), Some("eyJrIjoiazNhYjYzMiJ9.abc%3D"));
        assert_eq!(link_data("https://try.access.worldpay.com/api/payments/"), None);
        assert_eq!(link_data("https://try.access.worldpay.com/payments/settlements/full/x"), None);
    }

    #[test]
    fn an_ended_authentication_is_its_own_decline() {
        let e = ended("3dsAuthenticationFailed", None, None);
        assert_eq!(e.kind(), ErrorKind::CardDeclined(DeclineReason::AuthenticationFailed));
        assert_eq!(e.provider_code(), Some("3dsAuthenticationFailed"));
        let e = ended("refused", Some("51"), Some("Insufficient funds"));
        assert_eq!(e.kind(), ErrorKind::CardDeclined(DeclineReason::InsufficientFunds));
        assert_eq!(e.message(), "Insufficient funds");
    }
}
