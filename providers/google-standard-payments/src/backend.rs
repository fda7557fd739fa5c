//! A [`ProcessorBackend`] over any `PaymentClient` of this framework (feature `processor`): a
//! processor can answer Google's captures and refunds with a provider it already uses. The
//! capture's `requestId` is the charge's idempotency key, so Google's retries never charge twice.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use payment_core::{
    ChargeId, CreateCharge, CreateRefund, Currency, DeclineReason, ErrorKind, IdempotencyKey, PaymentClient,
    PaymentSource, RequestOptions,
};

use crate::processor::{CaptureOutcome, ProcessorBackend, ProcessorError, RefundOutcome};
use crate::wire::{CaptureRequest, CaptureResult, RefundRequest, RefundResult};

/// Captures and refunds through `client`; remembers which charge each capture made (in memory:
/// a processor that restarts must keep this map in its own store).
pub struct ClientBackend {
    client: PaymentClient,
    charges: Mutex<HashMap<String, ChargeId>>,
}

impl ClientBackend {
    /// A backend over `client`.
    pub fn new(client: PaymentClient) -> ClientBackend {
        ClientBackend { client, charges: Mutex::default() }
    }
}

fn key(request_id: &str) -> Result<RequestOptions, ProcessorError> {
    IdempotencyKey::new(request_id)
        .map(RequestOptions::with_key)
        .map_err(|e| ProcessorError::new("INVALID_FIELD_VALUE", e.message().to_owned()))
}

fn money(code: &str, micros: payment_core::serde_adapters::Micros) -> Result<payment_core::Money, ProcessorError> {
    let currency = Currency::from_code(code).map_err(|_| ProcessorError::new("INVALID_FIELD_VALUE", "currencyCode"))?;
    micros.to_money(currency).map_err(|_| ProcessorError::new("INVALID_FIELD_VALUE", "not whole minor units"))
}

fn failed(e: &payment_core::Error) -> ProcessorError {
    let code = match e.kind() {
        ErrorKind::InvalidRequest | ErrorKind::Unsupported => "INVALID_FIELD_VALUE",
        ErrorKind::Conflict => "PRECONDITION_VIOLATION",
        ErrorKind::IdempotencyConflict => "IDEMPOTENCY_VIOLATION",
        ErrorKind::NotFound => "INVALID_IDENTIFIER",
        // Anything else may succeed later: Google retries a 5xx with the same requestId.
        _ => "INTERNAL",
    };
    ProcessorError::new(code, e.message().to_owned())
}

