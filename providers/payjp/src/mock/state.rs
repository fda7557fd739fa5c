//! The mock's account: tokens and charges, and PAY.JP's rules for them.

use std::collections::{BTreeMap, HashMap};

use payment_mock_kit::{IdAlphabet, IdGen, Store};
use serde_json::json;

use super::cards;
use super::reply::{PayjpReply, Reply};
use crate::mapping::REFERENCE_KEY;
use crate::wire::{Card, Charge, Form, Token};

/// 180 days, PAY.JP's refund window.
const REFUND_WINDOW: i64 = 180 * 86_400;
const MIN_AMOUNT: i64 = 50;
const MAX_AMOUNT: i64 = 9_999_999;

/// Tokens, charges and counters.
#[derive(Debug, Default)]
pub struct Account {
    pub(super) tokens: HashMap<String, (Token, String)>,
    pub(super) charges: Store<Charge>,
    pub(super) refunds_applied: usize,
    pub(super) captures_applied: usize,
    /// Each refund applied (charge, yen, mock time): PAY.JP keeps refunds on the charge, and the
    /// console lists them one by one.
    pub(super) refund_log: Vec<(String, i64, i64)>,
    /// Charges waiting for their 3-D Secure flow to finish.
    pub(super) tds: HashMap<String, super::tds::PendingTds>,
}

fn parse_bool(form: &Form, key: &str, default: bool) -> Result<bool, Reply> {
    match form.get(key).map(str::to_ascii_lowercase).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(Reply::invalid("invalid_boolean", &format!("{key} must be true or false"), Some(key))),
    }
}

fn parse_int(form: &Form, key: &str) -> Result<Option<i64>, Reply> {
    form.get(key)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| Reply::invalid("invalid_param_key", &format!("{key} must be an integer"), Some(key)))
        })
        .transpose()
}

/// Refuses parameters the endpoint does not take (`metadata[...]` and `card[...]` checked by prefix).
pub fn only(form: &Form, allowed: &[&str]) -> Result<(), Reply> {
    for (k, _) in form.fields() {
        let base = k.split('[').next().unwrap_or(k);
        if !allowed.contains(&base) {
            return Err(Reply::invalid("no_allowed_param", &format!("Unknown parameter: {k}"), Some(k)));
        }
    }
    Ok(())
}

fn metadata(form: &Form) -> Result<Option<BTreeMap<String, String>>, Reply> {
    let pairs = form.nested("metadata");
    if pairs.is_empty() {
        return Ok(None);
    }
    if pairs.len() > 20 {
        return Err(Reply::invalid("too_many_metadata_keys", "metadata accepts at most 20 keys", Some("metadata")));
    }
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        if k.is_empty() || k.chars().count() > 40 {
            return Err(Reply::invalid(
                "invalid_metadata_key",
                "metadata keys are 1 to 40 characters",
                Some("metadata"),
            ));
        }
        if v.chars().count() > 500 {
            return Err(Reply::invalid(
                "invalid_metadata_value",
                "metadata values are at most 500 characters",
                Some("metadata"),
            ));
        }
        out.insert(k, v);
    }
    Ok(Some(out))
}

