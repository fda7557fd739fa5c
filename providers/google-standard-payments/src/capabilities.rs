//! What Google Standard Payments supports behind the neutral API, from the caller's side of the
//! Payment Processor Service v1: capture (a charge) and refund; nothing to read or list.

use payment_core::{
    Capabilities, ChargeCapabilities, IdempotencyCapabilities, IdempotencySupport, ListCapabilities, ListStyle,
    RefundCapabilities, SourceCapabilities,
};

/// GSP: a charge is a `capture` of a Google payment token, settled at once; refunds name the
/// capture by its `requestId`; every mutation is `Replay` on `(PIAID, requestId)`. The processor
/// offers no read, list, authorize-only or cancel, so neither does this client.
pub const CAPABILITIES: Capabilities = Capabilities {
    charge: ChargeCapabilities {
        create: true,
        retrieve: false,
        capture_later: false,
        partial_capture: false,
        cancel: false,
        list: false,
        async_completion: false,
        partial_amounts_on_read: false,
        amounts_echoed: false,
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
    list: ListCapabilities { style: ListStyle::None, max_limit: 0, oldest_first: false, late_data_secs: 0 },
    idempotency: IdempotencyCapabilities {
        create_charge: IdempotencySupport::Replay,
        capture_charge: IdempotencySupport::None,
        cancel_charge: IdempotencySupport::None,
        complete_charge: IdempotencySupport::None,
        create_refund: IdempotencySupport::Replay,
        replay_window: payment_core::capabilities::DEFAULT_REPLAY_WINDOW,
        visibility_lag: std::time::Duration::ZERO,
    },
    sources: SourceCapabilities { token: true, customer: false, card: false, channel: false },
    currencies: &[],
    amount_limits: &[],
    webhooks: true,
    soft_declines: &[],
};
