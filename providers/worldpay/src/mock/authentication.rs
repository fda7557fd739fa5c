//! 3-D Secure at the mock: a payment taken with `instruction.threeDS` waits for the browser's
//! device data, then (by the cardholder name) is authorized, fails, or is challenged; the
//! challenge waits for the customer's answer on the mock's page. Unfinished steps fail after
//! [`WINDOW`] of mock time.

use payment_mock_kit::{AuthenticationResult, IdAlphabet, IdGen};
use serde_json::{Value, json};

use super::state::{Action, Book, NewPayment, Payment};
use super::{Reply, WorldpayReply};

/// Seconds of mock time an unfinished authentication lasts [inferred: Worldpay does not state it].
pub const WINDOW: i64 = 30 * 60;
/// The stage of a payment whose authentication failed or ran out.
pub const FAILED: &str = "3dsAuthenticationFailed";
pub use crate::authentication::{FRICTIONLESS, FRICTIONLESS_FAILED};

/// Where the issuer's side of a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The browser's device data is awaited.
    DeviceData,
    /// The customer's answer to the challenge is awaited (or given, until the merchant asks).
    Challenge,
    /// Over.
    Done,
}

/// The authentication of one payment.
#[derive(Debug, Clone)]
pub struct Tds {
    step: Step,
    /// The cardholder name, which picks the issuer's behaviour.
    holder: String,
    /// The refusal the authorization gives after authentication (`REFUSED51`).
    refusal: Option<(String, String)>,
    auto_settle: bool,
    return_url: String,
    bin: String,
    started: i64,
    /// The device-data form's `JWT`, and the session id its page posts back.
    collect_token: String,
    session: Option<String>,
    /// The challenge form's `JWT`, and the customer's answer.
    challenge_token: String,
    answer: Option<AuthenticationResult>,
}

impl Tds {
    /// The Payments API action a waiting step offers.
    pub fn waiting_action(&self) -> Option<Action> {
        match self.step {
            Step::DeviceData => Some(Action::DeviceData),
            Step::Challenge => Some(Action::Challenge),
            Step::Done => None,
        }
    }

    /// The return URL (redacted nowhere: it is the merchant's own page).
    pub fn return_url(&self) -> &str {
        &self.return_url
    }
}

impl Payment {
    /// Whether the customer has a step to take now.
    pub fn awaits_customer(&self) -> bool {
        self.tds.as_ref().is_some_and(|t| t.step != Step::Done)
    }
}

/// What the take-payment route read from a request with `threeDS`.
pub struct Asked {
    /// The cardholder name.
    pub holder: String,
    /// The refusal after authentication.
    pub refusal: Option<(String, String)>,
    /// Settle once authorized.
    pub auto_settle: bool,
    /// `threeDS.challenge.returnUrl`.
    pub return_url: String,
    /// The card's first six digits.
    pub bin: String,
}

impl Book {
    /// Fails every authentication older than [`WINDOW`].
    pub fn expire_authentications(&mut self, ids: &IdGen, now: i64) {
        let stale: Vec<usize> = (0..self.payments.len())
            .filter(|&i| self.payments[i].awaits_customer())
            .filter(|&i| self.payments[i].tds.as_ref().is_some_and(|t| now - t.started >= WINDOW))
            .collect();
        for i in stale {
            self.fail_authentication(ids, now, i);
        }
    }

    /// Takes a payment whose issuer must authenticate the customer: it waits for device data.
    pub fn take_authenticated(&mut self, ids: &IdGen, now: i64, new: &NewPayment<'_>, asked: Asked) -> Option<usize> {
        let i = self.open(ids, now, new)?;
        let p = &mut self.payments[i];
        p.stage = "3dsDeviceDataRequired";
        p.history.push(("authorizationRequested", now));
        p.tds = Some(Tds {
            step: Step::DeviceData,
            holder: asked.holder,
            refusal: asked.refusal,
            auto_settle: asked.auto_settle,
            return_url: asked.return_url,
            bin: asked.bin,
            started: now,
            collect_token: ids.next("ddc_", 40, IdAlphabet::Alphanumeric),
            session: None,
            challenge_token: ids.next("acs_", 40, IdAlphabet::Alphanumeric),
            answer: None,
        });
        self.reissue(ids, i);
        self.payments[i].api_link = self.links.iter().find(|(_, (p, _))| *p == i).map(|(t, _)| t.clone());
        Some(i)
    }

