//! Regional: one TOML file names a provider per region; each payment goes to its region's provider.

use std::collections::BTreeMap;

use payment::{Config, Error, PaymentClient};

/// The regions file: `[regions] jp = "payjp"` plus one table per provider.
pub struct Regions {
    routes: BTreeMap<String, String>,
    config: Config,
}

impl Regions {
    /// Parses the file's text.
    pub fn from_toml(text: &str) -> payment::Result<Regions> {
        let mut config = Config::from_toml_str(text)?;
        let regions =
            config.providers.remove("regions").ok_or_else(|| Error::config("the file has no [regions] table"))?;
        let routes = regions
            .keys()
            .map(|region| (region.to_owned(), regions.get(region).unwrap_or_default().to_owned()))
            .collect();
        Ok(Regions { routes, config })
    }

    /// The regions, in order.
    pub fn regions(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// Connects to the provider of `region`.
    pub async fn connect(&self, region: &str) -> payment::Result<PaymentClient> {
        let provider =
            self.routes.get(region).ok_or_else(|| Error::config(format!("no provider for region {region:?}")))?;
        let mut config = self.config.clone();
        config.provider = Some(provider.clone());
        payment::connect(&config).await
    }
}
