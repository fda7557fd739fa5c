//! The hand-written baseline of the benchmarks: what a careful integration written directly on
//! reqwest sends for one charge — the same requests as the framework (method, path, headers,
//! body from the same inputs, an idempotency key per request), the answer parsed as JSON and
//! checked — with none of the framework's retries, journal hooks or neutral records. The signing
//! providers sign (and GSP encrypts) with the same `payment::crypto` primitives the framework
//! uses, so the cryptography costs the same on both sides and the rest can be compared.

mod gsp;
mod justap;

use payment::ProviderSettings;
use serde_json::Value;

/// The providers with a hand-written client.
const PROVIDERS: &str = "payjp, worldpay, pingpp, justap, google-standard-payments";

/// The card both modes charge, per provider (each provider's fixture card).
#[derive(Debug, Clone)]
pub struct Card {
    /// The number.
    pub number: String,
    /// Expiry month.
    pub exp_month: u8,
    /// Expiry year.
    pub exp_year: u16,
    /// The security code.
    pub cvc: String,
    /// The holder's name, where the provider's fixture names one.
    pub holder: Option<String>,
}

/// Sends `request` and parses its answer as JSON.
async fn send_json(request: reqwest::RequestBuilder) -> Result<Value, String> {
    request.send().await.map_err(|e| e.to_string())?.json().await.map_err(|e| e.to_string())
}

/// The time since the Unix epoch, for request timestamps.
fn since_epoch() -> Result<std::time::Duration, String> {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_err(|e| e.to_string())
}

/// The fixture card of `provider`.
pub fn card(provider: &str) -> Result<Card, String> {
    let (number, exp_month, exp_year, holder) = match provider {
        "payjp" => ("4242424242424242", 12, 2035, None),
        "worldpay" => ("4444333322221111", 5, 2030, Some("Conformance Tester".to_owned())),
        // Ping++ and Justap charge a channel and GSP a token: the card is not sent.
        "pingpp" | "justap" | "google-standard-payments" => ("4242424242424242", 12, 2035, None),
        other => return Err(format!("no hand-written client for {other} ({PROVIDERS})")),
    };
    Ok(Card { number: number.into(), exp_month, exp_year, cvc: "123".into(), holder })
}

/// A hand-written client of one provider's mock.
pub struct RawClient {
    http: reqwest::Client,
    provider: String,
    base: String,
    user: String,
    password: String,
    entity: String,
    // Ping++ and Justap: the app; GSP: the payment integrator account.
    app_id: String,
    // The merchant key requests are signed with (Ping++, Justap, GSP).
    signing_key: Option<payment::crypto::RsaPrivateKey>,
    // GSP: the processor's key, which requests are encrypted to and answers signed with.
    peer_key: Option<payment::crypto::RsaPublicKey>,
}

