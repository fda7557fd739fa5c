//! The routing table: rules from `[[routes]]`, checked against the accounts at load, and the
//! choice of an ordered chain of accounts for one payment (first matching rule wins).

use std::collections::{BTreeMap, BTreeSet};

use payment_core::{Capabilities, Currency, Error, Result};

use crate::route_config::RouteConfig;

/// What a route is chosen by: the payment's facts.
#[derive(Debug, Clone, Copy)]
pub struct PaymentFacts<'a> {
    /// What it asks: [`PaymentKind::Charge`] or [`PaymentKind::Authorize`].
    pub operation: PaymentKind,
    /// The currency.
    pub currency: Currency,
    /// The amount in minor units.
    pub amount: i64,
    /// The payer's region, when the application knows it (`jp`, `cn`, …).
    pub region: Option<&'a str>,
    /// The charge's metadata.
    pub metadata: &'a BTreeMap<String, String>,
}

/// What a new payment asks an account to do (a rule's `operation = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    /// Charge and capture at once.
    Charge,
    /// Authorize now, capture later.
    Authorize,
}

impl PaymentKind {
    /// `charge` or `authorize`, as written in `operation = [...]`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentKind::Charge => "charge",
            PaymentKind::Authorize => "authorize",
        }
    }

    fn parse(text: &str) -> Option<PaymentKind> {
        match text.to_ascii_lowercase().as_str() {
            "charge" => Some(PaymentKind::Charge),
            name if name == payment_core::Operation::CreateCharge.as_str() => Some(PaymentKind::Charge),
            "authorize" | "authorise" => Some(PaymentKind::Authorize),
            _ => None,
        }
    }

    /// Whether an account with `caps` can do it.
    pub fn supported_by(&self, caps: &Capabilities) -> bool {
        caps.charge.create && (*self == PaymentKind::Charge || caps.charge.capture_later)
    }
}

/// How a rule picks its accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These accounts, in this order.
    Priority(Vec<String>),
    /// One account by weight (summing to 100), picked by a hash of the payment's key so a
    /// repeated payment picks the same one; the others follow by weight as fallbacks.
    Split(Vec<(String, u32)>),
}

/// One checked rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name.
    pub name: String,
    regions: Vec<String>,
    currencies: Vec<Currency>,
    min_amount: Option<i64>,
    max_amount: Option<i64>,
    operations: Vec<PaymentKind>,
    metadata_all: BTreeMap<String, String>,
    metadata_any: BTreeMap<String, String>,
    metadata_not: BTreeMap<String, String>,
    /// Where it sends payments.
    pub selection: Selection,
}

/// One condition of a rule and whether a payment meets it, for `route explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionCheck {
    /// The condition as written (`currency in [JPY]`).
    pub condition: String,
    /// Whether the payment meets it.
    pub met: bool,
}

impl Rule {
    /// Whether `facts` meet every condition (the same test as [`Rule::checks`], without
    /// building its words: this runs for every rule a payment passes).
    pub fn matches(&self, facts: &PaymentFacts<'_>) -> bool {
        let has = |k: &String, v: &String| facts.metadata.get(k) == Some(v);
        (self.regions.is_empty()
            || facts.region.is_some_and(|r| self.regions.iter().any(|x| x.eq_ignore_ascii_case(r))))
            && (self.currencies.is_empty() || self.currencies.contains(&facts.currency))
            && self.min_amount.is_none_or(|min| facts.amount >= min)
            && self.max_amount.is_none_or(|max| facts.amount <= max)
            && (self.operations.is_empty() || self.operations.contains(&facts.operation))
            && self.metadata_all.iter().all(|(k, v)| has(k, v))
            && (self.metadata_any.is_empty() || self.metadata_any.iter().any(|(k, v)| has(k, v)))
            && !self.metadata_not.iter().any(|(k, v)| has(k, v))
    }

