//! RSA keys in PEM, PKCS#1 v1.5 SHA-256 signatures, RSA-OAEP-256 key wrapping and AES-256-GCM on
//! aws-lc-rs (no OpenSSL), shared by the signing and encrypting providers (Ping++ requests and
//! webhooks, Justap, Google Standard Payments' JWE).

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SecureRandom as _;
use aws_lc_rs::rsa::{
    KeyPair, KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey,
};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey};
use base64::Engine as _;

use crate::error::{Error, Result};

/// Decodes one PEM block with any of `labels`; returns the label found and the DER bytes.
pub fn pem_decode(text: &str, labels: &[&str]) -> Result<(String, Vec<u8>)> {
    let begin = text.find("-----BEGIN ").ok_or_else(|| Error::config("not a PEM file (no -----BEGIN line)"))?;
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest.find("-----").ok_or_else(|| Error::config("malformed PEM header"))?;
    let label = rest[..label_end].to_owned();
    if !labels.contains(&label.as_str()) {
        // A damaged header makes the "label" run into the key itself: name it only when it is
        // one, never echo what may be key material.
        let shown =
            if label.len() <= 40 && label.bytes().all(|b| b.is_ascii_uppercase() || b == b' ' || b.is_ascii_digit()) {
                format!("{label:?}")
            } else {
                "not a PEM label (is the -----BEGIN …----- line damaged?)".to_owned()
            };
        return Err(Error::config(format!("PEM block is {shown}, expected one of {labels:?}")));
    }
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end =
        rest.find(&end_marker).ok_or_else(|| Error::config(format!("PEM block {label:?} has no END line")))?;
    let b64: String = rest[body_start..body_end].chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| Error::config(format!("PEM block {label:?} is not valid base64: {e}")))?;
    Ok((label, der))
}

/// Encodes DER as a PEM block with 64-character lines.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// An RSA private key (parsed once, reused for every signature and decryption); never printed.
pub struct RsaPrivateKey {
    key: KeyPair,
    // The decryption form of the same key, parsed on first use: parsing validates the key, which
    // costs more than a decryption, so it is done once.
    decrypting: std::sync::OnceLock<Option<OaepPrivateDecryptingKey>>,
}

impl RsaPrivateKey {
    /// Parses PEM: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<RsaPrivateKey> {
        let (label, der) = pem_decode(text, &["PRIVATE KEY", "RSA PRIVATE KEY"])?;
        let key = if label == "PRIVATE KEY" { KeyPair::from_pkcs8(&der) } else { KeyPair::from_der(&der) }
            .map_err(|e| Error::config(format!("the RSA private key was rejected: {e}")))?;
        Ok(RsaPrivateKey { key, decrypting: std::sync::OnceLock::new() })
    }

    /// Reads and parses a PEM file.
    pub fn from_pem_file(path: &std::path::Path) -> Result<RsaPrivateKey> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read private key {}: {e}", path.display())))?;
        RsaPrivateKey::from_pem(&text)
    }

    /// A fresh 2048-bit key (mocks, tests).
    pub fn generate() -> Result<RsaPrivateKey> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| Error::config("RSA key generation failed"))?;
        Ok(RsaPrivateKey { key, decrypting: std::sync::OnceLock::new() })
    }

    /// The key as PKCS#8 PEM.
    pub fn to_pkcs8_pem(&self) -> Result<String> {
        let der = self.key.as_der().map_err(|_| Error::config("cannot encode the private key"))?;
        Ok(pem_encode("PRIVATE KEY", der.as_ref()))
    }

    /// The public half.
    pub fn public_key(&self) -> Result<RsaPublicKey> {
        let der = self.key.public_key().as_der().map_err(|_| Error::config("cannot encode the public key"))?;
        Ok(RsaPublicKey { der: der.as_ref().to_vec() })
    }

    /// RSA PKCS#1 v1.5 with SHA-256 over `message`.
    pub fn sign_pkcs1_sha256(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), message, &mut signature)
            .map_err(|_| Error::config("RSA signing failed"))?;
        Ok(signature)
    }
}

