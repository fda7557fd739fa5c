//! The in-memory provider (`provider = "memory"`): the neutral semantics without a network, for
//! apps' own unit tests and to prove the conformance suite.

mod state;

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use payment_core::{
    AmountLimit, Capabilities, Charge, ChargeCapabilities, ChargeId, ChargeRecord, CreateCharge, CreateRefund,
    Currency, DeclineReason, Error, Fixtures, IdempotencyCapabilities, IdempotencySupport, ListCapabilities,
    ListCharges, ListPaginator, ListRefunds, ListStyle, Money, Mutation, Page, PageCursor, Paginate, PaymentClient,
    PaymentSource, ProviderDriver, ProviderSettings, Refund, RefundCapabilities, RefundId, RefundRecord,
    RequestOptions, Result, SourceCapabilities,
};

use state::MemoryState;

/// The provider's name.
pub const NAME: &str = "memory";

/// What the in-memory provider supports: everything the neutral API has, with cursor pages.
pub const CAPABILITIES: Capabilities = Capabilities {
    charge: ChargeCapabilities {
        create: true,
        retrieve: true,
        capture_later: true,
        partial_capture: true,
        cancel: true,
        list: true,
        async_completion: false,
        partial_amounts_on_read: true,
        amounts_echoed: true,
        find_by_reference: false,
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
    list: ListCapabilities { style: ListStyle::Cursor, max_limit: 100, oldest_first: true, late_data_secs: 0 },
    idempotency: IdempotencyCapabilities {
        create_charge: IdempotencySupport::Replay,
        capture_charge: IdempotencySupport::Replay,
        cancel_charge: IdempotencySupport::Replay,
        complete_charge: IdempotencySupport::Replay,
        create_refund: IdempotencySupport::Replay,
        replay_window: payment_core::capabilities::DEFAULT_REPLAY_WINDOW,
        visibility_lag: std::time::Duration::ZERO,
    },
    sources: SourceCapabilities { token: true, customer: false, card: true, channel: false },
    currencies: &[],
    amount_limits: &[AmountLimit { currency: Currency::JPY, min: 1, max: 99_999_999 }],
    webhooks: false,
    soft_declines: &[],
};

/// The driver the facade registers.
pub static DRIVER: ProviderDriver = ProviderDriver {
    name: NAME,
    description: "in-memory provider for tests (no network)",
    capabilities: &CAPABILITIES,
    config_keys: &[],
    connect: |settings, _engine| Box::pin(async move { connect(&settings) }),
    fixtures,
    mock: None,
    webhooks: None,
};

/// A token that succeeds, one declined for insufficient funds, and one amount per exponent.
fn fixtures() -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::JPY),
        source: PaymentSource::Token("tok_visa".into()),
        decline: Some((PaymentSource::Token("tok_insufficient".into()), DeclineReason::InsufficientFunds)),
        currencies: vec![
            Money::new(1000, Currency::JPY),
            Money::new(1234, Currency::CNY),
            Money::new(1005, Currency::BHD),
        ],
        authentication: None,
    }
}

fn connect(settings: &ProviderSettings) -> Result<PaymentClient> {
    settings.check_keys(&[])?;
    Ok(PaymentClient::new(Arc::new(MemoryProvider::new())))
}

/// An in-memory provider: cheap clone over shared state.
///
/// Test sources: token `tok_decline` or card `4000000000000002` decline (do_not_honor);
/// `tok_insufficient` or card `4000000000009995` decline (insufficient_funds); any other token or
/// Luhn-valid card succeeds.
#[derive(Clone, Default)]
pub struct MemoryProvider {
    state: Arc<Mutex<MemoryState>>,
}

