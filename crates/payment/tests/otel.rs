//! OpenTelemetry end to end: a journaled PAY.JP charge whose first send meets a 503 is exported
//! through in-memory exporters, and the spans (operation, HTTP attempts, journal writes) and
//! metrics carry the names, parents and attributes the README lists, and never a secret, a card
//! number, the idempotency key or the reference.

#![cfg(all(feature = "payjp", feature = "mock", feature = "journal", feature = "otel"))]

use std::collections::BTreeMap;

use opentelemetry::trace::{SpanKind, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use payment::journal::JournalOptions;
use payment::mocks::{FaultKind, FaultPlan, FaultRule, MockOptions};
use payment::transport::EngineBuilder;
use payment::{Config, IdempotencyKey, RequestOptions, telemetry};
use tracing_subscriber::layer::SubscriberExt;

const KEY: &str = "order-otel-7781-key";
const REFERENCE: &str = "otel-reference-7781";
const CARD: &str = "4242424242424242";

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    attr(span, key).map(|v| v.as_str().into_owned()).unwrap_or_default()
}

/// Every data point of metric `name` as (attributes, count or value).
fn points(metrics: &[ResourceMetrics], name: &str) -> Vec<(BTreeMap<String, String>, u64)> {
    let labels = |attrs: &mut dyn Iterator<Item = &KeyValue>| {
        attrs.map(|kv| (kv.key.as_str().to_owned(), kv.value.as_str().into_owned())).collect::<BTreeMap<_, _>>()
    };
    let mut out = Vec::new();
    for resource in metrics {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics().filter(|m| m.name() == name) {
                match metric.data() {
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        out.extend(h.data_points().map(|p| (labels(&mut p.attributes()), p.count())));
                    }
                    AggregatedMetrics::U64(MetricData::Histogram(h)) => {
                        out.extend(h.data_points().map(|p| (labels(&mut p.attributes()), p.count())));
                    }
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        out.extend(s.data_points().map(|p| (labels(&mut p.attributes()), p.value())));
                    }
                    AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                        out.extend(g.data_points().map(|p| (labels(&mut p.attributes()), p.value())));
                    }
                    other => panic!("{name}: unexpected data {other:?}"),
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn a_charge_with_one_retry_is_traced_and_measured() {
    let spans = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder().with_simple_exporter(spans.clone()).build();
    let metrics = InMemoryMetricExporter::default();
    let meters = SdkMeterProvider::builder().with_reader(PeriodicReader::builder(metrics.clone()).build()).build();
    // Before the first payment: the library makes its instruments once.
    opentelemetry::global::set_meter_provider(meters.clone());
    let subscriber =
        tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(tracer.tracer("payment-test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    let driver = payment::registry().get("payjp").unwrap();
    let mock = payment::mocks::start(driver, MockOptions::default()).await.unwrap();
    let unavailable = FaultKind::Status { status: 503, retry_after: None };
    let once = FaultRule::always(unavailable).methods(&["POST"]).path("/v1/charges").times(1);
    mock.control().set_faults(FaultPlan::new(vec![once])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("journal.db").display());
    let journal = payment::journal::open(&url, JournalOptions::default()).await.unwrap();
    let config = Config::for_provider(mock.settings.clone());
    let client = payment::Connect::new()
        .engine(|provider| EngineBuilder::new(provider).retry_policy(payment::Retry { max_attempts: 3 }))
        .journal(journal)
        .client(&config)
        .await
        .unwrap();
    let request = payment::payjp::fixtures::fixtures().charge(Some(REFERENCE.into()));
    let options = RequestOptions { idempotency_key: Some(IdempotencyKey::new(KEY).unwrap()), ..Default::default() };
    let charge = client.create_charge(request, &options).await.unwrap();

    tracer.force_flush().unwrap();
    meters.force_flush().unwrap();
    let spans = spans.get_finished_spans().unwrap();
    let metrics = metrics.get_finished_metrics().unwrap();

    // The operation's span, the root of everything else.
    let named = |name: &str| spans.iter().filter(|s| s.name == name).collect::<Vec<_>>();
    let operation = named("payment create_charge");
    assert_eq!(operation.len(), 1, "one operation span: {:?}", spans.iter().map(|s| &s.name).collect::<Vec<_>>());
    let operation = operation[0];
    for (key, value) in [
        ("payment.provider", "payjp"),
        ("payment.account", "payjp"),
        ("payment.operation", "create_charge"),
        ("payment.outcome", "success"),
    ] {
        assert_eq!(text(operation, key), value, "{key}");
    }
    assert_eq!(text(operation, "payment.idempotency_key_hash"), telemetry::key_hash(KEY));
    let op_id = operation.span_context.span_id();

    // Each HTTP attempt a CLIENT span under it, named by its template.
    let charges = named("POST /v1/charges");
    assert_eq!(charges.len(), 2, "the 503 and the resend");
    for attempt in &charges {
        assert_eq!(attempt.parent_span_id, op_id);
        assert_eq!(attempt.span_kind, SpanKind::Client);
        assert_eq!(text(attempt, "http.request.method"), "POST");
        assert_eq!(text(attempt, "url.template"), "/v1/charges");
        assert_eq!(text(attempt, "server.address"), "127.0.0.1");
        assert!(attr(attempt, "server.port").is_some());
        assert_eq!(text(attempt, "payment.idempotency_key_hash").len(), 16);
    }
    let status = |s: &SpanData| attr(s, "http.response.status_code").map(|v| v.as_str().into_owned());
    let (first, resend) = (charges[0], charges[1]);
    assert_eq!(status(first).as_deref(), Some("503"));
    assert_eq!(text(first, "error.type"), "503");
    assert!(attr(first, "http.request.resend_count").is_none());
    assert_eq!(status(resend).as_deref(), Some("200"));
    assert_eq!(attr(resend, "http.request.resend_count").map(|v| v.as_str().into_owned()).as_deref(), Some("1"));
    assert!(attr(resend, "error.type").is_none());
    // The card's token, a sub-request, is one more attempt under the same operation.
    let token = named("POST /v1/tokens");
    assert_eq!(token.len(), 1);
    assert_eq!(token[0].parent_span_id, op_id);

    // The journal's writes under the operation: prepared, dispatched, succeeded.
    for state in ["prepared", "dispatched", "succeeded"] {
        let write = named(&format!("payment journal {state}"));
        assert_eq!(write.len(), 1, "{state}");
        assert_eq!(write[0].parent_span_id, op_id, "{state}");
        assert_eq!(text(write[0], "payment.journal.store"), "sqlite");
    }

    // The metrics.
    let http = points(&metrics, telemetry::HTTP_CLIENT_REQUEST_DURATION);
    let by_status = |code: &str| {
        http.iter()
            .filter(|(l, _)| l.get("url.template").map(String::as_str) == Some("/v1/charges"))
            .filter(|(l, _)| l.get("http.response.status_code").map(String::as_str) == Some(code))
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    assert_eq!((by_status("503"), by_status("200")), (1, 1), "{http:?}");
    let ops = points(&metrics, telemetry::OPERATIONS);
    let expected: BTreeMap<String, String> = [
        ("payment.provider", "payjp"),
        ("payment.account", "payjp"),
        ("payment.operation", "create_charge"),
        ("payment.outcome", "success"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(ops, vec![(expected.clone(), 1)]);
    assert_eq!(points(&metrics, telemetry::OPERATION_DURATION), vec![(expected, 1)]);
    let retries = points(&metrics, telemetry::RETRIES);
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!((retries[0].0["error.type"].as_str(), retries[0].1), ("503", 1));
    let commits: u64 = points(&metrics, telemetry::JOURNAL_COMMIT_DURATION).iter().map(|(_, n)| n).sum();
    assert!(commits >= 3, "prepared, dispatched and succeeded each committed: {commits}");
    assert!(!points(&metrics, telemetry::JOURNAL_COMMIT_BATCH_SIZE).is_empty());

    // Nothing secret or personal in any span or metric.
    let exported = format!("{spans:?}\n{metrics:?}");
    let secret = mock.settings.get("secret_key").unwrap().to_owned();
    for forbidden in [secret.as_str(), CARD, KEY, REFERENCE, charge.id.as_str()] {
        if let Some(at) = exported.find(forbidden) {
            panic!(
                "{forbidden:?} was exported: …{}…",
                &exported[at.saturating_sub(600)..(at + 100).min(exported.len())]
            );
        }
    }
}
