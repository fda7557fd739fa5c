//! `PayjpV2Client`: the neutral traits over PAY.JP API v2 (Payment Flows, refunds, payment
//! methods), plus the v2-only registration of a card or PayPay in test mode.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use payment_core::transport::{Call, Engine, EngineBuilder, HttpReply, HttpRequest, ReplyClass, Targets, UrlTemplates};
use payment_core::{
    AuthenticationMode, Charge, ChargeId, ChargeRecord, CompletionData, CreateCharge,
    CreateRefund, Error, ErrorKind, IdempotencyKey, IdempotencySupport, ListCharges, ListPaginator, ListRefunds,
    Money, NativeOperation, Operation, PaymentSource, Refund, RefundId, RefundRecord, RequestOptions, Result,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::config::PayjpV2Config;
use crate::pagination::{ChargePages, RefundPages};
use crate::wire::{List, PaymentFlow, PaymentRefund};
use crate::{CAPABILITIES, NAME, mapping, signing};

/// `POST /v2/payment_flows/{id}/cancel` of a flow a decline left open.
/// The paths this client sends to, as spans and metrics name them (`url.template`).
const URL_TEMPLATES: UrlTemplates = UrlTemplates::new(&[
    "/v2/customers",
    "/v2/customers/{id}",
    "/v2/events",
    "/v2/events/{id}",
    "/v2/payment_flows",
    "/v2/payment_flows/{id}",
    "/v2/payment_flows/{id}/cancel",
    "/v2/payment_flows/{id}/capture",
    "/v2/payment_flows/{id}/confirm",
    "/v2/payment_flows/{id}/refunds",
    "/v2/payment_methods",
    "/v2/payment_methods/{id}",
    "/v2/payment_methods/{id}/attach",
    "/v2/payment_refunds",
    "/v2/payment_refunds/{id}",
]);

const CLOSE_DECLINED: Operation = Operation::Native(NativeOperation::write("close_declined", IdempotencySupport::Replay));
/// The reasons PAY.JP v2 takes for a cancel.
pub const CANCEL_REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer", "abandoned"];
/// Pages of a customer's flows searched for a declined one.
const FIND_PAGES: usize = 3;

const USER_AGENT: &str = concat!("payjp/payjpv2 RustBindings/", env!("CARGO_PKG_VERSION"));
const IDEMPOTENCY_KEY: http::HeaderName = http::HeaderName::from_static("idempotency-key");
const JSON: &str = "application/json";
/// The channel name PayPay is asked for by.
pub const PAYPAY: &str = "paypay";
/// Largest refund page, so a flow's refunds are summed in as few reads as possible.
const REFUND_PAGE: u32 = 100;
/// Pages of one flow's refunds read at most (100,000 refunds).
const MAX_REFUND_PAGES: usize = 1000;

fn unreadable_refunds(id: &str) -> Error {
    Error::new(ErrorKind::Decode, format!("PAY.JP's list of flow {id}'s refunds does not page on")).with_provider(NAME)
}

/// A PAY.JP v2 client: cheap to clone (shared engine and config).
#[derive(Clone)]
pub struct PayjpV2Client {
    inner: Arc<Inner>,
}

struct Inner {
    config: PayjpV2Config,
    engine: Engine,
    auth: http::HeaderValue,
    base: String,
    targets: Targets,
}

/// 409 `idempotency_timeout`: the first request with this key is still running, so like an
/// outage it may yet take effect: the same key is tried again after a pause.
fn classify(response: &payment_core::transport::HttpResponse) -> ReplyClass {
    if response.status() == 409 && mapping::error(409, response.body()).provider_code() == Some("idempotency_timeout") {
        return ReplyClass::Unavailable { retry_after: payment_core::transport::parse_retry_after(response.headers()) };
    }
    payment_core::transport::default_classify(response)
}

pub(crate) fn check_key(key: &IdempotencyKey) -> Result<()> {
    // PAY.JP v2 documents at most 255 characters of [A-Za-z0-9_-].
    key.check(NAME, 255, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// An id safe to put in a path: PAY.JP ids (and custom customer ids) are `[-_0-9A-Za-z]`.
pub(crate) fn path_id<'a>(id: &'a str, what: &str) -> Result<&'a str> {
    if id.is_empty() || id.len() > 100 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::new(ErrorKind::NotFound, format!("{id:?} is not a PAY.JP v2 {what} id")));
    }
    Ok(id)
}

