//! The mock's charges and refunds, in fen, and Justap's rules for them; answers are rendered in
//! the wire types (yuan as exact decimals, int64 as strings, RFC 3339 dates).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use axum::response::Response;
use payment_core::serde_adapters::DecimalNumber;
use payment_core::{Currency, Money, Timestamp};
use payment_mock_kit::pages::cursor_page;
use payment_mock_kit::{IdAlphabet, IdGen, Store};
use serde_json::{Value, json};

use super::reply::{JustapReply, Reply, ok};
use crate::client::CHANNELS;
use crate::wire::{Charge, ChargeList, NewCharge, NewRefund, Refund, RefundList, Reverse, Wrapped};

const MONTH: i64 = 30 * 86_400;
/// Seconds an unpaid charge stays open when the request gives no `ttl`.
pub const DEFAULT_TTL: i64 = 7_200;

/// A charge as the mock holds it.
#[derive(Debug, Clone)]
pub(super) struct MockCharge {
    pub(super) id: String,
    app_id: String,
    pub(super) trade_id: String,
    channel: String,
    pub(super) fen: i64,
    subject: String,
    body: String,
    description: Option<String>,
    client_ip: String,
    metadata: BTreeMap<String, String>,
    extra: BTreeMap<String, Value>,
    pub(super) created: i64,
    ttl: i64,
    pub(super) paid_at: Option<i64>,
    pub(super) reversed_at: Option<i64>,
    transaction_no: Option<String>,
}

impl MockCharge {
    pub(super) fn closed_at(&self, now: i64) -> Option<i64> {
        if self.paid_at.is_some() {
            return None;
        }
        self.reversed_at.or(Some(self.created + self.ttl).filter(|t| *t <= now))
    }
}

/// A refund as the mock holds it, and what identifies its request.
#[derive(Debug, Clone)]
pub(super) struct MockRefund {
    pub(super) id: String,
    pub(super) merchant_refund_id: String,
    pub(super) charge_id: String,
    pub(super) fen: i64,
    description: String,
    metadata: BTreeMap<String, String>,
    pub(super) created: i64,
    fingerprint: (Option<i64>, String),
}

/// Charges, refunds and counters.
#[derive(Debug, Default)]
pub struct Account {
    pub(super) charges: Store<MockCharge>,
    by_trade_id: HashMap<(String, String), String>,
    pub(super) refunds: HashMap<String, Vec<MockRefund>>,
    by_refund_id: HashMap<(String, String), (String, usize)>,
    pub(super) refunds_applied: usize,
}

fn rfc3339(t: i64) -> String {
    Timestamp::from_unix(t).to_rfc3339()
}

fn yuan(fen: i64) -> DecimalNumber {
    DecimalNumber::from_money(Money::new(fen, Currency::CNY))
}

