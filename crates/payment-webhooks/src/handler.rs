//! Where verified events go: an application's handler, or a channel.

use async_trait::async_trait;
use payment_core::{Error, ErrorKind, Result, WebhookEvent};

/// A delivery that was refused, and why (never with its payload).
#[derive(Debug, Clone)]
pub struct Rejection {
    /// The provider path it came in on.
    pub provider: String,
    /// The status it was answered with.
    pub status: u16,
    /// Why.
    pub reason: String,
}

/// Takes each verified, first-delivered event.
#[async_trait]
pub trait EventHandler: Send + Sync {
    /// Handles one event; an error makes the server answer 500, so the provider delivers again.
    async fn handle(&self, event: WebhookEvent) -> Result<()>;
    /// Told of each refused delivery (for a log line); nothing by default.
    fn rejected(&self, _rejection: &Rejection) {}
}

#[async_trait]
impl EventHandler for tokio::sync::mpsc::Sender<WebhookEvent> {
    async fn handle(&self, event: WebhookEvent) -> Result<()> {
        self.send(event)
            .await
            .map_err(|_| Error::new(ErrorKind::Config, "the application stopped taking webhook events"))
    }
}