impl RsaPrivateKey {
    /// Unwraps what [`RsaPublicKey::encrypt_oaep_sha256`] wrapped for this key (RSA-OAEP with
    /// SHA-256 and MGF1-SHA-256, JOSE's `RSA-OAEP-256`). Any failure is one opaque error, so an
    /// attacker learns nothing from how decryption failed.
    pub fn decrypt_oaep_sha256(&self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let opaque = || Error::new(crate::ErrorKind::Integrity, "RSA-OAEP decryption failed");
        let key = self
            .decrypting
            .get_or_init(|| {
                let der = self.key.as_der().ok()?;
                let key = PrivateDecryptingKey::from_pkcs8(der.as_ref()).ok()?;
                OaepPrivateDecryptingKey::new(key).ok()
            })
            .as_ref()
            .ok_or_else(opaque)?;
        let mut out = vec![0u8; key.min_output_size()];
        let plain = key.decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, None).map_err(|_| opaque())?;
        Ok(plain.to_vec())
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPrivateKey({} bits, [redacted])", self.key.public_modulus_len() * 8)
    }
}

/// An RSA public key (SubjectPublicKeyInfo DER inside).
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    der: Vec<u8>,
}

impl RsaPublicKey {
    /// Parses PEM: `PUBLIC KEY` (PKIX) or `RSA PUBLIC KEY` (PKCS#1).
    pub fn from_pem(text: &str) -> Result<RsaPublicKey> {
        let (_, der) = pem_decode(text, &["PUBLIC KEY", "RSA PUBLIC KEY"])?;
        aws_lc_rs::rsa::PublicKey::from_der(&der)
            .map_err(|e| Error::config(format!("the RSA public key was rejected: {e}")))?;
        Ok(RsaPublicKey { der })
    }

    /// Reads and parses a PEM file.
    pub fn from_pem_file(path: &std::path::Path) -> Result<RsaPublicKey> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read public key {}: {e}", path.display())))?;
        RsaPublicKey::from_pem(&text)
    }

    /// The key's DER as it was read: SubjectPublicKeyInfo, or PKCS#1 `RSAPublicKey` from an
    /// `RSA PUBLIC KEY` PEM.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The key as `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.der)
    }

    /// Whether `signature` is an RSA PKCS#1 v1.5 SHA-256 signature of `message` by this key.
    pub fn verify_pkcs1_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.der).verify(message, signature).is_ok()
    }
}

impl RsaPublicKey {
    /// Wraps `plaintext` (a content key, at most the key size less 66 bytes) with RSA-OAEP,
    /// SHA-256 and MGF1-SHA-256 (JOSE's `RSA-OAEP-256`); randomized, so never the same twice.
    pub fn encrypt_oaep_sha256(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let key = PublicEncryptingKey::from_der(&self.der)
            .map_err(|e| Error::config(format!("the RSA public key cannot encrypt: {e}")))?;
        let key = OaepPublicEncryptingKey::new(key).map_err(|_| Error::config("the RSA public key cannot encrypt"))?;
        let mut out = vec![0u8; key.ciphertext_size()];
        let sealed = key
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, None)
            .map_err(|_| Error::invalid(format!("RSA-OAEP cannot wrap {} bytes with this key", plaintext.len())))?;
        Ok(sealed.to_vec())
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({} DER bytes)", self.der.len())
    }
}

/// `n` bytes from the system's secure random source (content keys, IVs, nonces).
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut out)
        .map_err(|_| Error::config("the system random source failed"))?;
    Ok(out)
}

/// The size of an AES-256-GCM authentication tag.
pub const GCM_TAG_LEN: usize = 16;

fn gcm_key(key: &[u8]) -> Result<LessSafeKey> {
    let unbound = UnboundKey::new(&AES_256_GCM, key)
        .map_err(|_| Error::invalid(format!("an AES-256 key is 32 bytes, got {}", key.len())))?;
    Ok(LessSafeKey::new(unbound))
}

