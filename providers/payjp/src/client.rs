//! `PayjpClient`: the neutral traits over PAY.JP v1, plus PAY.JP-only operations.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use payment_core::transport::{Call, Engine, EngineBuilder, HttpReply, HttpRequest, Targets, UrlTemplates};
use payment_core::{
    Authentication, CardDetails, Charge, CompletionData, ChargeId, ChargeRecord, ChargeStatus, CreateCharge, CreateRefund, Error, ErrorKind,
    IdempotencyKey, IdempotencySupport, ListCharges, ListPaginator, ListRefunds, Money, NativeOperation, Operation,
    PaymentSource, Refund, RefundId, RefundRecord, RefundStatus, RequestOptions, Result, Timestamp,
};

use crate::config::PayjpConfig;
use crate::pagination::ChargePages;
use crate::wire::{Form, Token};
use crate::{CAPABILITIES, NAME, mapping, signing, tds};

// PAY.JP's own requests; like its charges, each is replayed by its `Idempotency-Key`.
/// `POST /v1/tokens`: a card made a one-time token before it is charged.
/// The paths this client sends to, as spans and metrics name them (`url.template`).
const URL_TEMPLATES: UrlTemplates = UrlTemplates::new(&[
    "/v1/charges",
    "/v1/charges/{id}",
    "/v1/charges/{id}/capture",
    "/v1/charges/{id}/reauth",
    "/v1/charges/{id}/refund",
    "/v1/charges/{id}/tds_finish",
    "/v1/tds/{id}/start",
    "/v1/tds/{id}/result",
    "/v1/tokens",
    "/v1/tokens/{id}",
]);

const CREATE_TOKEN: Operation = Operation::Native(NativeOperation::write("create_token", IdempotencySupport::Replay));
/// `POST /v1/charges/{id}/reauth`.
const REAUTH: Operation = Operation::Native(NativeOperation::write("reauth", IdempotencySupport::Replay));
/// `POST /v1/charges/{id}`: description and metadata.
const UPDATE_CHARGE: Operation = Operation::Native(NativeOperation::write("update_charge", IdempotencySupport::Replay));

const USER_AGENT: &str = concat!("Payjp/v1 RustBindings/", env!("CARGO_PKG_VERSION"));
const IDEMPOTENCY_KEY: http::HeaderName = http::HeaderName::from_static("idempotency-key");
const DIRECT_TOKEN: http::HeaderName = http::HeaderName::from_static("x-payjp-direct-token-generate");
const FORM: &str = "application/x-www-form-urlencoded";

/// A PAY.JP client: cheap to clone (shared engine and config).
#[derive(Clone)]
pub struct PayjpClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: PayjpConfig,
    engine: Engine,
    auth: http::HeaderValue,
    base: String,
    targets: Targets,
}

/// PAY.JP's 409 `idempotency_timeout` means the first request with this key is still running: like an
/// outage, it may yet take effect, so the same key is tried again after a pause.
fn classify(response: &payment_core::transport::HttpResponse) -> payment_core::transport::ReplyClass {
    if response.status() == 409 && mapping::error(409, response.body()).provider_code() == Some("idempotency_timeout") {
        return payment_core::transport::ReplyClass::Unavailable {
            retry_after: payment_core::transport::parse_retry_after(response.headers()),
        };
    }
    payment_core::transport::default_classify(response)
}

