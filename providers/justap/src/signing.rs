//! Justap's request signature: `X-Justap-Body-Hash` = lowercase hex MD5 of body + timestamp +
//! nonce, `X-Justap-Signature` = base64 RSA PKCS#1 v1.5 SHA-256 over body-hash + nonce, with
//! `X-Justap-Request-Time` (Unix seconds) and `X-Justap-Nonce` beside them; a GET signs the empty body.

use base64::Engine as _;
use md5::{Digest, Md5};
use payment_core::Result;
use payment_core::crypto::{RsaPrivateKey, RsaPublicKey, random_bytes};

/// The API key header.
pub const API_KEY_HEADER: &str = "X-Justap-Api-Key";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Justap-Signature";
/// The timestamp header (Unix seconds).
pub const TIME_HEADER: &str = "X-Justap-Request-Time";
/// The nonce header.
pub const NONCE_HEADER: &str = "X-Justap-Nonce";
/// The body hash header.
pub const BODY_HASH_HEADER: &str = "X-Justap-Body-Hash";

/// The nonce length Justap's documentation gives (its SDKs also send 20; the server takes any).
pub const NONCE_LEN: usize = 32;

/// The four signature headers of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// Unix seconds, as text.
    pub timestamp: String,
    /// Random letters and digits.
    pub nonce: String,
    /// Lowercase hex MD5 of body + timestamp + nonce.
    pub body_hash: String,
    /// Base64 RSA-SHA256 over body-hash + nonce.
    pub signature: String,
}

/// Lowercase hex MD5 of `body` + `timestamp` + `nonce`.
pub fn body_hash(body: &[u8], timestamp: &str, nonce: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(body);
    md5.update(timestamp.as_bytes());
    md5.update(nonce.as_bytes());
    payment_core::hex::lower(&md5.finalize())
}

