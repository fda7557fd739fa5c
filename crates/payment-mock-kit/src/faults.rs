//! Fault injection by rule, probability, method and path, from a seeded generator.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rng::SeededRng;

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// The handler runs and its state change is kept; then the connection closes with no response.
    DropAfterCommit,
    /// The connection closes after the request is read and before the handler runs.
    ResetBeforeCommit,
    /// Answer with this status (the provider's own error body) instead of running the handler.
    Status {
        /// The HTTP status (e.g. 503, 429).
        status: u16,
        /// A `Retry-After` in seconds, if any.
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// The handler runs and its state change is kept; then this status (the provider's own error
    /// body) is answered instead of the result: a provider failing after it committed.
    StatusAfterCommit {
        /// The HTTP status (e.g. 500, 502).
        status: u16,
    },
    /// Run the handler, then add unknown fields to the JSON answer (top level and list items), to
    /// prove clients tolerate what they do not know.
    ExtraFields,
    /// Run the handler, then change the amount (or, with no amount, the currency) the JSON answer
    /// echoes, to prove clients check what the provider says it did against what they asked for.
    AlterAmount,
    /// The provider charges one minor unit more than asked and answers as if it charged what
    /// was asked: the handler sees the request's first amount raised by one, and the answer's
    /// first amount is lowered by one again. What the provider holds then differs from what the
    /// client was told, which only reconciliation can see.
    ChargeOtherAmount,
    /// Wait this long before running the handler.
    Delay {
        /// Milliseconds.
        ms: u64,
    },
}

/// One rule: a fault, when it applies, and how often. Read from JSON with every field checked:
/// a field neither the rule nor its kind has (`method` for `methods`) is refused with the list of
/// valid ones, whatever the kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultRule {
    /// The fault.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Chance per matching request (default 1).
    pub probability: f64,
    /// HTTP methods it applies to (empty: all).
    pub methods: Vec<String>,
    /// The paths it applies to (absent: all except `/__mock__/`): a prefix, or, with `*` segments,
    /// a whole path where each `*` matches one segment (`/v1/charges/*/capture`).
    pub path: Option<String>,
    /// How many times it may fire in all (absent: no limit).
    pub times: Option<u32>,
    /// How many matching requests pass untouched before it may fire (a read that must succeed
    /// before the one that fails: an action's own read, then the lookup after it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
}

impl FaultRule {
    /// A rule that always fires for every request.
    pub fn always(kind: FaultKind) -> FaultRule {
        FaultRule { kind, probability: 1.0, methods: Vec::new(), path: None, times: None, after: None }
    }

    /// Restricts to methods.
    pub fn methods(mut self, methods: &[&str]) -> FaultRule {
        self.methods = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        self
    }

    /// Restricts to a path prefix or pattern (see [`FaultRule::path`]).
    pub fn path(mut self, prefix: &str) -> FaultRule {
        self.path = Some(prefix.to_owned());
        self
    }

    /// Fires at most `n` times.
    pub fn times(mut self, n: u32) -> FaultRule {
        self.times = Some(n);
        self
    }

    /// Lets the first `n` matching requests pass.
    pub fn after(mut self, n: u32) -> FaultRule {
        self.after = Some(n);
        self
    }

    /// Fires with probability `p`.
    pub fn probability(mut self, p: f64) -> FaultRule {
        self.probability = p;
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && self.path.as_deref().is_none_or(|p| path_matches(p, path))
            && self.times != Some(0)
    }
}

/// A prefix, or a whole path with `*` standing for one segment.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    if !pattern.contains('*') {
        return path.starts_with(pattern);
    }
    let (mut want, mut got) = (pattern.split('/'), path.split('/'));
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some("*"), Some(segment)) if !segment.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// The `POST /__mock__/faults` body: `{"seed":1,"rules":[…]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// The seed of the generator (same seed, same faults).
    #[serde(default)]
    pub seed: u64,
    /// The rules, tried in order.
    pub rules: Vec<FaultRule>,
}

impl FaultPlan {
    /// A plan with the given rules and seed 0.
    pub fn new(rules: Vec<FaultRule>) -> FaultPlan {
        FaultPlan { seed: 0, rules }
    }

    /// Checks the values a JSON plan may get wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.rules.iter().enumerate() {
            if !(0.0..=1.0).contains(&r.probability) {
                return Err(format!("rule {i}: probability {} is not within 0..=1", r.probability));
            }
            if let FaultKind::Status { status, .. } = r.kind
                && !(100..=599).contains(&status)
            {
                return Err(format!("rule {i}: status {status} is not an HTTP status"));
            }
        }
        Ok(())
    }
}

/// The fields every rule takes, whatever its kind.
const RULE_FIELDS: [&str; 6] = ["kind", "probability", "methods", "path", "times", "after"];

