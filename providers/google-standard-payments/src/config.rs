//! `GspConfig`: the PIAID, the processor's host, and the two keys (ours and the processor's),
//! parsed once and never printed.

use std::fmt;
use std::sync::Arc;

use payment_core::crypto::{RsaPrivateKey, RsaPublicKey};
use payment_core::{ConfigKey, Error, Mode, ProviderSettings, Result};

use crate::NAME;
use crate::signing::{Envelope, Protection};

/// The settings Google Standard Payments takes besides `mode`, `base_url` and `timeout`.
pub const CONFIG_KEYS: &[ConfigKey] = &[
    ConfigKey { name: "payment_integrator_account_id", doc: "the PIAID the processor knows us by", required: true },
    ConfigKey {
        name: "private_key_path",
        doc: "our RSA key (PEM, PKCS#8 or PKCS#1): signs requests, decrypts replies",
        required: true,
    },
    ConfigKey { name: "private_key", doc: "the same key as PEM text, instead of a file", required: false },
    ConfigKey {
        name: "integrator_public_key_path",
        doc: "the processor's RSA public key (PEM): requests are encrypted to it, its signatures verified",
        required: true,
    },
    ConfigKey { name: "integrator_public_key", doc: "the same key as PEM text, instead of a file", required: false },
    ConfigKey { name: "key_id", doc: "the kid of our key, when the processor holds several", required: false },
    ConfigKey {
        name: "integrator_key_id",
        doc: "the kid of the processor's key, when it has several",
        required: false,
    },
    ConfigKey {
        name: "encoding",
        doc: "how bodies are protected: jose (JWS in JWE) or pgp (feature pgp)",
        required: false,
    },
    ConfigKey {
        name: "pgp_private_key_path",
        doc: "with encoding pgp: our armoured OpenPGP secret key",
        required: false,
    },
    ConfigKey { name: "pgp_private_key", doc: "the same key as armoured text, instead of a file", required: false },
    ConfigKey {
        name: "integrator_pgp_public_key_path",
        doc: "with encoding pgp: the processor's armoured OpenPGP public key",
        required: false,
    },
    ConfigKey {
        name: "integrator_pgp_public_key",
        doc: "the same key as armoured text, instead of a file",
        required: false,
    },
];

/// The names of [`CONFIG_KEYS`].
pub const KEYS: &[&str] = &[
    "payment_integrator_account_id",
    "private_key_path",
    "private_key",
    "integrator_public_key_path",
    "integrator_public_key",
    "key_id",
    "integrator_key_id",
    "encoding",
    "pgp_private_key_path",
    "pgp_private_key",
    "integrator_pgp_public_key_path",
    "integrator_pgp_public_key",
];

/// The keys bodies are protected with.
#[derive(Clone)]
pub enum GspKeys {
    /// JOSE: our RSA key (signs, decrypts) and the processor's (encrypted to, verifies), with kids.
    Jose {
        /// Our key.
        private_key: Arc<RsaPrivateKey>,
        /// Its kid.
        key_id: Option<String>,
        /// The processor's key.
        integrator_public_key: RsaPublicKey,
        /// Its kid.
        integrator_key_id: Option<String>,
    },
    /// OpenPGP: our secret key and the processor's public key (feature `pgp`).
    #[cfg(feature = "pgp")]
    Pgp(crate::pgp::PgpEnvelope),
}

/// How to reach a processor.
#[derive(Clone)]
pub struct GspConfig {
    /// The payment integrator account id.
    pub piaid: String,
    /// The processor's host; methods are `{base}/v1/capture`, `/v1/refund`, `/v1/echo`.
    pub base_url: url::Url,
    /// Live or the embedded mock.
    pub mode: Mode,
    /// The keys.
    pub keys: GspKeys,
}

fn valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= 128 && kid.bytes().all(|b| b.is_ascii_graphic())
}

