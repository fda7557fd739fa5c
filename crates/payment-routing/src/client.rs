//! `RoutedClient`: one handle over several provider accounts. A new charge goes to the first
//! eligible account of the rule it matches; the next account is tried only when the attempt is
//! proven not to have charged. Everything else goes to the account that holds the charge.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use payment_core::{
    ChargeId, ChargeRecord, CreateCharge, CreateRefund, Error, ErrorKind, ListCharges, ListPaginator, ListRefunds,
    Money, Mutation, MutationOutput, PaymentClient, RefundId, RefundRecord, RequestOptions, Result,
};
use payment_journal::{AttemptRules, AttemptState, ClientSource, Journal, JournalOptions, MemoryStore};

use crate::breaker::{Breaker, Clock, Health, SystemClock};
use crate::failover::{FailoverReason, failover_reason};
use crate::ids::{charge_at, refund_at, split, valid_account_name};
use crate::reconcile::DoubleCharge;
use crate::route_config::RouteConfig;
use crate::settings::RoutingSettings;
use crate::table::{AccountFacts, PaymentFacts, PaymentKind, RouteTable, Rule};

/// How many payments the router's own in-memory journal keeps when the application configures
/// none (the oldest settled ones are forgotten first).
pub const MEMORY_JOURNAL_PAYMENTS: usize = 100_000;

/// One account the router can send to.
#[derive(Debug, Clone)]
pub struct RoutedAccount {
    /// Its name (`payjp-backup`).
    pub name: String,
    /// Its client (no journal of its own: the router's journal records every attempt).
    pub client: PaymentClient,
    /// Its circuit breaker.
    pub breaker: Breaker,
}

/// What the application knows of a payment beyond the charge request itself.
#[derive(Debug, Clone, Default)]
pub struct RouteContext {
    /// The payer's region (`jp`, `cn`, …), matched by a rule's `region`.
    pub region: Option<String>,
}

/// One account the router left, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failover {
    /// The account that did not charge.
    pub account: String,
    /// Why the payment moved on.
    pub reason: FailoverReason,
}

/// A routed charge's result with how it got there.
#[derive(Debug)]
pub struct Routed<T> {
    /// The charge (its id `ACCOUNT/ID`), or the error that ended the payment.
    pub result: Result<T>,
    /// The rule that matched.
    pub rule: Option<String>,
    /// The account of the last attempt.
    pub account: Option<String>,
    /// The accounts the payment moved on from, in order.
    pub failovers: Vec<Failover>,
}

/// Builds a [`RoutedClient`].
#[derive(Default)]
pub struct RouterBuilder {
    accounts: Vec<(String, PaymentClient)>,
    routes: Vec<RouteConfig>,
    settings: RoutingSettings,
    journal: Option<Journal>,
    clock: Option<Arc<dyn Clock>>,
}

impl RouterBuilder {
    /// Adds an account.
    pub fn account(mut self, name: impl Into<String>, client: PaymentClient) -> RouterBuilder {
        self.accounts.push((name.into(), client));
        self
    }

    /// The rules (checked at [`RouterBuilder::build`]).
    pub fn routes(mut self, routes: &[RouteConfig]) -> RouterBuilder {
        self.routes = routes.to_vec();
        self
    }

    /// The router's settings.
    pub fn settings(mut self, settings: RoutingSettings) -> RouterBuilder {
        self.settings = settings;
        self
    }

    /// The journal every attempt is recorded in (default: an in-memory one of the last
    /// [`MEMORY_JOURNAL_PAYMENTS`] payments, which guards a process but not a crash).
    pub fn journal(mut self, journal: Journal) -> RouterBuilder {
        self.journal = Some(journal);
        self
    }

