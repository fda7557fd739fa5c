//! What Justap supports behind the neutral API.

use payment_core::{
    Capabilities, ChargeCapabilities, Currency, IdempotencyCapabilities, IdempotencySupport, ListCapabilities,
    ListStyle, RefundCapabilities, SourceCapabilities,
};

/// How a lost charge creation is found again.
pub const CHARGE_LOOKUP: &str = "GET /v1/charges/merchant_trade_id/{merchant_trade_id}?app_id=…";

/// Justap: asynchronous channel payments in CNY (decimal yuan on the wire); no capture; reverse
/// closes an unpaid charge; refunds deduplicated by `merchant_refund_id`.
pub const CAPABILITIES: Capabilities = Capabilities {
    charge: ChargeCapabilities {
        create: true,
        retrieve: true,
        capture_later: false,
        partial_capture: false,
        cancel: true,
        list: true,
        async_completion: true,
        partial_amounts_on_read: true,
        amounts_echoed: true,
        find_by_reference: true,
        customer_authentication: false,
    },
    refund: RefundCapabilities {
        full: true,
        partial: true,
        multiple_partial: true,
        retrieve: true,
        list: true,
        async_completion: false,
    },
    list: ListCapabilities { style: ListStyle::Cursor, max_limit: 100, oldest_first: false, late_data_secs: 0 },
    idempotency: IdempotencyCapabilities {
        create_charge: IdempotencySupport::RejectDuplicate { lookup: CHARGE_LOOKUP },
        capture_charge: IdempotencySupport::None,
        cancel_charge: IdempotencySupport::Safe,
        complete_charge: IdempotencySupport::Safe,
        create_refund: IdempotencySupport::Replay,
        replay_window: payment_core::capabilities::DEFAULT_REPLAY_WINDOW,
        visibility_lag: std::time::Duration::ZERO,
    },
    sources: SourceCapabilities { token: false, customer: false, card: false, channel: true },
    currencies: &[Currency::CNY],
    amount_limits: &[],
    webhooks: true,
    soft_declines: &[],
};
