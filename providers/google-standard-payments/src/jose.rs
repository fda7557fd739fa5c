//! JOSE compact serializations on aws-lc-rs: JWS with `RS256` and JWE with `RSA-OAEP-256` key
//! wrapping and `A256GCM` content encryption, nested as Google Standard Payments sends them (the
//! JSON signed, the JWS encrypted). Anything else — `alg: none`, `RSA1_5`, other encodings, an
//! unknown `kid`, a changed byte — is refused.

use std::fmt;

use base64::Engine as _;
use payment_core::crypto::{self, RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};

/// Why a JOSE object was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoseError {
    /// Not a compact serialization of the expected shape, or a header that is not JSON.
    #[error("malformed JOSE object: {0}")]
    Malformed(&'static str),
    /// An algorithm or encoding other than the ones accepted.
    #[error("JOSE algorithm not accepted: {0}")]
    Algorithm(String),
    /// The `kid` names no key held (or is missing where several keys are held).
    #[error("no key with kid {0:?}")]
    UnknownKey(String),
    /// The content could not be decrypted or authenticated.
    #[error("JWE decryption failed")]
    Decryption,
    /// The signature does not verify.
    #[error("JWS signature does not verify")]
    Signature,
}

/// A protected header: the algorithm and (optionally) the key id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    enc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    crit: Option<serde_json::Value>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str, what: &'static str) -> Result<Vec<u8>, JoseError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| JoseError::Malformed(what))
}

fn header_of(part: &str) -> Result<Header, JoseError> {
    let header: Header = serde_json::from_slice(&unb64(part, "header")?).map_err(|_| JoseError::Malformed("header"))?;
    if header.crit.is_some() {
        return Err(JoseError::Algorithm("crit".into()));
    }
    if let Some(zip) = header.zip {
        return Err(JoseError::Algorithm(format!("zip {zip}")));
    }
    Ok(header)
}

/// Keys by id, one or several (rotation): with one key a missing `kid` selects it.
pub struct KeyRing<K> {
    keys: Vec<(Option<String>, K)>,
}

impl<K> KeyRing<K> {
    /// One key, with an optional id.
    pub fn single(kid: Option<String>, key: K) -> KeyRing<K> {
        KeyRing { keys: vec![(kid, key)] }
    }

    /// Adds a key (builder style).
    pub fn with(mut self, kid: Option<String>, key: K) -> KeyRing<K> {
        self.keys.push((kid, key));
        self
    }

    /// The first key and its id: what is used to sign or encrypt.
    pub fn primary(&self) -> Option<(Option<&str>, &K)> {
        self.keys.first().map(|(kid, k)| (kid.as_deref(), k))
    }

    /// The same ring holding references.
    pub fn map_ref<T: ?Sized>(&self) -> KeyRing<&T>
    where
        K: std::ops::Deref<Target = T>,
    {
        KeyRing { keys: self.keys.iter().map(|(kid, k)| (kid.clone(), &**k)).collect() }
    }

    /// The key a header's `kid` selects.
    pub fn select(&self, kid: Option<&str>) -> Result<&K, JoseError> {
        match kid {
            Some(id) => self
                .keys
                .iter()
                .find(|(k, _)| k.as_deref() == Some(id))
                .map(|(_, key)| key)
                .ok_or_else(|| JoseError::UnknownKey(id.to_owned())),
            None if self.keys.len() == 1 => Ok(&self.keys[0].1),
            None => Err(JoseError::UnknownKey(String::new())),
        }
    }
}

impl<K> fmt::Debug for KeyRing<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(k, _)| k.as_deref().unwrap_or("-")).collect();
        f.debug_struct("KeyRing").field("kids", &ids).finish_non_exhaustive()
    }
}

/// A JWS compact serialization of `payload`, `RS256`, with `kid` when given.
pub fn jws_sign(key: &RsaPrivateKey, kid: Option<&str>, payload: &[u8]) -> payment_core::Result<String> {
    let header = Header { alg: "RS256".into(), enc: None, kid: kid.map(str::to_owned), zip: None, crit: None };
    let header = b64(&serde_json::to_vec(&header).map_err(|e| payment_core::Error::invalid(e.to_string()))?);
    let input = format!("{header}.{}", b64(payload));
    let signature = key.sign_pkcs1_sha256(input.as_bytes())?;
    Ok(format!("{input}.{}", b64(&signature)))
}

/// The payload of a JWS compact serialization whose `RS256` signature verifies with the key its `kid` selects.
pub fn jws_verify(keys: &KeyRing<RsaPublicKey>, jws: &str) -> Result<Vec<u8>, JoseError> {
    let mut parts = jws.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JoseError::Malformed("a JWS has three parts"));
    };
    let header = header_of(h)?;
    if header.alg != "RS256" {
        return Err(JoseError::Algorithm(header.alg));
    }
    let key = keys.select(header.kid.as_deref())?;
    let signature = unb64(s, "signature")?;
    if !key.verify_pkcs1_sha256(format!("{h}.{p}").as_bytes(), &signature) {
        return Err(JoseError::Signature);
    }
    unb64(p, "payload")
}

