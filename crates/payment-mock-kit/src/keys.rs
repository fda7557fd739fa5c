//! The RSA keys of a signing mock: the merchant key a client signs with (the mock holds its public
//! half) and the platform key the mock signs answers and webhooks with (a client verifies with its
//! public half); written to `--keys-dir` as `<provider>_merchant_private.pem` and
//! `<provider>_platform_public.pem`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use payment_core::crypto::{RsaPrivateKey, RsaPublicKey};
use payment_core::{Error, ProviderSettings, Result};

use crate::driver::MockOptions;

/// A signing mock's two key pairs. Generation is slow (RSA-2048), so a test run may share one set.
#[derive(Debug, Clone)]
pub struct SigningKeys {
    /// What a client signs requests with; the mock checks signatures with its public half.
    pub merchant: Arc<RsaPrivateKey>,
    /// What the mock signs with; a client verifies with its public half.
    pub platform: Arc<RsaPrivateKey>,
}

impl SigningKeys {
    /// The keys a signing mock starts with: the options' (or fresh ones), written to the options'
    /// `keys_dir` for `provider`; returns them and the files written.
    pub fn for_mock(options: &MockOptions, provider: &str) -> Result<(SigningKeys, Vec<PathBuf>)> {
        let keys = options.signing_keys()?;
        let files = match &options.keys_dir {
            Some(dir) => keys.write(dir, provider)?,
            None => Vec::new(),
        };
        Ok((keys, files))
    }

    /// `settings` with the keys a client of the mock needs, as the signing providers name them:
    /// `private_key` (the merchant key, PEM) and `platform_public_key` (PEM).
    pub fn client_settings(&self, settings: ProviderSettings) -> Result<ProviderSettings> {
        Ok(settings
            .with("private_key", self.merchant_private_pem()?)
            .with("platform_public_key", self.platform_public_pem()?))
    }

    /// Two fresh 2048-bit key pairs.
    pub fn generate() -> Result<SigningKeys> {
        Ok(SigningKeys {
            merchant: Arc::new(RsaPrivateKey::generate()?),
            platform: Arc::new(RsaPrivateKey::generate()?),
        })
    }

    /// The merchant key's public half (the mock checks request signatures with it).
    pub fn merchant_public(&self) -> Result<RsaPublicKey> {
        self.merchant.public_key()
    }

    /// The platform key's public half (a client verifies the mock's signatures with it).
    pub fn platform_public(&self) -> Result<RsaPublicKey> {
        self.platform.public_key()
    }

    /// The merchant private key as PKCS#8 PEM, for a client's `private_key` setting.
    pub fn merchant_private_pem(&self) -> Result<String> {
        self.merchant.to_pkcs8_pem()
    }

    /// The platform public key as PEM, for a client's `platform_public_key` setting.
    pub fn platform_public_pem(&self) -> Result<String> {
        Ok(self.platform_public()?.to_pem())
    }

    /// Writes `<provider>_merchant_private.pem` and `<provider>_platform_public.pem` into `dir`
    /// (created if missing) and returns their paths.
    pub fn write(&self, dir: &Path, provider: &str) -> Result<Vec<PathBuf>> {
        let io = |path: &Path, e: std::io::Error| Error::config(format!("cannot write {}: {e}", path.display()));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let private = dir.join(format!("{provider}_merchant_private.pem"));
        let public = dir.join(format!("{provider}_platform_public.pem"));
        write_secret(&private, self.merchant_private_pem()?.as_bytes())?;
        std::fs::write(&public, self.platform_public_pem()?).map_err(|e| io(&public, e))?;
        Ok(vec![private, public])
    }
}

/// Writes a secret (a private key, a webhook token) readable by its owner alone (mode 0600 on
/// Unix, also when the file was there before).
pub fn write_secret(path: &Path, contents: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| Error::config(format!("cannot write {}: {e}", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600)).map_err(io)?;
    std::io::Write::write_all(&mut file, contents).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_keys_read_back_and_sign_verifiably() {
        let keys = SigningKeys::generate().unwrap();
        let dir = std::env::temp_dir().join(format!("mock-kit-keys-{}", std::process::id()));
        let files = keys.write(&dir, "acme").unwrap();
        assert_eq!(files, [dir.join("acme_merchant_private.pem"), dir.join("acme_platform_public.pem")]);
        let merchant = RsaPrivateKey::from_pem_file(&files[0]).unwrap();
        let platform = RsaPublicKey::from_pem_file(&files[1]).unwrap();
        let signature = merchant.sign_pkcs1_sha256(b"body").unwrap();
        assert!(keys.merchant_public().unwrap().verify_pkcs1_sha256(b"body", &signature));
        let answer = keys.platform.sign_pkcs1_sha256(b"answer").unwrap();
        assert!(platform.verify_pkcs1_sha256(b"answer", &answer));
        assert!(!format!("{keys:?}").contains("BEGIN"), "keys never print");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&files[0]), 0o600, "the private key is its owner's alone");
            // Written again over a file anyone could read: still the owner's alone.
            std::fs::set_permissions(&files[0], std::fs::Permissions::from_mode(0o644)).unwrap();
            keys.write(&dir, "acme").unwrap();
            assert_eq!(mode(&files[0]), 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
