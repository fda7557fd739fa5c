//! The charges and refunds a mock holds, in one shape for every provider, for the console and
//! `GET /__mock__/objects`; each keeps the provider-shaped JSON beside the common fields.

use payment_core::Money;
use serde::Serialize;

/// Objects a listing returns when the request names no `limit`.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// The most objects one listing returns, so a mock holding a soak's charges answers quickly.
pub const MAX_LIST_LIMIT: usize = 1_000;

/// One charge or refund as the control API lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MockObject {
    /// The provider's id.
    pub id: String,
    /// The provider's own status word (`succeeded`, `pending`, `sentForSettlement`, …).
    pub status: String,
    /// The amount in minor units.
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// The amount in major units with the currency's decimals (`10.00`, `1000`).
    pub amount_display: String,
    /// The merchant's reference (order number, transaction reference), when the provider keeps one.
    pub reference: Option<String>,
    /// For a refund, the charge it refunds.
    pub charge: Option<String>,
    /// Unix seconds on the mock clock.
    pub created: i64,
    /// Whether the payer can still pay it (`POST /__mock__/charges/{id}/complete`).
    pub completable: bool,
    /// Whether it waits for its customer's authentication (`POST /__mock__/charges/{id}/authenticate`).
    pub authenticable: bool,
    /// The id this library's client reports for it, when not the provider's own (Worldpay's
    /// `wp1.…`, PAY.JP's synthesized refund ids): what the CLI printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The object as the provider's API shows it.
    pub raw: serde_json::Value,
}

impl MockObject {
    /// An object with the fields every provider has; the rest default to absent.
    pub fn new(id: impl Into<String>, status: impl Into<String>, amount: Money, created: i64) -> MockObject {
        MockObject {
            id: id.into(),
            status: status.into(),
            amount: amount.minor,
            currency: amount.currency.code().to_owned(),
            amount_display: amount.to_major_string(),
            reference: None,
            charge: None,
            created,
            completable: false,
            authenticable: false,
            client_id: None,
            raw: serde_json::Value::Null,
        }
    }

    /// With the merchant's reference.
    pub fn reference(mut self, reference: impl Into<String>) -> MockObject {
        self.reference = Some(reference.into()).filter(|r: &String| !r.is_empty());
        self
    }

    /// For a refund: the charge it refunds.
    pub fn of_charge(mut self, charge: impl Into<String>) -> MockObject {
        self.charge = Some(charge.into());
        self
    }

    /// Names the id the library's client reports for it.
    pub fn client_id(mut self, id: impl Into<String>) -> MockObject {
        self.client_id = Some(id.into());
        self
    }

    /// Marks whether it waits for its customer's authentication.
    pub fn authenticable(mut self, authenticable: bool) -> MockObject {
        self.authenticable = authenticable;
        self
    }

    /// Marks whether the payer can still pay it.
    pub fn completable(mut self, completable: bool) -> MockObject {
        self.completable = completable;
        self
    }

    /// With the provider-shaped JSON.
    pub fn raw(mut self, raw: serde_json::Value) -> MockObject {
        self.raw = raw;
        self
    }
}

/// The first `limit` of items held newest first, turned oldest first: a mock renders only what a
/// listing shows, however many objects a soak left in it.
pub fn newest<T>(newest_first: impl Iterator<Item = T>, limit: usize) -> Vec<T> {
    let mut last: Vec<T> = newest_first.take(limit).collect();
    last.reverse();
    last
}

/// The `limit` newest of `items` by creation time (ties in their given order), oldest first.
pub fn newest_by<T>(mut items: Vec<T>, created: impl Fn(&T) -> i64, limit: usize) -> Vec<T> {
    items.sort_by_key(|item| created(item));
    let excess = items.len().saturating_sub(limit);
    items.drain(..excess);
    items
}

/// What a mock holds, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MockObjects {
    /// Charges (payments, authorizations, captures), newest first.
    pub charges: Vec<MockObject>,
    /// Refunds, newest first.
    pub refunds: Vec<MockObject>,
}

impl MockObjects {
    /// Puts lists held oldest first newest first and keeps at most `limit` of each; objects of the
    /// same second stay in reverse creation order, as the clock has only seconds.
    pub fn newest_first(mut self, limit: usize) -> MockObjects {
        for list in [&mut self.charges, &mut self.refunds] {
            list.reverse();
            list.sort_by_key(|o| std::cmp::Reverse(o.created));
            list.truncate(limit);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::Currency;

    #[test]
    fn amounts_carry_their_currencys_decimals() {
        let yen = MockObject::new("ch_1", "succeeded", Money::new(1000, Currency::JPY), 5);
        assert_eq!((yen.amount, yen.currency.as_str(), yen.amount_display.as_str()), (1000, "JPY", "1000"));
        let yuan = MockObject::new("ch_2", "pending", Money::new(1050, Currency::CNY), 6).reference("");
        assert_eq!(yuan.amount_display, "10.50");
        assert_eq!(yuan.reference, None, "an empty reference is no reference");
    }

    #[test]
    fn listings_are_newest_first_and_bounded() {
        let at = |id: &str, t| MockObject::new(id, "succeeded", Money::new(1, Currency::USD), t);
        let objects = MockObjects { charges: vec![at("a", 1), at("b", 3), at("c", 2)], refunds: vec![at("r", 1)] };
        let listed = objects.newest_first(2);
        assert_eq!(listed.charges.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["b", "c"]);
        assert_eq!(listed.refunds.len(), 1);
        let same_second = MockObjects { charges: vec![at("first", 7), at("second", 7)], refunds: vec![] };
        let ids: Vec<String> = same_second.newest_first(5).charges.into_iter().map(|o| o.id).collect();
        assert_eq!(ids, ["second", "first"], "the later of one second comes first");
    }

    #[test]
    fn only_the_newest_are_picked_before_rendering() {
        assert_eq!(newest([5, 4, 3, 2, 1].into_iter(), 2), [4, 5], "taken newest first, given oldest first");
        assert_eq!(newest(std::iter::empty::<u8>(), 3), Vec::<u8>::new());
        let picked = newest_by(vec![("a", 3), ("b", 1), ("c", 3), ("d", 2)], |(_, t)| *t, 3);
        assert_eq!(picked, [("d", 2), ("a", 3), ("c", 3)]);
        assert_eq!(newest_by(vec![("a", 1)], |(_, t)| *t, 5).len(), 1);
    }
}
