//! Idempotency keys and how each provider operation honours a repeated request.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use crate::operation::IdempotencySupport;

/// The key that makes one logical call safe to repeat; fixed before the first attempt.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Longest key accepted by any provider's rules here.
    pub const MAX_LEN: usize = 255;

    /// A caller-chosen key: 1 to 255 visible ASCII characters.
    pub fn new(key: impl Into<String>) -> Result<IdempotencyKey> {
        let key = key.into();
        if key.is_empty() || key.len() > Self::MAX_LEN {
            return Err(Error::invalid(format!(
                "idempotency key must be 1 to {} characters, got {}",
                Self::MAX_LEN,
                key.len()
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            let c = key.chars().find(|c| !c.is_ascii_graphic()).unwrap_or(' ');
            return Err(Error::invalid(format!("idempotency key contains {c:?}; use visible ASCII only")));
        }
        Ok(IdempotencyKey(key))
    }

    /// A fresh random key (UUID v4).
    pub fn generate() -> IdempotencyKey {
        IdempotencyKey(uuid::Uuid::new_v4().to_string())
    }

    /// Longest derived key: short enough for every provider's own limit (GSP's is 100), so a
    /// key a provider accepted still has derived keys it accepts.
    pub const DERIVED_MAX_LEN: usize = 64;

    /// The key of a sub-request of this call (a token before a charge, a later attempt): this key
    /// with `suffix`. A key too long to take the suffix within [`IdempotencyKey::DERIVED_MAX_LEN`]
    /// is first shortened to its start and a digest of the whole key ([`fit_key`]), so two keys
    /// that share a long prefix never derive the same sub-key. The same call always derives the
    /// same sub-key, so a retry of the call replays its sub-requests too.
    pub fn derive(&self, suffix: &str) -> Result<IdempotencyKey> {
        let room = Self::DERIVED_MAX_LEN.checked_sub(suffix.len()).filter(|r| *r > DIGEST_CHARS).ok_or_else(|| {
            Error::invalid(format!(
                "idempotency key suffix is {} characters; at most {}",
                suffix.len(),
                Self::DERIVED_MAX_LEN - DIGEST_CHARS - 1
            ))
        })?;
        if !suffix.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid(format!("idempotency key suffix {suffix:?} must be visible ASCII")));
        }
        // This key is already valid visible ASCII, so any of its characters may stay.
        let mut key = fit_key(&self.0, room, |b| b.is_ascii_graphic());
        key.push_str(suffix);
        Ok(IdempotencyKey(key))
    }

    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks a provider's own limits: at most `max_len` characters, each accepted by `allowed`.
    pub fn check(&self, provider: &'static str, max_len: usize, allowed: fn(char) -> bool) -> Result<()> {
        if self.0.len() > max_len {
            return Err(Error::invalid(format!(
                "idempotency key is {} characters; {provider} accepts at most {max_len}",
                self.0.len()
            ))
            .with_provider(provider));
        }
        // Keys are ASCII (checked at construction): each byte is one character.
        if let Some(c) = self.0.bytes().map(char::from).find(|c| !allowed(*c)) {
            return Err(Error::invalid(format!("idempotency key character {c:?} is not accepted by {provider}"))
                .with_provider(provider));
        }
        Ok(())
    }
}

/// Hex digits of the SHA-256 digest that [`fit_key`] appends (80 bits).
const DIGEST_CHARS: usize = 20;

/// `key` as a name of at most `max` characters drawn from `allowed` (a provider's order number,
/// a derived key): the key itself when it fits; else its first allowed characters and the first
/// 20 hex digits of the SHA-256 of the whole key, so keys that differ anywhere, even past the
/// cut, get different names. `max` must leave room for the digest, and `allowed` must accept
/// hex digits.
pub fn fit_key(key: &str, max: usize, allowed: impl Fn(u8) -> bool) -> String {
    if key.len() <= max && key.bytes().all(&allowed) {
        return key.to_owned();
    }
    let digest = crate::hex::lower(&crate::crypto::sha256(key.as_bytes())[..DIGEST_CHARS / 2]);
    let room = max.saturating_sub(DIGEST_CHARS);
    let mut name: String = key.bytes().filter(|b| allowed(*b)).take(room).map(char::from).collect();
    name.push_str(&digest);
    name
}

