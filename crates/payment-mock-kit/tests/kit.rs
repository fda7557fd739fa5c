//! The kit against a tiny provider mock ("things"), with raw TCP clients where the HTTP client
//! would hide what happened on the wire.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use payment_mock_kit::{
    Claim, FaultKind, FaultPlan, FaultRule, MockHooks, MockKit, MockObject, MockObjects, MockServer, MockStats,
    StoredResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone)]
struct Things {
    kit: Arc<MockKit>,
    made: Arc<Mutex<Vec<(String, String)>>>,
}

impl MockHooks for Things {
    fn provider(&self) -> &'static str {
        "things"
    }
    fn error_response(&self, status: u16, message: &str) -> Response {
        let status = axum::http::StatusCode::from_u16(status).unwrap();
        (status, axum::Json(serde_json::json!({"error": {"message": message, "status": status.as_u16()}})))
            .into_response()
    }
    fn stats(&self) -> MockStats {
        MockStats { charges: self.made.lock().unwrap().len(), ..MockStats::default() }
    }
    fn objects(&self, limit: usize) -> MockObjects {
        // Each thing is a ¥1 charge whose reference is the body that made it.
        let made = self.made.lock().unwrap();
        let charges = payment_mock_kit::objects::newest(made.iter().enumerate().rev(), limit)
            .into_iter()
            .map(|(i, (id, body))| {
                MockObject::new(id.clone(), "made", payment_core::Money::new(1, payment_core::Currency::JPY), i as i64)
                    .reference(body.clone())
            })
            .collect();
        MockObjects { charges, refunds: vec![] }
    }
    fn reset(&self) {
        self.made.lock().unwrap().clear();
    }
}

async fn create(State(t): State<Things>, headers: HeaderMap, body: Bytes) -> Response {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let fingerprint = String::from_utf8_lossy(&body).into_owned();
    let guard = match &key {
        Some(k) => match t.kit.idempotency.claim("acct", k, &fingerprint) {
            Claim::New(g) => Some(g),
            Claim::Replay(r) => return (axum::http::StatusCode::from_u16(r.status).unwrap(), r.body).into_response(),
            Claim::Conflict => return t.error_response(409, "idempotency key reused with another body"),
            Claim::InFlight => return t.error_response(409, "request in progress"),
        },
        None => None,
    };
    let id = t.kit.ids.next("th_", 8, payment_mock_kit::IdAlphabet::Hex);
    t.made.lock().unwrap().push((id.clone(), String::from_utf8_lossy(&body).into_owned()));
    let body = serde_json::json!({"id": id, "created": t.kit.clock.now().unix()}).to_string();
    if let Some(g) = guard {
        g.complete(StoredResponse { status: 200, headers: vec![], body: Bytes::from(body.clone()) });
    }
    (axum::http::StatusCode::OK, body).into_response()
}

async fn start() -> (MockServer, Things) {
    let kit = MockKit::with_body_limit(1, 1024);
    let things = Things { kit: kit.clone(), made: Arc::default() };
    let routes = Router::new().route("/v1/things", post(create)).with_state(things.clone());
    let server = MockServer::start_local(kit, Arc::new(things.clone()), routes).await.unwrap();
    (server, things)
}

/// Sends raw bytes and returns everything the server wrote back before closing.
async fn raw(server: &MockServer, request: &[u8]) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

const CREATE: &[u8] = b"POST /v1/things HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\nconnection: close\r\n\r\na=1";

#[tokio::test]
async fn drop_after_commit_changes_state_and_sends_nothing() {
    let (server, things) = start().await;
    server.control().set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::DropAfterCommit).times(1)])).unwrap();
    let seen = raw(&server, CREATE).await;
    assert!(seen.is_empty(), "the client saw no response: {:?}", String::from_utf8_lossy(&seen));
    assert_eq!(things.made.lock().unwrap().len(), 1, "the state change was kept");
    let log = server.control().requests();
    assert_eq!(log[0].fault.as_deref(), Some("drop_after_commit"));
    assert_eq!(log[0].status, None);
    let seen = raw(&server, CREATE).await;
    assert!(seen.starts_with(b"HTTP/1.1 200"), "rule used up");
}

