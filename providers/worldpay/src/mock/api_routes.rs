//! The Payments API routes (`/api/payments`, `WP-Api-Version: 2024-06-01`, plain JSON): take a
//! payment (with or without 3-D Secure), read it by any of its links, and its `_actions`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::authentication::Asked;
use super::routes::{DEFAULT_REFUSAL_CODE, MAGIC_ERROR, MAGIC_REFUSED, gate, origin, ref_ok, typed_body};
use super::schema::{self, Shape};
use super::state::{Action, NewPayment};
use super::{Reply, WorldpayMock, WorldpayReply};
use crate::wire::payments_api::API_VERSION;

/// The Payments API routes.
pub fn routes() -> Router<WorldpayMock> {
    Router::new()
        .route("/api/payments", post(take_payment))
        .route("/api/payments/{link}", get(read))
        .route("/api/payments/{link}/{verb}", post(action))
}

use Shape::{Any, Bool, Int, Object, Str};

/// The take-payment request (Payments API 2024-06-01), as far as the mock models it.
const TAKE_PAYMENT: Shape = Object(&[
    ("transactionReference", Str, true),
    ("merchant", Object(&[("entity", Str, true), ("mcc", Str, false)]), true),
    (
        "instruction",
        Object(&[
            ("method", Str, true),
            ("narrative", Object(&[("line1", Str, true), ("line2", Str, false)]), true),
            ("value", Object(&[("currency", Str, true), ("amount", Int, true)]), true),
            (
                "paymentInstrument",
                Object(&[
                    ("type", Str, true),
                    ("cardNumber", Str, false),
                    ("expiryDate", Object(&[("month", Int, true), ("year", Int, true)]), false),
                    ("cardHolderName", Str, false),
                    ("cvc", Str, false),
                    ("href", Str, false),
                    ("billingAddress", Any, false),
                ]),
                true,
            ),
            ("settlement", Object(&[("auto", Bool, true), ("cancelOn", Any, false)]), false),
            (
                "threeDS",
                Object(&[
                    ("type", Str, true),
                    ("mode", Str, true),
                    ("challenge", Object(&[("returnUrl", Str, true), ("windowSize", Str, false)]), true),
                    ("deviceData", Any, true),
                ]),
                false,
            ),
            ("fraud", Any, false),
            ("exemption", Any, false),
            ("customer", Any, false),
            ("tokenCreation", Any, false),
            ("customerAgreement", Any, false),
        ]),
        true,
    ),
    ("channel", Str, false),
]);

const ACCEPTS: &[&str] = &["application/json"];

/// Auth and Accept, then `WP-Api-Version`.
fn api_gate(headers: &HeaderMap) -> Result<(), Reply> {
    gate(headers, ACCEPTS)?;
    let version = headers.get("wp-api-version").and_then(|v| v.to_str().ok()).unwrap_or("");
    if version != API_VERSION {
        return Err(Reply {
            status: 400,
            body: json!({"errorName": "headerHasInvalidValue", "message": format!("WP-Api-Version must be {API_VERSION}"), "headerName": "WP-Api-Version"}),
        });
    }
    Ok(())
}

/// A JSON body: `application/json`, then JSON, then `shape`.
fn api_body(headers: &HeaderMap, body: &Bytes, shape: &Shape) -> Result<Value, Reply> {
    typed_body(headers, body, shape, "application/json")
}

impl WorldpayMock {
    /// Answers in plain JSON with a fresh `WP-CorrelationId`.
    fn respond_api(&self, reply: Reply) -> Response {
        let mut response = reply.into_json_response("application/json");
        if let Ok(value) = axum::http::HeaderValue::from_str(&self.correlation()) {
            response.headers_mut().insert(axum::http::HeaderName::from_static("wp-correlationid"), value);
        }
        response
    }
}

/// What a take-payment request asks for, checked field by field.
struct Taken {
    reference: String,
    entity: String,
    line1: String,
    currency: String,
    amount: i64,
    holder: String,
    bin: String,
    auto_settle: bool,
    three_ds: Option<String>,
}

impl Taken {
    fn new_payment(&self) -> NewPayment<'_> {
        NewPayment {
            entity: &self.entity,
            reference: &self.reference,
            amount: self.amount,
            currency: &self.currency,
            narrative: &self.line1,
        }
    }
}

