//! Test cards the mock knows. Any Luhn-valid number makes a token; these numbers decline when charged.
//!
//! | number | outcome at charge time |
//! |---|---|
//! | 4242424242424242, 4012888888881881 (Visa), 5555555555554444 (Mastercard), 3530111333300000 (JCB), 378282246310005 (Amex), 38520000023237 (Diners), 6011111111111117 (Discover) | success |
//! | 4000000000000002 | 402 `card_declined` |
//! | 4000000000000069 | 402 `expired_card` |
//! | 4000000000000127 | 402 `invalid_cvc` |
//! | 4000000000000119 | 402 `processing_error` |
//! | 4000000000000036 | 402 `card_flagged` |
//!
//! The success numbers are the brand test numbers PAY.JP's test mode accepts; the decline numbers
//! follow the convention of PAY.JP-style test modes [I: PAY.JP's own table could not be read].
//!
//! With `three_d_secure=true`, the issuer's page at `/v1/tds/{id}/start` behaves by card:
//!
//! | number | 3-D Secure |
//! |---|---|
//! | any other number (4242424242424242, 4000000000003220, …) | challenge: the page asks the customer (Authenticate, Fail, Abandon) |
//! | 4000000000003055 | frictionless: verified without a question, straight back |
//! | 4000008400001280 | authentication fails without a question, straight back |
//! | 4000008400001629 | passes authentication, then `tds_finish` declines: 402 `card_declined` |
//!
//! [I: PAY.JP's own 3-D Secure test cards could not be read; these follow the common convention.]

/// Brand test numbers that charge successfully.
pub const SUCCESS_CARDS: &[&str] = &[
    "4242424242424242",
    "4012888888881881",
    "5555555555554444",
    "3530111333300000",
    "378282246310005",
    "38520000023237",
    "6011111111111117",
];

/// The numbers that decline at charge time: (number, code, message).
pub const DECLINE_CARDS: &[(&str, &str, &str)] = &[
    ("4000000000000002", "card_declined", "Card declined."),
    ("4000000000000069", "expired_card", "Card expired."),
    ("4000000000000127", "invalid_cvc", "Your card's security code is invalid."),
    ("4000000000000119", "processing_error", "An error occurred while processing the card."),
    ("4000000000000036", "card_flagged", "The card is flagged."),
];

/// How the issuer treats a card in 3-D Secure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tds {
    /// The customer is asked.
    Challenge,
    /// Verified without asking.
    Frictionless,
    /// Refused without asking.
    Refused,
}

/// The frictionless 3-D Secure card.
pub const TDS_FRICTIONLESS: &str = "4000000000003055";
/// The card whose authentication always fails.
pub const TDS_REFUSED: &str = "4000008400001280";
/// The card that passes authentication and is then declined.
pub const TDS_THEN_DECLINED: &str = "4000008400001629";

/// What the issuer's 3-D Secure page does for `number`.
pub fn tds_behaviour(number: &str) -> Tds {
    match number {
        TDS_FRICTIONLESS => Tds::Frictionless,
        TDS_REFUSED => Tds::Refused,
        _ => Tds::Challenge,
    }
}

/// The decline `tds_finish` meets after authentication passed.
pub fn declines_after_tds(number: &str) -> Option<(&'static str, &'static str)> {
    (number == TDS_THEN_DECLINED).then_some(("card_declined", "Card declined."))
}

/// The decline a test card produces at charge time: (code, message).
pub fn decline_for(number: &str) -> Option<(&'static str, &'static str)> {
    DECLINE_CARDS.iter().find(|(n, _, _)| *n == number).map(|(_, code, message)| (*code, *message))
}

/// What the mock does with each test card, for `payment providers --test-data`.
pub fn test_data() -> Vec<payment_mock_kit::TestInput> {
    use payment_mock_kit::TestInput;
    let mut out = vec![TestInput::new(format!("card {}", SUCCESS_CARDS.join(", ")), "succeeds (any other Luhn-valid number too)")];
    out.extend(DECLINE_CARDS.iter().map(|(n, code, _)| TestInput::new(format!("card {n}"), format!("declined at charge time: 402 {code}"))));
    out.push(TestInput::new("3-D Secure: any other card", "challenged: the page asks (Authenticate, Fail, Abandon)"));
    out.push(TestInput::new(format!("3-D Secure: card {TDS_FRICTIONLESS}"), "frictionless: verified without a question"));
    out.push(TestInput::new(format!("3-D Secure: card {TDS_REFUSED}"), "authentication fails: tds_finish 402 three_d_secure_failed"));
    out.push(TestInput::new(format!("3-D Secure: card {TDS_THEN_DECLINED}"), "authenticates, then tds_finish declines: 402 card_declined"));
    out.push(TestInput::new("3-D Secure: 30 minutes of mock time unfinished", "expires: tds_finish 400 three_d_secure_expired"));
    out.push(TestInput::new("secret key sk_live_…", "refused: 401 (the mock takes test keys only)"));
    out
}

/// The brand PAY.JP shows for a number.
pub fn brand(number: &str) -> &'static str {
    let two: u32 = number.get(..2).and_then(|p| p.parse().ok()).unwrap_or(0);
    match two {
        40..=49 => "Visa",
        51..=55 | 22..=27 => "MasterCard",
        35 => "JCB",
        34 | 37 => "American Express",
        30 | 36 | 38 => "Diners Club",
        60 | 64 | 65 => "Discover",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(brand("4242424242424242"), "Visa");
        assert_eq!(brand("3530111333300000"), "JCB");
        assert_eq!(brand("378282246310005"), "American Express");
        assert_eq!(decline_for("4000000000000002").unwrap().0, "card_declined");
        assert!(decline_for("4242424242424242").is_none());
        for n in [
            "4000000000000002",
            "4000000000000069",
            "4000000000000127",
            "4000000000000119",
            "4000000000000036",
            TDS_FRICTIONLESS,
            TDS_REFUSED,
            TDS_THEN_DECLINED,
        ] {
            assert!(payment_core::source::luhn_valid(n), "{n}");
        }
    }
}
