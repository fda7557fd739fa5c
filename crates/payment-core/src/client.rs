//! `PaymentClient`: the handle apps hold; checks capabilities before any I/O.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::action::CompletionData;
use crate::capabilities::Capabilities;
use crate::charge::{ChargeId, ChargeRecord, CreateCharge, ListCharges, ListOrder};
use crate::error::{Error, ErrorKind, Outcome, Result};
use crate::idempotency::IdempotencyKey;
use crate::idempotency::RequestOptions;
use crate::journaling::{Mutation, MutationOutput};
use crate::money::Money;
use crate::operation::Operation;
use crate::pagination::ListPaginator;
use crate::provider::Provider;
use crate::refund::{CreateRefund, ListRefunds, RefundId, RefundRecord};
use crate::source::PaymentSource;
use crate::telemetry;
use crate::time::Timestamp;
use crate::transport::delivery;

/// A cheap-to-clone handle on one provider, with capability checks before any I/O.
#[derive(Clone)]
pub struct PaymentClient {
    provider: Arc<dyn Provider>,
    // Keeps an embedded mock server (or anything else the client needs) alive as long as the client.
    keep_alive: Option<Arc<dyn Any + Send + Sync>>,
    // Every mutating call goes through it when set.
    journal: Option<Arc<dyn CallJournal>>,
    // The account's name when it is not the provider's (`payjp-backup`).
    account: Option<Arc<str>>,
    // Whether calls open their own operation span and count in the operation metrics: not when
    // the journal sends through this client on behalf of an outer call that already does.
    observed: bool,
}

impl PaymentClient {
    /// Wraps a provider.
    pub fn new(provider: Arc<dyn Provider>) -> PaymentClient {
        PaymentClient { provider, keep_alive: None, journal: None, account: None, observed: true }
    }

    /// Wraps a provider and keeps `guard` alive with it (e.g. an embedded mock server).
    pub fn with_keep_alive(provider: Arc<dyn Provider>, guard: Arc<dyn Any + Send + Sync>) -> PaymentClient {
        PaymentClient { provider, keep_alive: Some(guard), journal: None, account: None, observed: true }
    }

    /// This client, keeping `guard` alive with it instead of what it kept before.
    pub fn keeping(self, guard: Arc<dyn Any + Send + Sync>) -> PaymentClient {
        PaymentClient { keep_alive: Some(guard), ..self }
    }

    /// This client under an account name (`payjp-backup`): what a journal records its attempts
    /// under and a router names it by. Without one, the account is the provider's name.
    pub fn with_account(self, account: impl Into<Arc<str>>) -> PaymentClient {
        PaymentClient { account: Some(account.into()), ..self }
    }

    /// The account's name: the one given to [`PaymentClient::with_account`], else the provider's.
    pub fn account(&self) -> &str {
        self.account.as_deref().unwrap_or(self.provider.name())
    }

    /// This client with every mutating call (charge, capture, cancel, refund) recorded by `journal`
    /// before its first byte goes out and settled after, so a crash loses nothing.
    ///
    /// `client.with_journal(journal)` with a `payment_journal::Journal` (or any [`CallJournal`]).
    pub fn with_journal(self, journal: impl CallJournal + 'static) -> PaymentClient {
        PaymentClient { journal: Some(Arc::new(journal)), ..self }
    }

    /// The journal this client records its mutating calls in, if any.
    pub fn journal(&self) -> Option<&Arc<dyn CallJournal>> {
        self.journal.as_ref()
    }

    /// The same client without its journal: what a journal itself sends and recovers through.
    pub fn unjournaled(&self) -> PaymentClient {
        PaymentClient { journal: None, observed: true, ..self.clone() }
    }

    async fn journaled(
        &self,
        journal: &Arc<dyn CallJournal>,
        m: Mutation,
        o: &RequestOptions,
    ) -> Result<MutationOutput> {
        let op = m.operation();
        let sender = PaymentClient { journal: None, observed: false, ..self.clone() };
        journal.execute(&sender, m, o).await.map_err(self.stamp(op))
    }

    /// Runs one operation in its span (`payment create_charge`) and records its outcome and
    /// duration (see [`crate::telemetry`]).
    async fn observe<T>(
        &self,
        operation: Operation,
        options: Option<&RequestOptions>,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        if !self.observed {
            return call.await;
        }
        let (provider, account, op) = (self.provider.name(), self.account(), operation.as_str());
        let key = options.and_then(|o| o.idempotency_key.as_ref()).map(IdempotencyKey::as_str);
        let span = telemetry::operation_span(provider, account, op, key);
        let started = std::time::Instant::now();
        let result = tracing::Instrument::instrument(call, span.clone()).await;
        telemetry::operation_ended(&span, (provider, account, op), &result, started.elapsed());
        result
    }

