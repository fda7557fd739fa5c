//! `payment reconcile` end to end against `payment mock`: the differences named in the table and
//! in JSON lines, exit 0 when the books agree, 1 when they differ, 2 on a bad flag.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{BIN, Mock};

fn payment(journal: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    if let Some(journal) = journal {
        command.arg("--journal").arg(format!("sqlite://{}", journal.display()));
    }
    command
        .args(args)
        .env("PAYMENT_PAYJP_SECRET_KEY", "sk_test_cli")
        .env_remove("PAYMENT_PROVIDER")
        .env_remove("PAYMENT_JOURNAL_URL")
        .env_remove("PAYMENT_CONFIG")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn charge(journal: Option<&Path>, url: &str, amount: &str) -> String {
    let out = payment(
        journal,
        &[
            "--provider",
            "payjp",
            "--base-url",
            url,
            "--json",
            "charge",
            "create",
            "--amount",
            amount,
            "--currency",
            "JPY",
            "--card",
            "4242424242424242,12/2035,123",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    record["id"].as_str().unwrap().to_owned()
}

#[test]
fn the_books_agree_exit_0_and_a_charge_made_elsewhere_is_named_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.db");
    let mock = Mock::start(&[]);
    let ours = charge(Some(&journal), &mock.url, "1500");
    let reconcile = |extra: &[&str]| {
        let mut args = vec!["--provider", "payjp", "--base-url", &mock.url, "reconcile", "--since", "1h"];
        args.extend_from_slice(extra);
        payment(Some(&journal), &args)
    };

    let agree = reconcile(&[]);
    assert_eq!(agree.status.code(), Some(0), "{}{}", text(&agree.stdout), text(&agree.stderr));
    assert!(text(&agree.stderr).contains("1 examined: 1 matched"), "{}", text(&agree.stderr));

    // Another app (no journal) charges the same account.
    let elsewhere = charge(None, &mock.url, "700");
    let differ = reconcile(&[]);
    assert_eq!(differ.status.code(), Some(1), "{}{}", text(&differ.stdout), text(&differ.stderr));
    let table = text(&differ.stdout);
    assert!(table.starts_with("CLASS"), "a header: {table}");
    let named: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(named.len(), 1, "one line per difference, none for matches: {table}");
    assert!(named[0].starts_with("provider_only") && named[0].contains(&elsewhere), "{table}");
    assert!(text(&differ.stderr).contains("1 matched, 1 provider_only"), "{}", text(&differ.stderr));

    // JSON: one object per charge examined, with the fields a script needs.
    let json = reconcile(&["--json"]);
    assert_eq!(json.status.code(), Some(1));
    let objects: Vec<serde_json::Value> =
        text(&json.stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
    let mine = objects.iter().find(|o| o["charge_id"] == ours.as_str()).expect("our charge");
    assert_eq!(mine["class"], "matched");
    assert!(mine["idempotency_key"].is_string() && mine["account"] == "payjp" && mine["provider"] == "payjp");
    let theirs = objects.iter().find(|o| o["charge_id"] == elsewhere.as_str()).expect("the other charge");
    assert_eq!(theirs["class"], "provider_only");
    assert!(
        theirs["idempotency_key"].is_null() && theirs["evidence"].as_str().unwrap().contains("unknown to the journal")
    );
    assert_eq!(theirs["amount"]["minor"], 700, "{theirs}");

    // A window before both charges holds nothing.
    let earlier = reconcile(&["--until", "1000000000"]);
    assert_eq!(earlier.status.code(), Some(2), "--until before --since: {}", text(&earlier.stderr));
    let bad = reconcile(&["--until", "yesterday-ish"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("--until \"yesterday-ish\" is not a time"), "{}", text(&bad.stderr));
}

#[test]
fn reconcile_needs_a_journal_and_refuses_a_fresh_embedded_mock() {
    let out = payment(None, &["--provider", "payjp", "reconcile"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--journal"), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--journal", &format!("sqlite://{}", dir.path().join("j.db").display()), "reconcile"])
        .env("PAYMENT_PAYJP_MODE", "mock")
        .env("PAYMENT_PROVIDER", "payjp")
        .env_remove("PAYMENT_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("starts empty"), "{}", text(&out.stderr));
}
