//! Each journal write as one round trip to the database: a new payment's prepare and every
//! transition are one query (SQLite: several statements in one query, run by its worker thread
//! together; PostgreSQL: one statement of data-modifying `WITH` clauses). Before, a write was
//! four or five statements, each a round trip (to sqlx's SQLite thread, or over the socket to
//! PostgreSQL), and those round trips, not the flushes, bounded a journaled client under load.
//!
//! A transition's checks (the version the writer holds, and that its state may follow the
//! current one) are the same predicate in every part of the query, so a refused transition
//! writes nothing; the attempt's update returns the row as written.

use std::sync::OnceLock;

use crate::state::{ALL_STATES, AttemptState};

/// Columns of the attempt a transition returns: `ATTEMPT_COLUMNS` and the reference column.
macro_rules! returned_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, ",
            $prefix,
            "idempotency_key, ",
            $prefix,
            "seq, ",
            $prefix,
            "provider, ",
            $prefix,
            "operation, ",
            $prefix,
            "state, ",
            $prefix,
            "version, ",
            $prefix,
            "provider_key, ",
            $prefix,
            "request, ",
            $prefix,
            "charge_id, ",
            $prefix,
            "refund_id, ",
            $prefix,
            "outcome, ",
            $prefix,
            "created_ms, ",
            $prefix,
            "updated_ms, ",
            $prefix,
            "dispatched_ms, ",
            $prefix,
            "due_ms, ",
            $prefix,
            "lease_owner, ",
            $prefix,
            "lease_until_ms, ",
            $prefix,
            "recover_tries, ",
            $prefix,
            "reference"
        )
    };
}

/// The states an attempt may be in for a write moving it to `to` to be taken: `to` itself (a
/// re-lease or a refreshed record) and every state that may become `to`, as the parameters
/// `$15` to `$24` the queries compare the state with (NULL past the last: it equals nothing).
pub(crate) fn states_before(to: AttemptState) -> [Option<&'static str>; ALL_STATES.len()] {
    let mut out = [None; ALL_STATES.len()];
    let allowed = ALL_STATES.iter().filter(|s| **s == to || s.may_become(to));
    for (slot, state) in out.iter_mut().zip(allowed) {
        *slot = Some(state.as_str());
    }
    out
}

/// The test of `state` against `$15` to `$24`.
macro_rules! state_is_one_of {
    () => {
        "state IN ($15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
    };
}

/// Parameters of one transition in a query, and of one new payment's prepare.
pub(crate) const TRANSITION_PARAMS: usize = 24;
/// See [`TRANSITION_PARAMS`].
pub(crate) const PREPARE_PARAMS: usize = 27;

/// How many writes of one kind go to SQLite as one query: a run is cut into these, largest
/// first, so each size is one statement the connection prepares once and keeps.
pub(crate) const CHUNKS: [usize; 5] = [16, 8, 4, 2, 1];

/// `template` (one write's statements, parameters `$1` to `$params`) `copies` times, copy `i`
/// taking parameters `$(i * params + 1)` on: the writes run in order, as one by one.
fn repeated(template: &str, copies: usize, params: usize) -> String {
    (0..copies).map(|i| renumber(template, i * params)).collect::<Vec<_>>().join("; ")
}

