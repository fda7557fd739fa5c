//! The retry engine against a scripted HTTP server on 127.0.0.1: the server's own count of
//! requests and the idempotency header on each prove what was (re)sent.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use payment_core::transport::delivery::{Delivery, observe};
use payment_core::transport::{
    Call, Engine, EngineBuilder, HttpRequest, Lookup, LookupAnswer, Phase, RecordingSleeper, ReplyClass,
};
use payment_core::{
    ErrorKind, IdempotencyCapabilities, IdempotencyKey, IdempotencySupport, NativeOperation, Operation, Outcome, Retry,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Capabilities in which every mutating operation is repeated as `support` says.
fn caps(support: IdempotencySupport) -> IdempotencyCapabilities {
    IdempotencyCapabilities {
        create_charge: support,
        capture_charge: support,
        cancel_charge: support,
        complete_charge: support,
        create_refund: support,
        replay_window: Duration::from_secs(3600),
        visibility_lag: Duration::ZERO,
    }
}

/// What the server does with one request.
#[derive(Clone)]
enum Step {
    Respond { status: u16, headers: Vec<(&'static str, String)>, body: &'static str },
    DropAfterRead,
    Slow(Duration),
}

fn ok(body: &'static str) -> Step {
    Step::Respond { status: 200, headers: vec![], body }
}

fn status(status: u16) -> Step {
    Step::Respond { status, headers: vec![], body: "{\"error\":\"injected\"}" }
}

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    key: Option<String>,
    extra: Option<String>,
}

struct Script {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Script {
    async fn start(steps: Vec<Step>) -> Script {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            let mut steps = steps.into_iter();
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let step = steps.next().unwrap_or_else(|| ok("{}"));
                let log = log.clone();
                tokio::spawn(serve_one(stream, step, log));
            }
        });
        Script { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve_one(mut stream: TcpStream, step: Step, log: Arc<Mutex<Vec<Seen>>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("").to_owned();
    let path = request_line.next().unwrap_or("").to_owned();
    let header = |name: &str| {
        head.lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(|l| l[name.len() + 1..].trim().to_owned())
    };
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while buf.len() < head_end + length {
        let Ok(n) = stream.read(&mut chunk).await else { return };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    log.lock().unwrap().push(Seen { method, path, key: header("idempotency-key"), extra: header("x-extra") });
    match step {
        Step::DropAfterRead => drop(stream),
        Step::Slow(d) => {
            tokio::time::sleep(d).await;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
        }
        Step::Respond { status, headers, body } => {
            let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(body);
            let _ = stream.write_all(out.as_bytes()).await;
        }
    }
}

fn engine(sleeper: Arc<RecordingSleeper>) -> Engine {
    EngineBuilder::new("scripted").retry_policy(Retry { max_attempts: 4 }).sleeper(sleeper).build().unwrap()
}

fn post(url: &str, key: &IdempotencyKey) -> impl Fn() -> payment_core::Result<HttpRequest> + Send + Sync + 'static {
    let uri = format!("{url}/v1/charges");
    let key = key.as_str().to_owned();
    move || {
        Ok(http::Request::post(&uri)
            .header("idempotency-key", &key)
            .body(Bytes::from_static(b"amount=1000&currency=jpy"))
            .unwrap())
    }
}

fn key() -> IdempotencyKey {
    IdempotencyKey::new("key-fixed-before-first-attempt").unwrap()
}

fn keys_seen(seen: &[Seen]) -> Vec<Option<String>> {
    seen.iter().map(|s| s.key.clone()).collect()
}

#[tokio::test]
async fn connection_refused_is_retried_and_stays_definite() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let sleeper = Arc::new(RecordingSleeper::default());
    let k = key();
    let call = Call::new(Operation::CreateCharge, &caps(IdempotencySupport::None), post(&url, &k)).key(k);
    let err = engine(sleeper.clone()).execute(call).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    assert_eq!(err.outcome(), Outcome::Definite, "nothing was sent, even for a None operation");
    assert_eq!(sleeper.delays().len(), 3, "4 attempts in all");
}

#[tokio::test]
async fn replay_503_twice_then_200_sends_the_same_key_three_times() {
    let server = Script::start(vec![status(503), status(503), ok("{\"id\":\"ch_1\"}")]).await;
    let k = key();
    let call =
        Call::new(Operation::CreateCharge, &caps(IdempotencySupport::Replay), post(&server.url, &k)).key(k.clone());
    let reply = engine(Arc::default()).execute(call).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert!(!reply.is_uncertain());
    assert_eq!(reply.attempts, 3);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(keys_seen(&seen).iter().all(|s| s.as_deref() == Some(k.as_str())));
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_seconds_and_dates() {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(90));
    let server = Script::start(vec![
        Step::Respond { status: 429, headers: vec![("retry-after", "7".into())], body: "" },
        Step::Respond { status: 429, headers: vec![("retry-after", date)], body: "" },
        ok("{}"),
    ])
    .await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let k = key();
    // A rate-limited request was not processed, so even a None operation may be repeated.
    let call = Call::new(Operation::CreateRefund, &caps(IdempotencySupport::None), post(&server.url, &k)).key(k);
    let reply = engine(sleeper.clone()).execute(call).await.unwrap();
    assert_eq!(reply.status(), 200);
    let delays = sleeper.delays();
    assert_eq!(delays[0], Duration::from_secs(7));
    assert!(delays[1] > Duration::from_secs(80) && delays[1] <= Duration::from_secs(90), "{delays:?}");
    assert_eq!(server.seen().len(), 3);
}

/// A provider's `Retry-After` of u64::MAX seconds, with a deadline and without: no arithmetic on
/// it overflows (the process used to panic), the wait is capped at a day, and the deadline wins.
#[tokio::test]
async fn a_hostile_retry_after_is_capped_and_never_overflows_a_clock() {
    let huge = || Step::Respond { status: 503, headers: vec![("retry-after", u64::MAX.to_string())], body: "" };
    let server = Script::start(vec![huge(), ok("{}")]).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let k = key();
    let call = Call::new(Operation::CreateCharge, &caps(IdempotencySupport::Replay), post(&server.url, &k)).key(k);
    let reply = engine(sleeper.clone()).execute(call).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(sleeper.delays(), vec![payment_core::transport::MAX_RETRY_AFTER]);

    let server = Script::start(vec![huge(), huge()]).await;
    let k = key();
    let call = Call::new(Operation::CreateCharge, &caps(IdempotencySupport::Replay), post(&server.url, &k))
        .key(k)
        .deadline(Some(Duration::from_secs(2)));
    // The last answer goes back to the provider's code to map; no wait past the deadline.
    let reply = engine(Arc::default()).execute(call).await.unwrap();
    assert_eq!((reply.status(), reply.attempts), (503, 1));
    assert_eq!(server.seen().len(), 1, "a wait past the deadline is not waited");
}

#[tokio::test]
async fn dropped_response_on_replay_is_resent_with_the_same_key() {
    let server = Script::start(vec![Step::DropAfterRead, ok("{\"id\":\"ch_1\"}")]).await;
    let k = key();
    let call =
        Call::new(Operation::CreateCharge, &caps(IdempotencySupport::Replay), post(&server.url, &k)).key(k.clone());
    let reply = engine(Arc::default()).execute(call).await.unwrap();
    assert_eq!(reply.status(), 200);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "one original, one replay");
    assert_eq!(keys_seen(&seen), vec![Some(k.as_str().to_owned()); 2]);
}

