#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

payment_core::provider_crate! {
    name: "justap",
    description: "Justap (China): Alipay, WeChat Pay and UnionPay channels in CNY, RSA-signed",
    client: JustapClient,
    config: JustapConfig,
}

pub mod pagination;
mod rsa_blocks;

pub use wire::ApiError as JustapApiError;
