//! `payment` with a routed config: a charge fails over from a down primary to a backup account
//! (said on stderr, the id naming the account), later commands find the charge by that id, and
//! `route explain` says which rule matches and why.

mod support;

use std::process::{Command, Output};

use support::{BIN, Mock};

fn payment(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PAYMENT_PROVIDER")
        .env_remove("PAYMENT_CONFIG")
        .output()
        .unwrap()
}

fn config(backup_url: &str) -> std::path::PathBuf {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    // One file per call: tests run in parallel in this process.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("payment-route-{}-{n}.toml", std::process::id()));
    std::fs::write(
        &path,
        format!(
            r#"
[payjp]
secret_key = "sk_test_primary"
base_url = "{dead_url}"
[accounts.payjp-backup]
provider = "payjp"
secret_key = "sk_test_backup"
base_url = "{backup_url}"
[routing]
breaker_failures = 1
[[routes]]
name = "japan"
region = ["jp"]
currency = ["JPY"]
targets = ["payjp", "payjp-backup"]
"#
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_routed_charge_fails_over_and_is_refunded_through_its_account() {
    let backup = Mock::start(&[]);
    let path = config(&backup.url);
    let card = "4242424242424242,12/2030,123";
    let out = payment(
        &path,
        &[
            "--json",
            "--timeout",
            "5s",
            "charge",
            "create",
            "--amount",
            "1500",
            "--currency",
            "JPY",
            "--card",
            card,
            "--region",
            "jp",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("failover: account payjp did not charge (not sent:"), "{stderr}");
    // A primary another account follows is not retried while it refuses connections.
    assert!(stderr.contains("after 1 attempt(s)"), "{stderr}");
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["provider"], "payjp");
    let id = record["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("payjp-backup/ch_"), "{id}");

    let refund = payment(&path, &["--json", "refund", "create", &id, "--amount", "500"]);
    assert!(refund.status.success(), "{}", String::from_utf8_lossy(&refund.stderr));
    let read = payment(&path, &["--json", "charge", "get", &id]);
    let read: serde_json::Value = serde_json::from_slice(&read.stdout).unwrap();
    assert_eq!((read["id"].as_str(), read["amount_refunded"]["minor"].as_i64()), (Some(id.as_str()), Some(500)));

    // `--account` takes the account's own (bare) id, lists only that account, and refuses an id
    // that names another.
    let native = id.strip_prefix("payjp-backup/").unwrap();
    let at = payment(&path, &["--json", "--account", "payjp-backup", "charge", "get", native]);
    assert!(at.status.success(), "{}", String::from_utf8_lossy(&at.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&at.stdout).unwrap()["id"], id.as_str());
    let listed = payment(&path, &["--json", "--account", "payjp-backup", "charge", "list"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.lines().count() == 1 && listed.contains(&id), "{listed}");
    let other = payment(&path, &["--account", "payjp", "charge", "get", &id]);
    assert_eq!(other.status.code(), Some(2), "{}", String::from_utf8_lossy(&other.stderr));
    assert!(String::from_utf8_lossy(&other.stderr).contains("not --account payjp"));
    let unknown = payment(&path, &["--account", "nowhere", "charge", "get", native]);
    assert_ne!(unknown.status.code(), Some(0));

    let bare = payment(&path, &["charge", "get", "ch_without_account"]);
    assert_eq!(bare.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("ACCOUNT/ID"));
    let no_rule = payment(&path, &["charge", "create", "--amount", "100", "--currency", "USD", "--card", card]);
    assert_eq!(no_rule.status.code(), Some(2), "{}", String::from_utf8_lossy(&no_rule.stderr));
    assert!(String::from_utf8_lossy(&no_rule.stderr).contains("no route matches USD 100"));
    let _ = std::fs::remove_file(&path);
}

#[test]
fn route_explain_names_the_rule_and_each_accounts_eligibility() {
    let backup = Mock::start(&[]);
    let path = config(&format!("{}/", backup.url));
    let out = payment(&path, &["route", "explain", "--currency", "JPY", "--region", "jp", "--amount", "1000"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("rule japan: matches"), "{text}");
    assert!(text.contains("1. payjp (payjp): eligible"), "{text}");
    assert!(text.contains("2. payjp-backup (payjp): eligible"), "{text}");
    let too_small = payment(&path, &["route", "explain", "--currency", "JPY", "--region", "jp", "--amount", "10"]);
    // No account can take it: refused before any request, so usage (2), not a decline.
    assert_eq!(too_small.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_small.stdout).contains("outside payjp's limits"));
    let elsewhere =
        payment(&path, &["--json", "route", "explain", "--currency", "JPY", "--region", "us", "--amount", "1000"]);
    assert_eq!(elsewhere.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&elsewhere.stdout).unwrap();
    assert_eq!(json["matched"], serde_json::Value::Null);
    let _ = std::fs::remove_file(&path);
}

/// A routed payment whose failed-over attempt lost its answer is recovered through the account
/// that attempt went to (`payjp-backup`), not the account of the payment's first attempt.
#[test]
fn journal_recover_settles_a_failed_over_attempt_through_its_own_account() {
    let faults = r#"{"rules":[{"kind":"delay","ms":2500,"methods":["POST"],"path":"/v1/charges","times":1}]}"#;
    let backup = Mock::start(&["--faults", faults]);
    let path = config(&backup.url);
    let dir = tempfile::tempdir().unwrap();
    let journal = format!("sqlite://{}", dir.path().join("j.db").display());
    let with_journal = |args: &[&str]| {
        let mut all = vec!["--journal", journal.as_str()];
        all.extend_from_slice(args);
        payment(&path, &all)
    };
    let charge = ["--timeout", "1s", "charge", "create", "--amount", "1500", "--currency", "JPY"];
    let card = ["--card", "4242424242424242,12/2030,123", "--region", "jp", "--idempotency-key", "routed-lost-1"];
    let out = with_journal(&[&charge[..], &card[..]].concat());
    assert_eq!(out.status.code(), Some(3), "unknown at the backup: {}", String::from_utf8_lossy(&out.stderr));
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let listed = with_journal(&["--json", "journal", "list"]);
    let p: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let accounts: Vec<&str> =
        p["attempts"].as_array().unwrap().iter().map(|a| a["account"].as_str().unwrap()).collect();
    assert_eq!(accounts, ["payjp", "payjp-backup"], "{p}");
    for only in [&["--provider", "payjp-backup"][..], &[][..]] {
        let out = with_journal(&[only, &["journal", "recover"][..]].concat());
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if only.is_empty() {
            // Settled by the first run: nothing is left, and the run says so by succeeding.
            assert!(out.status.success(), "{said}");
            continue;
        }
        assert!(out.status.success(), "{said}");
        assert!(said.contains("routed-lost-1 #2 payjp-backup create_charge: unknown -> succeeded"), "{said}");
    }
    let listed = with_journal(&["--json", "journal", "list"]);
    let p: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(p["state"], "succeeded", "{p}");
}
