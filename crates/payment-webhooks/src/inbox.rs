//! The inbox: which deliveries are being handled, or were, by provider and event id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
pub use payment_core::webhook::Inbox;
use payment_core::{DeliveryClaim, Result};

/// An inbox in memory (dies with the process; a journal keeps one durably).
#[derive(Debug, Default)]
pub struct MemoryInbox {
    /// `None`: handled; `Some(until)`: in progress until then.
    seen: Mutex<HashMap<(String, String), Option<Instant>>>,
}

impl MemoryInbox {
    /// An empty inbox.
    pub fn new() -> MemoryInbox {
        MemoryInbox::default()
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Option<Instant>>> {
        // Each operation is one insert or remove: a poisoned map is still consistent.
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn claim(&self, provider: &str, event_id: &str, lease: Duration) -> Result<DeliveryClaim> {
        let now = Instant::now();
        let mut seen = self.seen();
        let entry = seen.entry((provider.to_owned(), event_id.to_owned())).or_insert(Some(now));
        Ok(match *entry {
            None => DeliveryClaim::Done,
            Some(until) if until > now => DeliveryClaim::InProgress,
            // New, or a handling whose lease ran out: this delivery takes it.
            Some(_) => {
                *entry = Some(now + lease);
                DeliveryClaim::New
            }
        })
    }

    async fn done(&self, provider: &str, event_id: &str) -> Result<()> {
        self.seen().insert((provider.to_owned(), event_id.to_owned()), None);
        Ok(())
    }

    async fn forget(&self, provider: &str, event_id: &str) -> Result<()> {
        self.seen().remove(&(provider.to_owned(), event_id.to_owned()));
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
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::New);
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::InProgress);
        assert_eq!(inbox.claim("q", "e", lease).await.unwrap(), DeliveryClaim::New, "per provider");
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::New, "the lease ran out");
        inbox.done("p", "e").await.unwrap();
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::Done);
        inbox.forget("p", "e").await.unwrap();
        assert_eq!(inbox.claim("p", "e", lease).await.unwrap(), DeliveryClaim::New);
    }
}