    /// Runs one mutating provider call. An error the provider made after its request may have
    /// arrived (an echoed amount refused after a 2xx, say) becomes `OutcomeUnknown` with the
    /// key: the money may have moved, so the caller must never read it as a definite failure.
    async fn mutate<T>(
        &self,
        operation: Operation,
        options: &RequestOptions,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let (result, delivery) = delivery::observe(call).await;
        result.map_err(|e| {
            let e = self.stamp(operation)(e);
            if e.outcome() == Outcome::Definite && delivery::effect_of(&e, delivery) == delivery::Effect::Unknown {
                let e = match (&options.idempotency_key, e.idempotency_key()) {
                    (Some(key), None) => e.with_idempotency_key(key.clone()),
                    _ => e,
                };
                // An integrity error stays one (the answer disagreed with the request); any other
                // error made after the request arrived says nothing of what the provider did.
                return if e.kind() == ErrorKind::Integrity {
                    e.with_outcome_unknown()
                } else {
                    e.into_outcome_unknown()
                };
            }
            e
        })
    }

    /// Names the provider, and the operation unless a more precise one (a sub-request) is set:
    /// every error from this client says where it came from, whoever made it.
    fn stamp(&self, operation: Operation) -> impl Fn(Error) -> Error + Send + 'static {
        let provider = self.provider.name();
        move |e: Error| {
            let e = e.with_provider(provider);
            if e.operation().is_none() { e.with_operation(operation) } else { e }
        }
    }

    /// The provider's name.
    pub fn provider_name(&self) -> &'static str {
        self.provider.name()
    }

    /// What the provider supports.
    pub fn capabilities(&self) -> &'static Capabilities {
        self.provider.capabilities()
    }

    /// The provider itself.
    pub fn provider(&self) -> &Arc<dyn Provider> {
        &self.provider
    }

    /// The concrete provider client, for provider-only operations.
    pub fn native<T: 'static>(&self) -> Option<&T> {
        self.provider.as_any().downcast_ref::<T>()
    }

    /// The object kept alive with this client, if any (e.g. the embedded mock's handle).
    pub fn keep_alive<T: 'static>(&self) -> Option<&T> {
        self.keep_alive.as_deref().and_then(|k| k.downcast_ref::<T>())
    }

    fn refuse(&self, operation: Operation, what: String) -> Error {
        self.stamp(operation)(Error::unsupported(format!("{} does not support {what}", self.provider.name())))
    }

    fn check_amount(&self, operation: Operation, amount: Money, limits: bool) -> Result<()> {
        let caps = self.capabilities();
        let tag = self.stamp(operation);
        if amount.minor <= 0 {
            return Err(tag(Error::invalid(format!("amount must be positive, got {amount}"))));
        }
        if !caps.accepts_currency(amount.currency) {
            return Err(self.refuse(operation, format!("currency {}", amount.currency)));
        }
        if let Some(limit) = caps.limit_broken_by(amount).filter(|_| limits) {
            return Err(tag(Error::invalid(format!(
                "amount {amount} is outside {}'s limits {}..={} {}",
                self.provider.name(),
                limit.min,
                limit.max,
                limit.currency
            ))));
        }
        Ok(())
    }

    /// Creates a charge (see [`crate::Charge::create_charge`]).
    pub async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        self.observe(Operation::CreateCharge, Some(options), async {
            let caps = self.capabilities();
            let op = Operation::CreateCharge;
            if !caps.charge.create {
                return Err(self.refuse(op, "creating charges".into()));
            }
            if !request.capture && !caps.charge.capture_later {
                return Err(self.refuse(op, "authorize now, capture later".into()));
            }
            if let Some(key) = request.metadata.keys().find(|k| crate::charge::is_reserved_metadata(k)) {
                return Err(self.stamp(op)(Error::invalid(format!(
                    "metadata key {key:?} is reserved: the library writes it to say what a provider's figures mean"
                ))));
            }
            let source_ok = match &request.source {
                PaymentSource::Token(_) => caps.sources.token,
                PaymentSource::Customer(_) => caps.sources.customer,
                PaymentSource::Card(_) => caps.sources.card,
                PaymentSource::Channel { .. } => caps.sources.channel,
            };
            if !source_ok {
                return Err(self.refuse(op, format!("{} payment sources", request.source.kind())));
            }
            self.check_amount(op, request.amount, true)?;
            if request.authentication.is_some() && !caps.charge.customer_authentication {
                return Err(self.refuse(op, "customer authentication (3-D Secure)".into()));
            }
            if let Some(journal) = &self.journal {
                return match self.journaled(journal, Mutation::CreateCharge(request), options).await? {
                    MutationOutput::Charge(record) => Ok(record),
                    MutationOutput::Refund(r) => Err(self.stamp(op)(mismatched_output("a refund", r.id.as_str()))),
                };
            }
            self.mutate(op, options, self.provider.create_charge(request, options)).await
        })
        .await
    }

    /// Reads a charge.
    pub async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        self.observe(Operation::RetrieveCharge, None, async {
            if !self.capabilities().charge.retrieve {
                return Err(self.refuse(Operation::RetrieveCharge, "reading charges".into()));
            }
            self.provider.retrieve_charge(id).await.map_err(self.stamp(Operation::RetrieveCharge))
        })
        .await
    }

    /// Captures an authorized charge, in full or in part.
    pub async fn capture_charge(
        &self,
        id: &ChargeId,
        amount: Option<Money>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        self.observe(Operation::CaptureCharge, Some(options), async {
            let caps = self.capabilities();
            if !caps.charge.capture_later {
                return Err(self.refuse(Operation::CaptureCharge, "capturing later".into()));
            }
            if let Some(amount) = amount {
                if !caps.charge.partial_capture {
                    return Err(self.refuse(Operation::CaptureCharge, "partial capture".into()));
                }
                self.check_amount(Operation::CaptureCharge, amount, false)?;
            }
            if let Some(journal) = &self.journal {
                let m = Mutation::CaptureCharge { charge_id: id.clone(), amount };
                return self.charge_output(Operation::CaptureCharge, self.journaled(journal, m, options).await?);
            }
            self.mutate(Operation::CaptureCharge, options, self.provider.capture_charge(id, amount, options)).await
        })
        .await
    }

    /// Cancels a charge that is not captured.
    pub async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        self.observe(Operation::CancelCharge, Some(options), async {
            if !self.capabilities().charge.cancel {
                return Err(self.refuse(Operation::CancelCharge, "canceling charges".into()));
            }
            if let Some(journal) = &self.journal {
                let m = Mutation::CancelCharge { charge_id: id.clone() };
                return self.charge_output(Operation::CancelCharge, self.journaled(journal, m, options).await?);
            }
            self.mutate(Operation::CancelCharge, options, self.provider.cancel_charge(id, options)).await
        })
        .await
    }

    /// Completes a charge that was `requires_action` once the customer is back (see
    /// [`crate::Charge::complete_charge`]).
    pub async fn complete_charge(
        &self,
        id: &ChargeId,
        data: &CompletionData,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        self.observe(Operation::CompleteCharge, Some(options), async {
            let op = Operation::CompleteCharge;
            let caps = &self.capabilities().charge;
            if !caps.customer_authentication && !caps.async_completion {
                return Err(self.refuse(op, "completing charges (it has no customer step)".into()));
            }
            if let Some(journal) = &self.journal {
                let m = Mutation::CompleteCharge { charge_id: id.clone(), data: data.clone() };
                return self.charge_output(op, self.journaled(journal, m, options).await?);
            }
            self.mutate(op, options, self.provider.complete_charge(id, data, options)).await
        })
        .await
    }

    /// The currency of a charge when its id says it (no I/O): what a partial refund needs when
    /// the provider cannot read the charge back.
    pub fn currency_of(&self, id: &ChargeId) -> Option<crate::money::Currency> {
        self.provider.currency_of(id)
    }

    /// Lists charges lazily.
    pub fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        let caps = self.capabilities();
        if !caps.charge.list {
            return ListPaginator::failed(self.refuse(Operation::ListCharges, "listing charges".into()));
        }
        if query.order == ListOrder::OldestFirst && !caps.list.oldest_first {
            return ListPaginator::failed(self.refuse(Operation::ListCharges, "listing oldest first".into()));
        }
        if let Some(size) = query.page_size
            && (size == 0 || size > caps.list.max_limit)
        {
            let e = Error::invalid(format!("page size {size} is not within 1..={}", caps.list.max_limit));
            return ListPaginator::failed(self.stamp(Operation::ListCharges)(e));
        }
        self.provider.list_charges(query).map_err(self.stamp(Operation::ListCharges))
    }

    /// Refunds a charge in full or in part.
    pub async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        self.observe(Operation::CreateRefund, Some(options), async {
            let caps = self.capabilities();
            match request.amount {
                None if !caps.refund.full => return Err(self.refuse(Operation::CreateRefund, "full refunds".into())),
                Some(_) if !caps.refund.partial => {
                    return Err(self.refuse(Operation::CreateRefund, "partial refunds".into()));
                }
                // A charge's minimum does not bind its refunds: only sign and currency are checked.
                Some(amount) => self.check_amount(Operation::CreateRefund, amount, false)?,
                None => {}
            }
            if let Some(journal) = &self.journal {
                return match self.journaled(journal, Mutation::CreateRefund(request), options).await? {
                    MutationOutput::Refund(record) => Ok(record),
                    MutationOutput::Charge(c) => {
                        Err(self.stamp(Operation::CreateRefund)(mismatched_output("a charge", c.id.as_str())))
                    }
                };
            }
            self.mutate(Operation::CreateRefund, options, self.provider.create_refund(request, options)).await
        })
        .await
    }

    /// The request as the provider will send it under `key` (see [`crate::Charge::prepare_charge`]).
    pub async fn prepare_charge(
        &self,
        request: CreateCharge,
        key: &IdempotencyKey,
        options: &RequestOptions,
    ) -> Result<CreateCharge> {
        self.provider.prepare_charge(request, key, options).await.map_err(self.stamp(Operation::CreateCharge))
    }

    /// The refund as the provider will send it (see [`crate::Refund::prepare_refund`]).
    pub async fn prepare_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<CreateRefund> {
        self.provider.prepare_refund(request, options).await.map_err(self.stamp(Operation::CreateRefund))
    }

    /// Finds the charge a prepared `request` created (see [`crate::Charge::find_charge`]).
    pub async fn find_charge(&self, request: &CreateCharge, created_from: Timestamp) -> Result<Option<ChargeRecord>> {
        self.observe(Operation::FindCharge, None, async {
            if !self.capabilities().charge.find_by_reference {
                return Err(self.refuse(Operation::FindCharge, "finding charges by reference".into()));
            }
            self.provider.find_charge(request, created_from).await.map_err(self.stamp(Operation::FindCharge))
        })
        .await
    }

    fn charge_output(&self, operation: Operation, output: MutationOutput) -> Result<ChargeRecord> {
        match output {
            MutationOutput::Charge(record) => Ok(record),
            MutationOutput::Refund(r) => Err(self.stamp(operation)(mismatched_output("a refund", r.id.as_str()))),
        }
    }

    /// Reads one refund.
    pub async fn retrieve_refund(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord> {
        self.observe(Operation::RetrieveRefund, None, async {
            if !self.capabilities().refund.retrieve {
                return Err(self.refuse(Operation::RetrieveRefund, "reading single refunds".into()));
            }
            self.provider.retrieve_refund(charge_id, refund_id).await.map_err(self.stamp(Operation::RetrieveRefund))
        })
        .await
    }

    /// Lists a charge's refunds lazily.
    pub fn list_refunds(&self, charge_id: &ChargeId, query: ListRefunds) -> ListPaginator<RefundRecord> {
        if !self.capabilities().refund.list {
            return ListPaginator::failed(self.refuse(Operation::ListRefunds, "listing refunds".into()));
        }
        self.provider.list_refunds(charge_id, query).map_err(self.stamp(Operation::ListRefunds))
    }
}

