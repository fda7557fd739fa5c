//! Connecting from config with the application's own parts: its engine (a `reqwest::Client`,
//! tower layers, a retry policy) and its journal (on its own database pool). [`crate::connect`]
//! is `Connect::new().client(config)`.

use std::sync::Arc;

#[cfg(feature = "mock")]
use payment_core::Mode;
use payment_core::transport::EngineBuilder;
use payment_core::{Config, Error, PaymentClient, ProviderDriver, ProviderSettings, Result};

type EngineFactory = Arc<dyn Fn(&'static str) -> EngineBuilder + Send + Sync>;

/// How to connect: by default as [`crate::connect`] does; with [`Connect::engine`] every
/// provider's engine starts from the application's builder, and with [`Connect::journal`] the
/// application's journal records every mutating call instead of the config's `[journal] url`.
///
/// ```
/// # async fn demo() -> payment::Result<()> {
/// use payment::transport::EngineBuilder;
/// use payment::{Config, ProviderSettings};
///
/// let app_http = reqwest::Client::new(); // the application's own client, pools and TLS
/// let config = Config::for_provider(ProviderSettings::new("memory"));
/// let client = payment::Connect::new()
///     .engine(move |provider| EngineBuilder::new(provider).http_client(app_http.clone()))
///     .client(&config)
///     .await?;
/// assert_eq!(client.provider_name(), "memory");
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(demo()).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct Connect {
    engine: Option<EngineFactory>,
    #[cfg(any(feature = "journal", feature = "journal-postgres"))]
    journal: Option<payment_journal::Journal>,
}

impl Connect {
    /// Connects as [`crate::connect`] does.
    pub fn new() -> Connect {
        Connect::default()
    }

    /// Every provider's engine starts from `engine(provider_name)`: the application's
    /// `reqwest::Client` ([`EngineBuilder::http_client`]), tower layers, retry policy, limits.
    /// The config's `timeout` still sets each call's deadline, and a routed account another can
    /// follow still fails fast on a connection that could not be made.
    pub fn engine(mut self, engine: impl Fn(&'static str) -> EngineBuilder + Send + Sync + 'static) -> Connect {
        self.engine = Some(Arc::new(engine));
        self
    }

    /// Journals every mutating call in `journal` (one opened on the application's pool with
    /// `payment::journal::SqliteStore::on_pool` or `PostgresStore::on_pool`). A config that also
    /// sets `[journal] url` is refused: one journal per payment, never two.
    #[cfg(any(feature = "journal", feature = "journal-postgres"))]
    pub fn journal(mut self, journal: payment_journal::Journal) -> Connect {
        self.journal = Some(journal);
        self
    }

    /// The engine builder for one provider.
    pub(crate) fn engine_for(&self, provider: &'static str) -> EngineBuilder {
        match &self.engine {
            Some(make) => make(provider),
            None => EngineBuilder::new(provider),
        }
    }

    /// The client for the provider `config` names, journaled when a journal is given or configured.
    pub async fn client(&self, config: &Config) -> Result<PaymentClient> {
        config.check_tables()?;
        // The provider first: a config it refuses opens no database.
        let client = self.provider_client(config).await?;
        let journal = self.journal_for(config).await?;
        #[cfg(any(feature = "journal", feature = "journal-postgres"))]
        if let Some(journal) = journal {
            return Ok(client.with_journal(journal));
        }
        let _ = journal;
        Ok(client)
    }

    /// One account of `config` without a journal, under its account name (see
    /// [`crate::connect_account`]).
    pub async fn account(&self, config: &Config, name: &str) -> Result<PaymentClient> {
        config.check_tables()?;
        let accounts = config.all_accounts();
        let account = accounts.get(name).ok_or_else(|| {
            let known: Vec<&str> = accounts.keys().map(String::as_str).collect();
            Error::config(format!("no account named `{name}` in the config; it has: {}", known.join(", ")))
        })?;
        let driver = crate::registry().get(&account.provider)?;
        let engine = self.engine_for(driver.name);
        Ok(self.driver_client(driver, account.settings.clone(), engine).await?.with_account(name))
    }

    /// Connects `driver` over `engine`: its embedded mock first with `mode = "mock"`.
    pub(crate) async fn driver_client(
        &self,
        driver: &'static ProviderDriver,
        settings: ProviderSettings,
        engine: EngineBuilder,
    ) -> Result<PaymentClient> {
        #[cfg(feature = "mock")]
        if settings.mode()? == Mode::Mock && payment_mock_kit::MockDriver::of(driver).is_some() {
            return crate::mocks::connect_embedded(driver, settings, engine).await;
        }
        driver.connect_with(settings, engine).await
    }

    async fn provider_client(&self, config: &Config) -> Result<PaymentClient> {
        if config.is_routed() && config.provider.is_none() {
            return Err(Error::config(
                "this config routes payments over several accounts ([[routes]]): connect with `payment::connect_routed` (feature `routing`), or choose one with `provider = \"…\"`",
            ));
        }
        let name = config.provider_name()?;
        let driver = crate::registry().get(name)?;
        self.driver_client(driver, config.settings(name), self.engine_for(driver.name)).await
    }

    /// The journal to record through: the one given (checked against the config), else the
    /// config's; either way its lease must outlast every call the engines may make.
    #[cfg(any(feature = "journal", feature = "journal-postgres"))]
    pub(crate) async fn journal_for(&self, config: &Config) -> Result<Option<payment_journal::Journal>> {
        let journal = match &self.journal {
            Some(journal) => {
                let table = config.table(payment_core::config::JOURNAL_TABLE);
                if table.keys().next().is_some() {
                    return Err(Error::config(
                        "a journal was given to Connect and the config has a [journal] table too: remove the table (its url, lease and settle_horizon are the given journal's to set)",
                    ));
                }
                journal.clone()
            }
            None => match crate::open_journal(config).await? {
                Some(journal) => journal,
                None => return Ok(None),
            },
        };
        let engine_deadline = |provider: &str| -> Result<std::time::Duration> {
            let driver = crate::registry().get(provider)?;
            self.engine_for(driver.name).deadline().ok_or_else(|| {
                Error::config(format!(
                    "the application's engine for {provider} sets no deadline (call_timeout, or a retry policy's max_elapsed), so no journal lease can cover its calls: give it a call_timeout, or the account a `timeout`"
                ))
            })
        };
        crate::journal_config::check_lease(config, journal.options().lease, &engine_deadline)?;
        Ok(Some(journal))
    }

    /// Without the journal features a configured journal is refused, never ignored.
    #[cfg(not(any(feature = "journal", feature = "journal-postgres")))]
    pub(crate) async fn journal_for(&self, config: &Config) -> Result<Option<std::convert::Infallible>> {
        crate::journal_config::refuse_journal(config)?;
        Ok(None)
    }
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Connect");
        d.field("engine", &self.engine.as_ref().map(|_| "the application's"));
        #[cfg(any(feature = "journal", feature = "journal-postgres"))]
        d.field("journal", &self.journal.as_ref().map(|_| "the application's"));
        d.finish()
    }
}
