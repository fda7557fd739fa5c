//! `cargo bench -p payment-routing --bench select`: choosing a route (first matching rule and
//! its chain) in a 100-rule table, against a baseline of reading the facts alone; prints p50
//! and p99 per selection. Figures: BENCHMARKS.md.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use payment_core::{Capabilities, Currency};
use payment_routing::{AccountFacts, PaymentFacts, PaymentKind, RouteConfig, RouteTable};

const CURRENCIES: [&str; 8] = ["JPY", "USD", "EUR", "GBP", "CNY", "AUD", "CAD", "CHF"];
const REGIONS: [&str; 10] = ["jp", "us", "de", "gb", "cn", "au", "ca", "ch", "fr", "it"];

fn capabilities() -> &'static Capabilities {
    Box::leak(Box::new(payment_routing::testing::capabilities()))
}

/// 100 rules: regions × currencies × amount bands, a metadata rule every tenth, splits every
/// seventh; the last matches everything, so misses walk the whole table.
fn table() -> RouteTable {
    let caps = capabilities();
    let accounts: BTreeMap<String, AccountFacts<'_>> =
        (0..6).map(|i| (format!("acct{i}"), AccountFacts { provider: "p", capabilities: caps })).collect();
    let mut routes: Vec<RouteConfig> = (0..99)
        .map(|i| {
            let mut r = RouteConfig {
                name: format!("rule-{i}"),
                region: vec![REGIONS[i % REGIONS.len()].into()],
                currency: vec![CURRENCIES[i % CURRENCIES.len()].into()],
                min_amount: Some((i as i64 % 5) * 10_000),
                max_amount: Some((i as i64 % 5 + 1) * 10_000),
                ..RouteConfig::default()
            };
            if i % 10 == 0 {
                r.metadata.insert("tier".into(), "gold".into());
            }
            if i % 7 == 0 {
                r.weights = BTreeMap::from([(format!("acct{}", i % 6), 70), (format!("acct{}", (i + 1) % 6), 30)]);
            } else {
                r.targets = (0..3).map(|k| format!("acct{}", (i + k) % 6)).collect();
            }
            r
        })
        .collect();
    routes.push(RouteConfig { name: "fallback".into(), targets: vec!["acct0".into()], ..RouteConfig::default() });
    RouteTable::new(&routes, &accounts).expect("a valid table")
}

fn percentiles(mut ns: Vec<f64>) -> (f64, f64) {
    ns.sort_by(|a, b| a.total_cmp(b));
    (ns[ns.len() / 2], ns[ns.len() * 99 / 100])
}

fn main() {
    let table = table();
    let gold = BTreeMap::from([("tier".to_owned(), "gold".to_owned())]);
    let none = BTreeMap::new();
    let keys: Vec<String> = (0..1000).map(|i| format!("order-{i}")).collect();
    let facts: Vec<PaymentFacts<'_>> = (0..1000)
        .map(|i| PaymentFacts {
            operation: PaymentKind::Charge,
            currency: Currency::from_code(CURRENCIES[(i * 7) % CURRENCIES.len()]).unwrap(),
            amount: ((i * 7919) % 60_000) as i64,
            region: Some(REGIONS[(i * 3) % REGIONS.len()]),
            metadata: if i % 4 == 0 { &gold } else { &none },
        })
        .collect();
    const BATCH: usize = 100;
    let mut choose = Vec::new();
    let mut baseline = Vec::new();
    for round in 0..2_000 {
        let start = Instant::now();
        for j in 0..BATCH {
            let f = &facts[(round * BATCH + j) % facts.len()];
            let rule = table.select(f).expect("the fallback matches all");
            black_box(rule.chain(&keys[j % keys.len()]));
        }
        choose.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
        let start = Instant::now();
        for j in 0..BATCH {
            let f = &facts[(round * BATCH + j) % facts.len()];
            black_box((f.currency, f.amount, f.region, f.metadata.len(), keys[j % keys.len()].len()));
        }
        baseline.push(start.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    let (p50, p99) = percentiles(choose);
    let (b50, b99) = percentiles(baseline);
    let misses = facts.iter().filter(|f| table.select(f).is_some_and(|r| r.name == "fallback")).count();
    println!("route selection, 100-rule table, {} selections in batches of {BATCH}", 2_000 * BATCH);
    println!("  select + chain: p50 {p50:.0} ns, p99 {p99:.0} ns per payment");
    println!("  baseline (facts read only): p50 {b50:.1} ns, p99 {b99:.1} ns");
    println!("  {misses} of {} payments walk to the fallback rule (all 100 checked)", facts.len());
}
