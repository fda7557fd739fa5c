//! When the customer must act: asking for customer authentication (3-D Secure) on a new charge,
//! what the customer's browser or app must do next, and what it brings back to complete the charge.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Whether a charge asks for customer authentication (3-D Secure, strong customer authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthenticationMode {
    /// Always authenticate the customer before authorizing.
    Required,
    /// Authenticate when the provider, issuer or regulation asks for it.
    Automatic,
}

impl AuthenticationMode {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AuthenticationMode::Required => "required",
            AuthenticationMode::Automatic => "automatic",
        }
    }
}

/// What a charge that may need the customer in the loop asks for: the mode, where the customer's
/// browser comes back to, and the contact details issuers ask for (PAY.JP requires an email or a
/// phone number on every 3-D Secure request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// Always, or when asked.
    pub mode: AuthenticationMode,
    /// Where the customer's browser returns after the step (the app's page that completes the charge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// The customer's email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The customer's phone number (E.164, `+81…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The customer's browser, as its request to the app showed it (Worldpay's device data);
    /// boxed, so a charge request without one stays small.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<Box<Browser>>,
}

/// The customer's browser as the app saw it: issuers weigh these in deciding whether to ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Browser {
    /// The browser's `Accept` header.
    pub accept_header: String,
    /// The browser's `User-Agent` header.
    pub user_agent: String,
    /// The browser's language (`ja-JP`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Authentication {
    /// Always authenticate, coming back to `return_url`.
    pub fn required(return_url: impl Into<String>) -> Authentication {
        Authentication {
            mode: AuthenticationMode::Required,
            return_url: Some(return_url.into()),
            email: None,
            phone: None,
            browser: None,
        }
    }

    /// Sets the customer's browser from its `Accept` and `User-Agent` headers.
    pub fn browser(mut self, accept_header: impl Into<String>, user_agent: impl Into<String>) -> Authentication {
        self.browser = Some(Box::new(Browser {
            accept_header: accept_header.into(),
            user_agent: user_agent.into(),
            language: None,
        }));
        self
    }

    /// Sets the customer's email address.
    pub fn email(mut self, email: impl Into<String>) -> Authentication {
        self.email = Some(email.into());
        self
    }

    /// Sets the customer's phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Authentication {
        self.phone = Some(phone.into());
        self
    }
}

/// What kind of step the customer must take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextActionKind {
    /// Send the browser to `url` (with `method` and `fields`); it comes back to the return URL.
    Redirect,
    /// Post `fields` to `url` in a hidden frame so the issuer sees the device (3-D Secure 2).
    DeviceData,
    /// Show the issuer's challenge: post `fields` to `url` in a frame or window.
    Challenge,
    /// Hand the channel's credential in `data` to the payer's app or wallet SDK.
    ChannelCredential,
    /// Show `url` as a QR code for the payer's phone.
    QrCode,
    /// Open `url` in the payer's app.
    AppLink,
    /// A kind this version does not know (read from an older or newer journal row).
    #[serde(other)]
    Other,
}

impl NextActionKind {
    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            NextActionKind::Redirect => "redirect",
            NextActionKind::DeviceData => "device_data",
            NextActionKind::Challenge => "challenge",
            NextActionKind::ChannelCredential => "channel_credential",
            NextActionKind::QrCode => "qr_code",
            NextActionKind::AppLink => "app_link",
            NextActionKind::Other => "other",
        }
    }
}

impl fmt::Display for NextActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the payer's browser or app must do to let a charge go on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NextAction {
    /// What kind of step.
    pub kind: NextActionKind,
    /// Where the browser goes (redirects, frames, QR codes, app links).
    #[serde(default)]
    pub url: Option<String>,
    /// The HTTP method for `url` (`GET` or `POST`).
    #[serde(default)]
    pub method: Option<String>,
    /// Form fields to send to `url` (a `POST` step's hidden inputs).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// When the step can no longer be taken, when the provider states it.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// The provider's own data for the step (a channel credential, a stage name).
    #[serde(default)]
    pub data: serde_json::Value,
}

impl NextAction {
    /// A `GET` redirect of the browser to `url`.
    pub fn redirect(url: impl Into<String>) -> NextAction {
        NextAction {
            kind: NextActionKind::Redirect,
            url: Some(url.into()),
            method: Some("GET".into()),
            fields: BTreeMap::new(),
            expires_at: None,
            data: serde_json::Value::Null,
        }
    }

    /// A step of `kind` carrying only the provider's data (a channel credential).
    pub fn with_data(kind: NextActionKind, data: serde_json::Value) -> NextAction {
        NextAction { kind, url: None, method: None, fields: BTreeMap::new(), expires_at: None, data }
    }
}

/// What the customer's step returned, handed to `complete_charge`: nothing for a redirect the
/// provider tracks itself (PAY.JP), a device-data collection reference (Worldpay), free-form
/// JSON documented per provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CompletionData(pub serde_json::Value);

impl CompletionData {
    /// No data: the provider knows the step's result itself.
    pub fn none() -> CompletionData {
        CompletionData(serde_json::Value::Null)
    }

    /// The string field `name`, if present.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(serde_json::Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_row_with_a_free_text_kind_still_reads() {
        let old: NextAction =
            serde_json::from_str(r#"{"kind":"three_d_secure","data":{"charge":"ch_1"}}"#).expect("old shape reads");
        assert_eq!(old.kind, NextActionKind::Other);
        assert_eq!(old.url, None);
        let credential: NextAction =
            serde_json::from_str(r#"{"kind":"channel_credential","data":{"channel":"alipay"}}"#).expect("reads");
        assert_eq!(credential.kind, NextActionKind::ChannelCredential);
    }

    #[test]
    fn a_redirect_prints_kind_url_method_and_fields() {
        let json = serde_json::to_value(NextAction::redirect("https://acs.example/start")).expect("serializes");
        assert_eq!(json["kind"], "redirect");
        assert_eq!(json["url"], "https://acs.example/start");
        assert_eq!(json["method"], "GET");
        assert!(json["fields"].as_object().is_some_and(|f| f.is_empty()));
    }
}
