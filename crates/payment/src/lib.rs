#![doc = include_str!("../../../README.md")]
#![forbid(unsafe_code)]

pub mod memory;
#[cfg(feature = "google-standard-payments")]
pub use payment_google_standard_payments as google_standard_payments;
#[cfg(feature = "justap")]
pub use payment_justap as justap;
#[cfg(feature = "payjp")]
pub use payment_payjp as payjp;
#[cfg(feature = "payjp-v2")]
pub use payment_payjp_v2 as payjp_v2;
#[cfg(feature = "pingpp")]
pub use payment_pingpp as pingpp;
#[cfg(feature = "worldpay")]
pub use payment_worldpay as worldpay;
mod connect;
mod journal_config;
pub use connect::Connect;
#[cfg(feature = "mock")]
pub mod mocks;
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
pub use journal_config::open_journal;
#[cfg(any(feature = "journal", feature = "journal-postgres"))]
pub use payment_journal as journal;
#[cfg(feature = "webhooks")]
pub use payment_webhooks as webhooks;
/// Routing and failover over several accounts (feature `routing`).
#[cfg(feature = "routing")]
pub mod routing;
#[cfg(feature = "routing")]
pub use routing::{RouteConfig, RoutedClient, connect_routed};

pub use payment_core::*;

/// The one list of providers in the workspace outside their own crates: each provider's config
/// name, which is also the feature of this crate that compiles it in, and its crate. It makes
/// [`KNOWN_PROVIDERS`] (every provider, compiled in or not) and [`drivers`] (those compiled in).
macro_rules! providers {
    ($($name:literal => $krate:ident),* $(,)?) => {
        /// Every provider of the framework, compiled in or not, and the feature of this crate that
        /// compiles it in.
        pub const KNOWN_PROVIDERS: &[KnownProvider] = &[
            $(KnownProvider { name: $name, feature: $name },)*
            KnownProvider { name: memory::NAME, feature: "(always compiled in)" },
        ];

        /// The drivers compiled into this build: `memory` always, each provider behind its feature.
        pub fn drivers() -> Vec<&'static ProviderDriver> {
            vec![&memory::DRIVER, $(#[cfg(feature = $name)] &$krate::DRIVER,)*]
        }
    };
}

providers! {
    "payjp" => payment_payjp,
    "payjp-v2" => payment_payjp_v2,
    "pingpp" => payment_pingpp,
    "justap" => payment_justap,
    "worldpay" => payment_worldpay,
    "google-standard-payments" => payment_google_standard_payments,
}

/// The registry of the compiled-in drivers, knowing the rest by name.
pub fn registry() -> Registry {
    drivers().into_iter().fold(Registry::new().knowing(KNOWN_PROVIDERS), Registry::with)
}

/// Connects to the provider `config` names, through the compiled-in drivers; `mode = "mock"`
/// starts the provider's embedded mock first (feature `mock`). With `[journal] url` set (feature
/// `journal`), every mutating call of the client is journaled there.
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
    Connect::new().client(config).await
}

/// Connects one account of `config` — a provider's own table (`[payjp]`) or an
/// `[accounts.NAME]` of a routed config — without a journal, under its account name: what
/// recovery settles that account's journaled attempts through.
pub async fn connect_account(config: &Config, name: &str) -> Result<PaymentClient> {
    Connect::new().account(config, name).await
}

/// The name of the config file looked for in the current directory when none is given.
pub const CONFIG_FILE_NAME: &str = "payment.toml";

/// The config file to read: the path given, else `PAYMENT_CONFIG`, else `./payment.toml` when it
/// exists; `None` when there is none (settings then come from the environment alone).
pub fn config_file(path: Option<&std::path::Path>) -> Option<std::path::PathBuf> {
    let from_env = || std::env::var_os("PAYMENT_CONFIG").filter(|p| !p.is_empty()).map(std::path::PathBuf::from);
    let here = || Some(std::path::PathBuf::from(CONFIG_FILE_NAME)).filter(|p| p.is_file());
    path.map(std::path::Path::to_path_buf).or_else(from_env).or_else(here)
}

/// Loads config: the TOML file ([`config_file`]) with the environment on top.
pub fn load_config(path: Option<&std::path::Path>) -> Result<Config> {
    let file = match config_file(path) {
        Some(p) => Config::from_toml_file(p)?,
        None => Config::default(),
    };
    // Accounts read their environment variables by their own names (PAYMENT_PAYJP_BACKUP_…).
    let mut names = registry().names();
    names.extend(file.accounts.keys().map(String::as_str));
    let env = Config::from_env(&names);
    let config = file.merged_with(env);
    // A mistake in a rule is reported when the config is read, not at the first routed charge.
    #[cfg(feature = "routing")]
    payment_routing::RouteConfig::from_tables(&config.routes)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_routed_account_connects_under_its_own_name_for_recovery() {
        let config = Config::from_toml_str(
            "[memory]\n[accounts.memory-backup]\nprovider = \"memory\"\n[[routes]]\nname = \"all\"\ntargets = [\"memory\", \"memory-backup\"]\n",
        )
        .unwrap();
        let backup = connect_account(&config, "memory-backup").await.unwrap();
        assert_eq!((backup.account(), backup.provider_name()), ("memory-backup", "memory"));
        assert_eq!(connect_account(&config, "memory").await.unwrap().account(), "memory");
        let e = connect_account(&config, "payjp-backup").await.unwrap_err();
        assert!(
            e.message().contains("no account named `payjp-backup`") && e.message().contains("memory-backup"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn unknown_and_uncompiled_providers_explain_themselves() {
        let e = connect(&Config::for_provider(ProviderSettings::new("stripe"))).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("unknown provider `stripe`") && e.message().contains("memory"), "{e}");
        let e = registry().get("zzz").unwrap_err();
        assert!(e.message().contains("compiled in: memory"), "{e}");
    }

    #[tokio::test]
    async fn memory_rejects_unknown_settings() {
        let e = connect(&Config::for_provider(ProviderSettings::new("memory").with("api_key", "x"))).await.unwrap_err();
        assert!(e.message().contains("api_key"), "{e}");
    }

    #[cfg(any(feature = "journal", feature = "journal-postgres"))]
    #[tokio::test]
    async fn a_configured_journal_records_every_mutating_call() {
        let mut config = Config::for_provider(ProviderSettings::new("memory"));
        config.table_mut(config::JOURNAL_TABLE).set("url", "memory:");
        let client = connect(&config).await.unwrap();
        assert!(client.journal().is_some());
        let options = RequestOptions::with_key(IdempotencyKey::new("cfg-1").unwrap());
        let request = CreateCharge::new(Money::from_code(500, "JPY").unwrap(), PaymentSource::Token("tok_visa".into()));
        let first = client.create_charge(request.clone(), &options).await.unwrap();
        assert_eq!(client.create_charge(request, &options).await.unwrap().id, first.id);
        config.table_mut(config::JOURNAL_TABLE).set("colour", "blue");
        let e = connect(&config).await.unwrap_err();
        assert!(e.message().contains("colour"), "{e}");
    }

    #[test]
    fn every_driver_is_known_and_every_known_feature_exists() {
        for d in drivers() {
            assert!(KNOWN_PROVIDERS.iter().any(|k| k.name == d.name), "{} is missing from KNOWN_PROVIDERS", d.name);
        }
        assert_eq!(registry().names().len(), KNOWN_PROVIDERS.len());
    }
}