#[tokio::test]
async fn dropped_response_on_none_is_outcome_unknown_with_no_second_request() {
    let server = Script::start(vec![Step::DropAfterRead, ok("{}")]).await;
    let k = key();
    let call =
        Call::new(Operation::CreateRefund, &caps(IdempotencySupport::None), post(&server.url, &k)).key(k.clone());
    let err = engine(Arc::default()).execute(call).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(err.outcome(), Outcome::Unknown);
    assert_eq!(err.idempotency_key(), Some(&k));
    assert_eq!(err.operation(), Some(Operation::CreateRefund));
    assert_eq!(server.seen().len(), 1, "never resent");
}

#[tokio::test]
async fn a_503_on_none_is_outcome_unknown_once_the_provider_maps_it() {
    let server = Script::start(vec![status(503), ok("{}")]).await;
    let k = key();
    let call = Call::new(Operation::CreateRefund, &caps(IdempotencySupport::None), post(&server.url, &k)).key(k);
    let reply = engine(Arc::default()).execute(call).await.unwrap();
    assert_eq!(reply.status(), 503);
    assert!(reply.is_uncertain());
    let mapped = reply.fail(payment_core::Error::new(ErrorKind::ProviderUnavailable, "service unavailable"));
    assert_eq!(mapped.kind(), ErrorKind::OutcomeUnknown);
    assert_eq!(mapped.http_status(), Some(503));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn slow_response_past_the_deadline() {
    let server = Script::start(vec![Step::Slow(Duration::from_secs(5)), Step::Slow(Duration::from_secs(5))]).await;
    let url = server.url.clone();
    let read = Call::read(Operation::RetrieveCharge, move || {
        Ok(http::Request::get(format!("{url}/v1/charges/ch_1")).body(Bytes::new()).unwrap())
    })
    .deadline(Some(Duration::from_millis(300)));
    let err = engine(Arc::default()).execute(read).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.to_string().contains("deadline of 300ms passed"), "{err}");
    assert_eq!(err.outcome(), Outcome::Definite, "a read changes nothing");

    let k = key();
    let write = Call::new(Operation::CreateCharge, &caps(IdempotencySupport::Replay), post(&server.url, &k))
        .key(k.clone())
        .deadline(Some(Duration::from_millis(300)));
    // The deadline cuts the attempt off mid-flight: the journal must hear it may have been sent.
    let (result, delivery) = observe(engine(Arc::default()).execute(write)).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OutcomeUnknown, "{err}");
    assert_eq!(err.idempotency_key(), Some(&k));
    assert_eq!(delivery, Delivery::MaybeSent);
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_not_sent_and_a_definite_failure() {
    // A port nothing listens on: every attempt is refused before a byte leaves.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let k = key();
    let call = Call::new(Operation::CreateCharge, &caps(IdempotencySupport::None), post(&url, &k)).key(k);
    let (result, delivery) = observe(engine(Arc::default()).execute(call)).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    assert_eq!(err.outcome(), Outcome::Definite, "nothing was sent, so nothing can have happened");
    assert_eq!(delivery, Delivery::NotSent);
}

