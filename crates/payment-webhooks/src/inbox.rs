//! The inbox: which deliveries are being handled, or were, by provider and event id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
pub use payment_core::webhook::Inbox;
use payment_core::{DeliveryClaim, Result};

/// Per (provider, event id): `None` handled; `Some((until, token))` in progress until then,
/// under that lease.
type Deliveries = HashMap<(String, String), Option<(Instant, u64)>>;

/// An inbox in memory (dies with the process; a journal keeps one durably).
#[derive(Debug, Default)]
pub struct MemoryInbox {
    seen: Mutex<Deliveries>,
    leases: std::sync::atomic::AtomicU64,
}

impl MemoryInbox {
    /// An empty inbox.
    pub fn new() -> MemoryInbox {
        MemoryInbox::default()
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Deliveries> {
        // Each operation is one insert or remove: a poisoned map is still consistent.
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn claim(&self, provider: &str, event_id: &str, lease: Duration) -> Result<DeliveryClaim> {
        let now = Instant::now();
        let token = self.leases.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        // A lease too long for the clock holds for as long as the clock goes.
        let until = now.checked_add(lease).unwrap_or(now + Duration::from_secs(86_400 * 365));
        let mut seen = self.seen();
        let key = (provider.to_owned(), event_id.to_owned());
        Ok(match seen.get(&key).copied() {
            Some(None) => DeliveryClaim::Done,
            Some(Some((held_until, _))) if held_until > now => DeliveryClaim::InProgress,
            // New, or a handling whose lease ran out: this delivery takes it.
            _ => {
                seen.insert(key, Some((until, token)));
                DeliveryClaim::New(token)
            }
        })
    }

    async fn done(&self, provider: &str, event_id: &str, token: u64) -> Result<()> {
        let mut seen = self.seen();
        if let Some(state) = seen.get_mut(&(provider.to_owned(), event_id.to_owned()))
            && matches!(state, Some((_, t)) if *t == token)
        {
            *state = None;
        }
        Ok(())
    }

    async fn forget(&self, provider: &str, event_id: &str, token: u64) -> Result<()> {
        let mut seen = self.seen();
        let key = (provider.to_owned(), event_id.to_owned());
        if matches!(seen.get(&key), Some(Some((_, t))) if *t == token) {
            seen.remove(&key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_is_new_then_in_progress_then_done_and_a_dead_handling_expires() {
        let inbox = MemoryInbox::new();
        let lease = Duration::from_millis(50);
        let DeliveryClaim::New(first) = inbox.claim("p", "e", lease).await.unwrap() else { panic!("new") };
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::InProgress);
        assert!(matches!(inbox.claim("q", "e", lease).await.unwrap(), DeliveryClaim::New(_)), "per provider");
        tokio::time::sleep(Duration::from_millis(60)).await;
        let DeliveryClaim::New(second) = inbox.claim("p", "e", lease).await.unwrap() else { panic!("taken over") };
        // The first handling, outlived by its lease, can neither forget nor finish the second's.
        inbox.forget("p", "e", first).await.unwrap();
        inbox.done("p", "e", first).await.unwrap();
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::InProgress);
        inbox.done("p", "e", second).await.unwrap();
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::Done);
        assert!(matches!(inbox.claim("p", "e", Duration::MAX).await, Ok(DeliveryClaim::Done)), "no overflow");
    }
}
