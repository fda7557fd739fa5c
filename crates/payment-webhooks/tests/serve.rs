//! The server with a test verifier (a shared token, and an event id in the body): verification
//! answers, exactly-once hand-off under repeated and concurrent deliveries, limits, and failures.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use http::{HeaderMap, StatusCode};
use payment_core::{Error, ErrorKind, EventKind, EventRecord, Result, Trust, WebhookEvent, WebhookVerifier};
use payment_webhooks::{EventHandler, MemoryInbox, Rejection, WebhookServer};
use proptest::prelude::*;
use tower::ServiceExt;

struct TokenVerifier {
    status_on_reject: Option<u16>,
}

impl WebhookVerifier for TokenVerifier {
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent> {
        if headers.get("x-token").map(|v| v.as_bytes()) != Some(b"good") {
            let e = Error::new(ErrorKind::Authentication, "token missing or wrong");
            return Err(match self.status_on_reject {
                Some(s) => e.with_http_status(s),
                None => e,
            });
        }
        let raw: serde_json::Value = serde_json::from_slice(body).map_err(|e| Error::decode("the test event", e))?;
        let id = raw["id"].as_str().ok_or_else(|| Error::invalid("no id"))?.to_owned();
        Ok(WebhookEvent {
            id,
            provider: "test".into(),
            kind: EventKind::ChargeSucceeded,
            object_id: None,
            reference: None,
            refund_reference: None,
            amount: None,
            trust: Trust::Verified,
            occurred_at: None,
            record: EventRecord::Other(raw.clone()),
            raw,
        })
    }
}

#[derive(Default)]
struct Counting {
    handled: AtomicUsize,
    rejected: AtomicUsize,
    fail_next: AtomicUsize,
}

#[async_trait]
impl EventHandler for Counting {
    async fn handle(&self, _event: WebhookEvent) -> Result<()> {
        if self.fail_next.load(Ordering::SeqCst) > 0 {
            self.fail_next.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::new(ErrorKind::Config, "busy"));
        }
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn rejected(&self, _r: &Rejection) {
        self.rejected.fetch_add(1, Ordering::SeqCst);
    }
}

fn server(handler: Arc<Counting>) -> WebhookServer {
    WebhookServer::with_verifiers(
        vec![
            ("test".into(), Box::new(TokenVerifier { status_on_reject: None }) as Box<dyn WebhookVerifier>),
            ("strict".into(), Box::new(TokenVerifier { status_on_reject: Some(400) })),
        ],
        Arc::new(MemoryInbox::new()),
        handler,
    )
}

fn good() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-token", "good".parse().unwrap());
    h
}

