//! `WorldpayClient`: the neutral traits over Card Payments v6, following links for every action.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use payment_core::transport::{
    Call, Engine, EngineBuilder, HttpReply, HttpRequest, HttpResponse, Lookup, LookupAnswer, Phase, ReplyClass,
    Targets, default_classify, UrlTemplates,
};
use payment_core::{
    Charge, ChargeId, ChargeRecord, ChargeStatus, CreateCharge, CreateRefund, Error, ErrorKind, IdempotencyKey,
    ListCharges, ListPaginator, ListRefunds, Money, NativeOperation, Operation, PaymentSource, RawJson, Refund,
    RefundId, RefundRecord, RefundStatus, RequestOptions, Result, Timestamp, fit_key,
};

use crate::config::WorldpayConfig;
use crate::mapping::{self, ChargeKey};
use crate::pagination::ChargePages;
use crate::wire::payments_api::{API_PAYMENTS_PATH, API_VERSION, API_VERSION_HEADER};
use crate::wire::{
    AuthorizeOutcome, AuthorizeRequest, CardExpiry, EventsResponse, Instruction, Merchant, Narrative, PAYMENTS_ACCEPT,
    PAYMENTS_CONTENT_TYPE, PaymentInstrument, PaymentSummary, QUERIES_ACCEPT, QueryPage, Value,
};
use crate::{CAPABILITIES, NAME, signing};

/// The paths this client sends to, as spans and metrics name them (`url.template`).
const URL_TEMPLATES: UrlTemplates = UrlTemplates::new(&[
    "/",
    "/payments/authorizations",
    "/payments/events",
    "/api/payments",
    "/api/payments/{linkData}",
    "/api/payments/{linkData}/settlements",
    "/api/payments/{linkData}/partialSettlements",
    "/api/payments/{linkData}/refunds",
    "/api/payments/{linkData}/partialRefunds",
    "/api/payments/{linkData}/cancellations",
    "/api/payments/{linkData}/3dsDeviceData",
    "/api/payments/{linkData}/3dsChallenges",
    "/paymentQueries/payments",
    "/paymentQueries/payments/{id}",
    "/payments/settlements/full/{linkData}",
    "/payments/settlements/partials/{linkData}",
    "/payments/settlements/refunds/full/{linkData}",
    "/payments/settlements/refunds/partials/{linkData}",
    "/payments/authorizations/cancellations/{linkData}",
]);

/// A Worldpay client: cheap to clone.
#[derive(Clone)]
pub struct WorldpayClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: WorldpayConfig,
    engine: Engine,
    auth: http::HeaderValue,
    base: String,
    targets: Targets,
}

/// Where authorizations go when discovery is off.
const AUTHORIZE_PATH: &str = "/payments/authorizations";
/// The API root read for its links when discovery is on.
const DISCOVERY: Operation = Operation::Native(NativeOperation::read("discovery"));

/// A reused reference, or an action link used already, is a duplicate rejection.
pub(crate) fn classify(response: &HttpResponse) -> ReplyClass {
    if response.status() == 400 {
        let name =
            serde_json::from_slice::<crate::wire::ApiError>(response.body()).map(|e| e.error_name).unwrap_or_default();
        if name == "transactionReferenceIsADuplicate" || name == "transactionHasAlreadyBeenProcessed" {
            return ReplyClass::DuplicateRejected;
        }
    }
    default_classify(response)
}

/// Worldpay's `transactionReference` charset.
fn valid_reference(r: &str) -> bool {
    // All allowed characters are ASCII, so bytes are characters here.
    (1..=64).contains(&r.len())
        && r.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_!@#$%()*=.:;?[]{}~`/+".contains(&b))
}

/// The `transactionReference` of a charge without one: the key when it is a valid reference,
/// else its start and a digest of the whole key (two keys never share one).
fn transaction_reference(key: &IdempotencyKey) -> String {
    if valid_reference(key.as_str()) {
        key.as_str().to_owned()
    } else {
        fit_key(key.as_str(), 64, |b| b.is_ascii_alphanumeric())
    }
}

