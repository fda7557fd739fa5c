//! The inbox: which deliveries were handled already, by provider and event id.

use std::collections::HashSet;
use std::sync::Mutex;

use async_trait::async_trait;
use payment_core::Result;
pub use payment_core::webhook::Inbox;

/// An inbox in memory (dies with the process; a journal keeps one durably).
#[derive(Debug, Default)]
pub struct MemoryInbox {
    seen: Mutex<HashSet<(String, String)>>,
}

impl MemoryInbox {
    /// An empty inbox.
    pub fn new() -> MemoryInbox {
        MemoryInbox::default()
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashSet<(String, String)>> {
        // An insert or a remove cannot be left half done: a poisoned set is still consistent.
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Inbox for MemoryInbox {
    async fn first_delivery(&self, provider: &str, event_id: &str) -> Result<bool> {
        Ok(self.seen().insert((provider.to_owned(), event_id.to_owned())))
    }

    async fn forget(&self, provider: &str, event_id: &str) -> Result<()> {
        self.seen().remove(&(provider.to_owned(), event_id.to_owned()));
        Ok(())
    }
}
