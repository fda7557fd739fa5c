//! The routes: auth and media types first, then schema, then the book's rules.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::state::Action;
use super::{Reply, WorldpayMock, WorldpayReply, schema};
use crate::signing::credentials;
use crate::wire::{PAYMENTS_CONTENT_TYPE, QUERIES_ACCEPT};

/// The routes (the kit adds faults, logging and `/__mock__/`).
pub fn routes(mock: WorldpayMock) -> Router {
    Router::new()
        .route("/", get(discovery))
        .route("/payments", get(discovery))
        .route("/payments/authorizations", post(authorize))
        .route("/payments/settlements/full/{link}", post(settle))
        .route("/payments/settlements/{link}", post(settle))
        .route("/payments/settlements/partials/{link}", post(partial_settle))
        .route("/payments/authorizations/cancellations/{link}", post(cancel))
        .route("/payments/settlements/refunds/full/{link}", post(refund))
        .route("/payments/settlements/refunds/partials/{link}", post(partial_refund))
        .route("/payments/events", get(recovery))
        .route("/payments/events/{link}", get(events))
        .route("/paymentQueries/payments", get(query))
        .route("/paymentQueries/payments/{id}", get(query_one))
        .merge(super::api_routes::routes())
        .merge(super::pages::routes())
        .with_state(mock)
}

