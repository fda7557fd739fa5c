//! `payment reconcile`: the journal and each account's provider, side by side, every difference
//! named. Exit 0 when nothing differs, 1 when something does, 2 on usage or config errors.

use std::io::IsTerminal;

use payment::journal::{Class, Finding, ReconcileOptions, ReconcileSummary, Reconciler, Window};
use payment::{ErrorKind, Mode, Timestamp};

use crate::args::{Cli, ReconcileArgs};
use crate::config;
use crate::failure::{Failure, usage};

/// A time flag: RFC 3339, Unix seconds, or a duration meaning that long ago (`90s`, `30m`,
/// `24h`, `7d`).
fn parse_time(flag: &str, text: &str, now: Timestamp) -> Result<Timestamp, Failure> {
    if let Ok(t) = Timestamp::parse_rfc3339(text) {
        return Ok(t);
    }
    if let Ok(secs) = text.parse::<i64>() {
        return Ok(Timestamp::from_unix(secs));
    }
    let ago = text.char_indices().last().and_then(|(at, unit)| {
        let per = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        text[..at].parse::<i64>().ok().filter(|n| *n >= 0).and_then(|n| n.checked_mul(per))
    });
    match ago {
        Some(secs) => Ok(Timestamp::from_unix(now.unix().saturating_sub(secs))),
        None => Err(usage(format!(
            "{flag} {text:?} is not a time: give RFC 3339 (2026-12-01T00:00:00Z), Unix seconds, or a duration ago \
             (90s, 30m, 24h, 7d)"
        ))),
    }
}

/// The accounts to reconcile: the one named, else the config's provider, else every account.
fn accounts(cli: &Cli, config: &payment::Config) -> Vec<String> {
    if let Some(a) = &cli.account {
        return vec![a.clone()];
    }
    if let Some(p) = cli.provider.clone().or_else(|| config.provider.clone()) {
        return vec![p];
    }
    config.all_accounts().into_keys().collect()
}

fn line(f: &Finding) {
    let amount = f.amount.map_or_else(|| "-".to_owned(), |m| m.to_string());
    out!(
        "{:<16} {:<14} {:<32} {:<36} {:<22} {:<14} {}",
        f.class.as_str(),
        f.account,
        f.charge_id.as_deref().unwrap_or("-"),
        f.idempotency_key.as_deref().unwrap_or("-"),
        f.reference.as_deref().unwrap_or("-"),
        amount,
        f.evidence
    );
}

fn summary_line(s: &ReconcileSummary) -> String {
    let counts: Vec<String> =
        Class::ALL.iter().filter(|c| s.count(**c) > 0).map(|c| format!("{} {}", s.count(*c), c.as_str())).collect();
    let window = match (s.since, s.until) {
        (Some(a), Some(b)) => format!(" from {} to {}", a.to_rfc3339(), b.to_rfc3339()),
        _ => String::new(),
    };
    let counts = if counts.is_empty() { "nothing in the window".to_owned() } else { counts.join(", ") };
    format!("{}{window}: {} examined: {counts}", s.account, s.examined)
}

