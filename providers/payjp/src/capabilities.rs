//! What PAY.JP v1 supports behind the neutral API.

use payment_core::{
    AmountLimit, Capabilities, ChargeCapabilities, Currency, IdempotencyCapabilities, IdempotencySupport,
    ListCapabilities, ListStyle, RefundCapabilities, SourceCapabilities,
};

/// PAY.JP: JPY only, 50..9,999,999 yen; refunds return the charge (no refund objects to read or list);
/// `Idempotency-Key` on every POST, replayed.
pub const CAPABILITIES: Capabilities = Capabilities {
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
        customer_authentication: true,
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
        replay_window: payment_core::capabilities::DEFAULT_REPLAY_WINDOW,
        visibility_lag: std::time::Duration::ZERO,
    },
    sources: SourceCapabilities { token: true, customer: true, card: true, channel: false },
    currencies: &[Currency::JPY],
    amount_limits: &[AmountLimit { currency: Currency::JPY, min: 50, max: 9_999_999 }],
    webhooks: true,
    // `processing_error`: the card network failed to decide; every other decline is the issuer's word.
    soft_declines: &["processing_error"],
};
