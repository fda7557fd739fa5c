//! `PingppClient`: the neutral traits over Ping++, with request signing.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use payment_core::text::first_chars;
use payment_core::transport::{
    Call, Engine, EngineBuilder, HttpReply, HttpRequest, Lookup, LookupAnswer, Phase, ReplyClass, Targets,
    default_classify, UrlTemplates,
};
use payment_core::{
    Charge, ChargeId, ChargeRecord, CreateCharge, CreateRefund, Error, ErrorKind, IdempotencyKey, ListCharges,
    ListPaginator, ListRefunds, Money, Operation, PaymentSource, Refund, RefundId, RefundRecord, RequestOptions,
    Result, Timestamp, fit_key,
};
use secrecy::ExposeSecret;

use crate::config::PingppConfig;
use crate::pagination::{ChargePages, RefundPages};
use crate::wire::{AppRef, List, NewCharge, NewRefund};
use crate::{CAPABILITIES, NAME, mapping, signing};

/// The paths this client sends to, as spans and metrics name them (`url.template`).
const URL_TEMPLATES: UrlTemplates = UrlTemplates::new(&[
    "/v1/charges",
    "/v1/charges/{id}",
    "/v1/charges/{id}/refunds",
    "/v1/charges/{id}/refunds/{refund}",
    "/v1/charges/{id}/reverse",
    "/v1/refunds",
]);

const USER_AGENT: &str = concat!("Pingpp/v1 RustBindings/", env!("CARGO_PKG_VERSION"));

/// A Ping++ client: cheap to clone.
#[derive(Clone)]
pub struct PingppClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: PingppConfig,
    engine: Engine,
    auth: http::HeaderValue,
    origin: String,
    path_prefix: String,
    targets: Targets,
}

const TIMESTAMP: http::HeaderName = http::HeaderName::from_static("pingplusplus-request-timestamp");
const SIGNATURE: http::HeaderName = http::HeaderName::from_static("pingplusplus-signature");

fn header_value(text: &str) -> Result<http::HeaderValue> {
    http::HeaderValue::from_str(text).map_err(|e| Error::invalid(format!("cannot build the request: {e}")))
}

/// Ping++ rate-limits with 403 (and 429); a reused `order_no` is a duplicate rejection.
fn classify(response: &payment_core::transport::HttpResponse) -> ReplyClass {
    let retry_after = payment_core::transport::parse_retry_after(response.headers());
    match response.status().as_u16() {
        403 | 429 => ReplyClass::RateLimited { retry_after },
        400 if mapping::error(400, response.body()).provider_code() == Some("order_no_used") => {
            ReplyClass::DuplicateRejected
        }
        _ => default_classify(response),
    }
}

/// An order number from the idempotency key: the key when it is at most 32 letters and digits,
/// else its first letters and digits and a digest of the whole key (two keys never share one).
fn order_no_from_key(key: &str) -> String {
    fit_key(key, 32, |b| b.is_ascii_alphanumeric())
}

/// Ping++'s name for each neutral channel ([`payment_core::NEUTRAL_CHANNELS`]) that differs.
pub const NEUTRAL_CHANNEL_NAMES: &[(&str, &str)] = &[
    ("alipay_app", "alipay"),
    ("alipay_pc", "alipay_pc_direct"),
    ("wechat_qr", "wx_pub_qr"),
    ("wechat_app", "wx"),
    ("wechat_jsapi", "wx_pub"),
    ("wechat_h5", "wx_wap"),
    ("wechat_mini_program", "wx_lite"),
];

/// The channel as Ping++ names it: a neutral name mapped, Ping++'s own as it is.
pub fn channel_name(name: &str) -> &str {
    payment_core::source::channel_named(NEUTRAL_CHANNEL_NAMES, name)
}

fn check_order_no(order_no: &str) -> Result<()> {
    if order_no.is_empty() || order_no.len() > 64 || !order_no.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid(format!("Ping++ order_no {order_no:?} must be 1 to 64 letters or digits")));
    }
    Ok(())
}

fn path_id(id: &str) -> Result<&str> {
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::new(ErrorKind::NotFound, format!("{id:?} is not a Ping++ id")));
    }
    Ok(id)
}

fn truncate(text: &str, chars: usize) -> String {
    first_chars(text, chars).into_owned()
}

impl PingppClient {
    /// A client with the default engine.
    pub fn new(config: PingppConfig) -> Result<PingppClient> {
        PingppClient::with_engine(config, EngineBuilder::new(NAME))
    }