/// A journal answered a charge call with a refund or the reverse: its record is not this call's.
fn mismatched_output(what: &str, id: &str) -> Error {
    Error::new(ErrorKind::IdempotencyConflict, format!("the journal holds {what} ({id}) for this idempotency key"))
}

impl fmt::Debug for PaymentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentClient").field("provider", &self.provider).finish_non_exhaustive()
    }
}

impl fmt::Display for PaymentClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.provider, f)
    }
}

/// Runs a client's mutating calls through a durable record. `client` is the same client without
/// the journal, so the journal's own calls (sending, looking up) are not journaled again.
#[async_trait]
pub trait CallJournal: Send + Sync + fmt::Debug {
    /// Records, sends and settles `mutation`, or answers it from the record of an earlier call
    /// with the same idempotency key.
    async fn execute(
        &self,
        client: &PaymentClient,
        mutation: Mutation,
        options: &RequestOptions,
    ) -> Result<MutationOutput>;
}

#[async_trait]
impl<J: CallJournal + ?Sized> CallJournal for std::sync::Arc<J> {
    async fn execute(
        &self,
        client: &PaymentClient,
        mutation: Mutation,
        options: &RequestOptions,
    ) -> Result<MutationOutput> {
        (**self).execute(client, mutation, options).await
    }
}