fn check_key(key: &IdempotencyKey) -> Result<()> {
    // PAY.JP documents at most 255 characters of [A-Za-z0-9_-] (v2; v1 states no rule).
    key.check(NAME, 255, |c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl PayjpClient {
    /// A client with the default engine (exponential backoff, 30 s per attempt).
    pub fn new(config: PayjpConfig) -> Result<PayjpClient> {
        PayjpClient::with_engine(config, EngineBuilder::new(NAME))
    }

    /// A client with a configured engine (retry policy, timeouts, tower layers, sleeper).
    pub fn with_engine(config: PayjpConfig, engine: EngineBuilder) -> Result<PayjpClient> {
        let engine = engine.url_templates(URL_TEMPLATES);
        let base = config.base_url.as_str().trim_end_matches('/').to_owned();
        let auth = signing::basic_auth(&config.secret_key);
        let targets = Targets::new(&base, &["/v1/tokens", "/v1/charges"]);
        Ok(PayjpClient { inner: Arc::new(Inner { engine: engine.build()?, auth, base, targets, config }) })
    }

    /// The configuration (secrets redacted in `Debug`).
    pub fn config(&self) -> &PayjpConfig {
        &self.inner.config
    }

    /// Builds each attempt's request: the same body and key every time, fresh headers.
    fn request(
        &self,
        method: http::Method,
        path: &str,
        form: Option<&Form>,
        key: Option<&IdempotencyKey>,
        direct_token: bool,
    ) -> impl Fn() -> Result<HttpRequest> + Send + Sync + 'static {
        let target = self.inner.targets.get(path);
        let auth = self.inner.auth.clone();
        let body = form.map(|f| Bytes::from(f.encode()));
        // Keys are visible ASCII, which is always a valid header value.
        let key = key.and_then(|k| http::HeaderValue::from_str(k.as_str()).ok());
        move || {
            let target = target.as_ref().map_err(|e| Error::invalid(e.message().to_owned()))?;
            let mut r = target.request(method.clone(), body.clone().unwrap_or_default());
            let h = r.headers_mut();
            h.insert(http::header::AUTHORIZATION, auth.clone());
            h.insert(http::header::USER_AGENT, http::HeaderValue::from_static(USER_AGENT));
            h.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
            if body.is_some() {
                h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(FORM));
            }
            if let Some(k) = &key {
                h.insert(IDEMPOTENCY_KEY, k.clone());
            }
            if direct_token {
                h.insert(DIRECT_TOKEN, http::HeaderValue::from_static("true"));
            }
            Ok(r)
        }
    }

    fn post(
        &self,
        operation: Operation,
        path: &str,
        form: &Form,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Call {
        let build = self.request(http::Method::POST, path, Some(form), Some(key), false);
        Call::new(operation, &CAPABILITIES.idempotency, build)
            .key(key.clone())
            .classify(classify)
            .deadline(options.timeout)
    }

    fn get(&self, operation: Operation, path: &str) -> Call {
        Call::read(operation, self.request(http::Method::GET, path, None, None, false))
    }

    async fn charge_call(&self, call: Call) -> Result<ChargeRecord> {
        let reply = self.inner.engine.execute(call).await?;
        decode_charge(&reply)
    }

    /// Creates a one-time token from card details (test cards, or merchants in PCI scope).
    pub async fn create_token(
        &self,
        card: &CardDetails,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<Token> {
        self.tokenize(card, None, key, options).await
    }

    /// A token whose card carries the customer's email and phone when 3-D Secure asks for them
    /// (PAY.JP sends them to the issuer with the authentication request).
    async fn tokenize(
        &self,
        card: &CardDetails,
        authentication: Option<&Authentication>,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<Token> {
        check_key(key)?;
        let mut form = Form::new();
        form.push("card[number]", card.number())
            .push("card[exp_month]", card.exp_month.to_string())
            .push("card[exp_year]", card.exp_year.to_string())
            .push_opt("card[cvc]", card.cvc())
            .push_opt("card[name]", card.holder_name.as_deref())
            .push_opt("card[email]", authentication.and_then(|a| a.email.as_deref()))
            .push_opt("card[phone]", authentication.and_then(|a| a.phone.as_deref()));
        let build = self.request(http::Method::POST, "/v1/tokens", Some(&form), Some(key), true);
        let call = Call::new(CREATE_TOKEN, &CAPABILITIES.idempotency, build)
            .key(key.clone())
            .classify(classify)
            .deadline(options.timeout);
        let reply = self.inner.engine.execute(call).await?;
        reply.ok_or(|r| mapping::error(r.status(), r.body()))?;
        reply.json::<Token>()
    }

    /// Where to send the customer's browser to authenticate charge `id` (3-D Secure), coming back
    /// to `return_url`: `/v1/tds/{id}/start` with the public key and a `back_url` signed with the
    /// secret key. A created charge's `next_action` already holds it; this builds it again for a
    /// charge read back later.
    pub fn authentication_url(&self, id: &ChargeId, return_url: &str) -> Result<String> {
        let (public_key, back_url) = self.redirect_back(return_url)?;
        Ok(tds::start_url(&self.inner.base, path_id(id)?, public_key, &back_url))
    }

    /// The public key and the signed `back_url` for `return_url`, which name no charge: checked
    /// and made before a charge is created, so a setting missing fails before any request.
    fn redirect_back(&self, return_url: &str) -> Result<(&str, String)> {
        let public_key = self.inner.config.public_key.as_deref().ok_or_else(|| {
            Error::config("payjp needs public_key (PAYMENT_PAYJP_PUBLIC_KEY, pk_…) to send customers to 3-D Secure")
        })?;
        // Signed as parsed: the text a browser is sent back to is exactly what was signed.
        let return_url = match url::Url::parse(return_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return Err(Error::invalid(format!("return_url must be an http(s) URL, got {return_url:?}"))),
        };
        Ok((public_key, tds::back_url(return_url.as_str(), &self.inner.config.secret_key)))
    }

    /// Re-authorizes an uncaptured charge for `expiry_days` more days (PAY.JP discourages it: the
    /// first hold is not released).
    pub async fn reauth(
        &self,
        id: &ChargeId,
        expiry_days: Option<u8>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let mut form = Form::new();
        form.push_opt("expiry_days", expiry_days.map(|d| d.to_string()));
        self.charge_call(self.post(REAUTH, &format!("/v1/charges/{}/reauth", path_id(id)?), &form, &key, options)).await
    }

    /// Updates a charge's description and metadata.
    pub async fn update_charge(
        &self,
        id: &ChargeId,
        description: Option<&str>,
        metadata: &std::collections::BTreeMap<String, String>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let mut form = Form::new();
        form.push_opt("description", description).push_map("metadata", metadata);
        self.charge_call(self.post(UPDATE_CHARGE, &format!("/v1/charges/{}", path_id(id)?), &form, &key, options)).await
    }

    pub(crate) async fn list_page(&self, query: String) -> Result<crate::wire::List<Box<serde_json::value::RawValue>>> {
        let reply =
            self.inner.engine.execute(self.get(Operation::ListCharges, &format!("/v1/charges?{query}"))).await?;
        reply.ok_or(|r| mapping::error(r.status(), r.body()))?;
        reply.json()
    }
}

/// An id safe to put in a path: PAY.JP ids are `[A-Za-z0-9_]`.
fn path_id(id: &ChargeId) -> Result<&str> {
    let s = id.as_str();
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::new(ErrorKind::NotFound, format!("{s:?} is not a PAY.JP charge id")));
    }
    Ok(s)
}

fn decode_charge(reply: &HttpReply) -> Result<ChargeRecord> {
    reply.ok_or(|r| mapping::error(r.status(), r.body()))?;
    mapping::charge_from_body(reply.body()).map_err(|e| reply.tag(e))
}

fn integrity(record: &ChargeRecord, amount: Money) -> Result<()> {
    if record.amount != amount {
        return Err(Error::new(
            ErrorKind::Integrity,
            format!("PAY.JP answered charge {} for {} but {} was requested", record.id, record.amount, amount),
        ));
    }
    Ok(())
}

#[async_trait]
impl Charge for PayjpClient {
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let yen = mapping::yen(request.amount)?;
        let metadata = mapping::outgoing_metadata(&request.metadata, request.reference.as_deref())?;
        // Made before any I/O: the redirect needs the public key and somewhere to come back to.
        let redirect = match &request.authentication {
            Some(a) => {
                let url = a.return_url.as_deref().ok_or_else(|| {
                    Error::invalid("PAY.JP's 3-D Secure redirect needs a return_url for the customer's browser")
                })?;
                Some(self.redirect_back(url)?)
            }
            None => None,
        };
        let mut form = Form::new();
        form.push("amount", yen.to_string()).push("currency", "jpy");
        match &request.source {
            PaymentSource::Token(t) => form.push("card", t.clone()),
            PaymentSource::Customer(c) => form.push("customer", c.clone()),
            PaymentSource::Card(card) => {
                let token = self.tokenize(card, request.authentication.as_ref(), &key.derive("-tok")?, options).await?;
                form.push("card", token.id)
            }
            other => {
                return Err(Error::unsupported(format!("PAY.JP does not take {} sources", other.kind())));
            }
        };
        form.push("capture", if request.capture { "true" } else { "false" })
            .push_opt("description", request.description.as_deref())
            .push_map("metadata", &metadata);
        // PAY.JP asks for 3-D Secure on every charge (no risk-based exemption in v1): `automatic`
        // sends it too.
        if redirect.is_some() {
            form.push("three_d_secure", "true");
        }
        let mut record =
            self.charge_call(self.post(Operation::CreateCharge, "/v1/charges", &form, &key, options)).await?;
        // The charge exists whatever it echoed: the key goes with the error, to recover with.
        integrity(&record, request.amount).map_err(|e| e.with_idempotency_key(key.clone()))?;
        // The charge exists now: an id that cannot go in a path leaves the URL out, never fails it.
        if let (Some((public_key, back_url)), Some(action)) = (&redirect, record.next_action.as_mut()) {
            action.url = path_id(&record.id).ok().map(|id| tds::start_url(&self.inner.base, id, public_key, back_url));
        }
        Ok(record)
    }

    /// A card is tokenized first (under the key derived with `-tok`, as `create_charge` would), so
    /// what is journaled and resent is the token, never the card number.
    async fn prepare_charge(
        &self,
        mut request: CreateCharge,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<CreateCharge> {
        if let PaymentSource::Card(card) = &request.source {
            check_key(key)?;
            let token = self.tokenize(card, request.authentication.as_ref(), &key.derive("-tok")?, options).await?;
            request.source = PaymentSource::Token(token.id);
        }
        Ok(request)
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        self.charge_call(self.get(Operation::RetrieveCharge, &format!("/v1/charges/{}", path_id(id)?))).await
    }

    async fn capture_charge(
        &self,
        id: &ChargeId,
        amount: Option<Money>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let mut form = Form::new();
        if let Some(a) = amount {
            form.push("amount", mapping::yen(a)?.to_string());
        }
        let mut record = self
            .charge_call(self.post(
                Operation::CaptureCharge,
                &format!("/v1/charges/{}/capture", path_id(id)?),
                &form,
                &key,
                options,
            ))
            .await?;
        // PAY.JP writes what a partial capture let go to `amount_refunded`; only this answer
        // knows it was a release, not a refund.
        if let Some(a) = amount
            && a.minor < record.amount.minor
            && record.amount_refunded.minor >= record.amount.minor - a.minor
        {
            let released = (record.amount.minor - a.minor).to_string();
            record.metadata.insert(payment_core::RELEASED_AT_CAPTURE.to_owned(), released);
        }
        Ok(record)
    }

    /// PAY.JP cancels by refunding an uncaptured charge; a captured charge is refused here (refund it).
    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let current = self.retrieve_charge(id).await?;
        match current.status {
            ChargeStatus::Canceled => return Ok(current),
            ChargeStatus::Authorized => {}
            other => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("charge {id} is {other}; only an authorized charge can be canceled"),
                )
                .with_operation(Operation::CancelCharge));
            }
        }
        let record = self
            .charge_call(self.post(
                Operation::CancelCharge,
                &format!("/v1/charges/{}/refund", path_id(id)?),
                &Form::new(),
                &key,
                options,
            ))
            .await?;
        Ok(record)
    }

    /// `POST /v1/charges/{id}/tds_finish`: runs the authorization once the customer is back (no
    /// `data` is needed: PAY.JP tracked the step). A charge whose flow already finished (an
    /// earlier completion, or recovery's) answers `not_in_three_d_secure_flow`: its outcome, read
    /// back, is this call's answer, so completing twice gives one authorization and one result.
    async fn complete_charge(
        &self,
        id: &ChargeId,
        _data: &CompletionData,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let path = format!("/v1/charges/{}/tds_finish", path_id(id)?);
        match self.charge_call(self.post(Operation::CompleteCharge, &path, &Form::new(), &key, options)).await {
            Err(e) if e.provider_code() == Some("not_in_three_d_secure_flow") => {
                // The charge may well be paid: a read that fails says nothing definite.
                let current = self.retrieve_charge(id).await.map_err(|read| {
                    Error::new(ErrorKind::OutcomeUnknown, format!("charge {id}'s 3-D Secure flow is over, and reading it failed: {read}"))
                        .with_idempotency_key(key.clone())
                })?;
                match (current.status, &current.failure) {
                    (ChargeStatus::Succeeded | ChargeStatus::Authorized, _) => Ok(current),
                    // The decline that ended the flow, as `tds_finish` answered it then.
                    (ChargeStatus::Failed, Some(failure)) => Err(Error::new(
                        mapping::error_kind(402, Some(&failure.code)),
                        failure.message.clone(),
                    )
                    .with_provider_code(failure.code.clone())
                    .with_provider_message(failure.message.clone())),
                    // Never in a flow (no 3-D Secure asked), or canceled since: nothing to complete.
                    _ => Err(e),
                }
            }
            // Another charge's answer cannot be this one's: what the call did is unknown.
            Ok(record) if record.id != *id => Err(Error::new(
                ErrorKind::Integrity,
                format!("PAY.JP answered tds_finish for charge {id} with charge {}", record.id),
            )
            .with_idempotency_key(key)),
            other => other,
        }
    }

    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        ListPaginator::new(Arc::new(ChargePages::new(self.clone(), query)))
    }
}