/// `template` with every `$N` made `$(N + offset)`.
fn renumber(template: &str, offset: usize) -> String {
    let mut out = String::with_capacity(template.len() + template.len() / 8);
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at + 1]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        match rest[..digits].parse::<usize>() {
            Ok(n) => out.push_str(&(n + offset).to_string()),
            Err(_) => out.push_str(&rest[..digits]),
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The query for `copies` writes of one kind (a size of [`CHUNKS`]), made once.
fn chunk(cell: &'static OnceLock<Vec<String>>, template: fn() -> String, params: usize, copies: usize) -> &'static str {
    let all = cell.get_or_init(|| {
        let one = template();
        CHUNKS.iter().map(|n| repeated(&one, *n, params)).collect()
    });
    let i = CHUNKS.iter().position(|n| *n == copies).unwrap_or(CHUNKS.len() - 1);
    all[i].as_str()
}

/// The attempt's new columns (parameters: $3 state, $4 request as sent or NULL, $5 charge,
/// $6 refund, $7 outcome, $8 now, $9 due, $10 lease owner, $11 lease end, $12 1 for a recovery
/// try, $13 the sent request's reference). Column names are the target's own.
macro_rules! new_attempt_columns {
    ($old:literal) => {
        concat!(
            "state = $3, version = ",
            $old,
            "version + 1, request = COALESCE($4, ",
            $old,
            "request), \
             charge_id = COALESCE($5, ",
            $old,
            "charge_id), refund_id = COALESCE($6, ",
            $old,
            "refund_id), \
             outcome = COALESCE($7, ",
            $old,
            "outcome), updated_ms = $8, \
             dispatched_ms = CASE WHEN $3 = 'dispatched' AND ",
            $old,
            "dispatched_ms IS NULL THEN $8 ELSE ",
            $old,
            "dispatched_ms END, \
             due_ms = $9, lease_owner = $10, lease_until_ms = $11, recover_tries = ",
            $old,
            "recover_tries + $12, \
             reference = CASE WHEN $4 IS NULL THEN ",
            $old,
            "reference ELSE $13 END"
        )
    };
}

/// SQLite: several statements in one query (sqlx runs them in order on its connection's thread,
/// binding each `$N` wherever it appears).
pub(crate) mod sqlite {
    use super::*;

    /// Writes of one kind in one query, at most.
    pub(crate) const MOST_PER_QUERY: usize = 16;

    /// `copies` transitions (a size of [`CHUNKS`]); each is its event (with the state it
    /// leaves), the payment following it, then the attempt itself, returned as written.
    /// Parameters, per copy: $1 id, $2 version held, $14 detail, $15 to $24 the states it may
    /// leave ([`states_before`]) and those of `new_attempt_columns`.
    pub(crate) fn transitions(copies: usize) -> &'static str {
        static CELL: OnceLock<Vec<String>> = OnceLock::new();
        chunk(&CELL, transition, TRANSITION_PARAMS, copies)
    }

    fn transition() -> String {
        let taken = concat!("id = $1 AND version = $2 AND ", state_is_one_of!());
        format!(
            "INSERT INTO payment_journal_events (attempt_id, idempotency_key, from_state, to_state, version, at_ms, detail) \
             SELECT id, idempotency_key, state, $3, version + 1, $8, $14 FROM payment_journal_attempts WHERE {taken}; \
             UPDATE payment_journal_payments SET state = CASE WHEN NOT EXISTS (SELECT 1 FROM payment_journal_attempts x \
             JOIN payment_journal_attempts c ON c.id = $1 AND x.idempotency_key = c.idempotency_key AND x.seq > c.seq) \
             THEN $3 ELSE state END, \
             charge_id = COALESCE($5, (SELECT charge_id FROM payment_journal_attempts WHERE id = $1), charge_id), \
             updated_ms = $8 \
             WHERE idempotency_key = (SELECT idempotency_key FROM payment_journal_attempts WHERE {taken}); \
             UPDATE payment_journal_attempts SET {} WHERE {taken} RETURNING {}",
            new_attempt_columns!(""),
            returned_columns!("")
        )
    }

    /// `copies` new payments' prepares: each is the payment (nothing when the key exists), then
    /// its first attempt and event only when the payment was inserted (`changes()`: the
    /// statement just before); the attempt's id comes back when it was made. Parameters, per
    /// copy: `INSERT_ATTEMPT`'s $1 to $20, $21 fingerprint, $22 now, $23 to $27 the event's
    /// from state, to state, version, time and detail.
    pub(crate) fn prepares(copies: usize) -> &'static str {
        static CELL: OnceLock<Vec<String>> = OnceLock::new();
        chunk(&CELL, || PREPARE_NEW.to_owned(), PREPARE_PARAMS, copies)
    }

    const PREPARE_NEW: &str = "INSERT INTO payment_journal_payments (idempotency_key, operation, provider, \
         state, charge_id, fingerprint, created_ms, updated_ms) VALUES ($2, $5, $4, $6, $10, $21, $22, $22) \
         ON CONFLICT (idempotency_key) DO NOTHING; \
         INSERT INTO payment_journal_attempts (id, idempotency_key, seq, provider, operation, state, version, \
         provider_key, request, charge_id, refund_id, outcome, created_ms, updated_ms, dispatched_ms, due_ms, \
         lease_owner, lease_until_ms, recover_tries, reference) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         $12, $13, $14, $15, $16, $17, $18, $19, $20 WHERE changes() = 1 RETURNING id; \
         INSERT INTO payment_journal_events (attempt_id, idempotency_key, from_state, to_state, version, at_ms, detail) \
         SELECT $1, $2, $23, $24, $25, $26, $27 WHERE changes() = 1";
}

