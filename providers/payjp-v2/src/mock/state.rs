//! The mock's account: customers, payment methods, flows, refunds and events, and the checks a
//! request's JSON passes before any rule runs.

use std::collections::BTreeMap;

use payment_mock_kit::{IdAlphabet, IdGen, Store};
use payment_payjp::mock::cards;
use serde_json::{Map, Value, json};

use super::reply::{self, Reply};
use crate::mapping::TEST_CUSTOMER_PREFIX;
use crate::wire::{PaymentFlow, PaymentRefund};

/// A payment method: the SDK's whole object, and what only the mock knows of it.
#[derive(Clone)]
pub struct Method {
    /// The object as answered.
    pub object: Value,
    /// The card number (cards only).
    pub number: Option<String>,
    /// Whether the card has passed 3-D Secure (at registration or on a payment).
    pub verified: bool,
}

impl Method {
    /// `card` or `paypay`.
    pub fn kind(&self) -> &str {
        self.object["type"].as_str().unwrap_or("card")
    }
}

/// A flow: the SDK's whole object, and the mock's clock facts about it.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The object as answered.
    pub wire: PaymentFlow,
    /// Mock-clock second it was created.
    pub created: i64,
    /// When its customer step began (3-D Secure or PayPay).
    pub action_since: Option<i64>,
    /// When its authorization lapses.
    pub authorized_until: Option<i64>,
    /// When a PayPay payer approved it (it is `processing` until PayPay confirms).
    pub approved_at: Option<i64>,
}

/// A refund and when it settles (PayPay refunds are `pending` for a minute of mock time).
#[derive(Debug, Clone)]
pub struct RefundEntry {
    /// The object as answered.
    pub wire: PaymentRefund,
    /// Mock-clock second it was made.
    pub created: i64,
    /// When a pending refund succeeds.
    pub settles_at: Option<i64>,
}

/// Everything the mock holds for its one account.
#[derive(Default)]
pub struct Account {
    pub(super) customers: Store<Value>,
    pub(super) methods: Store<Method>,
    pub(super) flows: Store<Flow>,
    pub(super) refunds: Store<RefundEntry>,
    pub(super) events: std::collections::VecDeque<Value>,
    pub(super) captures_applied: usize,
}

/// ISO 8601 UTC of a mock-clock second.
pub fn iso(t: i64) -> String {
    payment_core::Timestamp::from_unix(t).to_rfc3339()
}

/// The body's JSON object: an empty body is `{}`; anything else must be an object.
pub fn object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(reply::invalid("body", "Input should be a valid dictionary or object")),
        Err(_) => Err(reply::invalid("body", "JSON decode error")),
    }
}

/// Refuses fields an endpoint does not take, naming them.
pub fn only(body: &Map<String, Value>, allowed: &[&str]) -> Result<(), Reply> {
    match body.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(reply::invalid(k, "Extra inputs are not permitted")),
        None => Ok(()),
    }
}

/// An optional string field.
pub fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(reply::invalid(field, "Input should be a valid string")),
    }
}

/// An optional strict integer field (`1000.0` and `"1000"` are refused, as the SDK refuses them).
pub fn int(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(_) => Err(reply::invalid(field, "Input should be a valid integer")),
    }
}

/// An optional boolean field.
pub fn boolean(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, Reply> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(reply::invalid(field, "Input should be a valid boolean")),
    }
}

/// An optional field that must be one of `allowed`.
pub fn one_of<'a>(body: &'a Map<String, Value>, field: &str, allowed: &[&str]) -> Result<Option<&'a str>, Reply> {
    match text(body, field)? {
        Some(v) if !allowed.contains(&v) => {
            let expected = allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ");
            Err(reply::invalid(field, &format!("Input should be {expected}")))
        }
        other => Ok(other),
    }
}

