//! List all: stream every charge with the paginator, one page in memory at a time.

use futures::StreamExt;
use payment::{ListCharges, Money, PaymentClient};

/// Streams every charge; returns how many and their total per currency.
pub async fn run(client: &PaymentClient, page_size: u32) -> payment::Result<(usize, Vec<Money>)> {
    let mut stream = client.list_charges(ListCharges { page_size: Some(page_size), ..ListCharges::default() });
    let mut count = 0;
    let mut totals: Vec<Money> = Vec::new();
    while let Some(charge) = stream.next().await {
        let charge = charge?;
        count += 1;
        match totals.iter_mut().find(|m| m.currency == charge.amount.currency) {
            Some(total) => *total = total.checked_add(charge.amount)?,
            None => totals.push(charge.amount),
        }
    }
    Ok((count, totals))
}