    /// A client with a configured engine.
    pub fn with_engine(config: PingppConfig, engine: EngineBuilder) -> Result<PingppClient> {
        let engine = engine.url_templates(URL_TEMPLATES);
        let mut auth = http::HeaderValue::from_str(&format!("Bearer {}", config.secret_key.expose_secret()))
            .map_err(|_| Error::config("pingpp secret_key has characters a header cannot carry"))?;
        auth.set_sensitive(true);
        let origin = config.base_url.origin().ascii_serialization();
        let path_prefix = config.base_url.path().trim_end_matches('/').to_owned();
        let targets = Targets::new(&format!("{origin}{path_prefix}"), &["/v1/charges"]);
        Ok(PingppClient {
            inner: Arc::new(Inner { engine: engine.build()?, auth, origin, path_prefix, targets, config }),
        })
    }

    /// The configuration (secrets redacted in `Debug`).
    pub fn config(&self) -> &PingppConfig {
        &self.inner.config
    }

    /// Builds each attempt: a fresh timestamp and signature over the same body and URI.
    fn request(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<Bytes>,
    ) -> impl Fn() -> Result<HttpRequest> + Send + Sync + 'static + use<> {
        let target = self.inner.targets.get(path_and_query);
        let auth = self.inner.auth.clone();
        let key = self.inner.config.private_key.clone();
        move || {
            let target = target.as_ref().map_err(|e| Error::invalid(e.message().to_owned()))?;
            // What is signed is the URI exactly as it goes on the wire, base path prefix included.
            let uri_on_wire = target.path_and_query();
            let timestamp = Timestamp::now().unix().to_string();
            let payload = body.clone().unwrap_or_default();
            let signature = match &key {
                Some(key) => Some(signing::sign_request(key, &payload, uri_on_wire, &timestamp)?),
                None => None,
            };
            let mut r = target.request(method.clone(), payload);
            let h = r.headers_mut();
            h.insert(http::header::AUTHORIZATION, auth.clone());
            h.insert(http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT));
            h.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
            h.insert(TIMESTAMP, header_value(&timestamp)?);
            if body.is_some() {
                h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json; charset=UTF-8"));
            }
            if let Some(signature) = signature {
                h.insert(SIGNATURE, header_value(&signature)?);
            }
            Ok(r)
        }
    }

    pub(crate) fn get(&self, operation: Operation, path_and_query: &str) -> Call {
        Call::read(operation, self.request(http::Method::GET, path_and_query, None)).classify(classify)
    }

    pub(crate) async fn fetch<T: serde::de::DeserializeOwned>(&self, call: Call) -> Result<T> {
        let reply = self.inner.engine.execute(call).await?;
        reply.ok_or(|r| mapping::error(r.status(), r.body()))?;
        reply.json()
    }

    /// Charges created after `anchor`, oldest first (Ping++'s `ending_before`, walked page by page).
    pub fn list_charges_newer_than(&self, anchor: &ChargeId, query: ListCharges) -> ListPaginator<ChargeRecord> {
        match path_id(anchor.as_str()) {
            Ok(id) => ListPaginator::new(Arc::new(ChargePages::newer_than(self.clone(), id.to_owned(), query))),
            Err(e) => ListPaginator::failed(e),
        }
    }

    pub(crate) fn app_id(&self) -> &str {
        &self.inner.config.app_id
    }

    fn decode_charge(reply: &HttpReply) -> Result<(ChargeRecord, String)> {
        reply.ok_or(|r| mapping::error(r.status(), r.body()))?;
        mapping::charge_and_channel_from_body(reply.body()).map_err(|e| reply.tag(e))
    }

    /// The charge a lookup found by `order_no`.
    fn found_charge(reply: &HttpReply, order_no: &str) -> Result<(ChargeRecord, String)> {
        #[derive(serde::Deserialize)]
        struct Numbered<'a> {
            #[serde(default, borrow)]
            order_no: Option<payment_core::JsonText<'a>>,
        }
        let list: List<Box<serde_json::value::RawValue>> = reply.json()?;
        let named = |raw: &serde_json::value::RawValue| {
            serde_json::from_str::<Numbered<'_>>(raw.get()).is_ok_and(|n| n.order_no.as_deref() == Some(order_no))
        };
        let raw =
            list.data.into_iter().find(|raw| named(raw)).ok_or_else(|| {
                reply.tag(Error::new(ErrorKind::Integrity, "the lookup lost the charge it had found"))
            })?;
        mapping::charge_and_channel_from_raw(raw.into()).map_err(|e| reply.tag(e))
    }

    fn refund_from(reply: &HttpReply) -> Result<RefundRecord> {
        reply.ok_or(|r| mapping::error(r.status(), r.body()))?;
        mapping::raw_body("a Ping++ refund", reply.body()).and_then(mapping::refund_from_raw).map_err(|e| reply.tag(e))
    }
}

