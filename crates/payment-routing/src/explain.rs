//! `route explain`: which rule a payment matches, the chain it gets, and why each account is or
//! is not eligible — without sending anything.

use std::fmt;

use serde::Serialize;

use crate::breaker::BreakerState;
use crate::client::RoutedClient;
use crate::table::{ConditionCheck, PaymentFacts};

/// One rule as checked.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCheck {
    /// The rule.
    pub rule: String,
    /// Whether every condition is met.
    pub matched: bool,
    /// Each condition, with whether it is met.
    pub conditions: Vec<(String, bool)>,
}

/// One account of the chosen chain.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// The account.
    pub account: String,
    /// Its provider.
    pub provider: String,
    /// Whether the payment may go there now.
    pub eligible: bool,
    /// Why (or why not).
    pub why: String,
}

/// The whole explanation.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// The rules up to and including the one that matched.
    pub rules: Vec<RuleCheck>,
    /// The rule that matched.
    pub matched: Option<String>,
    /// The chain, in order, with each account's eligibility.
    pub chain: Vec<TargetCheck>,
}

impl RoutedClient {
    /// Explains where a payment with `facts` and idempotency key `key` would go.
    pub fn explain(&self, facts: &PaymentFacts<'_>, key: &str) -> Explanation {
        let mut rules = Vec::new();
        let mut matched = None;
        for rule in self.table().rules() {
            let checks = rule.checks(facts);
            let ok = checks.iter().all(|c| c.met);
            rules.push(RuleCheck {
                rule: rule.name.clone(),
                matched: ok,
                conditions: checks.into_iter().map(|ConditionCheck { condition, met }| (condition, met)).collect(),
            });
            if ok {
                matched = Some(rule);
                break;
            }
        }
        let chain = matched
            .map(|rule| {
                rule.chain(key)
                    .into_iter()
                    .filter_map(|name| self.accounts().get(name))
                    .map(|a| {
                        let provider = a.client.provider_name().to_owned();
                        let (eligible, why) = match (self.ineligible(a, facts), a.breaker.state()) {
                            (Some(why), _) => (false, why),
                            (None, BreakerState::Open { .. }) => {
                                (false, "its circuit is open (failing over at once)".into())
                            }
                            (None, BreakerState::HalfOpen { probing: true }) => {
                                (false, "its circuit is half-open and a probe is out".into())
                            }
                            (None, BreakerState::HalfOpen { probing: false }) => {
                                (true, "its circuit is half-open: the next payment probes it".into())
                            }
                            (None, BreakerState::Closed) => (true, format!("{provider} takes it; circuit closed")),
                        };
                        TargetCheck { account: a.name.clone(), provider, eligible, why }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Explanation { rules, matched: matched.map(|r| r.name.clone()), chain }
    }
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.rules {
            writeln!(f, "rule {}: {}", r.rule, if r.matched { "matches" } else { "does not match" })?;
            for (c, met) in &r.conditions {
                writeln!(f, "  {} {c}", if *met { "yes" } else { "no " })?;
            }
        }
        match &self.matched {
            None => writeln!(f, "no rule matches: the payment would be refused")?,
            Some(name) => {
                writeln!(f, "chain of rule {name}:")?;
                for (i, t) in self.chain.iter().enumerate() {
                    let mark = if t.eligible { "eligible" } else { "skipped" };
                    writeln!(f, "  {}. {} ({}): {mark}, {}", i + 1, t.account, t.provider, t.why)?;
                }
            }
        }
        Ok(())
    }
}