fn lookup(url: &str) -> Lookup {
    let uri = format!("{url}/v1/charges?order_no=ord_1");
    Lookup {
        request: Arc::new(move || Ok(http::Request::get(&uri).body(Bytes::new()).unwrap())),
        found: Arc::new(|r| match (r.status().is_success(), r.body().as_ref() == b"{\"data\":[]}") {
            (true, false) => LookupAnswer::Found,
            (true, true) => LookupAnswer::Absent,
            _ => LookupAnswer::Unknown,
        }),
    }
}

#[tokio::test]
async fn reject_duplicate_looks_up_instead_of_resending() {
    let server = Script::start(vec![Step::DropAfterRead, ok("{\"data\":[{\"id\":\"ch_1\"}]}")]).await;
    let k = key();
    let support = IdempotencySupport::RejectDuplicate { lookup: "list by order_no" };
    let call =
        Call::new(Operation::CreateCharge, &caps(support), post(&server.url, &k)).key(k).lookup(lookup(&server.url));
    let reply = engine(Arc::default()).execute(call).await.unwrap();
    assert_eq!(reply.phase, Phase::Lookup);
    assert!(!reply.is_uncertain());
    let methods: Vec<String> = server.seen().iter().map(|s| s.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET"], "found by lookup; never posted twice");
}

/// A lookup that finds nothing right after a lost answer proves only that nothing is there yet:
/// the first request may still be landing. A resend the provider turns away (429 to the end)
/// says nothing of it, so the call is uncertain (its error `OutcomeUnknown`), never a definite
/// "rate limited" while the first request lands after all.
#[tokio::test]
async fn a_resend_turned_away_after_an_empty_lookup_leaves_the_call_uncertain() {
    let limited = || Step::Respond { status: 429, headers: vec![], body: "{}" };
    let server =
        Script::start(vec![Step::DropAfterRead, ok("{\"data\":[]}"), limited(), limited(), limited(), limited()]).await;
    let k = key();
    let support = IdempotencySupport::RejectDuplicate { lookup: "list by order_no" };
    let call =
        Call::new(Operation::CreateCharge, &caps(support), post(&server.url, &k)).key(k).lookup(lookup(&server.url));
    let reply = engine(Arc::default()).execute(call).await.unwrap();
    assert_eq!((reply.phase, reply.status()), (Phase::Send, 429));
    assert!(reply.is_uncertain(), "the first request may still land");
    let e = reply.fail(payment_core::Error::new(ErrorKind::RateLimited, "rate limited"));
    assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{e}");
}

/// A resend after an empty lookup refused for the state the payment is in ("exceeds what is
/// left") may be refused because the original landed meanwhile: unknown, not a definite
/// failure. A decline of the resend stands (a landed original would have made it a duplicate).
#[tokio::test]
async fn a_resend_refused_after_an_empty_lookup_is_unknown_unless_declined() {
    for (kind, unknown) in [
        (ErrorKind::InvalidRequest, true),
        (ErrorKind::CardDeclined(payment_core::DeclineReason::InsufficientFunds), false),
    ] {
        let refused = Step::Respond { status: 400, headers: vec![], body: "{\"error\":\"exceeds\"}" };
        let server = Script::start(vec![Step::DropAfterRead, ok("{\"data\":[]}"), refused]).await;
        let k = key();
        let support = IdempotencySupport::RejectDuplicate { lookup: "list by order_no" };
        let call = Call::new(Operation::CreateCharge, &caps(support), post(&server.url, &k))
            .key(k)
            .lookup(lookup(&server.url));
        let reply = engine(Arc::default()).execute(call).await.unwrap();
        assert_eq!((reply.phase, reply.status()), (Phase::Send, 400));
        let e = reply.fail(payment_core::Error::new(kind, "refused"));
        assert_eq!(e.kind() == ErrorKind::OutcomeUnknown, unknown, "{kind:?}: {e}");
    }
}

#[tokio::test]
async fn reject_duplicate_resends_when_the_lookup_finds_nothing() {
    let server = Script::start(vec![Step::DropAfterRead, ok("{\"data\":[]}"), ok("{\"id\":\"ch_1\"}")]).await;
    let k = key();
    let support = IdempotencySupport::RejectDuplicate { lookup: "list by order_no" };
    let call =
        Call::new(Operation::CreateCharge, &caps(support), post(&server.url, &k)).key(k).lookup(lookup(&server.url));
    let reply = engine(Arc::default()).execute(call).await.unwrap();
    assert_eq!(reply.phase, Phase::Send);
    assert_eq!(reply.status(), 200);
    let seen: Vec<(String, String)> = server.seen().iter().map(|s| (s.method.clone(), s.path.clone())).collect();
    assert_eq!(seen[0].0, "POST");
    assert_eq!(seen[1], ("GET".to_owned(), "/v1/charges?order_no=ord_1".to_owned()));
    assert_eq!(seen[2].0, "POST");
}

#[tokio::test]
async fn a_duplicate_rejection_after_ambiguity_is_resolved_by_lookup() {
    // Drop; lookup races the original and finds nothing; resend is refused as a duplicate; lookup finds it.
    let server = Script::start(vec![
        Step::DropAfterRead,
        ok("{\"data\":[]}"),
        Step::Respond { status: 400, headers: vec![], body: "{\"error\":\"duplicate\"}" },
        ok("{\"data\":[{\"id\":\"ch_1\"}]}"),
    ])
    .await;
    let k = key();
    let support = IdempotencySupport::RejectDuplicate { lookup: "list by order_no" };
    let classify: payment_core::transport::Classifier = |r| {
        if r.status() == 400 { ReplyClass::DuplicateRejected } else { payment_core::transport::default_classify(r) }
    };
    let call = Call::new(Operation::CreateCharge, &caps(support), post(&server.url, &k))
        .key(k)
        .lookup(lookup(&server.url))
        .classify(classify);
    let sleeper = Arc::new(RecordingSleeper::default());
    let engine =
        EngineBuilder::new("scripted").retry_policy(Retry { max_attempts: 6 }).sleeper(sleeper).build().unwrap();
    let reply = engine.execute(call).await.unwrap();
    assert_eq!(reply.phase, Phase::Lookup);
    assert!(!reply.found_earlier_duplicate(), "the duplicate was this call's own lost attempt");
    assert_eq!(server.seen().len(), 4);

    // Without an earlier ambiguous attempt the key was taken by an earlier call: look it up too, so
    // the provider can replay it (or report a conflict when it does not match the request).
    let server = Script::start(vec![
        Step::Respond { status: 400, headers: vec![], body: "{}" },
        ok("{\"data\":[{\"id\":\"ch_1\"}]}"),
    ])
    .await;
    let k = key();
    let call = Call::new(Operation::CreateCharge, &caps(support), post(&server.url, &k))
        .key(k)
        .lookup(lookup(&server.url))
        .classify(classify);
    let reply = engine.execute(call).await.unwrap();
    assert_eq!((reply.status(), reply.phase), (200, Phase::Lookup));
    assert!(!reply.is_uncertain());
    assert!(reply.found_earlier_duplicate(), "an earlier call took the key");
    assert_eq!(server.seen().len(), 2);
}

#[derive(Clone)]
struct AddHeader;
impl<S> tower::Layer<S> for AddHeader {
    type Service = tower::util::MapRequest<S, fn(HttpRequest) -> HttpRequest>;
    fn layer(&self, inner: S) -> Self::Service {
        fn add(mut r: HttpRequest) -> HttpRequest {
            r.headers_mut().insert("x-extra", http::HeaderValue::from_static("from-user-layer"));
            r
        }
        tower::util::MapRequest::new(inner, add as fn(HttpRequest) -> HttpRequest)
    }
}

#[tokio::test]
async fn user_layers_wrap_every_attempt() {
    let server = Script::start(vec![status(503), ok("{}")]).await;
    let engine = EngineBuilder::new("scripted")
        .retry_policy(Retry { max_attempts: 3 })
        .sleeper(Arc::new(RecordingSleeper::default()))
        .layer(AddHeader)
        .build()
        .unwrap();
    let k = key();
    let reply = engine
        .execute(Call::new(
            Operation::Native(NativeOperation::write("capture", IdempotencySupport::Replay)),
            &caps(IdempotencySupport::None),
            post(&server.url, &k),
        ))
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(server.seen().iter().all(|s| s.extra.as_deref() == Some("from-user-layer")));
}

/// Answers 503 to the first `failures` requests of each path, then 200.
#[cfg(feature = "backoff")]
async fn per_path_server(failures: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts: Arc<Mutex<std::collections::HashMap<String, usize>>> = Arc::default();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let counts = counts.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let Ok(n) = stream.read(&mut buf).await else { return };
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                let seen = {
                    let mut c = counts.lock().unwrap();
                    let n = c.entry(path).or_default();
                    *n += 1;
                    *n
                };
                let status = if seen <= failures { "503 X" } else { "200 OK" };
                let out = format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
                let _ = stream.write_all(out.as_bytes()).await;
            });
        }
    });
    url
}

