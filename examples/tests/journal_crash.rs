//! The journal's crash tests, small: the kill matrix (every crash point and a lost answer × a
//! Replay, a RejectDuplicate and a None operation, a Worldpay action, and a routed charge that
//! fails over only from a primary that turned it away) and a random-kill soak, on SQLite and, when
//! `PAYMENT_TEST_POSTGRES_URL` is set, PostgreSQL (else reported ignored, with the reason).
//! `PAYMENT_TEST_KILL_N` sets the payments per cell (default 2); the example runs 200.

use std::path::PathBuf;

use libtest_mimic::{Arguments, Failed, Trial};
use payment_examples::kill_matrix::{self, JournalTarget, MatrixOptions};

fn options(journal: JournalTarget) -> MatrixOptions {
    let n = std::env::var("PAYMENT_TEST_KILL_N").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let run = format!("t{}", std::process::id());
    MatrixOptions { child: PathBuf::from(env!("CARGO_BIN_EXE_journal-child")), journal, n, parallel: 6, run }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
}

fn matrix(journal: JournalTarget) -> Result<(), Failed> {
    let cells = runtime().block_on(kill_matrix::run(&options(journal)))?;
    let mut bad = Vec::new();
    for c in &cells {
        eprintln!(
            "    {:<42} {:<10} payments {} killed {} duplicates {} lost {} unresolved {}",
            c.scenario, c.point, c.payments, c.killed, c.duplicates, c.lost, c.unresolved
        );
        // Every point is reached except where a provider answers before it can be (none here).
        if c.duplicates + c.lost + c.unresolved > 0 || c.killed != c.payments {
            bad.push(format!("{} at {}", c.scenario, c.point));
        }
    }
    if cells.len() != kill_matrix::CELLS {
        bad.push(format!("{} cells, not {}", cells.len(), kill_matrix::CELLS));
    }
    if bad.is_empty() { Ok(()) } else { Err(format!("failed cells: {}", bad.join("; ")).into()) }
}

fn soak(journal: JournalTarget) -> Result<(), Failed> {
    let options = options(journal);
    let payments = 20 * options.n;
    let r = runtime().block_on(kill_matrix::random_kill_soak(&options, "payjp", payments, 7))?;
    eprintln!(
        "    {payments} payments, {} kills, {} restarts, mock holds {}, duplicates {}, lost {}, unresolved {}, {:.1?}",
        r.kills, r.restarts, r.mock_charges, r.duplicates, r.lost, r.unresolved, r.took
    );
    if r.duplicates + r.lost + r.unresolved > 0 || r.mock_charges != payments {
        return Err(format!("{r:?}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let dir = tempfile_dir();
    let pg = std::env::var("PAYMENT_TEST_POSTGRES_URL").ok();
    let sqlite = JournalTarget::Sqlite(dir.clone());
    let mut trials = vec![
        Trial::test("sqlite::kill_matrix", {
            let j = sqlite.clone();
            move || matrix(j)
        }),
        Trial::test("sqlite::random_kill_soak", {
            let j = sqlite.clone();
            move || soak(j)
        }),
    ];
    for (name, run) in [
        ("postgres::kill_matrix", matrix as fn(JournalTarget) -> Result<(), Failed>),
        ("postgres::random_kill_soak", soak),
    ] {
        trials.push(match &pg {
            Some(url) => {
                let j = JournalTarget::Postgres(url.clone());
                Trial::test(name, move || run(j))
            }
            None => Trial::test(name, || Ok(())).with_ignored_flag(true).with_kind("PAYMENT_TEST_POSTGRES_URL unset"),
        });
    }
    let conclusion = libtest_mimic::run(&args, trials);
    let _ = std::fs::remove_dir_all(&dir);
    conclusion.exit();
}

/// A fresh directory under the target dir for the SQLite journals.
fn tempfile_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("journal-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}