pub(super) fn origin(headers: &HeaderMap) -> String {
    format!("http://{}", headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"))
}

/// The cardholder name that makes the authorization fail with a 500.
pub(super) const MAGIC_ERROR: &str = "ERROR";
/// A cardholder name starting so is refused, with the code after it (`REFUSED51`) or 5.
pub(super) const MAGIC_REFUSED: &str = "REFUSED";
pub(super) const DEFAULT_REFUSAL_CODE: &str = "5";
/// The Basic-auth user the mock refuses.
const DENIED_USER: &str = "denied";

/// What the mock does with its magic inputs, for `payment providers --test-data`.
pub fn test_data() -> Vec<payment_mock_kit::TestInput> {
    use payment_mock_kit::TestInput;
    vec![
        TestInput::new("any card, any other cardholder name", "authorized"),
        TestInput::new(
            format!("cardholder name {MAGIC_REFUSED}[CODE] (e.g. {MAGIC_REFUSED}51)"),
            format!("refused (201 outcome refused) with that code, {DEFAULT_REFUSAL_CODE} by default"),
        ),
        TestInput::new(format!("cardholder name {MAGIC_ERROR}"), "500 internalErrorOccurred"),
        TestInput::new(format!("username {DENIED_USER}"), "401 accessDenied"),
        TestInput::new(
            "3-D Secure (Payments API), any other cardholder name",
            "device data, then a challenge the customer answers on the mock's page",
        ),
        TestInput::new(
            format!("3-D Secure, cardholder name {}", super::authentication::FRICTIONLESS),
            "device data, then authorized without a challenge",
        ),
        TestInput::new(
            format!("3-D Secure, cardholder name {}", super::authentication::FRICTIONLESS_FAILED),
            "device data, then 3dsAuthenticationFailed",
        ),
        TestInput::new(
            format!("3-D Secure, cardholder name {MAGIC_REFUSED}51"),
            "challenged, then refused with 51 after the customer authenticates",
        ),
    ]
}

/// Basic auth (any user and non-empty password; user `denied` is refused) and the Accept header.
pub(super) fn gate(headers: &HeaderMap, accept: &[&str]) -> Result<(), Reply> {
    let auth = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(credentials);
    match auth {
        Some((user, pass)) if !user.is_empty() && !pass.is_empty() && user != DENIED_USER => {}
        _ => return Err(Reply::error(401, "accessDenied", "Access to the requested resource has been denied")),
    }
    let given = headers.get(axum::http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !accept.iter().any(|a| given.split(',').any(|g| g.trim().split(';').next() == Some(*a))) {
        return Err(Reply {
            status: 406,
            body: json!({"errorName": "unsupportedAcceptHeader", "message": "Accept header is not supported", "headerName": "Accept"}),
        });
    }
    Ok(())
}

const PAYMENT_ACCEPTS: &[&str] =
    &["application/vnd.worldpay.payments-v6.hal+json", "application/vnd.worldpay.payments-v6+json"];

/// A POST body: the v6 Content-Type, then JSON, then the schema.
fn json_body(headers: &HeaderMap, body: &Bytes, shape: &schema::Shape) -> Result<Value, Reply> {
    typed_body(headers, body, shape, PAYMENTS_CONTENT_TYPE)
}

/// A POST body: `content_type` (else 415), then JSON, then the schema.
pub(super) fn typed_body(
    headers: &HeaderMap,
    body: &Bytes,
    shape: &schema::Shape,
    content_type: &str,
) -> Result<Value, Reply> {
    let given = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if given.split(';').next().map(str::trim) != Some(content_type) {
        return Err(Reply::error(415, "unsupportedContentType", "Content-type header is not supported"));
    }
    if body.is_empty() {
        return Err(Reply::error(400, "bodyIsEmpty", "The body within the request is empty"));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Reply::error(400, "bodyIsNotJson", "The body within the request is not valid json"))?;
    let mut problems = Vec::new();
    schema::check(&value, shape, "$", &mut problems);
    if !problems.is_empty() {
        return Err(Reply::new(400, schema::body(problems)));
    }
    Ok(value)
}

async fn discovery(State(m): State<WorldpayMock>, headers: HeaderMap) -> Response {
    let o = origin(&headers);
    m.respond(gate(&headers, PAYMENT_ACCEPTS).map_or_else(
        |e| e,
        |()| {
            Reply::new(
                200,
                json!({"_links": {"payments:authorize": {"href": format!("{o}/payments/authorizations")},
            "payments:events": {"href": format!("{o}/payments/events")},
            "curies": [{"name": "payments", "href": format!("{o}/rels/payments/{{rel}}"), "templated": true}]}}),
            )
        },
    ))
}

pub(super) fn ref_ok(r: &str) -> bool {
    (1..=64).contains(&r.chars().count())
        && r.chars().all(|c| c.is_ascii_alphanumeric() || "-_!@#$%()*=.:;?[]{}~`/+".contains(c))
}

async fn authorize(State(m): State<WorldpayMock>, headers: HeaderMap, body: Bytes) -> Response {
    let o = origin(&headers);
    let result = gate(&headers, PAYMENT_ACCEPTS).and_then(|()| json_body(&headers, &body, &schema::AUTHORIZE)).and_then(|v| {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
        let reference = s("/transactionReference");
        let entity = s("/merchant/entity");
        let line1 = s("/instruction/narrative/line1");
        let currency = s("/instruction/value/currency");
        let amount = v.pointer("/instruction/value/amount").and_then(Value::as_i64).unwrap_or(-1);
        let instrument = v.pointer("/instruction/paymentInstrument").cloned().unwrap_or_default();
        let mut problems = Vec::new();
        if !ref_ok(&reference) {
            problems.push(schema::child("stringFailedRegexCheck", "transactionReference is 1 to 64 allowed characters", "$.transactionReference"));
        }
        if entity.is_empty() || entity.len() > 32 || !entity.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
            problems.push(schema::child("stringFailedRegexCheck", "entity is 1 to 32 letters, digits or spaces", "$.merchant.entity"));
        }
        if line1.is_empty() || line1.chars().count() > 24 {
            problems.push(schema::child("stringIsTooLong", "narrative.line1 is 1 to 24 characters", "$.instruction.narrative.line1"));
        }
        if amount < 0 {
            problems.push(schema::child("integerIsTooSmall", "amount must be 0 or more", "$.instruction.value.amount"));
        }
        if payment_core::Currency::from_code(&currency).is_err() || currency.len() != 3 {
            problems.push(schema::child("fieldHasInvalidValue", "currency is not an ISO 4217 code", "$.instruction.value.currency"));
        }
        let kind = instrument.get("type").and_then(Value::as_str).unwrap_or("");
        let mut holder = String::new();
        match kind {
            "card/plain" => {
                let number = instrument.get("cardNumber").and_then(Value::as_str).unwrap_or("");
                if number.is_empty() {
                    problems.push(schema::child("fieldIsMissing", "cardNumber is missing", "$.instruction.paymentInstrument.cardNumber"));
                } else if !(12..=19).contains(&number.len()) || !payment_core::source::luhn_valid(number) {
                    problems.push(schema::child("panFailedLuhnCheck", "The card number failed the Luhn check", "$.instruction.paymentInstrument.cardNumber"));
                }
                match instrument.get("cardExpiryDate") {
                    None => problems.push(schema::child("fieldIsMissing", "cardExpiryDate is missing", "$.instruction.paymentInstrument.cardExpiryDate")),
                    Some(e) => {
                        let month = e.get("month").and_then(Value::as_i64).unwrap_or(0);
                        let year = e.get("year").and_then(Value::as_i64).unwrap_or(0);
                        let now_year: i64 = payment_core::Timestamp::from_unix(m.now()).to_rfc3339()[..4].parse().unwrap_or(1970);
                        if !(1..=12).contains(&month) || year < now_year || year > now_year + 7 {
                            problems.push(schema::child("fieldHasInvalidValue", "The expiry date is not valid", "$.instruction.paymentInstrument.cardExpiryDate"));
                        }
                    }
                }
                holder = instrument.get("cardHolderName").and_then(Value::as_str).unwrap_or("").to_owned();
            }
            "card/token" => {
                if instrument.get("href").and_then(Value::as_str).is_none_or(str::is_empty) {
                    problems.push(schema::child("fieldIsMissing", "href is missing", "$.instruction.paymentInstrument.href"));
                }
            }
            _ => problems.push(schema::child("fieldHasInvalidValue", "Unsupported payment instrument type", "$.instruction.paymentInstrument.type")),
        }
        if !problems.is_empty() {
            return Err(Reply::new(400, schema::body(problems)));
        }
        // Try magic cardholder names (listed in `test_data`).
        let upper = holder.to_ascii_uppercase();
        if upper == MAGIC_ERROR {
            return Err(Reply::error(500, "internalErrorOccurred", "Internal server error"));
        }
        let refused = upper.strip_prefix(MAGIC_REFUSED).map(|code| {
            let code = if code.is_empty() { DEFAULT_REFUSAL_CODE.to_owned() } else { code.to_owned() };
            (code, "REFUSED".to_owned())
        });
        let auto = v.pointer("/requestAutoSettlement/enabled").and_then(Value::as_bool).unwrap_or(false);
        let now = m.now();
        let mut book = m.book();
        let new = super::state::NewPayment { entity: &entity, reference: &reference, amount, currency: &currency, narrative: &line1 };
        let Some(i) = book.authorize(&m.kit.ids, now, &new, refused.clone(), auto) else {
            return Err(Reply::error(400, "transactionReferenceIsADuplicate", "The transaction reference is a duplicate"));
        };
        let links = book.links(i, &o);
        m.notify(book.take_notices());
        Ok(match refused {
            Some((code, description)) => Reply::new(201, json!({"outcome": "refused", "description": description, "code": code, "_links": links})),
            None => {
                let number = instrument.get("cardNumber").and_then(Value::as_str).unwrap_or("0000000000000000");
                Reply::new(201, json!({"outcome": "authorized", "issuer": {"authorizationCode": "675725"}, "scheme": {"reference": "060720116005060"},
                    "riskFactors": [{"type": "cvc", "risk": "notChecked"}, {"type": "avs", "detail": "address", "risk": "notChecked"}],
                    "paymentInstrument": {"type": "card/plain+masked", "card": {"number": {"bin": &number[..6.min(number.len())], "last4Digits": &number[number.len().saturating_sub(4)..]},
                        "brand": "visa", "fundingType": "credit", "countryCode": "GB"}},
                    "_links": links}))
            }
        })
    });
    m.respond(result.unwrap_or_else(|e| e))
}

fn act(
    m: &WorldpayMock,
    headers: &HeaderMap,
    body: &Bytes,
    link: &str,
    expected: &[Action],
    with_value: bool,
) -> Response {
    let o = origin(headers);
    let result = gate(headers, PAYMENT_ACCEPTS).and_then(|()| {
        let value = if with_value {
            let v = json_body(headers, body, &schema::VALUE_ACTION)?;
            let reference = v.pointer("/reference").and_then(Value::as_str).unwrap_or("");
            if reference.is_empty()
                || reference.len() > 128
                || !reference.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(Reply::validation(
                    "stringFailedRegexCheck",
                    "reference is 1 to 128 of [A-Za-z0-9-]",
                    "$.reference",
                ));
            }
            let amount = v.pointer("/value/amount").and_then(Value::as_i64).unwrap_or(0);
            let currency = v.pointer("/value/currency").and_then(Value::as_str).unwrap_or("").to_owned();
            Some((amount, currency, reference.to_owned()))
        } else {
            None
        };
        let mut book = m.book();
        let answer = book.act(&m.kit.ids, m.now(), link, expected, value, &o).map(|b| Reply::new(202, b));
        m.notify(book.take_notices());
        answer
    });
    m.respond(result.unwrap_or_else(|e| e))
}

