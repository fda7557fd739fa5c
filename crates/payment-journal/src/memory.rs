//! `MemoryStore`: the journal in a map, for tests and for apps that want the rules without
//! durability (it dies with the process).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;
use payment_core::{Operation, Result};

use crate::record::{Attempt, Begin, JournalEvent, NewAttempt, Payment, Transition};
use crate::state::AttemptState;
use crate::store::{self, Decision, DueClaim, JournalStore};

/// An in-memory journal store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Tables>,
    // Most payments kept; `None`: all of them.
    limit: Option<usize>,
}

/// Deliveries a bounded store remembers per payment it keeps.
const INBOX_PER_PAYMENT: usize = 4;

#[derive(Debug, Default)]
struct Tables {
    // Payments keep their attempts inline; each payment's events are appended in order.
    payments: BTreeMap<String, Payment>,
    events: HashMap<String, Vec<JournalEvent>>,
    // `None`: handled; `Some(until)`: in progress until then (ms).
    inbox: HashMap<(String, String), Option<i64>>,
    // Deliveries, oldest first: what a bounded store forgets first.
    inbox_order: VecDeque<(String, String)>,
    // Which payment holds each attempt, so a write finds it without a scan.
    by_attempt: HashMap<String, String>,
    // Payment keys, oldest first: what a bounded store forgets first.
    order: VecDeque<String>,
    // Which payments an event may name: by their attempts' references, provider keys and
    // charge ids (a webhook finds its attempts without a scan).
    by_handle: HashMap<String, std::collections::BTreeSet<String>>,
}

/// The token a delivery's lease is known by: when it ends.
pub(crate) fn lease_token(lease_until_ms: i64) -> u64 {
    u64::try_from(lease_until_ms).unwrap_or(0)
}

