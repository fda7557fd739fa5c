//! The mock's 3-D Secure: charges created with `three_d_secure=true` wait (unpaid,
//! `three_d_secure_status: unverified`) for the customer at `/v1/tds/{id}/start`, then for
//! `tds_finish`, which runs the authorization. The flow lapses 30 minutes after creation.

use payment_mock_kit::AuthenticationResult;
use serde_json::json;

use super::cards;
use super::reply::{PayjpReply, Reply};
use super::state::Account;
use crate::mapping::THREE_D_SECURE_WINDOW_SECS;
use crate::tds::verify_back_url;

/// A charge waiting for its 3-D Secure flow to finish.
#[derive(Clone)]
pub struct PendingTds {
    /// Capture once authorized.
    pub capture: bool,
    /// Days the authorization holds when not captured.
    pub expiry_days: i64,
    /// The card number (decides the issuer's behaviour).
    pub number: String,
    /// The secret key that created the charge: the `back_url` must be signed with it.
    pub secret_key: String,
}

impl std::fmt::Debug for PendingTds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key and the card number stay out of any log.
        f.debug_struct("PendingTds")
            .field("capture", &self.capture)
            .field("expiry_days", &self.expiry_days)
            .field("last4", &self.number.get(self.number.len().saturating_sub(4)..))
            .finish_non_exhaustive()
    }
}

/// What the start page does for a charge.
pub enum StartPage {
    /// Show the issuer's page: the charge, its amount and the signed `back_url` to carry.
    Challenge {
        /// The charge.
        charge: String,
        /// Yen.
        amount: i64,
        /// The JWS, posted back with the result.
        back_url: String,
    },
    /// The issuer decided without the customer (frictionless, or refused): back at once.
    Back(String),
}

/// Why a start or result page cannot go on: an HTTP status and a message for the page.
pub type PageError = (u16, String);

impl Account {
    /// Ends every flow past its window: the charge fails with `three_d_secure_expired`.
    pub fn expire_tds(&mut self, now: i64) {
        let lapsed: Vec<String> = self
            .tds
            .keys()
            .filter(|id| self.charges.get(id.as_str()).is_some_and(|c| now > c.created + THREE_D_SECURE_WINDOW_SECS))
            .cloned()
            .collect();
        for id in lapsed {
            self.tds.remove(&id);
            if let Some(c) = self.charges.get_mut(&id) {
                c.failure_code = Some("three_d_secure_expired".into());
                c.failure_message = Some("3-D Secure was not finished in time".into());
            }
        }
    }

    /// Marks charge `id` as waiting for 3-D Secure.
    pub fn begin_tds(&mut self, id: &str, pending: PendingTds) {
        self.tds.insert(id.to_owned(), pending);
    }

    fn pending(&self, id: &str) -> Result<&PendingTds, PageError> {
        match self.tds.get(id) {
            Some(p) => Ok(p),
            None if self.charges.get(id).is_some() => {
                Err((400, format!("Charge {id} is not waiting for 3-D Secure (finished, expired, or never asked)")))
            }
            None => Err((404, format!("No such charge: {id}"))),
        }
    }

    /// `GET /v1/tds/{id}/start?publickey=…&back_url=…`.
    pub fn tds_start(&mut self, id: &str, now: i64, public_key: &str, back_url: &str) -> Result<StartPage, PageError> {
        self.expire_tds(now);
        if !(public_key.starts_with("pk_test_") && public_key.len() > "pk_test_".len()) {
            return Err((401, "publickey must be the account's test public key (pk_test_…)".into()));
        }
        let pending = self.pending(id)?;
        let url = verify_back_url(back_url, &pending.secret_key).map_err(|e| (400, e.message().to_owned()))?;
        let amount = self.charges.get(id).map_or(0, |c| c.amount);
        match cards::tds_behaviour(&pending.number) {
            cards::Tds::Frictionless => {
                self.set_tds_status(id, "verified");
                Ok(StartPage::Back(url))
            }
            cards::Tds::Refused => {
                self.set_tds_status(id, "failed");
                Ok(StartPage::Back(url))
            }
            cards::Tds::Challenge => {
                Ok(StartPage::Challenge { charge: id.to_owned(), amount, back_url: back_url.to_owned() })
            }
        }
    }

