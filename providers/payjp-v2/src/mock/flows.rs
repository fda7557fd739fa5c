//! Payment Flows: create, confirm (3-D Secure on a card's first use, PayPay's payer), capture,
//! cancel, lapses on the mock clock, and the customer's answers.

use std::collections::BTreeMap;

use payment_mock_kit::{AuthenticationResult, IdAlphabet, IdGen};
use payment_payjp::mock::cards;
use serde_json::{Map, Value, json};

use super::reply::{self, Reply};
use super::state::{Account, Flow, int, iso, metadata, one_of, only, text, boolean};
use crate::wire::{PaymentFlow, RedirectOptions};

const MIN_AMOUNT: i64 = 50;
const MAX_AMOUNT: i64 = 9_999_999;
/// A customer step (3-D Secure, PayPay) nobody finishes lapses after 30 minutes.
pub const ACTION_WINDOW: i64 = 30 * 60;
/// A card authorization holds 7 days, a PayPay one 30.
const CARD_HOLD: i64 = 7 * 86_400;
const PAYPAY_HOLD: i64 = 30 * 86_400;
const TYPES: &[&str] = &["card", "paypay", "apple_pay"];
const CANCEL_REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer", "abandoned"];

/// The state changes a request made, for events: (event type, flow id).
pub type Changes = Vec<(&'static str, String)>;

fn options(body: &Map<String, Value>) -> Result<Option<Value>, Reply> {
    match body.get("payment_method_options") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => {
            only(o, &["card"]).map_err(|_| reply::invalid("payment_method_options", "Extra inputs are not permitted"))?;
            if let Some(Value::Object(card)) = o.get("card") {
                only(card, &["request_three_d_secure", "request_extended_authorization"])
                    .map_err(|_| reply::invalid("payment_method_options.card", "Extra inputs are not permitted"))?;
                one_of(card, "request_three_d_secure", &["any", "automatic"])
                    .map_err(|_| reply::invalid("payment_method_options.card.request_three_d_secure", "Input should be 'any' or 'automatic'"))?;
                one_of(card, "request_extended_authorization", &["if_available", "must_extend", "never"]).map_err(|_| {
                    reply::invalid("payment_method_options.card.request_extended_authorization", "Input should be 'if_available', 'must_extend' or 'never'")
                })?;
            }
            Ok(Some(Value::Object(o.clone())))
        }
        Some(_) => Err(reply::invalid("payment_method_options", "Input should be a valid dictionary")),
    }
}