impl Account {
    /// `POST /v1/tokens`.
    pub fn create_token(&mut self, ids: &IdGen, now: i64, form: &Form) -> Result<Reply, Reply> {
        only(form, &["card"])?;
        let number: String = form.get("card[number]").unwrap_or("").chars().filter(|c| !c.is_whitespace()).collect();
        if number.is_empty() {
            return Err(Reply::invalid("missing_card", "card[number] is required", Some("card[number]")));
        }
        if !(12..=19).contains(&number.len()) || !payment_core::source::luhn_valid(&number) {
            return Err(Reply::error(
                400,
                "card_error",
                Some("invalid_number"),
                "Your card number is invalid.",
                Some("card[number]"),
            ));
        }
        let month = parse_int(form, "card[exp_month]")?.unwrap_or(0);
        let year = parse_int(form, "card[exp_year]")?.unwrap_or(0);
        if !(1..=12).contains(&month) {
            return Err(Reply::error(
                400,
                "card_error",
                Some("invalid_expiry_month"),
                "Invalid expiry month.",
                Some("card[exp_month]"),
            ));
        }
        let now_year = payment_core::Timestamp::from_unix(now).to_rfc3339()[..4].parse::<i64>().unwrap_or(1970);
        if year < now_year || year > now_year + 20 {
            return Err(Reply::error(
                400,
                "card_error",
                Some("invalid_expiry_year"),
                "Invalid expiry year.",
                Some("card[exp_year]"),
            ));
        }
        if let Some(cvc) = form.get("card[cvc]")
            && (!(3..=4).contains(&cvc.len()) || !cvc.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Reply::error(
                400,
                "card_error",
                Some("invalid_cvc"),
                "Your card's security code is invalid.",
                Some("card[cvc]"),
            ));
        }
        let card = Card {
            id: ids.next("car_", 28, IdAlphabet::Hex),
            object: "card".into(),
            brand: Some(cards::brand(&number).into()),
            last4: Some(number[number.len() - 4..].to_owned()),
            exp_month: u8::try_from(month).ok(),
            exp_year: u16::try_from(year).ok(),
            name: form.get("card[name]").map(str::to_owned),
            cvc_check: Some(if form.get("card[cvc]").is_some() { "passed" } else { "unchecked" }.into()),
            fingerprint: Some(format!("{:032x}", fingerprint(&number))),
            created: Some(now),
        };
        let token = Token {
            id: ids.next("tok_", 28, IdAlphabet::Hex),
            object: "token".into(),
            livemode: false,
            created: now,
            used: false,
            card,
        };
        self.tokens.insert(token.id.clone(), (token.clone(), number));
        Ok(Reply::ok(json!(token)))
    }

    /// `POST /v1/charges`, by the holder of `secret_key`.
    pub fn create_charge(&mut self, ids: &IdGen, now: i64, form: &Form, secret_key: &str) -> Result<Reply, Reply> {
        only(
            form,
            &[
                "amount",
                "currency",
                "card",
                "customer",
                "description",
                "capture",
                "expiry_days",
                "metadata",
                "three_d_secure",
                "product",
            ],
        )?;
        let amount = parse_int(form, "amount")?
            .ok_or_else(|| Reply::invalid("missing_param", "amount is required", Some("amount")))?;
        if !(MIN_AMOUNT..=MAX_AMOUNT).contains(&amount) {
            return Err(Reply::invalid("invalid_amount", "amount must be 50 to 9,999,999", Some("amount")));
        }
        match form.get("currency") {
            Some(c) if c.eq_ignore_ascii_case("jpy") => {}
            Some(_) => return Err(Reply::invalid("invalid_currency", "Only jpy is supported", Some("currency"))),
            None => return Err(Reply::invalid("missing_param", "currency is required", Some("currency"))),
        }
        let capture = parse_bool(form, "capture", true)?;
        let expiry_days = parse_int(form, "expiry_days")?;
        if expiry_days.is_some() && capture {
            return Err(Reply::invalid(
                "unnecessary_expiry_days",
                "expiry_days is only for capture=false",
                Some("expiry_days"),
            ));
        }
        let expiry_days = expiry_days.unwrap_or(7);
        if !(1..=60).contains(&expiry_days) {
            return Err(Reply::invalid("invalid_expiry_days", "expiry_days must be 1 to 60", Some("expiry_days")));
        }
        let metadata = metadata(form)?;
        let three_d_secure = parse_bool(form, "three_d_secure", false)?;
        let (card, number) = match (form.get("card"), form.get("customer")) {
            (Some(tok), _) => {
                let (token, number) = self
                    .tokens
                    .get_mut(tok)
                    .ok_or_else(|| Reply::invalid("invalid_id", &format!("No such token: {tok}"), Some("card")))?;
                if token.used {
                    return Err(Reply::invalid("token_already_used", "The token has already been used", Some("card")));
                }
                token.used = true;
                (token.card.clone(), number.clone())
            }
            (None, Some(c)) => {
                return Err(Reply::invalid("invalid_customer", &format!("No such customer: {c}"), Some("customer")));
            }
            (None, None) => {
                return Err(Reply::error(
                    400,
                    "card_error",
                    Some("missing_card"),
                    "card or customer is required",
                    Some("card"),
                ));
            }
        };
        let mut charge = Charge {
            id: ids.next("ch_", 30, IdAlphabet::Hex),
            object: "charge".into(),
            livemode: false,
            created: now,
            amount,
            currency: "jpy".into(),
            paid: true,
            captured: capture,
            captured_at: capture.then_some(now),
            expired_at: (!capture).then_some(now + expiry_days * 86_400),
            card: Some(card),
            customer: None,
            description: form.get("description").map(str::to_owned),
            failure_code: None,
            failure_message: None,
            fee_rate: Some("3.00".into()),
            refunded: false,
            amount_refunded: 0,
            refund_reason: None,
            subscription: None,
            metadata,
            three_d_secure_status: None,
            term_id: None,
        };
        if three_d_secure {
            // Nothing is authorized until `tds_finish`; the card is judged then.
            charge.paid = false;
            charge.captured = false;
            charge.captured_at = None;
            charge.expired_at = None;
            charge.three_d_secure_status = Some("unverified".into());
            let pending =
                super::tds::PendingTds { capture, expiry_days, number, secret_key: secret_key.to_owned() };
            self.begin_tds(&charge.id, pending);
            self.charges.insert(charge.id.clone(), charge.clone());
            return Ok(Reply::ok(json!(charge)));
        }
        if let Some((code, message)) = cards::decline_for(&number) {
            charge.paid = false;
            charge.captured = false;
            charge.captured_at = None;
            charge.expired_at = None;
            charge.failure_code = Some(code.into());
            charge.failure_message = Some(message.into());
            let id = charge.id.clone();
            self.charges.insert(id.clone(), charge);
            let mut reply = Reply::error(402, "card_error", Some(code), message, Some("card"));
            reply.body["error"]["charge"] = json!(id);
            return Err(reply);
        }
        self.charges.insert(charge.id.clone(), charge.clone());
        Ok(Reply::ok(json!(charge)))
    }

    fn charge_mut(&mut self, id: &str) -> Result<&mut Charge, Reply> {
        self.charges.get_mut(id).ok_or_else(|| Reply::not_found("charge", id))
    }

    /// `GET /v1/charges/{id}`.
    pub fn charge(&self, id: &str) -> Result<Reply, Reply> {
        self.charges.get(id).map(|c| Reply::ok(json!(c))).ok_or_else(|| Reply::not_found("charge", id))
    }

    /// `POST /v1/charges/{id}`: description and metadata.
    pub fn update_charge(&mut self, id: &str, form: &Form) -> Result<Reply, Reply> {
        only(form, &["description", "metadata"])?;
        let updates = metadata(form)?;
        let charge = self.charge_mut(id)?;
        if let Some(d) = form.get("description") {
            charge.description = (!d.is_empty()).then(|| d.to_owned());
        }
        if let Some(m) = updates {
            let current = charge.metadata.get_or_insert_with(BTreeMap::new);
            for (k, v) in m {
                // An empty value unsets the key, as the SDKs do it.
                if v.is_empty() {
                    current.remove(&k)
                } else {
                    current.insert(k, v)
                };
            }
        }
        Ok(Reply::ok(json!(charge)))
    }

    /// `POST /v1/charges/{id}/capture`.
    pub fn capture(&mut self, id: &str, now: i64, form: &Form) -> Result<Reply, Reply> {
        only(form, &["amount"])?;
        let amount = parse_int(form, "amount")?;
        let charge = self.charge_mut(id)?;
        if !charge.paid {
            return Err(Reply::invalid("failed_payment", "The charge failed and cannot be captured", None));
        }
        if charge.captured {
            return Err(Reply::invalid("already_captured", "The charge is already captured", None));
        }
        if charge.refunded {
            return Err(Reply::invalid("cant_capture_refunded_charge", "A refunded charge cannot be captured", None));
        }
        if charge.expired_at.is_some_and(|e| now > e) {
            return Err(Reply::invalid("charge_expired", "The authorization has expired", None));
        }
        if let Some(a) = amount {
            // A partial capture must be less than the authorization; the rest is released as refunded.
            if !(MIN_AMOUNT..=MAX_AMOUNT).contains(&a) {
                return Err(Reply::invalid("invalid_amount", "amount must be 50 to 9,999,999", Some("amount")));
            }
            if a > charge.amount {
                return Err(Reply::invalid(
                    "capture_amount_gt_net",
                    "The capture amount is greater than the authorized amount",
                    Some("amount"),
                ));
            }
            charge.amount_refunded = charge.amount - a;
            charge.refunded = charge.amount_refunded > 0;
        }
        charge.captured = true;
        charge.captured_at = Some(now);
        charge.expired_at = None;
        let reply = Reply::ok(json!(charge));
        self.captures_applied += 1;
        Ok(reply)
    }

    /// `POST /v1/charges/{id}/refund`: refunds a captured charge, or releases an uncaptured one in full.
    pub fn refund(&mut self, id: &str, now: i64, form: &Form) -> Result<Reply, Reply> {
        only(form, &["amount", "refund_reason"])?;
        let amount = parse_int(form, "amount")?;
        let reason = form.get("refund_reason").map(str::to_owned);
        if reason.as_ref().is_some_and(|r| r.chars().count() > 255) {
            return Err(Reply::invalid(
                "invalid_refund_reason",
                "refund_reason is at most 255 characters",
                Some("refund_reason"),
            ));
        }
        let charge = self.charge_mut(id)?;
        if !charge.paid {
            return Err(Reply::invalid("failed_payment", "The charge failed and cannot be refunded", None));
        }
        let net = charge.amount - charge.amount_refunded;
        if net == 0 {
            return Err(Reply::invalid("already_refunded", "The charge is already refunded", None));
        }
        if !charge.captured {
            if amount.is_some() {
                return Err(Reply::invalid(
                    "invalid_amount_to_not_captured",
                    "An uncaptured charge can only be refunded in full",
                    Some("amount"),
                ));
            }
        } else if now - charge.created > REFUND_WINDOW {
            return Err(Reply::invalid("refund_limit_exceeded", "Charges can be refunded within 180 days", None));
        }
        let refund = amount.unwrap_or(net);
        if !(1..=MAX_AMOUNT).contains(&refund) {
            return Err(Reply::invalid("invalid_refund_amount", "The refund amount is invalid", Some("amount")));
        }
        if refund > net {
            return Err(Reply::invalid(
                "refund_amount_gt_net",
                "The refund amount is greater than the remaining amount",
                Some("amount"),
            ));
        }
        charge.amount_refunded += refund;
        charge.refunded = true;
        charge.refund_reason = reason.or(charge.refund_reason.take());
        if !charge.captured {
            charge.expired_at = None;
        }
        let body = json!(charge);
        self.refund_log.push((id.to_owned(), refund, now));
        self.refunds_applied += 1;
        Ok(Reply::ok(body))
    }

    /// `POST /v1/charges/{id}/reauth`.
    pub fn reauth(&mut self, id: &str, now: i64, form: &Form) -> Result<Reply, Reply> {
        only(form, &["expiry_days"])?;
        let days = parse_int(form, "expiry_days")?.unwrap_or(7);
        if !(1..=60).contains(&days) {
            return Err(Reply::invalid("invalid_expiry_days", "expiry_days must be 1 to 60", Some("expiry_days")));
        }
        let charge = self.charge_mut(id)?;
        if charge.refunded {
            return Err(Reply::invalid(
                "cant_reauth_refunded_charge",
                "A refunded charge cannot be re-authorized",
                None,
            ));
        }
        if charge.captured {
            return Err(Reply::invalid("already_captured", "The charge is already captured", None));
        }
        charge.expired_at = Some(now + days * 86_400);
        Ok(Reply::ok(json!(charge)))
    }

    /// `GET /v1/charges`: newest first, offset pages, `since`/`until` inclusive.
    pub fn list(&self, query: &Form) -> Result<Reply, Reply> {
        only(query, &["limit", "offset", "since", "until", "customer", "subscription", "tenant", "term"])?;
        let limit = parse_int(query, "limit")?.unwrap_or(10);
        if !(1..=100).contains(&limit) {
            return Err(Reply::invalid("invalid_querystring", "limit must be 1 to 100", Some("limit")));
        }
        let offset = parse_int(query, "offset")?.unwrap_or(0);
        if offset < 0 {
            return Err(Reply::invalid("invalid_querystring", "offset must be 0 or more", Some("offset")));
        }
        let since = parse_int(query, "since")?;
        let until = parse_int(query, "until")?;
        let matching: Vec<&Charge> = self
            .charges
            .newest_first()
            .filter(|c| since.is_none_or(|s| c.created >= s) && until.is_none_or(|u| c.created <= u))
            .collect();
        let page: Vec<&Charge> = matching.iter().skip(offset as usize).take(limit as usize).copied().collect();
        let has_more = (offset as usize) + page.len() < matching.len();
        Ok(Reply::ok(
            json!({"object": "list", "url": "/v1/charges", "has_more": has_more, "count": page.len(), "data": page}),
        ))
    }

    /// Charges per reference (from metadata), for exactly-once counts.
    pub fn references(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in self.charges.oldest_first() {
            if let Some(r) = c.metadata.as_ref().and_then(|m| m.get(REFERENCE_KEY)) {
                *out.entry(r.clone()).or_default() += 1;
            }
        }
        out
    }
}

// A stable per-number fingerprint (FNV-1a), so the same card shows the same fingerprint.
fn fingerprint(number: &str) -> u128 {
    number.bytes().fold(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d_u128, |h, b| {
        (h ^ u128::from(b)).wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B)
    })
}