#[async_trait]
impl ProcessorBackend for ClientBackend {
    async fn capture(&self, request: &CaptureRequest) -> Result<CaptureOutcome, ProcessorError> {
        let token = request
            .google_payment_token
            .clone()
            .ok_or_else(|| ProcessorError::new("MISSING_REQUIRED_FIELD", "googlePaymentToken"))?;
        let charge = CreateCharge::new(money(&request.currency_code, request.amount)?, PaymentSource::Token(token))
            .description(request.transaction_description.clone());
        match self.client.create_charge(charge, &key(&request.request_header.request_id)?).await {
            Ok(record) => {
                self.charges
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(request.request_header.request_id.clone(), record.id.clone());
                Ok(CaptureOutcome {
                    result: CaptureResult::Success,
                    transaction_id: Some(record.id.to_string()),
                    raw_result: None,
                })
            }
            Err(e) => match e.decline_reason() {
                Some(reason) => {
                    let result = match reason {
                        DeclineReason::InsufficientFunds => CaptureResult::InsufficientFunds,
                        DeclineReason::FraudSuspected => CaptureResult::SuspectedFraud,
                        DeclineReason::LimitExceeded => CaptureResult::ChargeExceedsTransactionLimit,
                        _ => CaptureResult::RiskDeclined,
                    };
                    Ok(CaptureOutcome { result, transaction_id: None, raw_result: None })
                }
                None => Err(failed(&e)),
            },
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ProcessorError> {
        let charge = self
            .charges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&request.capture_request_id)
            .cloned()
            .ok_or_else(|| ProcessorError::new("INVALID_IDENTIFIER", "unknown captureRequestId"))?;
        let refund = CreateRefund::partial(charge, money(&request.currency_code, request.refund_amount)?);
        match self.client.create_refund(refund, &key(&request.request_header.request_id)?).await {
            Ok(r) => Ok(RefundOutcome { result: RefundResult::Success, refund_id: Some(r.id.to_string()) }),
            Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::InvalidRequest) => {
                Err(ProcessorError::new("PRECONDITION_VIOLATION", e.message().to_owned()))
            }
            Err(e) => Err(failed(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{PROTOCOL_V1, RequestHeader};
    use payment_core::serde_adapters::Micros;

    /// A provider that charges tokens and declines `tok_insufficient`, written here so the
    /// adapter's mapping is tested without a network.
    #[derive(Debug, Default)]
    struct Books(Mutex<Vec<(String, i64, i64)>>);

    #[async_trait]
    impl payment_core::Charge for Books {
        async fn create_charge(
            &self,
            r: CreateCharge,
            o: &RequestOptions,
        ) -> payment_core::Result<payment_core::ChargeRecord> {
            if matches!(&r.source, PaymentSource::Token(t) if t == "tok_insufficient") {
                return Err(payment_core::Error::new(ErrorKind::CardDeclined(DeclineReason::InsufficientFunds), "no"));
            }
            let id = o.idempotency_key.as_ref().map(|k| k.as_str().to_owned()).unwrap_or_default();
            let mut b = self.0.lock().unwrap();
            if !b.iter().any(|(i, _, _)| *i == id) {
                b.push((id.clone(), r.amount.minor, 0));
            }
            Ok(payment_core::ChargeRecord {
                provider: "books".into(),
                id: ChargeId::new(id),
                status: payment_core::ChargeStatus::Succeeded,
                amount: r.amount,
                amount_captured: r.amount,
                amount_refunded: payment_core::Money::zero(r.amount.currency),
                reference: None,
                description: r.description,
                metadata: Default::default(),
                created: payment_core::Timestamp::now(),
                next_action: None,
                failure: None,
                raw: payment_core::RawJson::null(),
            })
        }
        async fn retrieve_charge(&self, _: &ChargeId) -> payment_core::Result<payment_core::ChargeRecord> {
            unreachable_in_test()
        }
        async fn capture_charge(
            &self,
            _: &ChargeId,
            _: Option<payment_core::Money>,
            _: &RequestOptions,
        ) -> payment_core::Result<payment_core::ChargeRecord> {
            unreachable_in_test()
        }
        async fn cancel_charge(
            &self,
            _: &ChargeId,
            _: &RequestOptions,
        ) -> payment_core::Result<payment_core::ChargeRecord> {
            unreachable_in_test()
        }
        fn list_charges(
            &self,
            _: payment_core::ListCharges,
        ) -> payment_core::ListPaginator<payment_core::ChargeRecord> {
            payment_core::ListPaginator::failed(payment_core::Error::unsupported("no list"))
        }
    }

    #[async_trait]
    impl payment_core::Refund for Books {
        async fn create_refund(
            &self,
            r: CreateRefund,
            _: &RequestOptions,
        ) -> payment_core::Result<payment_core::RefundRecord> {
            let mut b = self.0.lock().unwrap();
            let row = b.iter_mut().find(|(i, _, _)| i == r.charge_id.as_str()).unwrap();
            let amount = r.amount.unwrap();
            if row.2 + amount.minor > row.1 {
                return Err(payment_core::Error::new(ErrorKind::Conflict, "over the captured amount"));
            }
            row.2 += amount.minor;
            Ok(payment_core::RefundRecord {
                provider: "books".into(),
                id: payment_core::RefundId::new("re_1"),
                charge_id: r.charge_id,
                status: payment_core::RefundStatus::Succeeded,
                amount,
                reason: None,
                created: payment_core::Timestamp::now(),
                raw: payment_core::RawJson::null(),
            })
        }
        async fn retrieve_refund(
            &self,
            _: &ChargeId,
            _: &payment_core::RefundId,
        ) -> payment_core::Result<payment_core::RefundRecord> {
            unreachable_in_test()
        }
        fn list_refunds(
            &self,
            _: &ChargeId,
            _: payment_core::ListRefunds,
        ) -> payment_core::ListPaginator<payment_core::RefundRecord> {
            payment_core::ListPaginator::failed(payment_core::Error::unsupported("no list"))
        }
    }

    fn unreachable_in_test<T>() -> payment_core::Result<T> {
        Err(payment_core::Error::unsupported("not used by the adapter"))
    }

    payment_core::provider_impl!(Books, crate::DRIVER);

    impl std::fmt::Display for Books {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("books")
        }
    }

    fn header(id: &str) -> RequestHeader {
        RequestHeader { request_id: id.into(), request_timestamp: 0, protocol_version: PROTOCOL_V1 }
    }

    #[tokio::test]
    async fn captures_and_refunds_go_through_the_client_once_per_request_id() {
        let books = std::sync::Arc::new(Books::default());
        let backend = ClientBackend::new(PaymentClient::new(books.clone()));
        let capture = |id: &str, token: &str| CaptureRequest {
            request_header: header(id),
            payment_integrator_account_id: "P".into(),
            transaction_description: "d".into(),
            currency_code: "INR".into(),
            amount: Micros(728_000_000),
            capture_context: serde_json::json!({}),
            google_payment_token: Some(token.into()),
        };
        assert_eq!(backend.capture(&capture("c1", "tok")).await.unwrap().result, CaptureResult::Success);
        assert_eq!(backend.capture(&capture("c1", "tok")).await.unwrap().result, CaptureResult::Success);
        assert_eq!(books.0.lock().unwrap().len(), 1, "one charge for one requestId");
        assert_eq!(
            backend.capture(&capture("c2", "tok_insufficient")).await.unwrap().result,
            CaptureResult::InsufficientFunds
        );
        let refund = |id: &str, micros: i64| RefundRequest {
            request_header: header(id),
            payment_integrator_account_id: "P".into(),
            capture_request_id: "c1".into(),
            currency_code: "INR".into(),
            refund_amount: Micros(micros),
        };
        assert_eq!(backend.refund(&refund("r1", 100_000_000)).await.unwrap().result, RefundResult::Success);
        assert_eq!(backend.refund(&refund("r2", 700_000_000)).await.unwrap_err().code, "PRECONDITION_VIOLATION");
        let unknown = RefundRequest { capture_request_id: "nope".into(), ..refund("r3", 1_000_000) };
        assert_eq!(backend.refund(&unknown).await.unwrap_err().code, "INVALID_IDENTIFIER");
    }
}
