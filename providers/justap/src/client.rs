//! `JustapClient`: the neutral traits over Justap, every request RSA-signed.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use payment_core::text::first_chars;
use payment_core::transport::{
    Call, Engine, EngineBuilder, HttpReply, HttpRequest, HttpResponse, Lookup, LookupAnswer, ReplyClass, Targets,
    parse_retry_after, UrlTemplates,
};
use payment_core::{
    Charge, ChargeId, ChargeRecord, CreateCharge, CreateRefund, Error, ErrorKind, IdempotencyKey, ListCharges,
    ListPaginator, ListRefunds, Money, Operation, PaymentSource, Refund, RefundId, RefundRecord, RequestOptions,
    Result, Timestamp, fit_key,
};
use secrecy::ExposeSecret;

use crate::config::JustapConfig;
use crate::pagination::{ChargePages, RefundPages};
use crate::wire::{ApiError, NewCharge, NewRefund, Reverse};
use crate::{CAPABILITIES, NAME, mapping, signing};

/// The paths this client sends to, as spans and metrics name them (`url.template`).
const URL_TEMPLATES: UrlTemplates = UrlTemplates::new(&[
    "/v1/charges",
    "/v1/charges/{id}",
    "/v1/charges/{id}/reverse",
    "/v1/charges/merchant_trade_id/{id}",
    "/v1/charges/{id}/refunds",
    "/v1/charges/{id}/refunds/{refund}",
    "/v1/refunds",
    "/v1/refunds/{id}",
]);

const USER_AGENT: &str = concat!("justap-rust/", env!("CARGO_PKG_VERSION"));
const JSON: &str = "application/json";

/// Justap's channel enum (`tradev1Channel`), spelled as the API takes it.
pub const CHANNELS: &[&str] = &[
    "BALANCE",
    "AlipayQR",
    "AlipayScan",
    "AlipayApp",
    "AlipayWap",
    "AlipayPage",
    "AlipayFace",
    "AlipayLite",
    "AlipayJSAPI",
    "WechatpayApp",
    "WechatpayJSAPI",
    "WechatpayH5",
    "WechatpayNative",
    "WechatpayLite",
    "WechatpayFace",
    "WechatpayScan",
    "UnionPayQr",
    "UnionPayCardlessQuickPay",
    "UnionPayAgreementQuickPay",
];

/// Justap's name for each neutral channel ([`payment_core::NEUTRAL_CHANNELS`]).
pub const NEUTRAL_CHANNEL_NAMES: &[(&str, &str)] = &[
    ("alipay_qr", "AlipayQR"),
    ("alipay_app", "AlipayApp"),
    ("alipay_wap", "AlipayWap"),
    ("alipay_pc", "AlipayPage"),
    ("wechat_qr", "WechatpayNative"),
    ("wechat_app", "WechatpayApp"),
    ("wechat_jsapi", "WechatpayJSAPI"),
    ("wechat_h5", "WechatpayH5"),
    ("wechat_mini_program", "WechatpayLite"),
];

/// The channel as Justap names it: a neutral name mapped, Justap's own as it is.
pub fn channel_name(name: &str) -> &str {
    payment_core::source::channel_named(NEUTRAL_CHANNEL_NAMES, name)
}

/// A Justap client: cheap to clone.
#[derive(Clone)]
pub struct JustapClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: JustapConfig,
    engine: Engine,
    api_key: http::HeaderValue,
    origin: String,
    path_prefix: String,
    // The paths every charge calls, parsed once.
    targets: Targets,
}

const API_KEY: http::HeaderName = http::HeaderName::from_static("x-justap-api-key");
const TIME: http::HeaderName = http::HeaderName::from_static("x-justap-request-time");
const NONCE: http::HeaderName = http::HeaderName::from_static("x-justap-nonce");
const BODY_HASH: http::HeaderName = http::HeaderName::from_static("x-justap-body-hash");
const SIGNATURE: http::HeaderName = http::HeaderName::from_static("x-justap-signature");