fn gcm_nonce(iv: &[u8]) -> Result<Nonce> {
    Nonce::try_assume_unique_for_key(iv)
        .map_err(|_| Error::invalid(format!("an AES-GCM IV is 12 bytes, got {}", iv.len())))
}

/// AES-256-GCM encryption: the ciphertext and the 16-byte tag, separately (as JWE carries them).
/// A 96-bit `iv` must never repeat under one key.
pub fn aes256gcm_seal(key: &[u8], iv: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, [u8; GCM_TAG_LEN])> {
    let mut data = plaintext.to_vec();
    let tag: Tag = gcm_key(key)?
        .seal_in_place_separate_tag(gcm_nonce(iv)?, Aad::from(aad), &mut data)
        .map_err(|_| Error::invalid("AES-GCM encryption failed"))?;
    let mut out = [0u8; GCM_TAG_LEN];
    out.copy_from_slice(tag.as_ref());
    Ok((data, out))
}

/// AES-256-GCM decryption and authentication; a wrong key, IV, AAD or tag, or a changed
/// ciphertext, is one `Integrity` error.
pub fn aes256gcm_open(key: &[u8], iv: &[u8], aad: &[u8], ciphertext: &[u8], tag: &[u8]) -> Result<Vec<u8>> {
    let key = gcm_key(key)?;
    let nonce = gcm_nonce(iv)?;
    if tag.len() != GCM_TAG_LEN {
        return Err(Error::new(crate::ErrorKind::Integrity, format!("an AES-GCM tag is 16 bytes, got {}", tag.len())));
    }
    let mut data = Vec::with_capacity(ciphertext.len() + GCM_TAG_LEN);
    data.extend_from_slice(ciphertext);
    data.extend_from_slice(tag);
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut data)
        .map_err(|_| Error::new(crate::ErrorKind::Integrity, "AES-GCM authentication failed"))?;
    Ok(plain.to_vec())
}

