//! `payment mock` as a daily tool: `--env-file` gives every provider's client what it needs to
//! reach its mock with nothing else set, and `--base-port` gives the mocks fixed addresses.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_payment");

/// `payment mock` with `args`, killed when dropped; `lines` are its stdout lines up to `until`.
struct Served {
    child: Child,
    lines: Vec<String>,
}

impl Served {
    fn start(args: &[&str], until: &str) -> Served {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("PAYMENT_PROVIDER")
            .env_remove("PAYMENT_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            assert!(out.read_line(&mut line).unwrap() > 0, "the mock stopped before {until:?}: {lines:?}");
            lines.push(line.trim().to_owned());
            if line.starts_with(until) {
                break;
            }
        }
        Served { child, lines }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The variables of an env file as `sh` would read them (single-quoted values, `'\''` for a quote).
fn read_env_file(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let mut pending: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some((name, mut value)) = pending.take() {
            value.push('\n');
            value.push_str(line);
            match value.strip_suffix('\'') {
                Some(done) if !done.ends_with('\\') => {
                    vars.insert(name, done.replace("'\\''", "'"));
                }
                _ => pending = Some((name, value)),
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once("='").expect("NAME='value'");
        match value.strip_suffix('\'') {
            Some(done) => {
                vars.insert(name.to_owned(), done.replace("'\\''", "'"));
            }
            None => pending = Some((name.to_owned(), value.to_owned())),
        }
    }
    assert!(pending.is_none(), "an unterminated value");
    vars
}

fn charge(provider: &str, vars: &BTreeMap<String, String>, source: &[&str], amount: &str, currency: &str) -> Output {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PAYMENT_")) {
        command.env_remove(name);
    }
    command
        .envs(vars)
        .args(["--provider", provider, "--json", "charge", "create", "--amount", amount, "--currency", currency])
        .args(source)
        .output()
        .unwrap()
}

#[test]
fn an_env_file_is_all_a_client_needs_to_reach_every_mock() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let path_text = path.to_str().unwrap().to_owned();
    let served = Served::start(&["mock", "--env-file", &path_text], "env-file");
    let text = std::fs::read_to_string(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "it holds the mocks' private keys");
    }
    let vars = read_env_file(&text);
    let cases: [(&str, &[&str], &str, &str); 6] = [
        ("payjp", &["--card", "4242424242424242,12/2035,123"], "1000", "JPY"),
        ("payjp-v2", &["--customer", "cus_test_card_4242424242424242"], "1000", "JPY"),
        ("pingpp", &["--channel", "alipay", "--payer-ip", "127.0.0.1"], "1000", "CNY"),
        ("justap", &["--channel", "AlipayQR", "--payer-ip", "127.0.0.1"], "1000", "CNY"),
        ("worldpay", &["--card", "4444333322221111,05/2030,123"], "1000", "GBP"),
        ("google-standard-payments", &["--source", "ZXhhbXBsZSB1bmlxdWUgcGF5bWVudCB0b2tlbiB2YWx1ZQ"], "72800", "INR"),
    ];
    for (provider, source, amount, currency) in cases {
        let url = served.lines.iter().find_map(|l| l.strip_prefix(&format!("{provider} "))).expect(provider);
        let base_url = vars.get(&format!("PAYMENT_{}_BASE_URL", provider.to_uppercase().replace('-', "_")));
        assert_eq!(base_url.map(String::as_str), Some(url), "{provider}: {text}");
        let out = charge(provider, &vars, source, amount, currency);
        assert!(out.status.success(), "{provider}: {}", String::from_utf8_lossy(&out.stderr));
        let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(record["provider"], provider, "{record}");
    }
    // The neutral channel names work on both channel providers, the same command for each.
    for provider in ["pingpp", "justap"] {
        for neutral in ["alipay_qr", "alipay_app"] {
            let out = charge(provider, &vars, &["--channel", neutral, "--payer-ip", "127.0.0.1"], "1000", "CNY");
            assert!(out.status.success(), "{provider} {neutral}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    // Without the signing key, Ping++ refuses the request; the error says which setting to add.
    let mut unsigned = vars.clone();
    unsigned.remove("PAYMENT_PINGPP_PRIVATE_KEY");
    let out = charge("pingpp", &unsigned, &["--channel", "alipay", "--payer-ip", "127.0.0.1"], "1000", "CNY");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("PAYMENT_PINGPP_PRIVATE_KEY_PATH"), "{said}");
}

/// Ports in a row that nothing listens on now, below the ephemeral range.
fn free_run(count: u16) -> u16 {
    (28_000..31_000)
        .step_by(16)
        .find(|base| (0..count).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()))
        .expect("a free run of ports")
}

#[test]
fn base_port_gives_the_mocks_consecutive_fixed_ports_in_the_documented_order() {
    let base = free_run(6);
    let served = Served::start(&["mock", "--base-port", &base.to_string()], "console");
    let order = ["payjp", "payjp-v2", "pingpp", "justap", "worldpay", "google-standard-payments"];
    let named: Vec<(&str, &str)> =
        served.lines.iter().filter_map(|l| l.split_once(' ')).filter(|(n, _)| *n != "console").collect();
    assert_eq!(named.iter().map(|(n, _)| *n).collect::<Vec<_>>(), order);
    for (i, (name, url)) in named.iter().enumerate() {
        assert_eq!(*url, format!("http://127.0.0.1:{}", base + i as u16), "{name}");
    }
    let refused =
        Command::new(BIN).args(["mock", "--addr", "127.0.0.1:9", "--base-port", &base.to_string()]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--base-port"), "{refused:?}");
    let too_high = Command::new(BIN).args(["mock", "--base-port", "65534"]).output().unwrap();
    assert_eq!(too_high.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&too_high.stderr).contains("within 1..=65535"), "{too_high:?}");
}

fn control(url: &str, args: &[&str]) -> Output {
    Command::new(BIN).args(["mock-control", "--url", url]).args(args).output().unwrap()
}

#[test]
fn mock_control_drives_a_running_mock_without_curl() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let path_text = path.to_str().unwrap().to_owned();
    let served = Served::start(&["--provider", "pingpp", "mock", "--env-file", &path_text], "env-file");
    let url = served.lines[0].strip_prefix("pingpp ").unwrap().to_owned();
    let vars = read_env_file(&std::fs::read_to_string(&path).unwrap());
    let channel = ["--channel", "alipay", "--payer-ip", "127.0.0.1"];
    let created = charge("pingpp", &vars, &channel, "1000", "CNY");
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let id = serde_json::from_slice::<serde_json::Value>(&created.stdout).unwrap()["id"].as_str().unwrap().to_owned();

