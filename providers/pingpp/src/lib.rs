#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

payment_core::provider_crate! {
    name: "pingpp",
    description: "Ping++ (China): Alipay, WeChat Pay and other channels in CNY",
    client: PingppClient,
    config: PingppConfig,
}

pub mod pagination;

pub use signing::PingppWebhookVerifier;
pub use wire::ApiError as PingppApiError;
