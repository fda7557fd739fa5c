//! `GspClient`: the caller's side of the Payment Processor Service v1 (`capture`, `refund`,
//! `echo`), every body signed and encrypted, every answer decrypted and verified.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use payment_core::transport::{
    Call, Engine, EngineBuilder, HttpReply, HttpRequest, HttpResponse, ReplyClass, Targets, parse_retry_after, UrlTemplates,
};
use payment_core::{
    Charge, ChargeId, ChargeRecord, ChargeStatus, CreateCharge, CreateRefund, Error, ErrorKind, IdempotencyKey,
    ListCharges, ListPaginator, ListRefunds, Money, NativeOperation, Operation, PaymentSource, RawJson, Refund,
    RefundId, RefundRecord, RefundStatus, RequestOptions, Result, Timestamp,
};

use crate::config::GspConfig;
use crate::mapping::{self, ChargeKey};
use crate::signing::Protection;
use crate::wire::{
    CaptureRequest, CaptureResponse, CaptureResult, EchoRequest, EchoResponse, PROTOCOL_V1, RefundRequest,
    RefundResponse, RefundResult, RequestHeader,
};
use crate::{CAPABILITIES, NAME};

/// `echo`, the processor's health check: a read.
/// The paths this client sends to, as spans and metrics name them (`url.template`).
const URL_TEMPLATES: UrlTemplates = UrlTemplates::new(&[
    "/v1/echo",
    "/v1/capture",
    "/v1/refund",
]);

const ECHO: Operation = Operation::Native(NativeOperation::read("echo"));

/// A GSP client: cheap to clone.
#[derive(Clone)]
pub struct GspClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: GspConfig,
    protection: Protection,
    engine: Engine,
    base: String,
    // The three endpoints, parsed once.
    targets: Targets,
}

/// 409 (aborted), 429 and 5xx may succeed when repeated with the same `requestId`: the processor
/// replays what it already did.
fn classify(response: &HttpResponse) -> ReplyClass {
    let retry_after = parse_retry_after(response.headers());
    match response.status().as_u16() {
        429 => ReplyClass::RateLimited { retry_after },
        409 | 500 | 502 | 503 | 504 => ReplyClass::Unavailable { retry_after },
        _ => ReplyClass::Final,
    }
}

/// GSP request ids: at most 100 of `a-zA-Z0-9:-_`; the idempotency key is used verbatim.
fn check_request_id(key: &IdempotencyKey) -> Result<()> {
    key.check(NAME, 100, |c| c.is_ascii_alphanumeric() || c == ':' || c == '-' || c == '_')
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl GspClient {
    /// A client with the default engine.
    pub fn new(config: GspConfig) -> Result<GspClient> {
        GspClient::with_engine(config, EngineBuilder::new(NAME))
    }

    /// A client with a configured engine.
    pub fn with_engine(config: GspConfig, engine: EngineBuilder) -> Result<GspClient> {
        let engine = engine.url_templates(URL_TEMPLATES);
        let base = config.base_url.as_str().trim_end_matches('/').to_owned();
        let protection = config.protection();
        let targets = Targets::new(&base, &["/v1/capture", "/v1/refund", "/v1/echo"]);
        Ok(GspClient { inner: Arc::new(Inner { protection, engine: engine.build()?, base, targets, config }) })
    }

    /// The configuration (keys redacted in `Debug`).
    pub fn config(&self) -> &GspConfig {
        &self.inner.config
    }

    /// Builds each attempt: the same body with a fresh `requestTimestamp`, sealed anew.
    fn request<T: serde::Serialize + Send + Sync + 'static>(
        &self,
        method: &str,
        body: impl Fn(RequestHeader) -> T + Send + Sync + 'static,
        request_id: String,
    ) -> impl Fn() -> Result<HttpRequest> + Send + Sync + 'static {
        let target = self.inner.targets.get(&format!("/v1/{method}"));
        let inner = self.inner.clone();
        move || {
            let target = target.as_ref().map_err(|e| Error::invalid(e.message().to_owned()))?;
            let header = RequestHeader {
                request_id: request_id.clone(),
                request_timestamp: now_ms(),
                protocol_version: PROTOCOL_V1,
            };
            let json = serde_json::to_vec(&body(header))
                .map_err(|e| Error::invalid(format!("cannot encode the request: {e}")))?;
            let sealed = inner.protection.seal(&json)?;
            let content_type = http::HeaderValue::from_static(inner.protection.encoding().content_type());
            let mut r = target.request(http::Method::POST, Bytes::from(sealed));
            r.headers_mut().insert(http::header::CONTENT_TYPE, content_type.clone());
            r.headers_mut().insert(http::header::ACCEPT, content_type);
            Ok(r)
        }
    }

    /// The JSON of an answer. A success whose body does not decrypt and verify is never trusted:
    /// an `Integrity` error, outcome unknown for a mutation (it may have been processed).
    fn open(&self, reply: &HttpReply, mutating: bool) -> Result<Vec<u8>> {
        let opened = self.inner.protection.open(reply.body());
        if reply.is_success() {
            return opened.map_err(|why| {
                let e =
                    reply.fail(Error::new(ErrorKind::Integrity, format!("the answer could not be trusted ({why})")));
                if mutating { e.into_outcome_unknown() } else { e }
            });
        }
        Err(reply.fail(mapping::error(reply.status(), opened.ok().as_deref())))
    }

    /// The answer as `T`, and its JSON text kept in `raw` (checked, then read, with no tree built).
    fn decode<T: serde::de::DeserializeOwned>(reply: &HttpReply, json: &[u8], what: &str) -> Result<(T, RawJson)> {
        let raw = RawJson::from_slice(json).map_err(|e| reply.tag(Error::decode(what, e)))?;
        let typed = serde_json::from_str(raw.as_str()).map_err(|e| reply.tag(Error::decode(what, e)))?;
        Ok((typed, raw))
    }

    /// `echo`: a round trip through the processor's whole encryption path.
    pub async fn echo(&self, message: &str) -> Result<String> {
        let key = IdempotencyKey::generate();
        let client_message = message.to_owned();
        let build = self.request(
            "echo",
            move |request_header| EchoRequest { request_header, client_message: client_message.clone() },
            key.as_str().to_owned(),
        );
        let reply = self.inner.engine.execute(Call::read(ECHO, build).classify(classify)).await?;
        let json = self.open(&reply, false)?;
        let (answer, _): (EchoResponse, _) = Self::decode(&reply, &json, "the echo answer")?;
        if answer.client_message != message {
            return Err(reply.tag(Error::new(ErrorKind::Integrity, "the processor echoed another message")));
        }
        Ok(answer.server_message.unwrap_or_default())
    }
}

