//! What Worldpay Access supports behind the neutral API.

use payment_core::{
    Capabilities, ChargeCapabilities, IdempotencyCapabilities, IdempotencySupport, ListCapabilities, ListStyle,
    RefundCapabilities, SourceCapabilities,
};

/// How a lost authorize is found: the documented recovery query.
pub const AUTHORIZE_LOOKUP: &str = "GET /payments/events?transactionRef=…&entity=…";
/// How a lost follow-on action is found: its single-use link is no longer offered.
pub const ACTION_LOOKUP: &str = "GET the payment's events: the action link used and the payment where the action leads";

/// Worldpay Access Card Payments v6: cards in any currency; authorize now (refusals are declines),
/// settle later in full or in parts, cancel, refund in parts; follow-on actions are accepted (202)
/// and finish later; lists through Payment Queries `next` links.
pub const CAPABILITIES: Capabilities = Capabilities {
    charge: ChargeCapabilities {
        create: true,
        retrieve: true,
        capture_later: true,
        partial_capture: true,
        cancel: true,
        list: true,
        async_completion: false,
        partial_amounts_on_read: false,
        amounts_echoed: false,
        find_by_reference: true,
        customer_authentication: true,
    },
    refund: RefundCapabilities {
        full: true,
        partial: true,
        multiple_partial: true,
        retrieve: false,
        list: false,
        async_completion: true,
    },
    list: ListCapabilities { style: ListStyle::Link, max_limit: 300, oldest_first: false, late_data_secs: 60 },
    idempotency: IdempotencyCapabilities {
        create_charge: IdempotencySupport::RejectDuplicate { lookup: AUTHORIZE_LOOKUP },
        capture_charge: IdempotencySupport::RejectDuplicate { lookup: ACTION_LOOKUP },
        cancel_charge: IdempotencySupport::RejectDuplicate { lookup: ACTION_LOOKUP },
        complete_charge: IdempotencySupport::RejectDuplicate { lookup: ACTION_LOOKUP },
        create_refund: IdempotencySupport::RejectDuplicate { lookup: ACTION_LOOKUP },
        replay_window: payment_core::capabilities::DEFAULT_REPLAY_WINDOW,
        visibility_lag: std::time::Duration::ZERO,
    },
    sources: SourceCapabilities { token: true, customer: false, card: true, channel: false },
    currencies: &[],
    amount_limits: &[],
    webhooks: true,
    // Refusal codes follow ISO 8583 [inferred]: 91 issuer or switch inoperative, 96 system malfunction.
    soft_declines: &["91", "96"],
};
