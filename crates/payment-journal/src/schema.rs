//! The journal's tables and its own migrations table, so it can share an application's database
//! (every name starts with `payment_journal_`; the application's migrations never see them).

/// One migration: its number and its statements per backend.
pub(crate) struct Migration {
    /// Applied in ascending order; recorded in `payment_journal_migrations`.
    pub version: i64,
    /// Statements for SQLite.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub sqlite: &'static [&'static str],
    /// Statements for PostgreSQL.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub postgres: &'static [&'static str],
}

/// The tables shared by both backends; only the event id column differs.
const PAYMENTS: &str = "CREATE TABLE IF NOT EXISTS payment_journal_payments (
    idempotency_key TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    provider TEXT NOT NULL,
    state TEXT NOT NULL,
    charge_id TEXT,
    fingerprint TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
)";

const ATTEMPTS: &str = "CREATE TABLE IF NOT EXISTS payment_journal_attempts (
    id TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL REFERENCES payment_journal_payments (idempotency_key),
    seq BIGINT NOT NULL,
    provider TEXT NOT NULL,
    operation TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    provider_key TEXT NOT NULL,
    request TEXT NOT NULL,
    charge_id TEXT,
    refund_id TEXT,
    outcome TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    dispatched_ms BIGINT,
    due_ms BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until_ms BIGINT,
    recover_tries BIGINT NOT NULL,
    UNIQUE (idempotency_key, seq)
)";

/// At most one succeeded charge attempt per logical payment, whatever the application does.
const ONE_SUCCESS: &str = "CREATE UNIQUE INDEX IF NOT EXISTS payment_journal_one_success
    ON payment_journal_attempts (idempotency_key)
    WHERE state = 'succeeded' AND operation = 'create_charge'";

/// At most one attempt in flight per logical payment: never a second beside an unresolved one.
const ONE_IN_FLIGHT: &str = "CREATE UNIQUE INDEX IF NOT EXISTS payment_journal_one_in_flight
    ON payment_journal_attempts (idempotency_key)
    WHERE state IN ('prepared', 'dispatched', 'unknown', 'pending')";

/// Recovery's scan: unresolved attempts by due time.
const DUE: &str = "CREATE INDEX IF NOT EXISTS payment_journal_due
    ON payment_journal_attempts (due_ms)
    WHERE state IN ('prepared', 'dispatched', 'unknown', 'pending')";

/// The states recovery still has work in, as SQL (`AttemptState::is_unresolved`; a test keeps
/// the two the same).
macro_rules! unresolved_states_sql {
    () => {
        "('prepared', 'dispatched', 'unknown', 'pending', 'awaiting_customer')"
    };
}
pub(crate) use unresolved_states_sql;

/// Version 4 adds `awaiting_customer` to the in-flight states: the one-in-flight rule and the
/// recovery scan are rebuilt over the new list.
const DROP_ONE_IN_FLIGHT: &str = "DROP INDEX IF EXISTS payment_journal_one_in_flight";
const ONE_IN_FLIGHT_V4: &str = concat!(
    "CREATE UNIQUE INDEX IF NOT EXISTS payment_journal_one_in_flight ON payment_journal_attempts (idempotency_key) \
     WHERE state IN ",
    unresolved_states_sql!()
);
const DROP_DUE: &str = "DROP INDEX IF EXISTS payment_journal_due";
const DUE_V4: &str = concat!(
    "CREATE INDEX IF NOT EXISTS payment_journal_due ON payment_journal_attempts (due_ms) WHERE state IN ",
    unresolved_states_sql!()
);

/// The event table with the backend's auto-increment id column.
macro_rules! events_table {
    ($id:literal) => {
        concat!(
            "CREATE TABLE IF NOT EXISTS payment_journal_events (
    id ",
            $id,
            ",
    attempt_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    version BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    detail TEXT NOT NULL
)"
        )
    };
}

const EVENTS_SQLITE: &str = events_table!("INTEGER PRIMARY KEY AUTOINCREMENT");

const EVENTS_POSTGRES: &str = events_table!("BIGSERIAL PRIMARY KEY");

const EVENTS_BY_KEY: &str =
    "CREATE INDEX IF NOT EXISTS payment_journal_events_key ON payment_journal_events (idempotency_key, id)";

/// Version 2: the reference an attempt was sent with, as a column (webhooks find attempts by
/// it), and the inbox of handled webhook deliveries.
const ADD_REFERENCE: &str = "ALTER TABLE payment_journal_attempts ADD COLUMN reference TEXT";
const BY_REFERENCE: &str = "CREATE INDEX IF NOT EXISTS payment_journal_reference
    ON payment_journal_attempts (provider, reference)";
const BY_CHARGE: &str = "CREATE INDEX IF NOT EXISTS payment_journal_charge
    ON payment_journal_attempts (provider, charge_id)";
const INBOX: &str = "CREATE TABLE IF NOT EXISTS payment_journal_inbox (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
)";

/// Version 3: an inbox row in progress holds a lease (NULL: handled, as every row before it), so
/// a handling that dies frees its event for the provider's next delivery.
const INBOX_LEASE: &str = "ALTER TABLE payment_journal_inbox ADD COLUMN lease_until_ms BIGINT";

/// Version 5: reconciliation streams an account's charge attempts by creation time, and finds
/// attempts by the key they were sent with (webhooks naming a request id) without a scan.
const BY_CREATED: &str = "CREATE INDEX IF NOT EXISTS payment_journal_created
    ON payment_journal_attempts (provider, operation, created_ms, id)";
const BY_PROVIDER_KEY: &str = "CREATE INDEX IF NOT EXISTS payment_journal_provider_key
    ON payment_journal_attempts (provider, provider_key)";

/// The journal's own migrations table.
pub(crate) const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS payment_journal_migrations (
    version BIGINT PRIMARY KEY,
    applied_ms BIGINT NOT NULL
)";

/// Every migration, oldest first.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: &[PAYMENTS, ATTEMPTS, ONE_SUCCESS, ONE_IN_FLIGHT, DUE, EVENTS_SQLITE, EVENTS_BY_KEY],
        postgres: &[PAYMENTS, ATTEMPTS, ONE_SUCCESS, ONE_IN_FLIGHT, DUE, EVENTS_POSTGRES, EVENTS_BY_KEY],
    },
    Migration {
        version: 2,
        sqlite: &[ADD_REFERENCE, BY_REFERENCE, BY_CHARGE, INBOX],
        postgres: &[ADD_REFERENCE, BY_REFERENCE, BY_CHARGE, INBOX],
    },
    Migration { version: 3, sqlite: &[INBOX_LEASE], postgres: &[INBOX_LEASE] },
    Migration {
        version: 4,
        sqlite: &[DROP_ONE_IN_FLIGHT, ONE_IN_FLIGHT_V4, DROP_DUE, DUE_V4],
        postgres: &[DROP_ONE_IN_FLIGHT, ONE_IN_FLIGHT_V4, DROP_DUE, DUE_V4],
    },
    Migration { version: 5, sqlite: &[BY_CREATED, BY_PROVIDER_KEY], postgres: &[BY_CREATED, BY_PROVIDER_KEY] },
];

#[cfg(test)]
mod tests {
    use crate::state::ALL_STATES;

    #[test]
    fn the_sql_list_of_unresolved_states_is_the_rust_one() {
        for state in ALL_STATES {
            let quoted = format!("'{}'", state.as_str());
            assert_eq!(unresolved_states_sql!().contains(&quoted), state.is_unresolved(), "{state}");
        }
    }
}