fn header_value(text: &str) -> Result<http::HeaderValue> {
    http::HeaderValue::from_str(text).map_err(|e| Error::invalid(format!("cannot build the request: {e}")))
}

/// Justap asks clients to retry 500 and 503 (and lost answers) with the same merchant ids; a 429 is
/// a rate limit; an order number already used (409, gRPC 6 ALREADY_EXISTS) is a duplicate rejection.
fn classify(response: &HttpResponse) -> ReplyClass {
    let retry_after = parse_retry_after(response.headers());
    let status = response.status().as_u16();
    // Only error answers carry a grpc-gateway status; a success body is not parsed twice.
    let grpc = (status >= 400).then(|| serde_json::from_slice::<ApiError>(response.body()).ok()).flatten();
    let mismatch = grpc.as_ref().is_some_and(|e| e.message.contains(mapping::PARAMETER_MISMATCH));
    match status {
        500 | 503 => ReplyClass::Unavailable { retry_after },
        429 => ReplyClass::RateLimited { retry_after },
        _ if grpc.as_ref().is_some_and(|e| e.code == 8) => ReplyClass::RateLimited { retry_after },
        409 if !mismatch => ReplyClass::DuplicateRejected,
        _ if !mismatch && grpc.as_ref().is_some_and(|e| e.code == 6) => ReplyClass::DuplicateRejected,
        _ => ReplyClass::Final,
    }
}

/// A merchant order number: the reference, else the key when it fits 30 of `[A-Za-z0-9_-]`,
/// else its start and a digest of the whole key (two keys never share one).
fn trade_id(reference: Option<&str>, key: &IdempotencyKey) -> Result<String> {
    let id = match reference {
        Some(r) => r.to_owned(),
        None => fit_key(key.as_str(), 30, |b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
    };
    if id.is_empty() || id.len() > 30 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::invalid(format!(
            "Justap merchant_trade_id {id:?} must be 1 to 30 letters, digits, '_' or '-' (from the reference or the key)"
        )));
    }
    Ok(id)
}

/// The merchant refund number of a call: its idempotency key when Justap can carry it, else a
/// hash of it; the same key always gives the same number, so a retried refund is refunded once.
pub fn refund_id_for(key: &IdempotencyKey) -> String {
    let k = key.as_str();
    if k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        k.to_owned()
    } else {
        format!("k{}", signing::body_hash(k.as_bytes(), "", ""))
    }
}

fn path_id(id: &str) -> Result<&str> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::new(ErrorKind::NotFound, format!("{id:?} is not a Justap id")));
    }
    Ok(id)
}

fn encode<T: serde::Serialize>(what: &str, value: &T) -> Result<Bytes> {
    serde_json::to_vec(value).map(Bytes::from).map_err(|e| Error::invalid(format!("cannot encode the {what}: {e}")))
}

impl JustapClient {
    /// A client with the default engine.
    pub fn new(config: JustapConfig) -> Result<JustapClient> {
        JustapClient::with_engine(config, EngineBuilder::new(NAME))
    }

    /// A client with a configured engine.
    pub fn with_engine(config: JustapConfig, engine: EngineBuilder) -> Result<JustapClient> {
        let engine = engine.url_templates(URL_TEMPLATES);
        let mut api_key = http::HeaderValue::from_str(config.api_key.expose_secret())
            .map_err(|_| Error::config("justap api_key has characters a header cannot carry"))?;
        api_key.set_sensitive(true);
        let origin = config.base_url.origin().ascii_serialization();
        let path_prefix = config.base_url.path().trim_end_matches('/').to_owned();
        let targets = Targets::new(&format!("{origin}{path_prefix}"), &["/v1/charges", "/v1/refunds"]);
        Ok(JustapClient {
            inner: Arc::new(Inner { engine: engine.build()?, api_key, origin, path_prefix, targets, config }),
        })
    }

    /// The configuration (secrets redacted in `Debug`).
    pub fn config(&self) -> &JustapConfig {
        &self.inner.config
    }

    pub(crate) fn app_id(&self) -> &str {
        &self.inner.config.app_id
    }

