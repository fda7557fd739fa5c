#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

payment_core::provider_crate! {
    name: "payjp",
    description: "PAY.JP v1 (Japan): cards in JPY",
    client: PayjpClient,
    config: PayjpConfig,
}

pub mod pagination;
pub mod tds;

pub use signing::PayjpWebhookVerifier;
pub use wire::ApiError as PayjpApiError;