    /// The breakers' clock (a [`crate::FakeClock`] in tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> RouterBuilder {
        self.clock = Some(clock);
        self
    }

    /// Checks the accounts and rules and builds the client.
    pub fn build(self) -> Result<RoutedClient> {
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock::default()));
        let breaker_settings = Arc::new(self.settings.breaker.clone());
        let mut accounts = BTreeMap::new();
        for (name, client) in self.accounts {
            if !valid_account_name(&name) {
                return Err(Error::config(format!(
                    "account name {name:?} must be 1 to 64 ASCII letters, digits, `-` or `_`"
                )));
            }
            let client = client.unjournaled().with_account(name.clone());
            let breaker = Breaker::new(&name, breaker_settings.clone(), clock.clone());
            if accounts.insert(name.clone(), RoutedAccount { name: name.clone(), client, breaker }).is_some() {
                return Err(Error::config(format!("account `{name}` is configured twice")));
            }
        }
        if self.routes.is_empty() {
            return Err(Error::config("routing needs at least one [[routes]] rule"));
        }
        let facts: BTreeMap<String, AccountFacts<'_>> = accounts
            .iter()
            .map(|(n, a): (&String, &RoutedAccount)| {
                (n.clone(), AccountFacts { provider: a.client.provider_name(), capabilities: a.client.capabilities() })
            })
            .collect();
        let table = RouteTable::new(&self.routes, &facts)?;
        let journal = self.journal.unwrap_or_else(|| {
            Journal::with_options(Arc::new(MemoryStore::bounded(MEMORY_JOURNAL_PAYMENTS)), JournalOptions::default())
        });
        Ok(RoutedClient {
            inner: Arc::new(Inner {
                table,
                accounts,
                settings: self.settings,
                journal,
                double_charges: Mutex::new(Vec::new()),
            }),
        })
    }
}

pub(crate) struct Inner {
    pub(crate) table: RouteTable,
    pub(crate) accounts: BTreeMap<String, RoutedAccount>,
    pub(crate) settings: RoutingSettings,
    pub(crate) journal: Journal,
    pub(crate) double_charges: Mutex<Vec<DoubleCharge>>,
}

/// A payment client over several accounts with routing rules; cheap to clone.
#[derive(Clone)]
pub struct RoutedClient {
    pub(crate) inner: Arc<Inner>,
}

impl RoutedClient {
    /// A builder.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// The accounts by name.
    pub fn accounts(&self) -> &BTreeMap<String, RoutedAccount> {
        &self.inner.accounts
    }