    /// Builds each attempt: a fresh timestamp, nonce and signature over the same body.
    fn request(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<Bytes>,
    ) -> impl Fn() -> Result<HttpRequest> + Send + Sync + 'static + use<> {
        let target = self.inner.targets.get(path_and_query);
        let api_key = self.inner.api_key.clone();
        let key = self.inner.config.private_key.clone();
        move || {
            let target = target.as_ref().map_err(|e| Error::invalid(e.message().to_owned()))?;
            let payload = body.clone().unwrap_or_default();
            let signed = signing::sign(&key, &payload, &Timestamp::now().unix().to_string(), &signing::nonce()?)?;
            let mut r = target.request(method.clone(), payload);
            let h = r.headers_mut();
            h.insert(API_KEY, api_key.clone());
            h.insert(http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT));
            h.insert(http::header::ACCEPT, http::HeaderValue::from_static(JSON));
            h.insert(TIME, header_value(&signed.timestamp)?);
            h.insert(NONCE, header_value(&signed.nonce)?);
            h.insert(BODY_HASH, header_value(&signed.body_hash)?);
            h.insert(SIGNATURE, header_value(&signed.signature)?);
            if body.is_some() {
                h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(JSON));
            }
            Ok(r)
        }
    }

    pub(crate) fn get(&self, operation: Operation, path_and_query: &str) -> Call {
        Call::read(operation, self.request(http::Method::GET, path_and_query, None)).classify(classify)
    }

    fn post(&self, operation: Operation, path: &str, body: Bytes) -> Call {
        Call::new(operation, &CAPABILITIES.idempotency, self.request(http::Method::POST, path, Some(body)))
            .classify(classify)
    }

    fn query(&self, pairs: &[(&str, &str)]) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("app_id", self.app_id());
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
        q.finish()
    }

    /// A 2xx answer's body, or the error it carries. A 502 or 504 to a change (which Justap does
    /// not ask clients to retry) leaves its effect unknown.
    pub(crate) fn checked(reply: &HttpReply, mutating: bool) -> Result<()> {
        reply
            .ok_or(|r| mapping::error(r.status(), r.body()))
            .map_err(|e| if mutating && matches!(reply.status(), 502 | 504) { e.into_outcome_unknown() } else { e })
    }

    pub(crate) async fn fetch(&self, call: Call) -> Result<HttpReply> {
        let reply = self.inner.engine.execute(call).await?;
        Self::checked(&reply, false)?;
        Ok(reply)
    }

    fn charge_of(reply: &HttpReply, mutating: bool) -> Result<ChargeRecord> {
        Self::checked(reply, mutating)?;
        mapping::charge_from_body(reply.body()).map_err(|e| reply.tag(e))
    }

    fn refund_of(reply: &HttpReply, mutating: bool) -> Result<RefundRecord> {
        Self::checked(reply, mutating)?;
        mapping::refund_from_body(reply.body()).map_err(|e| reply.tag(e))
    }

    /// Charges created after `anchor`, oldest first (`ending_before`, walked page by page).
    pub fn list_charges_newer_than(&self, anchor: &ChargeId, query: ListCharges) -> ListPaginator<ChargeRecord> {
        match path_id(anchor.as_str()) {
            Ok(id) => ListPaginator::new(Arc::new(ChargePages::newer_than(self.clone(), id.to_owned(), query))),
            Err(e) => ListPaginator::failed(e),
        }
    }

    /// The charge with this merchant order number (`GET /v1/charges/merchant_trade_id/{id}`).
    pub async fn retrieve_by_trade_id(&self, merchant_trade_id: &str) -> Result<ChargeRecord> {
        let path = format!("/v1/charges/merchant_trade_id/{}?{}", path_id(merchant_trade_id)?, self.query(&[]));
        Self::charge_of(&self.fetch(self.get(Operation::RetrieveCharge, &path)).await?, false)
    }
}