/// SHA-256 of `data` (collision-resistant names derived from long keys).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// HMAC-SHA256 of `data` under `key` (webhook signatures).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let tag = aws_lc_rs::hmac::sign(&key, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_fips_180_vector() {
        assert_eq!(
            crate::hex::lower(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // Test case 2 of RFC 4231.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn sign_verify_round_trip_through_pem() {
        let key = RsaPrivateKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = RsaPrivateKey::from_pem(&pem).unwrap();
        let public = RsaPublicKey::from_pem(&again.public_key().unwrap().to_pem()).unwrap();
        let sig = again.sign_pkcs1_sha256(b"message").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(public.verify_pkcs1_sha256(b"message", &sig));
        assert!(!public.verify_pkcs1_sha256(b"messagf", &sig));
        assert!(!public.verify_pkcs1_sha256(b"message", &sig[1..]));
        assert!(!format!("{key:?}").contains("BEGIN"));
    }

    #[test]
    fn bad_pem_is_a_config_error() {
        for bad in [
            "",
            "hello",
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        ] {
            assert_eq!(RsaPrivateKey::from_pem(bad).unwrap_err().kind(), crate::ErrorKind::Config, "{bad}");
        }
        assert!(RsaPublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err());
    }

    #[test]
    fn a_damaged_header_never_echoes_the_key() {
        let body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secret";
        let damaged = format!("-----BEGIN RSA PRIVATE KEY\n{body}\n-----END RSA PRIVATE KEY-----\n");
        let e = RsaPrivateKey::from_pem(&damaged).unwrap_err();
        assert!(!e.to_string().contains("secret") && !e.to_string().contains("MIIE"), "{e}");
        let e = RsaPrivateKey::from_pem("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n").unwrap_err();
        assert!(e.to_string().contains("\"CERTIFICATE\""), "a real label is still named: {e}");
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn aes256gcm_matches_the_nist_vectors_and_a_jwe_shaped_one() {
        // GCM specification test cases 13 and 14 (256-bit zero key, zero IV).
        let (c, t) = aes256gcm_seal(&[0; 32], &[0; 12], b"", b"").unwrap();
        assert!(c.is_empty());
        assert_eq!(t.to_vec(), hex("530f8afbc74536b9a963b4f1c4cb738b"));
        let (c, t) = aes256gcm_seal(&[0; 32], &[0; 12], b"", &[0; 16]).unwrap();
        assert_eq!(c, hex("cea7403d4d606b6e074ec5d3baf39d18"));
        assert_eq!(t.to_vec(), hex("d0d1c8a799996bf0265b98b5d48ab919"));
        // Key 00..1f, IV 00..0b, a protected header as AAD; computed by an independent implementation.
        let key: Vec<u8> = (0..32).collect();
        let iv: Vec<u8> = (0..12).collect();
        let aad = b"eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0";
        let sealed = hex("136ab33bb197b77ead32feecdfc9170ba3bfe940951733155f028be678e02acd3af4e7269b1b359984c88bd0e0");
        let (c, t) = aes256gcm_seal(&key, &iv, aad, b"The true sign of intelligence").unwrap();
        assert_eq!([c.clone(), t.to_vec()].concat(), sealed);
        assert_eq!(aes256gcm_open(&key, &iv, aad, &c, &t).unwrap(), b"The true sign of intelligence");
    }

    #[test]
    fn aes256gcm_refuses_anything_changed() {
        let key = random_bytes(32).unwrap();
        let iv = random_bytes(12).unwrap();
        let (c, t) = aes256gcm_seal(&key, &iv, b"aad", b"secret payload").unwrap();
        let mut flipped = c.clone();
        flipped[0] ^= 1;
        let mut other_iv = iv.clone();
        other_iv[11] ^= 1;
        for (k, i, a, c, t) in [
            (&key[..], &iv[..], &b"aad"[..], &flipped[..], &t[..]),
            (&key[..], &other_iv[..], &b"aad"[..], &c[..], &t[..]),
            (&key[..], &iv[..], &b"aae"[..], &c[..], &t[..]),
            (&key[..], &iv[..], &b"aad"[..], &c[..], &t[..15]),
            (&[7u8; 32][..], &iv[..], &b"aad"[..], &c[..], &t[..]),
        ] {
            assert_eq!(aes256gcm_open(k, i, a, c, t).unwrap_err().kind(), crate::ErrorKind::Integrity);
        }
        assert_eq!(aes256gcm_seal(&[0; 16], &iv, b"", b"x").unwrap_err().kind(), crate::ErrorKind::InvalidRequest);
        assert!(aes256gcm_seal(&key, &[0; 8], b"", b"x").is_err());
    }

    #[test]
    fn rsa_oaep_sha256_decrypts_an_independent_vector_and_round_trips() {
        let key = RsaPrivateKey::from_pem(include_str!("../tests/fixtures/oaep_private.pem")).unwrap();
        let text = include_str!("../tests/fixtures/oaep_ciphertext.b64").trim();
        let ciphertext = base64::engine::general_purpose::STANDARD.decode(text).unwrap();
        assert_eq!(key.decrypt_oaep_sha256(&ciphertext).unwrap(), b"payment-core RSA-OAEP-256 vector");
        let public = key.public_key().unwrap();
        let cek = random_bytes(32).unwrap();
        let wrapped = public.encrypt_oaep_sha256(&cek).unwrap();
        assert_eq!(wrapped.len(), 256);
        assert_ne!(wrapped, public.encrypt_oaep_sha256(&cek).unwrap(), "randomized");
        assert_eq!(key.decrypt_oaep_sha256(&wrapped).unwrap(), cek);
        let mut tampered = wrapped.clone();
        tampered[100] ^= 1;
        assert_eq!(key.decrypt_oaep_sha256(&tampered).unwrap_err().kind(), crate::ErrorKind::Integrity);
        assert!(public.encrypt_oaep_sha256(&[0u8; 300]).is_err(), "too long for a 2048-bit key");
    }
}