fn integrity(record: &ChargeRecord, amount: Money) -> Result<()> {
    if record.amount != amount {
        return Err(Error::new(
            ErrorKind::Integrity,
            format!("PAY.JP answered payment flow {} for {} but {} was requested", record.id, record.amount, amount),
        ));
    }
    Ok(())
}

impl PayjpV2Client {
    /// A client with the default engine (exponential backoff, 30 s per attempt).
    pub fn new(config: PayjpV2Config) -> Result<PayjpV2Client> {
        PayjpV2Client::with_engine(config, EngineBuilder::new(NAME))
    }

    /// A client with a configured engine (retry policy, timeouts, tower layers, sleeper).
    pub fn with_engine(config: PayjpV2Config, engine: EngineBuilder) -> Result<PayjpV2Client> {
        let engine = engine.url_templates(URL_TEMPLATES);
        let base = config.base_url.as_str().trim_end_matches('/').to_owned();
        let auth = signing::authorization(&config.secret_key, config.auth);
        let targets = Targets::new(&base, &["/v2/payment_flows", "/v2/payment_refunds", "/v2/payment_methods", "/v2/customers"]);
        Ok(PayjpV2Client { inner: Arc::new(Inner { engine: engine.build()?, auth, base, targets, config }) })
    }

    /// The configuration (secrets redacted in `Debug`).
    pub fn config(&self) -> &PayjpV2Config {
        &self.inner.config
    }

