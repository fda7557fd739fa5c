//! The envelope every GSP body travels in: the JSON signed (JWS `RS256`) with the sender's key,
//! then encrypted (JWE `RSA-OAEP-256` + `A256GCM`) to the receiver's key, `kid` on both layers
//! when configured. The same type serves the caller (our key, the processor's public key) and the
//! processor (its key, the caller's public key).

use std::sync::Arc;

use payment_core::Result;
use payment_core::crypto::{RsaPrivateKey, RsaPublicKey};

use crate::jose::{self, JoseError, KeyRing};

/// The content type of a JOSE body.
pub const JOSE_CONTENT_TYPE: &str = "application/jose; charset=utf-8";

/// How bodies are protected on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// JWS inside JWE, `application/jose; charset=utf-8` (the default).
    Jose,
    /// A signed and encrypted OpenPGP message as base64url, `application/octet-stream; charset=utf-8`.
    Pgp,
}

impl Encoding {
    /// The body's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Jose => JOSE_CONTENT_TYPE,
            Encoding::Pgp => "application/octet-stream; charset=utf-8",
        }
    }

    /// The encoding a request's content type names (JOSE unless it is `application/octet-stream`).
    pub fn of_content_type(content_type: Option<&str>) -> Encoding {
        match content_type {
            Some(t) if t.trim_start().to_ascii_lowercase().starts_with("application/octet-stream") => Encoding::Pgp,
            _ => Encoding::Jose,
        }
    }
}

/// One side's protection in either encoding.
pub enum Protection {
    /// JOSE keys.
    Jose(Envelope),
    /// PGP keys (feature `pgp`).
    #[cfg(feature = "pgp")]
    Pgp(crate::pgp::PgpEnvelope),
}

impl Protection {
    /// Which encoding this is.
    pub fn encoding(&self) -> Encoding {
        match self {
            Protection::Jose(_) => Encoding::Jose,
            #[cfg(feature = "pgp")]
            Protection::Pgp(_) => Encoding::Pgp,
        }
    }

    /// The protected body for `json`.
    pub fn seal(&self, json: &[u8]) -> Result<String> {
        match self {
            Protection::Jose(e) => e.seal(json),
            #[cfg(feature = "pgp")]
            Protection::Pgp(e) => e.seal(json),
        }
    }

    /// The JSON inside a protected body.
    pub fn open(&self, body: &[u8]) -> std::result::Result<Vec<u8>, OpenError> {
        match self {
            Protection::Jose(e) => e.open(body),
            #[cfg(feature = "pgp")]
            Protection::Pgp(e) => e.open(body),
        }
    }
}

impl std::fmt::Debug for Protection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Protection::Jose(e) => e.fmt(f),
            #[cfg(feature = "pgp")]
            Protection::Pgp(e) => e.fmt(f),
        }
    }
}

/// Keys for one side of the conversation.
pub struct Envelope {
    own: KeyRing<Arc<RsaPrivateKey>>,
    peer: KeyRing<RsaPublicKey>,
}

impl Envelope {
    /// Signs and decrypts with `own`, encrypts to and verifies with `peer`.
    pub fn new(
        own: Arc<RsaPrivateKey>,
        own_kid: Option<String>,
        peer: RsaPublicKey,
        peer_kid: Option<String>,
    ) -> Envelope {
        Envelope { own: KeyRing::single(own_kid, own), peer: KeyRing::single(peer_kid, peer) }
    }

    /// Also accepts (decrypts with) another own key: the previous one, during a rotation.
    pub fn with_previous_own_key(mut self, key: Arc<RsaPrivateKey>, kid: String) -> Envelope {
        self.own = self.own.with(Some(kid), key);
        self
    }

    /// Also verifies signatures by another peer key, during the peer's rotation.
    pub fn with_previous_peer_key(mut self, key: RsaPublicKey, kid: String) -> Envelope {
        self.peer = self.peer.with(Some(kid), key);
        self
    }

    /// The body for `json`: signed with our primary key, encrypted to the peer's primary key.
    pub fn seal(&self, json: &[u8]) -> Result<String> {
        let (own_kid, own) = self.own.primary().ok_or_else(|| payment_core::Error::config("no signing key"))?;
        let (peer_kid, peer) = self.peer.primary().ok_or_else(|| payment_core::Error::config("no encryption key"))?;
        let jws = jose::jws_sign(own, own_kid, json)?;
        jose::jwe_encrypt(peer, peer_kid, jws.as_bytes())
    }

    /// The JSON inside a body: decrypted with the key its `kid` selects, its signature verified
    /// with the peer key the inner `kid` selects.
    pub fn open(&self, body: &[u8]) -> std::result::Result<Vec<u8>, OpenError> {
        let text = std::str::from_utf8(body).map_err(|_| OpenError::Encryption(JoseError::Malformed("not text")))?;
        let own: KeyRing<&RsaPrivateKey> = self.own.map_ref();
        let jws = jose::jwe_decrypt_with(&own, text).map_err(OpenError::Encryption)?;
        let jws = std::str::from_utf8(&jws).map_err(|_| OpenError::Signature(JoseError::Malformed("inner JWS")))?;
        jose::jws_verify(&self.peer, jws).map_err(OpenError::Signature)
    }
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope").field("own", &self.own).field("peer", &self.peer).finish()
    }
}

/// Why a body could not be opened: the outer (encryption) or the inner (signature) layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Not encrypted to a key held, or the ciphertext does not authenticate.
    #[error("encryption: {0}")]
    Encryption(JoseError),
    /// Not signed by a key trusted, or the signature does not verify.
    #[error("signature: {0}")]
    Signature(JoseError),
}

