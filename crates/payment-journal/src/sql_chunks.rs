//! A batch's writes sent to the database in as few queries as keep their meaning: each write is
//! one query of its own (see `sql_one_trip`), and on SQLite a run of writes of one kind goes as
//! one query of several copies, run in order on the connection's thread. Every query is a wake of
//! that thread and of the task waiting on it; on two shared cores those wakes, not the rows, were
//! what a journaled charge spent most of its time on.
//!
//! Generated into each store's module by `sql_chunks!` (database type, dialect module).

/// Generates `apply_in_order` and the chunked prepares and transitions over one sqlx backend.
macro_rules! sql_chunks {
    ($db:ty, $dialect:ident) => {
        type BoundQuery<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>;

        /// Most writes of one kind in one query: SQLite runs several statements per query,
        /// PostgreSQL one.
        const MOST_PER_QUERY: usize = crate::sql_one_trip::$dialect::MOST_PER_QUERY;

        /// Applies `writes` in order, inside the caller's transaction, and answers each as the
        /// writes one by one would. It stops after the first write that failed other than by
        /// a clean refusal (its answer is the last one returned): the caller rolls back.
        async fn apply_in_order(conn: &mut <$db as sqlx::Database>::Connection, writes: &[&Write]) -> Vec<Written> {
            let mut answers = Vec::with_capacity(writes.len());
            let mut rest = writes;
            while let Some(first) = rest.first() {
                // A run of one kind, with no attempt twice (a second write to one attempt
                // follows the first's answer, never rides in the same query).
                let mut seen = std::collections::HashSet::new();
                let run = rest
                    .iter()
                    .take(MOST_PER_QUERY)
                    .take_while(|w| match (first, w) {
                        (Write::Prepare(_), Write::Prepare(n)) => seen.insert(n.idempotency_key.as_str()),
                        (Write::Transition(_), Write::Transition(t)) => seen.insert(t.attempt_id.as_str()),
                        _ => false,
                    })
                    .count()
                    .max(1);
                let size = crate::sql_one_trip::CHUNKS.iter().copied().find(|n| *n <= run).unwrap_or(1);
                let (chunk, later) = rest.split_at(size);
                rest = later;
                let done = match first {
                    Write::Prepare(_) => {
                        let news: Vec<&NewAttempt> = chunk
                            .iter()
                            .filter_map(|w| match w {
                                Write::Prepare(n) => Some(n),
                                Write::Transition(_) => None,
                            })
                            .collect();
                        prepare_chunk(&mut *conn, &news).await.into_iter().map(Written::Prepared).collect::<Vec<_>>()
                    }
                    Write::Transition(_) => {
                        let ts: Vec<&Transition> = chunk
                            .iter()
                            .filter_map(|w| match w {
                                Write::Transition(t) => Some(t),
                                Write::Prepare(_) => None,
                            })
                            .collect();
                        transition_chunk(&mut *conn, &ts)
                            .await
                            .into_iter()
                            .map(|r| Written::Transitioned(Box::new(r)))
                            .collect::<Vec<_>>()
                    }
                };
                let answered = done.len();
                for written in done {
                    let fine = written.ok() || written.clean_refusal();
                    answers.push(written);
                    if !fine {
                        return answers;
                    }
                }
                if answered < size {
                    // A chunk that stopped short always ends on a failure; were it ever not so,
                    // the caller sees too few answers and writes the batch one by one.
                    return answers;
                }
            }
            answers
        }

        /// A new payment's first attempt, encoded for the database.
        struct NewPayment<'a> {
            new: &'a NewAttempt,
            attempt: Attempt,
            event: JournalEvent,
            request: String,
        }

        fn new_payment(new: &NewAttempt) -> Result<NewPayment<'_>> {
            let request = serde_json::to_string(&new.request).map_err(|e| storage("encode a request", e))?;
            let Decision::Insert { seq, provider_key, .. } = store::decide(None, new)? else {
                return Err(storage("prepare an attempt", "a first attempt was decided to be an existing one"));
            };
            let attempt = new.prepared(seq, provider_key);
            let event = attempt.prepared_event();
            Ok(NewPayment { new, attempt, event, request })
        }

        fn bind_new_payment<'q>(q: BoundQuery<'q>, p: &'q NewPayment<'_>) -> BoundQuery<'q> {
            let a = &p.attempt;
            q.bind(&a.id)
                .bind(&a.idempotency_key)
                .bind(a.seq)
                .bind(&a.account)
                .bind(a.operation.as_str())
                .bind(a.state.as_str())
                .bind(a.version)
                .bind(&a.provider_key)
                .bind(&p.request)
                .bind(&a.charge_id)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(a.created_ms)
                .bind(a.updated_ms)
                .bind(None::<i64>)
                .bind(a.due_ms)
                .bind(&a.lease_owner)
                .bind(a.lease_until_ms)
                .bind(0_i64)
                .bind(a.request.reference())
                .bind(p.new.request.fingerprint())
                .bind(p.new.now_ms)
                .bind(p.event.from_state.map(|s| s.as_str()))
                .bind(p.event.to_state.as_str())
                .bind(p.event.version)
                .bind(p.event.at_ms)
                .bind(&p.event.detail)
        }

        /// Prepares in one query: each key no payment has gets its payment and first attempt;
        /// then, in order, each whose key a payment has is read and decided on by itself.
        async fn prepare_chunk(
            conn: &mut <$db as sqlx::Database>::Connection,
            news: &[&NewAttempt],
        ) -> Vec<std::result::Result<Result<Begin>, sqlx::Error>> {
            // A write that cannot be encoded stops the chunk before anything is sent: its error
            // is the chunk's one answer, so the batch is redone write by write, where each
            // write hears its own.
            let encoded = match news.iter().map(|n| new_payment(n)).collect::<Result<Vec<_>>>() {
                Ok(encoded) => encoded,
                Err(e) => return vec![Ok(Err(e))],
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(crate::sql_one_trip::$dialect::prepares(encoded.len())));
            for p in &encoded {
                query = bind_new_payment(query, p);
            }
            let made: std::collections::HashSet<String> = match query.fetch_all(&mut *conn).await {
                Ok(rows) => match rows.iter().map(|r| r.try_get::<String, _>(0)).collect() {
                    Ok(ids) => ids,
                    Err(e) => return vec![Err(e)],
                },
                Err(e) => return vec![Err(e)],
            };
            let mut answers = Vec::with_capacity(encoded.len());
            for p in encoded {
                if made.contains(&p.attempt.id) {
                    answers.push(Ok(Ok(Begin::Started(Box::new(p.attempt)))));
                } else {
                    let answer = prepare_existing(&mut *conn, p.new).await;
                    let stop = answer.is_err();
                    answers.push(answer);
                    if stop {
                        break;
                    }
                }
            }
            answers
        }

        /// A transition, encoded for the database.
        struct EncodedTransition<'a> {
            t: &'a Transition,
            request: Option<String>,
            outcome: Option<String>,
        }

        fn encode_transition(t: &Transition) -> Result<EncodedTransition<'_>> {
            let request = t
                .request
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| storage("encode a request", e))?;
            Ok(EncodedTransition { t, request, outcome: outcome_text(&t.outcome)? })
        }

        fn bind_transition<'q>(q: BoundQuery<'q>, e: &'q EncodedTransition<'_>) -> BoundQuery<'q> {
            let t = e.t;
            let q = q
                .bind(&t.attempt_id)
                .bind(t.expected_version)
                .bind(t.to.as_str())
                .bind(&e.request)
                .bind(&t.charge_id)
                .bind(&t.refund_id)
                .bind(&e.outcome)
                .bind(t.now_ms)
                .bind(t.due_ms)
                .bind(&t.lease_owner)
                .bind(t.lease_until_ms)
                .bind(i64::from(t.recovery_try))
                .bind(t.request.as_ref().and_then(|r| r.reference()))
                .bind(&t.detail);
            crate::sql_one_trip::states_before(t.to).into_iter().fold(q, |q, state| q.bind(state))
        }

        /// Transitions (each to a different attempt) in one query; each refused one (nothing of
        /// it written) answers why, read after.
        async fn transition_chunk(
            conn: &mut <$db as sqlx::Database>::Connection,
            ts: &[&Transition],
        ) -> Vec<std::result::Result<Result<Attempt>, sqlx::Error>> {
            // As for prepares: an encoding error is the chunk's one answer, nothing sent.
            let encoded = match ts.iter().map(|t| encode_transition(t)).collect::<Result<Vec<_>>>() {
                Ok(encoded) => encoded,
                Err(e) => return vec![Ok(Err(e))],
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(crate::sql_one_trip::$dialect::transitions(encoded.len())));
            for e in &encoded {
                query = bind_transition(query, e);
            }
            let rows = match query.fetch_all(&mut *conn).await {
                Ok(rows) => rows,
                // The one-success index refused a second succeeded charge attempt: which write
                // did is known only when it was alone (a batch is then written one by one).
                Err(e) if is_unique_violation(&e) && ts.len() == 1 && ts[0].to == AttemptState::Succeeded => {
                    return vec![Ok(Err(store::second_success_of_attempt(&ts[0].attempt_id)))];
                }
                Err(e) => return vec![Err(e)],
            };
            let mut written = std::collections::HashMap::new();
            for row in &rows {
                match row.try_get::<String, _>("id") {
                    Ok(id) => {
                        written.insert(id, row);
                    }
                    Err(e) => return vec![Err(e)],
                }
            }
            let mut answers = Vec::with_capacity(ts.len());
            for t in ts {
                let answer = match written.get(&t.attempt_id) {
                    Some(row) => written_attempt(&mut *conn, row).await,
                    None => refused_transition(&mut *conn, t).await,
                };
                let stop = answer.is_err();
                answers.push(answer);
                if stop {
                    break;
                }
            }
            answers
        }

        /// The attempt as a transition wrote it. Rows journaled before the reference column had
        /// none: a transition fills it in from the request, as every write once did.
        async fn written_attempt(
            conn: &mut <$db as sqlx::Database>::Connection,
            row: &<$db as sqlx::Database>::Row,
        ) -> std::result::Result<Result<Attempt>, sqlx::Error> {
            let next = match attempt_from_row(row) {
                Ok(a) => a,
                Err(e) => return Ok(Err(e)),
            };
            let stored: Option<String> = row.try_get("reference")?;
            if stored.as_deref() != next.request.reference() {
                sqlx::query("UPDATE payment_journal_attempts SET reference = $1 WHERE id = $2")
                    .bind(next.request.reference())
                    .bind(&next.id)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(Ok(next))
        }

        /// Why a transition matched nothing (it wrote nothing): the attempt as it is now.
        async fn refused_transition(
            conn: &mut <$db as sqlx::Database>::Connection,
            t: &Transition,
        ) -> std::result::Result<Result<Attempt>, sqlx::Error> {
            let sql =
                sqlx::AssertSqlSafe(format!("SELECT {ATTEMPT_COLUMNS} FROM payment_journal_attempts WHERE id = $1"));
            let Some(row) = sqlx::query(sql).bind(&t.attempt_id).fetch_optional(&mut *conn).await? else {
                return Ok(Err(store::fenced(&t.attempt_id, t.expected_version)));
            };
            Ok(attempt_from_row(&row).and_then(|current| {
                store::check_transition(&current, t)
                    .and_then(|()| Err(storage("record a transition", "the attempt matched no write")))
            }))
        }
    };
}

pub(crate) use sql_chunks;
