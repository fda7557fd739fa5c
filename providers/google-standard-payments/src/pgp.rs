//! The PGP alternative (feature `pgp`, rpgp): a body is base64url of an OpenPGP message signed
//! with the sender's key (SHA-384) and encrypted to the receiver's encryption subkey (AES-256,
//! with integrity protection), as Google requires of new keys; `application/octet-stream`.
//! Armoured or binary messages, padded or unpadded base64url, and compressed messages are read.

use std::sync::Arc;

use base64::Engine as _;
use payment_core::{Error, Result};
use pgp::composed::{Deserializable, Message, MessageBuilder, SignedPublicKey, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::types::{KeyDetails, Password};

use crate::jose::JoseError;
use crate::signing::OpenError;

/// Our secret key and the peer's public key, for one side of the conversation.
#[derive(Clone)]
pub struct PgpEnvelope {
    own: Arc<SignedSecretKey>,
    peer: Arc<SignedPublicKey>,
}

fn parse_secret(armored: &str) -> Result<SignedSecretKey> {
    let (key, _) = SignedSecretKey::from_string(armored)
        .map_err(|e| Error::config(format!("the PGP secret key was rejected: {e}")))?;
    key.verify_bindings()
        .map_err(|e| Error::config(format!("the PGP secret key's self-signatures do not verify: {e}")))?;
    Ok(key)
}

fn parse_public(armored: &str) -> Result<SignedPublicKey> {
    let (key, _) = SignedPublicKey::from_string(armored)
        .map_err(|e| Error::config(format!("the PGP public key was rejected: {e}")))?;
    key.verify_bindings()
        .map_err(|e| Error::config(format!("the PGP public key's self-signatures do not verify: {e}")))?;
    if !key.public_subkeys.iter().any(|k| k.algorithm().can_encrypt()) {
        return Err(Error::config("the PGP public key has no encryption subkey (Google requires one)"));
    }
    Ok(key)
}

impl PgpEnvelope {
    /// Our armoured secret key (unprotected) and the peer's armoured public key.
    pub fn from_armored(own_secret: &str, peer_public: &str) -> Result<PgpEnvelope> {
        Ok(PgpEnvelope { own: Arc::new(parse_secret(own_secret)?), peer: Arc::new(parse_public(peer_public)?) })
    }

    /// The body for `json`: signed with SHA-384, encrypted with AES-256 to the peer, base64url.
    pub fn seal(&self, json: &[u8]) -> Result<String> {
        let fail = |e: pgp::errors::Error| Error::invalid(format!("PGP encryption failed: {e}"));
        let recipient = self
            .peer
            .public_subkeys
            .iter()
            .find(|k| k.algorithm().can_encrypt())
            .ok_or_else(|| Error::config("the peer's PGP key has no encryption subkey"))?;
        let mut builder =
            MessageBuilder::from_bytes("", json.to_vec()).seipd_v1(rand::thread_rng(), SymmetricKeyAlgorithm::AES256);
        builder.encrypt_to_key(rand::thread_rng(), recipient).map_err(fail)?;
        builder.sign(&self.own.primary_key, Password::empty(), HashAlgorithm::Sha384);
        let bytes = builder.to_vec(rand::thread_rng()).map_err(fail)?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The JSON inside a body, decrypted with our key and verified against the peer's.
    pub fn open(&self, body: &[u8]) -> std::result::Result<Vec<u8>, OpenError> {
        let encryption = |what: &'static str| OpenError::Encryption(JoseError::Malformed(what));
        let text = std::str::from_utf8(body).map_err(|_| encryption("not base64url"))?.trim().trim_end_matches('=');
        let bytes =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| encryption("not base64url"))?;
        let armored: String;
        let message = if bytes.starts_with(b"-----BEGIN PGP") {
            armored = String::from_utf8(bytes).map_err(|_| encryption("armour"))?;
            Message::from_string(&armored).map(|(m, _)| m)
        } else {
            Message::from_bytes(std::io::Cursor::new(bytes))
        }
        .map_err(|_| encryption("not an OpenPGP message"))?;
        let mut plain =
            message.decrypt(&Password::empty(), &self.own).map_err(|_| OpenError::Encryption(JoseError::Decryption))?;
        if plain.is_compressed() {
            plain = plain.decompress().map_err(|_| OpenError::Encryption(JoseError::Decryption))?;
        }
        let data = plain.as_data_vec().map_err(|_| OpenError::Encryption(JoseError::Decryption))?;
        let signed_by_peer = std::iter::once(plain.verify(&self.peer.primary_key).is_ok())
            .chain(self.peer.public_subkeys.iter().map(|k| plain.verify(k).is_ok()))
            .any(|ok| ok);
        if !signed_by_peer {
            return Err(OpenError::Signature(JoseError::Signature));
        }
        Ok(data)
    }
}

impl std::fmt::Debug for PgpEnvelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgpEnvelope")
            .field("own", &self.own.primary_key.fingerprint().to_string())
            .field("peer", &self.peer.primary_key.fingerprint().to_string())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
    }

    fn sides() -> (PgpEnvelope, PgpEnvelope) {
        (
            PgpEnvelope::from_armored(&fixture("pgp_caller_secret.asc"), &fixture("pgp_processor_public.asc")).unwrap(),
            PgpEnvelope::from_armored(&fixture("pgp_processor_secret.asc"), &fixture("pgp_caller_public.asc")).unwrap(),
        )
    }

    /// A message GnuPG (an independent implementation) signed with SHA-384, compressed with ZIP
    /// and encrypted with AES-256 opens here.
    #[test]
    fn a_gnupg_message_opens() {
        let (_, processor) = sides();
        let plain = processor.open(fixture("gpg_message.b64url").as_bytes()).unwrap();
        assert_eq!(plain, fixture("gpg_payload.json").trim().as_bytes());
    }

    #[test]
    fn round_trip_and_refusals() {
        let (caller, processor) = sides();
        let body = caller.seal(br#"{"a":1}"#).unwrap();
        assert!(!body.contains('=') && !body.contains('+') && !body.contains('/'), "base64url");
        assert_eq!(processor.open(body.as_bytes()).unwrap(), br#"{"a":1}"#);
        assert_eq!(caller.open(processor.seal(b"{}").unwrap().as_bytes()).unwrap(), b"{}");
        // Signed by the processor's key but sent as if from the caller: the signature is not the caller's.
        let impostor =
            PgpEnvelope::from_armored(&fixture("pgp_processor_secret.asc"), &fixture("pgp_processor_public.asc"))
                .unwrap();
        let forged = impostor.seal(b"{}").unwrap();
        assert_eq!(processor.open(forged.as_bytes()).unwrap_err(), OpenError::Signature(JoseError::Signature));
        // Encrypted to the caller, not the processor.
        let elsewhere = processor.seal(b"{}").unwrap();
        assert!(matches!(processor.open(elsewhere.as_bytes()), Err(OpenError::Encryption(_))));
        let mut tampered = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&body).unwrap();
        let n = tampered.len();
        tampered[n - 20] ^= 1;
        let tampered = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tampered);
        assert!(processor.open(tampered.as_bytes()).is_err(), "a changed byte");
        for garbage in ["", "!!!", "aGVsbG8"] {
            assert!(processor.open(garbage.as_bytes()).is_err(), "{garbage}");
        }
        assert!(PgpEnvelope::from_armored("not a key", &fixture("pgp_caller_public.asc")).is_err());
        assert!(!format!("{caller:?}").contains("BEGIN"));
    }
}