#[cfg(feature = "backoff")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_calls_each_follow_their_own_backoff_schedule() {
    let url = per_path_server(3).await;
    let schedule = || backoff::ExponentialBackoff {
        initial_interval: Duration::from_millis(100),
        current_interval: Duration::from_millis(100),
        randomization_factor: 0.0,
        multiplier: 2.0,
        max_interval: Duration::from_secs(10),
        max_elapsed_time: None,
        ..backoff::ExponentialBackoff::default()
    };
    let sleeper = Arc::new(RecordingSleeper::default());
    let engine = EngineBuilder::new("scripted")
        .retry_policy(payment_core::retry::BackoffPolicy::new(schedule, 10))
        .sleeper(sleeper.clone())
        .build()
        .unwrap();
    let call = |path: &'static str| {
        let uri = format!("{url}{path}");
        Call::new(Operation::CreateCharge, &caps(IdempotencySupport::Replay), move || {
            Ok(http::Request::post(&uri).header("idempotency-key", path).body(Bytes::new()).unwrap())
        })
    };
    let (a, b) = tokio::join!(engine.execute(call("/a")), engine.execute(call("/b")));
    assert_eq!((a.unwrap().status(), b.unwrap().status()), (200, 200));
    let mut delays = sleeper.delays();
    delays.sort();
    let ms = |n| Duration::from_millis(n);
    // One shared schedule would have advanced to 800 ms and beyond; each call started at 100 ms.
    assert_eq!(delays, [ms(100), ms(100), ms(200), ms(200), ms(400), ms(400)]);
}