    // The payer pays at the channel.
    let done = control(&url, &["complete", &id]);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let mut get = Command::new(BIN);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PAYMENT_")) {
        get.env_remove(name);
    }
    let got = get.envs(&vars).args(["--provider", "pingpp", "--json", "charge", "get", &id]).output().unwrap();
    let record: serde_json::Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(record["status"], "succeeded", "{record}");

    // A fault goes in, shows in the log, and comes out.
    let rule = r#"{"kind":"status","status":503,"methods":["POST"],"path":"/v1/charges","times":1}"#;
    let added = control(&url, &["faults", "add", rule]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let failed = charge("pingpp", &vars, &channel, "1000", "CNY");
    assert!(failed.status.success(), "the engine retried the 503: {}", String::from_utf8_lossy(&failed.stderr));
    let log = control(&url, &["requests", "--status", "5xx"]);
    let text = String::from_utf8_lossy(&log.stdout);
    assert!(text.lines().count() == 1 && text.contains("POST /v1/charges 503") && text.contains("fault"), "{text}");
    let bad = control(&url, &["faults", "add", r#"{"kind":"status","status":503,"method":"POST"}"#]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no field `method`"), "{bad:?}");
    assert!(control(&url, &["faults", "clear"]).status.success());
    let plan = control(&url, &["--json", "faults", "show"]);
    assert!(String::from_utf8_lossy(&plan.stdout).contains("\"rules\":[]"), "{plan:?}");

    // The clock and a reset.
    let moved = control(&url, &["clock", "advance", "2h"]);
    assert!(String::from_utf8_lossy(&moved.stdout).contains("7200s in all"), "{moved:?}");
    assert!(control(&url, &["reset"]).status.success());
    let gone = Command::new(BIN)
        .envs(&vars)
        .args(["--provider", "pingpp", "charge", "get", &id])
        .env_remove("PAYMENT_PROVIDER")
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(1), "reset forgets the charge");
    let nowhere = control("http://127.0.0.1:9", &["reset"]);
    assert_eq!(nowhere.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("did not answer"), "{nowhere:?}");
}

/// What `payment providers --test-data` says a mock does is what it does.
#[test]
fn the_test_data_table_is_what_the_mocks_do() {
    let out = Command::new(BIN).args(["--json", "providers", "--test-data"]).output().unwrap();
    assert!(out.status.success());
    let listed: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let inputs = |name: &str| -> Vec<(String, String)> {
        let p = listed.iter().find(|p| p["name"] == name).unwrap_or_else(|| panic!("{name} listed"));
        let data = p["test_data"].as_array().unwrap();
        data.iter()
            .map(|d| (d["input"].as_str().unwrap().to_owned(), d["effect"].as_str().unwrap().to_owned()))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let path_text = path.to_str().unwrap().to_owned();
    let _served = Served::start(&["mock", "--env-file", &path_text], "env-file");
    let vars = read_env_file(&std::fs::read_to_string(&path).unwrap());
    let declined = |provider: &str, source: &[&str], amount: &str, currency: &str, code: &str| {
        let out = charge(provider, &vars, source, amount, currency);
        let said = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{provider} {source:?}: {said}");
        assert!(said.contains(code), "{provider} {source:?} should say {code}: {said}");
    };
    let mut cards = 0;
    for (input, effect) in inputs("payjp") {
        if let (Some(number), Some(code)) =
            (input.strip_prefix("card 4000"), effect.strip_prefix("declined at charge time: 402 "))
        {
            let card = format!("4000{number},12/2030,123");
            declined("payjp", &["--card", &card], "1000", "JPY", code);
            cards += 1;
        }
    }
    assert_eq!(cards, 5, "every PAY.JP decline card was tried");
    assert!(inputs("worldpay").iter().any(|(i, _)| i.contains("REFUSED[CODE]")));
    declined("worldpay", &["--card", "4444333322221111,05/2030,123,REFUSED51"], "1000", "GBP", "51");
    for (input, effect) in inputs("google-standard-payments") {
        if let (Some(name), Some(code)) = (input.strip_prefix("a token containing "), effect.strip_prefix("declined: "))
        {
            declined("google-standard-payments", &["--source", &format!("tok_{name}_1")], "72800", "INR", code);
        }
    }
}

/// `payment` with the env file's variables only.
fn run(vars: &BTreeMap<String, String>, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("PAYMENT_")) {
        command.env_remove(name);
    }
    command.envs(vars).args(args).output().unwrap()
}

/// 3-D Secure from the command line: create prints the next action and exits 0, the customer
/// acts through `mock-control authenticate`, and `charge complete` exits 0, 1 or says why not yet.
#[test]
fn three_d_secure_is_created_authenticated_and_completed_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let served = Served::start(&["--provider", "payjp", "mock", "--env-file", path.to_str().unwrap()], "env-file");
    let url = served.lines[0].strip_prefix("payjp ").unwrap().to_owned();
    let vars = read_env_file(&std::fs::read_to_string(&path).unwrap());
    let create = |number: &str| {
        let card = format!("{number},12/2035,123");
        let out = run(
            &vars,
            &[
                "--provider",
                "payjp",
                "--json",
                "charge",
                "create",
                "--amount",
                "1200",
                "--currency",
                "JPY",
                "--card",
                &card,
                "--three-d-secure",
                "--return-url",
                "http://127.0.0.1:9/back",
                "--customer-email",
                "buyer@example.com",
            ],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let complete =
        |id: &str, data: &str| run(&vars, &["--provider", "payjp", "--json", "charge", "complete", id, "--data", data]);

    let created = create("4242424242424242");
    assert_eq!(created["status"], "requires_action", "{created}");
    let action = &created["next_action"];
    assert_eq!(action["kind"], "redirect", "{created}");
    assert_eq!(action["method"], "GET");
    assert!(action["fields"].is_object());
    assert!(action["url"].as_str().unwrap().starts_with(&format!("{url}/v1/tds/")), "{action}");
    let id = created["id"].as_str().unwrap();

    let early = complete(id, "null");
    assert_eq!(early.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&early.stderr).contains("action_required"), "{early:?}");

    let acted = control(&url, &["authenticate", id, "--result", "success"]);
    assert!(acted.status.success(), "{acted:?}");
    assert!(String::from_utf8_lossy(&acted.stdout).contains(&format!("payment charge complete {id}\n")), "{acted:?}");
    let done = complete(id, "null");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&done.stdout).unwrap()["status"], "succeeded");

    let refused = create("4242424242424242");
    let refused_id = refused["id"].as_str().unwrap();
    assert!(control(&url, &["authenticate", refused_id, "--result", "failure"]).status.success());
    let declined = complete(refused_id, "null");
    assert_eq!(declined.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&declined.stderr).contains("authentication_failed"), "{declined:?}");
    assert_eq!(complete(refused_id, "{not json").status.code(), Some(2));
}