/// A JWE compact serialization of `plaintext` for `key`: `RSA-OAEP-256` wrapping a fresh content
/// key, `A256GCM` with a fresh IV, the protected header as AAD.
pub fn jwe_encrypt(key: &RsaPublicKey, kid: Option<&str>, plaintext: &[u8]) -> payment_core::Result<String> {
    let header = Header {
        alg: "RSA-OAEP-256".into(),
        enc: Some("A256GCM".into()),
        kid: kid.map(str::to_owned),
        zip: None,
        crit: None,
    };
    let header = b64(&serde_json::to_vec(&header).map_err(|e| payment_core::Error::invalid(e.to_string()))?);
    let cek = crypto::random_bytes(32)?;
    let iv = crypto::random_bytes(12)?;
    let wrapped = key.encrypt_oaep_sha256(&cek)?;
    let (ciphertext, tag) = crypto::aes256gcm_seal(&cek, &iv, header.as_bytes(), plaintext)?;
    Ok(format!("{header}.{}.{}.{}.{}", b64(&wrapped), b64(&iv), b64(&ciphertext), b64(&tag)))
}

/// The five parts of a JWE compact serialization, checked for the accepted algorithms.
struct JweParts<'a> {
    header_b64: &'a str,
    kid: Option<String>,
    encrypted_key: Vec<u8>,
    iv: Vec<u8>,
    ciphertext: Vec<u8>,
    tag: Vec<u8>,
}

fn jwe_parts(jwe: &str) -> Result<JweParts<'_>, JoseError> {
    let parts: Vec<&str> = jwe.trim().split('.').collect();
    let [h, k, iv, c, t] = parts[..] else { return Err(JoseError::Malformed("a JWE has five parts")) };
    let header = header_of(h)?;
    if header.alg != "RSA-OAEP-256" {
        return Err(JoseError::Algorithm(header.alg));
    }
    if header.enc.as_deref() != Some("A256GCM") {
        return Err(JoseError::Algorithm(format!("enc {}", header.enc.unwrap_or_default())));
    }
    Ok(JweParts {
        header_b64: h,
        kid: header.kid,
        encrypted_key: unb64(k, "encrypted key")?,
        iv: unb64(iv, "iv")?,
        ciphertext: unb64(c, "ciphertext")?,
        tag: unb64(t, "tag")?,
    })
}

fn open_content(header_b64: &str, cek: &[u8], iv: &[u8], ciphertext: &[u8], tag: &[u8]) -> Result<Vec<u8>, JoseError> {
    crypto::aes256gcm_open(cek, iv, header_b64.as_bytes(), ciphertext, tag).map_err(|_| JoseError::Decryption)
}

/// The plaintext of a JWE compact serialization, decrypted with the key its `kid` selects.
pub fn jwe_decrypt(keys: &KeyRing<RsaPrivateKey>, jwe: &str) -> Result<Vec<u8>, JoseError> {
    jwe_decrypt_with(&KeyRing { keys: keys.keys.iter().map(|(kid, k)| (kid.clone(), k)).collect() }, jwe)
}

