//! RSA "private-encrypted" blocks: PKCS#1 v1.5 type-1 padding with no digest, made with the
//! private key and opened with the public one, in blocks of the key size. Justap sends its
//! encrypted notifications this way; opening one proves the platform made it.

use num_bigint::BigUint;

use payment_core::crypto::{RsaPrivateKey, RsaPublicKey, pem_decode};
use payment_core::{Error, ErrorKind, Result};

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

/// The modulus and public exponent of a public key, held as SubjectPublicKeyInfo or (read from an
/// `RSA PUBLIC KEY` PEM) as PKCS#1's `RSAPublicKey`.
fn public_components(key: &RsaPublicKey) -> Result<(BigUint, BigUint)> {
    let der = key.der();
    // RFC 8017's `RSAPublicKey` is SEQUENCE { n INTEGER, e INTEGER }; SubjectPublicKeyInfo is
    // SEQUENCE { AlgorithmIdentifier, BIT STRING { RSAPublicKey } }.
    let n_and_e = |fields: &[u8]| {
        let (0x02, n, rest) = tlv(fields)? else { return None };
        let (0x02, e, _) = tlv(rest)? else { return None };
        Some((BigUint::from_bytes_be(n), BigUint::from_bytes_be(e)))
    };
    let read = || {
        let (0x30, outer, _) = tlv(der)? else { return None };
        if outer.first() == Some(&0x02) {
            return n_and_e(outer);
        }
        let (0x30, _, rest) = tlv(outer)? else { return None };
        let (0x03, bits, _) = tlv(rest)? else { return None };
        let (0, key) = bits.split_first()? else { return None };
        let (0x30, fields, _) = tlv(key)? else { return None };
        n_and_e(fields)
    };
    read().ok_or_else(|| Error::config("the RSA public key cannot be read"))
}

/// Opens blocks the private half of `key` made ([`seal_private_blocks`]): each key-sized block
/// must unpad as type 1, else it is an `Integrity` error.
pub fn open_private_blocks(key: &RsaPublicKey, data: &[u8]) -> Result<Vec<u8>> {
    let (n, e) = public_components(key)?;
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

/// Seals `plaintext` in blocks of the key size with the private exponent (type-1 padding), as
/// Justap does for notifications only its public key opens (the mock, tests).
pub fn seal_private_blocks(key: &RsaPrivateKey, plaintext: &[u8]) -> Result<Vec<u8>> {
    let der = pem_decode(&key.to_pkcs8_pem()?, &["PRIVATE KEY"])?.1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> &'static RsaPrivateKey {
        static KEY: std::sync::LazyLock<RsaPrivateKey> =
            std::sync::LazyLock::new(|| RsaPrivateKey::generate().unwrap());
        &KEY
    }

    #[test]
    fn sealed_blocks_open_with_the_public_key_only() {
        let private = key();
        let public = private.public_key().unwrap();
        let text = br#"{"object":"notification","charge_no":"1234","amount_total":12.34}"#.repeat(9);
        let sealed = seal_private_blocks(private, &text).unwrap();
        assert_eq!(sealed.len() % 256, 0);
        assert!(sealed.len() > 256, "several blocks");
        assert_eq!(open_private_blocks(&public, &sealed).unwrap(), text);
        let mut tampered = sealed.clone();
        tampered[10] ^= 1;
        assert_eq!(open_private_blocks(&public, &tampered).unwrap_err().kind(), ErrorKind::Integrity);
        let other = RsaPrivateKey::generate().unwrap().public_key().unwrap();
        assert!(open_private_blocks(&other, &sealed).is_err(), "another key cannot open it");
        assert!(open_private_blocks(&public, &sealed[..100]).is_err());
    }

    #[test]
    fn a_pkcs1_public_key_opens_the_same_blocks() {
        let private = key();
        let spki = pem_decode(&private.public_key().unwrap().to_pem(), &["PUBLIC KEY"]).unwrap().1;
        // The BIT STRING's contents past its unused-bits byte are the PKCS#1 RSAPublicKey.
        let (_, outer, _) = tlv(&spki).unwrap();
        let (_, _, rest) = tlv(outer).unwrap();
        let (_, bits, _) = tlv(rest).unwrap();
        let pkcs1 = payment_core::crypto::pem_encode("RSA PUBLIC KEY", &bits[1..]);
        let public = RsaPublicKey::from_pem(&pkcs1).unwrap();
        let sealed = seal_private_blocks(private, b"notification").unwrap();
        assert_eq!(open_private_blocks(&public, &sealed).unwrap(), b"notification");
    }

    proptest! {
        #[test]
        fn opening_any_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let public = key().public_key().unwrap();
            let _ = open_private_blocks(&public, &data);
        }

        #[test]
        fn the_der_reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = private_components(&data);
            let _ = tlv(&data);
        }
    }
}
