//! A scripted in-process provider for the journal's tests: a ledger of charges and refunds, a
//! chosen idempotency per operation, and faults that lose an answer after applying it.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use payment_core::transport::delivery::mark_sent;
use payment_core::{
    AmountLimit, Capabilities, Charge, ChargeCapabilities, ChargeId, ChargeRecord, ChargeStatus, CreateCharge,
    CreateRefund, Currency, Error, ErrorKind, IdempotencyCapabilities, IdempotencySupport, ListCapabilities,
    ListCharges, ListPaginator, ListRefunds, ListStyle, Money, Page, PageCursor, Paginate, PaymentClient,
    PaymentSource, Provider, Refund, RefundCapabilities, RefundId, RefundRecord, RefundStatus, RequestOptions, Result,
    SourceCapabilities, Timestamp,
};
use payment_journal::{AttemptState, Journal, JournalOptions, JournalStore, MemoryStore, SqliteStore};

/// What the next call does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// Applies the call, then loses the answer (`OutcomeUnknown`).
    LoseAnswer,
    /// Fails before anything reaches the provider (definite network error).
    Refuse,
    /// Loses the answer without applying anything.
    LoseRequest,
    /// Applies the call, then answers with something the client refuses after the 2xx (an
    /// echoed amount that differs): a definite-looking error with no HTTP status.
    AlterEcho,
    /// Turned away before anything is done: a definite 429.
    RateLimit,
}

const fn caps(charge: IdempotencySupport, refund: IdempotencySupport, find: bool) -> Capabilities {
    Capabilities {
        charge: ChargeCapabilities {
            create: true,
            retrieve: true,
            capture_later: true,
            partial_capture: true,
            cancel: true,
            list: false,
            async_completion: true,
            partial_amounts_on_read: true,
            amounts_echoed: true,
            find_by_reference: find,
            customer_authentication: false,
        },
        refund: RefundCapabilities {
            full: true,
            partial: true,
            multiple_partial: true,
            retrieve: true,
            list: true,
            async_completion: false,
        },
        list: ListCapabilities { style: ListStyle::Cursor, max_limit: 100, oldest_first: false, late_data_secs: 0 },
        idempotency: IdempotencyCapabilities {
            create_charge: charge,
            capture_charge: IdempotencySupport::None,
            cancel_charge: IdempotencySupport::Safe,
            complete_charge: IdempotencySupport::Safe,
            create_refund: refund,
            replay_window: Duration::from_secs(3600),
            visibility_lag: std::time::Duration::ZERO,
        },
        sources: SourceCapabilities { token: true, customer: false, card: true, channel: true },
        currencies: &[],
        amount_limits: &[] as &[AmountLimit],
        webhooks: false,
        soft_declines: &[],
    }
}

/// Replays keys and lists charges (PAY.JP's shape: references are not unique, no lookup by one).
pub static LISTED: Capabilities = {
    let mut c = caps(IdempotencySupport::Replay, IdempotencySupport::None, false);
    c.charge.list = true;
    c
};

/// Replays keys; refunds are never repeatable.
pub static REPLAY: Capabilities = caps(IdempotencySupport::Replay, IdempotencySupport::None, false);
/// Refuses a reused reference and finds charges by it.
pub static REJECT_DUPLICATE: Capabilities =
    caps(IdempotencySupport::RejectDuplicate { lookup: "by reference" }, IdempotencySupport::Replay, true);
/// Refunds declared `RejectDuplicate` (a duplicate check that holds only inside one call, as
/// Worldpay's single-use action links) that cannot be listed: each send refunds anew.
pub static NO_REFUND_LIST: Capabilities = {
    let mut c = caps(
        IdempotencySupport::RejectDuplicate { lookup: "by reference" },
        IdempotencySupport::RejectDuplicate { lookup: "none" },
        true,
    );
    c.refund.list = false;
    c
};
/// Refunds that finish later and cannot be read back (Worldpay's: 202, then the payment's events).
pub static PENDING_REFUNDS: Capabilities = {
    let mut c = caps(
        IdempotencySupport::RejectDuplicate { lookup: "by reference" },
        IdempotencySupport::RejectDuplicate { lookup: "none" },
        true,
    );
    c.refund.list = false;
    c.refund.retrieve = false;
    c.refund.async_completion = true;
    c
};
/// Nothing makes a repeated charge safe, and there is no lookup.
pub static NONE_BLIND: Capabilities = caps(IdempotencySupport::None, IdempotencySupport::None, false);
/// Nothing makes a repeated charge safe, but charges can be found by reference.
pub static NONE_FINDABLE: Capabilities = caps(IdempotencySupport::None, IdempotencySupport::None, true);