#[async_trait]
impl Refund for PayjpClient {
    /// Refunds return the charge; the refund record is synthesized: id `<charge id>:refund:<yen
    /// refunded in all after it>`, amount what was asked. A full refund is sent as the amount
    /// still kept, fixed by [`Refund::prepare_refund`] (a journal records it before sending), so
    /// a replay of it after it landed still reports what it refunded.
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let key = options.key_or_generate();
        check_key(&key)?;
        let request = self.prepare_refund(request, options).await?;
        let id = &request.charge_id;
        let mut form = Form::new();
        if let Some(a) = request.amount {
            form.push("amount", mapping::yen(a)?.to_string());
        }
        form.push_opt("refund_reason", request.reason.as_deref());
        let after = self
            .charge_call(self.post(
                Operation::CreateRefund,
                &format!("/v1/charges/{}/refund", path_id(id)?),
                &form,
                &key,
                options,
            ))
            .await?;
        // Sent without an amount only when the charge keeps nothing: PAY.JP replays this key's
        // refund (a repeat after a lost answer) or refuses a new one. A replay shows the charge
        // refunded in full, so without a journal (which fixed the amount before sending) the
        // record states the charge's whole refunded amount: this refund's, unless partial
        // refunds came before it.
        let amount = request.amount.unwrap_or(after.amount_refunded);
        if after.amount_refunded.minor < amount.minor {
            return Err(Error::new(
                ErrorKind::Integrity,
                format!("PAY.JP reports {} refunded after a refund of {amount}", after.amount_refunded),
            ));
        }
        Ok(RefundRecord {
            provider: NAME.to_owned(),
            id: RefundId::new(format!("{}:refund:{}", after.id, after.amount_refunded.minor)),
            charge_id: after.id.clone(),
            status: RefundStatus::Succeeded,
            amount,
            reason: request.reason,
            created: Timestamp::now(),
            raw: after.raw,
        })
    }

    /// A full refund becomes a refund of what the charge still keeps, read now: PAY.JP's answer
    /// to a replay shows the charge after the refund, which alone cannot tell what it refunded.
    async fn prepare_refund(&self, mut request: CreateRefund, _options: &RequestOptions) -> Result<CreateRefund> {
        if request.amount.is_some() {
            return Ok(request);
        }
        let id = &request.charge_id;
        let current = self.retrieve_charge(id).await?;
        if current.status != ChargeStatus::Succeeded {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("charge {id} is {}; only a captured charge can be refunded", current.status),
            )
            .with_operation(Operation::CreateRefund));
        }
        let kept = current.amount_captured.checked_sub(current.amount_refunded)?;
        // Nothing kept: sent without an amount, for PAY.JP to replay under its key or refuse.
        if kept.minor <= 0 {
            return Ok(request);
        }
        request.amount = Some(kept);
        Ok(request)
    }

    async fn retrieve_refund(&self, _charge_id: &ChargeId, _refund_id: &RefundId) -> Result<RefundRecord> {
        Err(Error::unsupported("PAY.JP has no refund objects: read the charge's amount_refunded"))
    }

    fn list_refunds(&self, _charge_id: &ChargeId, _query: ListRefunds) -> ListPaginator<RefundRecord> {
        ListPaginator::failed(Error::unsupported("PAY.JP has no refund list: read the charge's amount_refunded"))
    }
}

payment_core::provider_impl!(PayjpClient, crate::DRIVER);

impl fmt::Debug for PayjpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayjpClient").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl fmt::Display for PayjpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.inner.config.is_test_mode() { "test" } else { "live" };
        write!(f, "PAY.JP ({}, {mode} mode)", self.inner.base)
    }
}

#[cfg(test)]
mod classify_tests {
    use super::*;
    use payment_core::transport::ReplyClass;

    #[test]
    fn a_key_still_in_flight_is_retried_not_final() {
        let body =
            br#"{"error":{"status":409,"type":"client_error","code":"idempotency_timeout","message":"in progress"}}"#;
        let r = http::Response::builder().status(409).body(bytes::Bytes::from_static(body)).unwrap();
        assert!(matches!(classify(&r), ReplyClass::Unavailable { .. }));
        let conflict =
            br#"{"error":{"status":409,"type":"client_error","code":"idempotency_conflict","message":"other body"}}"#;
        let r = http::Response::builder().status(409).body(bytes::Bytes::from_static(conflict)).unwrap();
        assert_eq!(classify(&r), ReplyClass::Final);
    }
}
