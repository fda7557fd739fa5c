//! RSA keys in PEM and PKCS#1 v1.5 SHA-256 signatures on aws-lc-rs (no OpenSSL), shared by the
//! signing providers (Ping++ requests and webhooks, Justap, Google Standard Payments).

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
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
        return Err(Error::config(format!("PEM block is {label:?}, expected one of {labels:?}")));
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

/// An RSA private key (parsed once, reused for every signature); never printed.
pub struct RsaPrivateKey {
    key: KeyPair,
}

impl RsaPrivateKey {
    /// Parses PEM: PKCS#8 (`PRIVATE KEY`) or PKCS#1 (`RSA PRIVATE KEY`).
    pub fn from_pem(text: &str) -> Result<RsaPrivateKey> {
        let (label, der) = pem_decode(text, &["PRIVATE KEY", "RSA PRIVATE KEY"])?;
        let key = if label == "PRIVATE KEY" { KeyPair::from_pkcs8(&der) } else { KeyPair::from_der(&der) }
            .map_err(|e| Error::config(format!("the RSA private key was rejected: {e}")))?;
        Ok(RsaPrivateKey { key })
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
        Ok(RsaPrivateKey { key })
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

    /// The key as `PUBLIC KEY` PEM.
    pub fn to_pem(&self) -> String {
        pem_encode("PUBLIC KEY", &self.der)
    }

    /// Whether `signature` is an RSA PKCS#1 v1.5 SHA-256 signature of `message` by this key.
    pub fn verify_pkcs1_sha256(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.der).verify(message, signature).is_ok()
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RsaPublicKey({} DER bytes)", self.der.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