impl TryFrom<String> for IdempotencyKey {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        IdempotencyKey::new(s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

/// Per-call options: the idempotency key and a deadline over the whole call, retries included.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// The key to use; a UUID v4 is generated when absent.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The deadline for the whole call (all attempts and waits).
    pub timeout: Option<Duration>,
}

impl RequestOptions {
    /// Options with a caller-chosen idempotency key.
    pub fn with_key(key: IdempotencyKey) -> RequestOptions {
        RequestOptions { idempotency_key: Some(key), timeout: None }
    }

    /// Sets the deadline.
    pub fn timeout(mut self, timeout: Duration) -> RequestOptions {
        self.timeout = Some(timeout);
        self
    }

    /// The key for this call: the caller's, or a fresh one. Call once, before the first attempt.
    pub fn key_or_generate(&self) -> IdempotencyKey {
        self.idempotency_key.clone().unwrap_or_else(IdempotencyKey::generate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a b").is_err());
        assert!(IdempotencyKey::new("é").is_err());
        assert!(IdempotencyKey::new("x".repeat(256)).is_err());
        assert!(IdempotencyKey::new("order-1:attempt_2").is_ok());
        let generated = IdempotencyKey::generate();
        assert_eq!(generated.as_str().len(), 36);
        assert_ne!(generated, IdempotencyKey::generate());
    }

    proptest::proptest! {
        #[test]
        fn fitted_names_are_short_allowed_and_distinct(a in "[ -~]{1,120}", b in "[ -~]{1,120}", max in 21usize..70) {
            let alnum = |c: u8| c.is_ascii_alphanumeric();
            let (x, y) = (fit_key(&a, max, alnum), fit_key(&b, max, alnum));
            proptest::prop_assert!(x.len() <= max && x.bytes().all(alnum));
            proptest::prop_assert_eq!(x == y, a == b);
        }
    }

    #[test]
    fn keys_sharing_a_long_prefix_get_different_names() {
        let alnum = |c: u8| c.is_ascii_alphanumeric();
        let a = format!("{}-1", "order".repeat(10));
        let b = format!("{}-2", "order".repeat(10));
        assert_ne!(fit_key(&a, 32, alnum), fit_key(&b, 32, alnum));
        assert_eq!(fit_key("order1001", 32, alnum), "order1001");
        // Only the characters differ: "order-1" and "order1" are different payments.
        assert_ne!(fit_key("order-1", 32, alnum), fit_key("order1", 32, alnum));
    }

    #[test]
    fn derived_keys_are_stable_distinct_and_within_the_limit() {
        let key = IdempotencyKey::new("order-7").unwrap();
        assert_eq!(key.derive("-tok").unwrap().as_str(), "order-7-tok");
        assert_eq!(key.derive("-tok").unwrap(), key.derive("-tok").unwrap());
        assert_ne!(key.derive("-tok").unwrap(), key);
        let long = IdempotencyKey::new("k".repeat(255)).unwrap();
        let derived = long.derive("-tok").unwrap();
        assert!(derived.as_str().len() <= IdempotencyKey::DERIVED_MAX_LEN);
        assert!(derived.as_str().ends_with("-tok"));
        // Keys that differ only past the cut derive different sub-keys.
        let other = IdempotencyKey::new(format!("{}y", "x".repeat(254))).unwrap();
        let longer = IdempotencyKey::new(format!("{}z", "x".repeat(254))).unwrap();
        assert_ne!(other.derive("-a2").unwrap(), longer.derive("-a2").unwrap());
        assert!(longer.derive("-a99").unwrap().as_str().len() <= 64);
        assert!(key.derive(&"x".repeat(255)).is_err());
        assert!(key.derive("bad suffix").is_err());
    }

    #[test]
    fn provider_limits_apply() {
        let key = IdempotencyKey::new("abc:def").unwrap();
        assert!(key.check("p", 10, |c| c.is_ascii_alphanumeric() || c == ':').is_ok());
        assert!(key.check("p", 5, |_| true).is_err());
        assert!(key.check("p", 10, |c| c.is_ascii_alphanumeric()).is_err());
    }

    #[test]
    fn keys_deserialize_through_validation() {
        assert!(serde_json::from_str::<IdempotencyKey>("\"ok-key\"").is_ok());
        assert!(serde_json::from_str::<IdempotencyKey>("\"bad key\"").is_err());
    }
}