    /// Builds each attempt's request: the same JSON body and key every time, fresh headers.
    fn request(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
        key: Option<&IdempotencyKey>,
    ) -> impl Fn() -> Result<HttpRequest> + Send + Sync + 'static {
        let target = self.inner.targets.get(path);
        let auth = self.inner.auth.clone();
        let body = body.map(|b| Bytes::from(b.to_string()));
        // Keys are visible ASCII, which is always a valid header value.
        let key = key.and_then(|k| http::HeaderValue::from_str(k.as_str()).ok());
        move || {
            let target = target.as_ref().map_err(|e| Error::invalid(e.message().to_owned()))?;
            let mut r = target.request(method.clone(), body.clone().unwrap_or_default());
            let h = r.headers_mut();
            h.insert(http::header::AUTHORIZATION, auth.clone());
            h.insert(http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT));
            h.insert(http::header::ACCEPT, http::HeaderValue::from_static(JSON));
            if body.is_some() {
                h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(JSON));
            }
            if let Some(k) = &key {
                h.insert(IDEMPOTENCY_KEY, k.clone());
            }
            Ok(r)
        }
    }

    pub(crate) fn post(&self, operation: Operation, path: &str, body: &Value, key: &IdempotencyKey, options: &RequestOptions) -> Call {
        let build = self.request(http::Method::POST, path, Some(body), Some(key));
        Call::new(operation, &CAPABILITIES.idempotency, build).key(key.clone()).classify(classify).deadline(options.timeout)
    }

    pub(crate) fn get(&self, operation: Operation, path: &str) -> Call {
        Call::read(operation, self.request(http::Method::GET, path, None, None))
    }

    pub(crate) async fn execute(&self, call: Call) -> Result<HttpReply> {
        let reply = self.inner.engine.execute(call).await?;
        reply.ok_or(|r| mapping::error(r.status(), r.body()))?;
        Ok(reply)
    }

    async fn flow_call(&self, call: Call) -> Result<(PaymentFlow, payment_core::RawJson)> {
        let reply = self.execute(call).await?;
        mapping::flow_from_body(reply.body()).map_err(|e| reply.tag(e))
    }

    /// A flow as a record: a captured flow's refunds are read and summed (a flow does not say
    /// what was refunded).
    async fn record(&self, flow: PaymentFlow, raw: payment_core::RawJson) -> Result<ChargeRecord> {
        let captured = flow.status == "succeeded" || flow.amount_received.unwrap_or(0) > 0;
        let refunded = if captured { self.refunded(&flow.id).await? } else { 0 };
        mapping::charge_record(&flow, refunded, raw)
    }

    /// The yen flow `id`'s refunds take back (pending ones included), read page by page.
    async fn refunded(&self, id: &str) -> Result<i64> {
        let mut total = 0i64;
        let mut after: Option<String> = None;
        for _ in 0..MAX_REFUND_PAGES {
            let page = self.refund_page(id, REFUND_PAGE, after.as_deref()).await?;
            let mut last = None;
            for item in &page.data {
                let refund: PaymentRefund = serde_json::from_str(item.get())
                    .map_err(|e| Error::decode("a PAY.JP v2 refund in a list", e).with_provider(NAME))?;
                if mapping::refund_counts(&refund.status) {
                    total = total.checked_add(refund.amount).ok_or_else(|| Error::invalid("refund total overflows"))?;
                }
                last = Some(refund.id);
            }
            match (page.has_more, last) {
                (false, _) => return Ok(total),
                // A cursor that does not move on would walk for ever, and more promised with
                // nothing given would leave the sum short: either is an answer not to trust.
                (true, Some(last)) if after.as_deref() != Some(last.as_str()) => after = Some(last),
                _ => return Err(unreadable_refunds(id)),
            }
        }
        Err(unreadable_refunds(id))
    }

    pub(crate) async fn refund_page(
        &self,
        id: &str,
        limit: u32,
        after: Option<&str>,
    ) -> Result<List<Box<serde_json::value::RawValue>>> {
        let query = {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("limit", &limit.clamp(1, CAPABILITIES.list.max_limit).to_string());
            if let Some(a) = after {
                q.append_pair("starting_after", a);
            }
            q.finish()
        };
        let path = format!("/v2/payment_flows/{}/refunds?{query}", path_id(id, "payment flow")?);
        let reply = self.execute(self.get(Operation::ListRefunds, &path)).await?;
        reply.json()
    }

    pub(crate) async fn flow_page(&self, query: String) -> Result<List<Box<serde_json::value::RawValue>>> {
        let reply = self.execute(self.get(Operation::ListCharges, &format!("/v2/payment_flows?{query}"))).await?;
        reply.json()
    }

    /// A flow from a list as a record (its refunds read when it was captured).
    pub(crate) async fn listed(&self, raw: Box<serde_json::value::RawValue>) -> Result<ChargeRecord> {
        let (flow, raw) = mapping::flow_from_body(raw.get().as_bytes())?;
        self.record(flow, raw).await
    }

    /// Flow `id`'s `client_secret`, for PAY.JP's own front end (payment widgets) with the public
    /// key: records never keep it, since PAY.JP says it must not be stored or logged.
    pub async fn client_secret(&self, id: &ChargeId) -> Result<SecretString> {
        let path = format!("/v2/payment_flows/{}", path_id(id.as_str(), "payment flow")?);
        let reply = self.execute(self.get(Operation::RetrieveCharge, &path)).await?;
        let flow: PaymentFlow = reply.json()?;
        Ok(SecretString::from(flow.client_secret))
    }

    /// Cancels flow `id` with one of PAY.JP's reasons (`duplicate`, `fraudulent`,
    /// `requested_by_customer`, `abandoned`); a flow already canceled is the answer.
    pub async fn cancel_with_reason(&self, id: &ChargeId, reason: Option<&str>, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let mut body = json!({});
        match reason {
            Some(r) if CANCEL_REASONS.contains(&r) => body["cancellation_reason"] = json!(r),
            Some(r) => return Err(Error::invalid(format!("cancellation reason {r:?} is not one of {CANCEL_REASONS:?}"))),
            None => {}
        }
        let path = format!("/v2/payment_flows/{}/cancel", path_id(id.as_str(), "payment flow")?);
        match self.flow_call(self.post(Operation::CancelCharge, &path, &body, &key, options)).await {
            Ok((flow, raw)) => mapping::charge_record(&flow, 0, raw),
            Err(e) if e.provider_code() == Some("invalid_status") => {
                let current = self.retrieve_charge(id).await?;
                if current.status == payment_core::ChargeStatus::Canceled { Ok(current) } else { Err(e) }
            }
            Err(e) => Err(e),
        }
    }

    /// What completing flow `id` answers, from where the flow is.
    async fn judge_completion(
        &self,
        id: &ChargeId,
        flow: PaymentFlow,
        raw: payment_core::RawJson,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let (status, open) = (flow.status.clone(), flow.status != "canceled");
        let record = self.record(flow, raw).await?;
        if let Some(f) = &record.failure {
            if open {
                self.close_declined(id.as_str(), key, options).await;
            }
            // The decline (or failed authentication) that ended the flow is this call's answer.
            return Err(Error::new(mapping::error_kind(402, Some(&f.code)), f.message.clone())
                .with_provider_code(f.code.clone())
                .with_provider_message(f.message.clone()));
        }
        match status.as_str() {
            "requires_action" => Err(Error::new(
                ErrorKind::ActionRequired,
                format!("the customer has not finished payment flow {id}'s next action"),
            )
            .with_provider_code("requires_action")),
            "canceled" => Err(Error::new(ErrorKind::Conflict, format!("payment flow {id} is canceled: nothing to complete"))
                .with_provider_code("invalid_status")),
            _ => Ok(record),
        }
    }

    /// The flow `customer` was charged with under `key` (the key rides in its metadata), among
    /// the customer's newest flows.
    async fn find_by_key(&self, customer: &str, key: &IdempotencyKey) -> Result<Option<String>> {
        let mut after: Option<String> = None;
        for _ in 0..FIND_PAGES {
            let query = {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("limit", "100").append_pair("customer_id", customer);
                if let Some(a) = &after {
                    q.append_pair("starting_after", a);
                }
                q.finish()
            };
            let page = self.flow_page(query).await?;
            let mut last = None;
            for raw in &page.data {
                let flow: PaymentFlow = serde_json::from_str(raw.get())
                    .map_err(|e| Error::decode("a PAY.JP v2 payment flow in a list", e))?;
                if flow.metadata.get(mapping::KEY_METADATA).and_then(Value::as_str) == Some(key.as_str()) {
                    return Ok(Some(flow.id));
                }
                last = Some(flow.id);
            }
            match (page.has_more, last) {
                (true, Some(l)) if after.as_ref() != Some(&l) => after = Some(l),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Cancels a declined flow (`abandoned`) under a key derived from the call's, so it cannot
    /// be paid later by anyone holding it. Best effort: the decline is the caller's answer
    /// whether or not the flow could be closed.
    async fn close_declined(&self, id: &str, key: &IdempotencyKey, options: &RequestOptions) {
        let (Ok(id), Ok(void)) = (path_id(id, "payment flow"), key.derive("-void")) else { return };
        let body = json!({"cancellation_reason": "abandoned"});
        let _ = self.execute(self.post(CLOSE_DECLINED, &format!("/v2/payment_flows/{id}/cancel"), &body, &void, options)).await;
    }

    /// The flow's `POST` body for `request`, whose source is a customer or a registered PayPay.
    fn flow_body(&self, request: &CreateCharge, key: &IdempotencyKey, owner: Option<&str>) -> Result<Value> {
        let mut body_method = None;
        let yen = mapping::yen(request.amount)?;
        let mut metadata = mapping::outgoing_metadata(&request.metadata, request.reference.as_deref())?;
        if metadata.insert(mapping::KEY_METADATA.into(), key.as_str().to_owned()).is_some() {
            return Err(Error::invalid(format!("metadata key {:?} is reserved for the idempotency key", mapping::KEY_METADATA)));
        }
        if metadata.len() > 20 {
            return Err(Error::invalid("PAY.JP accepts at most 20 metadata keys (the reference and the key take two)"));
        }
        let (customer, return_url) = match &request.source {
            PaymentSource::Customer(c) => (c.as_str(), None),
            PaymentSource::Channel { name, extra } if name == PAYPAY => (
                extra.get("customer_id").and_then(Value::as_str).ok_or_else(|| {
                    Error::invalid("a PayPay source is registered before it is charged (prepare_charge)")
                })?,
                extra.get("return_url").and_then(Value::as_str),
            ),
            PaymentSource::Channel { name, .. } => {
                return Err(Error::unsupported(format!("PAY.JP v2 has no channel {name:?}; it takes {PAYPAY:?}")));
            }
            PaymentSource::Token(pm) => match owner {
                Some(customer) => {
                    body_method = Some(path_id(pm, "payment method")?);
                    (customer, None)
                }
                None => return Err(Error::invalid("a payment method is charged through its customer, read first")),
            },
            PaymentSource::Card(_) => return Err(Error::invalid("a card is registered before it is charged")),
            other => return Err(Error::unsupported(format!("PAY.JP v2 does not take {} sources", other.kind()))),
        };
        let mut body = json!({
            "amount": yen,
            "currency": "jpy",
            "customer_id": path_id(customer, "customer")?,
            "capture_method": if request.capture { "automatic" } else { "manual" },
            "confirm": true,
            "metadata": metadata,
            // The secret is for PAY.JP's front end; a URL puts it in browser history and logs,
            // and completing needs only the flow's id.
            "redirect_options": {"include_client_secret": false},
        });
        if let Some(pm) = body_method {
            body["payment_method_id"] = json!(pm);
        }
        if let Some(d) = &request.description {
            body["description"] = json!(d);
        }
        let return_url = request.authentication.as_ref().and_then(|a| a.return_url.as_deref()).or(return_url);
        if let Some(url) = return_url {
            match url::Url::parse(url) {
                Ok(_) => body["return_url"] = json!(url),
                Err(_) => return Err(Error::invalid(format!("return_url must be a URL, got {url:?}"))),
            }
        }
        if let Some(a) = &request.authentication {
            let asked = match a.mode {
                AuthenticationMode::Required => "any",
                AuthenticationMode::Automatic => "automatic",
            };
            body["payment_method_options"] = json!({"card": {"request_three_d_secure": asked}});
        }
        Ok(body)
    }
}

#[async_trait]
impl Charge for PayjpV2Client {
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let amount = request.amount;
        let request = self.prepare_charge(request, &key, options).await?;
        // A payment method goes with its customer: PAY.JP takes one only with the other.
        let owner = match &request.source {
            PaymentSource::Token(pm) => Some(self.owner_of(pm).await?),
            PaymentSource::Customer(c) => Some(c.clone()),
            _ => None,
        };
        let body = self.flow_body(&request, &key, owner.as_deref())?;
        let call = self.post(Operation::CreateCharge, "/v2/payment_flows", &body, &key, options);
        let (flow, raw) = match self.flow_call(call).await {
            Ok(answer) => answer,
            Err(e) if matches!(e.kind(), ErrorKind::CardDeclined(_)) => {
                // The declined flow exists, waiting for another payment method: closed, so
                // that "declined" stays true whoever holds the flow.
                if let Some(customer) = &owner
                    && let Ok(Some(flow)) = self.find_by_key(customer, &key).await
                {
                    self.close_declined(&flow, &key, options).await;
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        // A new flow has no refunds: its record is its answer.
        let record = mapping::charge_record(&flow, 0, raw).map_err(|e| e.with_idempotency_key(key.clone()))?;
        // The flow exists whatever it echoed: the key goes with the error, to recover with.
        integrity(&record, amount).map_err(|e| e.with_idempotency_key(key))?;
        Ok(record)
    }

    /// A card or PayPay is registered first (a payment method and a customer, under keys
    /// derived from `key`), so what is journaled and resent names the customer, never the card.
    async fn prepare_charge(
        &self,
        mut request: CreateCharge,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<CreateCharge> {
        match &mut request.source {
            PaymentSource::Card(card) => {
                let customer = self.register_card(card, request.authentication.as_ref(), key, options).await?;
                request.source = PaymentSource::Customer(customer);
            }
            PaymentSource::Channel { name, extra } if name == PAYPAY && !extra.contains_key("customer_id") => {
                let customer = self.register_paypay(key, options).await?;
                extra.insert("customer_id".into(), json!(customer));
            }
            _ => {}
        }
        Ok(request)
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        let path = format!("/v2/payment_flows/{}", path_id(id.as_str(), "payment flow")?);
        let (flow, raw) = self.flow_call(self.get(Operation::RetrieveCharge, &path)).await?;
        self.record(flow, raw).await
    }

    /// `POST /v2/payment_flows/{id}/capture` with `amount_to_capture` for a partial capture (the
    /// rest of the authorization is released, neither captured nor refunded).
    async fn capture_charge(&self, id: &ChargeId, amount: Option<Money>, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let mut body = json!({});
        if let Some(a) = amount {
            body["amount_to_capture"] = json!(mapping::yen(a)?);
        }
        let path = format!("/v2/payment_flows/{}/capture", path_id(id.as_str(), "payment flow")?);
        let (flow, raw) = self.flow_call(self.post(Operation::CaptureCharge, &path, &body, &key, options)).await?;
        let record = mapping::charge_record(&flow, 0, raw)?;
        // The capture happened whatever it echoed: the key goes with the error.
        let captured = record.amount_captured;
        let wrong = record.id != *id
            || amount.is_some_and(|a| a != captured)
            || captured.minor <= 0
            || captured.minor > record.amount.minor;
        if wrong {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!("PAY.JP answered the capture of {id} ({amount:?}) with {} captured on {}", captured, record.id),
            )
            .with_idempotency_key(key));
        }
        Ok(record)
    }

    /// `POST /v2/payment_flows/{id}/cancel`; a flow already canceled is this call's answer.
    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        self.cancel_with_reason(id, None, options).await
    }

    /// PAY.JP moves a flow on by itself once the customer is back (no finishing call): the flow
    /// is read, and its status is the answer. A flow waiting for confirmation is confirmed; a
    /// declined one (authentication failed or expired, the card refused) is closed, and its
    /// decline is the answer.
    async fn complete_charge(&self, id: &ChargeId, _data: &CompletionData, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let path = format!("/v2/payment_flows/{}", path_id(id.as_str(), "payment flow")?);
        let (flow, raw) = self.flow_call(self.get(Operation::RetrieveCharge, &path)).await?;
        if flow.status != "requires_confirmation" {
            return self.judge_completion(id, flow, raw, &key, options).await;
        }
        let confirm = self.post(Operation::CompleteCharge, &format!("{path}/confirm"), &json!({}), &key, options);
        match self.flow_call(confirm).await {
            Ok((flow, _)) if flow.id != id.as_str() => Err(Error::new(
                ErrorKind::Integrity,
                format!("PAY.JP answered the confirmation of {id} with payment flow {}", flow.id),
            )
            .with_idempotency_key(key)),
            Ok((flow, raw)) => self.judge_completion(id, flow, raw, &key, options).await,
            // Confirmed meanwhile (another completion, PAY.JP's front end): where it is now is
            // the answer, never a refusal of a flow that may be paid.
            Err(e) if e.provider_code() == Some("invalid_status") => {
                let (flow, raw) = self.flow_call(self.get(Operation::RetrieveCharge, &path)).await.map_err(|read| {
                    Error::new(ErrorKind::OutcomeUnknown, format!("flow {id} was confirmed meanwhile, and reading it failed: {read}"))
                        .with_idempotency_key(key.clone())
                })?;
                self.judge_completion(id, flow, raw, &key, options).await
            }
            Err(e) => Err(e),
        }
    }

    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        ListPaginator::new(Arc::new(ChargePages::new(self.clone(), query)))
    }
}

#[async_trait]
impl Refund for PayjpV2Client {
    /// `POST /v2/payment_refunds`: without an amount PAY.JP refunds what is left, and the refund
    /// object it answers (replayed under its key) says how much that was.
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let id = path_id(request.charge_id.as_str(), "payment flow")?;
        let mut metadata = mapping::outgoing_metadata(&request.metadata, request.reference.as_deref())?;
        let mut body = json!({"payment_flow_id": id});
        if let Some(a) = request.amount {
            body["amount"] = json!(mapping::yen(a)?);
        }
        match request.reason.as_deref() {
            Some(r) if mapping::REFUND_REASONS.contains(&r) => body["reason"] = json!(r),
            Some(r) => {
                metadata.insert(mapping::REASON_KEY.into(), r.to_owned());
                if metadata.len() > 20 {
                    return Err(Error::invalid("PAY.JP accepts at most 20 metadata keys (a free-text reason takes one)"));
                }
            }
            None => {}
        }
        if !metadata.is_empty() {
            body["metadata"] = json!(metadata);
        }
        let reply = self.execute(self.post(Operation::CreateRefund, "/v2/payment_refunds", &body, &key, options)).await?;
        let (refund, raw) = mapping::refund_from_body(reply.body()).map_err(|e| reply.tag(e))?;
        let record = mapping::refund_record(&refund, raw)?;
        let mismatch = record.charge_id != request.charge_id
            || request.amount.is_some_and(|a| a != record.amount)
            || record.amount.minor <= 0;
        if mismatch {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!(
                    "PAY.JP answered refund {} of {} on {} for a refund of {:?} on {}",
                    record.id, record.amount, record.charge_id, request.amount, request.charge_id
                ),
            )
            .with_idempotency_key(key));
        }
        Ok(record)
    }

    async fn retrieve_refund(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord> {
        let path = format!("/v2/payment_refunds/{}", path_id(refund_id.as_str(), "refund")?);
        let reply = self.execute(self.get(Operation::RetrieveRefund, &path)).await?;
        let (refund, raw) = mapping::refund_from_body(reply.body()).map_err(|e| reply.tag(e))?;
        if refund.payment_flow_id != charge_id.as_str() {
            return Err(Error::new(ErrorKind::NotFound, format!("refund {refund_id} is not a refund of {charge_id}")));
        }
        mapping::refund_record(&refund, raw)
    }

    fn list_refunds(&self, charge_id: &ChargeId, query: ListRefunds) -> ListPaginator<RefundRecord> {
        ListPaginator::new(Arc::new(RefundPages::new(self.clone(), charge_id.clone(), query)))
    }
}

