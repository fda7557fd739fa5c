//! Payments and their life: authorize -> settle (in parts) / cancel -> refund (in parts), with
//! single-use action links reissued after every change and `sentFor*` turning final on the clock.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::Engine as _;
use payment_mock_kit::{IdAlphabet, IdGen};
use serde_json::{Value, json};

use super::{Reply, WorldpayReply};

/// Seconds of mock clock before `Sent for Settlement` / `Sent for Refund` become final.
pub const FINAL_AFTER: i64 = 60;

/// One action a link can trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `payments:settle`.
    Settle,
    /// `payments:partialSettle`.
    PartialSettle,
    /// `payments:cancel`.
    Cancel,
    /// `payments:refund`.
    Refund,
    /// `payments:partialRefund`.
    PartialRefund,
    /// The Payments API's `supply3dsDeviceData`.
    DeviceData,
    /// The Payments API's `complete3dsChallenge`.
    Challenge,
}

impl Action {
    fn relation(self) -> &'static str {
        match self {
            Action::Settle => "payments:settle",
            Action::PartialSettle => "payments:partialSettle",
            Action::Cancel => "payments:cancel",
            Action::Refund => "payments:refund",
            Action::PartialRefund => "payments:partialRefund",
            Action::DeviceData => "supply3dsDeviceData",
            Action::Challenge => "complete3dsChallenge",
        }
    }

    /// The Payments API's `_actions` name and the verb after `/api/payments/{linkData}/`.
    pub fn api(self) -> (&'static str, &'static str) {
        match self {
            Action::Settle => ("settlePayment", "settlements"),
            Action::PartialSettle => ("partiallySettlePayment", "partialSettlements"),
            Action::Cancel => ("cancelPayment", "cancellations"),
            Action::Refund => ("refundPayment", "refunds"),
            Action::PartialRefund => ("partiallyRefundPayment", "partialRefunds"),
            Action::DeviceData => ("supply3dsDeviceData", "3dsDeviceData"),
            Action::Challenge => ("complete3dsChallenge", "3dsChallenges"),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Action::Settle => "/payments/settlements/full/",
            Action::PartialSettle => "/payments/settlements/partials/",
            Action::Cancel => "/payments/authorizations/cancellations/",
            Action::Refund => "/payments/settlements/refunds/full/",
            Action::PartialRefund => "/payments/settlements/refunds/partials/",
            // Only the Payments API offers these; a v6 answer never shows them.
            Action::DeviceData | Action::Challenge => "/api/payments/",
        }
    }
}

/// A payment as the mock keeps it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub(super) id: String,
    pub(super) reference: String,
    pub(super) entity: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) created: i64,
    pub(super) narrative: String,
    pub(super) refused: Option<(String, String)>,
    pub(super) settled: i64,
    pub(super) refunded: i64,
    pub(super) canceled: bool,
    /// The stage the last action reached, and when.
    pub(super) stage: &'static str,
    pub(super) stage_at: i64,
    /// The issuer's authentication while it lasts (payments taken with 3-D Secure).
    pub(super) tds: Option<super::authentication::Tds>,
    /// The Payments API `linkData` its first answer carried (what the client's id keeps).
    pub(super) api_link: Option<String>,
    events_token: String,
    pub(super) history: Vec<(&'static str, i64)>,
}

impl Payment {
    /// `lastEvent` in the events vocabulary, with `sentFor*` final after [`FINAL_AFTER`].
    pub fn last_event(&self, now: i64) -> &'static str {
        let done = now - self.stage_at >= FINAL_AFTER;
        match self.stage {
            "Sent for Settlement" if done => "Settled",
            "Sent for Refund" if done => "Refunded",
            other => other,
        }
    }

    /// The same in the Payment Queries vocabulary.
    pub fn query_event(&self, now: i64) -> &'static str {
        match self.last_event(now) {
            "Authorized" => "authorizationSucceeded",
            "Refused" => "authorizationRefused",
            "Sent for Settlement" => "settlementRequested",
            "Settled" => "settlementRequestSubmitted",
            "Sent for Cancellation" => "cancellationRequestSubmitted",
            "Sent for Refund" => "refundRequested",
            "Refunded" => "refundRequestSubmitted",
            _ => "authorizationRequested",
        }
    }

    /// The actions valid now.
    fn actions(&self) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(step) = self.tds.as_ref().and_then(|t| t.waiting_action()) {
            return vec![step];
        }
        if self.refused.is_some() || self.stage == super::authentication::FAILED {
            return out;
        }
        if !self.canceled && self.settled < self.amount {
            if self.settled == 0 {
                out.push(Action::Settle);
            }
            out.extend([Action::PartialSettle, Action::Cancel]);
        }
        if self.settled - self.refunded > 0 {
            if self.refunded == 0 {
                out.push(Action::Refund);
            }
            out.push(Action::PartialRefund);
        }
        out
    }
}