/// A fresh random nonce of [`NONCE_LEN`] letters and digits.
pub fn nonce() -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 62 does not divide 256: drawing from the bytes below 248 keeps every character equally likely.
    let mut out = String::with_capacity(NONCE_LEN);
    while out.len() < NONCE_LEN {
        for b in random_bytes(NONCE_LEN * 2)? {
            if b < 248 && out.len() < NONCE_LEN {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

/// Signs `body` at `timestamp` with `nonce`.
pub fn sign(key: &RsaPrivateKey, body: &[u8], timestamp: &str, nonce: &str) -> Result<SignedHeaders> {
    let body_hash = body_hash(body, timestamp, nonce);
    let signature = key.sign_pkcs1_sha256(format!("{body_hash}{nonce}").as_bytes())?;
    Ok(SignedHeaders {
        timestamp: timestamp.to_owned(),
        nonce: nonce.to_owned(),
        body_hash,
        signature: base64::engine::general_purpose::STANDARD.encode(signature),
    })
}

/// Whether `signature` is the merchant's signature over `body_hash` + `nonce` (for the mock).
pub fn verify(key: &RsaPublicKey, body_hash: &str, nonce: &str, signature: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .is_ok_and(|sig| key.verify_pkcs1_sha256(format!("{body_hash}{nonce}").as_bytes(), &sig))
}

/// Verifies Justap notifications: an encrypted `data` is opened with the platform public key
/// (which proves the platform made it: `Verified`); an unencrypted one authenticates nothing and
/// is refused unless `webhook_accept_unencrypted`, then taken as `SenderOnly` at best.
pub struct JustapWebhookVerifier {
    key: Option<RsaPublicKey>,
    accept_unencrypted: bool,
}

impl JustapWebhookVerifier {
    /// A verifier with the platform key and the unencrypted policy.
    pub fn new(key: Option<RsaPublicKey>, accept_unencrypted: bool) -> JustapWebhookVerifier {
        JustapWebhookVerifier { key, accept_unencrypted }
    }
}

impl payment_core::WebhookVerifier for JustapWebhookVerifier {
    fn verify(&self, _headers: &http::HeaderMap, body: &[u8]) -> Result<payment_core::WebhookEvent> {
        use payment_core::{Error, ErrorKind, Trust};
        let refuse = |why: String| Error::new(ErrorKind::Authentication, why).with_provider(crate::NAME);
        let envelope: crate::wire::Envelope = serde_json::from_slice(body)
            .map_err(|e| Error::decode("the Justap notification", e).with_provider(crate::NAME))?;
        let raw: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        if envelope.is_encrypted {
            let key = self
                .key
                .as_ref()
                .ok_or_else(|| refuse("an encrypted notification needs platform_public_key_path to open it".into()))?;
            let text: String = serde_json::from_str(envelope.data.get())
                .map_err(|_| refuse("an encrypted notification's data is not a string".into()))?;
            let sealed = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| refuse("an encrypted notification's data is not base64".into()))?;
            let opened = crate::rsa_blocks::open_private_blocks(key, &sealed)
                .map_err(|_| refuse("the notification was not encrypted by Justap's key".into()))?;
            return crate::mapping::notification_event(&envelope.event, &opened, Trust::Verified, raw);
        }
        if !self.accept_unencrypted {
            return Err(refuse(
                "an unencrypted notification proves nothing; set webhook_accept_unencrypted = true to take it".into(),
            ));
        }
        crate::mapping::notification_event(&envelope.event, envelope.data.get().as_bytes(), Trust::SenderOnly, raw)
    }
}

/// Seals a notification the way Justap does, for tests and the mock: `{event, is_encrypted:
/// true, data: base64(blocks)}` under the platform's private key.
pub fn seal_notification(key: &RsaPrivateKey, event: &str, notification: &serde_json::Value) -> Result<Vec<u8>> {
    let sealed = crate::rsa_blocks::seal_private_blocks(key, notification.to_string().as_bytes())?;
    let data = base64::engine::general_purpose::STANDARD.encode(sealed);
    Ok(serde_json::json!({"event": event, "is_encrypted": true, "data": data}).to_string().into_bytes())
}

/// The driver's webhook verifier: `platform_public_key_path` and `webhook_accept_unencrypted`.
pub fn webhook_verifier(settings: &payment_core::ProviderSettings) -> Result<Box<dyn payment_core::WebhookVerifier>> {
    let key = crate::config::platform_public_key(settings)?;
    let accept = settings.flag("webhook_accept_unencrypted", false)?;
    if key.is_none() && !accept {
        return Err(payment_core::Error::config(format!(
            "justap webhooks need {}",
            settings.describe_key("platform_public_key_path")
        )));
    }
    Ok(Box::new(JustapWebhookVerifier::new(key, accept)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        body: String,
        timestamp: String,
        nonce: String,
        body_hash: String,
        signature: String,
    }

    /// Vectors made with Python's hashlib and `cryptography` from the same key: a body with a
    /// 32-character nonce, a GET's empty body with a 20-character one, and Go's trailing newline.
    #[test]
    fn matches_vectors_made_with_another_tool() {
        let vectors: Vec<Vector> =
            serde_json::from_str(include_str!("../tests/fixtures/signature_vectors.json")).unwrap();
        let pkcs8 = RsaPrivateKey::from_pem(include_str!("../tests/fixtures/merchant_private.pem")).unwrap();
        let pkcs1 = RsaPrivateKey::from_pem(include_str!("../tests/fixtures/merchant_private_pkcs1.pem")).unwrap();
        let public = RsaPublicKey::from_pem(include_str!("../tests/fixtures/merchant_public.pem")).unwrap();
        assert_eq!(vectors.len(), 3);
        for v in &vectors {
            for key in [&pkcs8, &pkcs1] {
                let signed = sign(key, v.body.as_bytes(), &v.timestamp, &v.nonce).unwrap();
                assert_eq!(signed.body_hash, v.body_hash, "{:?}", v.body);
                assert_eq!(signed.signature, v.signature, "{:?}", v.body);
            }
            assert!(verify(&public, &v.body_hash, &v.nonce, &v.signature));
            assert!(!verify(&public, &v.body_hash, "other", &v.signature));
            assert!(!verify(&public, &body_hash(b"x", &v.timestamp, &v.nonce), &v.nonce, &v.signature));
            assert!(!verify(&public, &v.body_hash, &v.nonce, "!!not base64"));
        }
    }

    #[test]
    fn nonces_are_fresh_alphanumerics() {
        let a = nonce().unwrap();
        assert_eq!(a.len(), NONCE_LEN);
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(a, nonce().unwrap());
    }
}
