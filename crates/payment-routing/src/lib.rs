//! Routing payments over several provider accounts, with failover that cannot charge twice.
//!
//! A [`RoutedClient`] holds accounts (one per provider table, more as `[accounts.NAME]`) and
//! rules (`[[routes]]`, first match wins). A new charge goes to the first eligible account of
//! its rule; the next account is tried **only** when the attempt is proven not to have charged:
//! not sent (connect refused, an open circuit, a definite 503/429), or a soft decline when
//! `failover_on_soft_decline` is on. An unknown outcome never fails over: the journal's recovery
//! settles it. Every attempt is journaled under the payment's key (the application's journal,
//! or an in-memory one), whose one-in-flight and one-success constraints guard the rest.
//! Captures, cancels and refunds go to the account the charge id names (`payjp-backup/ch_…`).
#![forbid(unsafe_code)]

mod breaker;
mod client;
mod explain;
mod failover;
mod ids;
mod reconcile;
mod route_config;
mod settings;
mod table;

pub use breaker::{
    Breaker, BreakerSettings, BreakerState, CIRCUIT_OPEN, Clock, FakeClock, Health, Permit, SystemClock,
};
pub use client::{Failover, MEMORY_JOURNAL_PAYMENTS, RouteContext, Routed, RoutedAccount, RoutedClient, RouterBuilder};
pub use explain::{Explanation, RuleCheck, TargetCheck};
pub use failover::{FailoverReason, failover_reason};
pub use ids::{charge_at, qualify, refund_at, split, valid_account_name};
pub use reconcile::{DoubleCharge, Reversal};
pub use route_config::RouteConfig;
pub use settings::{LateSuccess, ROUTING_KEYS, RoutingSettings};
pub use table::{AccountFacts, ConditionCheck, PaymentFacts, PaymentKind, RouteTable, Rule, Selection, stable_hash};

/// What tests and benchmarks of routing tables build accounts from (no provider is named here).
pub mod testing {
    use payment_core::IdempotencySupport;
    use payment_core::capabilities::*;

    /// Capabilities of a plain card provider: any currency, capture later, no soft declines.
    pub fn capabilities() -> Capabilities {
        capabilities_with_soft(&[])
    }

    /// The same, with these soft decline codes.
    pub fn capabilities_with_soft(soft: &'static [&'static str]) -> Capabilities {
        Capabilities {
            charge: ChargeCapabilities {
                create: true,
                retrieve: true,
                capture_later: true,
                partial_capture: true,
                cancel: true,
                list: true,
                async_completion: false,
                partial_amounts_on_read: true,
                amounts_echoed: true,
                find_by_reference: false,
                customer_authentication: false,
            },
            refund: RefundCapabilities {
                full: true,
                partial: true,
                multiple_partial: true,
                retrieve: false,
                list: false,
                async_completion: false,
            },
            list: ListCapabilities { style: ListStyle::Offset, max_limit: 100, oldest_first: false, late_data_secs: 0 },
            idempotency: IdempotencyCapabilities {
                create_charge: IdempotencySupport::Replay,
                capture_charge: IdempotencySupport::Replay,
                cancel_charge: IdempotencySupport::Replay,
                complete_charge: IdempotencySupport::Replay,
                create_refund: IdempotencySupport::Replay,
                replay_window: DEFAULT_REPLAY_WINDOW,
                visibility_lag: std::time::Duration::ZERO,
            },
            sources: SourceCapabilities { token: true, customer: true, card: true, channel: false },
            currencies: &[],
            amount_limits: &[],
            webhooks: false,
            soft_declines: soft,
        }
    }
}
