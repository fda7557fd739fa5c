//! `payment webhook serve`: every compiled-in provider's webhooks, one JSON line per event.

use std::collections::HashMap;
use std::sync::Arc;

use payment::webhooks::{EventHandler, Inbox, MemoryInbox, Rejection, WebhookServer};
use payment::{ChargeId, Config, EventRecord, PaymentClient, Trust, WebhookEvent};

use crate::args::{Cli, WebhookCommand};
use crate::config;
use crate::failure::{Failure, usage};

/// Prints each event's summary on stdout, flushed at once; refusals on stderr. A sender-only
/// event (PAY.JP's token covers no body) is read back from the provider first, and only the
/// read-back is trusted: it settles the journal, and the line carries its status.
struct Printer {
    journal: Option<payment::journal::Journal>,
    config: Config,
    clients: tokio::sync::Mutex<HashMap<String, PaymentClient>>,
}

impl Printer {
    async fn client(&self, provider: &str) -> payment::Result<PaymentClient> {
        let mut clients = self.clients.lock().await;
        if let Some(c) = clients.get(provider) {
            return Ok(c.clone());
        }
        let mut config = self.config.clone();
        config.provider = Some(provider.to_owned());
        // The server's journal is applied by hand; the read-back client must not journal.
        config.tables.remove(payment::config::JOURNAL_TABLE);
        let client = payment::connect(&config).await?;
        clients.insert(provider.to_owned(), client.clone());
        Ok(client)
    }

    /// The event as the provider's API shows it now, when the body alone cannot be trusted.
    async fn read_back(&self, event: &WebhookEvent) -> Option<WebhookEvent> {
        let id = event.object_id.as_deref()?;
        let read = match self.client(&event.provider).await {
            Ok(client) => client.retrieve_charge(&ChargeId::new(id)).await,
            Err(e) => Err(e),
        };
        match read {
            Ok(charge) => Some(WebhookEvent {
                trust: Trust::Verified,
                amount: Some(charge.amount),
                reference: charge.reference.clone().or_else(|| event.reference.clone()),
                record: EventRecord::Charge(Box::new(charge)),
                ..event.clone()
            }),
            Err(e) => {
                eprintln!("cannot read {} {id} back: {e}", event.provider);
                None
            }
        }
    }
}

#[async_trait::async_trait]
impl EventHandler for Printer {
    async fn handle(&self, event: WebhookEvent) -> payment::Result<()> {
        let read_back = if event.trust == Trust::SenderOnly { self.read_back(&event).await } else { None };
        if let Some(journal) = &self.journal {
            let trusted = read_back.as_ref().unwrap_or(&event);
            for r in journal.apply_event(trusted).await? {
                eprintln!(
                    "journal: {} #{} {}: {} -> {}: {}",
                    r.idempotency_key, r.seq, r.operation, r.from, r.to, r.how
                );
            }
        }
        let mut line = event.summary();
        if let Some(EventRecord::Charge(c)) = read_back.as_ref().map(|e| &e.record) {
            line["reread_status"] = serde_json::json!(c.status);
        }
        out!("{line}");
        Ok(())
    }

    fn rejected(&self, r: &Rejection) {
        eprintln!("rejected {} delivery ({}): {}", r.provider, r.status, r.reason);
    }
}

/// `payment webhook …`
pub async fn run(cli: &Cli, command: &WebhookCommand) -> Result<(), Failure> {
    let WebhookCommand::Serve { addr } = command;
    let config = config::config_without_provider(cli)?;
    let drivers = payment::drivers();
    let journal = payment::open_journal(&config).await?;
    // With a journal, it is the inbox too: deliveries are deduplicated across restarts.
    let inbox: Arc<dyn Inbox> = match &journal {
        Some(j) => Arc::new(j.clone()),
        None => Arc::new(MemoryInbox::new()),
    };
    let printer = Printer { journal, config: config.clone(), clients: Default::default() };
    let server = WebhookServer::for_drivers(&drivers, |name: &str| config.settings(name), inbox, Arc::new(printer));
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
    // Ctrl-C or SIGTERM end the server cleanly, so what the exporters hold is flushed.
    tokio::select! {
        served = server.serve(listener) => served.map_err(|e| usage(format!("the webhook server stopped: {e}")))?,
        () = stop_signal() => eprintln!("stopping: signal received"),
    }
    Ok(())
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            // Without SIGTERM, Ctrl-C still stops it cleanly.
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
