//! The SQL store, written once for SQLite and PostgreSQL: the same queries (runtime, `$N`
//! placeholders both accept), differing only in how a write transaction starts, how the
//! recovery claim locks, and the event id column.

/// Attempt columns, in the order `attempt_from_row` reads them.
pub(crate) const ATTEMPT_COLUMNS: &str = "id, idempotency_key, seq, provider, operation, state, version, provider_key, \
     request, charge_id, refund_id, outcome, created_ms, updated_ms, dispatched_ms, due_ms, lease_owner, \
     lease_until_ms, recover_tries";

pub(crate) const SELECT_PAYMENT: &str = "SELECT idempotency_key, operation, provider, state, charge_id, fingerprint, \
     created_ms, updated_ms FROM payment_journal_payments WHERE idempotency_key = $1";

pub(crate) const INSERT_PAYMENT: &str = "INSERT INTO payment_journal_payments (idempotency_key, operation, provider, \
     state, charge_id, fingerprint, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";

pub(crate) const INSERT_ATTEMPT: &str = "INSERT INTO payment_journal_attempts (id, idempotency_key, seq, provider, \
     operation, state, version, provider_key, request, charge_id, refund_id, outcome, created_ms, updated_ms, \
     dispatched_ms, due_ms, lease_owner, lease_until_ms, recover_tries, reference) VALUES ($1, $2, $3, $4, $5, $6, $7, \
     $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)";

pub(crate) const UPDATE_PAYMENT: &str = "UPDATE payment_journal_payments SET state = CASE WHEN $1 THEN $2 ELSE state END, \
     charge_id = COALESCE($3, charge_id), updated_ms = $4 WHERE idempotency_key = $5";

pub(crate) const INSERT_EVENT: &str = "INSERT INTO payment_journal_events (attempt_id, idempotency_key, from_state, \
     to_state, version, at_ms, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(crate) const SELECT_EVENTS: &str = "SELECT attempt_id, idempotency_key, from_state, to_state, version, at_ms, \
     detail FROM payment_journal_events WHERE idempotency_key = $1 ORDER BY id";

pub(crate) const NEXT_CLAIMABLE: &str = concat!(
    "SELECT MIN(CASE WHEN lease_until_ms IS NOT NULL AND lease_until_ms > due_ms \
     THEN lease_until_ms ELSE due_ms END) FROM payment_journal_attempts WHERE state IN ",
    crate::schema::unresolved_states_sql!()
);

/// Runs a store operation with no tracing subscriber: sqlx's SQLite worker takes a handle on the
/// span current at each call, and keeps some of them for as long as a pooled connection lives, so
/// a payment's spans (its operation's, its journal writes') would end only when that connection
/// closes. The store's own spans are made before this, under the caller's subscriber.
pub(crate) async fn quiet<T>(operation: impl std::future::Future<Output = T>) -> T {
    tracing::instrument::WithSubscriber::with_subscriber(operation, tracing::Dispatch::none()).await
}