fn jose_keys(settings: &ProviderSettings) -> Result<GspKeys> {
    let private_key = settings.rsa_private_key("private_key")?.ok_or_else(|| {
        Error::config(format!("{NAME} signs every request: set {}", settings.describe_key("private_key_path")))
    })?;
    let integrator = settings.rsa_public_key("integrator_public_key")?.ok_or_else(|| {
        Error::config(format!(
            "{NAME} encrypts every request to the processor: set {}",
            settings.describe_key("integrator_public_key_path")
        ))
    })?;
    Ok(GspKeys::Jose {
        private_key: Arc::new(private_key),
        key_id: settings.get("key_id").map(str::to_owned),
        integrator_public_key: integrator,
        integrator_key_id: settings.get("integrator_key_id").map(str::to_owned),
    })
}

/// Reads an armoured key from `<key>_path` (a file) or `<key>` (text).
#[cfg(feature = "pgp")]
fn armored(settings: &ProviderSettings, key: &'static str, path_key: &'static str) -> Result<String> {
    match (settings.get(path_key), settings.get(key)) {
        (Some(_), Some(_)) => Err(Error::config(format!("{NAME}: set {path_key} or {key}, not both"))),
        (Some(p), None) => std::fs::read_to_string(p)
            .map_err(|e| Error::config(format!("cannot read {p}: {e} ({})", settings.describe_key(path_key)))),
        (None, Some(text)) => Ok(text.to_owned()),
        (None, None) => Err(Error::config(format!("{NAME} encoding pgp needs {}", settings.describe_key(path_key)))),
    }
}

#[cfg(feature = "pgp")]
fn pgp_keys(settings: &ProviderSettings) -> Result<GspKeys> {
    let own = armored(settings, "pgp_private_key", "pgp_private_key_path")?;
    let peer = armored(settings, "integrator_pgp_public_key", "integrator_pgp_public_key_path")?;
    crate::pgp::PgpEnvelope::from_armored(&own, &peer)
        .map(GspKeys::Pgp)
        .map_err(|e| Error::config(format!("{} ({})", e.message(), settings.describe_key("pgp_private_key_path"))))
}

#[cfg(not(feature = "pgp"))]
fn pgp_keys(settings: &ProviderSettings) -> Result<GspKeys> {
    Err(Error::config(format!(
        "{NAME} encoding \"pgp\" needs the `pgp` feature of payment-google-standard-payments ({})",
        settings.describe_key("encoding")
    )))
}

impl GspConfig {
    /// A config for a processor at `base_url`.
    pub fn new(
        piaid: &str,
        base_url: &str,
        private_key: Arc<RsaPrivateKey>,
        integrator_public_key: RsaPublicKey,
    ) -> Result<GspConfig> {
        let config = GspConfig {
            piaid: piaid.to_owned(),
            base_url: ProviderSettings::new(NAME).with("base_url", base_url).base_url(base_url)?,
            mode: Mode::Live,
            keys: GspKeys::Jose { private_key, key_id: None, integrator_public_key, integrator_key_id: None },
        };
        config.validate()?;
        Ok(config)
    }

