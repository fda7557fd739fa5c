#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

payment_core::provider_crate! {
    name: "google-standard-payments",
    description: "Google Standard Payments (processor v1): captures and refunds of Google payment tokens, JWS in JWE",
    client: GspClient,
    config: GspConfig,
}

#[cfg(feature = "processor")]
pub mod backend;
pub mod jose;
#[cfg(feature = "pgp")]
pub mod pgp;
#[cfg(feature = "processor")]
pub mod processor;

pub use wire::ErrorResponse as GspErrorResponse;
