//! `payment` built with `otel` exports over OTLP/HTTP when the standard environment asks: a local
//! receiver gets the charge's spans and the library's metrics, as JSON (`http/json`) and as
//! protobuf (`http/protobuf`), flushed before the command exits; `grpc` is refused by name;
//! `payment webhook serve` exports its deliveries and flushes when SIGTERM stops it.

#![cfg(feature = "otel")]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};

use support::{BIN, Mock};

const SECRET: &str = "sk_test_OtelSecretNeverExported9";

/// One request the receiver took: path, content type and body.
type Received = (String, String, Vec<u8>);

/// An OTLP/HTTP receiver on 127.0.0.1 that answers every POST with 200 and keeps what it got.
fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let keep = keep.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                    let (mut length, mut content_type) = (0usize, String::new());
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        let (name, value) = header.split_once(':').unwrap_or((header, ""));
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap_or(0),
                            "content-type" => content_type = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    keep.lock().unwrap().push((path, content_type, body));
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    if reader.get_mut().write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, got)
}

/// Runs one journal-less charge against `mock` with export to `endpoint` over `protocol`.
fn charge(mock: &Mock, endpoint: &str, protocol: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["--provider", "payjp", "--base-url", &mock.url, "charge", "create"])
        .args(["--amount", "1000", "--currency", "JPY", "--card", "4242424242424242,12/2035,123"])
        .args(["--idempotency-key", "order-otel-cli-1"])
        .env("PAYMENT_PAYJP_SECRET_KEY", SECRET)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_SERVICE_NAME", "payment-cli-test")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn a_charge_is_exported_as_otlp_json_and_protobuf() {
    let mock = Mock::start(&[
        "--faults",
        r#"{"rules":[{"kind":"status","status":503,"times":1,"methods":["POST"],"path":"/v1/charges"}]}"#,
    ]);
    let (endpoint, got) = receiver();
    let out = charge(&mock, &endpoint, "http/json");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let received = got.lock().unwrap().clone();
    let body = |path: &str| -> String {
        received
            .iter()
            .filter(|(p, ..)| p == path)
            .map(|(_, ct, b)| {
                assert_eq!(ct, "application/json", "{path}");
                String::from_utf8_lossy(b).into_owned()
            })
            .collect()
    };
    let traces = body("/v1/traces");
    for expected in ["payment create_charge", "POST /v1/charges", "POST /v1/tokens", "url.template", "payment-cli-test"]
    {
        assert!(traces.contains(expected), "{expected} not in the traces: {traces}");
    }
    let metrics = body("/v1/metrics");
    for expected in
        ["http.client.request.duration", "payment.operation.duration", "payment.operations", "payment.retries"]
    {
        assert!(metrics.contains(expected), "{expected} not in the metrics: {metrics}");
    }
    let everything = format!("{traces}{metrics}");
    for secret in [SECRET, "4242424242424242", "order-otel-cli-1"] {
        assert!(!everything.contains(secret), "{secret} was exported");
    }

    let (endpoint, got) = receiver();
    let out = charge(&mock, &endpoint, "http/protobuf");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let received = got.lock().unwrap().clone();
    let traces: Vec<&Received> = received.iter().filter(|(p, ..)| p == "/v1/traces").collect();
    assert!(!traces.is_empty(), "no traces over protobuf");
    assert!(traces.iter().all(|(_, ct, _)| ct == "application/x-protobuf"));
    // Protobuf carries strings as they are: the span's name is there, the key is not.
    let raw: Vec<u8> = traces.iter().flat_map(|(.., b)| b.clone()).collect();
    let has = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"payment create_charge") && !has(b"order-otel-cli-1"));
}

#[test]
fn grpc_is_refused_by_name() {
    let mock = Mock::start(&[]);
    let out = charge(&mock, "http://127.0.0.1:9", "grpc");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("grpc") && stderr.contains("http/protobuf"), "{stderr}");
}

#[test]
fn webhook_serve_exports_and_flushes_when_stopped() {
    let (endpoint, got) = receiver();
    let mut child = Command::new(BIN)
        .args(["webhook", "serve", "--addr", "127.0.0.1:0"])
        .env("PAYMENT_PAYJP_WEBHOOK_TOKEN", "whook_otel_test")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env_remove("PAYMENT_PINGPP_PLATFORM_PUBLIC_KEY_PATH")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the server ended before it listened");
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    // A delivery with the wrong token: refused, and counted as rejected.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let body = r#"{"id":"evnt_1","type":"charge.succeeded"}"#;
    let request = format!(
        "POST /webhooks/payjp HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Payjp-Webhook-Token: wrong\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    // SIGTERM: the server stops cleanly and flushes before it exits.
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
    let received = got.lock().unwrap().clone();
    let all = |path: &str| -> String {
        received.iter().filter(|(p, ..)| p == path).map(|(.., b)| String::from_utf8_lossy(b).into_owned()).collect()
    };
    let (traces, metrics) = (all("/v1/traces"), all("/v1/metrics"));
    assert!(traces.contains("payment webhook") && traces.contains("rejected"), "{traces}");
    assert!(metrics.contains("payment.webhook.deliveries") && metrics.contains("rejected"), "{metrics}");
    assert!(!format!("{traces}{metrics}").contains("whook_otel_test"), "the webhook token was exported");
}
