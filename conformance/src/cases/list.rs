//! Listing: every created charge exactly once at small page sizes, in both directions.

use std::collections::HashMap;

use futures::StreamExt;
use payment_core::{ChargeId, ListCharges, ListOrder, RequestOptions};

use crate::case::{Case, Profile};
use crate::check::CaseResult;
use crate::target::Target;
use crate::{case, check};

/// Cases of this group.
pub fn cases() -> Vec<Case> {
    vec![
        case!("list::newest_first_small_pages", needs_list, newest_first_small_pages),
        case!("list::oldest_first_small_pages", needs_oldest_first, oldest_first_small_pages),
    ]
}

fn needs_list(p: &Profile) -> Option<&'static str> {
    (!p.caps.charge.list).then_some("provider has no list endpoint")
}

fn needs_oldest_first(p: &Profile) -> Option<&'static str> {
    needs_list(p).or((!p.caps.list.oldest_first).then_some("provider lists newest first only"))
}

async fn walk(t: &Target, order: ListOrder) -> CaseResult {
    let mut created: Vec<ChargeId> = Vec::new();
    for _ in 0..5 {
        let c = t.client.create_charge(t.charge_request(t.fixtures.amount, true), &RequestOptions::default()).await?;
        created.push(c.id);
    }
    let query = ListCharges { page_size: Some(2), created_from: Some(t.started), order, ..ListCharges::default() };
    let mut stream = t.client.list_charges(query);
    let mut seen: HashMap<ChargeId, usize> = HashMap::new();
    let mut ours = Vec::new();
    while let Some(item) = stream.next().await {
        let c = item?;
        *seen.entry(c.id.clone()).or_default() += 1;
        // Only this run's charges count: a sandbox holds others.
        if c.reference.as_deref().is_some_and(|r| r.starts_with(&t.tag)) {
            ours.push(c);
        }
    }
    for (id, n) in &seen {
        check!(*n == 1, "charge {id} listed {n} times");
    }
    for id in &created {
        check!(seen.contains_key(id), "charge {id} missing from the list");
    }
    let position = |id: &ChargeId| ours.iter().position(|c| &c.id == id);
    let order_ok = created.windows(2).all(|w| match (position(&w[0]), position(&w[1])) {
        (Some(a), Some(b)) => {
            if order == ListOrder::NewestFirst {
                a > b
            } else {
                a < b
            }
        }
        _ => false,
    });
    check!(order_ok, "charges not in {order:?} order");
    Ok(())
}

/// Five charges, pages of two, newest first: each exactly once, in order.
pub async fn newest_first_small_pages(t: &Target) -> CaseResult {
    walk(t, ListOrder::NewestFirst).await
}

/// The same walking oldest first.
pub async fn oldest_first_small_pages(t: &Target) -> CaseResult {
    walk(t, ListOrder::OldestFirst).await
}