/// What a webhook may name an attempt by.
fn handles(a: &Attempt) -> impl Iterator<Item = &str> {
    [a.request.reference(), Some(a.provider_key.as_str()), a.charge_id.as_deref()].into_iter().flatten()
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store that keeps at most `payments` payments: beyond that the oldest settled
    /// ones are forgotten (an unresolved one never is), so a long-running process without a
    /// database keeps its memory flat. A forgotten key is a new payment if it comes again.
    pub fn bounded(payments: usize) -> MemoryStore {
        MemoryStore { inner: Mutex::default(), limit: Some(payments.max(1)) }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A panic while holding the lock cannot leave a half-applied write: every write is built
        // first and swapped in, so the data behind a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn find<'a>(tables: &'a mut Tables, attempt_id: &str) -> Option<(&'a mut Payment, usize)> {
    let key = tables.by_attempt.get(attempt_id)?;
    let p = tables.payments.get_mut(key)?;
    let i = p.attempts.iter().position(|a| a.id == attempt_id)?;
    Some((p, i))
}

impl Tables {
    /// Files `a` under every handle a webhook may name it by.
    fn index(&mut self, a: &Attempt) {
        for h in handles(a) {
            self.by_handle.entry(h.to_owned()).or_default().insert(a.idempotency_key.clone());
        }
    }

    /// Forgets the oldest settled payments while more than `limit` are kept; each key is looked
    /// at once per call, so a run of unresolved ones cannot make it spin.
    fn trim(&mut self, limit: usize) {
        let mut looked = 0;
        while self.payments.len() > limit && looked < self.order.len() {
            let Some(key) = self.order.pop_front() else { break };
            looked += 1;
            let settled = self.payments.get(&key).is_some_and(|p| p.attempts.iter().all(|a| !a.state.is_unresolved()));
            if settled {
                if let Some(p) = self.payments.remove(&key) {
                    for a in &p.attempts {
                        self.by_attempt.remove(&a.id);
                        for h in handles(a) {
                            if let Some(keys) = self.by_handle.get_mut(h) {
                                keys.remove(&key);
                                if keys.is_empty() {
                                    self.by_handle.remove(h);
                                }
                            }
                        }
                    }
                }
                self.events.remove(&key);
            } else {
                self.order.push_back(key);
            }
        }
    }
}

#[async_trait]
impl JournalStore for MemoryStore {
    fn now_ms(&self) -> i64 {
        crate::now_ms()
    }

    fn backend(&self) -> &'static str {
        "memory"
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    async fn prepare(&self, new: NewAttempt) -> Result<Begin> {
        let _span = store::write_span("memory", AttemptState::Prepared).entered();
        let mut t = self.tables();
        let existing = t.payments.get(&new.idempotency_key);
        let decision = store::decide(existing, &new)?;
        let Decision::Insert { seq, provider_key, new_payment } = decision else {
            return existing
                .cloned()
                .map(Begin::Existing)
                .ok_or_else(|| store::storage("prepare an attempt", "the payment vanished while it was read"));
        };
        let attempt = new.prepared(seq, provider_key);
        if new_payment {
            t.order.push_back(new.idempotency_key.clone());
            t.payments.insert(
                new.idempotency_key.clone(),
                Payment {
                    idempotency_key: new.idempotency_key.clone(),
                    operation: attempt.operation,
                    account: new.account.clone(),
                    state: AttemptState::Prepared,
                    charge_id: attempt.charge_id.clone(),
                    fingerprint: new.request.fingerprint(),
                    created_ms: new.now_ms,
                    updated_ms: new.now_ms,
                    attempts: Vec::new(),
                },
            );
        }
        let payment = t.payments.get_mut(&new.idempotency_key).expect("inserted above");
        payment.attempts.push(attempt.clone());
        payment.state = AttemptState::Prepared;
        payment.updated_ms = new.now_ms;
        t.by_attempt.insert(attempt.id.clone(), new.idempotency_key.clone());
        t.index(&attempt);
        t.events.entry(new.idempotency_key.clone()).or_default().push(attempt.prepared_event());
        if let Some(limit) = self.limit {
            t.trim(limit);
        }
        Ok(Begin::Started(Box::new(attempt)))
    }

    async fn transition(&self, tr: Transition) -> Result<Attempt> {
        let _span = store::write_span("memory", tr.to).entered();
        let mut t = self.tables();
        let Some((payment, i)) = find(&mut t, &tr.attempt_id) else {
            return Err(store::fenced(&tr.attempt_id, tr.expected_version));
        };
        let current = &payment.attempts[i];
        store::check_transition(current, &tr)?;
        if tr.to == AttemptState::Succeeded
            && current.operation == Operation::CreateCharge
            && payment.attempts.iter().any(|a| a.id != tr.attempt_id && a.state == AttemptState::Succeeded)
        {
            return Err(store::second_success(&payment.idempotency_key));
        }
        let from = current.state;
        let next = store::apply(current, &tr);
        let latest = payment.attempts.iter().map(|a| a.seq).max() == Some(next.seq);
        if latest {
            payment.state = next.state;
        }
        if next.charge_id.is_some() {
            payment.charge_id = next.charge_id.clone();
        }
        payment.updated_ms = tr.now_ms;
        payment.attempts[i] = next.clone();
        let key = payment.idempotency_key.clone();
        t.index(&next);
        t.events.entry(key.clone()).or_default().push(JournalEvent {
            attempt_id: next.id.clone(),
            idempotency_key: key,
            from_state: Some(from),
            to_state: next.state,
            version: next.version,
            at_ms: tr.now_ms,
            detail: tr.detail,
        });
        Ok(next)
    }

    async fn claim_due(&self, claim: DueClaim<'_>) -> Result<Vec<Attempt>> {
        let DueClaim { now_ms, owner, lease_until_ms, limit, filter } = claim;
        let mut t = self.tables();
        let mut due: Vec<(i64, String)> = t
            .payments
            .values()
            .filter(|p| filter.key.as_ref().is_none_or(|k| *k == p.idempotency_key))
            .flat_map(|p| p.attempts.iter())
            // The attempt's account, as the SQL stores filter: a routed payment's attempts differ.
            .filter(|a| filter.account.as_ref().is_none_or(|v| *v == a.account))
            .filter(|a| claimable(a, now_ms))
            .map(|a| (a.due_ms, a.id.clone()))
            .collect();
        due.sort();
        due.truncate(limit as usize);
        let mut claimed = Vec::new();
        for (_, id) in due {
            if let Some((payment, i)) = find(&mut t, &id) {
                let a = &mut payment.attempts[i];
                a.version += 1;
                a.lease_owner = Some(owner.to_owned());
                a.lease_until_ms = Some(lease_until_ms);
                a.updated_ms = now_ms;
                claimed.push(a.clone());
            }
        }
        Ok(claimed)
    }

    async fn payment(&self, key: &str) -> Result<Option<Payment>> {
        Ok(self.tables().payments.get(key).cloned())
    }

    async fn payments(&self, state: Option<AttemptState>) -> Result<Vec<Payment>> {
        let mut all: Vec<Payment> =
            self.tables().payments.values().filter(|p| state.is_none_or(|s| p.state == s)).cloned().collect();
        all.sort_by(|a, b| (a.created_ms, &a.idempotency_key).cmp(&(b.created_ms, &b.idempotency_key)));
        Ok(all)
    }

    async fn events(&self, key: &str) -> Result<Vec<JournalEvent>> {
        Ok(self.tables().events.get(key).cloned().unwrap_or_default())
    }

    async fn attempts_for(
        &self,
        account: &str,
        charge_id: Option<&str>,
        reference: Option<&str>,
    ) -> Result<Vec<Attempt>> {
        let t = self.tables();
        let keys: std::collections::BTreeSet<&String> =
            [charge_id, reference].into_iter().flatten().filter_map(|h| t.by_handle.get(h)).flatten().collect();
        Ok(keys
            .into_iter()
            .filter_map(|k| t.payments.get(k))
            .flat_map(|p| p.attempts.iter())
            .filter(|a| a.account == account)
            .filter(|a| {
                (charge_id.is_some() && a.charge_id.as_deref() == charge_id)
                    || (reference.is_some() && a.request.reference() == reference)
                    || reference == Some(a.provider_key.as_str())
            })
            .cloned()
            .collect())
    }

    async fn charge_attempts_created(&self, page: crate::store::CreatedPage<'_>) -> Result<Vec<Attempt>> {
        let t = self.tables();
        let after = |a: &Attempt| page.after.is_none_or(|(ms, id)| (a.created_ms, a.id.as_str()) > (ms, id));
        let mut found: Vec<Attempt> = t
            .payments
            .values()
            .flat_map(|p| p.attempts.iter())
            .filter(|a| a.account == page.account && a.operation == Operation::CreateCharge)
            .filter(|a| a.created_ms >= page.from_ms && a.created_ms < page.to_ms && after(a))
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        found.truncate(page.limit as usize);
        Ok(found)
    }

    async fn claim_delivery(
        &self,
        provider: &str,
        event_id: &str,
        now_ms: i64,
        lease_until_ms: i64,
    ) -> Result<payment_core::DeliveryClaim> {
        use payment_core::DeliveryClaim;
        let mut t = self.tables();
        let delivery = (provider.to_owned(), event_id.to_owned());
        match t.inbox.get(&delivery).copied() {
            Some(None) => return Ok(DeliveryClaim::Done),
            Some(Some(until)) if until > now_ms => return Ok(DeliveryClaim::InProgress),
            // A handling whose lease ran out: this delivery takes it.
            Some(Some(_)) => {
                t.inbox.insert(delivery, Some(lease_until_ms));
                return Ok(DeliveryClaim::New(lease_token(lease_until_ms)));
            }
            None => {
                t.inbox.insert(delivery.clone(), Some(lease_until_ms));
            }
        }
        if let Some(limit) = self.limit {
            // A bounded store keeps a few deliveries per payment it keeps; an older event that
            // comes again is applied again, which changes nothing (events only move attempts on).
            t.inbox_order.push_back(delivery);
            while t.inbox_order.len() > limit.saturating_mul(INBOX_PER_PAYMENT) {
                if let Some(old) = t.inbox_order.pop_front() {
                    t.inbox.remove(&old);
                }
            }
        }
        Ok(DeliveryClaim::New(lease_token(lease_until_ms)))
    }

    async fn finish_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()> {
        if let Some(state) = self.tables().inbox.get_mut(&(provider.to_owned(), event_id.to_owned()))
            && *state == Some(lease_until_ms)
        {
            *state = None;
        }
        Ok(())
    }

    async fn forget_delivery(&self, provider: &str, event_id: &str, lease_until_ms: i64) -> Result<()> {
        let mut t = self.tables();
        let delivery = (provider.to_owned(), event_id.to_owned());
        if t.inbox.get(&delivery) == Some(&Some(lease_until_ms)) {
            t.inbox.remove(&delivery);
        }
        Ok(())
    }

    async fn next_claimable_ms(&self) -> Result<Option<i64>> {
        Ok(self
            .tables()
            .payments
            .values()
            .flat_map(|p| p.attempts.iter())
            .filter(|a| a.state.is_unresolved())
            .map(|a| a.due_ms.max(a.lease_until_ms.unwrap_or(0)))
            .min())
    }
}

/// Unresolved, due, and leased to nobody (or the lease ran out).
pub(crate) fn claimable(a: &Attempt, now_ms: i64) -> bool {
    a.state.is_unresolved() && a.due_ms <= now_ms && a.lease_until_ms.is_none_or(|u| u <= now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bounded_store_keeps_its_inbox_bounded_too() {
        let store = MemoryStore::bounded(2);
        use payment_core::DeliveryClaim;
        for i in 0..1000 {
            assert_eq!(store.claim_delivery("fake", &format!("evt_{i}"), 0, 10).await.unwrap(), DeliveryClaim::New(10));
        }
        assert!(store.tables().inbox.len() <= 2 * INBOX_PER_PAYMENT);
        // The newest are still deduplicated.
        assert_eq!(store.claim_delivery("fake", "evt_999", 0, 10).await.unwrap(), DeliveryClaim::InProgress);
        let unbounded = MemoryStore::new();
        for i in 0..100 {
            unbounded.claim_delivery("fake", &format!("evt_{i}"), 0, 10).await.unwrap();
            unbounded.finish_delivery("fake", &format!("evt_{i}"), 10).await.unwrap();
        }
        let again = unbounded.claim_delivery("fake", "evt_0", 20, 30).await.unwrap();
        assert_eq!(again, DeliveryClaim::Done, "an unbounded store forgets nothing");
    }
}
