//! The mock's charges and refunds, and Ping++'s rules for them.

use std::collections::{BTreeMap, HashMap};

use payment_mock_kit::pages::cursor_page;
use payment_mock_kit::{IdAlphabet, IdGen, Store};
use serde_json::{Value, json};

use super::channels;
use super::reply::{PingppReply, Reply};
use crate::config::valid_app_id;
use crate::wire::{Charge, List, NewCharge, NewRefund, Refund};

const MONTH: i64 = 30 * 86_400;
const DAY: i64 = 86_400;

/// A refund and when it turns `succeeded` on the mock clock.
#[derive(Debug, Clone)]
pub(super) struct StoredRefund {
    refund: Refund,
    succeed_at: i64,
}

impl StoredRefund {
    /// When it was made (a view changes only its status).
    pub(super) fn created(&self) -> i64 {
        self.refund.created
    }

    pub(super) fn view(&self, now: i64) -> Refund {
        let mut r = self.refund.clone();
        if now >= self.succeed_at && r.status == "pending" {
            r.status = "succeeded".into();
            r.succeed = true;
            r.time_succeed = Some(self.succeed_at);
        }
        r
    }
}

/// Charges, refunds and counters.
#[derive(Debug, Default)]
pub struct Account {
    pub(super) charges: Store<Charge>,
    pub(super) refunds: HashMap<String, Vec<StoredRefund>>,
    pub(super) refunds_applied: usize,
    order_nos: std::collections::HashSet<String>,
    /// Seconds a refund stays `pending` on the mock clock (0: it is `succeeded` at the next read).
    pub(super) refund_delay: i64,
}