    /// The device-data page ran for the form's `JWT`: the session id it posts back.
    pub fn collect(&mut self, ids: &IdGen, token: &str) -> Option<String> {
        let t = self.payments.iter_mut().filter_map(|p| p.tds.as_mut()).find(|t| t.collect_token == token)?;
        if t.step != Step::DeviceData {
            return None;
        }
        let session = t.session.get_or_insert_with(|| ids.next("", 36, IdAlphabet::Hex)).clone();
        Some(session)
    }

    /// The payment whose challenge form carries `token`, while its challenge waits.
    pub fn challenged(&self, token: &str) -> Option<usize> {
        self.payments.iter().position(|p| {
            p.tds.as_ref().is_some_and(|t| t.challenge_token == token && t.step == Step::Challenge)
        })
    }

    /// The customer answers payment `i`'s challenge (abandoning leaves it unanswered).
    pub fn answer_challenge(&mut self, i: usize, result: AuthenticationResult) {
        if let Some(t) = self.payments[i].tds.as_mut().filter(|t| t.step == Step::Challenge) {
            t.answer = (result != AuthenticationResult::Abandon).then_some(result);
        }
    }

    /// The customer's part, done from the control API: runs the device-data page (its session
    /// id is what the app completes with) or answers the challenge.
    pub fn act_as_customer(&mut self, ids: &IdGen, i: usize, result: AuthenticationResult) -> Result<Value, String> {
        let Some(t) = self.payments[i].tds.clone() else {
            return Err("this payment was not taken with 3-D Secure".into());
        };
        match t.step {
            Step::DeviceData if result == AuthenticationResult::Abandon => {
                Ok(json!({"data": null, "step": "device_data"}))
            }
            Step::DeviceData => {
                let session = self.collect(ids, &t.collect_token).unwrap_or_default();
                Ok(json!({"data": {"collectionReference": session}, "step": "device_data"}))
            }
            Step::Challenge => {
                self.answer_challenge(i, result);
                Ok(json!({"data": null, "step": "challenge"}))
            }
            Step::Done => Err(format!("this payment's authentication is over ({})", self.payments[i].stage)),
        }
    }

    /// `POST …/3dsDeviceData` or `…/3dsChallenges` on `token`: the issuer's decision.
    pub fn continue_authentication(
        &mut self,
        ids: &IdGen,
        now: i64,
        token: &str,
        expected: Action,
        collection_reference: Option<&str>,
        origin: &str,
    ) -> Result<(usize, Value), Reply> {
        let Some(&(i, action)) = self.links.get(token) else {
            return Err(if self.used.contains(token) {
                Reply::error(400, "transactionHasAlreadyBeenProcessed", "This action has already been processed for the payment")
            } else {
                Reply::error(404, "resourceNotFound", "Requested resource was not found")
            });
        };
        if action != expected {
            return Err(Reply::error(404, "resourceNotFound", "Requested resource was not found"));
        }
        let Some(t) = self.payments[i].tds.clone() else {
            return Err(Reply::error(404, "resourceNotFound", "Requested resource was not found"));
        };
        let holder = t.holder.to_ascii_lowercase();
        match action {
            Action::DeviceData => {
                if collection_reference.is_none_or(|r| t.session.as_deref() != Some(r)) {
                    return Err(Reply::validation(
                        "fieldHasInvalidValue",
                        "collectionReference does not match a completed device data collection",
                        "$.collectionReference",
                    ));
                }
                if holder == FRICTIONLESS {
                    return Ok((i, self.authorize_authenticated(ids, now, i, origin)));
                }
                if holder == FRICTIONLESS_FAILED {
                    self.fail_authentication(ids, now, i);
                    return Ok((i, json!({"outcome": FAILED, "authentication": {"version": "2.2.0", "eci": "07"}})));
                }
                let p = &mut self.payments[i];
                p.stage = "3dsChallenged";
                p.stage_at = now;
                if let Some(t) = p.tds.as_mut() {
                    t.step = Step::Challenge;
                }
                self.reissue(ids, i);
                Ok((i, self.challenge_answer(i, origin)))
            }
            Action::Challenge => match t.answer {
                // Not answered yet: the challenge stands, and so does its link.
                None => Ok((i, self.challenge_answer(i, origin))),
                Some(AuthenticationResult::Success) => Ok((i, self.authorize_authenticated(ids, now, i, origin))),
                Some(_) => {
                    self.fail_authentication(ids, now, i);
                    Ok((i, json!({"outcome": FAILED, "authentication": {"version": "2.2.0", "eci": "07"}})))
                }
            },
            _ => Err(Reply::error(404, "resourceNotFound", "Requested resource was not found")),
        }
    }