#[tokio::test]
async fn a_thousand_repeated_deliveries_are_handled_once() {
    let handler = Arc::new(Counting::default());
    let s = server(handler.clone());
    for _ in 0..1000 {
        let (status, _) = s.deliver("test", &good(), br#"{"id":"evt_1"}"#).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(handler.handled.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_deliveries_are_handled_once() {
    let handler = Arc::new(Counting::default());
    let s = server(handler.clone());
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.deliver("test", &good(), br#"{"id":"evt_2"}"#).await.0 })
        })
        .collect();
    // Deliveries that arrive while it is being handled are told to come again (a retryable
    // status); none is handled twice.
    for t in tasks {
        let status = t.await.unwrap();
        assert!(matches!(status, StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE), "{status}");
    }
    assert_eq!(handler.handled.load(Ordering::SeqCst), 1);
    assert_eq!(s.deliver("test", &good(), br#"{"id":"evt_2"}"#).await.0, StatusCode::OK, "done: acknowledged");
    assert_eq!(handler.handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refusals_answer_the_documented_status_and_say_why() {
    let handler = Arc::new(Counting::default());
    let s = server(handler.clone());
    assert_eq!(s.deliver("test", &HeaderMap::new(), br#"{"id":"e"}"#).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(s.deliver("strict", &HeaderMap::new(), br#"{"id":"e"}"#).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(s.deliver("test", &good(), b"not json").await.0, StatusCode::BAD_REQUEST);
    let (status, body) = s.deliver("nobody", &good(), b"{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("nobody"), "{body}");
    assert_eq!(handler.rejected.load(Ordering::SeqCst), 4);
    assert_eq!(handler.handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_event_the_application_did_not_take_is_handled_on_the_next_delivery() {
    let handler = Arc::new(Counting::default());
    handler.fail_next.store(1, Ordering::SeqCst);
    let s = server(handler.clone());
    assert_eq!(s.deliver("test", &good(), br#"{"id":"evt_3"}"#).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(s.deliver("test", &good(), br#"{"id":"evt_3"}"#).await.0, StatusCode::OK);
    assert_eq!(handler.handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_router_serves_the_path_and_limits_the_body() {
    let handler = Arc::new(Counting::default());
    let router = server(handler.clone()).router();
    let post = |body: Vec<u8>| {
        http::Request::post("/webhooks/test").header("x-token", "good").body(axum::body::Body::from(body)).unwrap()
    };
    let ok = router.clone().oneshot(post(br#"{"id":"evt_4"}"#.to_vec())).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let big = router.clone().oneshot(post(vec![b' '; payment_webhooks::DEFAULT_BODY_LIMIT + 1])).await.unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let get = http::Request::get("/webhooks/test").body(axum::body::Body::empty()).unwrap();
    assert_eq!(router.oneshot(get).await.unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(handler.handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn drivers_without_webhook_keys_say_which_to_set() {
    let handler = Arc::new(Counting::default());
    let driver = payment_core::ProviderDriver {
        webhooks: Some(|s| Err(Error::config(format!("test webhooks need {}", s.describe_key("webhook_token"))))),
        ..test_driver()
    };
    let s = WebhookServer::for_drivers(
        &[&driver],
        |n: &str| payment_core::ProviderSettings::new(n),
        Arc::new(MemoryInbox::new()),
        handler,
    );
    let (status, body) = s.deliver("fixture", &good(), b"{}").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("PAYMENT_FIXTURE_WEBHOOK_TOKEN"), "{body}");
}

fn test_driver() -> payment_core::ProviderDriver {
    payment_core::ProviderDriver {
        name: "fixture",
        description: "a driver for this test",
        capabilities: leak_caps(),
        config_keys: &[],
        connect: |_, _| Box::pin(async { Err(Error::config("not for connecting")) }),
        fixtures: || unreachable!("not charged"),
        mock: None,
        webhooks: None,
    }
}

fn leak_caps() -> &'static payment_core::Capabilities {
    // Any capabilities do: the server only reads the name and the webhook builder.
    Box::leak(Box::new(payment_core::Capabilities {
        charge: payment_core::ChargeCapabilities {
            create: false,
            retrieve: false,
            capture_later: false,
            partial_capture: false,
            cancel: false,
            list: false,
            async_completion: false,
            partial_amounts_on_read: false,
            amounts_echoed: false,
            find_by_reference: false,
            customer_authentication: false,
        },
        refund: payment_core::RefundCapabilities {
            full: false,
            partial: false,
            multiple_partial: false,
            retrieve: false,
            list: false,
            async_completion: false,
        },
        list: payment_core::ListCapabilities {
            style: payment_core::ListStyle::None,
            max_limit: 1,
            oldest_first: false,
            late_data_secs: 0,
        },
        idempotency: payment_core::IdempotencyCapabilities {
            create_charge: payment_core::IdempotencySupport::None,
            capture_charge: payment_core::IdempotencySupport::None,
            cancel_charge: payment_core::IdempotencySupport::None,
            complete_charge: payment_core::IdempotencySupport::None,
            create_refund: payment_core::IdempotencySupport::None,
            replay_window: payment_core::capabilities::DEFAULT_REPLAY_WINDOW,
            visibility_lag: std::time::Duration::ZERO,
        },
        sources: payment_core::SourceCapabilities { token: false, customer: false, card: false, channel: false },
        currencies: &[],
        amount_limits: &[],
        webhooks: true,
        soft_declines: &[],
    }))
}

proptest! {
    #[test]
    fn any_delivery_gets_an_answer_and_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200), provider in "[a-z]{0,8}") {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let s = server(Arc::new(Counting::default()));
        let (status, _) = rt.block_on(s.deliver(&provider, &good(), &body));
        prop_assert!(status.is_success() || status.is_client_error());
    }
}

/// Handles the first event slowly, or panics on it, counting what it finished.
#[derive(Default)]
struct Slow {
    started: AtomicUsize,
    finished: AtomicUsize,
    panic_first: bool,
}

#[async_trait]
impl EventHandler for Slow {
    async fn handle(&self, _event: WebhookEvent) -> Result<()> {
        if self.started.fetch_add(1, Ordering::SeqCst) == 0 {
            if self.panic_first {
                panic!("a handler that panics");
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
        self.finished.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn server_with(handler: Arc<Slow>) -> WebhookServer {
    WebhookServer::with_verifiers(
        vec![("test".into(), Box::new(TokenVerifier { status_on_reject: None }) as Box<dyn WebhookVerifier>)],
        Arc::new(MemoryInbox::new()),
        handler,
    )
}

/// A provider that hangs up while the application handles its event cannot cancel the
/// handling: it runs to its end and the event is done; a delivery meanwhile is told to come
/// again, and one after is acknowledged without handling it twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_up_mid_handler_neither_cancels_nor_loses_the_event() {
    let handler = Arc::new(Slow::default());
    let s = server_with(handler.clone());
    let body: &[u8] = br#"{"id":"evt_hang"}"#;
    let hung_up = tokio::time::timeout(std::time::Duration::from_millis(50), s.deliver("test", &good(), body)).await;
    assert!(hung_up.is_err(), "the provider gave up waiting");
    assert_eq!(s.deliver("test", &good(), body).await.0, StatusCode::SERVICE_UNAVAILABLE, "still being handled");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(handler.finished.load(Ordering::SeqCst), 1, "the handling ran to its end");
    assert_eq!(s.deliver("test", &good(), body).await.0, StatusCode::OK);
    assert_eq!(handler.started.load(Ordering::SeqCst), 1, "never handled twice");
}

/// A handler that panics leaves the event unhandled, not marked: the provider's next delivery
/// is handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_does_not_lose_the_event() {
    let handler = Arc::new(Slow { panic_first: true, ..Slow::default() });
    let s = server_with(handler.clone());
    let body: &[u8] = br#"{"id":"evt_panic"}"#;
    assert_eq!(s.deliver("test", &good(), body).await.0, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(s.deliver("test", &good(), body).await.0, StatusCode::OK);
    assert_eq!(handler.finished.load(Ordering::SeqCst), 1, "handled on the next delivery");
}

/// The server on loopback with a short read timeout and `max` connections at once.
async fn listening(max: usize) -> String {
    let s = server(Arc::new(Counting::default()))
        .with_read_timeout(std::time::Duration::from_millis(300))
        .with_max_connections(max);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { s.serve(listener).await });
    addr
}

/// Reads until the server answers or closes; what it sent.
async fn answer(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the server kept a slow connection open");
    String::from_utf8_lossy(&got).into_owned()
}

/// A sender dripping its headers or its body is cut off at the read timeout (408 for a body),
/// instead of holding a connection for as long as it likes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_and_slow_bodies_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let addr = listening(16).await;
    let mut headers = tokio::net::TcpStream::connect(&addr).await.unwrap();
    headers.write_all(b"POST /webhooks/test HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let _ = answer(&mut headers).await;
    let mut body = tokio::net::TcpStream::connect(&addr).await.unwrap();
    body.write_all(b"POST /webhooks/test HTTP/1.1\r\nHost: x\r\nx-token: good\r\ncontent-length: 100\r\n\r\n{\"id\":")
        .await
        .unwrap();
    let got = answer(&mut body).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
}

/// With one connection allowed, a second waits until the first is done (here cut off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_wait_their_turn() {
    use tokio::io::AsyncWriteExt;
    let addr = listening(1).await;
    let mut first = tokio::net::TcpStream::connect(&addr).await.unwrap();
    first.write_all(b"POST /webhooks/test HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let mut second = tokio::net::TcpStream::connect(&addr).await.unwrap();
    second
        .write_all(b"POST /webhooks/test HTTP/1.1\r\nHost: x\r\nx-token: good\r\nconnection: close\r\ncontent-length: 14\r\n\r\n{\"id\":\"evt_9\"}")
        .await
        .unwrap();
    let got = answer(&mut second).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    // Not before the first connection was cut at its 300 ms read timeout (a lower bound only).
    assert!(started.elapsed() >= std::time::Duration::from_millis(200), "served beside the first");
    let _ = answer(&mut first).await;
}