/// Generates a store type over one sqlx backend. `$begin` opens a write transaction,
/// `$claim_lock` ends the claim's inner select (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
/// `$dialect` picks each migration's statements, and `$migration_lock` runs first in the
/// migration's transaction (PostgreSQL's advisory lock; SQLite's `BEGIN IMMEDIATE` suffices).
macro_rules! sql_store {
    ($store:ident, $db:ty, $pool:ty, $backend:literal, $begin:path, $claim_lock:literal, $dialect:ident, $migration_lock:expr, $clock_sql:expr) => {
        use async_trait::async_trait;
        use payment_core::Result;
        use sqlx::Row as _;

        use crate::record::{Attempt, Begin, JournalEvent, NewAttempt, Payment, Transition};
        use crate::sql::*;
        use crate::state::AttemptState;
        use crate::store::{self, CreatedPage, Decision, DueClaim, JournalStore, storage};
        use crate::sql_rows::{attempt_from_row, outcome_text, payment_from_columns, payment_from_row};

        /// A writer's turn (writers of this process take turns), holding the connection writes
        /// go on where the store keeps one. A kept connection that failed to begin is closed
        /// when the turn ends (closing rolls back whatever it held open), so it keeps no lock on
        /// the database while this process is quiet.
        struct WriteTurn<'s> {
            guard: Option<tokio::sync::MutexGuard<'s, Option<<$db as sqlx::Database>::Connection>>>,
            failed: &'s std::sync::atomic::AtomicBool,
        }

        impl Drop for WriteTurn<'_> {
            fn drop(&mut self) {
                if self.failed.swap(false, std::sync::atomic::Ordering::SeqCst)
                    && let Some(kept) = self.guard.as_mut()
                {
                    **kept = None;
                }
            }
        }

        fn is_unique_violation(e: &sqlx::Error) -> bool {
            matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
        }

        async fn load_payment(conn: &mut <$db as sqlx::Database>::Connection, key: &str) -> Result<Option<Payment>> {
            let Some(row) = sqlx::query(SELECT_PAYMENT)
                .bind(key)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|e| storage("read a payment", e))?
            else {
                return Ok(None);
            };
            let sql = sqlx::AssertSqlSafe(format!(
                "SELECT {ATTEMPT_COLUMNS} FROM payment_journal_attempts WHERE idempotency_key = $1 ORDER BY seq"
            ));
            let attempts = sqlx::query(sql)
                .bind(key)
                .fetch_all(&mut *conn)
                .await
                .map_err(|e| storage("read attempts", e))?
                .iter()
                .map(attempt_from_row)
                .collect::<Result<Vec<_>>>()?;
            payment_from_row(&row, attempts).map(Some)
        }

        async fn insert_event(
            conn: &mut <$db as sqlx::Database>::Connection,
            e: &JournalEvent,
        ) -> Result<()> {
            sqlx::query(INSERT_EVENT)
                .bind(&e.attempt_id)
                .bind(&e.idempotency_key)
                .bind(e.from_state.map(|s| s.as_str()))
                .bind(e.to_state.as_str())
                .bind(e.version)
                .bind(e.at_ms)
                .bind(&e.detail)
                .execute(&mut *conn)
                .await
                .map_err(|e| storage("append an event", e))?;
            Ok(())
        }

        /// A journal store on this database.
        #[derive(Debug, Clone)]
        pub struct $store {
            pool: $pool,
            // Where write transactions' connections come from: on SQLite opened by path, a pool
            // of one connection of their own; otherwise the pool itself.
            writes: $pool,
            // What opens a write transaction: the backend's BEGIN, and on an application's pool
            // the durability settings first (its connections' own settings are the app's).
            begin_sql: &'static str,
            // Writers of this process take turns here instead of in the database's busy loop
            // (SQLite: one writer at a time; other processes still wait in `busy_timeout`).
            // With `keep_writer`, the turn holds the connection writes go on, taken from `writes`
            // once and kept (detached, so dropping the store needs no runtime): a pooled
            // connection goes back through a ping and a spawned task, a millisecond between one
            // batch's commit and the next one's BEGIN on two busy cores.
            writer: Option<std::sync::Arc<tokio::sync::Mutex<Option<<$db as sqlx::Database>::Connection>>>>,
            // Whether writes keep their connection (not on an application's pool, whose
            // connections are the application's to share).
            keep_writer: bool,
            // The kept connection failed to begin a transaction: the next turn takes a new one.
            writer_failed: std::sync::Arc<std::sync::atomic::AtomicBool>,
            // The database's clock, where the fleet sharing it needs one (see `StoreClock`).
            clock: std::sync::Arc<crate::clock::StoreClock>,
            // Group commit: writes queued while a commit runs go in the next one together.
            batch: std::sync::Arc<crate::batch::Batcher<Write, Written>>,
            // Batch commits still to fail (tests only: `fail_next_commits`).
            fail_commits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        }

        impl $store {
            /// The pool it uses.
            pub fn pool(&self) -> &$pool {
                &self.pool
            }

            /// The clock its leases are written and compared in.
            pub fn clock(&self) -> &crate::clock::StoreClock {
                &self.clock
            }

            /// Reads the database's clock (a store whose users share one host keeps the wall clock).
            /// Only the query is timed, on a connection already taken: a wait for the pool would
            /// skew the reading.
            pub async fn read_clock(&self) -> Result<()> {
                let sql: Option<&'static str> = $clock_sql;
                let Some(sql) = sql else {
                    return Ok(());
                };
                let mut conn = self.pool.acquire().await.map_err(|e| storage("read the database's clock", e))?;
                let sent = std::time::Instant::now();
                let db_ms: i64 = sqlx::query_scalar(sql)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(|e| storage("read the database's clock", e))?;
                self.clock.anchor(db_ms, sent, std::time::Instant::now());
                Ok(())
            }



            /// Applies the journal's migrations that this database lacks (recorded in
            /// `payment_journal_migrations`, beside whatever else the database holds).
            pub async fn migrate(&self) -> Result<()> {
                let fail = |e: sqlx::Error| storage("migrate", e);
                let mut turn = self.write_turn().await;
                let mut tx = self.begin_write(&mut turn).await.map_err(fail)?;
                let lock: &[&'static str] = $migration_lock;
                for statement in lock {
                    sqlx::query(*statement).execute(&mut *tx).await.map_err(fail)?;
                }
                sqlx::query(crate::schema::MIGRATIONS_TABLE).execute(&mut *tx).await.map_err(fail)?;
                let applied: Option<i64> = sqlx::query("SELECT MAX(version) FROM payment_journal_migrations")
                    .fetch_one(&mut *tx)
                    .await
                    .and_then(|r| r.try_get(0))
                    .map_err(fail)?;
                for m in crate::schema::MIGRATIONS.iter().filter(|m| Some(m.version) > applied) {
                    for statement in m.$dialect {
                        sqlx::query(*statement).execute(&mut *tx).await.map_err(fail)?;
                    }
                    sqlx::query("INSERT INTO payment_journal_migrations (version, applied_ms) VALUES ($1, $2)")
                        .bind(m.version)
                        .bind(crate::now_ms())
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                }
                tx.commit().await.map_err(fail)
            }

            async fn write_turn(&self) -> WriteTurn<'_> {
                let guard = match &self.writer {
                    Some(m) => Some(m.lock().await),
                    None => None,
                };
                WriteTurn { guard, failed: &self.writer_failed }
            }

            /// Opens a write transaction in `turn`: on the connection the store keeps for writes
            /// when it keeps one (taken from the pool the first time, and again after one failed
            /// to begin), else on a connection from the pool.
            async fn begin_write<'t>(&self, turn: &'t mut WriteTurn<'_>) -> std::result::Result<sqlx::Transaction<'t, $db>, sqlx::Error> {
                use sqlx::Connection as _;
                if let (true, Some(kept)) = (self.keep_writer, turn.guard.as_mut()) {
                    if self.writer_failed.swap(false, std::sync::atomic::Ordering::SeqCst) {
                        **kept = None;
                    }
                    if kept.is_none() {
                        **kept = Some(self.writes.acquire().await?.detach());
                    }
                    if let Some(conn) = kept.as_mut() {
                        let begun = conn.begin_with(sqlx::AssertSqlSafe(self.begin_sql)).await;
                        if begun.is_err() {
                            self.writer_failed.store(true, std::sync::atomic::Ordering::SeqCst);
                        }
                        return begun;
                    }
                }
                $begin(&self.writes, self.begin_sql).await
            }

            /// Writes `write` through the group commit: queued, then committed in the next batch
            /// (led by this caller when nobody is committing); answers only once that batch's
            /// transaction has committed or failed.
            async fn write(&self, write: Write) -> Option<Written> {
                let (ticket, mut answer) = self.batch.enqueue(write);
                loop {
                    // The answer comes after its batch's commit, so waiting on it directly is
                    // safe; meanwhile a free lane makes this caller the next leader.
                    let turn = tokio::select! {
                        biased;
                        written = &mut answer => return written.ok(),
                        turn = self.batch.turn() => turn?,
                    };
                    let batch = self.batch.take().await;
                    if batch.is_empty() {
                        // Taken by another lane's batch, still committing: its answer will come,
                        // and this lane is free for others meanwhile.
                        drop(turn);
                        return answer.await.ok();
                    }
                    if batch.len() == 1 && batch[0].ticket == ticket {
                        // Alone with its own write: committed here, as without batching (a
                        // caller giving up drops its own transaction, and no one else's).
                        self.commit_batch(batch).await;
                        drop(turn);
                        continue;
                    }
                    // Spawned, holding the lane until it is done: a leader whose caller gives
                    // up never leaves a batch half done, nor more batches running than lanes.
                    // While writes keep arriving it commits them too, so the next batch starts
                    // as this one ends instead of when a waiting caller is next polled; this
                    // caller goes back to waiting for its own answer meanwhile.
                    let store = self.clone();
                    drop(tokio::spawn(async move {
                        let _turn = turn;
                        store.commit_batch(batch).await;
                        loop {
                            let next = store.batch.take().await;
                            if next.is_empty() {
                                break;
                            }
                            store.commit_batch(next).await;
                        }
                    }));
                }
            }

            /// One transaction for the whole batch. When every write in it succeeds it is
            /// committed, and every caller hears its result after the commit (if the commit
            /// fails, none hears success). When any write is refused or fails, the batch is rolled
            /// back and each write is done again in a transaction of its own, exactly as without
            /// batching, so one refusal never touches the others and no write is half kept.
            async fn commit_batch(&self, batch: Vec<crate::batch::Queued<Write, Written>>) {
                let mut turn = self.write_turn().await;
                if batch.len() > 1 {
                    let mut tx = match self.begin_write(&mut turn).await {
                        Ok(tx) => tx,
                        Err(e) => {
                            let why = e.to_string();
                            for q in batch {
                                let _ = q.reply.send(q.write.refused(&why));
                            }
                            return;
                        }
                    };
                    // In queue order: runs of one kind go as one query each. (Sorting by kind
                    // would be a legal order too, but it changes which of two racing calls on
                    // one key starts the next attempt; it bought nothing measurable.)
                    let writes: Vec<&Write> = batch.iter().map(|q| &q.write).collect();
                    let results = apply_in_order(&mut tx, &writes).await;
                    // A clean refusal wrote nothing: it is answered, and the batch goes on.
                    if results.len() == batch.len() && results.iter().all(|w| w.ok() || w.clean_refusal()) {
                        let committed = self.commit(tx, batch.len()).await;
                        for (q, written) in batch.into_iter().zip(results) {
                            let written = match &committed {
                                Ok(()) => written,
                                Err(why) => written.uncommitted(why),
                            };
                            let _ = q.reply.send(written);
                        }
                        return;
                    }
                    let _ = tx.rollback().await;
                }
                for q in batch {
                    let written = self.apply_alone(&mut turn, &q.write).await;
                    let _ = q.reply.send(written);
                }
            }

            /// One write in a transaction of its own: committed when it succeeds, rolled back
            /// whole when it is refused or fails part way.
            async fn apply_alone(&self, turn: &mut WriteTurn<'_>, write: &Write) -> Written {
                let mut tries = 0;
                let (tx, written) = loop {
                    tries += 1;
                    let mut tx = match self.begin_write(turn).await {
                        Ok(tx) => tx,
                        Err(e) => return write.refused(&e.to_string()),
                    };
                    let written = write.apply(&mut tx).await;
                    if written.ok() {
                        break (tx, written);
                    }
                    let _ = tx.rollback().await;
                    // Another lane's (or process's) transaction held what this one needed, in
                    // the other order: the database gave this one up, and it is done again.
                    if !(written.lost_a_race() && tries < 4) {
                        return written;
                    }
                };
                match self.commit(tx, 1).await {
                    Ok(()) => written,
                    Err(why) => written.uncommitted(&why),
                }
            }

            /// Commits a transaction of `writes` writes (or fails it, when a test asked).
            async fn commit(&self, tx: sqlx::Transaction<'_, $db>, writes: usize) -> std::result::Result<(), String> {
                self.batch.count(writes);
                if self.fail_commits.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                    self.fail_commits.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = tx.rollback().await;
                    return Err("the commit failed (injected)".to_owned());
                }
                let started = std::time::Instant::now();
                let committed = tx.commit().await.map_err(|e| e.to_string());
                payment_core::telemetry::journal_commit($backend, writes, started.elapsed());
                committed
            }

            /// Commits and writes through the group commit so far.
            pub fn commit_stats(&self) -> crate::batch::CommitStats {
                self.batch.stats()
            }

            /// Makes the next `n` batch commits fail (rolled back), for tests of what every
            /// caller of a failed batch hears.
            #[doc(hidden)]
            pub fn fail_next_commits(&self, n: usize) {
                self.fail_commits.store(n, std::sync::atomic::Ordering::SeqCst);
            }
        }


        crate::sql_writes::sql_writes!($db, $dialect);

        #[async_trait]
        impl JournalStore for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn now_ms(&self) -> i64 {
                self.clock.now_ms()
            }

            async fn refresh_clock(&self, always: bool) -> Result<()> {
                crate::sql::quiet(async move {
                    if always || self.clock.is_stale() { self.read_clock().await } else { Ok(()) }
                })
                .await
            }

            fn as_any(&self) -> &dyn std::any::Any {
                self
            }

            async fn prepare(&self, new: NewAttempt) -> Result<Begin> {
                let span = store::write_span($backend, AttemptState::Prepared);
                let quiet = crate::sql::quiet(async move {
                    let key = new.idempotency_key.clone();
                    let written = self.write(Write::Prepare(new)).await;
                    let Some(Written::Prepared(written)) = written else {
                        return Err(storage("prepare an attempt", "its batch was abandoned before it answered"));
                    };
                    match written {
                        Ok(result) => result,
                        // Another writer inserted the same key (or its in-flight attempt) first.
                        Err(e) if is_unique_violation(&e) => match self.payment(&key).await? {
                            Some(p) => Ok(Begin::Existing(p)),
                            None => Err(storage("prepare an attempt", e)),
                        },
                        Err(e) => Err(storage("prepare an attempt", e)),
                    }
                });
                tracing::Instrument::instrument(quiet, span).await
            }

            async fn transition(&self, t: Transition) -> Result<Attempt> {
                let span = store::write_span($backend, t.to);
                let quiet = crate::sql::quiet(async move {
                    match self.write(Write::Transition(t)).await {
                        Some(Written::Transitioned(written)) => (*written).map_err(|e| storage("record a transition", e))?,
                        _ => Err(storage("record a transition", "its batch was abandoned before it answered")),
                    }
                });
                tracing::Instrument::instrument(quiet, span).await
            }

            fn commit_stats(&self) -> Option<crate::batch::CommitStats> {
                Some(self.batch.stats())
            }

            async fn claim_due(&self, claim: DueClaim<'_>) -> Result<Vec<Attempt>> {
                crate::sql::quiet(async move {
                    let DueClaim { now_ms, owner, lease_until_ms, limit, filter } = claim;
                    let sql = sqlx::AssertSqlSafe(format!(
                        "UPDATE payment_journal_attempts SET version = version + 1, lease_owner = $1, lease_until_ms = $2, \
                         updated_ms = $3 WHERE id IN (SELECT id FROM payment_journal_attempts \
                         WHERE state IN {} AND due_ms <= $3 \
                         AND (lease_until_ms IS NULL OR lease_until_ms <= $3) AND ($4 IS NULL OR idempotency_key = $4) \
                         AND ($6 IS NULL OR provider = $6) ORDER BY due_ms LIMIT $5 {}) RETURNING {ATTEMPT_COLUMNS}",
                        crate::schema::unresolved_states_sql!(),
                        $claim_lock
                    ));
                    let mut turn = self.write_turn().await;
                    let mut tx = self.begin_write(&mut turn).await.map_err(|e| storage("claim due attempts", e))?;
                    let rows = sqlx::query(sql)
                        .bind(owner)
                        .bind(lease_until_ms)
                        .bind(now_ms)
                        .bind(filter.key.as_deref())
                        .bind(i64::from(limit))
                        .bind(filter.account.as_deref())
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(|e| storage("claim due attempts", e))?;
                    let claimed = rows.iter().map(attempt_from_row).collect::<Result<Vec<_>>>()?;
                    tx.commit().await.map_err(|e| storage("claim due attempts", e))?;
                    Ok(claimed)
                })
                .await
            }

            async fn payment(&self, key: &str) -> Result<Option<Payment>> {
                crate::sql::quiet(async move {
                    let mut conn = self.pool.acquire().await.map_err(|e| storage("read a payment", e))?;
                    load_payment(&mut conn, key).await
                })
                .await
            }

            async fn payments(&self, state: Option<AttemptState>) -> Result<Vec<Payment>> {
                crate::sql::quiet(async move {
                    // One statement, so payments and their attempts come from one snapshot: two reads
                    // could list a payment whose attempts a writer changed in between.
                    let state = state.map(|s| s.as_str());
                    let payment_columns = ["idempotency_key", "operation", "provider", "state", "charge_id", "fingerprint", "created_ms", "updated_ms"]
                        .iter()
                        .map(|c| format!("p.{c} AS p_{c}"))
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {payment_columns}, {} FROM payment_journal_payments p JOIN payment_journal_attempts a \
                         ON a.idempotency_key = p.idempotency_key WHERE ($1 IS NULL OR p.state = $1) \
                         ORDER BY p.created_ms, p.idempotency_key, a.seq",
                        ATTEMPT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
                    ));
                    let rows = sqlx::query(sql).bind(state).fetch_all(&self.pool).await.map_err(|e| storage("list payments", e))?;
                    let mut payments: Vec<Payment> = Vec::new();
                    for row in &rows {
                        let attempt = attempt_from_row(row)?;
                        match payments.last_mut() {
                            Some(p) if p.idempotency_key == attempt.idempotency_key => p.attempts.push(attempt),
                            _ => payments.push(payment_from_columns(row, "p_", vec![attempt])?),
                        }
                    }
                    Ok(payments)
                })
                .await
            }

            async fn events(&self, key: &str) -> Result<Vec<JournalEvent>> {
                crate::sql::quiet(async move {
                    let rows = sqlx::query(SELECT_EVENTS)
                        .bind(key)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| storage("read events", e))?;
                    rows.iter()
                        .map(|row| {
                            let state = |c: &str| -> Result<Option<AttemptState>> {
                                let s: Option<String> = row.try_get(c).map_err(|e| storage("read an event", e))?;
                                s.map(|s| s.parse().map_err(|e: String| storage("read an event", e))).transpose()
                            };
                            Ok(JournalEvent {
                                attempt_id: row.try_get("attempt_id").map_err(|e| storage("read an event", e))?,
                                idempotency_key: row.try_get("idempotency_key").map_err(|e| storage("read an event", e))?,
                                from_state: state("from_state")?,
                                to_state: state("to_state")?.ok_or_else(|| storage("read an event", "no state"))?,
                                version: row.try_get("version").map_err(|e| storage("read an event", e))?,
                                at_ms: row.try_get("at_ms").map_err(|e| storage("read an event", e))?,
                                detail: row.try_get("detail").map_err(|e| storage("read an event", e))?,
                            })
                        })
                        .collect()
                })
                .await
            }

            async fn attempts_for(
                &self,
                account: &str,
                charge_id: Option<&str>,
                reference: Option<&str>,
            ) -> Result<Vec<Attempt>> {
                crate::sql::quiet(async move {
                    // Three indexed lookups, not one OR: an OR over three columns scans every attempt
                    // of the account, and webhooks and reconciliation ask this once per object.
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {ATTEMPT_COLUMNS} FROM payment_journal_attempts WHERE provider = $1 AND charge_id = $2 \
                         UNION SELECT {ATTEMPT_COLUMNS} FROM payment_journal_attempts WHERE provider = $1 AND reference = $3 \
                         UNION SELECT {ATTEMPT_COLUMNS} FROM payment_journal_attempts WHERE provider = $1 AND provider_key = $3"
                    ));
                    let rows = sqlx::query(sql)
                        .bind(account)
                        .bind(charge_id)
                        .bind(reference)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| storage("find attempts", e))?;
                    rows.iter().map(attempt_from_row).collect()
                })
                .await
            }

            async fn claim_delivery(
                &self,
                provider: &str,
                event_id: &str,
                now_ms: i64,
                lease_until_ms: i64,
            ) -> Result<payment_core::DeliveryClaim> {
                crate::sql::quiet(async move {
                    use payment_core::DeliveryClaim;
                    let mut turn = self.write_turn().await;
                    // In a transaction of the store's own opening, so its durability holds on an
                    // application's pool too.
                    let mut tx = self.begin_write(&mut turn).await.map_err(|e| storage("record a webhook delivery", e))?;
                    // New, or in progress past its lease: this delivery's, in one statement.
                    let taken = sqlx::query(
                        "INSERT INTO payment_journal_inbox (provider, event_id, received_ms, lease_until_ms) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (provider, event_id) DO UPDATE \
                         SET lease_until_ms = excluded.lease_until_ms \
                         WHERE payment_journal_inbox.lease_until_ms IS NOT NULL \
                         AND payment_journal_inbox.lease_until_ms <= $3",
                    )
                    .bind(provider)
                    .bind(event_id)
                    .bind(now_ms)
                    .bind(lease_until_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| storage("record a webhook delivery", e))?;
                    if taken.rows_affected() == 1 {
                        tx.commit().await.map_err(|e| storage("record a webhook delivery", e))?;
                        return Ok(DeliveryClaim::New(crate::memory::lease_token(lease_until_ms)));
                    }
                    let lease: Option<Option<i64>> = sqlx::query_scalar(
                        "SELECT lease_until_ms FROM payment_journal_inbox WHERE provider = $1 AND event_id = $2",
                    )
                    .bind(provider)
                    .bind(event_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| storage("read a webhook delivery", e))?;
                    tx.commit().await.map_err(|e| storage("read a webhook delivery", e))?;
                    // Forgotten meanwhile (its handling failed): the provider delivers it again.
                    Ok(match lease {
                        Some(None) => DeliveryClaim::Done,
                        Some(Some(_)) | None => DeliveryClaim::InProgress,
                    })
                })
                .await
            }

            async fn finish_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()> {
                crate::sql::quiet(async move {
                    let mut turn = self.write_turn().await;
                    let fail = |e: sqlx::Error| storage("mark a webhook delivery handled", e);
                    let mut tx = self.begin_write(&mut turn).await.map_err(fail)?;
                    sqlx::query(
                        "UPDATE payment_journal_inbox SET lease_until_ms = NULL \
                         WHERE provider = $1 AND event_id = $2 AND lease_until_ms = $3",
                    )
                    .bind(provider)
                    .bind(event_id)
                    .bind(lease_until_ms)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
                    tx.commit().await.map_err(fail)
                })
                .await
            }

            async fn forget_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()> {
                crate::sql::quiet(async move {
                    let mut turn = self.write_turn().await;
                    let fail = |e: sqlx::Error| storage("forget a webhook delivery", e);
                    let mut tx = self.begin_write(&mut turn).await.map_err(fail)?;
                    sqlx::query(
                        "DELETE FROM payment_journal_inbox WHERE provider = $1 AND event_id = $2 AND lease_until_ms = $3",
                    )
                        .bind(provider)
                        .bind(event_id)
                        .bind(lease_until_ms)
                        .execute(&mut *tx)
                        .await
                        .map_err(fail)?;
                    tx.commit().await.map_err(fail)
                })
                .await
            }

            async fn charge_attempts_created(&self, page: CreatedPage<'_>) -> Result<Vec<Attempt>> {
                crate::sql::quiet(async move {
                    let sql = sqlx::AssertSqlSafe(format!(
                        "SELECT {ATTEMPT_COLUMNS} FROM payment_journal_attempts WHERE provider = $1 \
                         AND operation = 'create_charge' AND created_ms >= $2 AND created_ms < $3 \
                         AND (created_ms > $4 OR (created_ms = $4 AND id > $5)) \
                         ORDER BY created_ms, id LIMIT $6"
                    ));
                    let (after_ms, after_id) = page.after.map_or((i64::MIN, ""), |(ms, id)| (ms, id));
                    let rows = sqlx::query(sql)
                        .bind(page.account)
                        .bind(page.from_ms)
                        .bind(page.to_ms)
                        .bind(after_ms)
                        .bind(after_id)
                        .bind(i64::from(page.limit))
                        .fetch_all(&self.pool)
                        .await
                        .map_err(|e| storage("list charge attempts", e))?;
                    rows.iter().map(attempt_from_row).collect()
                })
                .await
            }

            async fn next_claimable_ms(&self) -> Result<Option<i64>> {
                crate::sql::quiet(async move {
                    let row = sqlx::query(NEXT_CLAIMABLE)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(|e| storage("read the next due attempt", e))?;
                    row.try_get::<Option<i64>, _>(0).map_err(|e| storage("read the next due attempt", e))
                })
                .await
            }
        }
    };
}

pub(crate) use sql_store;
