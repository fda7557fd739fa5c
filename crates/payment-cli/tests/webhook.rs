//! `payment webhook serve` end to end: real HTTP deliveries, verified and printed once each.

#[allow(dead_code)] // Only BIN of the shared support is needed here.
mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use support::BIN;

struct Server {
    child: Child,
    addr: String,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn start() -> Server {
    start_at(0, "whook_cli_test", &[])
}

fn start_at(port: u16, payjp_token: &str, env: &[(&str, String)]) -> Server {
    let mut env = env.to_vec();
    env.push(("PAYMENT_PAYJP_WEBHOOK_TOKEN", payjp_token.to_owned()));
    env.push(("PAYMENT_WORLDPAY_WEBHOOK_SECRETS", "k-old:old-secret,k-new:new-secret".to_owned()));
    serve(&[], port, &env)
}

/// `payment mock` with `--keys-dir` in a fresh directory and `--webhook-url` at a free port;
/// killed, and its directory removed, when dropped.
struct MockProcess {
    child: Child,
    dir: std::path::PathBuf,
    port: u16,
    urls: std::collections::HashMap<String, String>,
}

impl MockProcess {
    /// Starts `provider`'s mocks (`all`: every one compiled in) sending to `http://127.0.0.1:PORT{path}`.
    fn start(provider: &str, extra: &[&str], path: &str) -> MockProcess {
        let dir = std::env::temp_dir().join(format!("payment-webhook-{provider}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut child = Command::new(BIN)
            .args(["--provider", provider, "mock"])
            .args(extra)
            .arg("--keys-dir")
            .arg(&dir)
            .args(["--webhook-url", &format!("http://127.0.0.1:{port}{path}")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut urls = std::collections::HashMap::new();
        // One `NAME URL` line per mock; with several, a `console URL` line follows them all.
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let (name, url) = line.trim().split_once(' ').expect("NAME URL");
            if name == "console" {
                break;
            }
            urls.insert(name.to_owned(), url.to_owned());
            if provider != "all" {
                break;
            }
        }
        MockProcess { child, dir, port, urls }
    }

    /// A provider mock's base URL.
    fn url(&self, provider: &str) -> String {
        self.urls[provider].clone()
    }

    /// Its `HOST:PORT`, for the control API.
    fn addr(&self, provider: &str) -> String {
        self.urls[provider].trim_start_matches("http://").trim_end_matches('/').to_owned()
    }

    /// A file it wrote to `--keys-dir`.
    fn file(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// That file's text.
    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap().trim().to_owned()
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `payment [PRE…] webhook serve --addr 127.0.0.1:PORT` with `env`, once it listens.
fn serve(pre: &[&str], port: u16, env: &[(&str, String)]) -> Server {
    let mut child = Command::new(BIN)
        .args(pre)
        .args(["webhook", "serve", "--addr", &format!("127.0.0.1:{port}")])
        // Only what the test gives: no key from the surrounding environment.
        .env_remove("PAYMENT_PINGPP_PLATFORM_PUBLIC_KEY_PATH")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = lines(child.stdout.take().unwrap());
    let stderr = lines(child.stderr.take().unwrap());
    let addr = loop {
        let line = stderr.recv_timeout(Duration::from_secs(20)).expect("the server says where it listens");
        if let Some(a) = line.strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    Server { child, addr, stdout, stderr }
}

/// POSTs `body` to `path` with `headers`; the status code.
fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    send("POST", addr, path, headers, body)
}

/// Sends one request; the status code.
fn send(method: &str, addr: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("an HTTP status line")
}

/// GETs `path`; the body.
fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

fn next_event(server: &Server) -> serde_json::Value {
    let line = server.stdout.recv_timeout(Duration::from_secs(10)).expect("an event line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

const PAYJP_EVENT: &str = r#"{"id":"evnt_cli0001","object":"event","livemode":false,"created":1796167606,"type":"charge.succeeded","pending_webhooks":1,"data":{"id":"ch_cli1","object":"charge","amount":1200,"amount_refunded":0,"captured":true,"created":1796167606,"currency":"jpy","metadata":{"payment_reference":"order-42"},"paid":true,"refunded":false}}"#;

const WORLDPAY_EVENT: &str = r#"{"eventId":"wp-evt-1","eventTimestamp":"2026-11-30T09:12:44Z","eventDetails":{"classification":"card","transactionReference":"order-7731","type":"settled","date":"2026-11-30","amount":{"value":1250,"currencyCode":"GBP"},"_links":{}}}"#;

fn worldpay_signature(key_id: &str, secret: &str, body: &str) -> String {
    let mac = payment::crypto::hmac_sha256(secret.as_bytes(), body.as_bytes());
    format!("{key_id}/SHA256/{}", mac.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[test]
fn verified_events_are_printed_once_and_refusals_are_explained() {
    let s = start();
    let token = [("X-Payjp-Webhook-Token", "whook_cli_test"), ("Content-Type", "application/json")];
    assert_eq!(post(&s.addr, "/webhooks/payjp", &token, PAYJP_EVENT.as_bytes()), 200);
    let e = next_event(&s);
    assert_eq!((e["provider"].as_str(), e["event_id"].as_str()), (Some("payjp"), Some("evnt_cli0001")));
    assert_eq!((e["kind"].as_str(), e["trust"].as_str()), (Some("charge_succeeded"), Some("sender_only")));
    assert_eq!((e["object_id"].as_str(), e["reference"].as_str()), (Some("ch_cli1"), Some("order-42")));
    // The same delivery again: acknowledged, not printed.
    assert_eq!(post(&s.addr, "/webhooks/payjp", &token, PAYJP_EVENT.as_bytes()), 200);
    let wrong = [("X-Payjp-Webhook-Token", "whook_wrong")];
    assert_eq!(post(&s.addr, "/webhooks/payjp", &wrong, PAYJP_EVENT.as_bytes()), 401);

    let sig = format!(
        "{},{}",
        worldpay_signature("k-new", "new-secret", WORLDPAY_EVENT),
        worldpay_signature("k-gone", "x", WORLDPAY_EVENT)
    );
    let headers = [("Event-Signature", sig.as_str()), ("Content-Type", "application/vnd.worldpay.events-v1.hal+json")];
    assert_eq!(post(&s.addr, "/webhooks/worldpay", &headers, WORLDPAY_EVENT.as_bytes()), 200);
    let e = next_event(&s);
    assert_eq!((e["provider"].as_str(), e["kind"].as_str()), (Some("worldpay"), Some("charge_captured")));
    assert_eq!((e["reference"].as_str(), e["object_id"].as_str()), (Some("order-7731"), None));
    assert_eq!(e["trust"], "verified");
    let tampered = WORLDPAY_EVENT.replace("1250", "9250");
    assert_eq!(post(&s.addr, "/webhooks/worldpay", &headers, tampered.as_bytes()), 400);

    // Ping++ has no key configured: its path says which to set.
    assert_eq!(post(&s.addr, "/webhooks/pingpp", &[], b"{}"), 400);
    assert_eq!(post(&s.addr, "/webhooks/stripe", &[], b"{}"), 404);
    let mut said = Vec::new();
    while let Ok(line) = s.stderr.recv_timeout(Duration::from_millis(500)) {
        said.push(line);
    }
    let said = said.join("\n");
    assert!(said.contains("rejected worldpay delivery (400)"), "{said}");
    assert!(said.contains("PAYMENT_PINGPP_PLATFORM_PUBLIC_KEY_PATH"), "{said}");
    assert!(!said.contains("new-secret") && !said.contains("whook_cli_test"), "no secret on stderr: {said}");
    assert!(s.stdout.recv_timeout(Duration::from_millis(300)).is_err(), "nothing else was printed");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn cli(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("PAYMENT_PAYJP_SECRET_KEY", "sk_test_cli")
        .env_remove("PAYMENT_PROVIDER")
        .output()
        .unwrap()
}

/// The mock delivers PAY.JP's events for a charge and its refund into `payment webhook serve`;
/// one sent while the receiver was down arrives once the mock clock passes PAY.JP's 3 minutes.
#[test]
fn the_mock_delivers_its_events_signed_and_retries_a_missed_one() {
    let mock = MockProcess::start("payjp", &[], "/webhooks");
    let url = mock.url("payjp");
    let token = mock.read("payjp_webhook_token");

    // Nobody listens yet: the first delivery fails.
    let base = ["--provider", "payjp", "--base-url", url.as_str(), "--json"];
    let create = |key: &str| {
        let out = cli(&[
            &base[..],
            &[
                "charge",
                "create",
                "--amount",
                "700",
                "--currency",
                "JPY",
                "--card",
                "4242424242424242,12/2035,123",
                "--idempotency-key",
                key,
            ],
        ]
        .concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let missed = create("e2e-1");
    std::thread::sleep(Duration::from_millis(300));

    // With PAY.JP's key the server reads each sender-only event's charge back.
    let read_back = [("PAYMENT_PAYJP_SECRET_KEY", "sk_test_cli".to_owned()), ("PAYMENT_PAYJP_BASE_URL", url.clone())];
    let server = start_at(mock.port, &token, &read_back);
    let charge = create("e2e-2");
    let e = next_event(&server);
    assert_eq!((e["kind"].as_str(), e["object_id"].as_str()), (Some("charge_succeeded"), Some(charge.as_str())));
    assert_eq!((e["trust"].as_str(), e["reread_status"].as_str()), (Some("sender_only"), Some("succeeded")));
    let refund = cli(&[&base[..], &["refund", "create", &charge]].concat());
    assert!(refund.status.success());
    let e = next_event(&server);
    assert_eq!((e["kind"].as_str(), e["object_id"].as_str()), (Some("refund_succeeded"), Some(charge.as_str())));

    // Three minutes of mock time later PAY.JP tries the missed one again.
    let mock_addr = mock.addr("payjp");
    assert_eq!(
        post(&mock_addr, "/__mock__/clock/advance", &[("Content-Type", "application/json")], br#"{"seconds":181}"#),
        200
    );
    let e = next_event(&server);
    assert_eq!((e["kind"].as_str(), e["object_id"].as_str()), (Some("charge_succeeded"), Some(missed.as_str())));
    // The control API shows each delivery: the missed one took two attempts.
    std::thread::sleep(Duration::from_millis(100));
    let deliveries: serde_json::Value = serde_json::from_str(&get(&mock_addr, "/__mock__/webhooks")).unwrap();
    let all = deliveries.as_array().unwrap();
    assert_eq!(all.len(), 3, "{deliveries}");
    assert!(all.iter().all(|d| d["state"] == "delivered"), "{deliveries}");
    assert_eq!((all[0]["attempts"].as_u64(), all[0]["event_type"].as_str()), (Some(2), Some("charge.succeeded")));
    assert!(all[0]["target"].as_str().unwrap().ends_with("/webhooks/payjp"));
}

/// Worldpay's mock signs its notifications with the secret it writes to `--keys-dir`; a stage
/// that turns final later (`settled`) is sent when the mock clock gets there.
#[test]
fn the_worldpay_mock_signs_its_events_and_reports_settlement_when_it_is_final() {
    let mock = MockProcess::start("worldpay", &[], "/webhooks/{provider}");
    let url = mock.url("worldpay");
    let server = serve(&[], mock.port, &[("PAYMENT_WORLDPAY_WEBHOOK_SECRETS", mock.read("worldpay_webhook_secrets"))]);
    let stdout = &server.stdout;
    let out = Command::new(BIN)
        .args(["--provider", "worldpay", "--base-url", &url, "--json", "charge", "create", "--amount", "1250"])
        .args(["--currency", "GBP", "--card", "4444333322221111,05/2030,123", "--reference", "order-wp-1"])
        .env("PAYMENT_WORLDPAY_USERNAME", "mock")
        .env("PAYMENT_WORLDPAY_PASSWORD", "secret")
        .env_remove("PAYMENT_PROVIDER")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let event = |rx: &mpsc::Receiver<String>| -> serde_json::Value {
        serde_json::from_str(&rx.recv_timeout(Duration::from_secs(10)).expect("an event")).unwrap()
    };
    let kinds: Vec<String> = (0..2).map(|_| event(stdout)["kind"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["charge_authorized", "charge_pending"]);
    let mock_addr = mock.addr("worldpay");
    assert_eq!(
        post(&mock_addr, "/__mock__/clock/advance", &[("Content-Type", "application/json")], br#"{"seconds":61}"#),
        200
    );
    let settled = event(stdout);
    assert_eq!(
        (settled["kind"].as_str(), settled["reference"].as_str()),
        (Some("charge_captured"), Some("order-wp-1"))
    );
    assert_eq!(settled["amount"], serde_json::json!({"minor": 1250, "currency": "GBP"}));
    assert_eq!(settled["trust"], "verified");
}

/// A Ping++ charge whose answer was lost (the mock commits it and drops every answer, the
/// lookups' too, until the 1 s deadline) is settled in
/// the journal by its `charge.succeeded` webhook, before any recovery looks it up; a re-run is
/// then answered from the journal.
#[test]
fn a_webhook_settles_a_lost_answer_in_the_journal() {
    let faults = r#"{"rules":[{"kind":"drop_after_commit","path":"/v1/charges"}]}"#;
    let mock = MockProcess::start("pingpp", &["--faults", faults], "/webhooks");
    let url = mock.url("pingpp");
    let journal = format!("sqlite://{}", mock.file("j.db"));
    let key = ("PAYMENT_PINGPP_PLATFORM_PUBLIC_KEY_PATH", mock.file("pingpp_platform_public.pem"));
    let server = serve(&["--journal", &journal], mock.port, &[key]);
    let (stdout, stderr) = (&server.stdout, &server.stderr);
    let pingpp = |args: &[&str]| {
        Command::new(BIN)
            .args(["--journal", &journal, "--provider", "pingpp", "--base-url", &url, "--json"])
            .args(args)
            .env("PAYMENT_PINGPP_SECRET_KEY", "sk_test_cli")
            .env("PAYMENT_PINGPP_APP_ID", "app_MockMockMock0001")
            .env("PAYMENT_PINGPP_PRIVATE_KEY_PATH", mock.file("pingpp_merchant_private.pem"))
            .env_remove("PAYMENT_PROVIDER")
            .output()
            .unwrap()
    };
    let charge =
        ["--timeout", "1s", "charge", "create", "--amount", "1000", "--currency", "CNY", "--channel", "alipay"];
    let charge = [&charge[..], &["--payer-ip", "127.0.0.1", "--idempotency-key", "lostpp1"]].concat();
    let lost = pingpp(&charge);
    assert_eq!(lost.status.code(), Some(3), "{}", String::from_utf8_lossy(&lost.stderr));
    let mock_addr = mock.addr("pingpp");
    assert_eq!(send("DELETE", &mock_addr, "/__mock__/faults", &[], b""), 204);
    let listed = pingpp(&["charge", "list"]);
    let id = serde_json::from_slice::<serde_json::Value>(&listed.stdout).unwrap()["id"].as_str().unwrap().to_owned();
    // The payer pays: Ping++ sends charge.succeeded.
    assert_eq!(post(&mock_addr, &format!("/__mock__/charges/{id}/complete"), &[], b""), 200);
    let event: serde_json::Value =
        serde_json::from_str(&stdout.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!((event["kind"].as_str(), event["object_id"].as_str()), (Some("charge_succeeded"), Some(id.as_str())));
    let settled = loop {
        let l = stderr.recv_timeout(Duration::from_secs(10)).expect("the journal line");
        if l.starts_with("journal: ") {
            break l;
        }
    };
    assert!(settled.contains("lostpp1 #1 create_charge: unknown -> succeeded: settled by webhook"), "{settled}");
    // Answered from the journal: the same charge, no second one.
    let again = pingpp(&charge);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&again.stdout).unwrap()["id"].as_str(), Some(id.as_str()));
    let all = pingpp(&["charge", "list"]);
    assert_eq!(String::from_utf8_lossy(&all.stdout).lines().count(), 1);
}

/// Two partial Worldpay refunds of one payment, both pending in the journal (Worldpay has no
/// refund to read back): each `refunded` event names its refund by the refund's own reference,
/// so each settles its refund and no other — elimination alone could settle neither.
#[test]
fn worldpay_refund_events_settle_each_journaled_refund_by_its_own_reference() {
    let mock = MockProcess::start("worldpay", &[], "/webhooks/{provider}");
    let url = mock.url("worldpay");
    let journal = format!("sqlite://{}", mock.file("wp.db"));
    let secrets = ("PAYMENT_WORLDPAY_WEBHOOK_SECRETS", mock.read("worldpay_webhook_secrets"));
    let server = serve(&["--journal", &journal], mock.port, &[secrets]);
    let worldpay = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(["--journal", &journal, "--provider", "worldpay", "--base-url", &url, "--json"])
            .args(args)
            .env("PAYMENT_WORLDPAY_USERNAME", "mock")
            .env("PAYMENT_WORLDPAY_PASSWORD", "secret")
            .env_remove("PAYMENT_PROVIDER")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let charge = worldpay(&[
        "charge",
        "create",
        "--amount",
        "1250",
        "--currency",
        "GBP",
        "--card",
        "4444333322221111,05/2030,123",
        "--idempotency-key",
        "wp-paid",
    ]);
    let charge = charge["id"].clone();
    let id = charge.as_str().unwrap();
    let mock_addr = mock.addr("worldpay");
    let advance = || {
        let body = br#"{"seconds":61}"#;
        assert_eq!(post(&mock_addr, "/__mock__/clock/advance", &[("Content-Type", "application/json")], body), 200);
    };
    advance();
    for (key, amount) in [("wp-refund-1", "100"), ("wp-refund-2", "200")] {
        let refund = worldpay(&["refund", "create", id, "--amount", amount, "--idempotency-key", key]);
        assert_eq!(refund["status"], "pending", "{refund}");
    }
    advance();
    let mut settled = Vec::new();
    while settled.len() < 2 {
        let l = server.stderr.recv_timeout(Duration::from_secs(10)).expect("the journal's lines");
        if l.starts_with("journal: ") && l.contains("create_refund") && l.contains("-> succeeded") {
            settled.push(l);
        }
    }
    settled.sort();
    assert!(settled[0].starts_with("journal: wp-refund-1 #1 create_refund: pending -> succeeded"), "{settled:?}");
    assert!(settled[1].starts_with("journal: wp-refund-2 #1 create_refund: pending -> succeeded"), "{settled:?}");
}

/// Justap's mock encrypts its notifications with the platform key `--keys-dir` writes; the
/// server opens them with the public half: a paid charge and its refund arrive verified.
#[test]
fn the_justap_mock_sends_encrypted_notifications() {
    let mock = MockProcess::start("justap", &[], "/webhooks");
    let url = mock.url("justap");
    let key = ("PAYMENT_JUSTAP_PLATFORM_PUBLIC_KEY_PATH", mock.file("justap_platform_public.pem"));
    let server = serve(&[], mock.port, &[key]);
    let stdout = &server.stdout;
    let justap = |args: &[&str]| {
        Command::new(BIN)
            .args(["--provider", "justap", "--base-url", &url, "--json"])
            .args(args)
            .env("PAYMENT_JUSTAP_API_KEY", "sk_test_cli")
            .env("PAYMENT_JUSTAP_APP_ID", "app_cli_0001")
            .env("PAYMENT_JUSTAP_PRIVATE_KEY_PATH", mock.file("justap_merchant_private.pem"))
            .env_remove("PAYMENT_PROVIDER")
            .output()
            .unwrap()
    };
    let out = justap(&[
        "charge",
        "create",
        "--amount",
        "1234",
        "--currency",
        "CNY",
        "--channel",
        "AlipayQR",
        "--payer-ip",
        "127.0.0.1",
        "--reference",
        "jt-order-1",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_owned();
    let mock_addr = mock.addr("justap");
    assert_eq!(post(&mock_addr, &format!("/__mock__/charges/{id}/complete"), &[], b""), 200);
    let e: serde_json::Value = serde_json::from_str(&stdout.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!((e["provider"].as_str(), e["kind"].as_str()), (Some("justap"), Some("charge_succeeded")));
    assert_eq!((e["object_id"].as_str(), e["reference"].as_str()), (Some(id.as_str()), Some("jt-order-1")));
    assert_eq!(
        (e["trust"].as_str(), &e["amount"]),
        (Some("verified"), &serde_json::json!({"minor": 1234, "currency": "CNY"}))
    );
    let refund = justap(&["refund", "create", &id, "--amount", "234"]);
    assert!(refund.status.success(), "{}", String::from_utf8_lossy(&refund.stderr));
    let e: serde_json::Value = serde_json::from_str(&stdout.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!(
        (e["kind"].as_str(), &e["amount"]),
        (Some("refund_succeeded"), &serde_json::json!({"minor": 234, "currency": "CNY"}))
    );
}

/// The GSP mock (the processor) tells us of each capture with `captureResultNotification`,
/// sealed like every message; the server opens it with the client's keys and answers sealed.
#[test]
fn the_gsp_mock_notifies_each_capture() {
    let mock = MockProcess::start("google-standard-payments", &[], "/webhooks");
    let url = mock.url("google-standard-payments");
    let keys = [
        ("PAYMENT_GOOGLE_STANDARD_PAYMENTS_PAYMENT_INTEGRATOR_ACCOUNT_ID", "MockProcessor_Account".to_owned()),
        (
            "PAYMENT_GOOGLE_STANDARD_PAYMENTS_PRIVATE_KEY_PATH",
            mock.file("google-standard-payments_merchant_private.pem"),
        ),
        (
            "PAYMENT_GOOGLE_STANDARD_PAYMENTS_INTEGRATOR_PUBLIC_KEY_PATH",
            mock.file("google-standard-payments_platform_public.pem"),
        ),
    ];
    let server = serve(&[], mock.port, &keys);
    let stdout = &server.stdout;
    let out = Command::new(BIN)
        .args(["--provider", "google-standard-payments", "--base-url", &url, "--json", "charge", "create"])
        .args(["--amount", "72800", "--currency", "INR", "--source", "ZXhhbXBsZSB1bmlxdWUgcGF5bWVudCB0b2tlbiB2YWx1ZQ"])
        .args(["--idempotency-key", "gspe2e1"])
        .envs(keys.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("PAYMENT_PROVIDER")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let e: serde_json::Value = serde_json::from_str(&stdout.recv_timeout(Duration::from_secs(10)).unwrap()).unwrap();
    assert_eq!(
        (e["provider"].as_str(), e["kind"].as_str()),
        (Some("google-standard-payments"), Some("charge_succeeded"))
    );
    assert_eq!((e["trust"].as_str(), e["reference"].as_str()), (Some("verified"), Some("gspe2e1")));
    // The processor got the sealed SUCCESS reply: its delivery is done.
    std::thread::sleep(Duration::from_millis(200));
    let mock_addr = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let deliveries: serde_json::Value = serde_json::from_str(&get(&mock_addr, "/__mock__/webhooks")).unwrap();
    assert_eq!(deliveries[0]["state"], "delivered", "{deliveries}");
}

/// `payment mock --provider all --webhook-url` into `payment webhook serve`, configured only from
/// what `--keys-dir` wrote: a charge through each provider (paid by the payer where it is
/// asynchronous) arrives as that provider's normalized event.
#[test]
fn all_mocks_into_one_server() {
    let mock = MockProcess::start("all", &[], "/webhooks");
    let (file, read) = (|name: &str| mock.file(name), |name: &str| mock.read(name));
    let env: Vec<(&str, String)> = vec![
        ("PAYMENT_PAYJP_WEBHOOK_TOKEN", read("payjp_webhook_token")),
        ("PAYMENT_PAYJP_SECRET_KEY", "sk_test_all".into()),
        ("PAYMENT_PAYJP_V2_WEBHOOK_TOKEN", read("payjp_v2_webhook_token")),
        ("PAYMENT_PAYJP_V2_SECRET_KEY", "sk_test_all".into()),
        ("PAYMENT_WORLDPAY_WEBHOOK_SECRETS", read("worldpay_webhook_secrets")),
        ("PAYMENT_WORLDPAY_USERNAME", "mock".into()),
        ("PAYMENT_WORLDPAY_PASSWORD", "secret".into()),
        ("PAYMENT_PINGPP_PLATFORM_PUBLIC_KEY_PATH", file("pingpp_platform_public.pem")),
        ("PAYMENT_PINGPP_PRIVATE_KEY_PATH", file("pingpp_merchant_private.pem")),
        ("PAYMENT_PINGPP_SECRET_KEY", "sk_test_all".into()),
        ("PAYMENT_PINGPP_APP_ID", "app_MockMockMock0001".into()),
        ("PAYMENT_JUSTAP_PLATFORM_PUBLIC_KEY_PATH", file("justap_platform_public.pem")),
        ("PAYMENT_JUSTAP_PRIVATE_KEY_PATH", file("justap_merchant_private.pem")),
        ("PAYMENT_JUSTAP_API_KEY", "sk_test_all".into()),
        ("PAYMENT_JUSTAP_APP_ID", "app_all_0001".into()),
        ("PAYMENT_GOOGLE_STANDARD_PAYMENTS_PAYMENT_INTEGRATOR_ACCOUNT_ID", "MockProcessor_Account".into()),
        ("PAYMENT_GOOGLE_STANDARD_PAYMENTS_PRIVATE_KEY_PATH", file("google-standard-payments_merchant_private.pem")),
        (
            "PAYMENT_GOOGLE_STANDARD_PAYMENTS_INTEGRATOR_PUBLIC_KEY_PATH",
            file("google-standard-payments_platform_public.pem"),
        ),
    ];
    let server = serve(&[], mock.port, &env);
    let stdout = &server.stdout;
    let charge = |provider: &str, args: &[&str]| -> String {
        let out = Command::new(BIN)
            .args(["--provider", provider, "--base-url", &mock.url(provider), "--json", "charge", "create"])
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env_remove("PAYMENT_PROVIDER")
            .output()
            .unwrap();
        assert!(out.status.success(), "{provider}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_owned()
    };
    let card = ["--card", "4444333322221111,05/2030,123"];
    charge("payjp", &[&["--amount", "500", "--currency", "JPY"][..], &card].concat());
    charge("payjp-v2", &["--amount", "500", "--currency", "JPY", "--customer", "cus_test_card_4242424242424242"]);
    charge("worldpay", &[&["--amount", "500", "--currency", "GBP", "--reference", "all-wp-1"][..], &card].concat());
    let channel = ["--channel", "alipay", "--payer-ip", "127.0.0.1"];
    let pp = charge("pingpp", &[&["--amount", "500", "--currency", "CNY"][..], &channel].concat());
    let jt =
        charge("justap", &["--amount", "500", "--currency", "CNY", "--channel", "AlipayQR", "--payer-ip", "127.0.0.1"]);
    charge(
        "google-standard-payments",
        &["--amount", "72800", "--currency", "INR", "--source", "ZXhhbXBsZSB1bmlxdWUgcGF5bWVudCB0b2tlbiB2YWx1ZQ"],
    );
    for (provider, id) in [("pingpp", &pp), ("justap", &jt)] {
        let addr = mock.addr(provider);
        assert_eq!(post(&addr, &format!("/__mock__/charges/{id}/complete"), &[], b""), 200, "{provider}");
    }
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 7 {
        let line = stdout.recv_timeout(Duration::from_secs(10)).expect("every provider's events");
        let e: serde_json::Value = serde_json::from_str(&line).unwrap();
        seen.insert(format!("{} {}", e["provider"].as_str().unwrap(), e["kind"].as_str().unwrap()));
    }
    let expected = [
        "google-standard-payments charge_succeeded",
        "justap charge_succeeded",
        "payjp charge_succeeded",
        "payjp-v2 charge_succeeded",
        "pingpp charge_succeeded",
        "worldpay charge_authorized",
        "worldpay charge_pending",
    ];
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), expected);
}