/// Worldpay's two steps from the command line, as the README shows them: device data (its
/// collection reference handed to `charge complete --data`), then the challenge.
#[test]
fn worldpay_three_d_secure_takes_device_data_then_a_challenge_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let served = Served::start(&["--provider", "worldpay", "mock", "--env-file", path.to_str().unwrap()], "env-file");
    let url = served.lines[0].strip_prefix("worldpay ").unwrap().to_owned();
    let vars = read_env_file(&std::fs::read_to_string(&path).unwrap());
    let json = |out: Output| {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let created = json(run(
        &vars,
        &[
            "--provider",
            "worldpay",
            "--json",
            "charge",
            "create",
            "--amount",
            "1000",
            "--currency",
            "GBP",
            "--card",
            "4444333322221111,05/2030,123,Bob",
            "--three-d-secure",
            "--return-url",
            "https://shop.example/done",
        ],
    ));
    assert_eq!(
        (created["status"].as_str(), created["next_action"]["kind"].as_str()),
        (Some("requires_action"), Some("device_data")),
        "{created}"
    );
    let id = created["id"].as_str().unwrap();
    let complete =
        |data: &str| run(&vars, &["--provider", "worldpay", "--json", "charge", "complete", id, "--data", data]);
    assert_eq!(complete("null").status.code(), Some(1), "no collection reference yet");
    let device = json(control(&url, &["--json", "authenticate", id, "--result", "success"]));
    let data = device["data"].to_string();
    assert!(data.contains("collectionReference"), "{device}");
    let challenged = json(complete(&data));
    assert_eq!(challenged["next_action"]["kind"], "challenge", "{challenged}");
    assert!(control(&url, &["authenticate", id, "--result", "success"]).status.success());
    let done = json(complete("null"));
    assert_eq!(done["status"], "succeeded", "{done}");
}

