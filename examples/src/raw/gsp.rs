//! Google Standard Payments by hand: one capture, the JSON signed (JWS, RS256) with our key and
//! encrypted (JWE, RSA-OAEP-256 + A256GCM) to the processor's; the answer opened the other way.

use base64::Engine as _;
use serde_json::Value;

use super::{RawClient, since_epoch};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const CONTENT_TYPE: &str = "application/jose; charset=utf-8";

impl RawClient {
    /// GSP: one capture of 728.00 INR from the fixture token.
    pub(super) async fn gsp(&self) -> Result<(), String> {
        let peer = self.peer_key.as_ref().ok_or("no integrator_public_key in the mock's settings")?;
        let request_id = uuid::Uuid::new_v4().to_string();
        let now_ms = since_epoch()?.as_millis();
        let json = serde_json::to_vec(&serde_json::json!({
            "requestHeader": {
                "requestId": request_id,
                "requestTimestamp": now_ms.to_string(),
                "protocolVersion": {"major": 1, "minor": 0, "revision": 0},
            },
            "paymentIntegratorAccountId": self.app_id,
            "transactionDescription": format!("Payment {request_id}"),
            "currencyCode": "INR",
            "amount": "728000000",
            "captureContext": {},
            "googlePaymentToken": "ZXhhbXBsZSB1bmlxdWUgcGF5bWVudCB0b2tlbiB2YWx1ZQ",
        }))
        .map_err(|e| e.to_string())?;
        // JWS: header.payload.signature.
        let input = format!("{}.{}", B64.encode(br#"{"alg":"RS256"}"#), B64.encode(&json));
        let signature = self.signing_key()?.sign_pkcs1_sha256(input.as_bytes()).map_err(|e| e.to_string())?;
        let jws = format!("{input}.{}", B64.encode(signature));
        // JWE: header.wrapped-key.iv.ciphertext.tag, the header as additional data.
        let header = B64.encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#);
        let cek = payment::crypto::random_bytes(32).map_err(|e| e.to_string())?;
        let iv = payment::crypto::random_bytes(12).map_err(|e| e.to_string())?;
        let wrapped = peer.encrypt_oaep_sha256(&cek).map_err(|e| e.to_string())?;
        let (ciphertext, tag) =
            payment::crypto::aes256gcm_seal(&cek, &iv, header.as_bytes(), jws.as_bytes()).map_err(|e| e.to_string())?;
        let body = format!(
            "{header}.{}.{}.{}.{}",
            B64.encode(wrapped),
            B64.encode(iv),
            B64.encode(ciphertext),
            B64.encode(tag)
        );
        let answer = self
            .http
            .post(format!("{}/v1/capture", self.base))
            .header("content-type", CONTENT_TYPE)
            .header("accept", CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let answer: Value = serde_json::from_slice(&self.open_gsp(&answer)?).map_err(|e| e.to_string())?;
        if answer["result"] != "SUCCESS" {
            return Err(format!("capture failed: {answer}"));
        }
        Ok(())
    }

    /// The JSON inside a processor's answer: decrypted with our key, its signature checked with theirs.
    fn open_gsp(&self, jwe: &str) -> Result<Vec<u8>, String> {
        let unb64 = |part: &str| B64.decode(part).map_err(|e| format!("not base64url: {e}"));
        let parts: Vec<&str> = jwe.trim().split('.').collect();
        let [header, wrapped, iv, ciphertext, tag] = parts[..] else { return Err(format!("not a JWE: {jwe}")) };
        let cek = self.signing_key()?.decrypt_oaep_sha256(&unb64(wrapped)?).map_err(|e| e.to_string())?;
        let jws =
            payment::crypto::aes256gcm_open(&cek, &unb64(iv)?, header.as_bytes(), &unb64(ciphertext)?, &unb64(tag)?)
                .map_err(|e| e.to_string())?;
        let jws = String::from_utf8(jws).map_err(|e| e.to_string())?;
        let (input, signature) = jws.rsplit_once('.').ok_or("not a JWS")?;
        let peer = self.peer_key.as_ref().ok_or("no integrator_public_key in the mock's settings")?;
        if !peer.verify_pkcs1_sha256(input.as_bytes(), &unb64(signature)?) {
            return Err("the answer's signature does not verify".into());
        }
        let (_, payload) = input.split_once('.').ok_or("not a JWS")?;
        unb64(payload)
    }
}