/// A partial action's `reference`: 1..128 of `[A-Za-z0-9-]`, from the idempotency key (its
/// start and a digest when it does not fit).
fn action_reference(key: &IdempotencyKey) -> String {
    fit_key(key.as_str(), 128, |b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Whether `r` is a valid partial action `reference`.
fn valid_action_reference(r: &str) -> bool {
    (1..=128).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Statement text: Worldpay's charset, at most 24 characters.
pub(crate) fn narrative(text: Option<&str>) -> String {
    let clean: String =
        text.unwrap_or("").chars().filter(|c| c.is_ascii_alphanumeric() || " ,./-".contains(*c)).take(24).collect();
    if clean.trim().is_empty() { "Payment".to_owned() } else { clean }
}

impl WorldpayClient {
    /// A client with the default engine.
    pub fn new(config: WorldpayConfig) -> Result<WorldpayClient> {
        WorldpayClient::with_engine(config, EngineBuilder::new(NAME))
    }

    /// A client with a configured engine.
    pub fn with_engine(config: WorldpayConfig, engine: EngineBuilder) -> Result<WorldpayClient> {
        let engine = engine.url_templates(URL_TEMPLATES);
        let auth = signing::basic_auth(&config.username, &config.password);
        let base = config.base_url.as_str().trim_end_matches('/').to_owned();
        let targets = Targets::new(&base, &[AUTHORIZE_PATH, API_PAYMENTS_PATH]);
        Ok(WorldpayClient { inner: Arc::new(Inner { engine: engine.build()?, auth, base, targets, config }) })
    }

    /// The configuration (password redacted in `Debug`).
    pub fn config(&self) -> &WorldpayConfig {
        &self.inner.config
    }

    /// The engine every call goes through.
    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Builds each attempt; links are absolute and used exactly as given. A Payments API target
    /// (`/api/payments…`) goes with its `WP-Api-Version` and plain JSON media types.
    pub(crate) fn request(
        &self,
        method: http::Method,
        target: &str,
        body: Option<Bytes>,
        accept: &'static str,
    ) -> impl Fn() -> Result<HttpRequest> + Send + Sync + 'static + use<> {
        // Parsed once per call (the authorize path once per client); links are taken as they are.
        let parsed = self.inner.targets.get(target);
        let url_len = target.len();
        let auth = self.inner.auth.clone();
        // By the parsed path (`/api/payments` as whole segments, under any prefix a proxy puts
        // before it), never by a substring of the whole link.
        let api = parsed.as_ref().is_ok_and(|t| {
            let path = t.path_and_query().split('?').next().unwrap_or_default();
            path.split('/').zip(path.split('/').skip(1)).any(|pair| pair == ("api", "payments"))
        });
        let accept = if api { "application/json" } else { accept };
        move || {
            let target = parsed.as_ref().map_err(|e| {
                Error::invalid(format!("cannot build the request (link {url_len} chars): {}", e.message()))
            })?;
            let mut r = target.request(method.clone(), body.clone().unwrap_or_default());
            let h = r.headers_mut();
            h.insert(http::header::AUTHORIZATION, auth.clone());
            h.insert(http::header::ACCEPT, http::HeaderValue::from_static(accept));
            if api {
                h.insert(http::HeaderName::from_static(API_VERSION_HEADER), http::HeaderValue::from_static(API_VERSION));
            }
            if body.is_some() {
                let content_type = if api { "application/json" } else { PAYMENTS_CONTENT_TYPE };
                h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
            }
            Ok(r)
        }
    }

    /// Worldpay's error from an answer, with `WP-CorrelationId` as the request id.
    pub(crate) fn error_of(reply: &HttpReply) -> Error {
        mapping::error(reply.status(), reply.body(), reply.header(signing::CORRELATION_HEADER))
    }

    /// A new charge's key: its reference (the caller's, else derived from the idempotency key,
    /// within Worldpay's charset), the entity and the amount.
    pub(crate) fn new_charge_key(&self, request: &CreateCharge, idem: &IdempotencyKey) -> Result<ChargeKey> {
        let reference = request.reference.clone().unwrap_or_else(|| transaction_reference(idem));
        if !valid_reference(&reference) {
            return Err(Error::invalid(format!(
                "transactionReference {reference:?} must be 1 to 64 of Worldpay's characters"
            )));
        }
        Ok(ChargeKey::of(reference, self.inner.config.entity.clone(), request.amount))
    }

    /// How a lost authorization (either API) is looked for: the events by its reference, where
    /// a 404 means Worldpay has no payment with it.
    pub(crate) fn authorize_lookup(&self, key: &ChargeKey) -> Lookup {
        Lookup {
            request: self.lookup_request(key),
            found: Arc::new(|response| match response.status().as_u16() {
                200 if serde_json::from_slice::<EventsResponse>(response.body()).is_ok() => LookupAnswer::Found,
                404 => LookupAnswer::Absent,
                _ => LookupAnswer::Unknown,
            }),
        }
    }

    /// The recovery query's request, built only if a lookup is needed: the happy path never
    /// pays for a second URL.
    pub(crate) fn lookup_request(&self, key: &ChargeKey) -> payment_core::transport::RequestFn {
        let (client, key) = (self.clone(), key.clone());
        payment_core::transport::lazy_request(move || {
            client.request(http::Method::GET, &client.recovery_path(&key), None, PAYMENTS_ACCEPT)
        })
    }

    /// Where the payment's last event and actions are read: the Payments API's own query for a
    /// payment it took (by its `linkData`), else the documented recovery query by reference.
    fn recovery_path(&self, key: &ChargeKey) -> String {
        if let Some(link) = &key.l {
            return format!("{API_PAYMENTS_PATH}/{link}");
        }
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("transactionRef", &key.r)
            .append_pair("entity", &key.e)
            .finish();
        format!("/payments/events?{q}")
    }

    /// The payment's last event and the actions it offers now (the documented recovery query).
    pub async fn events(&self, id: &ChargeId) -> Result<EventsResponse> {
        let key = ChargeKey::from_id(id)?;
        self.events_of(&key).await.map(|(e, _)| e)
    }

    pub(crate) async fn events_of(&self, key: &ChargeKey) -> Result<(EventsResponse, RawJson)> {
        let call = Call::read(
            Operation::RetrieveCharge,
            self.request(http::Method::GET, &self.recovery_path(key), None, PAYMENTS_ACCEPT),
        );
        let reply = self.inner.engine.execute(call).await?;
        reply.ok_or(Self::error_of)?;
        let raw = raw_of(&reply, "the Worldpay events")?;
        let events: EventsResponse =
            serde_json::from_str(raw.as_str()).map_err(|e| reply.tag(Error::decode("the Worldpay events", e)))?;
        Ok((events, raw))
    }

    /// After a duplicate reference, whether the payment holding it is this one (same amount and
    /// currency); another amount is `IdempotencyConflict`, a payment not visible yet unknown.
    pub(crate) async fn same_payment(&self, reply: &HttpReply, key: &ChargeKey) -> Result<()> {
        if !reply.found_earlier_duplicate() {
            return Ok(());
        }
        // The payment exists (the duplicate says so): a query that fails says nothing of it,
        // so its error is never this charge's answer.
        match self.query_by_reference(key).await.map_err(|e| reply.tag(e).into_outcome_unknown())? {
            Some(p) if p.value.amount == key.a && p.value.currency.eq_ignore_ascii_case(&key.c) => Ok(()),
            Some(p) => Err(reply.tag(Error::new(
                ErrorKind::IdempotencyConflict,
                format!(
                    "transactionReference {} was used for {} {}, not {} {}",
                    key.r, p.value.currency, p.value.amount, key.c, key.a
                ),
            ))),
            // The reference is taken, but by what is not visible yet: it may be this very
            // payment, so nothing is known (never a refusal).
            None => Err(reply.tag(Error::new(
                ErrorKind::OutcomeUnknown,
                format!(
                    "transactionReference {} is taken, but its payment is not visible yet; ask again with the same key",
                    key.r
                ),
            ))),
        }
    }

    /// The payment as Payment Queries shows it (may lag the events by up to a minute).
    pub(crate) async fn query_by_reference(&self, key: &ChargeKey) -> Result<Option<PaymentSummary>> {
        let q =
            url::form_urlencoded::Serializer::new(String::new()).append_pair("transactionReference", &key.r).finish();
        let page: QueryPage = self.fetch_query(&format!("/paymentQueries/payments?{q}")).await?;
        Ok(page
            .embedded
            .payments
            .iter()
            .filter_map(|p| <PaymentSummary as serde::Deserialize>::deserialize(p).ok())
            .find(|p| p.transaction_reference == key.r && p.entity.as_deref().is_none_or(|e| e == key.e)))
    }

    pub(crate) async fn fetch_query(&self, target: &str) -> Result<QueryPage> {
        let call = Call::read(Operation::ListCharges, self.request(http::Method::GET, target, None, QUERIES_ACCEPT));
        let reply = self.inner.engine.execute(call).await?;
        reply.ok_or(Self::error_of)?;
        reply.json()
    }

    async fn authorize_target(&self) -> Result<String> {
        if !self.inner.config.discovery {
            return Ok(AUTHORIZE_PATH.to_owned());
        }
        let reply = self
            .inner
            .engine
            .execute(Call::read(DISCOVERY, self.request(http::Method::GET, "/", None, PAYMENTS_ACCEPT)))
            .await?;
        reply.ok_or(Self::error_of)?;
        let root: serde_json::Value = reply.json()?;
        let links: crate::wire::Links =
            serde_json::from_value(root.get("_links").cloned().unwrap_or_default()).unwrap_or_default();
        links
            .href("payments:authorize")
            .map(str::to_owned)
            .ok_or_else(|| reply.tag(Error::new(ErrorKind::Decode, "discovery offers no payments:authorize link")))
    }
}

/// A 2xx answer's JSON text, kept as the record's `raw`.
pub(crate) fn raw_of(reply: &HttpReply, what: &str) -> Result<RawJson> {
    RawJson::from_slice(reply.body()).map_err(|e| reply.tag(Error::decode(what, e)))
}

/// The JSON text of an answer whose body the client does not read (an empty 202 is `null`).
fn raw_or_null(reply: &HttpReply) -> RawJson {
    RawJson::from_slice(reply.body()).unwrap_or_default()
}

#[async_trait]
impl Charge for WorldpayClient {
    /// Authorize (201). `refused` is a `CardDeclined` error. `RejectDuplicate` on the reference: a
    /// lost answer is recovered with the events query, never by a blind second authorization.
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        if request.authentication.is_some() {
            return self.create_authenticated(request, options).await;
        }
        let idem = options.key_or_generate();
        let key = self.new_charge_key(&request, &idem)?;
        let instrument = match &request.source {
            PaymentSource::Card(card) => PaymentInstrument {
                kind: "card/plain".into(),
                card_number: Some(card.number().to_owned()),
                card_expiry_date: Some(CardExpiry { month: card.exp_month, year: card.exp_year }),
                card_holder_name: card.holder_name.clone(),
                cvc: card.cvc().map(str::to_owned),
                href: None,
            },
            PaymentSource::Token(href) => PaymentInstrument {
                kind: "card/token".into(),
                card_number: None,
                card_expiry_date: None,
                card_holder_name: None,
                cvc: None,
                href: Some(href.clone()),
            },
            other => {
                return Err(Error::unsupported(format!("Worldpay takes cards and tokens, not {}", other.kind())));
            }
        };
        let body = AuthorizeRequest {
            transaction_reference: key.r.clone(),
            merchant: Merchant { entity: key.e.clone() },
            instruction: Instruction {
                narrative: Narrative { line1: narrative(request.description.as_deref()), line2: None },
                value: Value { currency: key.c.clone(), amount: key.a },
                payment_instrument: instrument,
            },
            request_auto_settlement: Some(crate::wire::AutoSettlement { enabled: request.capture }),
            channel: Some("ecom".into()),
        };
        let body = Bytes::from(
            serde_json::to_vec(&body).map_err(|e| Error::invalid(format!("cannot encode the authorization: {e}")))?,
        );
        let target = self.authorize_target().await?;
        let call = Call::new(
            Operation::CreateCharge,
            &CAPABILITIES.idempotency,
            self.request(http::Method::POST, &target, Some(body), PAYMENTS_ACCEPT),
        )
        .key(idem)
        .reference(key.r.clone())
        .lookup(self.authorize_lookup(&key))
        .classify(classify)
        .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        let (outcome, description, code, raw) = match reply.phase {
            Phase::Send if !reply.is_success() => return Err(reply.fail(Self::error_of(&reply))),
            Phase::Send => {
                let raw = raw_of(&reply, "the Worldpay authorization")?;
                let r: AuthorizeOutcome<'_> = serde_json::from_str(raw.as_str())
                    .map_err(|e| reply.tag(Error::decode("the Worldpay authorization", e)))?;
                let text = |a: Option<&str>, b: Option<&str>| a.or(b).map(str::to_owned);
                let (outcome, description, code) =
                    (r.outcome.to_owned(), text(r.description, r.refusal_description), text(r.code, r.refusal_code));
                (outcome, description, code, raw)
            }
            Phase::Lookup => {
                self.same_payment(&reply, &key).await?;
                let raw = raw_of(&reply, "the Worldpay events")?;
                let e: EventsResponse = serde_json::from_str(raw.as_str())
                    .map_err(|e| reply.tag(Error::decode("the Worldpay events", e)))?;
                (e.last_event, None, None, raw)
            }
        };
        let status = match outcome.to_ascii_lowercase().as_str() {
            "authorized" if request.capture => ChargeStatus::Succeeded,
            "authorized" => ChargeStatus::Authorized,
            "refused" => {
                let code = code.unwrap_or_default();
                return Err(reply.tag(
                    Error::new(
                        ErrorKind::CardDeclined(mapping::decline_reason(&code)),
                        description.clone().unwrap_or_else(|| "refused".into()),
                    )
                    .with_provider_code(if code.is_empty() { "refused".into() } else { code })
                    .with_provider_message(description.unwrap_or_default()),
                ));
            }
            other => mapping::status_from_event(other),
        };
        // The answer states no time: Worldpay's own clock is its `Date` (a lookup's is the
        // query's time, not the payment's, so then the client's clock stands in).
        let created = match reply.phase {
            Phase::Send => reply.date().unwrap_or_else(Timestamp::now),
            _ => Timestamp::now(),
        };
        mapping::record(&key, status, &outcome, created, raw)
    }

    /// Fixes the `transactionReference` derived from the key, which recovery looks the payment up by.
    async fn prepare_charge(
        &self,
        mut request: CreateCharge,
        key: &IdempotencyKey,
        _options: &RequestOptions,
    ) -> Result<CreateCharge> {
        if request.reference.is_none() {
            request.reference = Some(transaction_reference(key));
        }
        Ok(request)
    }

    /// The payment's events by `transactionReference` (the lookup `create_charge` uses); a 404
    /// means Worldpay has no payment with it.
    async fn find_charge(&self, request: &CreateCharge, _created_from: Timestamp) -> Result<Option<ChargeRecord>> {
        let Some(reference) = request.reference.clone() else {
            return Err(Error::invalid(
                "a Worldpay payment is found by its transactionReference; this request has none",
            ));
        };
        let key = ChargeKey::of(reference, self.inner.config.entity.clone(), request.amount);
        match self.retrieve_charge(&key.to_id()).await {
            // Found by its reference while it waits for the customer: the step is known only
            // from the answer that was lost, so this is no charge to hand back (recovery keeps
            // asking until the payment ends, or a person looks).
            Ok(charge) if charge.status == ChargeStatus::RequiresAction => Err(Error::new(
                ErrorKind::OutcomeUnknown,
                format!(
                    "payment {} waits for its customer, but the step to send them to was only in the answer that was lost",
                    key.r
                ),
            )),
            Ok(charge) => Ok(Some(charge)),
            Err(e) if e.kind() == ErrorKind::NotFound && e.http_status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        let key = ChargeKey::from_id(id)?;
        let (events, raw) = self.events_of(&key).await?;
        let created = match self.query_by_reference(&key).await {
            Ok(Some(p)) => {
                // The id carries the authorized amount; Payment Queries must agree with it.
                let asked = key.money()?;
                if p.value.amount != asked.minor || !p.value.currency.eq_ignore_ascii_case(asked.currency.code()) {
                    return Err(Error::new(
                        ErrorKind::Integrity,
                        format!(
                            "Payment Queries report {} {} for charge {id}, authorized for {asked}",
                            p.value.currency, p.value.amount
                        ),
                    ));
                }
                Timestamp::parse_rfc3339(&p.timestamp).unwrap_or_else(|_| Timestamp::now())
            }
            _ => Timestamp::now(),
        };
        mapping::record(&key, mapping::status_from_event(&events.last_event), &events.last_event, created, raw)
    }

    /// Settle (202) in full or in part by following `payments:settle` / `payments:partialSettle`.
    async fn capture_charge(
        &self,
        id: &ChargeId,
        amount: Option<Money>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let key = ChargeKey::from_id(id)?;
        let full = key.money()?;
        let reply = match amount.filter(|a| *a != full) {
            None => self.act(Operation::CaptureCharge, &key, "payments:settle", None, options).await?,
            Some(part) => {
                if part.minor > full.minor {
                    return Err(Error::invalid(format!("cannot settle {part} of a {full} authorization")));
                }
                self.act(
                    Operation::CaptureCharge,
                    &key,
                    "payments:partialSettle",
                    Some(Self::value_action(part, &key, &action_reference(&options.key_or_generate()))?),
                    options,
                )
                .await?
            }
        };
        let mut record = mapping::record(
            &key,
            ChargeStatus::Succeeded,
            "Sent for Settlement",
            Timestamp::now(),
            raw_or_null(&reply),
        )?;
        // This call knows exactly what it settled.
        record.amount_captured = amount.unwrap_or(full);
        record.metadata.remove(mapping::PARTIAL_NOTE);
        Ok(record)
    }

    /// Cancel (202) an authorized payment by following `payments:cancel`; a second cancel returns it as it is.
    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = ChargeKey::from_id(id)?;
        let (events, raw) = self.events_of(&key).await?;
        if mapping::status_from_event(&events.last_event) == ChargeStatus::Canceled {
            return mapping::record(&key, ChargeStatus::Canceled, &events.last_event, Timestamp::now(), raw);
        }
        let reply = self.act(Operation::CancelCharge, &key, "payments:cancel", None, options).await?;
        mapping::record(&key, ChargeStatus::Canceled, "Sent for Cancellation", Timestamp::now(), raw_or_null(&reply))
    }

    /// Continues a 3-D Secure payment with the step its customer finished (see `authentication.rs`).
    async fn complete_charge(
        &self,
        id: &ChargeId,
        data: &payment_core::CompletionData,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        self.complete_authenticated(id, data, options).await
    }

    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        ListPaginator::new(Arc::new(ChargePages::new(self.clone(), query)))
    }

    fn currency_of(&self, id: &ChargeId) -> Option<payment_core::Currency> {
        ChargeKey::from_id(id).and_then(|k| k.money()).ok().map(|m| m.currency)
    }
}

