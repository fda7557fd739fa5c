//! RSA "private-encrypted" blocks: PKCS#1 v1.5 type-1 padding with no digest, made with the
//! private key and opened with the public one, in blocks of the key size. Justap sends its
//! encrypted notifications this way; opening one proves the platform made it.

use num_bigint::BigUint;

use crate::crypto::{RsaPrivateKey, RsaPublicKey};
use crate::error::{Error, ErrorKind, Result};

fn integrity(what: &str) -> Error {
    Error::new(ErrorKind::Integrity, format!("RSA block {what}"))
}

/// One DER element: its tag and its contents, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// `n` and `d` of a PKCS#8 RSA private key (`PrivateKeyInfo` around `RSAPrivateKey`).
fn private_components(pkcs8: &[u8]) -> Option<(BigUint, BigUint)> {
    let (0x30, info, _) = tlv(pkcs8)? else { return None };
    let (0x02, _, rest) = tlv(info)? else { return None };
    let (0x30, _, rest) = tlv(rest)? else { return None };
    let (0x04, key, _) = tlv(rest)? else { return None };
    let (0x30, fields, _) = tlv(key)? else { return None };
    let (0x02, _, rest) = tlv(fields)? else { return None };
    let (0x02, n, rest) = tlv(rest)? else { return None };
    let (0x02, _, rest) = tlv(rest)? else { return None };
    let (0x02, d, _) = tlv(rest)? else { return None };
    Some((BigUint::from_bytes_be(n), BigUint::from_bytes_be(d)))
}

fn to_block(value: &BigUint, k: usize) -> Option<Vec<u8>> {
    let bytes = value.to_bytes_be();
    (bytes.len() <= k).then(|| {
        let mut out = vec![0u8; k - bytes.len()];
        out.extend_from_slice(&bytes);
        out
    })
}

impl RsaPublicKey {
    /// The modulus and public exponent.
    fn components(&self) -> Result<(BigUint, BigUint)> {
        let key = aws_lc_rs::rsa::PublicKey::from_der(self.der())
            .map_err(|e| Error::config(format!("the RSA public key was rejected: {e}")))?;
        // `as_ref` is the RFC 8017 `RSAPublicKey`: SEQUENCE { n INTEGER, e INTEGER }.
        let read = || {
            let (0x30, fields, _) = tlv(key.as_ref())? else { return None };
            let (0x02, n, rest) = tlv(fields)? else { return None };
            let (0x02, e, _) = tlv(rest)? else { return None };
            Some((BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)))
        };
        read().ok_or_else(|| Error::config("the RSA public key cannot be read"))
    }

    /// Opens blocks the private half made ([`RsaPrivateKey::seal_private_blocks`]): each
    /// key-sized block must unpad as type 1, else it is an `Integrity` error.
    pub fn open_private_blocks(&self, data: &[u8]) -> Result<Vec<u8>> {
        let (n, e) = self.components()?;
        let k = n.to_bytes_be().len();
        if data.is_empty() || !data.len().is_multiple_of(k) {
            return Err(integrity(&format!("data is {} bytes, not whole {k}-byte blocks", data.len())));
        }
        let mut out = Vec::new();
        for block in data.chunks(k) {
            let c = BigUint::from_bytes_be(block);
            if c >= n {
                return Err(integrity("is not below the modulus"));
            }
            let em = to_block(&c.modpow(&e, &n), k).ok_or_else(|| integrity("does not fit the key"))?;
            // 00 01 FF…FF 00 message, with at least eight FF.
            let padding = em.iter().skip(2).take_while(|b| **b == 0xff).count();
            if em[0] != 0 || em[1] != 1 || padding < 8 || em.get(2 + padding) != Some(&0) {
                return Err(integrity("padding is not PKCS#1 type 1: not made by this key's private half"));
            }
            out.extend_from_slice(&em[3 + padding..]);
        }
        Ok(out)
    }
}

impl RsaPrivateKey {
    /// Seals `plaintext` in blocks of the key size with the private exponent (type-1 padding),
    /// as a platform does for notifications only its public key opens (mocks, tests).
    pub fn seal_private_blocks(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let der = crate::crypto::pem_decode(&self.to_pkcs8_pem()?, &["PRIVATE KEY"])?.1;
        let (n, d) = private_components(&der).ok_or_else(|| Error::config("the RSA private key cannot be read"))?;
        let k = n.to_bytes_be().len();
        let room = k - 11;
        let mut out = Vec::new();
        for chunk in plaintext.chunks(room.max(1)) {
            let mut em = vec![0u8, 1];
            em.extend(std::iter::repeat_n(0xffu8, k - 3 - chunk.len()));
            em.push(0);
            em.extend_from_slice(chunk);
            let c = BigUint::from_bytes_be(&em).modpow(&d, &n);
            out.extend(to_block(&c, k).ok_or_else(|| Error::config("an RSA block does not fit the key"))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> RsaPrivateKey {
        RsaPrivateKey::from_pem(include_str!("../tests/fixtures/oaep_private.pem")).unwrap()
    }

    #[test]
    fn sealed_blocks_open_with_the_public_key_only() {
        let private = key();
        let public = private.public_key().unwrap();
        let text = br#"{"object":"notification","charge_no":"1234","amount_total":12.34}"#.repeat(9);
        let sealed = private.seal_private_blocks(&text).unwrap();
        assert_eq!(sealed.len() % 256, 0);
        assert!(sealed.len() > 256, "several blocks");
        assert_eq!(public.open_private_blocks(&sealed).unwrap(), text);
        let mut tampered = sealed.clone();
        tampered[10] ^= 1;
        assert_eq!(public.open_private_blocks(&tampered).unwrap_err().kind(), ErrorKind::Integrity);
        let other = RsaPrivateKey::generate().unwrap().public_key().unwrap();
        assert!(other.open_private_blocks(&sealed).is_err(), "another key cannot open it");
        assert!(public.open_private_blocks(&sealed[..100]).is_err());
    }

    proptest! {
        #[test]
        fn opening_any_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let public = key().public_key().unwrap();
            let _ = public.open_private_blocks(&data);
        }

        #[test]
        fn the_der_reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = private_components(&data);
            let _ = tlv(&data);
        }
    }
}
