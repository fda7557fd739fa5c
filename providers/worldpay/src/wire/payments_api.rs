//! The Payments API (`POST /api/payments`, `WP-Api-Version: 2024-06-01`): how a charge with
//! 3-D Secure is taken, and the `_actions` that continue it.

use serde::{Deserialize, Serialize};

use super::{Links, Merchant, Narrative, Value};

/// `WP-Api-Version` of the Payments API: the only value its schema accepts.
pub const API_VERSION: &str = "2024-06-01";
/// The header that carries it.
pub const API_VERSION_HEADER: &str = "wp-api-version";
/// Where a payment is taken.
pub const API_PAYMENTS_PATH: &str = "/api/payments";

/// The take-payment request: only documented fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiPaymentRequest {
    /// Unique per entity, 1..64 characters.
    pub transaction_reference: String,
    /// The merchant entity.
    pub merchant: Merchant,
    /// What to take.
    pub instruction: ApiInstruction,
    /// `ecom` or `moto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// The instruction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiInstruction {
    /// `card`.
    pub method: String,
    /// Statement text.
    pub narrative: Narrative,
    /// Amount and currency.
    pub value: Value,
    /// The card.
    pub payment_instrument: ApiInstrument,
    /// Settle at once when authorized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<ApiSettlement>,
    /// Ask the issuer to authenticate the customer.
    #[serde(rename = "threeDS", default, skip_serializing_if = "Option::is_none")]
    pub three_ds: Option<ThreeDs>,
}

/// `{"auto": bool}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSettlement {
    /// Whether to settle at once.
    pub auto: bool,
}

/// The card (`plain`) or a token (`token`); `Debug` shows neither the PAN nor the CVC.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiInstrument {
    /// `plain` or `token`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The holder's name (Try's 3-D Secure magic values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_holder_name: Option<String>,
    /// The PAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<super::CardExpiry>,
    /// The security code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvc: Option<String>,
    /// A token href (`token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl std::fmt::Debug for ApiInstrument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let last4 = self.card_number.as_deref().map(|n| n.get(n.len().saturating_sub(4)..).unwrap_or(""));
        f.debug_struct("ApiInstrument")
            .field("kind", &self.kind)
            .field("card_holder_name", &self.card_holder_name)
            .field("last4", &last4)
            .field("expiry_date", &self.expiry_date)
            .field("cvc", &self.cvc.as_ref().map(|_| "[redacted]"))
            .field("href", &self.href)
            .finish()
    }
}

/// `instruction.threeDS`: integrated authentication, always.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreeDs {
    /// `integrated`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `always`.
    pub mode: String,
    /// Where the customer returns after a challenge.
    pub challenge: ThreeDsChallenge,
    /// The customer's browser.
    pub device_data: DeviceData,
}

/// `{"returnUrl": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreeDsChallenge {
    /// The app's page the challenge returns to.
    pub return_url: String,
}

/// `threeDS.deviceData`: the browser's headers and what it said of itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceData {
    /// The browser's `Accept` header.
    pub accept_header: String,
    /// The browser's `User-Agent` header.
    pub user_agent_header: String,
    /// The browser's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_language: Option<String>,
    /// `browser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `POST …/3dsDeviceData`: the session id the device-data page reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceDataSupplied {
    /// The `SessionId` the collection page posted back.
    pub collection_reference: String,
}

/// An answer of the Payments API (take payment, device data, challenge), borrowed where it is
/// read: the outcome, what the customer must do next, and the actions it offers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiOutcome {
    /// `authorized`, `refused`, `sentForSettlement`, `3dsDeviceDataRequired`, `3dsChallenged`,
    /// `3dsAuthenticationFailed`, `3dsUnavailable`, `fraudHighRisk`, or a value added later.
    pub outcome: String,
    /// Refusal text.
    #[serde(default)]
    pub refusal_description: Option<String>,
    /// Refusal code.
    #[serde(default)]
    pub refusal_code: Option<String>,
    /// Where the browser posts its device data (`3dsDeviceDataRequired`).
    #[serde(default)]
    pub device_data_collection: Option<DeviceDataCollection>,
    /// The issuer's challenge (`3dsChallenged`).
    #[serde(default)]
    pub challenge: Option<Challenge>,
    /// What can be done with the payment now.
    #[serde(rename = "_actions", default)]
    pub actions: Links,
}

/// `deviceDataCollection`: the browser posts `JWT` and `Bin` to `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceDataCollection {
    /// The collection form's `JWT`.
    pub jwt: String,
    /// The collection page.
    pub url: String,
    /// The collection form's `Bin`.
    #[serde(default)]
    pub bin: Option<String>,
}

