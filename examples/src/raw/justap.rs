//! Justap by hand: one Alipay QR charge, signed as Justap documents (MD5 of body + time + nonce,
//! then RSA-SHA256 over that hash + nonce), the yuan amount written as a decimal.

use base64::Engine as _;
use md5::{Digest, Md5};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{RawClient, send_json, since_epoch};

/// Letters and digits, `len` of them, each equally likely.
fn nonce(len: usize) -> Result<String, String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let bytes = payment::crypto::random_bytes(len * 2).map_err(|e| e.to_string())?;
        out.extend(bytes.into_iter().filter(|b| *b < 248).map(|b| char::from(ALPHABET[usize::from(b) % 62])));
        out.truncate(len);
    }
    Ok(out)
}

/// `POST /v1/charges`'s body, in Justap's field order.
#[derive(Serialize)]
struct NewCharge<'a> {
    app_id: &'a str,
    merchant_trade_id: &'a str,
    amount: &'a RawValue,
    currency: &'a str,
    channel: &'a str,
    subject: &'a str,
    body: &'a str,
    client_ip: &'a str,
}

impl RawClient {
    /// Justap: one charge of 10.00 CNY, pending until the payer pays.
    pub(super) async fn justap(&self) -> Result<(), String> {
        let key = uuid::Uuid::new_v4().to_string();
        let trade_id: String = key.chars().filter(char::is_ascii_alphanumeric).take(30).collect();
        let subject = format!("Order {trade_id}");
        let subject = &subject[..subject.len().min(32)];
        let amount = RawValue::from_string("10.00".to_owned()).map_err(|e| e.to_string())?;
        let body = serde_json::to_vec(&NewCharge {
            app_id: &self.app_id,
            merchant_trade_id: &trade_id,
            amount: &amount,
            currency: "CNY",
            channel: "AlipayQR",
            subject,
            body: subject,
            client_ip: "127.0.0.1",
        })
        .map_err(|e| e.to_string())?;
        let timestamp = since_epoch()?.as_secs().to_string();
        let nonce = nonce(32)?;
        let mut md5 = Md5::new();
        md5.update(&body);
        md5.update(timestamp.as_bytes());
        md5.update(nonce.as_bytes());
        let body_hash = payment::hex::lower(&md5.finalize());
        let signed = self.signing_key()?.sign_pkcs1_sha256(format!("{body_hash}{nonce}").as_bytes());
        let signature = base64::engine::general_purpose::STANDARD.encode(signed.map_err(|e| e.to_string())?);
        let request = self
            .http
            .post(format!("{}/v1/charges", self.base))
            .header("x-justap-api-key", &self.user)
            .header("user-agent", concat!("justap-rust/", env!("CARGO_PKG_VERSION")))
            .header("accept", "application/json")
            .header("x-justap-request-time", timestamp)
            .header("x-justap-nonce", nonce)
            .header("x-justap-body-hash", body_hash)
            .header("x-justap-signature", signature)
            .header("content-type", "application/json")
            .body(body);
        let answer: Value = send_json(request).await?;
        // Parsed as a JSON value, like every baseline; the yuan number reads back as 10.0.
        let charge = &answer["data"];
        let amount = charge["amount"].as_number().map(ToString::to_string);
        if amount.as_deref() != Some("10.0") || !charge["charge_id"].is_string() {
            return Err(format!("charge failed: {answer}"));
        }
        Ok(())
    }
}
