//! `payment webhook serve`: every compiled-in provider's webhooks, one JSON line per event.

use std::sync::Arc;

use payment::WebhookEvent;
use payment::webhooks::{EventHandler, Inbox, MemoryInbox, Rejection, WebhookServer};

use crate::args::{Cli, WebhookCommand};
use crate::commands;
use crate::failure::{Failure, usage};

/// Prints each event's summary on stdout, flushed at once; refusals on stderr. With a journal,
/// each event first settles the attempts it names.
struct Printer {
    journal: Option<payment::journal::Journal>,
}

#[async_trait::async_trait]
impl EventHandler for Printer {
    async fn handle(&self, event: WebhookEvent) -> payment::Result<()> {
        if let Some(journal) = &self.journal {
            for r in journal.apply_event(&event).await? {
                eprintln!(
                    "journal: {} #{} {}: {} -> {}: {}",
                    r.idempotency_key, r.seq, r.operation, r.from, r.to, r.how
                );
            }
        }
        out!("{}", event.summary());
        Ok(())
    }

    fn rejected(&self, r: &Rejection) {
        eprintln!("rejected {} delivery ({}): {}", r.provider, r.status, r.reason);
    }
}

/// `payment webhook …`
pub async fn run(cli: &Cli, command: &WebhookCommand) -> Result<(), Failure> {
    let WebhookCommand::Serve { addr } = command;
    let config = commands::config_without_provider(cli)?;
    let drivers = payment::drivers();
    let journal = payment::open_journal(&config).await?;
    // With a journal, it is the inbox too: deliveries are deduplicated across restarts.
    let inbox: Arc<dyn Inbox> = match &journal {
        Some(j) => Arc::new(j.clone()),
        None => Arc::new(MemoryInbox::new()),
    };
    let server =
        WebhookServer::for_drivers(&drivers, |name: &str| config.settings(name), inbox, Arc::new(Printer { journal }));
    for (name, why) in server.providers() {
        match why {
            None => eprintln!("{name}: verifying at /webhooks/{name}"),
            Some(why) => eprintln!("{name}: not verifying ({why})"),
        }
    }
    let listener = tokio::net::TcpListener::bind(addr.as_str())
        .await
        .map_err(|e| usage(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| usage(format!("no local address: {e}")))?;
    eprintln!("listening on http://{local}");
    server.serve(listener).await.map_err(|e| usage(format!("the webhook server stopped: {e}")))?;
    Ok(())
}
