//! Every example's logic against the mocks, and the exactly-once soak at N = 200.

use payment::{CardDetails, Config, CreateCharge, Currency, Money, PaymentSource, ProviderSettings, RequestOptions};
use payment_examples::targets;
use payment_examples::{checkout, list_all, regional, soak};

fn card() -> PaymentSource {
    PaymentSource::Card(CardDetails::new("4242424242424242", 12, 2035, Some("123")).unwrap())
}

#[tokio::test]
async fn checkout_charges_and_refunds_through_the_configured_provider() {
    for name in ["payjp", "memory"] {
        let config = Config::for_provider(ProviderSettings::new(name).with("mode", "mock"));
        let (charge, refund) =
            checkout::run(&config, Money::new(1200, Currency::JPY), card(), "order-1").await.unwrap();
        assert_eq!(charge.provider, name);
        assert_eq!(charge.reference.as_deref(), Some("order-1"));
        assert_eq!(refund.amount, Money::new(300, Currency::JPY));
        assert_eq!(refund.charge_id, charge.id);
    }
}

#[tokio::test]
async fn list_all_streams_every_charge_once() {
    let client =
        payment::connect(&Config::for_provider(ProviderSettings::new("payjp").with("mode", "mock"))).await.unwrap();
    for i in 0..23 {
        let amount = Money::new(100 + i, Currency::JPY);
        client.create_charge(CreateCharge::new(amount, card()), &RequestOptions::default()).await.unwrap();
    }
    let (count, totals) = list_all::run(&client, 5).await.unwrap();
    assert_eq!(count, 23);
    assert_eq!(totals, vec![Money::new((0..23).map(|i| 100 + i).sum(), Currency::JPY)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regional_routes_each_region_and_fails_over_from_the_down_primary() {
    let router = regional::router(regional::REGIONS).await.unwrap();
    let jp = regional::charge(&router, "jp", Money::new(800, Currency::JPY)).await.unwrap();
    assert_eq!((jp.rule.as_str(), jp.account.as_str()), ("japan", "payjp-backup"));
    assert!(jp.id.starts_with("payjp-backup/ch_"), "{}", jp.id);
    assert_eq!(jp.failovers.len(), 1);
    assert!(jp.failovers[0].starts_with("payjp: not sent"), "{:?}", jp.failovers);
    let gb = regional::charge(&router, "gb", Money::new(1250, Currency::GBP)).await.unwrap();
    assert_eq!((gb.rule.as_str(), gb.account.as_str()), ("everywhere-else", "worldpay"));
    assert!(gb.failovers.is_empty());
    assert!(regional::router("[payjp]\nmode = \"mock\"\n").await.is_err(), "no [[routes]]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_every_provider_exactly_once_at_200() {
    let all = targets::all();
    assert!(all.len() >= 3, "every provider with a mock is soaked: {all:?}");
    for provider in all {
        let tally = soak::run(provider, 200, 7, 16).await.unwrap();
        println!("{:<10} {tally}", provider.name);
        assert!(tally.exactly_once(), "{}: {tally}", provider.name);
        assert!(tally.faults > 20, "the faults must actually fire: {tally}");
    }
}

/// The adversarial soak, small: every provider, faults of provider, network and journal on at
/// once, zero violations of the five invariants, on SQLite and (with `PAYMENT_TEST_POSTGRES_URL`)
/// PostgreSQL, and through a router over two accounts; the big run is the `adversarial` example.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adversarial_soak_every_provider_without_a_violation() {
    let dir = tempfile_dir();
    let postgres = std::env::var("PAYMENT_TEST_POSTGRES_URL").ok();
    if postgres.is_none() {
        println!("[PAYMENT_TEST_POSTGRES_URL unset] the PostgreSQL leg of the adversarial soak is skipped");
    }
    for (i, provider) in targets::all().into_iter().enumerate() {
        let mut urls = vec![format!("sqlite://{}", dir.join(format!("journal-{i}.db")).display())];
        if let Some(pg) = &postgres {
            // A schema of its own per provider and run: the soak's keys repeat across providers.
            let sep = if pg.contains('?') { '&' } else { '?' };
            urls.push(format!("{pg}{sep}journal_schema=adversarial_{i}_{}", std::process::id()));
        }
        for url in urls {
            let report = payment_examples::adversarial::run(provider, &url, 40, 11).await.unwrap();
            println!("{} {report}", url.split(':').next().unwrap_or("?"));
            assert_eq!(report.violations(), 0, "{report}");
            assert!(report.mock_faults.values().sum::<usize>() > 5, "the faults must actually fire: {report}");
            assert!(report.journal_faults > 5, "the journal faults must actually fire: {report}");
        }
        let url = format!("sqlite://{}", dir.join(format!("routed-{i}.db")).display());
        let report = payment_examples::adversarial::run_routed(provider, &url, 30, 11).await.unwrap();
        println!("sqlite {report}");
        assert_eq!(report.violations(), 0, "{report}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("payment-adversarial-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