fn read_request(m: &WorldpayMock, v: &Value) -> Result<Taken, Reply> {
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
    let child = schema::child;
    let mut problems = Vec::new();
    let taken = Taken {
        reference: s("/transactionReference"),
        entity: s("/merchant/entity"),
        line1: s("/instruction/narrative/line1"),
        currency: s("/instruction/value/currency"),
        amount: v.pointer("/instruction/value/amount").and_then(Value::as_i64).unwrap_or(-1),
        holder: s("/instruction/paymentInstrument/cardHolderName"),
        bin: s("/instruction/paymentInstrument/cardNumber").chars().take(6).collect(),
        auto_settle: v.pointer("/instruction/settlement/auto").and_then(Value::as_bool).unwrap_or(false),
        three_ds: v.pointer("/instruction/threeDS/challenge/returnUrl").and_then(Value::as_str).map(str::to_owned),
    };
    if !ref_ok(&taken.reference) {
        problems.push(child("stringFailedRegexCheck", "transactionReference is 1 to 64 allowed characters", "$.transactionReference"));
    }
    if taken.entity.is_empty() || taken.entity.len() > 32 {
        problems.push(child("stringFailedRegexCheck", "entity is 1 to 32 letters, digits or spaces", "$.merchant.entity"));
    }
    if s("/instruction/method") != "card" {
        problems.push(child("fieldHasInvalidValue", "method must be card", "$.instruction.method"));
    }
    if taken.line1.is_empty() || taken.line1.chars().count() > 24 {
        problems.push(child("stringIsTooLong", "narrative.line1 is 1 to 24 characters", "$.instruction.narrative.line1"));
    }
    if taken.amount < 0 {
        problems.push(child("integerIsTooSmall", "amount must be 0 or more", "$.instruction.value.amount"));
    }
    if payment_core::Currency::from_code(&taken.currency).is_err() || taken.currency.len() != 3 {
        problems.push(child("fieldHasInvalidValue", "currency is not an ISO 4217 code", "$.instruction.value.currency"));
    }
    match s("/instruction/paymentInstrument/type").as_str() {
        "plain" => {
            let number = s("/instruction/paymentInstrument/cardNumber");
            if !(12..=19).contains(&number.len()) || !payment_core::source::luhn_valid(&number) {
                problems.push(child("panFailedLuhnCheck", "The card number failed the Luhn check", "$.instruction.paymentInstrument.cardNumber"));
            }
            let month = v.pointer("/instruction/paymentInstrument/expiryDate/month").and_then(Value::as_i64).unwrap_or(0);
            let year = v.pointer("/instruction/paymentInstrument/expiryDate/year").and_then(Value::as_i64).unwrap_or(0);
            let now_year: i64 =
                payment_core::Timestamp::from_unix(m.now()).to_rfc3339()[..4].parse().unwrap_or(1970);
            if !(1..=12).contains(&month) || year < now_year || year > now_year + 7 {
                problems.push(child("fieldHasInvalidValue", "The expiry date is not valid", "$.instruction.paymentInstrument.expiryDate"));
            }
        }
        "token" if !s("/instruction/paymentInstrument/href").is_empty() => {}
        "token" => problems.push(child("fieldIsMissing", "href is missing", "$.instruction.paymentInstrument.href")),
        _ => problems.push(child("fieldHasInvalidValue", "Unsupported payment instrument type", "$.instruction.paymentInstrument.type")),
    }
    if v.pointer("/instruction/threeDS").is_some() {
        if s("/instruction/threeDS/type") != "integrated" {
            problems.push(child("fieldHasInvalidValue", "threeDS.type must be integrated", "$.instruction.threeDS.type"));
        }
        if !taken.three_ds.as_deref().is_some_and(|u| u.starts_with("http://") || u.starts_with("https://")) {
            problems.push(child("fieldHasInvalidValue", "returnUrl must be an http or https URL", "$.instruction.threeDS.challenge.returnUrl"));
        }
        for field in ["acceptHeader", "userAgentHeader"] {
            if s(&format!("/instruction/threeDS/deviceData/{field}")).is_empty() {
                problems.push(child("fieldIsMissing", &format!("{field} is missing"), &format!("$.instruction.threeDS.deviceData.{field}")));
            }
        }
    }
    if problems.is_empty() { Ok(taken) } else { Err(Reply::new(400, schema::body(problems))) }
}