#[async_trait]
impl Charge for GspClient {
    /// `capture`: `Replay` on `(PIAID, requestId)`, the requestId being the idempotency key. A
    /// decline (HTTP 200, `result` not `SUCCESS`) is `CardDeclined`.
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_request_id(&key)?;
        let PaymentSource::Token(token) = &request.source else {
            return Err(Error::unsupported(format!(
                "Google Standard Payments captures tokens, not {}",
                request.source.kind()
            )));
        };
        let amount = mapping::micros(request.amount)?;
        let piaid = self.inner.config.piaid.clone();
        let description = request
            .description
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| format!("Payment {}", request.reference.as_deref().unwrap_or(key.as_str())));
        let (token, currency) = (token.clone(), request.amount.currency.code().to_owned());
        let build = self.request(
            "capture",
            move |request_header| CaptureRequest {
                request_header,
                payment_integrator_account_id: piaid.clone(),
                transaction_description: description.clone(),
                currency_code: currency.clone(),
                amount,
                capture_context: serde_json::json!({}),
                google_payment_token: Some(token.clone()),
            },
            key.as_str().to_owned(),
        );
        let call = Call::new(Operation::CreateCharge, &CAPABILITIES.idempotency, build)
            .key(key.clone())
            .classify(classify)
            .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        let json = self.open(&reply, true)?;
        let (answer, raw): (CaptureResponse, _) = Self::decode(&reply, &json, "the capture answer")?;
        if answer.result != CaptureResult::Success {
            return Err(reply.fail(mapping::capture_declined(&answer.result)));
        }
        Ok(ChargeRecord {
            provider: NAME.to_owned(),
            id: ChargeKey::new(key.as_str(), request.amount).id(),
            status: ChargeStatus::Succeeded,
            amount: request.amount,
            amount_captured: request.amount,
            amount_refunded: Money::zero(request.amount.currency),
            reference: request.reference,
            description: request.description,
            metadata: request.metadata,
            created: Timestamp::from_unix(answer.response_header.response_timestamp / 1000),
            next_action: None,
            failure: None,
            raw,
        })
    }

    async fn retrieve_charge(&self, _id: &ChargeId) -> Result<ChargeRecord> {
        Err(Error::unsupported("Google Standard Payments has no way to read a capture back"))
    }

    async fn capture_charge(
        &self,
        _id: &ChargeId,
        _amount: Option<Money>,
        _options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        Err(Error::unsupported("Google Standard Payments captures at once; there is no authorization to capture"))
    }

    async fn cancel_charge(&self, _id: &ChargeId, _options: &RequestOptions) -> Result<ChargeRecord> {
        Err(Error::unsupported("Google Standard Payments has no cancel: refund the capture"))
    }

    fn list_charges(&self, _query: ListCharges) -> ListPaginator<ChargeRecord> {
        ListPaginator::failed(Error::unsupported("Google Standard Payments has no list"))
    }

    fn currency_of(&self, id: &ChargeId) -> Option<payment_core::Currency> {
        ChargeKey::from_id(id).and_then(|k| k.money()).ok().map(|m| m.currency)
    }
}

