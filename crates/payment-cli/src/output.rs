//! Printing records: the records' stable JSON or a readable table.

use payment::{ChargeRecord, RefundRecord};

/// Prints one charge.
pub fn charge(record: &ChargeRecord, json: bool) {
    if json {
        println!("{}", serde_json::to_string(record).unwrap_or_default());
        return;
    }
    println!("charge      {}", record.id);
    println!("provider    {}", record.provider);
    println!("status      {}", record.status);
    println!("amount      {}", record.amount);
    println!("captured    {}", record.amount_captured);
    println!("refunded    {}", record.amount_refunded);
    println!("reference   {}", record.reference.as_deref().unwrap_or("-"));
    println!("created     {}", record.created);
    if let Some(d) = &record.description {
        println!("description {d}");
    }
    for (k, v) in &record.metadata {
        println!("metadata    {k}={v}");
    }
    if let Some(a) = &record.next_action {
        println!("next action {} {}", a.kind, a.data);
    }
    if let Some(f) = &record.failure {
        println!("failure     {}: {}", f.code, f.message);
    }
}

/// Prints one charge as a list line.
pub fn charge_line(record: &ChargeRecord, json: bool) {
    if json {
        println!("{}", serde_json::to_string(record).unwrap_or_default());
    } else {
        println!(
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
        println!("{}", serde_json::to_string(record).unwrap_or_default());
        return;
    }
    println!("refund      {}", record.id);
    println!("charge      {}", record.charge_id);
    println!("provider    {}", record.provider);
    println!("status      {}", record.status.as_str());
    println!("amount      {}", record.amount);
    println!("reason      {}", record.reason.as_deref().unwrap_or("-"));
    println!("created     {}", record.created);
}

/// Prints one refund as a list line.
pub fn refund_line(record: &RefundRecord, json: bool) {
    if json {
        println!("{}", serde_json::to_string(record).unwrap_or_default());
    } else {
        println!(
            "{:<40} {:<10} {:>16} {}",
            record.id,
            record.status.as_str(),
            record.amount.to_string(),
            record.created
        );
    }
}
