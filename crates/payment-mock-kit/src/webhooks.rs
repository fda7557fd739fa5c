//! The mock's outgoing webhooks: each state change becomes a provider-shaped, provider-signed
//! POST to the configured URL, retried on non-2xx by the provider's schedule on the mock clock
//! (advancing the clock brings retries forward).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::clock::MockClock;

/// One event to deliver: its type (for the log), headers (signature included) and body.
#[derive(Debug, Clone)]
pub struct OutgoingWebhook {
    /// The provider's event type (`charge.succeeded`, `settled`, …).
    pub event_type: String,
    /// Headers to send (`Content-Type`, the provider's signature or token).
    pub headers: Vec<(String, String)>,
    /// The body, exactly as signed.
    pub body: Vec<u8>,
}

/// What happened to one delivery, for the control API.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Its number in this mock (1, 2, …), kept across a reset.
    pub id: u64,
    /// Where it goes.
    pub target: String,
    /// The event type.
    pub event_type: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last answer's status (`None`: not tried yet, or no answer).
    pub last_status: Option<u16>,
    /// `pending`, `delivered` or `gave_up`.
    pub state: &'static str,
    #[serde(skip)]
    due_unix: i64,
    #[serde(skip)]
    event: Option<OutgoingWebhook>,
}

/// The queue of deliveries and the provider's retry schedule.
pub struct WebhookOutbox {
    started: std::sync::atomic::AtomicBool,
    target: Mutex<Option<String>>,
    schedule: Mutex<Vec<u64>>,
    deliveries: Mutex<Vec<Delivery>>,
    numbered: std::sync::atomic::AtomicU64,
}

impl Default for WebhookOutbox {
    fn default() -> WebhookOutbox {
        WebhookOutbox {
            started: std::sync::atomic::AtomicBool::new(false),
            target: Mutex::new(None),
            schedule: Mutex::new(Vec::new()),
            deliveries: Mutex::new(Vec::new()),
            numbered: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl std::fmt::Debug for WebhookOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookOutbox").field("target", &*lock(&self.target)).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every change is a single push or field write: a poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl WebhookOutbox {
    /// Sends every event to `url` from now on, retrying after each delay of `schedule` (seconds
    /// of mock time) while the answer is not 2xx.
    pub fn configure(&self, url: &str, schedule: &[u64]) {
        *lock(&self.target) = Some(url.to_owned());
        *lock(&self.schedule) = schedule.to_vec();
    }

    /// Whether a target is set (mocks skip building events otherwise).
    pub fn enabled(&self) -> bool {
        lock(&self.target).is_some()
    }

    /// Queues an event for delivery now.
    pub fn emit(&self, clock: &MockClock, event: OutgoingWebhook) {
        self.emit_after(clock, 0, event);
    }

    /// Queues an event for delivery `after` seconds of mock time from now (a stage that turns
    /// final later is reported then).
    pub fn emit_after(&self, clock: &MockClock, after: i64, event: OutgoingWebhook) {
        let Some(target) = lock(&self.target).clone() else { return };
        let id = self.numbered.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        lock(&self.deliveries).push(Delivery {
            id,
            target,
            event_type: event.event_type.clone(),
            attempts: 0,
            last_status: None,
            state: "pending",
            due_unix: clock.now().unix() + after.max(0),
            event: Some(event),
        });
    }

    /// Forgets every delivery, pending ones included (the target and schedule stay).
    pub fn clear(&self) {
        lock(&self.deliveries).clear();
    }

    /// Every delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.deliveries).clone()
    }

    fn take_due(&self, now: i64) -> Vec<(u64, String, OutgoingWebhook)> {
        let mut all = lock(&self.deliveries);
        all.iter_mut()
            .filter(|d| d.state == "pending" && d.due_unix <= now)
            .filter_map(|d| {
                let event = d.event.clone()?;
                // Held out of the queue while in flight, so a slow receiver is not sent it twice.
                d.due_unix = i64::MAX;
                Some((d.id, d.target.clone(), event))
            })
            .collect()
    }

    fn record(&self, id: u64, status: Option<u16>, now: i64) {
        let schedule = lock(&self.schedule).clone();
        let mut all = lock(&self.deliveries);
        // Found by number, not position: a reset while a delivery is in flight removes it.
        let Some(d) = all.iter_mut().find(|d| d.id == id) else { return };
        d.attempts += 1;
        d.last_status = status;
        if status.is_some_and(|s| (200..300).contains(&s)) {
            d.state = "delivered";
            d.event = None;
        } else if let Some(wait) = schedule.get(d.attempts as usize - 1) {
            d.due_unix = now + i64::try_from(*wait).unwrap_or(i64::MAX / 2);
        } else {
            d.state = "gave_up";
            d.event = None;
        }
    }
}

/// Delivers `kit`'s due webhooks, every 25 ms of real time, until the kit is dropped (once per
/// kit, and only when a target is configured).
pub fn start_delivery(kit: &Arc<crate::kit::MockKit>) {
    if !kit.webhooks.enabled() || kit.webhooks.started.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let kit = Arc::downgrade(kit);
    tokio::spawn(async move {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        loop {
            tokio::time::sleep(Duration::from_millis(25)).await;
            let Some(kit) = kit.upgrade() else { return };
            for (id, target, event) in kit.webhooks.take_due(kit.clock.now().unix()) {
                let mut request = http.post(&target).body(event.body.clone());
                for (k, v) in &event.headers {
                    request = request.header(k, v);
                }
                let status = request.send().await.ok().map(|r| r.status().as_u16());
                kit.webhooks.record(id, status, kit.clock.now().unix());
            }
        }
    });
}