/// Metadata: at most 20 keys, values strings, integers or booleans; `""` deletes a key.
pub fn metadata(body: &Map<String, Value>, current: &mut BTreeMap<String, Value>) -> Result<(), Reply> {
    let Some(value) = body.get("metadata") else { return Ok(()) };
    let Value::Object(m) = value else { return Err(reply::invalid("metadata", "Input should be a valid dictionary")) };
    for (k, v) in m {
        match v {
            Value::String(s) if s.is_empty() => {
                current.remove(k);
            }
            Value::String(_) | Value::Bool(_) => {
                current.insert(k.clone(), v.clone());
            }
            Value::Number(n) if n.is_i64() => {
                current.insert(k.clone(), v.clone());
            }
            _ => return Err(reply::invalid(&format!("metadata.{k}"), "Input should be a string, integer or boolean")),
        }
        if k.is_empty() || k.chars().count() > 40 {
            return Err(reply::invalid("metadata", "metadata keys are 1 to 40 characters"));
        }
        if v.as_str().is_some_and(|s| s.chars().count() > 500) {
            return Err(reply::invalid(&format!("metadata.{k}"), "metadata values are at most 500 characters"));
        }
    }
    if current.len() > 20 {
        return Err(reply::invalid("metadata", "metadata accepts at most 20 keys"));
    }
    Ok(())
}

impl Account {
    /// `POST /v2/payment_methods` (test mode): a card (with the customer's email or phone) or PayPay.
    pub fn create_method(&mut self, ids: &IdGen, now: i64, body: &Map<String, Value>) -> Result<Reply, Reply> {
        let kind = one_of(body, "type", &["card", "paypay", "apple_pay"])?
            .ok_or_else(|| reply::invalid("type", "Field required"))?;
        let (number, card) = match kind {
            "card" => {
                only(body, &["type", "card", "billing_details", "customer_id", "metadata"])?;
                let (number, card) = card_details(body, now)?;
                (Some(number), Some(card))
            }
            "paypay" => {
                only(body, &["type", "billing_details", "customer_id", "metadata"])?;
                (None, None)
            }
            _ => return Err(reply::invalid("type", "the mock registers card and paypay payment methods only")),
        };
        let billing = billing_details(body, kind == "card")?;
        let mut meta = BTreeMap::new();
        metadata(body, &mut meta)?;
        let customer = text(body, "customer_id")?.map(str::to_owned);
        if let Some(c) = &customer {
            self.customer(ids, now, c)?;
        }
        let mut object = json!({
            "object": "payment_method", "id": ids.next("pm_", 24, IdAlphabet::Alphanumeric), "livemode": false,
            "type": kind, "customer_id": customer, "detached_at": null, "billing_details": billing,
            "metadata": meta, "created_at": iso(now), "updated_at": iso(now),
        });
        if let Some(card) = card {
            object["card"] = card;
        }
        // The ordinary test cards count as authenticated at registration, as PAY.JP's widgets
        // leave a card; any other card is authenticated on its first payment.
        let verified = number.as_deref().is_some_and(|n| {
            cards::SUCCESS_CARDS.contains(&n) || cards::DECLINE_CARDS.iter().any(|(d, _, _)| *d == n)
        });
        let id = object["id"].as_str().unwrap_or_default().to_owned();
        self.methods.insert(id.clone(), Method { object: object.clone(), number, verified });
        if let Some(c) = customer {
            self.set_default(&c, &id, now);
        }
        Ok(Reply::ok(object))
    }

    /// A payment method by id.
    pub fn method(&self, id: &str) -> Result<&Method, Reply> {
        self.methods.get(id).ok_or_else(|| reply::not_found("payment_method", id))
    }