/// What a new payment is: who takes it, under which reference, for how much.
#[derive(Debug, Clone, Copy)]
pub struct NewPayment<'a> {
    /// `merchant.entity`.
    pub entity: &'a str,
    /// `transactionReference`.
    pub reference: &'a str,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: &'a str,
    /// `narrative.line1`.
    pub narrative: &'a str,
}

/// Every payment and every live action link.
#[derive(Debug, Default)]
pub struct Book {
    pub(super) payments: Vec<Payment>,
    pub(super) by_reference: HashMap<(String, String), usize>,
    pub(super) links: HashMap<String, (usize, Action)>,
    pub(super) events: HashMap<String, usize>,
    pub(super) used: HashSet<String>,
    /// Every link ever issued -> its payment: the Payments API reads a payment by any of them.
    pub(super) owners: HashMap<String, usize>,
    pub(super) refunds_applied: usize,
    pub(super) captures_applied: usize,
    pub(super) notices: Vec<Notice>,
    /// Each refund as (payment, amount, when): Worldpay has no refund object, only the payment's events.
    pub(super) refund_log: Vec<(usize, i64, i64)>,
}

/// A state change the mock's webhooks report: the event type, the payment's reference, the
/// amount it concerns, and how many seconds of mock time after the change it is sent.
#[derive(Debug, Clone)]
pub struct Notice {
    /// `authorized`, `sentForSettlement`, `settled`, …
    pub event_type: &'static str,
    /// `transactionReference`.
    pub reference: String,
    /// Minor units.
    pub amount: i64,
    /// ISO 4217.
    pub currency: String,
    /// Delay in seconds of mock time (`sentFor*` stages turn final after [`FINAL_AFTER`]).
    pub after: i64,
    /// The `reference` of the partial settlement or partial refund it reports.
    pub action_reference: Option<String>,
}

fn link_data(ids: &IdGen, payment: &str) -> String {
    let head = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{{\"k\":\"{}\"}}", &payment[payment.len().saturating_sub(8)..]));
    format!("{head}.{}", ids.next("", 96, IdAlphabet::Alphanumeric))
}

impl Book {
    /// The index of the payment for `(entity, reference)`.
    pub fn index(&self, entity: &str, reference: &str) -> Option<usize> {
        self.by_reference.get(&(entity.to_owned(), reference.to_owned())).copied()
    }

