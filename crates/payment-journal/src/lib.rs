//! A durable payment journal: nothing charged twice or lost across crashes.
//!
//! A logical payment (the caller's idempotency key) has attempts; each moves Prepared →
//! Dispatched → an outcome, and every transition is committed, with an event row, before the
//! next step (concurrent callers' transitions share a commit: group commit, and each hears of
//! its own only once that commit is durable). Dispatched, with the exact request (provider key and reference fixed), is
//! committed before the first byte goes out, so after a crash [`Journal::recover`] knows what
//! may have been sent and settles it by the operation's declared idempotency: `Replay` resends
//! with the same key while the provider's window is open, `RejectDuplicate` looks the object up
//! and resends only when proven absent, `None` only looks. Whatever it cannot tell ends
//! `NeedsReconciliation`, never silently failed.
//!
//! Stores: [`MemoryStore`], [`SqliteStore`] (the embedded default) and [`PostgresStore`] (fleets:
//! many instances and recovery workers, each attempt resolved by exactly one).
#![forbid(unsafe_code)]

mod batch;
mod clock;
pub mod faulty;
mod finding;
mod heal;
mod journal;
mod ledger;
mod lookup;
mod memory;
mod open;
mod options;
mod reconcile;
pub mod record;
mod recover;
mod remainder;
mod request;
mod resolution;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod schema;
mod settle;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_chunks;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_one_trip;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_rows;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_writes;
mod state;
mod store;
mod webhook;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use batch::{BatchOptions, CommitStats};
pub use clock::StoreClock;
pub use faulty::{FaultyStore, StoreFault, StoreStep};
pub use finding::{AtProvider, Class, Finding, InJournal};
pub use journal::{Checkpoint, Journal, JournalOptions};
pub use ledger::Stage;
pub use memory::MemoryStore;
pub use open::{open, open_store};
pub use options::{Durability, StoreOptions};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use reconcile::{ReconcileOptions, ReconcileSummary, Reconciler, Window};
pub use record::{Attempt, AttemptRules, JournalEvent, Payment, StoredError, StoredOutcome};
pub use recover::{ClientSource, Recoverer, RecoveryEvent, RecoveryObserver, RecoveryReport, Resolution};
pub use request::{StoredRequest, StoredSource};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
pub use state::{ALL_STATES, AttemptState};
pub use store::{
    ClaimFilter, CreatedPage, DueClaim, JournalStore, attempts_on_charge, is_fenced, is_journal_answer,
    is_second_success,
};
pub use webhook::may_hold_charge;

/// Now, in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