#[async_trait]
impl Charge for JustapClient {
    /// Fixes the `merchant_trade_id` derived from the key, which recovery looks the charge up by.
    async fn prepare_charge(
        &self,
        mut request: CreateCharge,
        key: &IdempotencyKey,
        _options: &RequestOptions,
    ) -> Result<CreateCharge> {
        request.reference = Some(trade_id(request.reference.as_deref(), key)?);
        Ok(request)
    }

    /// `GET /v1/charges/merchant_trade_id/{id}`: Justap's own lookup; a 404 means there is none.
    async fn find_charge(&self, request: &CreateCharge, _created_from: Timestamp) -> Result<Option<ChargeRecord>> {
        let reference = request.reference.as_deref().ok_or_else(|| {
            Error::invalid("a Justap charge is found by its merchant_trade_id; this request has none")
        })?;
        match self.retrieve_by_trade_id(reference).await {
            Ok(charge) => Ok(Some(charge)),
            Err(e) if e.kind() == ErrorKind::NotFound && e.http_status().is_some() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `RejectDuplicate` on `merchant_trade_id`: after an ambiguous failure, or when the number is
    /// already taken, the charge is looked up by it and returned if it matches the request.
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        let trade_id = trade_id(request.reference.as_deref(), &key)?;
        let amount = mapping::yuan(request.amount)?;
        let PaymentSource::Channel { name: channel, extra } = &request.source else {
            return Err(Error::unsupported(format!("Justap takes channel sources, not {}", request.source.kind())));
        };
        let channel = channel_name(channel);
        if !CHANNELS.contains(&channel) {
            return Err(Error::invalid(format!(
                "Justap has no channel {channel:?}; it takes {} (or a neutral name: {})",
                CHANNELS.join(", "),
                payment_core::NEUTRAL_CHANNELS.join(", ")
            )));
        }
        let client_ip = request
            .payer_ip
            .as_deref()
            .ok_or_else(|| Error::invalid("Justap needs the payer's IP address: set CreateCharge.payer_ip"))?;
        let description = request.description.as_deref().filter(|d| !d.trim().is_empty());
        let subject = match description {
            Some(d) => first_chars(d, 32),
            None => Cow::Owned(first_chars(&format!("Order {trade_id}"), 32).into_owned()),
        };
        let body = encode(
            "charge",
            &NewCharge {
                app_id: Cow::Borrowed(self.app_id()),
                merchant_trade_id: Cow::Borrowed(&trade_id),
                amount,
                currency: Cow::Borrowed("CNY"),
                channel: Cow::Borrowed(channel),
                body: first_chars(description.unwrap_or(&subject), 128),
                subject: Cow::Borrowed(&subject),
                client_ip: Cow::Borrowed(client_ip),
                description: description.map(|d| first_chars(d, 255)),
                metadata: Cow::Borrowed(&request.metadata),
                extra: Cow::Borrowed(extra),
                ttl: None,
            },
        )?;
        let wanted = trade_id.clone();
        let (client, lookup_id) = (self.clone(), trade_id.clone());
        let lookup = Lookup {
            // Built only if a lookup runs: the happy path never makes this URL.
            request: payment_core::transport::lazy_request(move || {
                let path = format!("/v1/charges/merchant_trade_id/{lookup_id}?{}", client.query(&[]));
                client.request(http::Method::GET, &path, None)
            }),
            found: Arc::new(move |response| match response.status().as_u16() {
                200 => match mapping::charge_from_body(response.body()) {
                    Ok(c) if c.reference.as_deref() == Some(wanted.as_str()) => LookupAnswer::Found,
                    _ => LookupAnswer::Unknown,
                },
                404 => LookupAnswer::Absent,
                _ => LookupAnswer::Unknown,
            }),
        };
        let call = self
            .post(Operation::CreateCharge, "/v1/charges", body)
            .key(key)
            .reference(trade_id.clone())
            .lookup(lookup)
            .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        Self::checked(&reply, true)?;
        let (record, answered_channel) =
            mapping::charge_and_channel_from_body(reply.body()).map_err(|e| reply.tag(e))?;
        let same_channel = answered_channel == channel;
        if record.amount != request.amount || !same_channel || record.reference.as_deref() != Some(trade_id.as_str()) {
            // An object an earlier call made under this natural key: this request is refused. After an
            // ambiguous attempt of this call, a mismatch is an answer that cannot be trusted.
            let kind =
                if reply.found_earlier_duplicate() { ErrorKind::IdempotencyConflict } else { ErrorKind::Integrity };
            return Err(reply.tag(Error::new(
                kind,
                format!(
                    "merchant_trade_id {trade_id} names charge {} for {} via {}, not {} via {channel}",
                    record.id,
                    record.amount,
                    if answered_channel.is_empty() { "?" } else { &answered_channel },
                    request.amount
                ),
            )));
        }
        Ok(record)
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        let path = format!("/v1/charges/{}?{}", path_id(id.as_str())?, self.query(&[]));
        Self::charge_of(&self.fetch(self.get(Operation::RetrieveCharge, &path)).await?, false)
    }

    async fn capture_charge(
        &self,
        _id: &ChargeId,
        _amount: Option<Money>,
        _options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        Err(Error::unsupported("Justap charges are paid at the channel; there is no capture"))
    }

    /// `POST /v1/charges/{id}/reverse`: closes an unpaid charge (repeating it changes nothing more).
    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        let id = path_id(id.as_str())?;
        let body = encode("reverse", &Reverse { app_id: self.app_id().to_owned(), charge_id: id.to_owned() })?;
        let call =
            self.post(Operation::CancelCharge, &format!("/v1/charges/{id}/reverse"), body).deadline(options.timeout);
        Self::charge_of(&self.inner.engine.execute(call).await?, true)
    }