    /// Each condition the rule sets, and whether `facts` meet it.
    pub fn checks(&self, facts: &PaymentFacts<'_>) -> Vec<ConditionCheck> {
        let mut out = Vec::new();
        let mut check = |condition: String, met: bool| out.push(ConditionCheck { condition, met });
        if !self.regions.is_empty() {
            let met = facts.region.is_some_and(|r| self.regions.iter().any(|x| x.eq_ignore_ascii_case(r)));
            check(format!("region in [{}]", self.regions.join(", ")), met);
        }
        if !self.currencies.is_empty() {
            let names: Vec<&str> = self.currencies.iter().map(|c| c.code()).collect();
            check(format!("currency in [{}]", names.join(", ")), self.currencies.contains(&facts.currency));
        }
        if let Some(min) = self.min_amount {
            check(format!("amount >= {min}"), facts.amount >= min);
        }
        if let Some(max) = self.max_amount {
            check(format!("amount <= {max}"), facts.amount <= max);
        }
        if !self.operations.is_empty() {
            let names: Vec<&str> = self.operations.iter().map(PaymentKind::as_str).collect();
            check(format!("operation in [{}]", names.join(", ")), self.operations.contains(&facts.operation));
        }
        let has = |k: &String, v: &String| facts.metadata.get(k) == Some(v);
        if !self.metadata_all.is_empty() {
            check(
                format!("metadata has all of {}", pairs(&self.metadata_all)),
                self.metadata_all.iter().all(|(k, v)| has(k, v)),
            );
        }
        if !self.metadata_any.is_empty() {
            check(
                format!("metadata has any of {}", pairs(&self.metadata_any)),
                self.metadata_any.iter().any(|(k, v)| has(k, v)),
            );
        }
        if !self.metadata_not.is_empty() {
            check(
                format!("metadata has none of {}", pairs(&self.metadata_not)),
                !self.metadata_not.iter().any(|(k, v)| has(k, v)),
            );
        }
        out
    }

    /// The accounts to try in order for the payment keyed `key`.
    pub fn chain(&self, key: &str) -> Vec<&str> {
        match &self.selection {
            Selection::Priority(targets) => targets.iter().map(String::as_str).collect(),
            Selection::Split(weights) => {
                let point = stable_hash(key) % 100;
                let mut acc = 0_u64;
                let primary = weights
                    .iter()
                    .find(|(_, w)| {
                        acc += u64::from(*w);
                        point < acc
                    })
                    .map(|(name, _)| name.as_str());
                let mut rest: Vec<&(String, u32)> =
                    weights.iter().filter(|(n, _)| Some(n.as_str()) != primary).collect();
                rest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                primary.into_iter().chain(rest.into_iter().map(|(n, _)| n.as_str())).collect()
            }
        }
    }

    /// Every account the rule names.
    pub fn targets(&self) -> Vec<&str> {
        match &self.selection {
            Selection::Priority(t) => t.iter().map(String::as_str).collect(),
            Selection::Split(w) => w.iter().map(|(n, _)| n.as_str()).collect(),
        }
    }
}

fn pairs(m: &BTreeMap<String, String>) -> String {
    let shown: Vec<String> = m.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", shown.join(", "))
}

/// FNV-1a over the key: stable across processes, builds and platforms (the standard hasher is
/// not promised to be), so a volume split sends a retried payment to the same primary.
pub fn stable_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// The rules, first match wins.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    rules: Vec<Rule>,
}

/// What the table needs to know of each account to check a rule.
#[derive(Debug, Clone, Copy)]
pub struct AccountFacts<'a> {
    /// The provider's name.
    pub provider: &'a str,
    /// What it supports.
    pub capabilities: &'a Capabilities,
}

