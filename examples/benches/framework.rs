//! `cargo bench -p payment-examples`: the framework against hand-written reqwest calls of the same
//! requests to the same loopback mock, throughput at several concurrencies, and pagination
//! speed and peak memory at 10,000 vs 100,000 items. Figures and ratios: BENCHMARKS.md.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use divan::{AllocProfiler, Bencher};
use futures::StreamExt;
use payment::transport::EngineBuilder;
use payment::{
    ChargeId, ChargeRecord, ChargeStatus, Currency, ListPaginator, Money, Page, PageCursor, Paginate, RequestOptions,
    Timestamp,
};
use payment_examples::targets::{self, Target};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
});

static TARGET: LazyLock<Target> = LazyLock::new(|| {
    RT.block_on(targets::start(targets::named("payjp").expect("payjp"), EngineBuilder::new("payjp"))).expect("mock")
});

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
    TARGET
        .client
        .create_charge(payment::payjp::fixtures::fixtures().charge(None), &RequestOptions::default())
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

    /// The same GET through the engine's innermost service only (reqwest as a tower service).
    #[divan::bench]
    fn layer_reqwest_service_retrieve(b: Bencher) {
        use tower::ServiceExt;
        let id = RT.block_on(framework_create()).id;
        let url = format!("{}/v1/charges/{}", TARGET.url, id);
        let service = payment::transport::ReqwestService::new(RAW.clone());
        b.bench(|| {
            RT.block_on(async {
                let request = http::Request::get(&url)
                    .header("authorization", "Basic c2tfdGVzdF9zb2FrOg==")
                    .body(bytes::Bytes::new())
                    .expect("request");
                let r = service.clone().oneshot(request).await.expect("get");
                serde_json::from_slice::<serde_json::Value>(r.body()).expect("json")
            })
        });
    }

    /// The same GET through the whole engine (retry, timeout, limit, tracing), without decoding a record.
    #[divan::bench]
    fn layer_engine_retrieve(b: Bencher) {
        let id = RT.block_on(framework_create()).id;
        let url = format!("{}/v1/charges/{}", TARGET.url, id);
        let engine = payment::transport::EngineBuilder::new("payjp").http_client(RAW.clone()).build().expect("engine");
        b.bench(|| {
            RT.block_on(async {
                let url = url.clone();
                let call = payment::transport::Call::read(payment::Operation::RetrieveCharge, move || {
                    Ok(http::Request::get(&url)
                        .header("authorization", "Basic c2tfdGVzdF9zb2FrOg==")
                        .body(bytes::Bytes::new())
                        .expect("request"))
                });
                let reply = engine.execute(call).await.expect("get");
                reply.json::<serde_json::Value>().expect("json")
            })
        });
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

mod cost {
    use super::*;
    use payment::transport::{Call, HttpRequest, HttpResponse, HttpService};

    const CHARGE: &[u8] = br#"{"id":"ch_fa990a4c10672a93053a774730b0a","object":"charge","livemode":false,"created":1433127983,"amount":3500,"currency":"jpy","paid":true,"captured":true,"captured_at":1433127983,"expired_at":null,"card":{"id":"car_d0e44730f83b0a19ba6caee04160","object":"card","brand":"Visa","last4":"4242","exp_month":2,"exp_year":2030,"cvc_check":"unchecked","fingerprint":"e1d8225886e3a7211127df751c86787f","name":null,"created":1433127983},"customer":null,"description":null,"failure_code":null,"failure_message":null,"fee_rate":"3.00","refunded":false,"amount_refunded":0,"refund_reason":null,"subscription":null,"metadata":{"payment_reference":"order-1"},"three_d_secure_status":null,"term_id":null}"#;

    fn stub() -> HttpService {
        tower::util::BoxCloneSyncService::new(tower::service_fn(|_req: HttpRequest| async {
            Ok::<_, payment::transport::TransportError>(HttpResponse::new(bytes::Bytes::from_static(CHARGE)))
        }))
    }

    fn request() -> payment::Result<HttpRequest> {
        Ok(http::Request::get("http://127.0.0.1/v1/charges/ch_1").body(bytes::Bytes::new()).expect("request"))
    }

    /// A call of the in-memory stub transport by itself (the floor).
    #[divan::bench]
    fn stub_transport_alone(b: Bencher) {
        use tower::ServiceExt;
        let service = stub();
        b.bench(|| RT.block_on(async { service.clone().oneshot(request().expect("request")).await.expect("reply") }));
    }

    /// The same call through the whole engine (retry policy, deadline, timeout, limit, tracing).
    #[divan::bench]
    fn engine_over_stub(b: Bencher) {
        let engine = EngineBuilder::new("payjp").transport(stub()).build().expect("engine");
        b.bench(|| {
            RT.block_on(async {
                engine.execute(Call::read(payment::Operation::RetrieveCharge, request)).await.expect("reply")
            })
        });
    }

    /// 64 concurrent calls of the stub alone.
    #[divan::bench]
    fn stub_transport_alone_x64(b: Bencher) {
        use tower::ServiceExt;
        let service = stub();
        b.bench(|| {
            RT.block_on(futures::future::join_all((0..64).map(|_| {
                let s = service.clone();
                async move { tokio::spawn(async move { s.oneshot(request().expect("request")).await }).await }
            })))
        });
    }

    /// 64 concurrent calls through the engine over the stub.
    #[divan::bench]
    fn engine_over_stub_x64(b: Bencher) {
        let engine = EngineBuilder::new("payjp").transport(stub()).build().expect("engine");
        b.bench(|| {
            RT.block_on(futures::future::join_all((0..64).map(|_| {
                let e = engine.clone();
                async move {
                    tokio::spawn(async move {
                        e.execute(Call::read(payment::Operation::RetrieveCharge, request)).await.map(|_| ())
                    })
                    .await
                }
            })))
        });
    }

    /// One Ping++ request signature (RSA-2048, PKCS#1 v1.5 SHA-256 over body + URI + timestamp), key parsed once.
    #[divan::bench]
    fn pingpp_sign_request(b: Bencher) {
        let key = payment::crypto::RsaPrivateKey::generate().expect("key");
        let body = br#"{"order_no":"123456789","app":{"id":"app_1Gqj58ynP0mHeX1q"},"channel":"alipay","amount":100}"#;
        b.bench(|| {
            payment::pingpp::signing::sign_request(&key, divan::black_box(body), "/v1/charges", "1700000000")
                .expect("sign")
        });
    }

    /// Verifying that signature (what the mock and webhook receivers do).
    #[divan::bench]
    fn pingpp_verify_signature(b: Bencher) {
        let key = payment::crypto::RsaPrivateKey::generate().expect("key");
        let public = key.public_key().expect("public");
        let sig = payment::pingpp::signing::sign_request(&key, b"{}", "/v1/charges", "1700000000").expect("sign");
        b.bench(|| {
            payment::pingpp::signing::verify_request(
                &public,
                b"{}",
                "/v1/charges",
                "1700000000",
                divan::black_box(&sig),
            )
        });
    }

    /// One Justap request signature: MD5 body hash, a fresh 32-character nonce, RSA-2048 PKCS#1
    /// v1.5 SHA-256 over hash + nonce.
    #[divan::bench]
    fn justap_sign_request(b: Bencher) {
        let key = payment::crypto::RsaPrivateKey::generate().expect("key");
        let body =
            br#"{"app_id":"app_1","merchant_trade_id":"o1","amount":12.34,"currency":"CNY","channel":"AlipayQR"}"#;
        b.bench(|| {
            let nonce = payment::justap::signing::nonce().expect("nonce");
            payment::justap::signing::sign(&key, divan::black_box(body), "1700000000", &nonce).expect("sign")
        });
    }

    /// Verifying a Justap signature (what the mock does for every request).
    #[divan::bench]
    fn justap_verify_signature(b: Bencher) {
        let key = payment::crypto::RsaPrivateKey::generate().expect("key");
        let public = key.public_key().expect("public");
        let signed = payment::justap::signing::sign(&key, b"{}", "1700000000", "abc").expect("sign");
        b.bench(|| {
            payment::justap::signing::verify(&public, &signed.body_hash, "abc", divan::black_box(&signed.signature))
        });
    }

    /// Sealing one GSP capture body: JWS RS256 over the JSON, then JWE RSA-OAEP-256 + A256GCM.
    #[divan::bench]
    fn gsp_seal_jws_in_jwe(b: Bencher) {
        let (caller, processor) = gsp_envelopes();
        let _ = &processor;
        b.bench(|| caller.seal(divan::black_box(GSP_BODY)).expect("seal"));
    }

    /// Opening it on the other side: JWE decryption, then JWS verification.
    #[divan::bench]
    fn gsp_open_jws_in_jwe(b: Bencher) {
        let (caller, processor) = gsp_envelopes();
        let sealed = caller.seal(GSP_BODY).expect("seal");
        b.bench(|| processor.open(divan::black_box(sealed.as_bytes())).expect("open"));
    }

    /// Parsing a charge body into JSON, what a hand-written client does.
    #[divan::bench]
    fn decode_json_value(b: Bencher) {
        b.bench(|| serde_json::from_slice::<serde_json::Value>(divan::black_box(CHARGE)).expect("json"));
    }

    /// Parsing it into a neutral `ChargeRecord` (with the raw JSON kept).
    #[divan::bench]
    fn decode_charge_record(b: Bencher) {
        b.bench(|| payment::payjp::mapping::charge_from_body(divan::black_box(CHARGE)).expect("record"));
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
                    raw: payment::RawJson::null(),
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

const GSP_BODY: &[u8] = br#"{"requestHeader":{"requestId":"bWVyY2hhbnQgdHJhbnNhY3Rpb24gaWQ","requestTimestamp":"1502220196077","protocolVersion":{"major":1,"minor":0,"revision":0}},"paymentIntegratorAccountId":"InvisiCashUSA_USD","transactionDescription":"Google - Music","currencyCode":"INR","amount":"728000000","captureContext":{},"googlePaymentToken":"ZXhhbXBsZSB1bmlxdWUgcGF5bWVudCB0b2tlbiB2YWx1ZQ"}"#;

/// The caller's and the processor's envelopes over two fresh RSA-2048 keys.
fn gsp_envelopes()
-> (payment::google_standard_payments::signing::Envelope, payment::google_standard_payments::signing::Envelope) {
    use payment::google_standard_payments::signing::Envelope;
    let caller = std::sync::Arc::new(payment::crypto::RsaPrivateKey::generate().expect("key"));
    let processor = std::sync::Arc::new(payment::crypto::RsaPrivateKey::generate().expect("key"));
    (
        Envelope::new(caller.clone(), Some("c".into()), processor.public_key().expect("public"), Some("p".into())),
        Envelope::new(processor, Some("p".into()), caller.public_key().expect("public"), Some("c".into())),
    )
}