payment_core::provider_impl!(PayjpV2Client, crate::DRIVER);

impl fmt::Debug for PayjpV2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayjpV2Client").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl fmt::Display for PayjpV2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.inner.config.is_test_mode() { "test" } else { "live" };
        write!(f, "PAY.JP v2 ({}, {mode} mode)", self.inner.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_still_in_flight_is_retried_not_final() {
        let body = br#"{"status":409,"code":"idempotency_timeout","title":"Conflict","type":"x"}"#;
        let r = http::Response::builder().status(409).body(bytes::Bytes::from_static(body)).unwrap();
        assert!(matches!(classify(&r), ReplyClass::Unavailable { .. }));
        let conflict = br#"{"status":409,"code":"idempotency_conflict","title":"Conflict","type":"x"}"#;
        let r = http::Response::builder().status(409).body(bytes::Bytes::from_static(conflict)).unwrap();
        assert_eq!(classify(&r), ReplyClass::Final);
    }

    #[test]
    fn ids_that_cannot_go_in_a_path_are_not_found() {
        assert!(path_id("pfw_abc-1", "x").is_ok());
        for bad in ["", "a/b", "a?b", "..", &"x".repeat(101)] {
            assert_eq!(path_id(bad, "x").unwrap_err().kind(), ErrorKind::NotFound, "{bad}");
        }
    }
}
