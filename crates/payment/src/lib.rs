#![doc = include_str!("../../../README.md")]
#![forbid(unsafe_code)]

pub mod memory;
#[cfg(feature = "payjp")]
pub use payment_payjp as payjp;
#[cfg(feature = "pingpp")]
pub use payment_pingpp as pingpp;
#[cfg(feature = "worldpay")]
pub use payment_worldpay as worldpay;
#[cfg(feature = "mock")]
pub mod mocks;

pub use payment_core::*;

/// The drivers compiled into this build: `memory` always, each provider behind its feature.
pub fn registry() -> Registry {
    let registry = Registry::new().with(&memory::DRIVER);
    #[cfg(feature = "payjp")]
    let registry = registry.with(&payment_payjp::DRIVER);
    #[cfg(feature = "pingpp")]
    let registry = registry.with(&payment_pingpp::DRIVER);
    #[cfg(feature = "worldpay")]
    let registry = registry.with(&payment_worldpay::DRIVER);
    registry
}

/// Connects to the provider `config` names, through the compiled-in drivers.
///
/// ```
/// # async fn demo() -> payment::Result<()> {
/// use payment::{Config, CreateCharge, Money, PaymentSource, ProviderSettings, RequestOptions};
///
/// // `provider = "memory"` here; `payjp`, `worldpay`, … with their keys in a real app.
/// let config = Config::for_provider(ProviderSettings::new("memory"));
/// let client = payment::connect(&config).await?;
/// let charge = client
///     .create_charge(CreateCharge::new(Money::from_code(1000, "JPY")?, PaymentSource::Token("tok_visa".into())),
///                    &RequestOptions::default())
///     .await?;
/// assert_eq!(charge.amount.to_string(), "JPY 1000");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
pub async fn connect(config: &Config) -> Result<PaymentClient> {
    registry().connect(config).await
}

/// Loads config: the TOML file (when given) with the environment on top.
pub fn load_config(path: Option<&std::path::Path>) -> Result<Config> {
    let file = match path {
        Some(p) => Config::from_toml_file(p)?,
        None => Config::default(),
    };
    Ok(file.merged_with(Config::from_env()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_and_uncompiled_providers_explain_themselves() {
        let e = connect(&Config::for_provider(ProviderSettings::new("stripe"))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("unknown provider `stripe`") && e.message().contains("memory"), "{e}");
        let e = registry().get("justap").unwrap_err();
        assert!(e.message().contains("not implemented in this version"), "{e}");
        let e = registry().get("zzz").unwrap_err();
        assert!(e.message().contains("compiled in: memory"), "{e}");
    }

    #[tokio::test]
    async fn memory_rejects_unknown_settings() {
        let e = connect(&Config::for_provider(ProviderSettings::new("memory").with("api_key", "x"))).await.unwrap_err();
        assert!(e.message().contains("api_key"), "{e}");
    }
}