    /// Payments, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Payment> {
        self.payments.iter().rev()
    }

    /// A payment by id.
    pub fn by_id(&self, id: &str) -> Option<&Payment> {
        self.payments.iter().find(|p| p.id == id)
    }

    /// Creates an authorized (or refused) payment; `None` when the reference is taken.
    pub fn authorize(
        &mut self,
        ids: &IdGen,
        now: i64,
        new: &NewPayment<'_>,
        refused: Option<(String, String)>,
        auto_settle: bool,
    ) -> Option<usize> {
        let i = self.open(ids, now, new)?;
        self.decide(ids, now, i, refused, auto_settle);
        Some(i)
    }

    /// Records a payment not decided yet (no links); `None` when the reference is taken.
    pub(super) fn open(&mut self, ids: &IdGen, now: i64, new: &NewPayment<'_>) -> Option<usize> {
        let key = (new.entity.to_owned(), new.reference.to_owned());
        if self.by_reference.contains_key(&key) {
            return None;
        }
        let i = self.payments.len();
        let id = ids.next("pay", 22, IdAlphabet::Alphanumeric);
        let events_token = link_data(ids, &id);
        self.payments.push(Payment {
            id,
            reference: new.reference.to_owned(),
            entity: new.entity.to_owned(),
            amount: new.amount,
            currency: new.currency.to_owned(),
            created: now,
            narrative: new.narrative.to_owned(),
            refused: None,
            settled: 0,
            refunded: 0,
            canceled: false,
            stage: "Authorization Requested",
            stage_at: now,
            events_token: events_token.clone(),
            tds: None,
            api_link: None,
            history: Vec::new(),
        });
        self.by_reference.insert(key, i);
        self.events.insert(events_token, i);
        Some(i)
    }

    /// The issuer decides payment `i`: refused, or authorized (and sent for settlement when
    /// `auto_settle`), with its notices and new links.
    pub(super) fn decide(
        &mut self,
        ids: &IdGen,
        now: i64,
        i: usize,
        refused: Option<(String, String)>,
        auto_settle: bool,
    ) {
        let p = &mut self.payments[i];
        let notice = |event_type, after| Notice {
            event_type,
            reference: p.reference.clone(),
            amount: p.amount,
            currency: p.currency.clone(),
            after,
            action_reference: None,
        };
        let mut notices = Vec::new();
        p.stage_at = now;
        if refused.is_some() {
            p.stage = "Refused";
            p.history.push(("authorizationRefused", now));
            notices.push(notice("refused", 0));
        } else {
            p.stage = "Authorized";
            p.history.push(("authorizationSucceeded", now));
            notices.push(notice("authorized", 0));
            if auto_settle {
                p.stage = "Sent for Settlement";
                p.history.push(("settlementRequested", now));
                notices.push(notice("sentForSettlement", 0));
                notices.push(notice("settled", FINAL_AFTER));
            }
        }
        if auto_settle && refused.is_none() {
            p.settled = p.amount;
        }
        p.refused = refused;
        self.notices.extend(notices);
        self.reissue(ids, i);
    }

    /// New single-use links for payment `i`; the old ones become "already processed".
    pub(super) fn reissue(&mut self, ids: &IdGen, i: usize) {
        let old: Vec<String> = self.links.iter().filter(|(_, (p, _))| *p == i).map(|(k, _)| k.clone()).collect();
        for k in old {
            self.links.remove(&k);
            self.used.insert(k);
        }
        let id = self.payments[i].id.clone();
        for action in self.payments[i].actions() {
            let token = link_data(ids, &id);
            self.owners.insert(token.clone(), i);
            self.links.insert(token, (i, action));
        }
    }

    /// The `_links` of payment `i` now, with absolute hrefs under `origin`.
    pub fn links(&self, i: usize, origin: &str) -> Value {
        let mut links = serde_json::Map::new();
        for (token, (p, action)) in &self.links {
            if *p == i && action.path() != "/api/payments/" {
                links
                    .insert(action.relation().to_owned(), json!({"href": format!("{origin}{}{token}", action.path())}));
            }
        }
        links.insert(
            "payments:events".into(),
            json!({"href": format!("{origin}/payments/events/{}", self.payments[i].events_token)}),
        );
        links.insert(
            "curies".into(),
            json!([{"name": "payments", "href": format!("{origin}/rels/payments/{{rel}}"), "templated": true}]),
        );
        Value::Object(links)
    }

    /// The events answer of payment `i`.
    pub fn events_view(&self, i: usize, now: i64, origin: &str) -> Value {
        json!({"lastEvent": self.payments[i].last_event(now), "_links": self.links(i, origin)})
    }

    /// Payment `i` by its events token.
    pub fn by_events_token(&self, token: &str) -> Option<usize> {
        self.events.get(token).copied()
    }

    /// Runs the action behind `token` (`Err` for unknown or used links and broken rules).
    pub fn act(
        &mut self,
        ids: &IdGen,
        now: i64,
        token: &str,
        expected: &[Action],
        body: Option<(i64, String, String)>,
        origin: &str,
    ) -> Result<Value, Reply> {
        let Some(&(i, action)) = self.links.get(token) else {
            return Err(if self.used.contains(token) {
                Reply::error(
                    400,
                    "transactionHasAlreadyBeenProcessed",
                    "This action has already been processed for the payment",
                )
            } else {
                Reply::error(404, "resourceNotFound", "Requested resource was not found")
            });
        };
        if !expected.contains(&action) {
            return Err(Reply::error(404, "resourceNotFound", "Requested resource was not found"));
        }
        let p = &mut self.payments[i];
        if let Some((_, currency, _)) = &body
            && !currency.eq_ignore_ascii_case(&p.currency)
        {
            return Err(Reply::validation(
                "fieldHasInvalidValue",
                "Currency does not match the authorization",
                "$.value.currency",
            ));
        }
        let amount = body.as_ref().map(|(a, _, _)| *a);
        let action_reference = body.as_ref().map(|(_, _, r)| r.clone());
        match action {
            Action::Settle | Action::PartialSettle => {
                let remaining = p.amount - p.settled;
                let a = amount.unwrap_or(remaining);
                if a <= 0 || a > remaining {
                    return Err(Reply::validation(
                        "fieldHasInvalidValue",
                        "Amount is more than can be settled",
                        "$.value.amount",
                    ));
                }
                p.settled += a;
                p.stage = "Sent for Settlement";
                p.history.push(("settlementRequested", now));
                self.captures_applied += 1;
                let (r, c) = (p.reference.clone(), p.currency.clone());
                self.notices.push(Notice {
                    event_type: "sentForSettlement",
                    reference: r.clone(),
                    amount: a,
                    currency: c.clone(),
                    after: 0,
                    action_reference: action_reference.clone(),
                });
                self.notices.push(Notice {
                    event_type: "settled",
                    reference: r,
                    amount: a,
                    currency: c,
                    after: FINAL_AFTER,
                    action_reference: action_reference.clone(),
                });
            }
            Action::Cancel => {
                p.canceled = true;
                if p.settled == 0 {
                    p.stage = "Sent for Cancellation";
                }
                p.history.push(("cancellationRequested", now));
                let n = Notice {
                    event_type: "cancelled",
                    reference: p.reference.clone(),
                    amount: p.amount,
                    currency: p.currency.clone(),
                    after: 0,
                    action_reference: action_reference.clone(),
                };
                self.notices.push(n);
            }
            // The issuer's steps are the authentication's own (`authentication.rs`).
            Action::DeviceData | Action::Challenge => {
                return Err(Reply::error(404, "resourceNotFound", "Requested resource was not found"));
            }
            Action::Refund | Action::PartialRefund => {
                let refundable = p.settled - p.refunded;
                let a = amount.unwrap_or(refundable);
                if a <= 0 || a > refundable {
                    return Err(Reply::validation(
                        "fieldHasInvalidValue",
                        "Amount is more than can be refunded",
                        "$.value.amount",
                    ));
                }
                p.refunded += a;
                p.stage = "Sent for Refund";
                self.refund_log.push((i, a, now));
                p.history.push(("refundRequested", now));
                self.refunds_applied += 1;
                let (r, c) = (p.reference.clone(), p.currency.clone());
                self.notices.push(Notice {
                    event_type: "sentForRefund",
                    reference: r.clone(),
                    amount: a,
                    currency: c.clone(),
                    after: 0,
                    action_reference: action_reference.clone(),
                });
                self.notices.push(Notice {
                    event_type: "refunded",
                    reference: r,
                    amount: a,
                    currency: c,
                    after: FINAL_AFTER,
                    action_reference: action_reference.clone(),
                });
            }
        }
        self.payments[i].stage_at = now;
        self.reissue(ids, i);
        Ok(json!({"_links": self.links(i, origin)}))
    }

    /// A Payment Queries item.
    pub fn query_item(&self, p: &Payment, now: i64, origin: &str, with_events: bool) -> Value {
        let mut item = json!({
            "paymentId": p.id, "timestamp": payment_core::Timestamp::from_unix(p.created).to_rfc3339(),
            "transactionReference": p.reference, "narrative": {"line1": p.narrative}, "transactionType": "oneTime",
            "authorizationType": "authorization", "entity": p.entity, "lastEvent": p.query_event(now),
            "value": {"currency": p.currency, "amount": p.amount},
            "_links": {"self": {"href": format!("{origin}/paymentQueries/payments/{}", p.id)}}
        });
        if with_events {
            item["events"] = p.history.iter().map(|(name, ts)| json!({"eventName": name, "timestamp": payment_core::Timestamp::from_unix(*ts).to_rfc3339()})).collect();
        }
        item
    }

    /// Charges per reference.
    pub fn references(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for p in &self.payments {
            *out.entry(p.reference.clone()).or_default() += 1;
        }
        out
    }

    /// How many payments.
    /// The state changes since the last call, for the webhooks.
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    pub(super) fn len(&self) -> usize {
        self.payments.len()
    }

    /// Payment `i`.
    pub(super) fn at(&self, i: usize) -> Option<&Payment> {
        self.payments.get(i)
    }
}