fn fen_of(amount: &DecimalNumber, field: &str) -> Result<i64, Reply> {
    match amount.to_money(Currency::CNY) {
        Ok(m) if m.minor > 0 => Ok(m.minor),
        Ok(_) => Err(Reply::invalid(&format!("{field} must be more than 0"))),
        Err(_) => Err(Reply::invalid(&format!("{field} {amount} is not a yuan amount with at most 2 decimals"))),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Reply> {
    serde_json::from_slice(body).map_err(|e| Reply::invalid(&format!("invalid request body: {e}")))
}

fn strings_to_values(m: &BTreeMap<String, String>) -> BTreeMap<String, Value> {
    m.iter().map(|(k, v)| (k.clone(), json!(v))).collect()
}

impl Account {
    fn refunded_fen(&self, charge: &str) -> i64 {
        self.refunds.get(charge).map(|l| l.iter().map(|r| r.fen).sum()).unwrap_or(0)
    }

    pub(super) fn refund_wire(&self, r: &MockRefund, trade_id: &str) -> Refund {
        Refund {
            refund_id: r.id.clone(),
            refund_no: Some(r.id.replace("refund_", "rn")),
            merchant_refund_id: Some(r.merchant_refund_id.clone()),
            charge_id: r.charge_id.clone(),
            charge_merchant_trade_id: Some(trade_id.to_owned()),
            amount: yuan(r.fen),
            created: Some(r.created),
            created_at: Some(rfc3339(r.created)),
            description: Some(r.description.clone()),
            status: Some("succeeded".into()),
            is_success: true,
            succeed_ts: Some(r.created),
            success_at: Some(rfc3339(r.created)),
            failure_code: None,
            failure_msg: None,
            transaction_no: None,
            metadata: strings_to_values(&r.metadata),
        }
    }

    /// The charge as the API shows it at `now`.
    pub(super) fn charge_wire(&self, c: &MockCharge, now: i64) -> Charge {
        let closed_at = c.closed_at(now);
        let refunds: Vec<Refund> = self
            .refunds
            .get(&c.id)
            .map(|l| l.iter().rev().map(|r| self.refund_wire(r, &c.trade_id)).collect())
            .unwrap_or_default();
        Charge {
            charge_id: c.id.clone(),
            object: "Charge".into(),
            app_id: c.app_id.clone(),
            merchant_trade_id: c.trade_id.clone(),
            channel: c.channel.clone(),
            amount: yuan(c.fen),
            amount_refund: Some(yuan(self.refunded_fen(&c.id))),
            amount_settle: c.paid_at.map(|_| yuan(c.fen)),
            currency: Some("CNY".into()),
            subject: Some(c.subject.clone()),
            body: Some(c.body.clone()),
            description: c.description.clone(),
            client_ip: Some(c.client_ip.clone()),
            paid: c.paid_at.is_some(),
            refunded: !refunds.is_empty(),
            reversed: c.reversed_at.is_some(),
            closed: closed_at.is_some(),
            live_mode: false,
            created_at: Some(rfc3339(c.created)),
            paid_at: c.paid_at.map(rfc3339),
            closed_at: closed_at.map(rfc3339),
            reversed_at: c.reversed_at.map(rfc3339),
            time_expire: Some(rfc3339(c.created + c.ttl)),
            paid_ts: c.paid_at,
            closed_ts: closed_at,
            expired_ts: Some(c.created + c.ttl),
            ttl: Some(c.ttl),
            transaction_no: c.transaction_no.clone(),
            failure_code: None,
            failure_msg: None,
            credential: json!({"@type": "type.googleapis.com/justap.mock.Credential", "channel": c.channel,
                "qr_code": format!("https://qr.mock.invalid/{}", c.id), "merchant_trade_id": c.trade_id}),
            extra: json!(c.extra),
            metadata: strings_to_values(&c.metadata),
            refunds: Some(refunds),
        }
    }

    fn answer_charge(&self, c: &MockCharge, now: i64) -> Result<Response, Reply> {
        ok(&Wrapped { object: "Charge".into(), data: self.charge_wire(c, now) })
    }

    fn owned(&self, app: &str, id: &str) -> Result<&MockCharge, Reply> {
        self.charges.get(id).filter(|c| c.app_id == app).ok_or_else(|| Reply::missing("charge", id))
    }

    /// `POST /v1/charges`.
    pub fn create_charge(&mut self, ids: &IdGen, now: i64, body: &[u8]) -> Result<Response, Reply> {
        let new: NewCharge = parse(body)?;
        let fen = fen_of(&new.amount, "amount")?;
        if new.app_id.is_empty() {
            return Err(Reply::invalid("app_id is required"));
        }
        let trade = &new.merchant_trade_id;
        if trade.is_empty()
            || trade.len() > 32
            || !trade.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Reply::invalid("merchant_trade_id must be 1 to 32 letters, digits, '_' or '-'"));
        }
        if !CHANNELS.contains(&new.channel.as_ref()) {
            return Err(Reply::invalid(&format!("invalid value for enum type tradev1Channel: {:?}", new.channel)));
        }
        if new.currency != "CNY" {
            return Err(Reply::invalid("currency only supports CNY"));
        }
        for (field, value, max) in [("subject", &new.subject, 64), ("body", &new.body, 128)] {
            if value.trim().is_empty() || value.chars().count() > max {
                return Err(Reply::invalid(&format!("{field} is required, at most {max} characters")));
            }
        }
        if new.client_ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Reply::invalid("client_ip is not an IP address"));
        }
        if new.ttl.is_some_and(|t| !(60..=15 * 86_400).contains(&t)) {
            return Err(Reply::invalid("ttl must be 60 seconds to 15 days"));
        }
        let key = (new.app_id.to_string(), trade.to_string());
        if self.by_trade_id.contains_key(&key) {
            return Err(Reply::grpc(409, super::reply::code::ALREADY_EXISTS, "merchant_trade_id already exists"));
        }
        let id = ids.next("charge_", 24, IdAlphabet::Alphanumeric);
        let charge = MockCharge {
            id: id.clone(),
            app_id: new.app_id.into_owned(),
            trade_id: trade.to_string(),
            channel: new.channel.into_owned(),
            fen,
            subject: new.subject.into_owned(),
            body: new.body.into_owned(),
            description: new.description.map(Cow::into_owned),
            client_ip: new.client_ip.into_owned(),
            metadata: new.metadata.into_owned(),
            extra: new.extra.into_owned(),
            created: now,
            ttl: new.ttl.map(i64::from).unwrap_or(DEFAULT_TTL),
            paid_at: None,
            reversed_at: None,
            transaction_no: None,
        };
        let answer = self.answer_charge(&charge, now);
        self.by_trade_id.insert(key, id.clone());
        self.charges.insert(id, charge);
        answer
    }

    /// `GET /v1/charges/{id}`.
    pub fn charge(&self, app: &str, id: &str, now: i64) -> Result<Response, Reply> {
        self.answer_charge(self.owned(app, id)?, now)
    }

    /// `GET /v1/charges/merchant_trade_id/{id}`.
    pub fn charge_by_trade_id(&self, app: &str, trade: &str, now: i64) -> Result<Response, Reply> {
        let id =
            self.by_trade_id.get(&(app.to_owned(), trade.to_owned())).ok_or_else(|| Reply::missing("charge", trade))?;
        self.charge(app, id, now)
    }

    /// A charge as its wire JSON, for notifications.
    pub fn charge_view(&self, id: &str, now: i64) -> Option<Value> {
        self.charges.get(id).and_then(|c| serde_json::to_value(self.charge_wire(c, now)).ok())
    }

    /// `POST /__mock__/charges/{id}/complete`: the payer paid at the channel.
    pub fn pay(&mut self, ids: &IdGen, id: &str, now: i64) -> Result<Value, String> {
        let charge = self.charges.get_mut(id).ok_or_else(|| format!("no such charge: {id}"))?;
        if charge.closed_at(now).is_some() {
            return Err(format!("charge {id} is closed"));
        }
        if charge.paid_at.is_none() {
            charge.paid_at = Some(now);
            charge.transaction_no = Some(ids.next("", 28, IdAlphabet::Hex));
        }
        let charge = charge.clone();
        serde_json::to_value(self.charge_wire(&charge, now)).map_err(|e| e.to_string())
    }

    /// `POST /v1/charges/{id}/reverse`: closes an unpaid charge; a closed one stays as it is.
    pub fn reverse(&mut self, id: &str, now: i64, body: &[u8]) -> Result<Response, Reply> {
        let reverse: Reverse = parse(body)?;
        if !reverse.charge_id.is_empty() && reverse.charge_id != id {
            return Err(Reply::invalid("charge_id in the body does not match the path"));
        }
        let charge = self.owned(&reverse.app_id, id)?;
        if charge.paid_at.is_some() {
            return Err(Reply::precondition("a paid charge cannot be reversed; refund it"));
        }
        let charge = self.charges.get_mut(id).ok_or_else(|| Reply::missing("charge", id))?;
        if charge.closed_at(now).is_none() {
            charge.reversed_at = Some(now);
        }
        let charge = charge.clone();
        self.answer_charge(&charge, now)
    }

    /// `POST /v1/refunds`: refunds deduplicated by `merchant_refund_id` per app.
    pub fn refund(&mut self, ids: &IdGen, now: i64, body: &[u8]) -> Result<Response, Reply> {
        let new: NewRefund = parse(body)?;
        let id = new.merchant_refund_id.clone();
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Reply::invalid("merchant_refund_id is required, at most 64 visible characters"));
        }
        if new.description.trim().is_empty() || new.description.chars().count() > 255 {
            return Err(Reply::invalid("description is required, at most 255 characters"));
        }
        let asked = new.amount.as_ref().map(|a| fen_of(a, "amount")).transpose()?;
        let charge = self.owned(&new.app_id, &new.charge_id)?.clone();
        let fingerprint = (asked, format!("{}|{}", new.charge_id, new.description));
        if let Some((charge_id, index)) = self.by_refund_id.get(&(new.app_id.clone(), id.clone())) {
            let existing = &self.refunds[charge_id][*index];
            if existing.fingerprint != fingerprint {
                return Err(Reply::grpc(
                    409,
                    super::reply::code::ALREADY_EXISTS,
                    "IdempotentParameterMismatch: merchant_refund_id was used with other parameters",
                ));
            }
            return ok(&Wrapped { object: "Refund".into(), data: self.refund_wire(existing, &charge.trade_id) });
        }
        if charge.paid_at.is_none() {
            return Err(Reply::precondition("the charge is not paid"));
        }
        let remaining = charge.fen - self.refunded_fen(&charge.id);
        if remaining == 0 {
            return Err(Reply::precondition("the charge is refunded in full"));
        }
        let fen = asked.unwrap_or(remaining);
        if fen > remaining {
            return Err(Reply::invalid(&format!("amount exceeds the refundable {}", yuan(remaining))));
        }
        let refund = MockRefund {
            id: ids.next("refund_", 24, IdAlphabet::Alphanumeric),
            merchant_refund_id: id.clone(),
            charge_id: charge.id.clone(),
            fen,
            description: new.description,
            metadata: new.metadata,
            created: now,
            fingerprint,
        };
        let list = self.refunds.entry(charge.id.clone()).or_default();
        list.push(refund.clone());
        self.by_refund_id.insert((new.app_id, id), (charge.id.clone(), list.len() - 1));
        self.refunds_applied += 1;
        ok(&Wrapped { object: "Refund".into(), data: self.refund_wire(&refund, &charge.trade_id) })
    }

    /// `GET /v1/refunds/{id}?charge_id=`.
    pub fn refund_view(&self, app: &str, charge: &str, refund: &str) -> Result<Response, Reply> {
        let c = self.owned(app, charge)?;
        let r = self
            .refunds
            .get(charge)
            .and_then(|l| l.iter().find(|r| r.id == refund))
            .ok_or_else(|| Reply::missing("refund", refund))?;
        ok(&Wrapped { object: "Refund".into(), data: self.refund_wire(r, &c.trade_id) })
    }

    /// `GET /v1/refunds?charge_id=`: newest first, cursor pages, with `total`.
    pub fn list_refunds(&self, app: &str, charge: &str, query: &BTreeMap<String, String>) -> Result<Response, Reply> {
        let c = self.owned(app, charge)?;
        let all: Vec<&MockRefund> = self.refunds.get(charge).map(|l| l.iter().rev().collect()).unwrap_or_default();
        let after = query.get("starting_after").map(String::as_str);
        let (page, has_more) = cursor_page(&all, |r| &r.id, after, None, limit(query)?)
            .map_err(|missing| Reply::missing("refund", &missing))?;
        let page: Vec<Refund> = page.iter().map(|r| self.refund_wire(r, &c.trade_id)).collect();
        ok(&RefundList { object: "RefundList".into(), total: all.len() as i64, has_more, data: page })
    }

    /// `GET /v1/charges`: `app_id` required; the last month unless `created.*` says otherwise; newest first.
    pub fn list_charges(&self, now: i64, query: &BTreeMap<String, String>) -> Result<Response, Reply> {
        const KNOWN: &[&str] = &[
            "app_id",
            "limit",
            "starting_after",
            "ending_before",
            "merchant_trade_id",
            "created.gt",
            "created.gte",
            "created.lt",
            "created.lte",
            "channel",
            "paid",
            "refunded",
            "reversed",
            "closed",
            "expired",
        ];
        if let Some(k) = query.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(Reply::invalid(&format!("unknown query parameter {k:?}")));
        }
        let app = query.get("app_id").ok_or_else(|| Reply::invalid("app_id is required"))?;
        let limit = limit(query)?;
        let bound = |k: &str| -> Result<Option<i64>, Reply> {
            query.get(k).map(|v| v.parse().map_err(|_| Reply::invalid(&format!("{k} must be an integer")))).transpose()
        };
        let (gt, gte, lt, lte) =
            (bound("created.gt")?, bound("created.gte")?, bound("created.lt")?, bound("created.lte")?);
        let windowed = gt.is_some() || gte.is_some() || lt.is_some() || lte.is_some();
        let flag = |k: &str| query.get(k).map(|v| v == "true");
        let matches = |c: &&MockCharge| {
            &c.app_id == app
                && (windowed || c.created >= now - MONTH)
                && gt.is_none_or(|t| c.created > t)
                && gte.is_none_or(|t| c.created >= t)
                && lt.is_none_or(|t| c.created < t)
                && lte.is_none_or(|t| c.created <= t)
                && query.get("channel").is_none_or(|ch| &c.channel == ch)
                && query.get("merchant_trade_id").is_none_or(|m| &c.trade_id == m)
                && flag("paid").is_none_or(|p| c.paid_at.is_some() == p)
                && flag("reversed").is_none_or(|r| c.reversed_at.is_some() == r)
                && flag("closed").is_none_or(|x| c.closed_at(now).is_some() == x)
                && flag("expired").is_none_or(|x| (c.paid_at.is_none() && c.created + c.ttl <= now) == x)
                && flag("refunded").is_none_or(|r| self.refunds.get(&c.id).is_some_and(|l| !l.is_empty()) == r)
        };
        let all: Vec<&MockCharge> = self.charges.newest_first().filter(matches).collect();
        let (after, before) = (query.get("starting_after"), query.get("ending_before"));
        let (page, has_more) =
            cursor_page(&all, |c| &c.id, after.map(String::as_str), before.map(String::as_str), limit)
                .map_err(|missing| Reply::missing("charge", &missing))?;
        let data = page.iter().map(|c| self.charge_wire(c, now)).collect();
        ok(&ChargeList { object: "ChargeList".into(), has_more, data })
    }

    /// Charges per merchant order number, for exactly-once counts.
    pub fn references(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in self.charges.oldest_first() {
            *out.entry(c.trade_id.clone()).or_default() += 1;
        }
        out
    }
}

fn limit(query: &BTreeMap<String, String>) -> Result<usize, Reply> {
    match query.get("limit") {
        None => Ok(10),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(Reply::invalid("limit must be 1 to 100")),
        },
    }
}