/// `challenge`: the browser posts `JWT` to `url`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The challenge's reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// The issuer's challenge page.
    pub url: String,
    /// The challenge form's `JWT`.
    pub jwt: String,
    /// The issuer's payload, when given.
    #[serde(default)]
    pub payload: Option<String>,
}

/// `GET /api/payments/{linkData}`: the last event and the actions offered now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiEvents {
    /// The last event.
    pub last_event: String,
    /// What can be done now.
    #[serde(rename = "_actions", default)]
    pub actions: Links,
}

/// The `_actions` names of the Payments API.
pub mod actions {
    /// Settle in full.
    pub const SETTLE: &str = "settlePayment";
    /// Settle a part.
    pub const PARTIAL_SETTLE: &str = "partiallySettlePayment";
    /// Cancel the authorization.
    pub const CANCEL: &str = "cancelPayment";
    /// Refund in full.
    pub const REFUND: &str = "refundPayment";
    /// Refund a part.
    pub const PARTIAL_REFUND: &str = "partiallyRefundPayment";
    /// Supply the device-data collection's reference.
    pub const SUPPLY_DEVICE_DATA: &str = "supply3dsDeviceData";
    /// Complete the challenge.
    pub const COMPLETE_CHALLENGE: &str = "complete3dsChallenge";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_data_answer_shaped_like_the_documentation_reads() {
        let body = r#"{"outcome":"3dsDeviceDataRequired","transactionReference":"Memory265-13/08/1876",
            "deviceDataCollection":{"jwt":"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.e30.x",
              "url":"https://centinelapistag.cardinalcommerce.com/V1/Cruise/Collect","bin":"555555"},
            "_actions":{"supply3dsDeviceData":{"href":"https://try.access.worldpay.com/api/payments/eyJrIjoiazNhYjYzMiJ9/3dsDeviceData","method":"POST"}}}"#;
        let o: ApiOutcome = serde_json::from_str(body).unwrap();
        assert_eq!(o.outcome, "3dsDeviceDataRequired");
        assert_eq!(o.device_data_collection.unwrap().bin.as_deref(), Some("555555"));
        assert!(o.actions.href(actions::SUPPLY_DEVICE_DATA).unwrap().ends_with("/3dsDeviceData"));
    }

    #[test]
    fn a_challenge_answer_shaped_like_the_documentation_reads() {
        let body = r#"{"outcome":"3dsChallenged","authentication":{"version":"2.1.0"},
            "challenge":{"reference":"123456789","url":"https://centinelapistag.cardinalcommerce.com/V2/Cruise/StepUp",
              "jwt":"eyJ.e30.x","payload":"eyJtZXNzYWdlVHlwZSI6IkNSZXEifQ"},
            "_actions":{"complete3dsChallenge":{"href":"https://try.access.worldpay.com/api/payments/eyJr/3dsChallenges","method":"POST"}}}"#;
        let o: ApiOutcome = serde_json::from_str(body).unwrap();
        assert_eq!(o.challenge.unwrap().reference.as_deref(), Some("123456789"));
        assert!(o.actions.href(actions::COMPLETE_CHALLENGE).is_some());
    }

    #[test]
    fn the_card_never_shows_in_debug() {
        let card = ApiInstrument {
            kind: "plain".into(),
            card_holder_name: Some("3ds2-challenge-identified".into()),
            card_number: Some("4444333322221111".into()),
            expiry_date: Some(crate::wire::CardExpiry { month: 5, year: 2030 }),
            cvc: Some("123".into()),
            href: None,
        };
        let shown = format!("{card:?}");
        assert!(!shown.contains("4444333322221111") && !shown.contains("\"123\""), "{shown}");
        assert!(shown.contains("1111"), "{shown}");
    }

    #[test]
    fn the_request_spells_three_ds_as_documented() {
        let t = ThreeDs {
            kind: "integrated".into(),
            mode: "always".into(),
            challenge: ThreeDsChallenge { return_url: "https://shop.example/back".into() },
            device_data: DeviceData {
                accept_header: "text/html".into(),
                user_agent_header: "Mozilla/5.0".into(),
                browser_language: None,
                channel: Some("browser".into()),
            },
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["challenge"]["returnUrl"], "https://shop.example/back");
        assert_eq!(v["deviceData"]["userAgentHeader"], "Mozilla/5.0");
        assert_eq!(v["type"], "integrated");
    }
}
