//! The `payment` binary end to end: `payment mock` in one process, `payment … charge …` in others.

mod support;

use std::process::{Command, Output};

use support::{BIN, Mock};

fn payment(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("PAYMENT_PAYJP_SECRET_KEY", "sk_test_cli")
        .env_remove("PAYMENT_PROVIDER")
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn mock_then_charge_refund_get_list_from_a_shell() {
    let mock = Mock::start(&[]);
    let base = ["--provider", "payjp", "--base-url", mock.url.as_str(), "--json"];
    let create = payment(
        &[
            &base[..],
            &[
                "charge",
                "create",
                "--amount",
                "1200",
                "--currency",
                "jpy",
                "--card",
                "4242424242424242,12/2035,123",
                "--reference",
                "order-9",
                "--metadata",
                "shop=tokyo",
            ],
        ]
        .concat(),
    );
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let charge = json(&create);
    assert_eq!(charge["provider"], "payjp");
    assert_eq!(charge["status"], "succeeded");
    assert_eq!(charge["amount"], serde_json::json!({"minor": 1200, "currency": "JPY"}));
    assert_eq!(charge["reference"], "order-9");
    assert_eq!(charge["metadata"]["shop"], "tokyo");
    let id = charge["id"].as_str().unwrap();

    let refund = payment(&[&base[..], &["refund", "create", id, "--amount", "200", "--reason", "damaged"]].concat());
    assert!(refund.status.success(), "{}", String::from_utf8_lossy(&refund.stderr));
    assert_eq!(json(&refund)["amount"]["minor"], 200);

    let got = payment(&[&base[..], &["charge", "get", id]].concat());
    assert_eq!(json(&got)["amount_refunded"]["minor"], 200);

    let listed = payment(&[&base[..], &["charge", "list", "--limit", "1"]].concat());
    let lines: Vec<&str> = std::str::from_utf8(&listed.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains(id));

    let table = payment(&["--provider", "payjp", "--base-url", mock.url.as_str(), "charge", "get", id]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("status      succeeded") && text.contains("JPY 1200"), "{text}");

    let missing = payment(&[&base[..], &["charge", "get", "ch_doesnotexist"]].concat());
    assert_eq!(missing.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&missing.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "not_found");
    assert_eq!(err["error"]["provider"], "payjp");
}

#[test]
fn a_response_lost_every_time_exits_3_naming_the_key() {
    let mock = Mock::start(&[
        "--faults",
        r#"{"seed":1,"rules":[{"kind":"drop_after_commit","methods":["POST"],"path":"/v1/charges"}]}"#,
    ]);
    let out = payment(&[
        "--provider",
        "payjp",
        "--base-url",
        &mock.url,
        "charge",
        "create",
        "--amount",
        "1000",
        "--currency",
        "JPY",
        "--card",
        "4242424242424242,12/2035",
        "--idempotency-key",
        "cli-key-1",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cli-key-1"), "{stderr}");
    assert!(stderr.lines().count() <= 2, "{stderr}");
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["--provider", "stripe", "charge", "get", "x"], "unknown provider"),
        (&["--provider", "payjb", "charge", "get", "x"], "did you mean `payjp`?"),
        (
            &["--provider", "payjp", "charge", "create", "--amount", "12.5", "--currency", "JPY", "--source", "tok"],
            "whole number",
        ),
        (
            &["--provider", "payjp", "charge", "create", "--amount", "100", "--currency", "XYZ", "--source", "tok"],
            "unknown currency",
        ),
        (&["--provider", "payjp", "mock", "--faults", "{not json"], "--faults"),
        (
            &["--provider", "payjp", "charge", "create", "--amount", "-100", "--currency", "JPY", "--source", "tok"],
            "must be positive",
        ),
        (&["--provider", "payjp", "refund", "create", "ch_1", "--amount", "-5"], "must be positive"),
        (&["--provider", "payjp", "charge", "create", "--amount", "100", "--currency", "JPY"], "exactly one of"),
        (
            &[
                "--provider",
                "pingpp",
                "charge",
                "create",
                "--amount",
                "100",
                "--currency",
                "CNY",
                "--channel",
                "alipay",
            ],
            "--payer-ip",
        ),
    ];
    for (args, expect) in cases {
        let out = payment(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
    // Refused before any I/O is usage or config too: an operation the provider does not offer,
    // a journal that cannot be opened.
    let refused: &[&[&str]] = &[
        &["--provider", "payjp", "--base-url", "http://127.0.0.1:1", "refund", "list", "ch_1"],
        &[
            "--journal",
            "sqlite:///nonexistent-dir/for/payment-cli/j.db",
            "--provider",
            "payjp",
            "--base-url",
            "http://127.0.0.1:1",
            "charge",
            "create",
            "--amount",
            "100",
            "--currency",
            "JPY",
            "--source",
            "tok",
        ],
    ];
    for args in refused {
        let out = payment(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = Command::new(BIN)
        .args(["--provider", "payjp", "charge", "get", "ch_x"])
        .env_remove("PAYMENT_PAYJP_SECRET_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PAYMENT_PAYJP_SECRET_KEY"));
}

#[test]
fn demo_runs_every_compiled_in_provider() {
    let out = Command::new(BIN).arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let text = String::from_utf8_lossy(&out.stdout);
    for provider in ["memory", "payjp", "pingpp", "justap", "worldpay", "google-standard-payments"] {
        assert!(text.lines().any(|l| l.starts_with(provider) && l.contains("total") && l.contains("ok")), "{text}");
    }
    // With --json, one object per step, and nothing else on stdout.
    let out = Command::new(BIN).args(["--json", "demo"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for provider in ["memory", "payjp", "worldpay", "routing"] {
        assert!(rows.iter().any(|r| r["provider"] == provider && r["result"] == "ok"), "{provider}: {rows:?}");
    }
    assert!(rows.iter().all(|r| r["step"].is_string() && r["detail"].is_string()));
}

#[test]
fn a_signing_mock_writes_the_keys_a_client_needs() {
    let dir = std::env::temp_dir().join(format!("payment-cli-keys-{}", std::process::id()));
    let mock = Mock::start_provider("pingpp", &["--keys-dir", dir.to_str().unwrap()]);
    let private = dir.join("pingpp_merchant_private.pem");
    assert!(std::fs::read_to_string(&private).unwrap().starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(
        std::fs::read_to_string(dir.join("pingpp_platform_public.pem"))
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let run = |key_path: Option<&std::path::Path>| {
        let mut c = Command::new(BIN);
        c.args([
            "--provider",
            "pingpp",
            "--base-url",
            &mock.url,
            "--json",
            "charge",
            "create",
            "--amount",
            "1234",
            "--currency",
            "CNY",
            "--channel",
            "alipay",
            "--payer-ip",
            "203.0.113.7",
            "--reference",
            "cli0001",
        ])
        .env("PAYMENT_PINGPP_SECRET_KEY", "sk_test_cli")
        .env("PAYMENT_PINGPP_APP_ID", "app_1Gqj58ynP0mHeX1q");
        if let Some(p) = key_path {
            c.env("PAYMENT_PINGPP_PRIVATE_KEY_PATH", p);
        }
        c.output().unwrap()
    };
    let unsigned = run(None);
    assert_eq!(unsigned.status.code(), Some(1), "the mock refuses unsigned requests");
    let err: serde_json::Value = serde_json::from_slice(&unsigned.stderr).unwrap();
    assert_eq!(err["error"]["provider_code"], "missing_signature");
    let signed = run(Some(&private));
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    let charge = json(&signed);
    assert_eq!(charge["status"], "requires_action");
    assert_eq!(charge["amount"], serde_json::json!({"minor": 1234, "currency": "CNY"}));
    assert_eq!(charge["next_action"]["kind"], "channel_credential");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn providers_speak_in_words_and_list_their_settings() {
    let out = payment(&["providers"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("create charge: replayed by idempotency key"), "{text}");
    assert!(text.contains("create refund: never repeated after a lost answer"), "{text}");
    assert!(text.contains("duplicate refused, found again by"), "{text}");
    assert!(!text.contains("RejectDuplicate") && !text.contains("Replay {") && !text.contains("kind:"), "{text}");
    assert!(text.contains("settings: mode, base_url, timeout, secret_key"), "{text}");
    assert!(text.contains("lists: none (the provider has no list endpoint)"), "{text}");
    assert!(!text.contains("at most 0 per page"), "{text}");
    let json = payment(&["--json", "providers"]);
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&json.stdout).lines().next().unwrap()).unwrap();
    assert!(first["settings"].is_array());
}

#[test]
fn a_partial_refund_takes_its_currency_from_the_flag_or_the_provider() {
    let mock = Mock::start(&[]);
    let base = ["--provider", "payjp", "--base-url", mock.url.as_str(), "--json"];
    let create = payment(
        &[
            &base[..],
            &["charge", "create", "--amount", "1000", "--currency", "JPY", "--card", "4242424242424242,12/2035,123"],
        ]
        .concat(),
    );
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let id = json(&create)["id"].as_str().unwrap().to_owned();
    let flagged = payment(&[&base[..], &["refund", "create", &id, "--amount", "100", "--currency", "JPY"]].concat());
    assert!(flagged.status.success(), "{}", String::from_utf8_lossy(&flagged.stderr));
    assert_eq!(json(&flagged)["amount"], serde_json::json!({"minor": 100, "currency": "JPY"}));
    // PAY.JP takes one currency: no flag, no read needed.
    let implied = payment(&[&base[..], &["refund", "create", &id, "--amount", "100"]].concat());
    assert!(implied.status.success(), "{}", String::from_utf8_lossy(&implied.stderr));
    let wrong = payment(&[&base[..], &["refund", "create", &id, "--amount", "100", "--currency", "USD"]].concat());
    assert_eq!(wrong.status.code(), Some(2), "PAY.JP refuses USD before any I/O: usage, not a decline");
    let no_amount = payment(&[&base[..], &["refund", "create", &id, "--currency", "JPY"]].concat());
    assert_eq!(no_amount.status.code(), Some(2), "--currency needs --amount");
}

#[test]
fn justap_from_the_shell_signs_with_the_written_key_and_replays_a_refund_by_key() {
    let dir = std::env::temp_dir().join(format!("payment-cli-justap-{}", std::process::id()));
    let mock = Mock::start_provider("justap", &["--keys-dir", dir.to_str().unwrap()]);
    let private = dir.join("justap_merchant_private.pem");
    assert!(dir.join("justap_platform_public.pem").exists());
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(["--provider", "justap", "--base-url", &mock.url, "--json"])
            .args(args)
            .env("PAYMENT_JUSTAP_API_KEY", "sk_test_cli")
            .env("PAYMENT_JUSTAP_APP_ID", "app_cli")
            .env("PAYMENT_JUSTAP_PRIVATE_KEY_PATH", &private)
            .env_remove("PAYMENT_PROVIDER")
            .output()
            .unwrap()
    };
    let create = run(&[
        "charge",
        "create",
        "--amount",
        "1234",
        "--currency",
        "CNY",
        "--channel",
        "AlipayQR",
        "--payer-ip",
        "203.0.113.7",
        "--reference",
        "cli0001",
    ]);
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let charge = json(&create);
    assert_eq!(charge["amount"], serde_json::json!({"minor": 1234, "currency": "CNY"}));
    assert_eq!(charge["status"], "requires_action");
    let id = charge["id"].as_str().unwrap().to_owned();
    let unpaid = run(&["refund", "create", &id, "--amount", "100", "--idempotency-key", "refund-cli-1"]);
    assert_eq!(unpaid.status.code(), Some(1), "an unpaid charge cannot be refunded");
    let complete = post_empty(&format!("{}/__mock__/charges/{id}/complete", mock.url));
    assert!(complete.starts_with("HTTP/1.1 200"), "{complete}");
    let first = run(&["refund", "create", &id, "--amount", "100", "--idempotency-key", "refund-cli-2"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let again = run(&["refund", "create", &id, "--amount", "100", "--idempotency-key", "refund-cli-2"]);
    assert!(again.status.success(), "re-running with the same key exits 0: {}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(json(&first)["id"], json(&again)["id"], "the same refund");
    let other = run(&["refund", "create", &id, "--amount", "200", "--idempotency-key", "refund-cli-2"]);
    assert_eq!(other.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&other.stderr).unwrap();
    assert_eq!(err["error"]["kind"], "idempotency_conflict", "{err}");
    let list = run(&["refund", "list", &id]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 1, "Justap holds one refund");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bare HTTP POST with an empty body (the control endpoints need no client library).
fn post_empty(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "POST /{path} HTTP/1.1\r\nhost: {host}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn google_standard_payments_from_the_shell_refunds_from_the_printed_id_alone() {
    let dir = std::env::temp_dir().join(format!("payment-cli-gsp-{}", std::process::id()));
    let mock = Mock::start_provider("google-standard-payments", &["--keys-dir", dir.to_str().unwrap()]);
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(["--provider", "google-standard-payments", "--base-url", &mock.url, "--json"])
            .args(args)
            .env("PAYMENT_GOOGLE_STANDARD_PAYMENTS_PAYMENT_INTEGRATOR_ACCOUNT_ID", "MockProcessor_Account")
            .env(
                "PAYMENT_GOOGLE_STANDARD_PAYMENTS_PRIVATE_KEY_PATH",
                dir.join("google-standard-payments_merchant_private.pem"),
            )
            .env(
                "PAYMENT_GOOGLE_STANDARD_PAYMENTS_INTEGRATOR_PUBLIC_KEY_PATH",
                dir.join("google-standard-payments_platform_public.pem"),
            )
            .env_remove("PAYMENT_PROVIDER")
            .output()
            .unwrap()
    };
    let create = run(&[
        "charge",
        "create",
        "--amount",
        "72800",
        "--currency",
        "INR",
        "--source",
        "ZXhhbXBsZQ",
        "--idempotency-key",
        "cli-capture-1",
    ]);
    assert!(create.status.success(), "{}", String::from_utf8_lossy(&create.stderr));
    let charge = json(&create);
    assert_eq!(charge["status"], "succeeded");
    let id = charge["id"].as_str().unwrap().to_owned();
    let refund = run(&["refund", "create", &id, "--amount", "100"]);
    assert!(refund.status.success(), "the currency comes from the id: {}", String::from_utf8_lossy(&refund.stderr));
    assert_eq!(json(&refund)["amount"], serde_json::json!({"minor": 100, "currency": "INR"}));
    let get = run(&["charge", "get", &id]);
    assert_eq!(get.status.code(), Some(2), "no retrieve: refused before any I/O");
    // The rest, in full: GSP cannot say what is left, so without a journal the processor's
    // refusal says what to do; with one, the journal sends the rest.
    let rest = run(&["refund", "create", &id]);
    assert_eq!(rest.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&rest.stderr).contains("or a journal"),
        "{}",
        String::from_utf8_lossy(&rest.stderr)
    );
    let journal = format!("sqlite://{}", dir.join("j.db").display());
    let journaled = |args: &[&str]| run(&[&["--journal", journal.as_str()], args].concat());
    let create = journaled(&["charge", "create", "--amount", "72800", "--currency", "INR", "--source", "ZXhhbXBsZQ"]);
    let id = json(&create)["id"].as_str().unwrap().to_owned();
    let part = journaled(&["refund", "create", &id, "--amount", "800"]);
    assert!(part.status.success(), "{}", String::from_utf8_lossy(&part.stderr));
    let rest = journaled(&["refund", "create", &id]);
    assert!(rest.status.success(), "{}", String::from_utf8_lossy(&rest.stderr));
    assert_eq!(json(&rest)["amount"], serde_json::json!({"minor": 72000, "currency": "INR"}), "the rest");
    let again = journaled(&["refund", "create", &id]);
    assert_eq!(again.status.code(), Some(1), "nothing left");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("refunded in full already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let declined =
        run(&["charge", "create", "--amount", "100", "--currency", "INR", "--source", "tok_insufficient_funds"]);
    assert_eq!(declined.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&declined.stderr).unwrap();
    assert_eq!(err["error"]["decline_reason"], "insufficient_funds", "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    use std::io::Read;
    // The demo prints as it goes, so its later lines meet the closed pipe.
    let mut child = Command::new(BIN)
        .arg("demo")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.success(), "{:?} {stderr}", out.status);
    let text = String::from_utf8_lossy(&payment(&["providers"]).stdout).into_owned();
    assert!(text.contains("capture: not offered; cancel: safe to repeat"), "{text}");
}

#[test]
fn several_mocks_print_a_console_index_linking_each_console() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = std::process::Command::new(BIN)
        .args(["--provider", "all", "mock", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut mocks = Vec::new();
    let index = loop {
        let line = lines.next().expect("the mock ended before printing `console URL`").unwrap();
        let (name, url) = line.split_once(' ').expect("NAME URL");
        if name == "console" {
            break url.to_owned();
        }
        mocks.push(url.to_owned());
    };
    assert!(mocks.len() > 1, "{mocks:?}");
    let get = |url: &str, path: &str| {
        let host = url.trim_start_matches("http://").trim_end_matches('/');
        let mut s = std::net::TcpStream::connect(host).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let page = get(&index, "/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    for url in &mocks {
        assert!(page.contains(&format!("href=\"{url}/__mock__/console\"")), "{url} is not linked: {page}");
        let console = get(url, "/__mock__/console");
        assert!(console.starts_with("HTTP/1.1 200") && console.contains("content-security-policy"), "{console}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `mode = "mock"` runs an embedded mock for the command: a list streams from it to the end
/// (the mock used to be dropped with its client before the first page was read).
#[test]
fn an_embedded_mock_serves_a_whole_list() {
    let dir = std::env::temp_dir().join(format!("payment-cli-mock-list-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("c.toml");
    std::fs::write(&config, "[payjp]\nmode = \"mock\"\n").unwrap();
    let out = payment(&["--config", config.to_str().unwrap(), "--provider", "payjp", "charge", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `./payment.toml` is read when no config is named; when no file was read, a missing setting
/// says so and how to give one.
#[test]
fn payment_toml_in_the_current_directory_is_found_and_its_absence_is_said() {
    let mock = Mock::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .current_dir(dir.path())
            .args(args)
            .env_remove("PAYMENT_PROVIDER")
            .env_remove("PAYMENT_CONFIG")
            .env_remove("PAYMENT_PAYJP_SECRET_KEY")
            .env_remove("PAYMENT_PAYJP_BASE_URL")
            .output()
            .unwrap()
    };
    let typo = Command::new(BIN)
        .current_dir(dir.path())
        .args(["--provider", "payjp", "charge", "list"])
        .env("PAYMENT_PAYJP_SECRET_KEE", "sk_test_x")
        .env_remove("PAYMENT_PAYJP_SECRET_KEY")
        .env_remove("PAYMENT_CONFIG")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&typo.stderr);
    assert!(said.contains("no setting `secret_kee` (did you mean `secret_key`?)"), "{said}");
    let missing = run(&["--provider", "payjp", "charge", "list"]);
    assert_eq!(missing.status.code(), Some(2));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("PAYMENT_PAYJP_SECRET_KEY") && said.contains("no config file was read"), "{said}");
    let toml = format!("provider = \"payjp\"\n[payjp]\nsecret_key = \"sk_test_file\"\nbase_url = \"{}\"\n", mock.url);
    std::fs::write(dir.path().join("payment.toml"), toml).unwrap();
    let listed = run(&["--json", "charge", "list"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
}

/// `charge list` prints a few charges by default, `--limit N` of them, every one with `--all`;
/// the page size is a separate knob.
#[test]
fn charge_list_prints_ten_a_limit_or_all() {
    let mock = Mock::start(&[]);
    let base = ["--provider", "payjp", "--base-url", mock.url.as_str(), "--json"];
    for i in 0..12 {
        let r = format!("list-{i}");
        let args = [
            "charge",
            "create",
            "--amount",
            "500",
            "--currency",
            "JPY",
            "--card",
            "4242424242424242,12/2035",
            "--reference",
            &r,
        ];
        let out = payment(&[&base[..], &args].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let count = |args: &[&str]| {
        let out = payment(&[&base[..], &["charge", "list"], args].concat());
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "no progress when stderr is not a terminal");
        String::from_utf8_lossy(&out.stdout).lines().count()
    };
    assert_eq!(count(&[]), 10);
    assert_eq!(count(&["--limit", "3"]), 3);
    assert_eq!(count(&["--all"]), 12);
    assert_eq!(count(&["--all", "--page-size", "5"]), 12);
    let newest = payment(&[&base[..], &["charge", "list", "--limit", "1"]].concat());
    assert_eq!(json(&newest)["reference"], "list-11", "newest first");
    let both = payment(&[&base[..], &["charge", "list", "--limit", "3", "--all"]].concat());
    assert_eq!(both.status.code(), Some(2));
    assert_eq!(payment(&[&base[..], &["charge", "list", "--limit", "0"]].concat()).status.code(), Some(2));
}

/// `payment completions SHELL` prints a script that knows the commands and their flags; bash's
/// parses.
#[test]
fn completions_know_the_commands_and_bash_parses_its_script() {
    for shell in ["bash", "zsh", "fish"] {
        let out = payment(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["mock-control", "three-d-secure", "journal"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let bash = payment(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payment.bash");
    std::fs::write(&path, &bash.stdout).unwrap();
    let parsed = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
    assert_eq!(payment(&["completions", "tcsh"]).status.code(), Some(2));
}