    /// `POST /v2/payment_methods/{id}/attach`.
    pub fn attach(&mut self, ids: &IdGen, now: i64, id: &str, body: &Map<String, Value>) -> Result<Reply, Reply> {
        only(body, &["customer_id"])?;
        let customer = text(body, "customer_id")?.ok_or_else(|| reply::invalid("customer_id", "Field required"))?.to_owned();
        self.customer(ids, now, &customer)?;
        let method = self.methods.get_mut(id).ok_or_else(|| reply::not_found("payment_method", id))?;
        method.object["customer_id"] = json!(customer);
        method.object["updated_at"] = json!(iso(now));
        Ok(Reply::ok(method.object.clone()))
    }

    fn set_default(&mut self, customer: &str, method: &str, now: i64) {
        if let Some(c) = self.customers.get_mut(customer)
            && c["default_payment_method_id"].is_null()
        {
            c["default_payment_method_id"] = json!(method);
            c["updated_at"] = json!(iso(now));
        }
    }

    /// `POST /v2/customers`: with `payment_method_id`, it is attached and made the default.
    pub fn create_customer(&mut self, ids: &IdGen, now: i64, body: &Map<String, Value>) -> Result<Reply, Reply> {
        only(body, &["id", "email", "description", "payment_method_id", "metadata"])?;
        let id = match text(body, "id")? {
            Some(id) if id.is_empty() || id.len() > 100 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
                return Err(reply::invalid("id", "String should match pattern '^[-_0-9a-zA-Z]{1,100}$'"));
            }
            Some(id) if self.customers.get(id).is_some() => {
                return Err(reply::problem(400, "already_exist_id", "Already Exists", &format!("Customer {id} already exists")));
            }
            Some(id) => id.to_owned(),
            None => ids.next("cus_", 24, IdAlphabet::Alphanumeric),
        };
        let email = text(body, "email")?;
        if email.is_some_and(|e| e.len() > 255 || !e.contains('@')) {
            return Err(reply::invalid("email", "value is not a valid email address"));
        }
        let mut meta = BTreeMap::new();
        metadata(body, &mut meta)?;
        let method = text(body, "payment_method_id")?.map(str::to_owned);
        if let Some(m) = &method {
            self.method(m)?;
        }
        let customer = json!({
            "object": "customer", "id": id, "livemode": false, "email": email,
            "description": text(body, "description")?, "default_payment_method_id": method,
            "metadata": meta, "created_at": iso(now), "updated_at": iso(now),
        });
        self.customers.insert(id.clone(), customer.clone());
        if let Some(m) = method
            && let Some(pm) = self.methods.get_mut(&m)
        {
            pm.object["customer_id"] = json!(id);
        }
        Ok(Reply::ok(customer))
    }

    /// A customer by id; a test customer `cus_test_card_<number>` is registered on first sight.
    pub fn customer(&mut self, ids: &IdGen, now: i64, id: &str) -> Result<&Value, Reply> {
        if self.customers.get(id).is_none()
            && let Some(number) = id.strip_prefix(TEST_CUSTOMER_PREFIX)
        {
            self.test_customer(ids, now, id, number)?;
        }
        self.customers.get(id).ok_or_else(|| reply::not_found("customer", id))
    }

    fn test_customer(&mut self, ids: &IdGen, now: i64, id: &str, number: &str) -> Result<(), Reply> {
        let method = json!({"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2035, "cvc": "123"},
            "billing_details": {"email": "test@example.com"}});
        let Value::Object(body) = method else { return Ok(()) };
        let answer = self.create_method(ids, now, &body).map_err(|_| reply::not_found("customer", id))?;
        let pm = answer.body["id"].as_str().unwrap_or_default().to_owned();
        if let Some(m) = self.methods.get_mut(&pm) {
            // Registered through the widgets, in the story the test customer tells.
            m.verified = true;
        }
        let Value::Object(body) = json!({"id": id, "payment_method_id": pm, "email": "test@example.com"}) else {
            return Ok(());
        };
        self.create_customer(ids, now, &body).map(|_| ())
    }

    /// Flows per reference (from metadata), for exactly-once counts.
    pub fn references(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for f in self.flows.oldest_first() {
            if let Some(r) = f.wire.metadata.get(crate::mapping::REFERENCE_KEY) {
                *out.entry(crate::mapping::metadata_text(r)).or_default() += 1;
            }
        }
        out
    }
}