#[async_trait]
impl Charge for PingppClient {
    /// `RejectDuplicate` on `order_no`: after an ambiguous failure (or a reused order number) the
    /// client lists recent charges and returns the one with this `order_no`, if it matches the request.
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        let order_no = match &request.reference {
            Some(r) => r.clone(),
            None => order_no_from_key(key.as_str()),
        };
        check_order_no(&order_no)?;
        let amount = mapping::fen(request.amount)?;
        let PaymentSource::Channel { name: channel, extra } = &request.source else {
            return Err(Error::unsupported(format!("Ping++ takes channel sources, not {}", request.source.kind())));
        };
        let client_ip = request
            .payer_ip
            .clone()
            .ok_or_else(|| Error::invalid("Ping++ needs the payer's IP address: set CreateCharge.payer_ip"))?;
        let subject = truncate(request.description.as_deref().unwrap_or(&format!("Order {order_no}")), 32);
        let new = NewCharge {
            order_no: order_no.clone(),
            app: AppRef { id: self.app_id().to_owned() },
            channel: channel_name(channel).to_owned(),
            amount,
            client_ip,
            currency: "cny".into(),
            body: truncate(request.description.as_deref().unwrap_or(&subject), 128),
            subject,
            extra: extra.clone(),
            metadata: request.metadata.clone(),
            description: request.description.as_ref().map(|d| truncate(d, 255)),
            time_expire: None,
        };
        let body = Bytes::from(
            serde_json::to_vec(&new).map_err(|e| Error::invalid(format!("cannot encode the charge: {e}")))?,
        );
        // From five minutes before sending; the query is built only if a lookup runs.
        let since = Timestamp::now().unix() - 300;
        let client = self.clone();
        let wanted = order_no.clone();
        let lookup = Lookup {
            request: payment_core::transport::lazy_request(move || {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("app[id]", client.app_id())
                    .append_pair("created[gte]", &since.to_string())
                    .append_pair("limit", "100")
                    .finish();
                client.request(http::Method::GET, &format!("/v1/charges?{query}"), None)
            }),
            found: Arc::new(move |response| {
                if !response.status().is_success() {
                    return LookupAnswer::Unknown;
                }
                match serde_json::from_slice::<List<serde_json::Value>>(response.body()) {
                    Ok(l)
                        if l.data
                            .iter()
                            .any(|c| c.get("order_no").and_then(|o| o.as_str()) == Some(wanted.as_str())) =>
                    {
                        LookupAnswer::Found
                    }
                    // One page says nothing of the next: absent only when nothing is left unread
                    // (a busy merchant makes more than 100 charges in five minutes).
                    Ok(l) if l.has_more => LookupAnswer::Unknown,
                    Ok(_) => LookupAnswer::Absent,
                    Err(_) => LookupAnswer::Unknown,
                }
            }),
        };
        let call = Call::new(
            Operation::CreateCharge,
            &CAPABILITIES.idempotency,
            self.request(http::Method::POST, "/v1/charges", Some(body)),
        )
        .key(key)
        .reference(order_no.clone())
        .lookup(lookup)
        .classify(classify)
        .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        let (record, answered_channel) = match reply.phase {
            Phase::Send => Self::decode_charge(&reply)?,
            Phase::Lookup => Self::found_charge(&reply, &order_no)?,
        };
        let same_channel = answered_channel == channel_name(channel);
        if record.amount != request.amount || !same_channel {
            // An object an earlier call made under this natural key: this request is refused. After an
            // ambiguous attempt of this call, a mismatch is an answer that cannot be trusted.
            let kind =
                if reply.found_earlier_duplicate() { ErrorKind::IdempotencyConflict } else { ErrorKind::Integrity };
            return Err(reply.tag(Error::new(
                kind,
                format!(
                    "order_no {order_no} names charge {} for {} via {}, not {} via {channel}",
                    record.id, record.amount, answered_channel, request.amount
                ),
            )));
        }
        Ok(record)
    }

    /// Fixes the `order_no` derived from the key, which recovery looks the charge up by.
    async fn prepare_charge(
        &self,
        mut request: CreateCharge,
        key: &IdempotencyKey,
        _options: &RequestOptions,
    ) -> Result<CreateCharge> {
        if request.reference.is_none() {
            request.reference = Some(order_no_from_key(key.as_str()));
        }
        Ok(request)
    }

    /// Walks charges created since `created_from`, newest first, for the one with this `order_no`.
    async fn find_charge(&self, request: &CreateCharge, created_from: Timestamp) -> Result<Option<ChargeRecord>> {
        let reference = request
            .reference
            .as_deref()
            .ok_or_else(|| Error::invalid("a charge is found by its reference; this request has none"))?;
        check_order_no(reference)?;
        let query = ListCharges { created_from: Some(created_from), ..ListCharges::default() };
        let mut pages = self.list_charges(query);
        while let Some(charge) = futures::StreamExt::next(&mut pages).await {
            let charge = charge?;
            if charge.reference.as_deref() == Some(reference) {
                return Ok(Some(charge));
            }
        }
        Ok(None)
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        let reply = self
            .inner
            .engine
            .execute(self.get(Operation::RetrieveCharge, &format!("/v1/charges/{}", path_id(id.as_str())?)))
            .await?;
        Self::decode_charge(&reply).map(|(record, _)| record)
    }

    async fn capture_charge(
        &self,
        _id: &ChargeId,
        _amount: Option<Money>,
        _options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        Err(Error::unsupported("Ping++ charges are paid at the channel; there is no capture"))
    }

    /// `POST /v1/charges/{id}/reverse`: closes an unpaid charge (repeating it changes nothing more).
    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        let path = format!("/v1/charges/{}/reverse", path_id(id.as_str())?);
        let call = Call::new(
            Operation::CancelCharge,
            &CAPABILITIES.idempotency,
            self.request(http::Method::POST, &path, Some(Bytes::from_static(b"{}"))),
        )
        .classify(classify)
        .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        Self::decode_charge(&reply).map(|(record, _)| record)
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
impl Refund for PingppClient {
    /// Refunds start `pending`. Ping++ has no dedupe key for refunds: a lost response is
    /// `OutcomeUnknown` naming the charge, and the request is never sent again.
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let charge = path_id(request.charge_id.as_str())?.to_owned();
        let new = NewRefund {
            amount: request.amount.map(mapping::fen).transpose()?,
            description: truncate(request.reason.as_deref().unwrap_or("refund"), 255),
            metadata: request.metadata.clone(),
        };
        let body = Bytes::from(
            serde_json::to_vec(&new).map_err(|e| Error::invalid(format!("cannot encode the refund: {e}")))?,
        );
        let call = Call::new(
            Operation::CreateRefund,
            &CAPABILITIES.idempotency,
            self.request(http::Method::POST, &format!("/v1/charges/{charge}/refunds"), Some(body)),
        )
        .reference(charge)
        .classify(classify)
        .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        let record = Self::refund_from(&reply)?;
        if let Some(amount) = request.amount
            && record.amount != amount
        {
            return Err(reply.tag(Error::new(
                ErrorKind::Integrity,
                format!("Ping++ recorded a refund of {} for a request of {amount}", record.amount),
            )));
        }
        Ok(record)
    }

    async fn retrieve_refund(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord> {
        let path = format!("/v1/charges/{}/refunds/{}", path_id(charge_id.as_str())?, path_id(refund_id.as_str())?);
        let reply = self.inner.engine.execute(self.get(Operation::RetrieveRefund, &path)).await?;
        Self::refund_from(&reply)
    }

    fn list_refunds(&self, charge_id: &ChargeId, query: ListRefunds) -> ListPaginator<RefundRecord> {
        match path_id(charge_id.as_str()) {
            Ok(id) => ListPaginator::new(Arc::new(RefundPages::new(self.clone(), id.to_owned(), query))),
            Err(e) => ListPaginator::failed(e),
        }
    }
}