/// `payment reconcile …`
pub async fn run(cli: &Cli, args: &ReconcileArgs) -> Result<(), Failure> {
    let now = Timestamp::now();
    let since = match &args.since {
        Some(t) => parse_time("--since", t, now)?,
        None => Timestamp::from_unix(now.unix() - 86_400),
    };
    let until = match &args.until {
        Some(t) => parse_time("--until", t, now)?,
        None => Timestamp::from_unix(now.unix() + 1),
    };
    if until <= since {
        return Err(usage(format!("--until {} is not after --since {}", until.to_rfc3339(), since.to_rfc3339())));
    }
    let mut config = config::config_without_provider(cli)?;
    let Some(journal) = payment::open_journal(&config).await? else {
        return Err(usage("no journal: give --journal URL, or set [journal] url or PAYMENT_JOURNAL_URL"));
    };
    // The journal is this command's own; the clients only list and read.
    config.tables.remove(payment::config::JOURNAL_TABLE);
    let names = accounts(cli, &config);
    if names.is_empty() {
        return Err(usage("no account to reconcile: give --provider NAME or --account NAME, or a config naming one"));
    }
    let options = ReconcileOptions { heal: args.heal, ..ReconcileOptions::default() };
    let reconciler = Reconciler::new(journal.store().clone(), options);
    let window = Window { since, until };
    let progress = args.progress || (!cli.json && std::io::stderr().is_terminal());
    let mut differences = 0u64;
    let mut failed: Option<payment::Error> = None;
    if !cli.json {
        out!(
            "{:<16} {:<14} {:<32} {:<36} {:<22} {:<14} EVIDENCE",
            "CLASS",
            "ACCOUNT",
            "CHARGE",
            "IDEMPOTENCY KEY",
            "REFERENCE",
            "AMOUNT"
        );
    }
    for name in &names {
        let embedded = config.all_accounts().get(name).map(|a| a.settings.mode()).transpose()?;
        if embedded == Some(Mode::Mock) {
            return Err(usage(format!(
                "{name} is configured as an embedded mock, which starts empty: reconciling against it would prove \
                 nothing; point --base-url (or [{name}] base_url) at the running `payment mock`"
            )));
        }
        let client = payment::connect_account(&config, name).await?;
        let mut examined = 0u64;
        let mut last = std::time::Instant::now();
        let json = cli.json;
        let mut found = |f: &Finding| {
            examined += 1;
            if json {
                out!("{}", serde_json::to_string(f).unwrap_or_default());
            } else if f.class != Class::Matched {
                line(f);
            }
            if progress && last.elapsed() >= std::time::Duration::from_millis(500) {
                last = std::time::Instant::now();
                eprint!("\r{name}: {examined} examined…");
            }
        };
        match reconciler.run(&client, window, &mut found).await {
            Ok(summary) => {
                if progress {
                    eprint!("\r");
                }
                if summary.until <= summary.since {
                    // Nothing was compared: "the books agree" would be a claim without evidence.
                    return Err(usage(format!(
                        "{name}: the window is empty once {}'s late-data margin is taken ({}): give an earlier --since",
                        client.provider_name(),
                        summary.notes.join("; ")
                    )));
                }
                differences += summary.differences();
                eprintln!("{}", summary_line(&summary));
                for note in &summary.notes {
                    eprintln!("  note: {note}");
                }
            }
            // Never skipped in silence: a provider that cannot be compared is a difference unproven.
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                differences += 1;
                if cli.json {
                    let cannot = serde_json::json!({"class": "cannot_reconcile", "account": name,
                        "provider": client.provider_name(), "evidence": e.message()});
                    out!("{cannot}");
                } else {
                    out!("{:<16} {:<14} {}", "cannot_reconcile", name, e.message());
                }
                eprintln!("{name}: cannot reconcile: {}", e.message());
            }
            // The other accounts are still compared; this one is run again later.
            Err(e) => {
                eprintln!("{name}: reconciliation stopped: {e}; run it again (it only reads, unless --heal)");
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e.into());
    }
    if differences > 0 {
        return Err(Failure::Found(format!("{differences} difference(s) between the journal and the providers")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_instants_unix_seconds_or_durations_ago() {
        let now = Timestamp::from_unix(1_800_000_000);
        let at = |t: &str| parse_time("--since", t, now).ok().map(|t| t.unix());
        assert_eq!(at("2027-01-15T08:00:00Z"), Some(1_800_000_000));
        assert_eq!(at("1700000000"), Some(1_700_000_000));
        assert_eq!(at("24h"), Some(1_800_000_000 - 86_400));
        assert_eq!(at("7d"), Some(1_800_000_000 - 7 * 86_400));
        assert_eq!(at("90s"), Some(1_800_000_000 - 90));
        for bad in ["", "h", "-1h", "1y", "1.5h", "yesterday", "99999999999999999999d"] {
            assert_eq!(at(bad), None, "{bad}");
        }
    }
}
