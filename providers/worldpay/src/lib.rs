#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

payment_core::provider_crate! {
    name: "worldpay",
    description: "Worldpay Access (global): cards in any currency",
    client: WorldpayClient,
    config: WorldpayConfig,
}

pub mod authentication;
mod follow;
pub mod pagination;

pub use signing::WorldpayWebhookVerifier;
pub use wire::ApiError as WorldpayApiError;
