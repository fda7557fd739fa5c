//! Id generators in each provider's style (`ch_` + 30 hex for PAY.JP, 24 alphanumerics for Ping++, …).

use std::sync::Mutex;

use crate::rng::SeededRng;

const HEX: &[u8] = b"0123456789abcdef";
const ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER_ALNUM: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// The characters an id body is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdAlphabet {
    /// `0-9a-f`.
    Hex,
    /// `0-9a-zA-Z`.
    Alphanumeric,
    /// `0-9a-z`.
    LowerAlphanumeric,
}

/// Makes unique ids from a seeded sequence.
#[derive(Debug)]
pub struct IdGen {
    rng: Mutex<SeededRng>,
}

impl IdGen {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> IdGen {
        IdGen { rng: Mutex::new(SeededRng::new(seed ^ 0x1D5)) }
    }

    /// `prefix` followed by `len` characters of `alphabet`.
    pub fn next(&self, prefix: &str, len: usize, alphabet: IdAlphabet) -> String {
        let chars = match alphabet {
            IdAlphabet::Hex => HEX,
            IdAlphabet::Alphanumeric => ALNUM,
            IdAlphabet::LowerAlphanumeric => LOWER_ALNUM,
        };
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let mut id = String::with_capacity(prefix.len() + len);
        id.push_str(prefix);
        for _ in 0..len {
            id.push(chars[(rng.next_u64() % chars.len() as u64) as usize] as char);
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_style_and_do_not_repeat() {
        let g = IdGen::new(1);
        let a = g.next("ch_", 30, IdAlphabet::Hex);
        let b = g.next("ch_", 30, IdAlphabet::Hex);
        assert_eq!(a.len(), 33);
        assert!(a[3..].bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(IdGen::new(1).next("ch_", 30, IdAlphabet::Hex), a, "seeded: reproducible");
    }
}