    fn challenge_answer(&self, i: usize, origin: &str) -> Value {
        let p = &self.payments[i];
        let token = p.tds.as_ref().map(|t| t.challenge_token.clone()).unwrap_or_default();
        json!({
            "outcome": "3dsChallenged",
            "transactionReference": p.reference,
            "authentication": {"version": "2.2.0"},
            "challenge": {"reference": p.id, "url": format!("{origin}/3ds/challenge"), "jwt": token,
                "payload": "eyJtZXNzYWdlVHlwZSI6IkNSZXEifQ"},
            "_actions": self.api_actions(i, origin),
        })
    }

    /// The `3dsDeviceDataRequired` answer of payment `i`.
    pub fn device_data_answer(&self, i: usize, origin: &str) -> Value {
        let p = &self.payments[i];
        let (token, bin) = p.tds.as_ref().map(|t| (t.collect_token.clone(), t.bin.clone())).unwrap_or_default();
        json!({
            "outcome": "3dsDeviceDataRequired",
            "transactionReference": p.reference,
            "deviceDataCollection": {"jwt": token, "url": format!("{origin}/3ds/collect"), "bin": bin},
            "_actions": self.api_actions(i, origin),
        })
    }

    /// Authenticated: the authorization runs (the cardholder name may still refuse it).
    fn authorize_authenticated(&mut self, ids: &IdGen, now: i64, i: usize, origin: &str) -> Value {
        let Some(t) = self.payments[i].tds.as_mut() else { return json!({}) };
        t.step = Step::Done;
        let (refusal, auto) = (t.refusal.clone(), t.auto_settle);
        self.decide(ids, now, i, refusal, auto);
        let p = &self.payments[i];
        let three_ds = json!({"outcome": "authenticated", "issuerResponse": "challenged", "version": "2.2.0", "eci": "05"});
        match &p.refused {
            Some((code, description)) => json!({"outcome": "refused", "refusalCode": code,
                "refusalDescription": description, "threeDS": three_ds}),
            None => json!({"outcome": if auto { "sentForSettlement" } else { "authorized" },
                "transactionReference": p.reference, "threeDS": three_ds, "_actions": self.api_actions(i, origin)}),
        }
    }

    fn fail_authentication(&mut self, ids: &IdGen, now: i64, i: usize) {
        let p = &mut self.payments[i];
        if let Some(t) = p.tds.as_mut() {
            t.step = Step::Done;
        }
        p.stage = FAILED;
        p.stage_at = now;
        p.history.push(("authorizationRefused", now));
        self.reissue(ids, i);
    }

    /// The Payments API `_actions` of payment `i` now.
    pub fn api_actions(&self, i: usize, origin: &str) -> Value {
        let mut out = serde_json::Map::new();
        for (token, (p, action)) in &self.links {
            if *p == i {
                let (name, verb) = action.api();
                out.insert(
                    name.to_owned(),
                    json!({"href": format!("{origin}/api/payments/{token}/{verb}"), "method": "POST"}),
                );
            }
        }
        Value::Object(out)
    }

    /// `GET /api/payments/{linkData}`: any link ever issued for a payment names it.
    pub fn api_view(&self, token: &str, now: i64, origin: &str) -> Option<Value> {
        let i = self.owners.get(token).copied().or_else(|| self.events.get(token).copied())?;
        Some(json!({"lastEvent": self.payments[i].last_event(now), "_actions": self.api_actions(i, origin)}))
    }

    /// Where payment `i`'s challenge sends the browser back to.
    pub fn return_url(&self, i: usize) -> Option<String> {
        self.payments.get(i)?.tds.as_ref().map(|t| t.return_url().to_owned())
    }

    /// The payment a live link belongs to.
    pub fn owner(&self, token: &str) -> Option<usize> {
        self.owners.get(token).copied()
    }
}
