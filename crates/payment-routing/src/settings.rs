//! The router's own settings: `[routing]` in the config file, `PAYMENT_ROUTING_*` in the environment.

use std::time::Duration;

use payment_core::{Error, ProviderSettings, Result};

use crate::breaker::BreakerSettings;

/// What the router does with a charge found to have succeeded after the payment moved on and
/// succeeded elsewhere (a double charge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LateSuccess {
    /// Refund it (or cancel it, when only authorized), and report it.
    Reverse,
    /// Only report it: a person reverses it.
    Report,
}

/// How the router routes and fails over.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingSettings {
    /// Most accounts one payment is tried at (attempts, not engine retries).
    pub max_attempts: u32,
    /// Whether a decline the provider marks soft may be tried at the next account.
    pub failover_on_soft_decline: bool,
    /// Each account's circuit breaker.
    pub breaker: BreakerSettings,
    /// What to do with a double charge.
    pub late_success: LateSuccess,
}

impl Default for RoutingSettings {
    fn default() -> RoutingSettings {
        RoutingSettings {
            max_attempts: 3,
            failover_on_soft_decline: false,
            breaker: BreakerSettings::default(),
            late_success: LateSuccess::Reverse,
        }
    }
}

/// The keys `[routing]` takes, each with what it sets.
pub const ROUTING_KEYS: &[(&str, &str)] = &[
    ("max_attempts", "most accounts one payment is tried at (default 3)"),
    ("failover_on_soft_decline", "try a soft decline at the next account (default false)"),
    ("breaker_failures", "failures in a row that open an account's circuit (default 5)"),
    ("breaker_failure_rate", "or this percentage of failures over the window (default 50)"),
    ("breaker_window", "the window of that rate (default 60s)"),
    ("breaker_min_calls", "calls the window needs before the rate counts (default 20)"),
    ("breaker_open_for", "how long a circuit stays open before one probe (default 30s)"),
    ("late_success", "`reverse` (refund or cancel a double charge, default) or `report`"),
];

impl RoutingSettings {
    /// Reads `[routing]`; unknown keys and bad values are refused with the key's name.
    pub fn from_settings(s: &ProviderSettings) -> Result<RoutingSettings> {
        let known: Vec<&str> = ROUTING_KEYS.iter().map(|(k, _)| *k).collect();
        if let Some(key) = s.keys().find(|k| !known.contains(k)) {
            return Err(Error::config(format!(
                "[routing] has no setting `{key}`; known settings: {}",
                known.join(", ")
            )));
        }
        let d = RoutingSettings::default();
        let number = |key: &str, default: u32, min: u32| -> Result<u32> {
            match s.get(key) {
                None => Ok(default),
                Some(v) => v.trim().parse::<u32>().ok().filter(|n| *n >= min).ok_or_else(|| {
                    Error::config(format!(
                        "[routing] {key} {v:?} is not a whole number of at least {min}; fix {}",
                        s.describe_key(key)
                    ))
                }),
            }
        };
        let duration = |key: &str, default: Duration| -> Result<Duration> {
            match s.get(key) {
                None => Ok(default),
                Some(v) => payment_core::time::parse_duration(v)
                    .map_err(|why| Error::config(format!("[routing] {key} {v:?} {why}; fix {}", s.describe_key(key)))),
            }
        };
        let rate = number("breaker_failure_rate", d.breaker.failure_rate_percent, 1)?;
        if rate > 100 {
            return Err(Error::config(format!("[routing] breaker_failure_rate {rate} is above 100 (percent)")));
        }
        let late_success = match s.get("late_success").map(str::to_ascii_lowercase).as_deref() {
            None | Some("reverse" | "refund") => LateSuccess::Reverse,
            Some("report") => LateSuccess::Report,
            Some(other) => {
                return Err(Error::config(format!("[routing] late_success {other:?} is not `reverse` or `report`")));
            }
        };
        Ok(RoutingSettings {
            max_attempts: number("max_attempts", d.max_attempts, 1)?,
            failover_on_soft_decline: s.flag("failover_on_soft_decline", d.failover_on_soft_decline)?,
            breaker: BreakerSettings {
                consecutive_failures: number("breaker_failures", d.breaker.consecutive_failures, 1)?,
                failure_rate_percent: rate,
                window: duration("breaker_window", d.breaker.window)?,
                min_calls: number("breaker_min_calls", d.breaker.min_calls, 1)?,
                open_for: duration("breaker_open_for", d.breaker.open_for)?,
            },
            late_success,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_and_mistakes_named() {
        let s = ProviderSettings::new("routing")
            .with("max_attempts", "2")
            .with("failover_on_soft_decline", "true")
            .with("breaker_open_for", "5s")
            .with("late_success", "report");
        let r = RoutingSettings::from_settings(&s).unwrap();
        assert_eq!(r.max_attempts, 2);
        assert!(r.failover_on_soft_decline);
        assert_eq!(r.breaker.open_for, Duration::from_secs(5));
        assert_eq!(r.late_success, LateSuccess::Report);
        assert_eq!(
            RoutingSettings::from_settings(&ProviderSettings::new("routing")).unwrap(),
            RoutingSettings::default()
        );
        for (k, v, want) in [
            ("max_attempts", "0", "at least 1"),
            ("max_attempts", "many", "PAYMENT_ROUTING_MAX_ATTEMPTS"),
            ("breaker_failure_rate", "120", "above 100"),
            ("breaker_window", "soon", "breaker_window"),
            ("late_success", "ignore", "not `reverse`"),
            ("colour", "blue", "no setting `colour`"),
        ] {
            let e = RoutingSettings::from_settings(&ProviderSettings::new("routing").with(k, v)).unwrap_err();
            assert!(e.message().contains(want), "{k}={v}: {e}");
        }
    }
}