async fn settle(State(m): State<WorldpayMock>, headers: HeaderMap, Path(link): Path<String>, body: Bytes) -> Response {
    act(&m, &headers, &body, &link, &[Action::Settle], false)
}

async fn partial_settle(
    State(m): State<WorldpayMock>,
    headers: HeaderMap,
    Path(link): Path<String>,
    body: Bytes,
) -> Response {
    act(&m, &headers, &body, &link, &[Action::PartialSettle], true)
}

async fn cancel(State(m): State<WorldpayMock>, headers: HeaderMap, Path(link): Path<String>, body: Bytes) -> Response {
    act(&m, &headers, &body, &link, &[Action::Cancel], false)
}

async fn refund(State(m): State<WorldpayMock>, headers: HeaderMap, Path(link): Path<String>, body: Bytes) -> Response {
    act(&m, &headers, &body, &link, &[Action::Refund], false)
}

async fn partial_refund(
    State(m): State<WorldpayMock>,
    headers: HeaderMap,
    Path(link): Path<String>,
    body: Bytes,
) -> Response {
    act(&m, &headers, &body, &link, &[Action::PartialRefund], true)
}

async fn events(State(m): State<WorldpayMock>, headers: HeaderMap, Path(link): Path<String>) -> Response {
    let o = origin(&headers);
    let result = gate(&headers, PAYMENT_ACCEPTS).and_then(|()| {
        let book = m.book();
        let i = book
            .by_events_token(&link)
            .ok_or_else(|| Reply::error(404, "resourceNotFound", "Requested resource was not found"))?;
        Ok(Reply::new(200, book.events_view(i, m.now(), &o)))
    });
    m.respond(result.unwrap_or_else(|e| e))
}