#[derive(Default)]
struct Ledger {
    charges: Vec<ChargeRecord>,
    by_key: HashMap<String, ChargeRecord>,
    refunds: Vec<RefundRecord>,
    refunds_by_key: HashMap<String, RefundRecord>,
    faults: VecDeque<Fault>,
    sends: usize,
    tokens: usize,
}

/// The scripted provider; clones share one ledger.
#[derive(Clone)]
pub struct Fake {
    caps: &'static Capabilities,
    ledger: Arc<Mutex<Ledger>>,
}

impl Fake {
    /// A provider with these capabilities.
    pub fn new(caps: &'static Capabilities) -> Fake {
        Fake { caps, ledger: Arc::default() }
    }

    /// A client on it.
    pub fn client(&self) -> PaymentClient {
        PaymentClient::new(Arc::new(self.clone()))
    }

    /// Queues faults for the next calls, in order.
    pub fn fail_next(&self, faults: &[Fault]) {
        self.ledger.lock().unwrap().faults.extend(faults.iter().copied());
    }

    /// Charges it holds.
    pub fn charges(&self) -> Vec<ChargeRecord> {
        self.ledger.lock().unwrap().charges.clone()
    }

    /// A charge made at the provider by someone else (its dashboard, another app).
    pub fn add_charge(&self, charge: ChargeRecord) {
        self.ledger.lock().unwrap().charges.push(charge);
    }

    /// Refunds it holds.
    pub fn refunds(&self) -> Vec<RefundRecord> {
        self.ledger.lock().unwrap().refunds.clone()
    }

    /// Mutating requests that reached it.
    pub fn sends(&self) -> usize {
        self.ledger.lock().unwrap().sends
    }

    /// Cards tokenized.
    pub fn tokens(&self) -> usize {
        self.ledger.lock().unwrap().tokens
    }

    /// The payer pays every pending charge.
    pub fn complete_all(&self) {
        for c in &mut self.ledger.lock().unwrap().charges {
            if c.status == ChargeStatus::Pending {
                c.status = ChargeStatus::Succeeded;
                c.amount_captured = c.amount;
            }
        }
    }

    fn take_fault(&self) -> Option<Fault> {
        self.ledger.lock().unwrap().faults.pop_front()
    }

    fn answer<T>(&self, fault: Option<Fault>, value: T) -> Result<T> {
        match fault {
            Some(Fault::LoseAnswer) => Err(lost()),
            Some(Fault::AlterEcho) => Err(Error::new(ErrorKind::Integrity, "the answer echoed another amount")),
            _ => Ok(value),
        }
    }
}

/// A list that is one page.
struct OnePage(Mutex<Option<Vec<ChargeRecord>>>);

#[async_trait]
impl Paginate<ChargeRecord> for OnePage {
    async fn fetch_page(&self, _: Option<&PageCursor>) -> Result<Page<ChargeRecord>> {
        Ok(Page { items: self.0.lock().unwrap().take().unwrap_or_default(), next: None })
    }
}

fn lost() -> Error {
    Error::new(ErrorKind::Timeout, "the answer was lost").into_outcome_unknown()
}

fn record(id: String, request: &CreateCharge) -> ChargeRecord {
    let pending = matches!(request.source, PaymentSource::Channel { .. });
    let zero = Money::new(0, request.amount.currency);
    ChargeRecord {
        provider: "fake".into(),
        id: ChargeId::new(id),
        status: if pending {
            ChargeStatus::Pending
        } else if request.capture {
            ChargeStatus::Succeeded
        } else {
            ChargeStatus::Authorized
        },
        amount: request.amount,
        amount_captured: if request.capture && !pending { request.amount } else { zero },
        amount_refunded: zero,
        reference: request.reference.clone(),
        description: request.description.clone(),
        metadata: request.metadata.clone(),
        created: Timestamp::now(),
        next_action: None,
        failure: None,
        raw: serde_json::json!({}).into(),
    }
}