#[async_trait]
impl Refund for WorldpayClient {
    /// Refund (202, `pending`) by following `payments:refund` / `payments:partialRefund`. Worldpay
    /// has no refund objects: the id is `<charge id>:refund:<reference>`, the reference derived
    /// from the key (a partial refund sends it; Worldpay's refund events name it).
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let options = RequestOptions { idempotency_key: Some(options.key_or_generate()), timeout: options.timeout };
        let request = self.prepare_refund(request, &options).await?;
        let key = ChargeKey::from_id(&request.charge_id)?;
        let reference = request.reference.clone().unwrap_or_default();
        if !valid_action_reference(&reference) {
            return Err(Error::invalid(format!("refund reference {reference:?} must be 1 to 128 of [A-Za-z0-9-]")));
        }
        let (reply, amount) = match request.amount {
            None => (self.act(Operation::CreateRefund, &key, "payments:refund", None, &options).await?, key.money()?),
            Some(part) => (
                self.act(
                    Operation::CreateRefund,
                    &key,
                    "payments:partialRefund",
                    Some(Self::value_action(part, &key, &reference)?),
                    &options,
                )
                .await?,
                part,
            ),
        };
        Ok(RefundRecord {
            provider: NAME.to_owned(),
            id: RefundId::synthesized(&request.charge_id, &reference),
            charge_id: request.charge_id,
            status: RefundStatus::Pending,
            amount,
            reason: request.reason,
            created: Timestamp::now(),
            raw: raw_or_null(&reply),
        })
    }

    /// Fixes the refund's reference from the key before it is sent, so an event that names it
    /// finds this refund even when the answer to sending it was lost.
    async fn prepare_refund(&self, mut request: CreateRefund, options: &RequestOptions) -> Result<CreateRefund> {
        if request.reference.is_none() {
            request.reference = Some(action_reference(&options.key_or_generate()));
        }
        Ok(request)
    }

    async fn retrieve_refund(&self, _charge_id: &ChargeId, _refund_id: &RefundId) -> Result<RefundRecord> {
        Err(Error::unsupported("Worldpay has no refund objects: read the payment's events"))
    }

    fn list_refunds(&self, _charge_id: &ChargeId, _query: ListRefunds) -> ListPaginator<RefundRecord> {
        ListPaginator::failed(Error::unsupported("Worldpay has no refund list: read the payment's events"))
    }
}