/// Verifies the processor's `captureResultNotification` and `refundResultNotification` calls:
/// opened and verified like any GSP message (`Verified`), answered with the protected
/// `{"responseHeader", "result": "SUCCESS"}` the processor expects. A body that does not open
/// is refused with Google's own 404, which tells a stranger nothing.
pub struct GspNotificationVerifier {
    protection: Protection,
}

impl GspNotificationVerifier {
    /// A verifier with our side's protection (our key, the processor's public key).
    pub fn new(protection: Protection) -> GspNotificationVerifier {
        GspNotificationVerifier { protection }
    }
}

impl payment_core::WebhookVerifier for GspNotificationVerifier {
    fn verify(&self, _headers: &http::HeaderMap, body: &[u8]) -> Result<payment_core::WebhookEvent> {
        let json = self.protection.open(body).map_err(|_| {
            payment_core::Error::new(
                payment_core::ErrorKind::Authentication,
                "the notification does not open with our keys",
            )
            .with_provider(crate::NAME)
            .with_http_status(404)
        })?;
        crate::mapping::notification_event(&json)
    }

    fn acknowledge(&self, _event: &payment_core::WebhookEvent) -> Result<payment_core::WebhookAck> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis();
        let reply = serde_json::json!({"responseHeader": {"responseTimestamp": now.to_string()}, "result": "SUCCESS"});
        Ok(payment_core::WebhookAck {
            status: 200,
            content_type: Some(self.protection.encoding().content_type().to_owned()),
            body: self.protection.seal(reply.to_string().as_bytes())?.into_bytes(),
        })
    }
}

/// The driver's webhook verifier: the keys the client already has.
pub fn webhook_verifier(settings: &payment_core::ProviderSettings) -> Result<Box<dyn payment_core::WebhookVerifier>> {
    // Only the keys matter here: a server receiving notifications calls no processor, so a
    // missing `base_url` is no reason to refuse.
    let mut settings = settings.clone();
    if settings.get("base_url").is_none() {
        settings.set("base_url", "https://processor.invalid");
    }
    let config = crate::config::GspConfig::from_settings(&settings)?;
    Ok(Box::new(GspNotificationVerifier::new(config.protection())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_talk_and_a_stranger_cannot() {
        let caller = Arc::new(RsaPrivateKey::generate().unwrap());
        let processor = Arc::new(RsaPrivateKey::generate().unwrap());
        let at_caller =
            Envelope::new(caller.clone(), Some("c1".into()), processor.public_key().unwrap(), Some("p1".into()));
        let at_processor =
            Envelope::new(processor.clone(), Some("p1".into()), caller.public_key().unwrap(), Some("c1".into()));
        let body = at_caller.seal(br#"{"clientMessage":"hi"}"#).unwrap();
        assert_eq!(at_processor.open(body.as_bytes()).unwrap(), br#"{"clientMessage":"hi"}"#);
        let reply = at_processor.seal(b"{}").unwrap();
        assert_eq!(at_caller.open(reply.as_bytes()).unwrap(), b"{}");
        let stranger = Arc::new(RsaPrivateKey::generate().unwrap());
        let forged = Envelope::new(stranger, Some("c1".into()), processor.public_key().unwrap(), Some("p1".into()));
        let body = forged.seal(b"{}").unwrap();
        assert!(matches!(at_processor.open(body.as_bytes()), Err(OpenError::Signature(JoseError::Signature))));
        assert!(matches!(at_processor.open(b"not jose"), Err(OpenError::Encryption(_))));
    }

    #[test]
    fn a_rotation_keeps_the_previous_keys_working() {
        let caller = Arc::new(RsaPrivateKey::generate().unwrap());
        let old = Arc::new(RsaPrivateKey::generate().unwrap());
        let new = Arc::new(RsaPrivateKey::generate().unwrap());
        let processor = Envelope::new(new.clone(), Some("p2".into()), caller.public_key().unwrap(), Some("c1".into()))
            .with_previous_own_key(old.clone(), "p1".into());
        // A caller that still encrypts to the previous key, by its kid.
        let lagging = Envelope::new(caller.clone(), Some("c1".into()), old.public_key().unwrap(), Some("p1".into()));
        assert_eq!(processor.open(lagging.seal(b"{}").unwrap().as_bytes()).unwrap(), b"{}");
        let current = Envelope::new(caller.clone(), Some("c1".into()), new.public_key().unwrap(), Some("p2".into()));
        assert_eq!(processor.open(current.seal(b"{}").unwrap().as_bytes()).unwrap(), b"{}");
        let unknown = Envelope::new(caller, Some("c1".into()), new.public_key().unwrap(), Some("p9".into()));
        assert!(matches!(
            processor.open(unknown.seal(b"{}").unwrap().as_bytes()),
            Err(OpenError::Encryption(JoseError::UnknownKey(_)))
        ));
        // The processor's answers are signed with its new key; a caller trusting both verifies them.
        let at_caller = Envelope::new(
            Arc::new(RsaPrivateKey::generate().unwrap()),
            None,
            old.public_key().unwrap(),
            Some("p1".into()),
        )
        .with_previous_peer_key(new.public_key().unwrap(), "p2".into());
        let signed = crate::jose::jws_sign(&new, Some("p2"), b"{}").unwrap();
        assert!(crate::jose::jws_verify(&at_caller.peer, &signed).is_ok());
    }
}
