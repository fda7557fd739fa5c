//! What PAY.JP API v2 supports behind the neutral API.

use payment_core::{
    AmountLimit, Capabilities, ChargeCapabilities, Currency, IdempotencyCapabilities, IdempotencySupport,
    ListCapabilities, ListStyle, RefundCapabilities, SourceCapabilities,
};

/// PAY.JP v2: JPY only, 50..9,999,999 yen; Payment Flows with 3-D Secure and PayPay; refund
/// objects (several partial, possibly `pending`), listed per flow; cursor lists; `Idempotency-Key`
/// on every POST, replayed.
pub const CAPABILITIES: Capabilities = Capabilities {
    charge: ChargeCapabilities {
        create: true,
        retrieve: true,
        capture_later: true,
        partial_capture: true,
        cancel: true,
        list: true,
        // A card flow ends in its answer; PayPay's is the asynchronous one, not the fixtures'.
        async_completion: false,
        partial_amounts_on_read: true,
        amounts_echoed: true,
        find_by_reference: false,
        customer_authentication: true,
    },
    refund: RefundCapabilities {
        full: true,
        partial: true,
        multiple_partial: true,
        retrieve: true,
        list: true,
        // PAY.JP says a refund may be `pending` and to watch its status.
        async_completion: true,
    },
    list: ListCapabilities { style: ListStyle::Cursor, max_limit: 100, oldest_first: false, late_data_secs: 0 },
    idempotency: IdempotencyCapabilities {
        create_charge: IdempotencySupport::Replay,
        capture_charge: IdempotencySupport::Replay,
        cancel_charge: IdempotencySupport::Replay,
        complete_charge: IdempotencySupport::Replay,
        create_refund: IdempotencySupport::Replay,
        replay_window: payment_core::capabilities::DEFAULT_REPLAY_WINDOW,
        visibility_lag: std::time::Duration::ZERO,
    },
    sources: SourceCapabilities { token: true, customer: true, card: true, channel: true },
    currencies: &[Currency::JPY],
    amount_limits: &[AmountLimit { currency: Currency::JPY, min: 50, max: 9_999_999 }],
    webhooks: true,
    soft_declines: &["processing_error"],
};