    /// One account.
    pub fn account(&self, name: &str) -> Result<&RoutedAccount> {
        self.inner.accounts.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.inner.accounts.keys().map(String::as_str).collect();
            Error::config(format!("no account `{name}` is configured (configured: {})", known.join(", ")))
        })
    }

    /// The routing table.
    pub fn table(&self) -> &RouteTable {
        &self.inner.table
    }

    /// The settings.
    pub fn settings(&self) -> &RoutingSettings {
        &self.inner.settings
    }

    /// The journal every attempt is recorded in.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    /// Why `account` cannot take a payment with `facts` (or `None`: it can).
    pub(crate) fn ineligible(&self, account: &RoutedAccount, facts: &PaymentFacts<'_>) -> Option<String> {
        let caps = account.client.capabilities();
        let provider = account.client.provider_name();
        if !caps.accepts_currency(facts.currency) {
            return Some(format!("{provider} does not take {}", facts.currency.code()));
        }
        if let Some(l) = caps.limit_broken_by(Money { minor: facts.amount, currency: facts.currency }) {
            return Some(format!("{} is outside {provider}'s limits {}..={}", facts.amount, l.min, l.max));
        }
        if !facts.operation.supported_by(caps) {
            return Some(format!("{provider} cannot {}", facts.operation.as_str()));
        }
        None
    }

    fn no_rule(facts: &PaymentFacts<'_>) -> Error {
        Error::config(format!(
            "no route matches {} {} ({}, region {}): add a [[routes]] rule for it",
            facts.currency.code(),
            facts.amount,
            facts.operation.as_str(),
            facts.region.unwrap_or("not given")
        ))
    }

    /// The accounts a payment keyed `key` tries, in order, and whether it is resuming: the
    /// rule's chain for a new payment; for one whose latest attempt is unresolved or settled
    /// (a repeat), only that attempt's account, so recovery and replay happen at the provider
    /// that holds it and nothing is sent elsewhere meanwhile; after one proven to have done
    /// nothing, the accounts not tried yet first.
    async fn chain_for(&self, rule: &Rule, key: &str) -> Result<(Vec<String>, bool)> {
        let mut chain: Vec<String> = rule.chain(key).into_iter().map(str::to_owned).collect();
        let Some(payment) = self.inner.journal.payment(key).await? else { return Ok((chain, false)) };
        let Some(latest) = payment.latest() else { return Ok((chain, false)) };
        if !self.inner.accounts.contains_key(&latest.account) {
            return Err(Error::config(format!(
                "payment {key}'s latest attempt is at account `{}`, which is not configured now",
                latest.account
            )));
        }
        if !latest.state.allows_new_attempt() {
            return Ok((vec![latest.account.clone()], true));
        }
        // Proven absent by a lookup, but its request may still land there until the sender's
        // lease and the settle horizon have passed: until then only that account may take the
        // payment again (where the same reference makes a late landing a duplicate, not a second
        // charge); another account would charge beside it.
        if latest.state == AttemptState::ProvenAbsent && self.inner.journal.still_landing_for(latest).is_some() {
            return Ok((vec![latest.account.clone()], false));
        }
        let tried: Vec<&str> = payment.attempts.iter().map(|a| a.account.as_str()).collect();
        chain.retain(|a| !tried.contains(&a.as_str()));
        chain.push(latest.account.clone());
        Ok((chain, false))
    }

    /// Routes a new charge; the result says which account charged and which it moved on from.
    pub async fn route_charge(
        &self,
        request: CreateCharge,
        context: &RouteContext,
        options: &RequestOptions,
    ) -> Routed<ChargeRecord> {
        let mut routed =
            Routed { result: Err(Error::invalid("not routed")), rule: None, account: None, failovers: vec![] };
        let key = options.key_or_generate();
        let facts = PaymentFacts {
            operation: if request.capture { PaymentKind::Charge } else { PaymentKind::Authorize },
            currency: request.amount.currency,
            amount: request.amount.minor,
            region: context.region.as_deref(),
            metadata: &request.metadata,
        };
        let Some(rule) = self.inner.table.select(&facts) else {
            routed.result = Err(Self::no_rule(&facts));
            return routed;
        };
        routed.rule = Some(rule.name.clone());
        let (chain, resuming) = match self.chain_for(rule, key.as_str()).await {
            Ok(c) => c,
            Err(e) => {
                routed.result = Err(e);
                return routed;
            }
        };
        let options = RequestOptions { idempotency_key: Some(key.clone()), ..options.clone() };
        let started = Instant::now();
        let mut last: Option<Error> = None;
        let mut after_decline = false;
        let mut attempts = 0;
        for name in &chain {
            let account = &self.inner.accounts[name];
            if let Some(why) = self.ineligible(account, &facts) {
                tracing::debug!(target: "payment::routing", account = %name, why, "skipped");
                continue;
            }
            if attempts >= self.inner.settings.max_attempts {
                break;
            }
            let mut call = options.clone();
            if let Some(total) = options.timeout {
                match total.checked_sub(started.elapsed()).filter(|left| !left.is_zero()) {
                    Some(left) => call.timeout = Some(left),
                    None => {
                        last = Some(Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "the deadline of {total:?} passed before account {name} was tried; nothing was sent there"
                            ),
                        ));
                        break;
                    }
                }
            }
            routed.account = Some(name.clone());
            let rules = AttemptRules { other_account: true, after_decline };
            let m = Mutation::CreateCharge(request.clone());
            // A repeat of a payment held at this account is answered or recovered there even
            // with its circuit open: the breaker holds back new charges, not the questions
            // that settle one already sent.
            let permit = if resuming { None } else { Some(account.breaker.admit()) };
            // One span per account tried: the decision it led to is recorded on it below.
            let span = tracing::info_span!(
                target: "payment::routing",
                "payment.route",
                otel.name = "payment route",
                payment.route.rule = rule.name.as_str(),
                payment.account = name.as_str(),
                payment.provider = account.client.provider_name(),
                payment.route.decision = tracing::field::Empty,
                payment.route.reason = tracing::field::Empty,
            );
            let result = match permit {
                Some(Err(refused)) => Err(refused.with_provider(account.client.provider_name())),
                Some(Ok(permit)) => {
                    attempts += 1;
                    let sent = self.inner.journal.execute_with(&account.client, m, &call, rules);
                    let result = tracing::Instrument::instrument(sent, span.clone()).await;
                    let result = result.and_then(charge_of);
                    permit.record(Health::of(&result));
                    result
                }
                None => {
                    attempts += 1;
                    let sent = self.inner.journal.execute_with(&account.client, m, &call, rules);
                    tracing::Instrument::instrument(sent, span.clone()).await.and_then(charge_of)
                }
            };
            let decided = |decision: &str, reason: Option<&FailoverReason>| {
                span.record("payment.route.decision", decision);
                if let Some(reason) = reason {
                    span.record("payment.route.reason", reason.label());
                }
            };
            let error = match result {
                Ok(record) => {
                    decided("charged", None);
                    routed.result = Ok(charge_at(name, record));
                    return routed;
                }
                Err(e) => e,
            };
            let soft = crate::failover::soft_declines_move_on(self.inner.settings.failover_on_soft_decline, &request);
            match failover_reason(&error, account.client.capabilities(), soft) {
                // A repeat answered from the journal stays the journal's answer.
                Some(_) if resuming => {
                    decided("stop", None);
                    routed.result = Err(error);
                    return routed;
                }
                Some(reason) => {
                    decided("failover", Some(&reason));
                    tracing::warn!(target: "payment::routing", key_hash = %payment_core::telemetry::key_hash(key.as_str()), account = %name, %reason, "failing over");
                    after_decline = matches!(reason, FailoverReason::SoftDecline(_));
                    routed.failovers.push(Failover { account: name.clone(), reason });
                    last = Some(error);
                }
                None => {
                    decided("stop", None);
                    routed.result = Err(error);
                    return routed;
                }
            }
        }
        routed.result = Err(last.unwrap_or_else(|| {
            Error::unsupported(format!(
                "route `{}` has no account that can take {} {} ({})",
                rule.name,
                facts.currency.code(),
                facts.amount,
                facts.operation.as_str()
            ))
        }));
        routed
    }

    /// Runs a capture, cancel or refund at the account its charge id names, journaled.
    async fn at_account(
        &self,
        id: &ChargeId,
        make: impl FnOnce(ChargeId) -> Mutation,
        options: &RequestOptions,
    ) -> Result<(String, MutationOutput)> {
        let (name, inner) = split(id)?;
        let account = self.account(name)?;
        let output =
            self.inner.journal.execute_with(&account.client, make(inner), options, AttemptRules::default()).await?;
        Ok((name.to_owned(), output))
    }

    /// The double charges found so far (each also logged at error level).
    pub fn double_charges(&self) -> Vec<DoubleCharge> {
        self.inner.double_charges.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Settles every unresolved attempt at every account, asking again for up to `within`.
    pub async fn recover(&self, within: Duration) -> Result<payment_journal::RecoveryReport> {
        self.inner.journal.recover_within(self, within).await
    }
}