/// The fields of each kind besides `kind`.
fn kind_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "drop_after_commit" | "reset_before_commit" | "extra_fields" | "alter_amount" | "charge_other_amount" => &[],
        "status" => &["status", "retry_after"],
        "status_after_commit" => &["status"],
        "delay" => &["ms"],
        _ => return None,
    })
}

/// The kinds a rule may have, as JSON names them.
const KINDS: &str = "drop_after_commit, reset_before_commit, status, status_after_commit, extra_fields, alter_amount, charge_other_amount, delay";

impl<'de> Deserialize<'de> for FaultRule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<FaultRule, D::Error> {
        use serde::de::Error as _;
        let mut fields = serde_json::Map::<String, serde_json::Value>::deserialize(deserializer)?;
        let kind = fields
            .get("kind")
            .and_then(|k| k.as_str())
            .ok_or_else(|| D::Error::custom(format!("a rule needs `kind`: one of {KINDS}")))?
            .to_owned();
        let own = kind_fields(&kind).ok_or_else(|| D::Error::custom(format!("kind {kind:?} is not one of {KINDS}")))?;
        if let Some(unknown) = fields.keys().find(|k| !RULE_FIELDS.contains(&k.as_str()) && !own.contains(&k.as_str()))
        {
            let valid: Vec<&str> = RULE_FIELDS.iter().chain(own).copied().collect();
            return Err(D::Error::custom(format!(
                "a {kind} rule has no field `{unknown}`; its fields: {}",
                valid.join(", ")
            )));
        }
        let probability = optional(&mut fields, "probability")?.unwrap_or(1.0);
        let methods = optional(&mut fields, "methods")?.unwrap_or_default();
        let path = optional(&mut fields, "path")?;
        let times = optional(&mut fields, "times")?;
        let after = optional(&mut fields, "after")?;
        // What is left is the kind and its own fields.
        let kind: FaultKind = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|e| D::Error::custom(format!("a {kind} rule: {e}")))?;
        Ok(FaultRule { kind, probability, methods, path, times, after })
    }
}

/// Takes `name` out of a rule's fields and reads it (absent or null: `None`).
fn optional<T: serde::de::DeserializeOwned, E: serde::de::Error>(
    fields: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<T>, E> {
    match fields.remove(name).filter(|v| !v.is_null()) {
        Some(v) => serde_json::from_value(v).map(Some).map_err(|e| E::custom(format!("{name}: {e}"))),
        None => Ok(None),
    }
}

/// What to do with one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultDecision {
    /// Wait first.
    pub delay: Duration,
    /// Then, instead of (or after) the handler, this.
    pub action: Option<FaultKind>,
}

/// The active plan and its generator.
#[derive(Debug, Default)]
pub struct FaultEngine {
    rules: Vec<FaultRule>,
    seed: u64,
    rng: Option<SeededRng>,
}

impl FaultEngine {
    /// Replaces the plan.
    pub fn set(&mut self, plan: FaultPlan) {
        self.rng = Some(SeededRng::new(plan.seed));
        self.seed = plan.seed;
        self.rules = plan.rules;
    }