/// PostgreSQL: one statement, its parts in `WITH` clauses that all see the attempt as locked by
/// the first (`FOR UPDATE`: a concurrent writer's newer version is what the predicate is
/// checked against, as a version-checked `UPDATE` would).
pub(crate) mod postgres {
    use super::*;

    /// Writes of one kind in one query: PostgreSQL's extended protocol takes one statement.
    pub(crate) const MOST_PER_QUERY: usize = 1;

    /// One transition (PostgreSQL takes one statement per query with parameters); the same
    /// parameters as SQLite's.
    pub(crate) fn transitions(copies: usize) -> &'static str {
        static CELL: OnceLock<Vec<String>> = OnceLock::new();
        debug_assert_eq!(copies, 1, "PostgreSQL writes one at a time");
        chunk(&CELL, transition, TRANSITION_PARAMS, 1)
    }

    fn transition() -> String {
        format!(
            "WITH cur AS (SELECT id, idempotency_key, state, version, seq, charge_id FROM payment_journal_attempts \
             WHERE id = $1 AND version = $2 AND {} FOR UPDATE), \
             ev AS (INSERT INTO payment_journal_events (attempt_id, idempotency_key, from_state, to_state, version, \
             at_ms, detail) SELECT id, idempotency_key, state, $3, version + 1, $8, $14 FROM cur), \
             fol AS (UPDATE payment_journal_payments p SET state = CASE WHEN NOT EXISTS (SELECT 1 FROM \
             payment_journal_attempts x WHERE x.idempotency_key = cur.idempotency_key AND x.seq > cur.seq) \
             THEN $3 ELSE p.state END, charge_id = COALESCE($5, cur.charge_id, p.charge_id), updated_ms = $8 \
             FROM cur WHERE p.idempotency_key = cur.idempotency_key) \
             UPDATE payment_journal_attempts a SET {} FROM cur WHERE a.id = cur.id RETURNING {}",
            state_is_one_of!(),
            new_attempt_columns!("a."),
            returned_columns!("a.")
        )
    }

    /// One new payment's prepare; the same parameters as SQLite's.
    pub(crate) fn prepares(copies: usize) -> &'static str {
        debug_assert_eq!(copies, 1, "PostgreSQL writes one at a time");
        PREPARE_NEW
    }

    const PREPARE_NEW: &str = "WITH p AS (INSERT INTO payment_journal_payments (idempotency_key, \
         operation, provider, state, charge_id, fingerprint, created_ms, updated_ms) \
         VALUES ($2, $5, $4, $6, $10, $21, $22, $22) ON CONFLICT (idempotency_key) DO NOTHING \
         RETURNING idempotency_key), \
         a AS (INSERT INTO payment_journal_attempts (id, idempotency_key, seq, provider, operation, state, version, \
         provider_key, request, charge_id, refund_id, outcome, created_ms, updated_ms, dispatched_ms, due_ms, \
         lease_owner, lease_until_ms, recover_tries, reference) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20 FROM p RETURNING id), \
         e AS (INSERT INTO payment_journal_events (attempt_id, idempotency_key, from_state, to_state, version, \
         at_ms, detail) SELECT $1, $2, $23, $24, $25, $26, $27 FROM a) \
         SELECT id FROM a";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_state_is_taken_only_from_the_states_that_may_become_it() {
        for to in ALL_STATES {
            let listed = states_before(to);
            for from in ALL_STATES {
                assert_eq!(listed.contains(&Some(from.as_str())), from == to || from.may_become(to), "{from} -> {to}");
            }
        }
        assert_eq!(states_before(AttemptState::Dispatched)[..3], [Some("prepared"), Some("dispatched"), None]);
        for sql in [sqlite::transitions(1), postgres::transitions(1)] {
            assert!(sql.contains("$24") && !sql.contains("$25"), "{sql}");
        }
    }

    #[test]
    fn copies_take_their_own_parameters() {
        assert_eq!(renumber("a = $1 AND b = $15 OR $", 30), "a = $31 AND b = $45 OR $");
        assert_eq!(repeated("x = $1; y = $2", 3, 2), "x = $1; y = $2; x = $3; y = $4; x = $5; y = $6");
        let four = sqlite::transitions(4);
        assert_eq!(four.matches("RETURNING").count(), 4);
        assert!(four.contains("$96") && !four.contains("$97"), "four copies of twenty-four parameters");
        let two = sqlite::prepares(2);
        assert!(two.contains("$54") && !two.contains("$55"));
        assert_eq!(sqlite::transitions(1).matches("RETURNING").count(), 1);
    }
}