#[tokio::test]
async fn reset_before_commit_changes_nothing() {
    let (server, things) = start().await;
    server.control().set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::ResetBeforeCommit)])).unwrap();
    assert!(raw(&server, CREATE).await.is_empty());
    assert_eq!(things.made.lock().unwrap().len(), 0);
}

#[tokio::test]
async fn status_faults_answer_in_the_providers_shape_without_running_the_handler() {
    let (server, things) = start().await;
    let rule = FaultRule::always(FaultKind::Status { status: 429, retry_after: Some(3) }).methods(&["POST"]);
    server.control().set_faults(FaultPlan::new(vec![rule])).unwrap();
    let r = reqwest::Client::new().post(format!("{}/v1/things", server.url())).body("a=1").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "3");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["status"], 429);
    assert_eq!(things.made.lock().unwrap().len(), 0);
}

#[tokio::test]
async fn delay_faults_hold_the_response() {
    let (server, _) = start().await;
    server.control().set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::Delay { ms: 300 })])).unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let r = client.post(format!("{}/v1/things", server.url())).body("a=1").send().await;
    assert!(r.unwrap_err().is_timeout());
}

#[tokio::test]
async fn a_request_commits_after_the_client_gave_up_waiting() {
    let (server, things) = start().await;
    server.control().set_faults(FaultPlan::new(vec![FaultRule::always(FaultKind::Delay { ms: 300 })])).unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().unwrap();
    let r = client.post(format!("{}/v1/things", server.url())).body("a=1").send().await;
    assert!(r.unwrap_err().is_timeout());
    assert_eq!(things.made.lock().unwrap().len(), 0, "still waiting");
    // The client hung up; the provider still does what it was asked, as a real one would.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(things.made.lock().unwrap().len(), 1, "committed after the disconnect");
    assert_eq!(server.control().requests().len(), 1, "and logged");
}

#[tokio::test]
async fn idempotency_replays_and_conflicts_over_http() {
    let (server, things) = start().await;
    let client = reqwest::Client::new();
    let post = |body: &'static str| {
        client.post(format!("{}/v1/things", server.url())).header("idempotency-key", "k1").body(body).send()
    };
    let first = post("a=1").await.unwrap().text().await.unwrap();
    let second = post("a=1").await.unwrap().text().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(things.made.lock().unwrap().len(), 1);
    assert_eq!(post("a=2").await.unwrap().status(), 409);
}

