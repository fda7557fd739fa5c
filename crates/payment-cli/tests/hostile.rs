//! The `payment` binary against misbehaving servers, and what `-v` shows: attempt lines without
//! secrets, `Retry-After` in JSON errors, unreadable success answers as outcome unknown, and the
//! user's deadline.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{BIN, Mock};

const SECRET: &str = "sk_test_SeCrEtKeyNeverPrinted42";

/// A server that answers every request with `answer` (or never, when `None`), on its own thread.
fn scripted(answer: Option<&'static str>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            match answer {
                Some(a) => {
                    let _ = stream.write_all(a.as_bytes());
                }
                // Never answer: keep the connection open until the test process ends.
                None => held.push(stream),
            }
        }
    });
    url
}

fn charge(url: &str, extra: &[&str]) -> Output {
    Command::new(BIN)
        .args(extra)
        .args(["--provider", "payjp", "--base-url", url, "--json", "charge", "create"])
        .args(["--amount", "1000", "--currency", "JPY", "--source", "tok_visa", "--idempotency-key", "order-77"])
        .env("PAYMENT_PAYJP_SECRET_KEY", SECRET)
        .env_remove("PAYMENT_PROVIDER")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// An attempt the call's deadline cuts off mid-flight still gets its `-v` line, saying so.
#[test]
fn verbose_shows_an_attempt_cut_off_by_the_deadline() {
    let mock =
        Mock::start(&["--faults", r#"{"rules":[{"kind":"delay","ms":3000,"methods":["POST"],"path":"/v1/charges"}]}"#]);
    let out = Command::new(BIN)
        .args(["-v", "--timeout", "1s", "--provider", "payjp", "--base-url", &mock.url, "charge", "create"])
        .args(["--amount", "1000", "--currency", "JPY", "--card", "4242424242424242,12/2035,123"])
        .env("PAYMENT_PAYJP_SECRET_KEY", SECRET)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let cut: Vec<&str> = stderr.lines().filter(|l| l.contains("cut off by the call's deadline")).collect();
    assert_eq!(cut.len(), 1, "{stderr}");
    assert!(
        cut[0].contains("/v1/charges") && cut[0].contains("status=\"none\"") || cut[0].contains("status=none"),
        "{stderr}"
    );
}

#[test]
fn verbose_prints_each_attempt_and_never_the_secret() {
    let mock = Mock::start(&[
        "--faults",
        r#"{"rules":[{"kind":"status","status":503,"times":1,"methods":["POST"],"path":"/v1/charges"}]}"#,
    ]);
    let out = Command::new(BIN)
        .args(["-v", "--provider", "payjp", "--base-url", &mock.url, "charge", "create"])
        .args(["--amount", "1000", "--currency", "JPY", "--card", "4242424242424242,12/2035,123"])
        .args(["--idempotency-key", "order-78"])
        .env("PAYMENT_PAYJP_SECRET_KEY", SECRET)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let attempts: Vec<&str> = stderr.lines().filter(|l| l.contains("attempt")).collect();
    assert_eq!(attempts.len(), 3, "token, 503, charge: {stderr}");
    assert!(attempts.iter().any(|l| l.contains("status=503") && l.contains("attempt=1")), "{stderr}");
    assert!(attempts.iter().any(|l| l.contains("/v1/charges") && l.contains("status=200") && l.contains("attempt=2")));
    assert!(attempts.iter().all(|l| l.contains("method=POST") && l.contains("latency_ms=")), "{stderr}");
    // The key by its hash only: whoever holds the key is answered with the payment's result.
    let hash = payment::telemetry::key_hash("order-78");
    assert!(attempts.iter().any(|l| l.contains(&format!("key_hash={hash}"))), "{stderr}");
    for secret in [SECRET, "SeCrEtKey", "4242424242424242", "Basic ", "order-78"] {
        assert!(!stderr.contains(secret), "{secret} leaked: {stderr}");
    }
    let quiet = charge(&mock.url, &[]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("attempt"), "no -v, no RUST_LOG: no attempt lines");
}

#[test]
fn a_429_that_outlasts_the_deadline_reports_retry_after() {
    let mock = Mock::start(&["--faults", r#"{"rules":[{"kind":"status","status":429,"retry_after":7}]}"#]);
    let out = charge(&mock.url, &["--timeout", "2"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "rate_limited", "{err}");
    assert_eq!(err["error"]["retry_after_ms"], 7000, "{err}");
    assert_eq!(err["error"]["provider"], "payjp");
    assert_eq!(err["error"]["operation"], "create_charge");
}

#[test]
fn an_unreadable_success_answer_is_outcome_unknown_with_the_key() {
    let bodies = [
        r#"{"id":5}"#,
        "<html>oops</html>",
        "",
        r#"{"id":"ch_1","object":"charge","amount":99999999999999999999999,"currency":"jpy"}"#,
    ];
    for body in bodies {
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let url = scripted(Some(Box::leak(answer.into_boxed_str())));
        let out = charge(&url, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{body}: {stderr}");
        let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
        assert_eq!(err["error"]["kind"], "outcome_unknown", "{body}: {err}");
        assert_eq!(err["error"]["idempotency_key"], "order-77", "{body}: {err}");
    }
    // A read of the same answer is a definite decode error.
    let url =
        scripted(Some("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"id\":5}"));
    let out = Command::new(BIN)
        .args(["--provider", "payjp", "--base-url", &url, "--json", "charge", "get", "ch_1"])
        .env("PAYMENT_PAYJP_SECRET_KEY", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "decode");
}

#[test]
fn the_timeout_bounds_the_whole_call() {
    let url = scripted(None);
    let started = Instant::now();
    let out = charge(&url, &["--timeout", "2"]);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "the charge was sent and never answered: {stderr}");
    // Far below the 30 s an attempt may take by default: the user's deadline ended it.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    let message = err["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("2s") && !message.contains("Some("), "{message}");
    let bad = charge(&url, &["--timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--timeout"));
}