/// [`jwe_decrypt`] over a ring of borrowed keys.
pub fn jwe_decrypt_with(keys: &KeyRing<&RsaPrivateKey>, jwe: &str) -> Result<Vec<u8>, JoseError> {
    let parts = jwe_parts(jwe)?;
    let key = keys.select(parts.kid.as_deref())?;
    let cek = key.decrypt_oaep_sha256(&parts.encrypted_key).map_err(|_| JoseError::Decryption)?;
    open_content(parts.header_b64, &cek, &parts.iv, &parts.ciphertext, &parts.tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap()
    }

    fn hex(text: &str) -> Vec<u8> {
        let t = text.trim();
        (0..t.len()).step_by(2).map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap()).collect()
    }

    /// RFC 7515 appendix A.2: RS256 is deterministic, so our signature must equal the RFC's.
    #[test]
    fn rfc7515_a2_rs256() {
        let key = RsaPrivateKey::from_pem(&fixture("rfc7515_a2_private.pem")).unwrap();
        let expected = fixture("rfc7515_a2.jws");
        let payload = unb64(expected.trim().split('.').nth(1).unwrap(), "payload").unwrap();
        assert_eq!(jws_sign(&key, None, &payload).unwrap(), expected.trim());
        let ring = KeyRing::single(None, key.public_key().unwrap());
        assert_eq!(jws_verify(&ring, &expected).unwrap(), payload);
    }

    /// RFC 7516 appendix A.1's A256GCM layer, with the content key the RFC's RSA-OAEP wraps
    /// (SHA-1 OAEP is not accepted for wrapping here, so the key is given).
    #[test]
    fn rfc7516_a1_a256gcm_content() {
        let jwe = fixture("rfc7516_a1.jwe");
        let parts: Vec<&str> = jwe.trim().split('.').collect();
        let plain = open_content(
            parts[0],
            &hex(&fixture("rfc7516_a1_cek.hex")),
            &unb64(parts[2], "iv").unwrap(),
            &unb64(parts[3], "ct").unwrap(),
            &unb64(parts[4], "tag").unwrap(),
        )
        .unwrap();
        assert_eq!(plain, b"The true sign of intelligence is not knowledge but imagination.");
        let ring = KeyRing::single(None, RsaPrivateKey::generate().unwrap());
        assert_eq!(
            jwe_decrypt(&ring, &jwe).unwrap_err(),
            JoseError::Algorithm("RSA-OAEP".into()),
            "SHA-1 OAEP refused"
        );
    }

    /// A nested JWS-in-JWE made by jwcrypto (an independent JOSE library) opens here.
    #[test]
    fn a_jwcrypto_object_opens() {
        let processor = KeyRing::single(
            Some("processor-2026".into()),
            RsaPrivateKey::from_pem(&fixture("processor_private.pem")).unwrap(),
        );
        let caller =
            KeyRing::single(Some("caller-2026".into()), RsaPublicKey::from_pem(&fixture("caller_public.pem")).unwrap());
        let jws = jwe_decrypt(&processor, &fixture("jwcrypto_nested.jwe")).unwrap();
        let payload = jws_verify(&caller, std::str::from_utf8(&jws).unwrap()).unwrap();
        assert_eq!(payload, fixture("jwcrypto_nested.payload.json").trim().as_bytes());
    }

    #[test]
    fn round_trip_and_every_refusal() {
        let signer = RsaPrivateKey::generate().unwrap();
        let recipient = RsaPrivateKey::generate().unwrap();
        let jws = jws_sign(&signer, Some("s1"), br#"{"a":1}"#).unwrap();
        let jwe = jwe_encrypt(&recipient.public_key().unwrap(), Some("r1"), jws.as_bytes()).unwrap();
        let verify = KeyRing::single(Some("s1".into()), signer.public_key().unwrap());
        let decrypt = KeyRing::single(Some("r1".into()), recipient);
        let inner = jwe_decrypt(&decrypt, &jwe).unwrap();
        assert_eq!(jws_verify(&verify, std::str::from_utf8(&inner).unwrap()).unwrap(), br#"{"a":1}"#);

        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        let mut ct = unb64(&parts[3], "ct").unwrap();
        ct[0] ^= 1;
        parts[3] = b64(&ct);
        assert_eq!(jwe_decrypt(&decrypt, &parts.join(".")).unwrap_err(), JoseError::Decryption, "tampered ciphertext");
        let other_kid = jwe_encrypt(&verify_key_of(&decrypt), Some("r9"), b"x").unwrap();
        assert_eq!(jwe_decrypt(&decrypt, &other_kid).unwrap_err(), JoseError::UnknownKey("r9".into()));
        let rsa1_5 = format!("{}.{}", b64(br#"{"alg":"RSA1_5","enc":"A256GCM"}"#), jwe.split_once('.').unwrap().1);
        assert_eq!(jwe_decrypt(&decrypt, &rsa1_5).unwrap_err(), JoseError::Algorithm("RSA1_5".into()));
        let none = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(b"{}"));
        assert_eq!(jws_verify(&verify, &none).unwrap_err(), JoseError::Algorithm("none".into()));
        let wrong_signer = jws_sign(&RsaPrivateKey::generate().unwrap(), Some("s1"), b"{}").unwrap();
        assert_eq!(jws_verify(&verify, &wrong_signer).unwrap_err(), JoseError::Signature);
        let zipped = format!("{}.{}.{}", b64(br#"{"alg":"RS256","zip":"DEF"}"#), b64(b"{}"), b64(b"s"));
        assert!(matches!(jws_verify(&verify, &zipped).unwrap_err(), JoseError::Algorithm(_)));
        for garbage in ["", "a.b", "a.b.c.d.e.f", "!!.??.**", "e30.e30.e30"] {
            assert!(jws_verify(&verify, garbage).is_err() && jwe_decrypt(&decrypt, garbage).is_err(), "{garbage}");
        }
        let two = KeyRing::single(Some("a".into()), signer.public_key().unwrap())
            .with(Some("b".into()), signer.public_key().unwrap());
        assert!(two.select(None).is_err(), "several keys need a kid");
    }

    fn verify_key_of(ring: &KeyRing<RsaPrivateKey>) -> RsaPublicKey {
        ring.primary().unwrap().1.public_key().unwrap()
    }
}