impl RouteTable {
    /// Checks `routes` against `accounts` (by name): every target configured, able to take each
    /// currency and operation the rule names, weights summing to 100. Errors name the rule.
    pub fn new(routes: &[RouteConfig], accounts: &BTreeMap<String, AccountFacts<'_>>) -> Result<RouteTable> {
        let mut seen = BTreeSet::new();
        let mut rules = Vec::with_capacity(routes.len());
        for (i, r) in routes.iter().enumerate() {
            let rule = check_rule(i, r, accounts)?;
            if !seen.insert(rule.name.clone()) {
                return Err(Error::config(format!("route {} `{}`: another route has this name", i + 1, rule.name)));
            }
            rules.push(rule);
        }
        Ok(RouteTable { rules })
    }

    /// The rules in order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule `facts` match.
    pub fn select(&self, facts: &PaymentFacts<'_>) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(facts))
    }
}

fn check_rule(i: usize, r: &RouteConfig, accounts: &BTreeMap<String, AccountFacts<'_>>) -> Result<Rule> {
    let name = r.name.trim();
    let fail = |why: String| {
        let shown = if name.is_empty() { String::new() } else { format!(" `{name}`") };
        Error::config(format!("route {}{shown}: {why}", i + 1))
    };
    if name.is_empty() {
        return Err(fail("needs a `name`".into()));
    }
    let currencies = r
        .currency
        .iter()
        .map(|c| Currency::from_code(c).map_err(|e| fail(format!("currency {c:?}: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let operations = r
        .operation
        .iter()
        .map(|o| PaymentKind::parse(o).ok_or_else(|| fail(format!("operation {o:?} is not `charge` or `authorize`"))))
        .collect::<Result<Vec<_>>>()?;
    if let (Some(min), Some(max)) = (r.min_amount, r.max_amount)
        && min > max
    {
        return Err(fail(format!("min_amount {min} is above max_amount {max}")));
    }
    let selection = match (r.targets.is_empty(), r.weights.is_empty()) {
        (false, true) => {
            let mut unique = BTreeSet::new();
            if let Some(dup) = r.targets.iter().find(|t| !unique.insert(t.as_str())) {
                return Err(fail(format!("target `{dup}` is listed twice")));
            }
            Selection::Priority(r.targets.clone())
        }
        (true, false) => {
            let sum: u64 = r.weights.values().map(|w| u64::from(*w)).sum();
            if sum != 100 {
                return Err(fail(format!("weights sum to {sum}, not 100")));
            }
            if let Some((n, _)) = r.weights.iter().find(|(_, w)| **w == 0) {
                return Err(fail(format!("weight of `{n}` is 0; leave it out instead")));
            }
            Selection::Split(r.weights.iter().map(|(n, w)| (n.clone(), *w)).collect())
        }
        (false, false) => return Err(fail("has both `targets` and `weights`; choose one".into())),
        (true, true) => return Err(fail("needs `targets = [...]` or `weights = { ... }`".into())),
    };
    let rule = Rule {
        name: name.to_owned(),
        regions: r.region.clone(),
        currencies,
        min_amount: r.min_amount,
        max_amount: r.max_amount,
        operations,
        metadata_all: r.metadata.clone(),
        metadata_any: r.metadata_any.clone(),
        metadata_not: r.metadata_not.clone(),
        selection,
    };
    for target in rule.targets() {
        let Some(account) = accounts.get(target) else {
            let known: Vec<&str> = accounts.keys().map(String::as_str).collect();
            return Err(fail(format!(
                "target `{target}` is not a configured account (configured: {}); add a [{target}] provider table or [accounts.{target}]",
                known.join(", ")
            )));
        };
        let caps = account.capabilities;
        if let Some(c) = rule.currencies.iter().find(|c| !caps.accepts_currency(**c)) {
            return Err(fail(format!("target `{target}` ({}) does not take {}", account.provider, c.code())));
        }
        if let Some(op) = rule.operations.iter().find(|op| !op.supported_by(caps)) {
            return Err(fail(format!("target `{target}` ({}) cannot {}", account.provider, op.as_str())));
        }
        if !caps.charge.create {
            return Err(fail(format!("target `{target}` ({}) cannot create charges", account.provider)));
        }
    }
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use payment_core::Config;

    fn caps(currencies: &'static [Currency], capture_later: bool) -> &'static Capabilities {
        let mut c = payment_core::capabilities::Capabilities::clone(&TEMPLATE);
        c.currencies = currencies;
        c.charge.capture_later = capture_later;
        Box::leak(Box::new(c))
    }

    static TEMPLATE: std::sync::LazyLock<Capabilities> = std::sync::LazyLock::new(crate::testing::capabilities);

    fn accounts() -> BTreeMap<String, AccountFacts<'static>> {
        let jpy = caps(&[Currency::JPY], true);
        let any = caps(&[], false);
        BTreeMap::from([
            ("payjp".into(), AccountFacts { provider: "payjp", capabilities: jpy }),
            ("payjp-backup".into(), AccountFacts { provider: "payjp", capabilities: jpy }),
            ("worldpay".into(), AccountFacts { provider: "worldpay", capabilities: any }),
        ])
    }

    fn table(toml: &str) -> Result<RouteTable> {
        RouteTable::new(&RouteConfig::from_tables(&Config::from_toml_str(toml)?.routes)?, &accounts())
    }

    fn facts<'a>(
        currency: &str,
        amount: i64,
        region: Option<&'a str>,
        m: &'a BTreeMap<String, String>,
    ) -> PaymentFacts<'a> {
        PaymentFacts {
            operation: PaymentKind::Charge,
            currency: Currency::from_code(currency).unwrap(),
            amount,
            region,
            metadata: m,
        }
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let t = table(
            "[[routes]]\nname = \"japan\"\ncurrency = [\"JPY\"]\nregion = [\"jp\"]\nmax_amount = 100000\ntargets = [\"payjp\", \"payjp-backup\", \"worldpay\"]\n\
             [[routes]]\nname = \"vip\"\nmetadata = { tier = \"gold\" }\nmetadata_not = { risk = \"high\" }\ntargets = [\"worldpay\"]\n\
             [[routes]]\nname = \"rest\"\nweights = { worldpay = 100 }\n",
        )
        .unwrap();
        let none = BTreeMap::new();
        assert_eq!(t.select(&facts("JPY", 1000, Some("JP"), &none)).unwrap().name, "japan");
        assert_eq!(
            t.select(&facts("JPY", 1000, Some("JP"), &none)).unwrap().chain("k"),
            ["payjp", "payjp-backup", "worldpay"]
        );
        assert_eq!(t.select(&facts("JPY", 200_000, Some("jp"), &none)).unwrap().name, "rest");
        let gold = BTreeMap::from([("tier".to_owned(), "gold".to_owned())]);
        assert_eq!(t.select(&facts("USD", 1, None, &gold)).unwrap().name, "vip");
        let risky = BTreeMap::from([("tier".to_owned(), "gold".to_owned()), ("risk".to_owned(), "high".to_owned())]);
        assert_eq!(t.select(&facts("USD", 1, None, &risky)).unwrap().name, "rest");
        let checks = t.rules()[0].checks(&facts("USD", 1000, None, &none));
        assert_eq!(checks.iter().filter(|c| !c.met).count(), 2, "{checks:?}");
    }

    #[test]
    fn a_split_is_stable_per_key_and_close_to_its_weights() {
        let t = table("[[routes]]\nname = \"split\"\nweights = { payjp = 80, worldpay = 20 }\n").unwrap();
        let rule = &t.rules()[0];
        assert_eq!(rule.chain("order-1"), rule.chain("order-1"));
        let firsts: Vec<&str> = (0..10_000).map(|i| rule.chain(&format!("order-{i}"))[0]).collect();
        let payjp = firsts.iter().filter(|n| **n == "payjp").count();
        assert!((7_700..=8_300).contains(&payjp), "{payjp} of 10000 to payjp");
        assert_eq!(rule.chain("x").len(), 2);
    }

    #[test]
    fn load_errors_name_the_rule() {
        let cases = [
            (
                "[[routes]]\nname = \"a\"\ntargets = [\"stripe\"]\n",
                "route 1 `a`: target `stripe` is not a configured account",
            ),
            (
                "[[routes]]\nname = \"a\"\ncurrency = [\"USD\"]\ntargets = [\"payjp\"]\n",
                "route 1 `a`: target `payjp` (payjp) does not take USD",
            ),
            ("[[routes]]\nname = \"a\"\noperation = [\"authorize\"]\ntargets = [\"worldpay\"]\n", "cannot authorize"),
            ("[[routes]]\nname = \"a\"\nweights = { payjp = 50, worldpay = 40 }\n", "weights sum to 90, not 100"),
            ("[[routes]]\nname = \"a\"\n", "needs `targets"),
            ("[[routes]]\nname = \"a\"\ntargets = [\"payjp\"]\nweights = { payjp = 100 }\n", "choose one"),
            ("[[routes]]\nname = \"a\"\ntargets = [\"payjp\", \"payjp\"]\n", "listed twice"),
            ("[[routes]]\nname = \"a\"\nmin_amount = 5\nmax_amount = 1\ntargets = [\"payjp\"]\n", "above max_amount"),
            ("[[routes]]\nname = \"a\"\ncurrency = [\"XYZ\"]\ntargets = [\"payjp\"]\n", "currency \"XYZ\""),
            (
                "[[routes]]\nname = \"a\"\ntargets = [\"payjp\"]\n[[routes]]\nname = \"a\"\ntargets = [\"payjp\"]\n",
                "route 2 `a`: another route",
            ),
            ("[[routes]]\nname = \"\"\ntargets = [\"payjp\"]\n", "route 1: needs a `name`"),
        ];
        for (toml, want) in cases {
            let e = table(toml).unwrap_err();
            assert!(e.message().contains(want), "{toml}: {e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn matching_agrees_with_the_explained_checks(amount in -10i64..300_000, region in proptest::option::of("(jp|JP|us|)"), gold in proptest::bool::ANY, currency in 0usize..3) {
            let t = table("[[routes]]\nname = \"a\"\nregion = [\"jp\"]\ncurrency = [\"JPY\", \"USD\"]\nmin_amount = 100\nmax_amount = 100000\nmetadata_any = { tier = \"gold\", vip = \"1\" }\nmetadata_not = { risk = \"high\" }\ntargets = [\"worldpay\"]\n").unwrap();
            let m = if gold { BTreeMap::from([("tier".to_owned(), "gold".to_owned())]) } else { BTreeMap::new() };
            let code = ["JPY", "USD", "EUR"][currency];
            let f = facts(code, amount, region.as_deref(), &m);
            let rule = &t.rules()[0];
            proptest::prop_assert_eq!(rule.matches(&f), rule.checks(&f).iter().all(|c| c.met));
        }

        #[test]
        fn choosing_never_panics_and_always_names_a_configured_account(key in ".{0,40}", amount in proptest::num::i64::ANY, region in proptest::option::of("[a-z]{0,3}")) {
            let t = table("[[routes]]\nname = \"jp\"\nregion = [\"jp\"]\ntargets = [\"payjp\"]\n[[routes]]\nname = \"s\"\nweights = { payjp = 33, worldpay = 67 }\n").unwrap();
            let none = BTreeMap::new();
            let f = PaymentFacts { operation: PaymentKind::Charge, currency: Currency::JPY, amount, region: region.as_deref(), metadata: &none };
            let rule = t.select(&f).unwrap();
            for account in rule.chain(&key) {
                proptest::prop_assert!(accounts().contains_key(account));
            }
        }
    }
}