#[tokio::test]
async fn control_endpoints_over_http() {
    let (server, _) = start().await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.url());
    let r = client.post(url("/__mock__/clock/advance")).body(r#"{"seconds":86400}"#).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(server.control().kit().clock.offset_secs(), 86_400);
    let r = client
        .post(url("/__mock__/faults"))
        .body(r#"{"seed":1,"rules":[{"kind":"drop_after_commit","probability":0.3,"methods":["POST"]}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = client.post(url("/__mock__/faults")).body(r#"{"rules":[{"kind":"boom"}]}"#).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(client.delete(url("/__mock__/faults")).send().await.unwrap().status(), 204);
    let r = client.post(url("/__mock__/charges/ch_x/complete")).send().await.unwrap();
    assert_eq!(r.status(), 404, "this mock has no async charges");
    client.post(url("/v1/things")).header("authorization", "Basic c2VjcmV0Og==").body("a=1").send().await.unwrap();
    let log: serde_json::Value = client.get(url("/__mock__/requests")).send().await.unwrap().json().await.unwrap();
    assert_eq!(log.as_array().unwrap().len(), 1, "control requests are not logged");
    assert_eq!(log[0]["headers"]["authorization"], "[redacted]");
    let stats: serde_json::Value = client.get(url("/__mock__/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["charges"], 1);
}

#[tokio::test]
async fn too_large_bodies_get_413_and_the_server_keeps_serving() {
    let (server, things) = start().await;
    let client = reqwest::Client::new();
    let r = client.post(format!("{}/v1/things", server.url())).body(vec![b'x'; 4096]).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("1024"));
    let r = client.post(format!("{}/v1/things", server.url())).body("a=1").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(things.made.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn garbage_never_brings_the_server_down() {
    let (server, _) = start().await;
    let inputs: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02\xff\xfe garbage\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"POST /v1/things HTTP/1.1\r\ncontent-length: -5\r\n\r\n".to_vec(),
        b"POST /v1/things HTTP/1.1\r\ncontent-length: 10\r\n\r\nab".to_vec(),
        vec![b'A'; 100_000],
    ];
    for input in inputs {
        let _ = tokio::time::timeout(Duration::from_secs(2), raw(&server, &input)).await;
    }
    let r = reqwest::Client::new().get(format!("{}/nowhere", server.url())).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["message"], "Unrecognized request URL");
}

#[tokio::test]
async fn shutdown_stops_accepting() {
    let (server, _) = start().await;
    let addr = server.addr();
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_body_that_cannot_be_read_is_400_and_one_over_the_limit_413() {
    let (server, things) = start().await;
    let bad_chunk = b"POST /v1/things HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n";
    let seen = raw(&server, bad_chunk).await;
    assert!(seen.starts_with(b"HTTP/1.1 400"), "bad chunked framing: {:?}", String::from_utf8_lossy(&seen));
    // Announces 100 bytes, sends 3, then stops writing.
    let mut s = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    s.write_all(b"POST /v1/things HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\na=1").await.unwrap();
    s.shutdown().await.unwrap();
    let mut truncated = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut truncated)).await;
    assert!(truncated.starts_with(b"HTTP/1.1 400"), "truncated body: {:?}", String::from_utf8_lossy(&truncated));
    let big = format!(
        "POST /v1/things HTTP/1.1\r\nhost: x\r\ncontent-length: 2000\r\nconnection: close\r\n\r\n{}",
        "a".repeat(2000)
    );
    assert!(raw(&server, big.as_bytes()).await.starts_with(b"HTTP/1.1 413"));
    assert_eq!(things.made.lock().unwrap().len(), 0, "nothing was made from a broken body");
    let statuses: Vec<_> = server.control().requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(400), Some(400), Some(413)]);
    assert!(raw(&server, CREATE).await.starts_with(b"HTTP/1.1 200"), "still serving");
}