/// A card's number and its object as answered (last4, brand, …; never the number).
fn card_details(body: &Map<String, Value>, now: i64) -> Result<(String, Value), Reply> {
    let Some(Value::Object(card)) = body.get("card") else { return Err(reply::invalid("card", "Field required")) };
    let number = text(card, "number").map_err(|_| reply::invalid("card.number", "Input should be a valid string"))?;
    let number = number.ok_or_else(|| reply::invalid("card.number", "Field required"))?;
    if !(14..=16).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reply::invalid("card.number", "String should match pattern '^[0-9]{14,16}$'"));
    }
    if !payment_core::source::luhn_valid(number) {
        return Err(reply::problem(402, "invalid_number", "Invalid Number", "Your card number is invalid."));
    }
    let month = int(card, "exp_month").map_err(|_| reply::invalid("card.exp_month", "Input should be a valid integer"))?;
    let year = int(card, "exp_year").map_err(|_| reply::invalid("card.exp_year", "Input should be a valid integer"))?;
    let month = month.filter(|m| (1..=12).contains(m)).ok_or_else(|| reply::invalid("card.exp_month", "Input should be 1 to 12"))?;
    let now_year = iso(now)[..4].parse::<i64>().unwrap_or(1970);
    let year = year.filter(|y| (now_year..=now_year + 20).contains(y)).ok_or_else(|| {
        reply::problem(402, "invalid_expiry_year", "Invalid Expiry Year", "The card's expiry year is invalid.")
    })?;
    if let Some(cvc) = text(card, "cvc").map_err(|_| reply::invalid("card.cvc", "Input should be a valid string"))?
        && (!(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(reply::invalid("card.cvc", "String should match pattern '^[0-9]{3,4}$'"));
    }
    let object = json!({
        "last4": &number[number.len() - 4..], "brand": cards::brand(number), "exp_month": month, "exp_year": year,
        "fingerprint": format!("{:032x}", fingerprint(number)), "country": "JP", "funding": "credit",
    });
    Ok((number.to_owned(), object))
}

/// `billing_details` with its required `address` object; a card needs an email or a phone.
fn billing_details(body: &Map<String, Value>, card: bool) -> Result<Value, Reply> {
    let details = match body.get("billing_details") {
        Some(Value::Object(d)) => d.clone(),
        None | Some(Value::Null) if !card => Map::new(),
        None | Some(Value::Null) => return Err(reply::invalid("billing_details", "Field required")),
        Some(_) => return Err(reply::invalid("billing_details", "Input should be a valid dictionary")),
    };
    only(&details, &["name", "email", "phone", "address"]).map_err(|_| reply::invalid("billing_details", "Extra inputs are not permitted"))?;
    let field = |name: &str| text(&details, name).map_err(|_| reply::invalid(&format!("billing_details.{name}"), "Input should be a valid string"));
    let (name, email, phone) = (field("name")?, field("email")?, field("phone")?);
    if card && email.is_none() && phone.is_none() {
        return Err(reply::invalid("billing_details", "email or phone is required for a card (3-D Secure)"));
    }
    let mut address = json!({"country": null, "zip": null, "state": null, "city": null, "line1": null, "line2": null});
    if let Some(Value::Object(given)) = details.get("address") {
        for key in ["country", "zip", "state", "city", "line1", "line2"] {
            if let Some(Value::String(v)) = given.get(key) {
                address[key] = json!(v);
            }
        }
    }
    Ok(json!({"name": name, "email": email, "phone": phone, "address": address}))
}

// A stable per-number fingerprint (FNV-1a), so the same card shows the same fingerprint.
fn fingerprint(number: &str) -> u128 {
    number.bytes().fold(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d_u128, |h, b| {
        (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B)
    })
}