    /// `POST /v1/tds/{id}/result`: the customer's choice on the page; answers where to go back to.
    pub fn tds_result(
        &mut self,
        id: &str,
        now: i64,
        result: AuthenticationResult,
        back_url: &str,
    ) -> Result<String, PageError> {
        self.expire_tds(now);
        let url = verify_back_url(back_url, &self.pending(id)?.secret_key).map_err(|e| (400, e.message().to_owned()))?;
        self.authenticate(id, now, result)?;
        Ok(url)
    }

    /// Applies the customer's result (the page's buttons, or `POST /__mock__/charges/{id}/authenticate`):
    /// the card's own behaviour wins over the choice, except that an abandoned step changes nothing.
    pub fn authenticate(&mut self, id: &str, now: i64, result: AuthenticationResult) -> Result<&'static str, PageError> {
        self.expire_tds(now);
        let pending = self.pending(id)?;
        let status = match (result, cards::tds_behaviour(&pending.number)) {
            (AuthenticationResult::Abandon, _) => "unverified",
            (_, cards::Tds::Frictionless) => "verified",
            (_, cards::Tds::Refused) | (AuthenticationResult::Failure, _) => "failed",
            (AuthenticationResult::Success, cards::Tds::Challenge) => "verified",
        };
        self.set_tds_status(id, status);
        Ok(status)
    }

    fn set_tds_status(&mut self, id: &str, status: &str) {
        if let Some(c) = self.charges.get_mut(id) {
            c.three_d_secure_status = Some(status.into());
        }
    }

    /// `POST /v1/charges/{id}/tds_finish`: accepted once the status is `verified` or `attempted`;
    /// runs the authorization (which can decline with 402) and ends the flow.
    pub fn tds_finish(&mut self, id: &str, now: i64) -> Result<Reply, Reply> {
        if self.charges.get(id).is_none() {
            return Err(Reply::not_found("charge", id));
        }
        let was_open = self.tds.contains_key(id);
        self.expire_tds(now);
        if was_open && !self.tds.contains_key(id) {
            return Err(Reply::error(400, "card_error", Some("three_d_secure_expired"), "3-D Secure has expired", None));
        }
        let Some(pending) = self.tds.get(id).cloned() else {
            return Err(Reply::error(
                400,
                "card_error",
                Some("not_in_three_d_secure_flow"),
                "The charge is not in a 3-D Secure flow",
                None,
            ));
        };
        let charge = self.charges.get_mut(id).ok_or_else(|| Reply::not_found("charge", id))?;
        match charge.three_d_secure_status.as_deref() {
            Some("verified" | "attempted") => {}
            Some("failed" | "error") => {
                self.tds.remove(id);
                charge.failure_code = Some("three_d_secure_failed".into());
                charge.failure_message = Some("3-D Secure authentication failed".into());
                let mut reply =
                    Reply::error(402, "card_error", Some("three_d_secure_failed"), "3-D Secure authentication failed", None);
                reply.body["error"]["charge"] = json!(id);
                return Err(reply);
            }
            _ => {
                return Err(Reply::error(
                    400,
                    "card_error",
                    Some("three_d_secure_incompleted"),
                    "The customer has not finished 3-D Secure",
                    None,
                ));
            }
        }
        self.tds.remove(id);
        if let Some((code, message)) = cards::decline_for(&pending.number).or(cards::declines_after_tds(&pending.number)) {
            charge.failure_code = Some(code.into());
            charge.failure_message = Some(message.into());
            let mut reply = Reply::error(402, "card_error", Some(code), message, Some("card"));
            reply.body["error"]["charge"] = json!(id);
            return Err(reply);
        }
        charge.paid = true;
        charge.captured = pending.capture;
        charge.captured_at = pending.capture.then_some(now);
        charge.expired_at = (!pending.capture).then_some(now + pending.expiry_days * 86_400);
        Ok(Reply::ok(json!(charge)))
    }
}