fn query_map(raw: Option<String>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `GET /payments/events?transactionRef=&entity=`: the documented recovery query.
async fn recovery(State(m): State<WorldpayMock>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let o = origin(&headers);
    let q = query_map(q);
    let result = gate(&headers, PAYMENT_ACCEPTS).and_then(|()| {
        let (Some(r), Some(e)) = (q.get("transactionRef"), q.get("entity")) else {
            return Err(Reply::validation(
                "fieldIsMissing",
                "transactionRef and entity are required",
                "$.transactionRef",
            ));
        };
        let book = m.book();
        let i = book
            .index(e, r)
            .ok_or_else(|| Reply::error(404, "resourceNotFound", "Requested resource was not found"))?;
        Ok(Reply::new(200, book.events_view(i, m.now(), &o)))
    });
    m.respond(result.unwrap_or_else(|e| e))
}

/// `GET /paymentQueries/payments`: by date window (with `next` links) or by `transactionReference`.
async fn query(State(m): State<WorldpayMock>, headers: HeaderMap, RawQuery(raw): RawQuery) -> Response {
    let o = origin(&headers);
    let q = query_map(raw);
    let result = gate(&headers, &[QUERIES_ACCEPT]).and_then(|()| {
        let now = m.now();
        let book = m.book();
        if let Some(r) = q.get("transactionReference") {
            let items: Vec<Value> = book.newest_first().filter(|p| &p.reference == r).map(|p| book.query_item(p, now, &o, false)).collect();
            return Ok(Reply::new(200, json!({"_links": {"self": {"href": format!("{o}/paymentQueries/payments")}}, "_embedded": {"payments": items}})));
        }
        let date = |k: &str| -> Result<i64, Reply> {
            let text = q.get(k).ok_or_else(|| Reply::validation("fieldIsMissing", &format!("{k} is required"), &format!("$.{k}")))?;
            payment_core::Timestamp::parse_rfc3339(text).map(|t| t.unix()).map_err(|_| Reply::validation("dateHasInvalidFormat", &format!("{k} is not ISO 8601"), &format!("$.{k}")))
        };
        let (start, end) = (date("startDate")?, date("endDate")?);
        if start < now - 366 * 86_400 {
            return Err(Reply::validation("fieldHasInvalidValue", "startDate cannot be more than one year old", "$.startDate"));
        }
        let size: usize = match q.get("pageSize").map(|s| s.parse::<usize>()) {
            None => 20,
            Some(Ok(n)) if (1..=300).contains(&n) => n,
            _ => return Err(Reply::error(400, "invalidPageSize", "Provided page size is not valid.")),
        };
        let offset: usize = q.get("pageToken").and_then(|t| base64_decode(t)).unwrap_or(0);
        let matching: Vec<_> = book.newest_first().filter(|p| p.created >= start && p.created <= end).collect();
        let items: Vec<Value> = matching.iter().skip(offset).take(size).map(|p| book.query_item(p, now, &o, false)).collect();
        let mut links = json!({"self": {"href": format!("{o}/paymentQueries/payments")}});
        if offset + items.len() < matching.len() {
            let next = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("startDate", &q["startDate"])
                .append_pair("endDate", &q["endDate"])
                .append_pair("pageSize", &size.to_string())
                .append_pair("pageToken", &base64_encode(offset + items.len()))
                .finish();
            links["next"] = json!({"href": format!("{o}/paymentQueries/payments?{next}")});
        }
        Ok(Reply::new(200, json!({"_links": links, "_embedded": {"payments": items}})))
    });
    m.respond(result.unwrap_or_else(|e| e))
}

async fn query_one(State(m): State<WorldpayMock>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let o = origin(&headers);
    let result = gate(&headers, &[QUERIES_ACCEPT]).and_then(|()| {
        let book = m.book();
        let p = book.by_id(&id).ok_or_else(|| {
            Reply::error(404, "paymentNotFound", "The payment you are trying to access does not exist.")
        })?;
        Ok(Reply::new(200, book.query_item(p, m.now(), &o, true)))
    });
    m.respond(result.unwrap_or_else(|e| e))
}

fn base64_encode(offset: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn base64_decode(token: &str) -> Option<usize> {
    use base64::Engine as _;
    let text = String::from_utf8(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    text.strip_prefix("offset:")?.parse().ok()
}
