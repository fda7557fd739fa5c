//! The SQL store's writes, for the group commit: a prepare and a transition applied on the
//! batch's connection (each caller's write inside the batch's one transaction), and what each
//! caller hears. Generated into each store's module by `sql_writes!` (the database type).

/// Generates `Write`, `Written` and the statement-by-statement prepare over one sqlx backend.
macro_rules! sql_writes {
    ($db:ty, $dialect:ident) => {
        /// A write the group commit carries.
        enum Write {
            Prepare(NewAttempt),
            Transition(Transition),
        }

        /// Its result: the store's own answer, or the database's error.
        enum Written {
            Prepared(std::result::Result<Result<Begin>, sqlx::Error>),
            // Boxed: an attempt is large, and most batches carry transitions and prepares mixed.
            Transitioned(Box<std::result::Result<Result<Attempt>, sqlx::Error>>),
        }

        impl Write {
            async fn apply(&self, conn: &mut <$db as sqlx::Database>::Connection) -> Written {
                apply_in_order(conn, &[self]).await.pop().unwrap_or_else(|| self.refused("the write was not applied"))
            }

            /// The answer to a write the database never took.
            fn refused(&self, why: &str) -> Written {
                match self {
                    Write::Prepare(_) => Written::Prepared(Ok(Err(storage("prepare an attempt", why)))),
                    Write::Transition(_) => {
                        Written::Transitioned(Box::new(Ok(Err(storage("record a transition", why)))))
                    }
                }
            }
        }

        impl Written {
            /// Whether it is to be kept (a success, or an answer read within the transaction).
            fn ok(&self) -> bool {
                match self {
                    Written::Prepared(r) => matches!(r, Ok(Ok(_))),
                    Written::Transitioned(r) => matches!(**r, Ok(Ok(_))),
                }
            }

            /// Whether it was refused before anything was written and before any statement
            /// failed (a fenced version, a conflicting request): it is answered as is, and the
            /// rest of its batch goes on.
            fn clean_refusal(&self) -> bool {
                let clean = |e: &payment_core::Error| {
                    store::is_fenced(e) || e.kind() == payment_core::ErrorKind::IdempotencyConflict
                };
                match self {
                    Written::Prepared(Ok(Err(e))) => clean(e),
                    Written::Transitioned(r) => matches!(&**r, Ok(Err(e)) if clean(e)),
                    _ => false,
                }
            }

            /// Whether the database gave it up to break a deadlock or a serialization conflict
            /// with another transaction (PostgreSQL's 40P01, 40001): nothing of it was kept, and
            /// doing it again is safe.
            fn lost_a_race(&self) -> bool {
                let raced = |e: &sqlx::Error| {
                    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")))
                };
                match self {
                    Written::Prepared(Err(e)) => raced(e),
                    Written::Transitioned(r) => matches!(&**r, Err(e) if raced(e)),
                    _ => false,
                }
            }

            /// What its caller hears when the batch's commit failed: no success.
            fn uncommitted(self, why: &str) -> Written {
                let lost = |what| storage(what, format!("the batch holding this write was not committed: {why}"));
                match self {
                    Written::Prepared(Ok(Ok(_))) => Written::Prepared(Ok(Err(lost("prepare an attempt")))),
                    Written::Transitioned(r) if matches!(*r, Ok(Ok(_))) => {
                        Written::Transitioned(Box::new(Ok(Err(lost("record a transition")))))
                    }
                    other => other,
                }
            }
        }

        /// A prepare whose key a payment already has: read, decided on, written statement by
        /// statement (a retry, rarer than a new payment).
        async fn prepare_existing(
            conn: &mut <$db as sqlx::Database>::Connection,
            new: &NewAttempt,
        ) -> std::result::Result<Result<Begin>, sqlx::Error> {
            let existing = match load_payment(&mut *conn, &new.idempotency_key).await {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let decision = match store::decide(existing.as_ref(), new) {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            let (seq, provider_key, new_payment) = match (decision, existing) {
                (Decision::Insert { seq, provider_key, new_payment }, _) => (seq, provider_key, new_payment),
                (Decision::Existing, Some(p)) => return Ok(Ok(Begin::Existing(p))),
                (Decision::Existing, None) => {
                    return Ok(Err(storage("prepare an attempt", "the payment vanished while it was read")));
                }
            };
            let request = match serde_json::to_string(&new.request) {
                Ok(r) => r,
                Err(e) => return Ok(Err(storage("encode a request", e))),
            };
            let charge_id = new.request.charge_id().map(|c| c.to_string());
            if new_payment {
                sqlx::query(INSERT_PAYMENT)
                    .bind(&new.idempotency_key)
                    .bind(new.request.operation().as_str())
                    .bind(&new.account)
                    .bind(AttemptState::Prepared.as_str())
                    .bind(&charge_id)
                    .bind(new.request.fingerprint())
                    .bind(new.now_ms)
                    .execute(&mut *conn)
                    .await?;
            }
            let attempt = new.prepared(seq, provider_key);
            sqlx::query(INSERT_ATTEMPT)
                .bind(&attempt.id)
                .bind(&attempt.idempotency_key)
                .bind(attempt.seq)
                .bind(&attempt.account)
                .bind(attempt.operation.as_str())
                .bind(attempt.state.as_str())
                .bind(attempt.version)
                .bind(&attempt.provider_key)
                .bind(&request)
                .bind(&attempt.charge_id)
                .bind(None::<String>)
                .bind(None::<String>)
                .bind(attempt.created_ms)
                .bind(attempt.updated_ms)
                .bind(None::<i64>)
                .bind(attempt.due_ms)
                .bind(&attempt.lease_owner)
                .bind(attempt.lease_until_ms)
                .bind(0_i64)
                .bind(attempt.request.reference())
                .execute(&mut *conn)
                .await?;
            if !new_payment {
                sqlx::query(UPDATE_PAYMENT)
                    .bind(true)
                    .bind(AttemptState::Prepared.as_str())
                    .bind(&charge_id)
                    .bind(new.now_ms)
                    .bind(&new.idempotency_key)
                    .execute(&mut *conn)
                    .await?;
            }
            let event = attempt.prepared_event();
            if let Err(e) = insert_event(&mut *conn, &event).await {
                return Ok(Err(e));
            }
            Ok(Ok(Begin::Started(Box::new(attempt))))
        }

        crate::sql_chunks::sql_chunks!($db, $dialect);
    };
}

pub(crate) use sql_writes;
