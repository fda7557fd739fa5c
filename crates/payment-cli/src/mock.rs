//! `payment mock`: serve the stateful mocks on real sockets until killed.

use std::io::Write;
use std::net::SocketAddr;

use payment::mocks::{self, ConsoleIndex, FaultPlan, MockOptions};

use crate::args::MockArgs;
use crate::failure::{Failure, usage};

/// Where `provider`'s mock POSTs: `{provider}` in the URL is replaced by its name; a URL ending
/// in `/webhooks` (as `payment webhook serve` serves) gets `/NAME`; any other URL is used as is.
fn webhook_target(url: &str, provider: &str) -> String {
    if url.contains("{provider}") {
        url.replace("{provider}", provider)
    } else if url.trim_end_matches('/').ends_with("/webhooks") {
        format!("{}/{provider}", url.trim_end_matches('/'))
    } else {
        url.to_owned()
    }
}

/// The port of each of `count` mocks: `--base-port` and the ones after it, else `--addr`'s port
/// (0: a free one each).
fn ports(addr: SocketAddr, base_port: Option<u16>, count: usize) -> Result<Vec<u16>, Failure> {
    let Some(base) = base_port else { return Ok(vec![addr.port(); count]) };
    if addr.port() != 0 {
        return Err(usage("--base-port and a port in --addr both fix the port: give one"));
    }
    let last = u32::from(base) + u32::try_from(count).unwrap_or(u32::MAX) - 1;
    if base == 0 || last > u32::from(u16::MAX) {
        return Err(usage(format!("--base-port {base}: {count} mock(s) need ports {base}..={last}, within 1..=65535")));
    }
    Ok((0..count).map(|i| base + i as u16).collect())
}

/// `PAYMENT_<PROVIDER>_<KEY>='value'` for every setting a client of each mock needs, and
/// `mode = live` (a base URL means "talk to that server"); single-quoted for `sh`, so multi-line
/// PEM keys survive `set -a; . FILE`.
fn env_file<'a>(mocks: impl Iterator<Item = (&'a str, &'a payment::ProviderSettings)>) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\'', "'\\''"));
    let mut out = String::from("# Written by `payment mock --env-file`: load with `set -a; . FILE; set +a`.\n");
    for (name, settings) in mocks {
        out.push_str(&format!("{}={}\n", payment::config::env_var_name(name, "mode"), quote("live")));
        for key in settings.keys().filter(|k| *k != "mode") {
            let value = settings.get(key).unwrap_or_default();
            out.push_str(&format!("{}={}\n", payment::config::env_var_name(name, key), quote(value)));
        }
    }
    out
}

/// Prints a line of the mock's address list, `NAME VALUE` (with `--json`, one object: `{"mock":
/// NAME, "url": URL}`, `{"console": URL}` or `{"env_file": PATH}`); a reader that stopped reading
/// (a closed pipe) does not stop the mocks, which serve until killed.
fn announce(json: bool, name: &str, value: &str) {
    let line = match (json, name) {
        (false, _) => format!("{name} {value}"),
        (true, "console") => serde_json::json!({ "console": value }).to_string(),
        (true, "env-file") => serde_json::json!({ "env_file": value }).to_string(),
        (true, _) => serde_json::json!({ "mock": name, "url": value }).to_string(),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// Starts the chosen mocks, prints `NAME URL` per provider as each listens (and, for several,
/// `console URL` of a page linking each mock's console, last), then waits forever.
pub async fn serve(provider: Option<&str>, args: &MockArgs, json: bool) -> Result<(), Failure> {
    let addr: SocketAddr = args.addr.parse().map_err(|_| usage(format!("--addr {:?} is not HOST:PORT", args.addr)))?;
    let faults = match &args.faults {
        Some(json) => {
            let plan: FaultPlan =
                serde_json::from_str(json).map_err(|e| usage(format!("--faults is not a fault plan: {e}")))?;
            plan.validate().map_err(|m| usage(format!("--faults: {m}")))?;
            Some(plan)
        }
        None => None,
    };
    let all = mocks::drivers();
    let chosen: Vec<_> = match provider {
        None | Some("all") => all.clone(),
        Some(name) => all.iter().copied().filter(|(d, _)| d.name == name).collect(),
    };
    if chosen.is_empty() {
        let names: Vec<&str> = all.iter().map(|(d, _)| d.name).collect();
        return Err(usage(format!(
            "no mock named {:?}; mocks compiled in: {}",
            provider.unwrap_or("all"),
            if names.is_empty() { "none".to_owned() } else { names.join(", ") }
        )));
    }
    if chosen.len() > 1 && addr.port() != 0 {
        return Err(usage(
            "several mocks cannot share one port: use --base-port N (consecutive ports), --addr HOST:0 or --provider NAME",
        ));
    }
    let ports = ports(addr, args.base_port, chosen.len())?;
    if let Some(dir) = &args.keys_dir {
        std::fs::create_dir_all(dir).map_err(|e| usage(format!("--keys-dir {}: {e}", dir.display())))?;
    }
    let mut servers = Vec::new();
    for ((driver, mock), port) in chosen.into_iter().zip(ports) {
        let options = MockOptions {
            addr: Some(SocketAddr::new(addr.ip(), port)),
            faults: faults.clone(),
            keys_dir: args.keys_dir.clone(),
            webhook_url: args.webhook_url.as_deref().map(|u| webhook_target(u, driver.name)),
            ..MockOptions::default()
        };
        let handle = (mock.start)(options).await?;
        announce(json, driver.name, handle.url());
        servers.push((driver.name.to_owned(), handle));
    }
    if let Some(path) = &args.env_file {
        let text = env_file(servers.iter().map(|(name, handle)| (name.as_str(), &handle.settings)));
        payment::mocks::keys::write_secret(path, text.as_bytes())
            .map_err(|e| usage(format!("--env-file {}: {e}", path.display())))?;
        announce(json, "env-file", &path.display().to_string());
    }
    // Every mock serves its own console; the index only links them, on the mocks' host.
    let _index = if servers.len() > 1 {
        let mocks = servers.iter().map(|(name, handle)| (name.clone(), handle.url().to_owned())).collect();
        let index = ConsoleIndex::start(SocketAddr::new(addr.ip(), 0), mocks)
            .await
            .map_err(|e| payment::Error::config(format!("cannot serve the console index on {}: {e}", addr.ip())))?;
        announce(json, "console", index.url());
        Some(index)
    } else {
        None
    };
    std::future::pending::<()>().await;
    Ok(())
}