/// What a refund in full refused as more than is left can do instead.
const REST_ADVICE: &str =
    "GSP cannot read a capture back, so refunding the rest after partial refunds needs the remaining amount, \
     or a journal (which sends the rest)";

#[async_trait]
impl Refund for GspClient {
    /// `refund`: the capture named by the `requestId` inside its charge id; the refund's own
    /// `requestId` is the idempotency key (`Replay`). A full refund asks for the captured amount.
    /// A refund in full names the capture's whole amount, which the id carries: GSP has no read
    /// to learn what is left, so a journal can send the rest instead (see the journal's remainder).
    async fn prepare_refund(&self, mut request: CreateRefund, _options: &RequestOptions) -> Result<CreateRefund> {
        if request.amount.is_none() {
            request.amount = Some(ChargeKey::from_id(&request.charge_id)?.money()?);
        }
        Ok(request)
    }

    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let key = options.key_or_generate();
        check_request_id(&key)?;
        let capture = ChargeKey::from_id(&request.charge_id)?;
        let captured = capture.money()?;
        let in_full = request.amount.is_none();
        // Refused as more than is left: nothing here says what is left; the caller, or a journal, must.
        let advise = |e: Error| {
            if in_full && e.provider_code() == Some("PRECONDITION_VIOLATION") { e.with_advice(REST_ADVICE) } else { e }
        };
        let amount = request.amount.unwrap_or(captured);
        if amount.currency != captured.currency {
            return Err(Error::invalid(format!(
                "the capture is in {}, the refund in {}",
                captured.currency, amount.currency
            )));
        }
        let refund_amount = mapping::micros(amount)?;
        let piaid = self.inner.config.piaid.clone();
        let (capture_id, currency) = (capture.r.clone(), capture.c.clone());
        let build = self.request(
            "refund",
            move |request_header| RefundRequest {
                request_header,
                payment_integrator_account_id: piaid.clone(),
                capture_request_id: capture_id.clone(),
                currency_code: currency.clone(),
                refund_amount,
            },
            key.as_str().to_owned(),
        );
        let call = Call::new(Operation::CreateRefund, &CAPABILITIES.idempotency, build)
            .key(key.clone())
            .classify(classify)
            .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await.map_err(advise)?;
        let json = self.open(&reply, true).map_err(advise)?;
        let (answer, raw): (RefundResponse, _) = Self::decode(&reply, &json, "the refund answer")?;
        if answer.result != RefundResult::Success {
            let refused = mapping::refund_refused(&answer.result);
            let refused = if in_full { refused.with_advice(REST_ADVICE) } else { refused };
            return Err(reply.fail(refused));
        }
        Ok(RefundRecord {
            provider: NAME.to_owned(),
            id: RefundId::new(key.as_str()),
            charge_id: request.charge_id,
            status: RefundStatus::Succeeded,
            amount,
            reason: request.reason,
            created: Timestamp::from_unix(answer.response_header.response_timestamp / 1000),
            raw,
        })
    }

    async fn retrieve_refund(&self, _charge_id: &ChargeId, _refund_id: &RefundId) -> Result<RefundRecord> {
        Err(Error::unsupported("Google Standard Payments has no way to read a refund back"))
    }

    fn list_refunds(&self, _charge_id: &ChargeId, _query: ListRefunds) -> ListPaginator<RefundRecord> {
        ListPaginator::failed(Error::unsupported("Google Standard Payments has no refund list"))
    }
}

payment_core::provider_impl!(GspClient, crate::DRIVER);

impl fmt::Debug for GspClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GspClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl fmt::Display for GspClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Google Standard Payments ({}, PIAID {})", self.inner.base, self.inner.config.piaid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_key_verbatim_within_googles_rules() {
        assert!(check_request_id(&IdempotencyKey::new("order-1:attempt_2").unwrap()).is_ok());
        assert!(check_request_id(&IdempotencyKey::generate()).is_ok(), "UUIDs fit");
        assert!(check_request_id(&IdempotencyKey::new("a/b").unwrap()).is_err());
        assert!(check_request_id(&IdempotencyKey::new("k".repeat(101)).unwrap()).is_err());
    }

    #[test]
    fn retryable_statuses() {
        let r = |s: u16| http::Response::builder().status(s).body(Bytes::new()).unwrap();
        for s in [409, 500, 502, 503, 504] {
            assert!(matches!(classify(&r(s)), ReplyClass::Unavailable { .. }), "{s}");
        }
        assert!(matches!(classify(&r(429)), ReplyClass::RateLimited { .. }));
        for s in [200, 400, 401, 404, 412] {
            assert_eq!(classify(&r(s)), ReplyClass::Final, "{s}");
        }
    }
}
