//! The config the command line asks for: the file, the environment, then the flags on top.

use payment::Config;

use crate::args::Cli;
use crate::failure::{Failure, usage};

/// The config the command line asks for: file, environment, then flags on top.
pub fn config(cli: &Cli) -> Result<Config, Failure> {
    let mut config = config_without_provider(cli)?;
    if config.provider.is_none() {
        // Names the missing provider when a flag needs one.
        apply_provider_flags(cli, &mut config)?;
    }
    Ok(config)
}

/// The config with `--provider` and `--journal` applied, but not the flags that need one
/// chosen provider (`--timeout`, `--base-url` apply only when one is).
pub fn config_without_provider(cli: &Cli) -> Result<Config, Failure> {
    let mut config = payment::load_config(cli.config.as_deref())?;
    if let Some(p) = &cli.provider {
        config.provider = Some(p.clone());
    }
    if let Some(url) = &cli.journal {
        config.table_mut(payment::config::JOURNAL_TABLE).set("url", url.clone());
    }
    if config.provider.is_some() {
        apply_provider_flags(cli, &mut config)?;
    }
    Ok(config)
}

fn apply_provider_flags(cli: &Cli, config: &mut Config) -> Result<(), Failure> {
    if let Some(t) = &cli.timeout {
        payment::time::parse_duration(t).map_err(|why| usage(format!("--timeout {t:?} {why}")))?;
        let name = config.provider_name()?.to_owned();
        let settings = config.providers.entry(name.clone()).or_insert_with(|| payment::ProviderSettings::new(name));
        settings.set("timeout", t.clone());
    }
    if let Some(url) = &cli.base_url {
        let name = config.provider_name()?.to_owned();
        let settings = config.providers.entry(name.clone()).or_insert_with(|| payment::ProviderSettings::new(name));
        settings.set("base_url", url.clone());
        // A base URL means "talk to that server", even when the config says mock.
        settings.set("mode", "live");
    }
    Ok(())
}