#[tokio::test]
async fn objects_state_reset_and_new_requests_over_http() {
    let (server, things) = start().await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.url());
    let get = |p: &str| {
        let r = client.get(url(p)).send();
        async move {
            let r = r.await.unwrap();
            (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
        }
    };
    for body in ["a=1", "a=<script>alert(1)</script>", "a=3"] {
        client.post(url("/v1/things")).body(body).send().await.unwrap();
    }
    let (status, listed) = get("/__mock__/objects?limit=2").await;
    assert_eq!(status, 200);
    assert_eq!(listed["provider"], "things");
    let refs: Vec<&str> =
        listed["charges"].as_array().unwrap().iter().map(|c| c["reference"].as_str().unwrap()).collect();
    assert_eq!(refs, ["a=3", "a=<script>alert(1)</script>"], "newest first, bounded, stored as sent");
    assert_eq!(
        (listed["charges"][0]["amount"].clone(), listed["charges"][0]["amount_display"].clone()),
        (1.into(), "1".into())
    );
    for bad in ["limit=0", "limit=1001", "limit=ten", "limit=5&color=red"] {
        let (status, error) = get(&format!("/__mock__/objects?{bad}")).await;
        assert_eq!(status, 400, "{bad}");
        assert!(error["error"]["message"].as_str().unwrap().contains("limit"), "{bad}: {error}");
    }
    assert_eq!(get("/__mock__/objects").await.1["charges"].as_array().unwrap().len(), 3);

    let (_, log) = get("/__mock__/requests?since=1").await;
    let seqs: Vec<u64> = log.as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [2, 3], "only what came after request 1");
    assert!(log[0]["latency_ms"].is_u64() && log[0]["at"].is_i64());
    assert_eq!(get("/__mock__/requests?since=x").await.0, 400);
    assert_eq!(get("/__mock__/requests?limit=0").await.0, 400);
    let (_, last) = get("/__mock__/requests?since=0&limit=1").await;
    assert_eq!(last.as_array().unwrap().iter().map(|r| r["seq"].as_u64().unwrap()).collect::<Vec<_>>(), [3]);

    client
        .post(url("/__mock__/faults"))
        .body(r#"{"rules":[{"kind":"status","status":503,"times":2}]}"#)
        .send()
        .await
        .unwrap();
    client.post(url("/__mock__/clock/advance")).body(r#"{"seconds":60}"#).send().await.unwrap();
    let (_, state) = get("/__mock__/state").await;
    assert_eq!((state["provider"].clone(), state["offset_seconds"].clone()), ("things".into(), 60.into()));
    assert_eq!((state["stats"]["charges"].clone(), state["requests_seen"].clone()), (3.into(), 3.into()));
    assert_eq!(state["oldest_logged"], 1);
    assert_eq!(state["faults"]["rules"][0]["status"], 503);
    assert_eq!(get("/__mock__/faults").await.1["rules"][0]["times"], 2);

    let r = client.post(url("/__mock__/reset")).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(things.made.lock().unwrap().len(), 0, "the provider's objects are gone");
    let (_, state) = get("/__mock__/state").await;
    assert_eq!(state["offset_seconds"], 0);
    assert!(state["faults"]["rules"].as_array().unwrap().is_empty());
    assert!(state["oldest_logged"].is_null());
    let r = client.post(url("/v1/things")).body("a=4").send().await.unwrap();
    assert_eq!(r.status(), 200, "no fault survives the reset");
    assert_eq!(get("/__mock__/requests?since=3").await.1[0]["seq"], 4, "numbers keep rising");
}

#[tokio::test]
async fn other_sites_cannot_drive_the_mock_through_a_browser() {
    let (server, things) = start().await;
    let client = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.url());
    client.post(url("/v1/things")).body("a=1").send().await.unwrap();
    let r = client.post(url("/__mock__/reset")).header("origin", "https://evil.example").send().await.unwrap();
    assert_eq!(r.status(), 403);
    let message = r.json::<serde_json::Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned();
    assert!(message.contains("another origin"), "{message}");
    assert_eq!(things.made.lock().unwrap().len(), 1, "nothing was reset");
    let own = format!("http://{}", server.addr());
    let r = client.post(url("/__mock__/reset")).header("origin", own).send().await.unwrap();
    assert_eq!(r.status(), 204, "the mock's own console may");
    let r = client.get(url("/__mock__/state")).header("host", "rebound.example").send().await.unwrap();
    assert_eq!(r.status(), 403, "a DNS-rebinding page is refused even for reads");
    let r = client.post(url("/v1/things")).header("host", "api.provider.example").body("a=1").send().await.unwrap();
    assert_eq!(r.status(), 200, "provider routes take any Host, as SDKs send their own");
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy() {
    let (server, _) = start().await;
    let client = reqwest::Client::new();
    for (path, kind) in [("console", "text/html"), ("console.js", "text/javascript"), ("console.css", "text/css")] {
        let r = client.get(format!("{}/__mock__/{path}", server.url())).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let header = |name: &str| r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert!(header("content-type").starts_with(kind), "{path}");
        assert_eq!(header("content-security-policy"), payment_mock_kit::console::CONTENT_SECURITY_POLICY);
        assert_eq!(header("x-content-type-options"), "nosniff");
    }
    let log: serde_json::Value =
        client.get(format!("{}/__mock__/requests", server.url())).send().await.unwrap().json().await.unwrap();
    assert!(log.as_array().unwrap().is_empty(), "the console's own requests are not logged");
    let mocks = vec![("things".to_owned(), server.url().to_owned())];
    let index = payment_mock_kit::console::ConsoleIndex::start("127.0.0.1:0".parse().unwrap(), mocks).await.unwrap();
    let page = client.get(index.url()).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("{}/__mock__/console", server.url().trim_end_matches('/'))), "{page}");
}