fn types(body: &Map<String, Value>) -> Result<Option<Vec<String>>, Reply> {
    match body.get("payment_method_types") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| match t.as_str() {
                Some(s) if TYPES.contains(&s) => Ok(s.to_owned()),
                _ => Err(reply::invalid("payment_method_types", "Input should be 'card', 'paypay' or 'apple_pay'")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(reply::invalid("payment_method_types", "Input should be a valid list")),
    }
}

fn amount(body: &Map<String, Value>, field: &str) -> Result<Option<i64>, Reply> {
    match int(body, field)? {
        Some(a) if !(MIN_AMOUNT..=MAX_AMOUNT).contains(&a) => {
            Err(reply::invalid(field, "Input should be greater than or equal to 50 and less than or equal to 9999999"))
        }
        other => Ok(other),
    }
}

fn return_url(body: &Map<String, Value>) -> Result<Option<String>, Reply> {
    match text(body, "return_url")? {
        Some(u) if url::Url::parse(u).is_err() => Err(reply::invalid("return_url", "Input should be a valid URL")),
        other => Ok(other.map(str::to_owned)),
    }
}

impl Account {
    /// `POST /v2/payment_flows`; with `confirm: true` it is confirmed at once.
    pub fn create_flow(&mut self, ids: &IdGen, now: i64, base: &str, body: &Map<String, Value>, changes: &mut Changes) -> Result<Reply, Reply> {
        only(body, &["amount", "currency", "customer_id", "payment_method_id", "payment_method_options", "payment_method_types",
            "capture_method", "confirm", "return_url", "redirect_options", "description", "metadata"])?;
        let amount = amount(body, "amount")?.ok_or_else(|| reply::invalid("amount", "Field required"))?;
        match text(body, "currency")? {
            Some("jpy") => {}
            Some(_) => return Err(reply::invalid("currency", "Input should be 'jpy'")),
            None => return Err(reply::invalid("currency", "Field required")),
        }
        let capture_method = one_of(body, "capture_method", &["automatic", "manual"])?.unwrap_or("automatic").to_owned();
        let confirm = boolean(body, "confirm")?.unwrap_or(false);
        let return_url = return_url(body)?;
        if return_url.is_some() && !confirm {
            return Err(reply::invalid("return_url", "return_url can only be given with confirm=true"));
        }
        let customer = text(body, "customer_id")?.map(str::to_owned);
        let mut method = text(body, "payment_method_id")?.map(str::to_owned);
        if method.is_some() && customer.is_none() {
            return Err(reply::invalid("payment_method_id", "payment_method_id requires customer_id"));
        }
        if let Some(c) = &customer {
            let default = self.customer(ids, now, c)?["default_payment_method_id"].as_str().map(str::to_owned);
            if let Some(m) = &method {
                if self.method(m)?.object["customer_id"].as_str() != Some(c) {
                    return Err(reply::problem(400, "payment_method_not_attached", "Bad Request", &format!("Payment method {m} does not belong to customer {c}")));
                }
            } else {
                method = default;
            }
        }
        let include_client_secret = match body.get("redirect_options") {
            None | Some(Value::Null) => true,
            Some(Value::Object(o)) => boolean(o, "include_client_secret").map_err(|_| reply::invalid("redirect_options.include_client_secret", "Input should be a valid boolean"))?.unwrap_or(true),
            Some(_) => return Err(reply::invalid("redirect_options", "Input should be a valid dictionary")),
        };
        let mut meta = BTreeMap::new();
        metadata(body, &mut meta)?;
        let default_types = match &method {
            Some(m) => vec![self.method(m)?.kind().to_owned()],
            None => vec!["card".to_owned(), "paypay".to_owned()],
        };
        let id = ids.next("pfw_", 24, IdAlphabet::Alphanumeric);
        let wire = PaymentFlow {
            object: "payment_flow".into(),
            client_secret: format!("{id}_secret_{}", ids.next("", 24, IdAlphabet::Alphanumeric)),
            id: id.clone(),
            livemode: false,
            amount,
            currency: "jpy".into(),
            amount_capturable: Some(0),
            amount_received: Some(0),
            customer_id: customer,
            description: text(body, "description")?.map(str::to_owned),
            status: if method.is_some() { "requires_confirmation" } else { "requires_payment_method" }.into(),
            payment_method_id: method,
            return_url,
            payment_method_options: options(body)?,
            payment_method_types: types(body)?.unwrap_or(default_types),
            next_action: None,
            redirect_options: RedirectOptions { include_client_secret },
            capture_method,
            last_payment_error: None,
            cancellation_reason: None,
            canceled_at: None,
            expired_at: None,
            metadata: meta,
            created_at: iso(now),
            updated_at: iso(now),
        };
        self.flows.insert(id.clone(), Flow { wire, created: now, action_since: None, authorized_until: None, approved_at: None });
        if confirm {
            return self.run_confirm(&id, now, base, changes);
        }
        Ok(Reply::ok(json!(self.flows.get(&id).map(|f| &f.wire))))
    }

    /// A flow, after every lapse due by `now`.
    pub fn flow(&mut self, id: &str, now: i64) -> Result<&Flow, Reply> {
        self.lapse(now);
        self.flows.get(id).ok_or_else(|| reply::not_found("payment_flow", id))
    }

    fn flow_mut(&mut self, id: &str) -> Result<&mut Flow, Reply> {
        self.flows.get_mut(id).ok_or_else(|| reply::not_found("payment_flow", id))
    }

    /// `POST /v2/payment_flows/{id}` (the mock updates metadata, description and return_url).
    pub fn update_flow(&mut self, id: &str, now: i64, body: &Map<String, Value>) -> Result<Reply, Reply> {
        only(body, &["description", "metadata", "return_url"])?;
        let return_url = return_url(body)?;
        let description = text(body, "description")?.map(str::to_owned);
        let flow = self.flow_mut(id)?;
        let mut meta = flow.wire.metadata.clone();
        metadata(body, &mut meta)?;
        flow.wire.metadata = meta;
        if description.is_some() {
            flow.wire.description = description;
        }
        if return_url.is_some() {
            flow.wire.return_url = return_url;
        }
        flow.wire.updated_at = iso(now);
        Ok(Reply::ok(json!(flow.wire)))
    }

    /// `POST /v2/payment_flows/{id}/confirm`.
    pub fn confirm(&mut self, id: &str, now: i64, base: &str, body: &Map<String, Value>, changes: &mut Changes) -> Result<Reply, Reply> {
        only(body, &["payment_method_id", "payment_method_options", "payment_method_types", "capture_method", "return_url", "description"])?;
        let method = text(body, "payment_method_id")?.map(str::to_owned);
        let capture = one_of(body, "capture_method", &["automatic", "manual"])?.map(str::to_owned);
        let (return_url, options, types, description) = (return_url(body)?, options(body)?, types(body)?, text(body, "description")?.map(str::to_owned));
        self.lapse(now);
        let flow = self.flows.get(id).ok_or_else(|| reply::not_found("payment_flow", id))?;
        if !matches!(flow.wire.status.as_str(), "requires_payment_method" | "requires_confirmation") {
            return Err(reply::invalid_status("payment_flow", "requires_payment_method or requires_confirmation", &flow.wire.status));
        }
        if let Some(m) = &method {
            let owner = self.method(m)?.object["customer_id"].as_str().map(str::to_owned);
            if owner.is_some() && owner != flow.wire.customer_id {
                return Err(reply::problem(400, "payment_method_not_attached", "Bad Request", &format!("Payment method {m} does not belong to the flow's customer")));
            }
        }
        let flow = self.flow_mut(id)?;
        if method.is_some() {
            flow.wire.payment_method_id = method;
        }
        if let Some(c) = capture {
            flow.wire.capture_method = c;
        }
        if return_url.is_some() {
            flow.wire.return_url = return_url;
        }
        if options.is_some() {
            flow.wire.payment_method_options = options;
        }
        if let Some(t) = types {
            flow.wire.payment_method_types = t;
        }
        if description.is_some() {
            flow.wire.description = description;
        }
        self.run_confirm(id, now, base, changes)
    }

    fn run_confirm(&mut self, id: &str, now: i64, base: &str, changes: &mut Changes) -> Result<Reply, Reply> {
        let flow = self.flows.get(id).ok_or_else(|| reply::not_found("payment_flow", id))?;
        let Some(pm) = flow.wire.payment_method_id.clone() else {
            return Err(reply::problem(400, "payment_method_required", "Bad Request", "The payment flow has no payment method to confirm with"));
        };
        let method = self.method(&pm)?.clone();
        let asked = flow.wire.payment_method_options.as_ref().and_then(|o| o["card"]["request_three_d_secure"].as_str()) == Some("any");
        let return_url = flow.wire.return_url.clone();
        let page = match method.kind() {
            "paypay" => Some(format!("{base}/v2/mock/paypay/{id}")),
            _ if asked || !method.verified => Some(format!("{base}/v2/mock/3ds/{id}")),
            _ => None,
        };
        if let Some(url) = page {
            let flow = self.flow_mut(id)?;
            flow.wire.status = "requires_action".into();
            flow.wire.last_payment_error = None;
            flow.wire.next_action = Some(json!({"type": "redirect_to_url", "redirect_to_url": {"url": url, "return_url": return_url}}));
            flow.wire.updated_at = iso(now);
            flow.action_since = Some(now);
            changes.push(("payment_flow.requires_action", id.to_owned()));
            return Ok(Reply::ok(json!(flow.wire)));
        }
        self.authorize(id, now, method.number.as_deref(), changes)
    }

    /// Runs the authorization: a decline leaves the flow at `requires_payment_method` with
    /// `last_payment_error` and answers 402; otherwise it is authorized or captured.
    fn authorize(&mut self, id: &str, now: i64, number: Option<&str>, changes: &mut Changes) -> Result<Reply, Reply> {
        let decline = number.and_then(|n| cards::decline_for(n).or(cards::declines_after_tds(n)));
        let flow = self.flow_mut(id)?;
        flow.wire.next_action = None;
        flow.wire.updated_at = iso(now);
        flow.action_since = None;
        if let Some((code, message)) = decline {
            flow.wire.status = "requires_payment_method".into();
            flow.wire.last_payment_error = Some(json!({"type": "card_error", "code": code, "message": message, "payment_method_id": flow.wire.payment_method_id}));
            changes.push(("payment_flow.payment_failed", id.to_owned()));
            let mut r = reply::problem(402, code, "Payment Failed", message);
            r.body["instance"] = json!(format!("/v2/payment_flows/{id}"));
            return Err(r);
        }
        let hold = if number.is_some() { CARD_HOLD } else { PAYPAY_HOLD };
        if flow.wire.capture_method == "manual" {
            flow.wire.status = "requires_capture".into();
            flow.wire.amount_capturable = Some(flow.wire.amount);
            flow.authorized_until = Some(now + hold);
            flow.wire.expired_at = Some(iso(now + hold));
            changes.push(("payment_flow.amount_capturable_updated", id.to_owned()));
        } else {
            flow.wire.status = "succeeded".into();
            flow.wire.amount_received = Some(flow.wire.amount);
            changes.push(("payment_flow.succeeded", id.to_owned()));
        }
        Ok(Reply::ok(json!(flow.wire)))
    }

    fn fail(&mut self, id: &str, now: i64, code: &str, message: &str, changes: &mut Changes) {
        if let Some(flow) = self.flows.get_mut(id) {
            flow.wire.status = "requires_payment_method".into();
            flow.wire.next_action = None;
            flow.wire.last_payment_error = Some(json!({"type": "card_error", "code": code, "message": message, "payment_method_id": flow.wire.payment_method_id}));
            flow.wire.updated_at = iso(now);
            flow.action_since = None;
            changes.push(("payment_flow.payment_failed", id.to_owned()));
        }
    }

    fn cancel_now(&mut self, id: &str, now: i64, reason: Option<&str>, changes: &mut Changes) {
        if let Some(flow) = self.flows.get_mut(id) {
            flow.wire.status = "canceled".into();
            flow.wire.cancellation_reason = reason.map(str::to_owned);
            flow.wire.canceled_at = Some(iso(now));
            flow.wire.amount_capturable = Some(0);
            flow.wire.next_action = None;
            flow.wire.updated_at = iso(now);
            flow.action_since = None;
            flow.authorized_until = None;
            changes.push(("payment_flow.canceled", id.to_owned()));
        }
    }

    /// Ends what is due by `now`: unfinished customer steps (30 minutes), authorizations (7 days
    /// for a card), PayPay refunds pending past their minute.
    pub fn lapse(&mut self, now: i64) -> Changes {
        let mut changes = Vec::new();
        let due: Vec<(String, bool, bool)> = self
            .flows
            .oldest_first()
            .filter_map(|f| {
                let step = f.wire.status == "requires_action" && f.action_since.is_some_and(|t| now > t + ACTION_WINDOW);
                let hold = f.wire.status == "requires_capture" && f.authorized_until.is_some_and(|t| now > t);
                let paypay = f.wire.next_action.as_ref().and_then(crate::mapping::action_url).is_some_and(|u| u.contains("/v2/mock/paypay/"));
                (step || hold).then(|| (f.wire.id.clone(), step, paypay))
            })
            .collect();
        for (id, step, paypay) in due {
            match (step, paypay) {
                (true, false) => self.fail(&id, now, "three_d_secure_expired", "3-D Secure was not finished in time", &mut changes),
                _ => self.cancel_now(&id, now, Some("expired"), &mut changes),
            }
        }
        self.settle_refunds(now);
        changes
    }

    /// `POST /v2/payment_flows/{id}/capture`.
    pub fn capture(&mut self, id: &str, now: i64, body: &Map<String, Value>, changes: &mut Changes) -> Result<Reply, Reply> {
        only(body, &["amount_to_capture"])?;
        let asked = amount(body, "amount_to_capture")?;
        self.lapse(now);
        let flow = self.flow_mut(id)?;
        if flow.wire.status != "requires_capture" {
            return Err(reply::invalid_status("payment_flow", "requires_capture", &flow.wire.status));
        }
        let capturable = flow.wire.amount_capturable.unwrap_or(0);
        let captured = asked.unwrap_or(capturable);
        if captured > capturable {
            return Err(reply::invalid("amount_to_capture", "amount_to_capture must be at most amount_capturable"));
        }
        flow.wire.status = "succeeded".into();
        flow.wire.amount_received = Some(captured);
        flow.wire.amount_capturable = Some(0);
        flow.wire.expired_at = None;
        flow.wire.updated_at = iso(now);
        flow.authorized_until = None;
        let answer = Reply::ok(json!(flow.wire));
        self.captures_applied += 1;
        changes.push(("payment_flow.succeeded", id.to_owned()));
        Ok(answer)
    }

    /// `POST /v2/payment_flows/{id}/cancel`, from any status not final.
    pub fn cancel(&mut self, id: &str, now: i64, body: &Map<String, Value>, changes: &mut Changes) -> Result<Reply, Reply> {
        only(body, &["cancellation_reason"])?;
        let reason = one_of(body, "cancellation_reason", CANCEL_REASONS)?.map(str::to_owned);
        self.lapse(now);
        let flow = self.flows.get(id).ok_or_else(|| reply::not_found("payment_flow", id))?;
        if matches!(flow.wire.status.as_str(), "succeeded" | "canceled") {
            return Err(reply::invalid_status("payment_flow", "requires_payment_method, requires_confirmation, requires_action, processing or requires_capture", &flow.wire.status));
        }
        self.cancel_now(id, now, reason.as_deref(), changes);
        Ok(Reply::ok(json!(self.flows.get(id).map(|f| &f.wire))))
    }

    /// The customer's answer on a card's 3-D Secure page (or the control endpoint): the card's
    /// own behaviour wins over the choice, except that an abandoned step changes nothing.
    pub fn authenticate(&mut self, id: &str, now: i64, result: AuthenticationResult) -> Result<(String, Changes), (u16, String)> {
        self.lapse(now);
        let (number, pm) = self.waiting(id, "/v2/mock/3ds/")?;
        let mut changes = Vec::new();
        let passed = match (result, cards::tds_behaviour(&number)) {
            (AuthenticationResult::Abandon, _) => return Ok(("requires_action".into(), changes)),
            (_, cards::Tds::Frictionless) => true,
            (_, cards::Tds::Refused) | (AuthenticationResult::Failure, _) => false,
            (AuthenticationResult::Success, cards::Tds::Challenge) => true,
        };
        if passed {
            if let Some(m) = self.methods.get_mut(&pm) {
                m.verified = true;
            }
            let _ = self.authorize(id, now, Some(&number), &mut changes);
        } else {
            self.fail(id, now, "three_d_secure_failed", "3-D Secure authentication failed", &mut changes);
        }
        let status = self.flows.get(id).map(|f| f.wire.status.clone()).unwrap_or_default();
        Ok((status, changes))
    }

    /// What a card's 3-D Secure page does without asking: frictionless and refusing cards
    /// answer at once; `None` asks the customer.
    pub fn decides_alone(&self, id: &str) -> Option<AuthenticationResult> {
        let flow = self.flows.get(id)?;
        let number = self.methods.get(flow.wire.payment_method_id.as_deref()?)?.number.clone()?;
        match cards::tds_behaviour(&number) {
            cards::Tds::Frictionless => Some(AuthenticationResult::Success),
            cards::Tds::Refused => Some(AuthenticationResult::Failure),
            cards::Tds::Challenge => None,
        }
    }

    /// The payer's answer in PayPay: approved flows are `processing` until PayPay confirms
    /// (`settle`); declined ones fail.
    pub fn paypay_answer(&mut self, id: &str, now: i64, approve: bool) -> Result<Changes, (u16, String)> {
        self.lapse(now);
        self.waiting(id, "/v2/mock/paypay/")?;
        let mut changes = Vec::new();
        if approve {
            if let Some(flow) = self.flows.get_mut(id) {
                flow.wire.status = "processing".into();
                flow.wire.next_action = None;
                flow.wire.updated_at = iso(now);
                flow.action_since = None;
                flow.approved_at = Some(now);
                changes.push(("payment_flow.processing", id.to_owned()));
            }
        } else {
            self.fail(id, now, "payment_declined", "The payer declined the payment in PayPay", &mut changes);
        }
        Ok(changes)
    }

    /// PayPay confirms an approved payment (`POST /__mock__/charges/{id}/complete`); a flow still
    /// waiting for its payer is approved first.
    pub fn settle(&mut self, id: &str, now: i64) -> Result<(Value, Changes), (u16, String)> {
        self.lapse(now);
        let mut changes = Vec::new();
        let status = self.flows.get(id).map(|f| f.wire.status.clone()).ok_or((404, format!("No such payment_flow: {id}")))?;
        if status == "requires_action" {
            changes = self.paypay_answer(id, now, true)?;
        } else if status != "processing" {
            return Err((409, format!("payment flow {id} is {status}: only a PayPay flow waiting for its payer or processing completes")));
        }
        let mut more = Vec::new();
        self.authorize(id, now, None, &mut more).map_err(|r| (r.status, r.body["detail"].to_string()))?;
        changes.extend(more);
        let flow = self.flows.get(id).map(|f| json!(f.wire)).unwrap_or_default();
        Ok((flow, changes))
    }

    /// The card number and payment method of a flow waiting on the page `page`.
    fn waiting(&self, id: &str, page: &str) -> Result<(String, String), (u16, String)> {
        let flow = self.flows.get(id).ok_or((404, format!("No such payment_flow: {id}")))?;
        let on_page = flow.wire.next_action.as_ref().and_then(crate::mapping::action_url).is_some_and(|u| u.contains(page));
        if flow.wire.status != "requires_action" || !on_page {
            return Err((409, format!("payment flow {id} is {} and not waiting for this step", flow.wire.status)));
        }
        let pm = flow.wire.payment_method_id.clone().unwrap_or_default();
        let number = self.methods.get(&pm).and_then(|m| m.number.clone()).unwrap_or_default();
        Ok((number, pm))
    }

    /// `GET /v2/payment_flows`: newest first, by cursor, optionally one customer's.
    pub fn list_flows(&mut self, now: i64, query: &BTreeMap<String, String>) -> Result<Reply, Reply> {
        self.lapse(now);
        let customer = query.get("customer_id");
        let all: Vec<&Flow> = self.flows.newest_first().filter(|f| customer.is_none_or(|c| f.wire.customer_id.as_ref() == Some(c))).collect();
        super::routes::list_page(&all, |f| &f.wire.id, query, "/v2/payment_flows", |f| json!(f.wire))
    }
}