fn charge_of(output: MutationOutput) -> Result<ChargeRecord> {
    match output {
        MutationOutput::Charge(c) => Ok(c),
        MutationOutput::Refund(r) => Err(Error::new(
            ErrorKind::IdempotencyConflict,
            format!("the journal holds a refund ({}) for this idempotency key", r.id.as_str()),
        )),
    }
}

fn refund_of(output: MutationOutput) -> Result<RefundRecord> {
    match output {
        MutationOutput::Refund(r) => Ok(r),
        MutationOutput::Charge(c) => Err(Error::new(
            ErrorKind::IdempotencyConflict,
            format!("the journal holds a charge ({}) for this idempotency key", c.id.as_str()),
        )),
    }
}

impl ClientSource for RoutedClient {
    fn client_for(&self, provider: &str) -> Result<PaymentClient> {
        self.account(provider).map(|a| a.client.clone())
    }
}

#[payment_core::async_trait]
impl payment_core::Charge for RoutedClient {
    async fn create_charge(&self, request: CreateCharge, options: &RequestOptions) -> Result<ChargeRecord> {
        self.route_charge(request, &RouteContext::default(), options).await.result
    }

    async fn retrieve_charge(&self, id: &ChargeId) -> Result<ChargeRecord> {
        let (name, inner) = split(id)?;
        self.account(name)?.client.retrieve_charge(&inner).await.map(|r| charge_at(name, r))
    }

