//! `--journal` and `payment journal …` end to end: a repeated command answered from the journal,
//! lost answers settled by a re-run or by `journal recover`, and the listing's shape.

mod support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use support::{BIN, Mock};

fn payment(journal: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--journal")
        .arg(format!("sqlite://{}", journal.display()))
        .args(args)
        .env("PAYMENT_PAYJP_SECRET_KEY", "sk_test_cli")
        .env_remove("PAYMENT_PROVIDER")
        .env_remove("PAYMENT_JOURNAL_URL")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

fn charge_args<'a>(url: &'a str, key: &'a str) -> Vec<&'a str> {
    vec![
        "--provider",
        "payjp",
        "--base-url",
        url,
        "--json",
        "--timeout",
        "1s",
        "charge",
        "create",
        "--amount",
        "1500",
        "--currency",
        "JPY",
        "--card",
        "4242424242424242,12/2035,123",
        "--idempotency-key",
        key,
    ]
}

fn charges_at(journal: &Path, url: &str) -> usize {
    let out = payment(journal, &["--provider", "payjp", "--base-url", url, "--json", "charge", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    lines(&out).len()
}

#[test]
fn a_repeated_command_is_answered_from_the_journal_without_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("new").join("j.db");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    let mock = Mock::start(&[]);
    let first = payment(&journal, &charge_args(&mock.url, "order-1"));
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(journal.exists(), "sqlite:// creates the file");
    let again = payment(&journal, &[&["-v"][..], &charge_args(&mock.url, "order-1")].concat());
    assert!(again.status.success(), "{}", text(&again.stderr));
    let said = text(&again.stderr);
    assert!(said.contains("answered from the journal, no request sent"), "-v says where the answer came from: {said}");
    assert!(!said.contains("status="), "and that no attempt was made: {said}");
    assert_eq!(lines(&first)[0]["id"], lines(&again)[0]["id"]);
    assert_eq!(charges_at(&journal, &mock.url), 1);

    let list = payment(&journal, &["--json", "journal", "list"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let rows = lines(&list);
    assert_eq!(rows.len(), 1);
    let p = &rows[0];
    assert_eq!(p["idempotency_key"], "order-1");
    assert_eq!(p["operation"], "create_charge");
    assert_eq!(p["provider"], "payjp");
    assert_eq!(p["state"], "succeeded");
    assert_eq!(p["charge_id"], lines(&first)[0]["id"]);
    assert_eq!(p["attempts"][0]["state"], "succeeded");
    assert_eq!(p["attempts"][0]["request"]["source"]["type"], "token", "recorded as sent: tokenized");
    assert!(!text(&list.stdout).contains("4242424242424242"), "no card number in the journal");
    assert_eq!(p["account"], "payjp");
    assert_eq!(p["amount"]["currency"], "JPY");
    let table = text(&payment(&journal, &["journal", "list"]).stdout);
    let mut rows = table.lines();
    let header = rows.next().unwrap_or_default();
    assert!(header.starts_with("IDEMPOTENCY KEY") && header.contains("AMOUNT"), "{table}");
    let row = rows.next().unwrap_or_default();
    assert!(row.starts_with("order-1") && row.contains("JPY 1500") && row.contains("succeeded"), "{table}");

    let only = payment(&journal, &["--json", "journal", "list", "--state", "succeeded"]);
    assert_eq!(lines(&only).len(), 1);
    let none = payment(&journal, &["--json", "journal", "list", "--state", "unknown"]);
    assert!(none.status.success() && lines(&none).is_empty());
    let bad = payment(&journal, &["journal", "list", "--state", "Succeeded"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("needs_reconciliation"), "{}", text(&bad.stderr));

    let show = payment(&journal, &["journal", "show", "order-1"]);
    assert!(show.status.success());
    let shown = text(&show.stdout);
    assert!(shown.contains("prepared -> dispatched") && shown.contains("dispatched -> succeeded"), "{shown}");
    let missing = payment(&journal, &["journal", "show", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
}

/// The mock holds the charge request 2.5 s, past the 1 s deadline: the answer is lost after the
/// mock received it, and it commits the charge later.
fn lost_answer(journal: &Path, key: &str) -> Mock {
    let faults = r#"{"rules":[{"kind":"delay","ms":2500,"methods":["POST"],"path":"/v1/charges","times":1}]}"#;
    let mock = Mock::start(&["--faults", faults]);
    let out = payment(journal, &charge_args(&mock.url, key));
    assert_eq!(out.status.code(), Some(3), "outcome unknown: {}", text(&out.stderr));
    let state = payment(journal, &["--json", "journal", "list"]);
    assert_eq!(lines(&state)[0]["state"], "unknown");
    std::thread::sleep(Duration::from_millis(2000));
    mock
}

#[test]
fn journal_recover_settles_a_lost_answer_with_one_charge() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.db");
    let mock = lost_answer(&journal, "lost-1");
    let out = payment(&journal, &["--provider", "payjp", "--base-url", &mock.url, "journal", "recover"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("lost-1 #1 payjp create_charge: unknown -> succeeded: resent with the same key"), "{said}");
    assert_eq!(charges_at(&journal, &mock.url), 1, "replayed, not charged again");
    let state = payment(&journal, &["--json", "journal", "list"]);
    assert_eq!(lines(&state)[0]["state"], "succeeded");
}

#[test]
fn a_rerun_recovers_an_unknown_payment_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.db");
    let mock = lost_answer(&journal, "lost-2");
    let out = payment(&journal, &charge_args(&mock.url, "lost-2"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(charges_at(&journal, &mock.url), 1);
    let p = &lines(&payment(&journal, &["--json", "journal", "list"]))[0];
    assert_eq!(p["state"], "succeeded");
    assert_eq!(p["attempts"].as_array().unwrap().len(), 1, "settled, never a second attempt");
}

#[test]
fn journal_commands_need_a_journal_and_recovery_refuses_a_fresh_embedded_mock() {
    let out = Command::new(BIN).args(["journal", "list"]).env_remove("PAYMENT_JOURNAL_URL").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--journal"), "{}", text(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.db");
    let _mock = lost_answer(&journal, "lost-3");
    let out = Command::new(BIN)
        .args(["--journal", &format!("sqlite://{}", journal.display()), "journal", "recover"])
        .env("PAYMENT_PAYJP_MODE", "mock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("starts empty"), "{}", text(&out.stderr));
}

#[test]
fn recover_says_when_there_is_nothing_to_do_and_within_bounds_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.db");
    let empty = payment(&journal, &["journal", "recover"]);
    assert!(empty.status.success(), "{}", text(&empty.stderr));
    assert_eq!(text(&empty.stdout).trim(), "nothing to recover");

    // The answer is lost, then every request the mock gets is held 30 s: a recovery bounded by
    // 2 s stops there, says so, and leaves the payment unknown (exit 3) for the next run.
    let mock = lost_answer(&journal, "slow-1");
    let hold = r#"{"kind":"delay","ms":30000}"#;
    let held = Command::new(BIN).args(["mock-control", "--url", &mock.url, "faults", "add", hold]).output().unwrap();
    assert!(held.status.success(), "{}", text(&held.stderr));
    let out =
        payment(&journal, &["--provider", "payjp", "--base-url", &mock.url, "journal", "recover", "--within", "2s"]);
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("stopped after --within 2s"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("still unknown: slow-1"), "{}", text(&out.stderr));
}