/// `--json` makes the mock's address list one object per line.
#[test]
fn the_mock_prints_its_addresses_as_json_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let args = ["--json", "--provider", "payjp", "mock", "--env-file", path.to_str().unwrap()];
    let served = Served::start(&args, "{\"env_file\"");
    let first: serde_json::Value = serde_json::from_str(&served.lines[0]).unwrap();
    assert_eq!(first["mock"], "payjp");
    assert!(first["url"].as_str().unwrap().starts_with("http://127.0.0.1:"), "{first}");
    let last: serde_json::Value = serde_json::from_str(served.lines.last().unwrap()).unwrap();
    assert_eq!(last["env_file"], path.to_str().unwrap());
}

/// `mock --help` lists only what `mock` uses: no journal, base URL, account, timeout or config.
#[test]
fn mock_help_lists_only_the_options_it_uses() {
    let out = Command::new(BIN).args(["mock", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && help.contains("--env-file"), "{help}");
    for ignored in ["--journal", "--base-url", "--account", "--timeout", "--config"] {
        assert!(!help.contains(ignored), "{ignored} in {help}");
    }
    let charge = Command::new(BIN).args(["charge", "create", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&charge.stdout).contains("--journal"), "other commands keep them");
}

/// A provider with no list API is reported as such by `reconcile` (exit 1), never skipped.
#[test]
fn reconcile_names_a_provider_it_cannot_compare() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let path_text = path.to_str().unwrap().to_owned();
    let _served =
        Served::start(&["--provider", "google-standard-payments", "mock", "--env-file", &path_text], "env-file");
    let vars = read_env_file(&std::fs::read_to_string(&path).unwrap());
    let journal = format!("sqlite://{}", dir.path().join("j.db").display());
    let out = run(&vars, &["--journal", &journal, "--provider", "google-standard-payments", "reconcile"]);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("cannot_reconcile") && l.contains("no list API")), "{stdout}");
}