    async fn capture_charge(
        &self,
        id: &ChargeId,
        amount: Option<Money>,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let (name, out) =
            self.at_account(id, |charge_id| Mutation::CaptureCharge { charge_id, amount }, options).await?;
        charge_of(out).map(|r| charge_at(&name, r))
    }

    async fn cancel_charge(&self, id: &ChargeId, options: &RequestOptions) -> Result<ChargeRecord> {
        let (name, out) = self.at_account(id, |charge_id| Mutation::CancelCharge { charge_id }, options).await?;
        charge_of(out).map(|r| charge_at(&name, r))
    }

    /// Completes the charge at the account its id names, journaled there: a payment that reached
    /// its customer's step stays at that account.
    async fn complete_charge(
        &self,
        id: &ChargeId,
        data: &payment_core::CompletionData,
        options: &RequestOptions,
    ) -> Result<ChargeRecord> {
        let data = data.clone();
        let (name, out) =
            self.at_account(id, |charge_id| Mutation::CompleteCharge { charge_id, data }, options).await?;
        charge_of(out).map(|r| charge_at(&name, r))
    }

    fn list_charges(&self, query: ListCharges) -> ListPaginator<ChargeRecord> {
        let mut all: Option<ListPaginator<ChargeRecord>> = None;
        for (name, account) in &self.inner.accounts {
            let name = name.clone();
            let list = account.client.list_charges(query.clone()).map_items(move |r| charge_at(&name, r));
            all = Some(match all {
                None => list,
                Some(before) => before.chain(list),
            });
        }
        all.unwrap_or_else(|| ListPaginator::failed(Error::config("no accounts are configured")))
    }

    fn currency_of(&self, id: &ChargeId) -> Option<payment_core::Currency> {
        let (name, inner) = split(id).ok()?;
        self.inner.accounts.get(name)?.client.currency_of(&inner)
    }
}

#[payment_core::async_trait]
impl payment_core::Refund for RoutedClient {
    async fn create_refund(&self, request: CreateRefund, options: &RequestOptions) -> Result<RefundRecord> {
        let charge = request.charge_id.clone();
        let (name, out) = self
            .at_account(&charge, |charge_id| Mutation::CreateRefund(CreateRefund { charge_id, ..request }), options)
            .await?;
        refund_of(out).map(|r| refund_at(&name, r))
    }

    async fn retrieve_refund(&self, charge_id: &ChargeId, refund_id: &RefundId) -> Result<RefundRecord> {
        let (name, inner) = split(charge_id)?;
        self.account(name)?.client.retrieve_refund(&inner, refund_id).await.map(|r| refund_at(name, r))
    }

    fn list_refunds(&self, charge_id: &ChargeId, query: ListRefunds) -> ListPaginator<RefundRecord> {
        let (name, inner) = match split(charge_id) {
            Ok(parts) => parts,
            Err(e) => return ListPaginator::failed(e),
        };
        match self.account(name) {
            Ok(account) => {
                let name = name.to_owned();
                account.client.list_refunds(&inner, query).map_items(move |r| refund_at(&name, r))
            }
            Err(e) => ListPaginator::failed(e),
        }
    }
}

impl fmt::Debug for RoutedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutedClient")
            .field("accounts", &self.inner.accounts.keys().collect::<Vec<_>>())
            .field("rules", &self.inner.table.rules().iter().map(|r| &r.name).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}