impl MemoryProvider {
    /// A provider with no charges.
    pub fn new() -> MemoryProvider {
        MemoryProvider::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut MemoryState) -> Result<T>) -> Result<T> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }

    /// A mutating request reaching the ledger: recorded as sent (there is no engine to see it),
    /// and refused the way a provider refuses, with an HTTP status, so a journal reads the
    /// refusal as the provider's definite answer.
    fn mutate<T>(&self, f: impl FnOnce(&mut MemoryState) -> Result<T>) -> Result<T> {
        payment_core::transport::delivery::mark_sent();
        self.with(f).map_err(|e| {
            let status = match e.kind() {
                payment_core::ErrorKind::CardDeclined(_) => 402,
                payment_core::ErrorKind::NotFound => 404,
                payment_core::ErrorKind::Conflict | payment_core::ErrorKind::IdempotencyConflict => 409,
                _ => 400,
            };
            e.with_http_status(status)
        })
    }

    /// How many charges exist (for exactly-once assertions).
    pub fn charge_count(&self) -> usize {
        self.with(|s| Ok(s.charge_count())).unwrap_or(0)
    }
}

impl fmt::Debug for MemoryProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryProvider").field("charges", &self.charge_count()).finish()
    }
}

impl fmt::Display for MemoryProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("memory (in-process)")
    }
}

#[async_trait]
impl Charge for MemoryProvider {
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        self.mutate(|s| s.idempotent(key, Mutation::CreateCharge(request), |s, op| s.create_charge(op)))
            .and_then(state::Outcome::charge)
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        self.with(|s| s.charge(id).cloned())
    }

    async fn capture_charge(
        &self,
        id: &ChargeId,
        amount: Option<Money>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        self.mutate(|s| {
            s.idempotent(key, Mutation::CaptureCharge { charge_id: id.clone(), amount }, |s, op| s.capture(op))
        })
        .and_then(state::Outcome::charge)
    }

    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        let key = options.key_or_generate();
        self.mutate(|s| s.idempotent(key, Mutation::CancelCharge { charge_id: id.clone() }, |s, op| s.cancel(op)))
            .and_then(state::Outcome::charge)
    }

    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        ListPaginator::new(Arc::new(ChargePages { provider: self.clone(), query }))
    }
}

#[async_trait]
impl Refund for MemoryProvider {
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let key = options.key_or_generate();
        self.mutate(|s| s.idempotent(key, Mutation::CreateRefund(request), |s, op| s.refund(op)))
            .and_then(state::Outcome::refund)
    }

    async fn retrieve_refund(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord> {
        self.with(|s| s.refund_record(charge_id, refund_id))
    }

    fn list_refunds(&self, charge_id: &ChargeId, query: ListRefunds) -> ListPaginator<RefundRecord> {
        ListPaginator::new(Arc::new(RefundPages { provider: self.clone(), charge_id: charge_id.clone(), query }))
    }
}

payment_core::provider_impl!(MemoryProvider, DRIVER);

struct ChargePages {
    provider: MemoryProvider,
    query: ListCharges,
}

#[async_trait]
impl Paginate<ChargeRecord> for ChargePages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<ChargeRecord>> {
        let limit = self.query.page_size.unwrap_or(10).clamp(1, CAPABILITIES.list.max_limit) as usize;
        self.provider.with(|s| Ok(s.charge_page(&self.query, cursor.and_then(PageCursor::as_after), limit)))
    }
}

struct RefundPages {
    provider: MemoryProvider,
    charge_id: ChargeId,
    query: ListRefunds,
}

#[async_trait]
impl Paginate<RefundRecord> for RefundPages {
    async fn fetch_page(&self, cursor: Option<&PageCursor>) -> Result<Page<RefundRecord>> {
        let limit = self.query.page_size.unwrap_or(10).clamp(1, CAPABILITIES.list.max_limit) as usize;
        self.provider.with(|s| s.refund_page(&self.charge_id, cursor.and_then(PageCursor::as_after), limit))
    }
}

/// Makes errors the way the memory provider reports them.
fn not_found(what: &str, id: &str) -> Error {
    Error::new(payment_core::ErrorKind::NotFound, format!("no such {what}: {id}"))
}
