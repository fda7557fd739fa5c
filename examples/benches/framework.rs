//! `cargo bench -p payment-examples`: the framework against hand-written reqwest calls of the same
//! requests to the same loopback mock, throughput at several concurrencies, and pagination
//! speed and peak memory at 10,000 vs 100,000 items. Figures and ratios: BENCHMARKS.md.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use divan::{AllocProfiler, Bencher};
use futures::StreamExt;
use payment::transport::EngineBuilder;
use payment::{
    ChargeId, ChargeRecord, ChargeStatus, CreateCharge, Currency, ListPaginator, Money, Page, PageCursor, Paginate,
    RequestOptions, Timestamp,
};
use payment_examples::targets::{self, Provider, Target};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
});

static TARGET: LazyLock<Target> =
    LazyLock::new(|| RT.block_on(targets::start(Provider::Payjp, EngineBuilder::new("payjp"))).expect("mock"));

static RAW: LazyLock<reqwest::Client> = LazyLock::new(reqwest::Client::new);

fn main() {
    divan::main();
}

const CARD_FORM: &str =
    "card%5Bnumber%5D=4242424242424242&card%5Bexp_month%5D=12&card%5Bexp_year%5D=2035&card%5Bcvc%5D=123";

/// What a careful hand-written integration does: token, then charge, with an idempotency key,
/// parsing the JSON answers.
async fn raw_create() -> serde_json::Value {
    let url = &TARGET.url;
    let post = |path: &str, body: String| {
        RAW.post(format!("{url}{path}"))
            .basic_auth("sk_test_soak", Some(""))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("idempotency-key", uuid_like())
            .body(body)
            .send()
    };
    let token: serde_json::Value =
        post("/v1/tokens", CARD_FORM.to_owned()).await.expect("token").json().await.expect("json");
    let tok = token["id"].as_str().expect("id").to_owned();
    let body = format!("amount=1000&currency=jpy&card={tok}&capture=true");
    post("/v1/charges", body).await.expect("charge").json().await.expect("json")
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("raw-{}", N.fetch_add(1, Ordering::Relaxed))
}

async fn framework_create() -> ChargeRecord {
    let p = Provider::Payjp;
    TARGET
        .client
        .create_charge(CreateCharge::new(p.amount(), p.source()), &RequestOptions::default())
        .await
        .expect("charge")
}

mod overhead {
    use super::*;

    /// `create_charge` through the framework (token + charge, two requests).
    #[divan::bench]
    fn framework_create_charge(b: Bencher) {
        LazyLock::force(&TARGET);
        b.bench(|| RT.block_on(framework_create()));
    }

    /// The same two requests by hand with reqwest.
    #[divan::bench]
    fn raw_reqwest_create_charge(b: Bencher) {
        LazyLock::force(&TARGET);
        b.bench(|| RT.block_on(raw_create()));
    }

    /// `retrieve_charge` through the framework (one GET).
    #[divan::bench]
    fn framework_retrieve(b: Bencher) {
        let id = RT.block_on(framework_create()).id;
        b.bench(|| RT.block_on(TARGET.client.retrieve_charge(&id)).expect("get"));
    }

    /// The same GET by hand.
    #[divan::bench]
    fn raw_reqwest_retrieve(b: Bencher) {
        let id = RT.block_on(framework_create()).id;
        let url = format!("{}/v1/charges/{}", TARGET.url, id);
        b.bench(|| {
            RT.block_on(async {
                let r = RAW.get(&url).basic_auth("sk_test_soak", Some("")).send().await.expect("get");
                r.json::<serde_json::Value>().await.expect("json")
            })
        });
    }
}

mod throughput {
    use super::*;

    /// `c` charges at once through the framework; charges/s = c / time.
    #[divan::bench(args = [1, 16, 64], sample_count = 20)]
    fn framework(b: Bencher, c: usize) {
        LazyLock::force(&TARGET);
        b.bench(|| RT.block_on(futures::future::join_all((0..c).map(|_| framework_create()))));
    }

    /// `c` charges at once by hand.
    #[divan::bench(args = [1, 16, 64], sample_count = 20)]
    fn raw_reqwest(b: Bencher, c: usize) {
        LazyLock::force(&TARGET);
        b.bench(|| RT.block_on(futures::future::join_all((0..c).map(|_| raw_create()))));
    }
}

mod pagination {
    use super::*;

    /// `total` charges in pages of 100, made on demand (measures the paginator, not a server).
    struct Synthetic {
        total: u64,
    }

    #[async_trait]
    impl Paginate<ChargeRecord> for Synthetic {
        async fn fetch_page(&self, cursor: Option<&PageCursor>) -> payment::Result<Page<ChargeRecord>> {
            let start = cursor.and_then(PageCursor::as_offset).unwrap_or(0);
            let end = (start + 100).min(self.total);
            let items = (start..end)
                .map(|i| ChargeRecord {
                    provider: "synthetic".into(),
                    id: ChargeId::new(format!("ch_{i:012}")),
                    status: ChargeStatus::Succeeded,
                    amount: Money::new(1000, Currency::JPY),
                    amount_captured: Money::new(1000, Currency::JPY),
                    amount_refunded: Money::zero(Currency::JPY),
                    reference: Some(format!("order-{i}")),
                    description: None,
                    metadata: Default::default(),
                    created: Timestamp::from_unix(1_700_000_000 - i as i64),
                    next_action: None,
                    failure: None,
                    raw: serde_json::Value::Null,
                })
                .collect();
            Ok(Page { items, next: (end < self.total).then(|| PageCursor::offset(end)) })
        }
    }

    /// Streams every item; divan's allocation profile shows the peak memory per run.
    #[divan::bench(args = [10_000, 100_000], sample_count = 5)]
    fn stream(b: Bencher, total: u64) {
        b.bench(|| {
            RT.block_on(async {
                let mut s = ListPaginator::new(Arc::new(Synthetic { total }));
                let mut n = 0u64;
                while let Some(item) = s.next().await {
                    item.expect("item");
                    n += 1;
                }
                assert_eq!(n, total);
            })
        });
    }
}