#[tokio::test]
async fn a_rate_limit_that_outlasts_every_attempt_reports_its_retry_after() {
    let limited = || Step::Respond { status: 429, headers: vec![("retry-after", "7".into())], body: "{}" };
    let server = Script::start(vec![limited(), limited(), limited(), limited()]).await;
    let sleeper = Arc::new(RecordingSleeper::default());
    let k = key();
    let call = Call::new(Operation::CreateCharge, &caps(IdempotencySupport::Replay), post(&server.url, &k)).key(k);
    let reply = engine(sleeper.clone()).execute(call).await.unwrap();
    assert_eq!((reply.status(), reply.attempts), (429, 4), "every attempt was rate limited");
    assert_eq!(sleeper.delays(), vec![Duration::from_secs(7); 3]);
    let e = reply.fail(payment_core::Error::new(ErrorKind::RateLimited, "slow down"));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(e.to_json()["retry_after_ms"], 7000);
    assert_eq!(e.provider(), "scripted");
}

#[tokio::test]
async fn a_call_that_ends_on_a_duplicate_its_lookups_never_found_is_unknown() {
    // The original times out while the provider still processes it; the reference is taken but
    // the charge is not visible yet: every resend is a duplicate and every lookup finds nothing.
    let duplicate = || Step::Respond { status: 400, headers: vec![], body: "{\"error\":\"duplicate\"}" };
    let server = Script::start(vec![
        Step::DropAfterRead,
        ok("{\"data\":[]}"),
        duplicate(),
        ok("{\"data\":[]}"),
        duplicate(),
        ok("{\"data\":[]}"),
        duplicate(),
    ])
    .await;
    let k = key();
    let support = IdempotencySupport::RejectDuplicate { lookup: "list by order_no" };
    let classify: payment_core::transport::Classifier = |r| {
        if r.status() == 400 { ReplyClass::DuplicateRejected } else { payment_core::transport::default_classify(r) }
    };
    let call = Call::new(Operation::CreateCharge, &caps(support), post(&server.url, &k))
        .key(k.clone())
        .lookup(lookup(&server.url))
        .classify(classify);
    let engine = EngineBuilder::new("scripted")
        .retry_policy(Retry { max_attempts: 7 })
        .sleeper(Arc::new(RecordingSleeper::default()))
        .build()
        .unwrap();
    let reply = engine.execute(call).await.unwrap();
    assert_eq!((reply.phase, reply.status()), (Phase::Send, 400));
    assert!(reply.is_uncertain(), "a duplicate nothing explains may be this very charge");
    let e = reply.fail(payment_core::Error::new(ErrorKind::Conflict, "the order number is used").with_http_status(400));
    assert_eq!(e.outcome(), Outcome::Unknown, "never a definite refusal: {e}");
    assert_eq!(e.idempotency_key(), Some(&k));
}