payment_core::provider_impl!(PingppClient, crate::DRIVER);

impl fmt::Debug for PingppClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PingppClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl fmt::Display for PingppClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.inner.config.is_test_mode() { "test" } else { "live" };
        write!(
            f,
            "Ping++ ({}{}, app {}, {mode} mode)",
            self.inner.origin, self.inner.path_prefix, self.inner.config.app_id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "mock")]
    #[test]
    fn every_neutral_channel_is_one_of_pingpps() {
        for neutral in payment_core::NEUTRAL_CHANNELS {
            let own = channel_name(neutral);
            assert!(crate::mock::CHANNELS.contains(&own), "{neutral} -> {own}");
        }
        assert_eq!(channel_name("wx_pub_qr"), "wx_pub_qr", "Ping++'s own names stay");
    }

    #[test]
    fn order_numbers_from_keys() {
        assert_eq!(order_no_from_key("order1001"), "order1001", "a key that fits is used as it is");
        let uuid = order_no_from_key("6f1c2b9e-1d2a-4c3b-9a8f-0e1d2c3b4a59");
        assert!(uuid.len() <= 32 && check_order_no(&uuid).is_ok(), "{uuid}");
        assert_eq!(uuid, order_no_from_key("6f1c2b9e-1d2a-4c3b-9a8f-0e1d2c3b4a59"));
        // Keys that differ only in characters an order number cannot carry, or past its length,
        // are different payments.
        assert_ne!(order_no_from_key("order-1"), order_no_from_key("order1"));
        let long = "k".repeat(40);
        assert_ne!(order_no_from_key(&format!("{long}1")), order_no_from_key(&format!("{long}2")));
        assert!(check_order_no(&order_no_from_key("--")).is_ok());
        assert!(check_order_no("abc-1").is_err());
        assert!(check_order_no(&"a".repeat(65)).is_err());
        assert_eq!(truncate("支付宝付款测试", 3), "支付宝");
    }
}