    /// The payer finishes in the channel's app (the next action's credential), and the channel
    /// tells the provider: completing only reads the charge back, `requires_action` until paid.
    async fn complete_charge(
        &self,
        id: &ChargeId,
        _data: &payment_core::CompletionData,
        _options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        self.retrieve_charge(id).await
    }

    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        ListPaginator::new(Arc::new(ChargePages::new(self.clone(), query)))
    }
}

#[async_trait]
impl Refund for JustapClient {
    /// `Replay` on `merchant_refund_id`, made from the call's idempotency key: repeating the call
    /// returns the same refund; the same key with other parameters is `IdempotencyConflict`.
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let key = options.key_or_generate();
        let charge = path_id(request.charge_id.as_str())?.to_owned();
        let merchant_refund_id = refund_id_for(&key);
        let reason = request.reason.as_deref().filter(|r| !r.trim().is_empty());
        let new = NewRefund {
            app_id: self.app_id().to_owned(),
            charge_id: charge.clone(),
            merchant_refund_id: merchant_refund_id.clone(),
            description: first_chars(reason.unwrap_or(&format!("Refund {merchant_refund_id}")), 255).into_owned(),
            amount: request.amount.map(mapping::yuan).transpose()?,
            metadata: request.metadata.clone(),
        };
        let call = self
            .post(Operation::CreateRefund, "/v1/refunds", encode("refund", &new)?)
            .key(key)
            .reference(merchant_refund_id)
            .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        let record = Self::refund_of(&reply, true)?;
        let amount_differs = request.amount.is_some_and(|a| record.amount != a);
        if amount_differs || record.charge_id.as_str() != charge {
            return Err(reply.tag(Error::new(
                ErrorKind::Integrity,
                format!("Justap recorded refund {} of {} on {}", record.id, record.amount, record.charge_id),
            )));
        }
        Ok(record)
    }

    async fn retrieve_refund(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord> {
        let charge = path_id(charge_id.as_str())?;
        let path = format!("/v1/refunds/{}?{}", path_id(refund_id.as_str())?, self.query(&[("charge_id", charge)]));
        Self::refund_of(&self.fetch(self.get(Operation::RetrieveRefund, &path)).await?, false)
    }

    fn list_refunds(&self, charge_id: &ChargeId, query: ListRefunds) -> ListPaginator<RefundRecord> {
        match path_id(charge_id.as_str()) {
            Ok(id) => ListPaginator::new(Arc::new(RefundPages::new(self.clone(), id.to_owned(), query))),
            Err(e) => ListPaginator::failed(e),
        }
    }
}