    /// The rules that can still fire (each `times` is what is left), with the seed they were
    /// installed with: posted back, with a rule added, it is the same plan plus that rule.
    pub fn plan(&self) -> FaultPlan {
        let rules = self.rules.iter().filter(|r| r.times != Some(0)).cloned().collect();
        FaultPlan { seed: self.seed, rules }
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Decides for one request: delays add up; the first other fault that fires wins.
    pub fn decide(&mut self, method: &str, path: &str) -> FaultDecision {
        let mut decision = FaultDecision::default();
        if path.starts_with("/__mock__/") {
            return decision;
        }
        let rng = self.rng.get_or_insert_with(|| SeededRng::new(0));
        for rule in self.rules.iter_mut() {
            if !rule.matches(method, path) {
                continue;
            }
            if let Some(n) = rule.after.as_mut().filter(|n| **n > 0) {
                *n -= 1;
                continue;
            }
            if !rng.chance(rule.probability) {
                continue;
            }
            let fired = match &rule.kind {
                FaultKind::Delay { ms } => {
                    decision.delay += Duration::from_millis(*ms);
                    true
                }
                other if decision.action.is_none() => {
                    decision.action = Some(other.clone());
                    true
                }
                _ => false,
            };
            if fired && let Some(t) = rule.times.as_mut() {
                *t -= 1;
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_with_after_lets_that_many_matching_requests_pass_first() {
        let mut e = FaultEngine::default();
        let fail = FaultKind::Status { status: 503, retry_after: None };
        e.set(FaultPlan::new(vec![FaultRule::always(fail.clone()).methods(&["GET"]).after(1)]));
        assert_eq!(e.decide("POST", "/v1/x").action, None, "not a matching request");
        assert_eq!(e.decide("GET", "/v1/x").action, None, "the first read passes");
        assert_eq!(e.decide("GET", "/v1/x").action, Some(fail.clone()));
        assert_eq!(e.decide("GET", "/v1/x").action, Some(fail));
    }

    #[test]
    fn plans_parse_from_the_documented_json() {
        let plan: FaultPlan = serde_json::from_str(
            r#"{"seed":1,"rules":[{"kind":"drop_after_commit","probability":0.3,"methods":["POST"]},
                {"kind":"status","status":429,"retry_after":2,"times":1},{"kind":"delay","ms":50,"path":"/v1/"}]}"#,
        )
        .unwrap();
        assert_eq!(plan.rules.len(), 3);
        assert_eq!(plan.rules[1].kind, FaultKind::Status { status: 429, retry_after: Some(2) });
        assert!(serde_json::from_str::<FaultPlan>(r#"{"rules":[{"kind":"explode"}]}"#).is_err());
        // A field neither the rule nor its kind has is refused the same way for every kind.
        for rule in
            [r#"{"kind":"drop_after_commit","method":"POST"}"#, r#"{"kind":"status","status":503,"method":"POST"}"#]
        {
            let e = serde_json::from_str::<FaultPlan>(&format!(r#"{{"rules":[{rule}]}}"#)).unwrap_err().to_string();
            assert!(e.contains("no field `method`") && e.contains("methods"), "{e}");
        }
        let e =
            serde_json::from_str::<FaultPlan>(r#"{"rules":[{"kind":"delay","ms":5,"retry_after":1}]}"#).unwrap_err();
        assert!(e.to_string().contains("its fields: kind, probability, methods, path, times, after, ms"), "{e}");
        let e = serde_json::from_str::<FaultPlan>(r#"{"rules":[{"probability":1}]}"#).unwrap_err();
        assert!(e.to_string().contains("needs `kind`"), "{e}");
        let bad = FaultPlan::new(vec![FaultRule::always(FaultKind::Status { status: 99, retry_after: None })]);
        assert!(bad.validate().is_err());
    }

    #[test]
    fn times_method_and_path_limit_a_rule() {
        let mut e = FaultEngine::default();
        e.set(FaultPlan::new(vec![
            FaultRule::always(FaultKind::Status { status: 503, retry_after: None })
                .methods(&["post"])
                .path("/v1/charges")
                .times(2),
            FaultRule::always(FaultKind::Delay { ms: 10 }),
        ]));
        assert_eq!(e.decide("GET", "/v1/charges").action, None);
        assert!(e.decide("POST", "/v1/charges").action.is_some());
        assert_eq!(e.plan().rules[0].times, Some(1), "what is left");
        let d = e.decide("POST", "/v1/charges/x/refund");
        assert!(d.action.is_some());
        assert_eq!(d.delay, Duration::from_millis(10));
        assert_eq!(e.decide("POST", "/v1/charges").action, None, "used up");
        assert_eq!(e.plan().rules, [FaultRule::always(FaultKind::Delay { ms: 10 })], "a spent rule is not in force");
        assert_eq!(e.decide("POST", "/__mock__/faults"), FaultDecision::default());
    }

    #[test]
    fn patterns_match_whole_paths_segment_by_segment() {
        assert!(path_matches("/v1/charges", "/v1/charges/ch_1/capture"), "no star: a prefix");
        assert!(path_matches("/v1/charges/*/capture", "/v1/charges/ch_1/capture"));
        assert!(!path_matches("/v1/charges/*/capture", "/v1/charges/ch_1/refund"));
        assert!(!path_matches("/v1/charges/*/capture", "/v1/charges//capture"));
        assert!(!path_matches("/v1/charges/*", "/v1/charges/ch_1/capture"));
        assert!(!path_matches("/v1/charges/*", "/v1/charges"));
        let mut e = FaultEngine::default();
        e.set(FaultPlan::new(vec![FaultRule::always(FaultKind::DropAfterCommit).path("/v1/charges/*/capture")]));
        assert_eq!(e.decide("POST", "/v1/tokens").action, None);
        assert_eq!(e.decide("POST", "/v1/charges/ch_1/capture").action, Some(FaultKind::DropAfterCommit));
    }

    #[test]
    fn probability_is_seeded() {
        let run = |seed| {
            let mut e = FaultEngine::default();
            e.set(FaultPlan { seed, rules: vec![FaultRule::always(FaultKind::DropAfterCommit).probability(0.3)] });
            (0..1000).filter(|_| e.decide("POST", "/x").action.is_some()).count()
        };
        assert_eq!(run(7), run(7));
        let hits = run(7);
        assert!((200..400).contains(&hits), "{hits}");
    }
}