#[async_trait]
impl Charge for Fake {
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        let fault = self.take_fault();
        match fault {
            Some(Fault::Refuse) => return Err(Error::new(ErrorKind::Network, "connection refused")),
            Some(Fault::LoseRequest) => return Err(lost()),
            _ => {}
        }
        // The request reached the ledger: what the engine would record for a real provider.
        mark_sent();
        if fault == Some(Fault::RateLimit) {
            return Err(Error::new(ErrorKind::RateLimited, "slow down").with_http_status(429));
        }
        if let PaymentSource::Card(card) = &request.source
            && card.last4() == "0002"
        {
            return Err(Error::new(ErrorKind::CardDeclined(payment_core::DeclineReason::DoNotHonor), "declined")
                .with_http_status(402));
        }
        let key = options.idempotency_key.clone().expect("the journal always sends a key");
        let mut l = self.ledger.lock().unwrap();
        l.sends += 1;
        if self.caps.idempotency.create_charge == IdempotencySupport::Replay
            && let Some(done) = l.by_key.get(key.as_str())
        {
            let done = done.clone();
            drop(l);
            return self.answer(fault, done);
        }
        if let Some(r) = &request.reference
            && matches!(self.caps.idempotency.create_charge, IdempotencySupport::RejectDuplicate { .. })
            && l.charges.iter().any(|c| c.reference.as_ref() == Some(r))
        {
            return Err(Error::new(ErrorKind::Conflict, format!("reference {r} is used")).with_http_status(400));
        }
        let c = record(format!("ch_{}", l.charges.len() + 1), &request);
        l.charges.push(c.clone());
        l.by_key.insert(key.as_str().to_owned(), c.clone());
        drop(l);
        self.answer(fault, c)
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        let l = self.ledger.lock().unwrap();
        l.charges
            .iter()
            .find(|c| &c.id == id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such charge").with_http_status(404))
    }

    async fn capture_charge(&self, id: &ChargeId, amount: Option<Money>, _: &RequestOptions) -> Result<ChargeRecord> {
        let fault = self.take_fault();
        if fault == Some(Fault::Refuse) {
            return Err(Error::new(ErrorKind::Network, "connection refused"));
        }
        mark_sent();
        if fault == Some(Fault::LoseRequest) {
            return Err(lost());
        }
        let mut l = self.ledger.lock().unwrap();
        l.sends += 1;
        let c = l
            .charges
            .iter_mut()
            .find(|c| &c.id == id)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such charge").with_http_status(404))?;
        if c.status != ChargeStatus::Authorized {
            return Err(Error::new(ErrorKind::InvalidRequest, "not authorized").with_http_status(400));
        }
        c.status = ChargeStatus::Succeeded;
        c.amount_captured = amount.unwrap_or(c.amount);
        let c = c.clone();
        drop(l);
        self.answer(fault, c)
    }

    async fn cancel_charge(&self, id: &ChargeId, _: &RequestOptions) -> Result<ChargeRecord> {
        mark_sent();
        let mut l = self.ledger.lock().unwrap();
        l.sends += 1;
        let c = l
            .charges
            .iter_mut()
            .find(|c| &c.id == id)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such charge").with_http_status(404))?;
        c.status = ChargeStatus::Canceled;
        Ok(c.clone())
    }

    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        if !self.caps.charge.list {
            return ListPaginator::failed(Error::unsupported("no list"));
        }
        let within = |c: &&ChargeRecord| {
            query.created_from.is_none_or(|f| c.created >= f) && query.created_to.is_none_or(|t| c.created < t)
        };
        let items: Vec<ChargeRecord> = self.ledger.lock().unwrap().charges.iter().filter(within).cloned().collect();
        ListPaginator::new(Arc::new(OnePage(Mutex::new(Some(items)))))
    }

    async fn prepare_charge(
        &self,
        mut request: CreateCharge,
        key: &payment_core::IdempotencyKey,
        _: &RequestOptions,
    ) -> Result<CreateCharge> {
        if let PaymentSource::Card(card) = &request.source
            && card.last4() != "0002"
        {
            self.ledger.lock().unwrap().tokens += 1;
            request.source = PaymentSource::Token(format!("tok_{}", key.as_str()));
        }
        if request.reference.is_none() && self.caps.charge.find_by_reference {
            request.reference = Some(format!("ref-{}", key.as_str()));
        }
        Ok(request)
    }

    async fn find_charge(&self, request: &CreateCharge, _: Timestamp) -> Result<Option<ChargeRecord>> {
        let l = self.ledger.lock().unwrap();
        Ok(l.charges.iter().find(|c| c.reference == request.reference).cloned())
    }
}

struct RefundList(Vec<RefundRecord>);

#[async_trait]
impl Paginate<RefundRecord> for RefundList {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<RefundRecord>> {
        // Two per page, so lookups walk pages.
        let start = cursor.and_then(PageCursor::as_offset).unwrap_or(0) as usize;
        let items: Vec<_> = self.0.iter().skip(start).take(2).cloned().collect();
        let next = (start + 2 < self.0.len()).then(|| PageCursor::offset((start + 2) as u64));
        Ok(Page { items, next })
    }
}

