//! OpenTelemetry end to end: a journaled PAY.JP charge whose first send meets a 503, then a
//! routed charge that fails over, a lost charge settled by recovery and a webhook that fails
//! verification, are exported through
//! in-memory exporters; the spans (operation, HTTP attempts, journal writes, routing decisions,
//! webhook) and metrics carry the names, parents and attributes the README lists, and never a
//! secret, a card number, an idempotency key or a reference.

#![cfg(all(
    feature = "payjp",
    feature = "mock",
    feature = "journal",
    feature = "routing",
    feature = "webhooks",
    feature = "otel"
))]

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

/// The spans ended so far, once one named `last` is among them: a span ends when its last handle
/// goes, which may be a moment after the call returned (a worker thread dropping its copy).
async fn finished(exporter: &InMemorySpanExporter, last: &str) -> Vec<SpanData> {
    for _ in 0..500 {
        let spans = exporter.get_finished_spans().unwrap();
        if spans.iter().any(|s| s.name == last) {
            return spans;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no span named {last:?} ended within 5 s");
}

#[tokio::test]
async fn a_charge_with_one_retry_is_traced_and_measured() {
    let spans_exporter = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder().with_simple_exporter(spans_exporter.clone()).build();
    let metrics_exporter = InMemoryMetricExporter::default();
    let reader = PeriodicReader::builder(metrics_exporter.clone()).build();
    let meters = SdkMeterProvider::builder().with_reader(reader).build();
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
        .engine(|provider| {
            EngineBuilder::new(provider)
                .retry_policy(payment::Retry { max_attempts: 3 })
                .call_timeout(std::time::Duration::from_secs(30))
        })
        .journal(journal)
        .client(&config)
        .await
        .unwrap();
    let request = payment::payjp::fixtures::fixtures().charge(Some(REFERENCE.into()));
    let options = RequestOptions { idempotency_key: Some(IdempotencyKey::new(KEY).unwrap()), ..Default::default() };
    let charge = client.create_charge(request, &options).await.unwrap();

    let spans = finished(&spans_exporter, "payment create_charge").await;
    meters.force_flush().unwrap();
    let metrics = metrics_exporter.get_finished_metrics().unwrap();

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

    // A routed charge whose first account cannot be reached: each account tried is a span with
    // the decision it led to, and each account's breaker is a gauge.
    let toml = format!(
        "[accounts.primary]\nprovider = \"payjp\"\nbase_url = \"http://127.0.0.1:9\"\nsecret_key = \"sk_test_mock\"\n\
         [accounts.backup]\nprovider = \"payjp\"\nbase_url = \"{}\"\nsecret_key = \"sk_test_mock\"\n\
         [[routes]]\nname = \"japan\"\ntargets = [\"primary\", \"backup\"]\n",
        mock.settings.get("base_url").unwrap()
    );
    let router = payment::Connect::new().routed(&Config::from_toml_str(&toml).unwrap()).await.unwrap();
    let request = payment::payjp::fixtures::fixtures().charge(Some("otel-routed-1".into()));
    let options =
        RequestOptions { idempotency_key: Some(IdempotencyKey::new("otel-routed-key").unwrap()), ..Default::default() };
    let routed = router.route_charge(request, &payment::routing::RouteContext::default(), &options).await;
    assert_eq!(routed.account.as_deref(), Some("backup"), "{:?}", routed.result);
    // A webhook that fails verification is counted as rejected.
    let driver = payment::registry().get("payjp").unwrap();
    let (events, _rx) = tokio::sync::mpsc::channel(1);
    let server = payment::webhooks::WebhookServer::for_drivers(
        &[driver],
        |_| mock.settings.clone(),
        std::sync::Arc::new(payment::webhooks::MemoryInbox::new()),
        std::sync::Arc::new(events),
    );
    let (status, _) = server.deliver("payjp", &http::HeaderMap::new(), b"{}").await;
    assert!(status.is_client_error(), "{status}");
    // A charge whose answer is lost, left unknown (no retry), then settled by recovery: a span
    // for the attempt it settled, and what it settled it to.
    let url = format!("sqlite://{}", dir.path().join("recovered.db").display());
    let journal = payment::journal::open(&url, JournalOptions::default()).await.unwrap();
    let no_retry = |p| {
        EngineBuilder::new(p)
            .retry_policy(payment::Retry { max_attempts: 1 })
            .call_timeout(std::time::Duration::from_secs(30))
    };
    let lossy = payment::Connect::new().engine(no_retry).journal(journal.clone()).client(&config).await.unwrap();
    let lost = FaultRule::always(FaultKind::DropAfterCommit).methods(&["POST"]).path("/v1/charges").times(1);
    mock.control().set_faults(FaultPlan::new(vec![lost])).unwrap();
    let request = payment::payjp::fixtures::fixtures().charge(Some("otel-lost-1".into()));
    let options =
        RequestOptions { idempotency_key: Some(IdempotencyKey::new("otel-lost-key").unwrap()), ..Default::default() };
    let e = lossy.create_charge(request, &options).await.unwrap_err();
    assert_eq!(e.outcome(), payment::Outcome::Unknown, "{e}");
    let report = journal.recover(&lossy.unjournaled()).await.unwrap();
    assert_eq!(report.resolutions.len(), 1, "{report:?}");
    let spans = finished(&spans_exporter, "payment recover create_charge").await;
    let recovered = spans.iter().find(|s| s.name == "payment recover create_charge").unwrap();
    assert_eq!(text(recovered, "payment.recovery.resolved_to"), "succeeded");
    assert_eq!(text(recovered, "payment.idempotency_key_hash"), telemetry::key_hash("otel-lost-key"));
    let spans = finished(&spans_exporter, "payment webhook").await;
    meters.force_flush().unwrap();
    let metrics = metrics_exporter.get_finished_metrics().unwrap();
    let decisions: BTreeMap<String, String> = spans
        .iter()
        .filter(|s| s.name == "payment route")
        .map(|s| (text(s, "payment.account"), text(s, "payment.route.decision")))
        .collect();
    let expected: BTreeMap<String, String> =
        [("primary", "failover"), ("backup", "charged")].map(|(a, d)| (a.to_owned(), d.to_owned())).into();
    assert_eq!(decisions, expected);
    let backup_attempt =
        spans.iter().find(|s| s.name == "payment route" && text(s, "payment.account") == "backup").unwrap();
    let under_backup = spans.iter().filter(|s| s.parent_span_id == backup_attempt.span_context.span_id()).count();
    assert!(under_backup > 0, "the account's own operation runs under its routing span");
    let breakers = points(&metrics, telemetry::BREAKER_STATE);
    assert!(
        breakers.iter().any(|(l, _)| l.get("payment.account").map(String::as_str) == Some("primary")),
        "{breakers:?}"
    );
    // Each SQLite commit is measured, with its batch's size.
    let sqlite_commits: u64 = points(&metrics, telemetry::JOURNAL_COMMIT_DURATION)
        .iter()
        .filter(|(l, _)| l.get("payment.journal.store").map(String::as_str) == Some("sqlite"))
        .map(|(_, n)| n)
        .sum();
    assert!(sqlite_commits >= 3, "prepared, dispatched and succeeded each committed: {sqlite_commits}");
    assert!(!points(&metrics, telemetry::JOURNAL_COMMIT_BATCH_SIZE).is_empty());
    let webhooks = points(&metrics, telemetry::WEBHOOK_DELIVERIES);
    assert_eq!(webhooks.len(), 1, "{webhooks:?}");
    assert_eq!(webhooks[0].0["payment.webhook.result"], "rejected");
    assert!(spans.iter().any(|s| s.name == "payment webhook" && text(s, "payment.webhook.result") == "rejected"));

    // Nothing secret or personal in any span or metric.
    let exported = format!("{spans:?}\n{metrics:?}");
    let secret = mock.settings.get("secret_key").unwrap().to_owned();
    for forbidden in [secret.as_str(), CARD, KEY, REFERENCE, charge.id.as_str(), "otel-routed-key", "otel-routed-1"] {
        if let Some(at) = exported.find(forbidden) {
            panic!(
                "{forbidden:?} was exported: …{}…",
                &exported[at.saturating_sub(600)..(at + 100).min(exported.len())]
            );
        }
    }
}