fn is_alnum(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl Account {
    /// The charge as the API shows it now: refunds embedded, `amount_refunded` from succeeded refunds.
    pub(super) fn render(&self, c: &Charge, now: i64) -> Value {
        let refunds: Vec<Refund> =
            self.refunds.get(&c.id).map(|l| l.iter().rev().map(|r| r.view(now)).collect()).unwrap_or_default();
        let mut charge = c.clone();
        charge.amount_refunded = refunds.iter().filter(|r| r.status == "succeeded").map(|r| r.amount).sum();
        charge.refunded = !refunds.is_empty();
        let has_more = refunds.len() > 10;
        charge.refunds = Some(List {
            object: "list".into(),
            url: format!("/v1/charges/{}/refunds", c.id),
            has_more,
            data: refunds.into_iter().take(10).collect(),
        });
        json!(charge)
    }

    /// `POST /v1/charges`.
    pub fn create_charge(&mut self, ids: &IdGen, now: i64, body: &[u8]) -> Result<Reply, Reply> {
        let new: NewCharge = serde_json::from_slice(body)
            .map_err(|e| Reply::invalid("invalid_json", &format!("请求参数错误: {e}"), None))?;
        if !is_alnum(&new.order_no, 64) {
            return Err(Reply::invalid("invalid_param", "order_no 只能是 1 到 64 位字母或数字", Some("order_no")));
        }
        if !valid_app_id(&new.app.id) {
            return Err(Reply::error(
                404,
                "invalid_request_error",
                Some("app_not_found"),
                &format!("无法找到 app: {}", new.app.id),
                Some("app"),
            ));
        }
        if !channels::CHANNELS.contains(&new.channel.as_str()) {
            return Err(Reply::invalid("invalid_param", &format!("不支持的渠道: {}", new.channel), Some("channel")));
        }
        if let Some(key) = channels::required_extra(&new.channel)
            && !new.extra.contains_key(key)
        {
            return Err(Reply::invalid(
                "missing_param",
                &format!("渠道 {} 需要 extra[{key}]", new.channel),
                Some(&format!("extra[{key}]")),
            ));
        }
        if new.amount <= 0 {
            return Err(Reply::invalid("invalid_param", "amount 必须大于 0", Some("amount")));
        }
        if new.client_ip.parse::<std::net::IpAddr>().is_err() {
            return Err(Reply::invalid("invalid_param", "client_ip 不是合法的 IP 地址", Some("client_ip")));
        }
        if new.currency != "cny" {
            return Err(Reply::invalid("invalid_param", "currency 只支持 cny", Some("currency")));
        }
        if new.subject.is_empty() || new.subject.chars().count() > 32 {
            return Err(Reply::invalid("invalid_param", "subject 长度为 1 到 32", Some("subject")));
        }
        if new.body.is_empty() || new.body.chars().count() > 128 {
            return Err(Reply::invalid("invalid_param", "body 长度为 1 到 128", Some("body")));
        }
        if new.description.as_ref().is_some_and(|d| d.chars().count() > 255) {
            return Err(Reply::invalid("invalid_param", "description 最长 255", Some("description")));
        }
        if let Some(t) = new.time_expire
            && !(now + 60..=now + 15 * DAY).contains(&t)
        {
            return Err(Reply::invalid("invalid_param", "time_expire 必须在 1 分钟到 15 天之间", Some("time_expire")));
        }
        if !self.order_nos.insert(format!("{} {}", new.app.id, new.order_no)) {
            return Err(Reply::invalid("order_no_used", "订单号已被使用", Some("order_no")));
        }
        let id = ids.next("ch_", 24, IdAlphabet::Alphanumeric);
        let charge = Charge {
            credential: channels::credential(&new.channel, &id, &new.order_no, new.amount),
            id: id.clone(),
            object: "charge".into(),
            created: now,
            livemode: false,
            paid: false,
            refunded: false,
            reversed: false,
            app: json!(new.app.id),
            channel: new.channel,
            order_no: new.order_no,
            client_ip: Some(new.client_ip),
            amount: new.amount,
            amount_settle: new.amount,
            currency: new.currency,
            subject: new.subject,
            body: new.body,
            extra: json!(new.extra),
            time_paid: None,
            time_expire: Some(new.time_expire.unwrap_or(now + DAY)),
            time_settle: None,
            transaction_no: None,
            refunds: None,
            amount_refunded: 0,
            failure_code: None,
            failure_msg: None,
            metadata: new.metadata,
            description: new.description,
        };
        let body = self.render(&charge, now);
        self.charges.insert(id, charge);
        Ok(Reply::ok(body))
    }

    /// `GET /v1/charges/{id}`.
    pub fn charge(&self, id: &str, now: i64) -> Result<Reply, Reply> {
        self.charges.get(id).map(|c| Reply::ok(self.render(c, now))).ok_or_else(|| Reply::missing("charge", id))
    }

    /// `POST /__mock__/charges/{id}/complete`: the payer paid at the channel.
    pub fn pay(&mut self, ids: &IdGen, id: &str, now: i64) -> Result<Value, String> {
        let charge = self.charges.get_mut(id).ok_or_else(|| format!("no such charge: {id}"))?;
        if charge.reversed {
            return Err(format!("charge {id} is reversed"));
        }
        if !charge.paid {
            charge.paid = true;
            charge.time_paid = Some(now);
            charge.transaction_no = Some(ids.next("", 28, IdAlphabet::Hex));
        }
        let charge = charge.clone();
        Ok(self.render(&charge, now))
    }

    /// `POST /v1/charges/{id}/reverse`.
    pub fn reverse(&mut self, id: &str, now: i64) -> Result<Reply, Reply> {
        let charge = self.charges.get_mut(id).ok_or_else(|| Reply::missing("charge", id))?;
        if charge.paid {
            return Err(Reply::invalid("charge_paid", "已支付的 charge 不能撤销", None));
        }
        charge.reversed = true;
        let charge = charge.clone();
        Ok(Reply::ok(self.render(&charge, now)))
    }

    /// `POST /v1/charges/{id}/refunds`.
    pub fn refund(&mut self, ids: &IdGen, id: &str, now: i64, body: &[u8]) -> Result<Reply, Reply> {
        let new: NewRefund = serde_json::from_slice(body)
            .map_err(|e| Reply::invalid("invalid_json", &format!("请求参数错误: {e}"), None))?;
        if new.description.is_empty() || new.description.chars().count() > 255 {
            return Err(Reply::invalid("missing_param", "description 必填，最长 255", Some("description")));
        }
        let charge = self.charges.get(id).ok_or_else(|| Reply::missing("charge", id))?.clone();
        if !charge.paid {
            return Err(Reply::invalid("charge_unpaid", "未支付的 charge 不能退款", None));
        }
        let taken: i64 = self
            .refunds
            .get(id)
            .map(|l| l.iter().map(|r| r.view(now)).filter(|r| r.status != "failed").map(|r| r.amount).sum())
            .unwrap_or(0);
        let remaining = charge.amount - taken;
        if remaining == 0 {
            return Err(Reply::invalid("charge_refunded", "该 charge 已全额退款", None));
        }
        let amount = new.amount.unwrap_or(remaining);
        if amount <= 0 {
            return Err(Reply::invalid("invalid_param", "amount 必须大于 0", Some("amount")));
        }
        if amount > remaining {
            return Err(Reply::invalid("refund_amount_exceeded", "退款金额大于可退金额", Some("amount")));
        }
        let refund = Refund {
            id: ids.next("re_", 24, IdAlphabet::Alphanumeric),
            object: "refund".into(),
            order_no: ids.next("", 24, IdAlphabet::Alphanumeric),
            amount,
            created: now,
            succeed: false,
            status: "pending".into(),
            time_succeed: None,
            description: Some(new.description),
            failure_code: None,
            failure_msg: None,
            metadata: new.metadata,
            charge: charge.id.clone(),
            charge_order_no: Some(charge.order_no.clone()),
            transaction_no: None,
            extra: json!({}),
        };
        self.refunds
            .entry(charge.id.clone())
            .or_default()
            .push(StoredRefund { refund: refund.clone(), succeed_at: now + self.refund_delay });
        self.refunds_applied += 1;
        Ok(Reply::ok(json!(refund)))
    }

    /// `GET /v1/charges/{id}/refunds/{refund}`.
    pub fn refund_view(&self, id: &str, refund: &str, now: i64) -> Result<Reply, Reply> {
        self.charges.get(id).ok_or_else(|| Reply::missing("charge", id))?;
        self.refunds
            .get(id)
            .and_then(|l| l.iter().find(|r| r.refund.id == refund))
            .map(|r| Reply::ok(json!(r.view(now))))
            .ok_or_else(|| Reply::missing("refund", refund))
    }

    /// `GET /v1/charges/{id}/refunds`: newest first, cursor pages.
    pub fn list_refunds(&self, id: &str, now: i64, query: &BTreeMap<String, String>) -> Result<Reply, Reply> {
        self.charges.get(id).ok_or_else(|| Reply::missing("charge", id))?;
        let all: Vec<Refund> =
            self.refunds.get(id).map(|l| l.iter().rev().map(|r| r.view(now)).collect()).unwrap_or_default();
        let after = query.get("starting_after").map(String::as_str);
        let (page, has_more) = cursor_page(&all, |r| &r.id, after, None, limit(query)?)
            .map_err(|missing| Reply::missing("refund", &missing))?;
        Ok(Reply::ok(
            json!({"object": "list", "url": format!("/v1/charges/{id}/refunds"), "has_more": has_more, "data": page}),
        ))
    }

    /// `GET /v1/charges`: `app[id]` required; the last month unless `created` says otherwise; newest first.
    pub fn list_charges(&self, now: i64, query: &BTreeMap<String, String>) -> Result<Reply, Reply> {
        const KNOWN: &[&str] = &[
            "app[id]",
            "limit",
            "starting_after",
            "ending_before",
            "created[gt]",
            "created[gte]",
            "created[lt]",
            "created[lte]",
            "channel",
            "paid",
            "refunded",
            "reversed",
        ];
        if let Some(k) = query.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(Reply::invalid("invalid_param", &format!("不支持的参数: {k}"), Some(k)));
        }
        let app =
            query.get("app[id]").ok_or_else(|| Reply::invalid("missing_param", "缺少参数 app[id]", Some("app[id]")))?;
        let limit = limit(query)?;
        let bound = |k: &str| -> Result<Option<i64>, Reply> {
            query
                .get(k)
                .map(|v| v.parse().map_err(|_| Reply::invalid("invalid_param", &format!("{k} 必须是整数"), Some(k))))
                .transpose()
        };
        let (gt, gte, lt, lte) =
            (bound("created[gt]")?, bound("created[gte]")?, bound("created[lt]")?, bound("created[lte]")?);
        let windowed = gt.is_some() || gte.is_some() || lt.is_some() || lte.is_some();
        let flag = |k: &str| query.get(k).map(|v| v == "true");
        let matches = |c: &&Charge| {
            c.app.as_str() == Some(app.as_str())
                && (windowed || c.created >= now - MONTH)
                && gt.is_none_or(|t| c.created > t)
                && gte.is_none_or(|t| c.created >= t)
                && lt.is_none_or(|t| c.created < t)
                && lte.is_none_or(|t| c.created <= t)
                && query.get("channel").is_none_or(|ch| &c.channel == ch)
                && flag("paid").is_none_or(|p| c.paid == p)
                && flag("reversed").is_none_or(|r| c.reversed == r)
                && flag("refunded").is_none_or(|r| self.refunds.get(&c.id).is_some_and(|l| !l.is_empty()) == r)
        };
        let all: Vec<&Charge> = self.charges.newest_first().filter(matches).collect();
        let (after, before) = (query.get("starting_after"), query.get("ending_before"));
        let (page, has_more) =
            cursor_page(&all, |c| &c.id, after.map(String::as_str), before.map(String::as_str), limit)
                .map_err(|missing| Reply::missing("charge", &missing))?;
        let data: Vec<Value> = page.iter().map(|c| self.render(c, now)).collect();
        Ok(Reply::ok(json!({"object": "list", "url": "/v1/charges", "has_more": has_more, "data": data})))
    }

    /// Charges per order number, for exactly-once counts.
    pub fn references(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for c in self.charges.oldest_first() {
            *out.entry(c.order_no.clone()).or_default() += 1;
        }
        out
    }
}

fn limit(query: &BTreeMap<String, String>) -> Result<usize, Reply> {
    match query.get("limit") {
        None => Ok(10),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Ok(n),
            _ => Err(Reply::invalid("invalid_param", "limit 必须在 1 到 100 之间", Some("limit"))),
        },
    }
}
