#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

payment_core::provider_crate! {
    name: "payjp-v2",
    description: "PAY.JP API v2 (Japan): Payment Flows, cards with 3-D Secure, PayPay, in JPY",
    client: PayjpV2Client,
    config: PayjpV2Config,
}

pub mod pagination;
mod registration;

pub use signing::PayjpV2WebhookVerifier;
pub use wire::Problem as PayjpV2Problem;