impl RawClient {
    /// A client of `provider` at `base` with the credentials in `settings`.
    pub fn new(provider: &str, base: &str, settings: &ProviderSettings) -> Result<RawClient, String> {
        let get = |k: &str| settings.get(k).unwrap_or_default().to_owned();
        let (user, password, app_id) = match provider {
            "payjp" | "pingpp" => (get("secret_key"), String::new(), get("app_id")),
            "justap" => (get("api_key"), String::new(), get("app_id")),
            "google-standard-payments" => (String::new(), String::new(), get("payment_integrator_account_id")),
            "worldpay" => (get("username"), get("password"), String::new()),
            other => return Err(format!("no hand-written client for {other} ({PROVIDERS})")),
        };
        let signing_key = match settings.get("private_key") {
            Some(pem) if provider != "payjp" && provider != "worldpay" => {
                Some(payment::crypto::RsaPrivateKey::from_pem(pem).map_err(|e| e.to_string())?)
            }
            _ => None,
        };
        let peer_key = match settings.get("integrator_public_key") {
            Some(pem) => Some(payment::crypto::RsaPublicKey::from_pem(pem).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(RawClient {
            http: reqwest::Client::new(),
            provider: provider.to_owned(),
            base: base.trim_end_matches('/').to_owned(),
            user,
            password,
            entity: settings.get("entity").unwrap_or("default").to_owned(),
            app_id,
            signing_key,
            peer_key,
        })
    }

    /// One charge.
    pub async fn charge(&self, card: &Card) -> Result<(), String> {
        match self.provider.as_str() {
            "payjp" => self.payjp(card).await,
            "pingpp" => self.pingpp().await,
            "justap" => self.justap().await,
            "google-standard-payments" => self.gsp().await,
            _ => self.worldpay(card).await,
        }
    }

    /// A PAY.JP POST with the headers every PAY.JP request carries and its idempotency key.
    fn payjp_post(&self, path: &str, key: String) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .basic_auth(&self.user, Some(""))
            .header("accept", "application/json")
            .header("user-agent", concat!("Payjp/v1 RustBindings/", env!("CARGO_PKG_VERSION")))
            .header("idempotency-key", key)
    }

    /// PAY.JP: a token from the card, then the charge, both form-encoded with a key.
    async fn payjp(&self, card: &Card) -> Result<(), String> {
        // A fresh UUID v4 per payment, as the framework generates when the caller gives none.
        let key = uuid::Uuid::new_v4().to_string();
        let (month, year) = (card.exp_month.to_string(), card.exp_year.to_string());
        let request = self
            .payjp_post("/v1/tokens", format!("{key}-tok"))
            .header("x-payjp-direct-token-generate", "true")
            .form(&[
                ("card[number]", card.number.as_str()),
                ("card[exp_month]", &month),
                ("card[exp_year]", &year),
                ("card[cvc]", &card.cvc),
            ]);
        let token: Value = send_json(request).await?;
        let tok = token["id"].as_str().ok_or_else(|| format!("no token: {token}"))?;
        let request = self.payjp_post("/v1/charges", key).form(&[
            ("amount", "1000"),
            ("currency", "jpy"),
            ("card", tok),
            ("capture", "true"),
        ]);
        let charge: Value = send_json(request).await?;
        if charge["paid"] != true || charge["amount"] != 1000 {
            return Err(format!("charge failed: {charge}"));
        }
        Ok(())
    }

    /// Ping++: one Alipay charge (pending until the payer pays), the body signed with the
    /// merchant key over body + path + timestamp.
    async fn pingpp(&self) -> Result<(), String> {
        use base64::Engine as _;
        let order_no = uuid::Uuid::new_v4().simple().to_string();
        let subject: String = format!("Order {order_no}").chars().take(32).collect();
        let body = serde_json::to_vec(&serde_json::json!({
            "order_no": order_no,
            "app": {"id": self.app_id},
            "channel": "alipay",
            "amount": 1000,
            "client_ip": "127.0.0.1",
            "currency": "cny",
            "subject": subject,
            "body": subject,
        }))
        .map_err(|e| e.to_string())?;
        let timestamp = since_epoch()?.as_secs().to_string();
        let mut signed = body.clone();
        signed.extend_from_slice(b"/v1/charges");
        signed.extend_from_slice(timestamp.as_bytes());
        let key = self.signing_key()?;
        let signature = base64::engine::general_purpose::STANDARD
            .encode(key.sign_pkcs1_sha256(&signed).map_err(|e| e.to_string())?);
        let request = self
            .http
            .post(format!("{}/v1/charges", self.base))
            .bearer_auth(&self.user)
            .header("user-agent", concat!("Pingpp/v1 RustBindings/", env!("CARGO_PKG_VERSION")))
            .header("accept", "application/json")
            .header("pingplusplus-request-timestamp", timestamp)
            .header("content-type", "application/json; charset=UTF-8")
            .header("pingplusplus-signature", signature)
            .body(body);
        let charge: Value = send_json(request).await?;
        if charge["amount"] != 1000 || charge["id"].is_null() {
            return Err(format!("charge failed: {charge}"));
        }
        Ok(())
    }

    fn signing_key(&self) -> Result<&payment::crypto::RsaPrivateKey, String> {
        self.signing_key.as_ref().ok_or_else(|| "no private_key in the mock's settings".to_owned())
    }

    /// Worldpay: one authorization with auto-settlement, JSON in its media types.
    async fn worldpay(&self, card: &Card) -> Result<(), String> {
        let body = serde_json::json!({
            "transactionReference": uuid::Uuid::new_v4().to_string(),
            "merchant": {"entity": self.entity},
            "instruction": {
                "narrative": {"line1": "Payment"},
                "value": {"currency": "GBP", "amount": 1000},
                "paymentInstrument": {
                    "type": "card/plain",
                    "cardNumber": card.number,
                    "cardExpiryDate": {"month": card.exp_month, "year": card.exp_year},
                    "cardHolderName": card.holder,
                    "cvc": card.cvc,
                },
            },
            "requestAutoSettlement": {"enabled": true},
            "channel": "ecom",
        });
        let request = self
            .http
            .post(format!("{}/payments/authorizations", self.base))
            .basic_auth(&self.user, Some(&self.password))
            .header("accept", "application/vnd.worldpay.payments-v6.hal+json")
            .header("content-type", "application/vnd.worldpay.payments-v6+json")
            .body(serde_json::to_vec(&body).map_err(|e| e.to_string())?);
        let answer: Value = send_json(request).await?;
        if answer["outcome"] != "authorized" && answer["outcome"] != "sentForSettlement" {
            return Err(format!("authorization failed: {answer}"));
        }
        Ok(())
    }
}
