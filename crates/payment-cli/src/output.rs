//! Printing records: the records' stable JSON or a readable table.

use std::io::Write;

use payment::{ChargeRecord, RefundRecord};

/// Writes one line on stdout. When the reader has gone (a closed pipe) the command stops with
/// success: it has no one left to tell; any other write failure stops it with 1.
pub fn emit(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        std::process::exit(if e.kind() == std::io::ErrorKind::BrokenPipe { 0 } else { 1 });
    }
}

/// A running count on stderr while a long walk goes on, only when stderr is a terminal (a
/// person watching); nothing in pipes, files or CI logs.
pub struct Progress {
    what: &'static str,
    shown: bool,
    last: std::time::Instant,
}

impl Progress {
    /// Progress for a walk of `what`, shown when `walking_everything` and stderr is a terminal.
    pub fn for_walk(walking_everything: bool, what: &'static str) -> Progress {
        use std::io::IsTerminal;
        let shown = walking_everything && std::io::stderr().is_terminal();
        Progress { what, shown, last: std::time::Instant::now() }
    }

    /// Counts one more; redraws at most a few times a second.
    pub fn tick(&mut self, count: u64) {
        if self.shown && self.last.elapsed() >= std::time::Duration::from_millis(250) {
            self.last = std::time::Instant::now();
            eprint!("\r{count} {}…", self.what);
        }
    }

    /// Ends the line with the total.
    pub fn done(&self, count: u64) {
        if self.shown {
            eprintln!("\r{count} {}", self.what);
        }
    }
}

/// Prints one charge.
pub fn charge(record: &ChargeRecord, json: bool) {
    if json {
        out!("{}", serde_json::to_string(record).unwrap_or_default());
        return;
    }
    out!("charge      {}", record.id);
    out!("provider    {}", record.provider);
    out!("status      {}", record.status);
    out!("amount      {}", record.amount);
    // What the provider's figures mean, said neutrally: a release at capture is not a refund,
    // and a refund of unknown amount at the provider is the journal's figure.
    let released = record.released_at_capture();
    match released {
        Some(r) => out!("captured    {}, {r} released", record.amount_captured),
        None => out!("captured    {}", record.amount_captured),
    }
    let refunded = released.map_or(record.amount_refunded, |r| {
        payment::Money::new(record.amount_refunded.minor - r.minor, record.amount_refunded.currency)
    });
    match (record.metadata.contains_key(payment::REFUNDED_IN_PART), record.refunded_per_journal()) {
        (true, Some(j)) => out!("refunded    {j} (per the journal; the provider shows a refund, not its amount)"),
        (true, None) => out!(
            "refunded    an unknown amount (the provider shows a refund, not its amount; `payment journal list` shows what was sent)"
        ),
        (false, _) => out!("refunded    {refunded}"),
    }
    out!("reference   {}", record.reference.as_deref().unwrap_or("-"));
    out!("created     {}", record.created);
    if let Some(d) = &record.description {
        out!("description {d}");
    }
    for (k, v) in &record.metadata {
        out!("metadata    {k}={v}");
    }
    if let Some(a) = &record.next_action {
        match &a.url {
            Some(url) => out!("next action {} {} {url}", a.kind, a.method.as_deref().unwrap_or("GET")),
            None => out!("next action {} {}", a.kind, a.data),
        }
        for (k, v) in &a.fields {
            out!("  field     {k}={v}");
        }
        if let Some(at) = a.expires_at {
            out!("  expires   {at}");
        }
    }
    if let Some(f) = &record.failure {
        out!("failure     {}: {}", f.code, f.message);
    }
}

/// Prints one charge as a list line.
pub fn charge_line(record: &ChargeRecord, json: bool) {
    if json {
        out!("{}", serde_json::to_string(record).unwrap_or_default());
    } else {
        out!(
            "{:<36} {:<16} {:>16} {:<24} {}",
            record.id,
            record.status.as_str(),
            record.amount.to_string(),
            record.reference.as_deref().unwrap_or("-"),
            record.created
        );
    }
}

/// Prints one refund.
pub fn refund(record: &RefundRecord, json: bool) {
    if json {
        out!("{}", serde_json::to_string(record).unwrap_or_default());
        return;
    }
    out!("refund      {}", record.id);
    out!("charge      {}", record.charge_id);
    out!("provider    {}", record.provider);
    out!("status      {}", record.status.as_str());
    out!("amount      {}", record.amount);
    out!("reason      {}", record.reason.as_deref().unwrap_or("-"));
    out!("created     {}", record.created);
}

/// Prints one refund as a list line.
pub fn refund_line(record: &RefundRecord, json: bool) {
    if json {
        out!("{}", serde_json::to_string(record).unwrap_or_default());
    } else {
        out!("{:<40} {:<10} {:>16} {}", record.id, record.status.as_str(), record.amount.to_string(), record.created);
    }
}