    /// A config whose bodies are OpenPGP messages (feature `pgp`).
    #[cfg(feature = "pgp")]
    pub fn new_pgp(piaid: &str, base_url: &str, envelope: crate::pgp::PgpEnvelope) -> Result<GspConfig> {
        let config = GspConfig {
            piaid: piaid.to_owned(),
            base_url: ProviderSettings::new(NAME).with("base_url", base_url).base_url(base_url)?,
            mode: Mode::Live,
            keys: GspKeys::Pgp(envelope),
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `[google-standard-payments]` settings (`PAYMENT_GOOGLE_STANDARD_PAYMENTS_*`).
    pub fn from_settings(settings: &ProviderSettings) -> Result<GspConfig> {
        settings.check_keys(KEYS)?;
        let mode = settings.mode()?;
        if settings.get("encoding").is_none_or(|e| e.eq_ignore_ascii_case("jose")) {
            settings.require_all(&[
                "base_url",
                "payment_integrator_account_id",
                "private_key_path",
                "integrator_public_key_path",
            ])?;
        }
        let keys = match settings.get("encoding").map(str::to_ascii_lowercase).as_deref() {
            None | Some("jose") => jose_keys(settings)?,
            Some("pgp") => pgp_keys(settings)?,
            Some(other) => {
                return Err(Error::config(format!(
                    "{NAME} encoding {other:?} is not jose or pgp ({})",
                    settings.describe_key("encoding")
                )));
            }
        };
        let base = settings.require("base_url").map_err(|_| {
            Error::config(format!(
                "{NAME} has no default host (each processor hosts its own): set {}",
                settings.describe_key("base_url")
            ))
        })?;
        let config = GspConfig {
            piaid: settings.require("payment_integrator_account_id")?.to_owned(),
            base_url: settings.base_url(base)?,
            mode,
            keys,
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads `PAYMENT_GOOGLE_STANDARD_PAYMENTS_*` from the environment.
    pub fn from_env() -> Result<GspConfig> {
        GspConfig::from_settings(&payment_core::Config::from_env(&[NAME]).settings(NAME))
    }

    /// Our side's protection: signs with our key, encrypts to the processor's.
    pub fn protection(&self) -> Protection {
        match &self.keys {
            GspKeys::Jose { private_key, key_id, integrator_public_key, integrator_key_id } => {
                Protection::Jose(Envelope::new(
                    private_key.clone(),
                    key_id.clone(),
                    integrator_public_key.clone(),
                    integrator_key_id.clone(),
                ))
            }
            #[cfg(feature = "pgp")]
            GspKeys::Pgp(envelope) => Protection::Pgp(envelope.clone()),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.piaid.is_empty() || self.piaid.len() > 100 || !self.piaid.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::config(format!(
                "{NAME} payment_integrator_account_id {:?} is not 1 to 100 visible characters",
                self.piaid
            )));
        }
        // Without the pgp feature there is one kind of keys, and this always matches.
        #[allow(irrefutable_let_patterns)]
        if let GspKeys::Jose { key_id, integrator_key_id, .. } = &self.keys {
            for kid in [key_id, integrator_key_id].into_iter().flatten() {
                if !valid_kid(kid) {
                    return Err(Error::config(format!("{NAME} key id {kid:?} is not 1 to 128 visible characters")));
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for GspConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GspConfig")
            .field("piaid", &self.piaid)
            .field("base_url", &self.base_url.as_str())
            .field("mode", &self.mode)
            .field("encoding", &self.protection().encoding())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_keys_never_printed() {
        let ours = RsaPrivateKey::generate().unwrap();
        let theirs = RsaPrivateKey::generate().unwrap().public_key().unwrap();
        let base = ProviderSettings::new(NAME)
            .with("payment_integrator_account_id", "InvisiCashUSA_USD")
            .with("private_key", ours.to_pkcs8_pem().unwrap())
            .with("integrator_public_key", theirs.to_pem())
            .with("base_url", "https://processor.example");
        let c = GspConfig::from_settings(&base).unwrap();
        assert!(!format!("{c:?}").contains("BEGIN"));
        let pgp = base.clone().with("encoding", "pgp");
        let e = GspConfig::from_settings(&pgp).unwrap_err();
        if cfg!(feature = "pgp") {
            assert!(e.message().contains("PGP_PRIVATE_KEY_PATH"), "{e}");
        } else {
            assert!(e.message().contains("`pgp` feature"), "{e}");
        }
        assert!(GspConfig::from_settings(&base.clone().with("encoding", "xml")).is_err());
        let no_host = ProviderSettings::new(NAME)
            .with("payment_integrator_account_id", "P")
            .with("private_key", ours.to_pkcs8_pem().unwrap())
            .with("integrator_public_key", theirs.to_pem());
        assert!(
            GspConfig::from_settings(&no_host)
                .unwrap_err()
                .message()
                .contains("PAYMENT_GOOGLE_STANDARD_PAYMENTS_BASE_URL")
        );
        let no_key = ProviderSettings::new(NAME)
            .with("payment_integrator_account_id", "P")
            .with("base_url", "https://p.example");
        assert!(
            GspConfig::from_settings(&no_key)
                .unwrap_err()
                .message()
                .contains("PAYMENT_GOOGLE_STANDARD_PAYMENTS_PRIVATE_KEY_PATH")
        );
        assert!(GspConfig::from_settings(&base.clone().with("key_id", "has space")).is_err());
        assert!(GspConfig::from_settings(&base.with("typo", "x")).unwrap_err().message().contains("typo"));
    }
}
