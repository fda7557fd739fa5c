//! Routed ids name their account (`payjp-backup/ch_…`), so a capture, cancel or refund goes to
//! the account holding the charge without a journal.

use payment_core::{ChargeId, ChargeRecord, Error, RefundRecord, Result};

/// Whether `name` can be an account name: ASCII letters, digits, `-` and `_` (so it never holds
/// the `/` that ends it in an id, and reads the same in an environment variable).
pub fn valid_account_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `account/provider-id`.
pub fn qualify(account: &str, id: &ChargeId) -> ChargeId {
    ChargeId::new(format!("{account}/{}", id.as_str()))
}

/// The account and the provider's own id of a routed id.
pub fn split(id: &ChargeId) -> Result<(&str, ChargeId)> {
    match id.as_str().split_once('/') {
        Some((account, rest)) if valid_account_name(account) && !rest.is_empty() => Ok((account, ChargeId::new(rest))),
        _ => Err(Error::invalid(format!(
            "charge id {:?} does not name its account: a routed charge's id is ACCOUNT/ID, as the router returned it",
            id.as_str()
        ))),
    }
}

/// A charge record with its id qualified by `account`.
pub fn charge_at(account: &str, mut record: ChargeRecord) -> ChargeRecord {
    record.id = qualify(account, &record.id);
    record
}

/// A refund record with its charge's id qualified by `account`.
pub fn refund_at(account: &str, mut record: RefundRecord) -> RefundRecord {
    record.charge_id = qualify(account, &record.charge_id);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_bad_ones_are_refused() {
        let id = qualify("payjp-backup", &ChargeId::new("ch_1"));
        assert_eq!(id.as_str(), "payjp-backup/ch_1");
        let (account, inner) = split(&id).unwrap();
        assert_eq!((account, inner.as_str()), ("payjp-backup", "ch_1"));
        // A provider id may itself hold slashes; only the first one ends the account.
        let slashed = ChargeId::new("worldpay/eyJ/x");
        let (a, inner) = split(&slashed).unwrap();
        assert_eq!((a, inner.as_str()), ("worldpay", "eyJ/x"));
        for bad in ["ch_1", "/ch_1", "payjp/", "pay jp/ch_1"] {
            assert!(split(&ChargeId::new(bad)).unwrap_err().message().contains("ACCOUNT/ID"), "{bad}");
        }
        assert!(!valid_account_name("a/b") && !valid_account_name("") && valid_account_name("payjp_2"));
    }

    proptest::proptest! {
        #[test]
        fn splitting_any_text_never_panics(s in ".{0,60}") {
            let _ = split(&ChargeId::new(s));
        }
    }
}