async fn take_payment(State(m): State<WorldpayMock>, headers: HeaderMap, body: Bytes) -> Response {
    let o = origin(&headers);
    let result = api_gate(&headers).and_then(|()| api_body(&headers, &body, &TAKE_PAYMENT)).and_then(|v| {
        let t = read_request(&m, &v)?;
        let upper = t.holder.to_ascii_uppercase();
        if upper == MAGIC_ERROR {
            return Err(Reply::error(500, "internalErrorOccurred", "Internal server error"));
        }
        let refused = upper.strip_prefix(MAGIC_REFUSED).map(|code| {
            let code = if code.is_empty() { DEFAULT_REFUSAL_CODE.to_owned() } else { code.to_owned() };
            (code, "REFUSED".to_owned())
        });
        let duplicate = || Reply::error(400, "transactionReferenceIsADuplicate", "The transaction reference is a duplicate");
        let (now, mut book) = (m.now(), m.book());
        let answer = match t.three_ds.clone() {
            Some(return_url) => {
                let asked = Asked { holder: t.holder.clone(), refusal: refused, auto_settle: t.auto_settle, return_url, bin: t.bin.clone() };
                let i = book
                    .take_authenticated(&m.kit.ids, now, &t.new_payment(), asked)
                    .ok_or_else(duplicate)?;
                book.device_data_answer(i, &o)
            }
            None => {
                let i = book
                    .authorize(&m.kit.ids, now, &t.new_payment(), refused.clone(), t.auto_settle)
                    .ok_or_else(duplicate)?;
                let outcome = match (&refused, t.auto_settle) {
                    (Some(_), _) => "refused",
                    (None, true) => "sentForSettlement",
                    (None, false) => "authorized",
                };
                let mut answer = json!({"outcome": outcome, "transactionReference": t.reference, "_actions": book.api_actions(i, &o)});
                if let Some((code, description)) = refused {
                    answer["refusalCode"] = code.into();
                    answer["refusalDescription"] = description.into();
                }
                answer
            }
        };
        m.notify(book.take_notices());
        Ok(Reply::new(201, answer))
    });
    m.respond_api(result.unwrap_or_else(|e| e))
}

/// `GET /api/payments/{linkData}`: the last event and the actions offered now.
async fn read(State(m): State<WorldpayMock>, headers: HeaderMap, Path(link): Path<String>) -> Response {
    let o = origin(&headers);
    let result = api_gate(&headers).and_then(|()| {
        m.book()
            .api_view(&link, m.now(), &o)
            .map(|v| Reply::new(200, v))
            .ok_or_else(|| Reply::error(404, "resourceNotFound", "Requested resource was not found"))
    });
    m.respond_api(result.unwrap_or_else(|e| e))
}

/// `POST /api/payments/{linkData}/{verb}`: the issuer's steps, settle, cancel and refund.
async fn action(
    State(m): State<WorldpayMock>,
    headers: HeaderMap,
    Path((link, verb)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let o = origin(&headers);
    let not_found = || Reply::error(404, "resourceNotFound", "Requested resource was not found");
    let result = api_gate(&headers).and_then(|()| {
        let action = [
            Action::Settle,
            Action::PartialSettle,
            Action::Cancel,
            Action::Refund,
            Action::PartialRefund,
            Action::DeviceData,
            Action::Challenge,
        ]
        .into_iter()
        .find(|a| a.api().1 == verb)
        .ok_or_else(not_found)?;
        let now = m.now();
        match action {
            Action::DeviceData => {
                let v = api_body(&headers, &body, &Object(&[("collectionReference", Str, true)]))?;
                let reference = v.get("collectionReference").and_then(Value::as_str);
                let mut book = m.book();
                let answer = book.continue_authentication(&m.kit.ids, now, &link, action, reference, &o);
                m.notify(book.take_notices());
                answer.map(|(_, a)| Reply::new(201, a))
            }
            Action::Challenge => {
                let mut book = m.book();
                let answer = book.continue_authentication(&m.kit.ids, now, &link, action, None, &o);
                m.notify(book.take_notices());
                answer.map(|(_, a)| Reply::new(201, a))
            }
            _ => {
                let value = match action {
                    Action::PartialSettle | Action::PartialRefund => {
                        let v = api_body(&headers, &body, &schema::VALUE_ACTION)?;
                        let reference = v.pointer("/reference").and_then(Value::as_str).unwrap_or("").to_owned();
                        let amount = v.pointer("/value/amount").and_then(Value::as_i64).unwrap_or(0);
                        let currency = v.pointer("/value/currency").and_then(Value::as_str).unwrap_or("").to_owned();
                        Some((amount, currency, reference))
                    }
                    _ => None,
                };
                let mut book = m.book();
                let i = book.owner(&link).ok_or_else(not_found)?;
                let done = book.act(&m.kit.ids, now, &link, &[action], value, &o);
                m.notify(book.take_notices());
                done?;
                let outcome = match action {
                    Action::Settle | Action::PartialSettle => "sentForSettlement",
                    Action::Cancel => "sentForCancellation",
                    Action::Refund => "sentForRefund",
                    _ => "sentForPartialRefund",
                };
                Ok(Reply::new(202, json!({"outcome": outcome, "_actions": book.api_actions(i, &o)})))
            }
        }
    });
    m.respond_api(result.unwrap_or_else(|e| e))
}