/// Figures said neutrally: PAY.JP's partial capture shows what it released (not a refund), and
/// Worldpay's refund, whose amount its reads do not give, shows the journal's figure.
#[test]
fn a_release_at_capture_and_a_refund_of_unknown_amount_are_shown_for_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mocks.env");
    let path_text = path.to_str().unwrap().to_owned();
    let _served = Served::start(&["mock", "--env-file", &path_text], "env-file");
    let vars = read_env_file(&std::fs::read_to_string(&path).unwrap());
    let journal = format!("sqlite://{}", dir.path().join("j.db").display());
    let text = |o: &Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let id_of = |o: &Output| -> String {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", text(o)));
        v["id"].as_str().unwrap().to_owned()
    };

    let held = run(
        &vars,
        &[
            "--journal",
            &journal,
            "--provider",
            "payjp",
            "--json",
            "charge",
            "create",
            "--amount",
            "1000",
            "--currency",
            "JPY",
            "--card",
            "4242424242424242,12/2035,123",
            "--no-capture",
        ],
    );
    let id = id_of(&held);
    let captured =
        run(&vars, &["--journal", &journal, "--provider", "payjp", "charge", "capture", &id, "--amount", "800"]);
    let shown = text(&captured);
    assert!(shown.contains("captured    JPY 1000, JPY 200 released") && shown.contains("refunded    JPY 0"), "{shown}");
    let read = text(&run(&vars, &["--journal", &journal, "--provider", "payjp", "charge", "get", &id]));
    assert!(read.contains("JPY 200 released") && read.contains("refunded    JPY 0"), "from the journal: {read}");
    // Without the journal a read cannot tell a release from a refund, and says what PAY.JP says.
    let bare = text(&run(&vars, &["--provider", "payjp", "charge", "get", &id]));
    assert!(bare.contains("refunded    JPY 200") && !bare.contains("released"), "{bare}");

    let paid = run(
        &vars,
        &[
            "--journal",
            &journal,
            "--provider",
            "worldpay",
            "--json",
            "charge",
            "create",
            "--amount",
            "1000",
            "--currency",
            "GBP",
            "--card",
            "4444333322221111,05/2030,123",
        ],
    );
    let id = id_of(&paid);
    let refunded =
        run(&vars, &["--journal", &journal, "--provider", "worldpay", "refund", "create", &id, "--amount", "300"]);
    assert!(refunded.status.success(), "{}", text(&refunded));
    let read = text(&run(&vars, &["--journal", &journal, "--provider", "worldpay", "charge", "get", &id]));
    assert!(read.contains("refunded    GBP 3.00 (per the journal"), "{read}");
}