#[async_trait]
impl Refund for Fake {
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let fault = self.take_fault();
        match fault {
            Some(Fault::Refuse) => return Err(Error::new(ErrorKind::Network, "connection refused")),
            Some(Fault::LoseRequest) => return Err(lost()),
            _ => {}
        }
        // The request reached the ledger: what the engine would record for a real provider.
        mark_sent();
        if fault == Some(Fault::RateLimit) {
            return Err(Error::new(ErrorKind::RateLimited, "slow down").with_http_status(429));
        }
        let key = options.idempotency_key.clone().expect("the journal always sends a key");
        let mut l = self.ledger.lock().unwrap();
        l.sends += 1;
        if self.caps.idempotency.create_refund == IdempotencySupport::Replay
            && let Some(done) = l.refunds_by_key.get(key.as_str())
        {
            let done = done.clone();
            drop(l);
            return self.answer(fault, done);
        }
        let charge = l
            .charges
            .iter_mut()
            .find(|c| c.id == request.charge_id)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such charge").with_http_status(404))?;
        let amount = request.amount.unwrap_or(charge.amount);
        charge.amount_refunded = Money::new(charge.amount_refunded.minor + amount.minor, amount.currency);
        let r = RefundRecord {
            provider: "fake".into(),
            id: RefundId::new(format!("re_{}", l.refunds.len() + 1)),
            charge_id: request.charge_id.clone(),
            // Refunds that cannot be read back finish later, as Worldpay's (202, then an event).
            status: if self.caps.refund.async_completion { RefundStatus::Pending } else { RefundStatus::Succeeded },
            amount,
            reason: request.reason.clone(),
            created: Timestamp::now(),
            raw: serde_json::json!({}).into(),
        };
        l.refunds.push(r.clone());
        l.refunds_by_key.insert(key.as_str().to_owned(), r.clone());
        drop(l);
        self.answer(fault, r)
    }

    async fn retrieve_refund(&self, _: &ChargeId, id: &RefundId) -> Result<RefundRecord> {
        let l = self.ledger.lock().unwrap();
        l.refunds
            .iter()
            .find(|r| &r.id == id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such refund").with_http_status(404))
    }

    fn list_refunds(&self, charge_id: &ChargeId, _: ListRefunds) -> ListPaginator<RefundRecord> {
        let l = self.ledger.lock().unwrap();
        let mine = l.refunds.iter().filter(|r| &r.charge_id == charge_id).cloned().collect();
        ListPaginator::new(Arc::new(RefundList(mine)))
    }
}

impl Provider for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn capabilities(&self) -> &'static Capabilities {
        self.caps
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl fmt::Debug for Fake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fake")
    }
}

impl fmt::Display for Fake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fake")
    }
}

/// A JPY charge from a token.
pub fn charge(amount: i64) -> CreateCharge {
    CreateCharge::new(Money::new(amount, Currency::JPY), PaymentSource::Token("tok_visa".into()))
}

/// The same charge from another source.
pub fn with_source(mut request: CreateCharge, source: PaymentSource) -> CreateCharge {
    request.source = source;
    request
}

/// Options with a key.
pub fn key(k: &str) -> RequestOptions {
    RequestOptions::with_key(payment_core::IdempotencyKey::new(k).unwrap())
}

/// Metadata helper kept for readability in tests.
pub fn meta() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// Journal options short enough for tests.
pub fn options() -> JournalOptions {
    JournalOptions {
        lease: Duration::from_millis(600),
        recovery_lease: Duration::from_secs(5),
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        settle_horizon: Duration::from_millis(100),
        event_wait: Duration::from_secs(3600),
        recovery_concurrency: 8,
    }
}

/// One memory and one SQLite store (in a fresh directory kept alive by the returned guard).
pub async fn stores() -> (Vec<Arc<dyn JournalStore>>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("journal.db"), payment_journal::Durability::Full).await.unwrap();
    (vec![Arc::new(MemoryStore::new()), Arc::new(sqlite)], dir)
}

/// A journal over `store` and a client of `fake` through it.
pub fn journaled(fake: &Fake, store: &Arc<dyn JournalStore>) -> (Journal, PaymentClient) {
    let journal = Journal::with_options(store.clone(), options());
    let client = fake.client().with_journal(journal.clone());
    (journal, client)
}

/// The state of payment `k`.
pub async fn state(journal: &Journal, k: &str) -> AttemptState {
    journal.payment(k).await.unwrap().expect("the payment is journaled").state
}

/// A webhook event for `charge`.
pub fn webhook_for(
    charge: &payment_core::ChargeRecord,
    kind: payment_core::EventKind,
    trust: payment_core::Trust,
    id: &str,
) -> payment_core::WebhookEvent {
    payment_core::WebhookEvent {
        id: id.into(),
        provider: "fake".into(),
        kind,
        object_id: Some(charge.id.to_string()),
        reference: charge.reference.clone(),
        refund_reference: None,
        amount: Some(charge.amount),
        trust,
        occurred_at: None,
        record: payment_core::EventRecord::Charge(Box::new(charge.clone())),
        raw: serde_json::json!({}),
    }
}