payment_core::provider_impl!(WorldpayClient, crate::DRIVER);

impl fmt::Debug for WorldpayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorldpayClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl fmt::Display for WorldpayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Worldpay Access ({}, entity {})", self.inner.base, self.inner.config.entity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_narratives() {
        assert!(valid_reference("Memory265-13/08/1876"));
        assert!(!valid_reference(""));
        assert!(!valid_reference(&"a".repeat(65)));
        assert!(!valid_reference("has space"));
        assert_eq!(narrative(Some("Café #1 order: 42!")), "Caf 1 order 42");
        assert_eq!(narrative(None), "Payment");
        assert_eq!(action_reference(&IdempotencyKey::new("abcd-12").unwrap()), "abcd-12");
        let odd = action_reference(&IdempotencyKey::new("ab_cd-12").unwrap());
        assert!(odd.starts_with("abcd-12") && odd.len() <= 128, "{odd}");
        assert_ne!(odd, "abcd-12", "a key that does not fit is never cut to another key's reference");
        let long = "r".repeat(70);
        let (a, b) =
            (IdempotencyKey::new(format!("{long}1")).unwrap(), IdempotencyKey::new(format!("{long}2")).unwrap());
        assert_ne!(transaction_reference(&a), transaction_reference(&b));
        assert!(valid_reference(&transaction_reference(&a)));
    }
}
