//! The idempotency table: key + request fingerprint -> the stored response (replay), a conflict,
//! or an in-flight duplicate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

/// A response kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers to send again.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

#[derive(Debug)]
enum Entry {
    InFlight { fingerprint: String },
    Done { fingerprint: String, response: StoredResponse },
}

/// What a claim on a key found.
#[derive(Debug)]
pub enum Claim {
    /// A new key: handle the request, then [`ClaimGuard::complete`] it.
    New(ClaimGuard),
    /// The same key and the same request were seen: send this again.
    Replay(StoredResponse),
    /// The same key with a different request.
    Conflict,
    /// The same key is being handled right now.
    InFlight,
}

type Entries = Arc<Mutex<HashMap<(String, String), Entry>>>;

/// Keys per scope (e.g. per account), each with a fingerprint of the request that first used it.
#[derive(Debug, Default, Clone)]
pub struct IdempotencyTable {
    entries: Entries,
}

impl IdempotencyTable {
    /// Claims `key` in `scope` for a request with `fingerprint`.
    pub fn claim(&self, scope: &str, key: &str, fingerprint: &str) -> Claim {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let id = (scope.to_owned(), key.to_owned());
        match entries.get(&id) {
            Some(Entry::Done { fingerprint: f, response }) if f == fingerprint => Claim::Replay(response.clone()),
            Some(Entry::InFlight { fingerprint: f }) if f == fingerprint => Claim::InFlight,
            Some(_) => Claim::Conflict,
            None => {
                entries.insert(id.clone(), Entry::InFlight { fingerprint: fingerprint.to_owned() });
                Claim::New(ClaimGuard { entries: self.entries.clone(), id: Some(id) })
            }
        }
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Forgets every key. A request in flight still finishes, and its answer is stored again.
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Holds a new key while its request is handled; dropping it without completing frees the key
/// (the request failed before changing anything, so a retry must be processed afresh).
#[derive(Debug)]
pub struct ClaimGuard {
    entries: Entries,
    id: Option<(String, String)>,
}

impl ClaimGuard {
    /// Stores the response for replay.
    pub fn complete(mut self, response: StoredResponse) {
        if let Some(id) = self.id.take() {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let fingerprint = match entries.remove(&id) {
                Some(Entry::InFlight { fingerprint } | Entry::Done { fingerprint, .. }) => fingerprint,
                None => String::new(),
            };
            entries.insert(id, Entry::Done { fingerprint, response });
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(body: &'static str) -> StoredResponse {
        StoredResponse { status: 200, headers: vec![], body: Bytes::from_static(body.as_bytes()) }
    }

    #[test]
    fn replay_conflict_and_in_flight() {
        let t = IdempotencyTable::default();
        let Claim::New(guard) = t.claim("acct", "k1", "amount=100") else { panic!() };
        assert!(matches!(t.claim("acct", "k1", "amount=100"), Claim::InFlight));
        assert!(matches!(t.claim("acct", "k1", "amount=200"), Claim::Conflict));
        guard.complete(resp("{\"id\":1}"));
        assert!(matches!(t.claim("acct", "k1", "amount=100"), Claim::Replay(r) if r == resp("{\"id\":1}")));
        assert!(matches!(t.claim("acct", "k1", "amount=200"), Claim::Conflict));
        assert!(matches!(t.claim("other", "k1", "amount=200"), Claim::New(_)), "scopes are separate");
    }

    #[test]
    fn an_abandoned_claim_frees_the_key() {
        let t = IdempotencyTable::default();
        let Claim::New(guard) = t.claim("a", "k", "x") else { panic!() };
        drop(guard);
        assert!(t.is_empty());
        assert!(matches!(t.claim("a", "k", "y"), Claim::New(_)));
    }
}