payment_core::provider_impl!(JustapClient, crate::DRIVER);

impl fmt::Debug for JustapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JustapClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl fmt::Display for JustapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.inner.config.is_test_mode() { "test" } else { "live" };
        write!(f, "Justap ({}{}, app {}, {mode} mode)", self.inner.origin, self.inner.path_prefix, self.app_id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_neutral_channel_is_one_of_justaps() {
        for neutral in payment_core::NEUTRAL_CHANNELS {
            assert!(CHANNELS.contains(&channel_name(neutral)), "{neutral} -> {}", channel_name(neutral));
        }
        assert_eq!(channel_name("AlipayQR"), "AlipayQR", "Justap's own names stay");
    }

    #[test]
    fn the_header_constants_are_the_documented_names() {
        for (constant, documented) in [
            (&API_KEY, signing::API_KEY_HEADER),
            (&TIME, signing::TIME_HEADER),
            (&NONCE, signing::NONCE_HEADER),
            (&BODY_HASH, signing::BODY_HASH_HEADER),
            (&SIGNATURE, signing::SIGNATURE_HEADER),
        ] {
            assert!(constant.as_str().eq_ignore_ascii_case(documented), "{constant} is not {documented}");
        }
    }

    fn response(status: u16, body: &'static str) -> HttpResponse {
        http::Response::builder().status(status).body(Bytes::from_static(body.as_bytes())).unwrap()
    }

    #[test]
    fn retries_follow_justaps_advice() {
        assert!(matches!(classify(&response(500, "")), ReplyClass::Unavailable { .. }));
        assert!(matches!(classify(&response(503, "")), ReplyClass::Unavailable { .. }));
        assert_eq!(classify(&response(502, "")), ReplyClass::Final, "Justap asks for retries on 500 and 503 only");
        assert!(matches!(classify(&response(429, r#"{"code":8,"message":"slow"}"#)), ReplyClass::RateLimited { .. }));
        assert_eq!(
            classify(&response(409, r#"{"code":6,"message":"merchant_trade_id exists"}"#)),
            ReplyClass::DuplicateRejected
        );
        let mismatch = r#"{"code":6,"message":"IdempotentParameterMismatch"}"#;
        assert_eq!(classify(&response(409, mismatch)), ReplyClass::Final);
        assert_eq!(classify(&response(400, r#"{"code":3,"message":"bad"}"#)), ReplyClass::Final);
    }

    #[test]
    fn merchant_ids_from_references_and_keys() {
        let key = IdempotencyKey::new("6f1c2b9e-1d2a-4c3b-9a8f-0e1d2c3b4a59").unwrap();
        let derived = trade_id(None, &key).unwrap();
        assert!(derived.len() <= 30, "{derived}");
        assert_eq!(trade_id(None, &IdempotencyKey::new("order-7").unwrap()).unwrap(), "order-7");
        let long = "k".repeat(40);
        let (a, b) =
            (IdempotencyKey::new(format!("{long}1")).unwrap(), IdempotencyKey::new(format!("{long}2")).unwrap());
        assert_ne!(trade_id(None, &a).unwrap(), trade_id(None, &b).unwrap(), "a shared prefix is not one payment");
        assert_eq!(trade_id(Some("order-1"), &key).unwrap(), "order-1");
        assert!(trade_id(Some(&"a".repeat(31)), &key).is_err());
        assert!(trade_id(Some("订单"), &key).is_err());
        assert_eq!(refund_id_for(&key), key.as_str(), "a key Justap can carry is used as it is");
        let odd = IdempotencyKey::new("order:7/refund").unwrap();
        assert_eq!(refund_id_for(&odd), refund_id_for(&odd));
        assert_eq!(refund_id_for(&odd).len(), 33);
        assert_ne!(refund_id_for(&odd), refund_id_for(&IdempotencyKey::new("order:8/refund").unwrap()));
    }
}
