//! Lowercase hexadecimal, as signatures and body hashes are written on the wire.

/// `bytes` as lowercase hex, two digits a byte, in one allocation.
pub fn lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_byte_is_two_lowercase_digits() {
        assert_eq!(lower(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(lower(&[]), "");
    }

    proptest! {
        #[test]
        fn agrees_with_the_formatter(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let formatted: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            prop_assert_eq!(lower(&bytes), formatted);
        }
    }
}
