//! Reconciliation: a provider's charges and the journal's for a time window, side by side, with
//! every difference named and its evidence; with `heal`, the attempts the provider's word now
//! proves are settled through the journal's fenced writes.
//!
//! Memory stays flat however large the window: the window is cut into slices holding at most
//! [`ReconcileOptions::slice`] journal charges; in each slice the provider's charges stream past
//! (each looked up in the journal by its id or reference, on an index), and only the slice's own
//! journal charges are held, to find those the provider did not list. Each charge is judged once:
//! by the slice its provider time falls in, or, when that time is outside the window (clocks
//! differ), by the slice of its journal row.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use payment_core::{ChargeRecord, ErrorKind, ListCharges, ListStyle, Money, PaymentClient, Result, Timestamp};
use serde::Serialize;

use crate::ledger::{self, Ledger, Stage, Verdict};
use crate::record::{Attempt, StoredOutcome, Transition};
use crate::state::AttemptState;
use crate::store::{CreatedPage, JournalStore, is_fenced};

/// What reconciliation found for one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Both sides agree.
    Matched,
    /// Charged at the provider, unknown to the journal (or a second charge for a journaled payment).
    ProviderOnly,
    /// The journal holds a success the provider does not.
    JournalOnly,
    /// The provider holds another amount than the journal sent.
    AmountMismatch,
    /// The provider's charge is at another stage, or keeps another amount (refunded or canceled
    /// at the provider, a success the journal recorded as declined).
    StatusMismatch,
    /// The journal's attempt is still unsettled (or waits for a person) and this run could not
    /// settle it.
    Unresolved,
    /// The journal's attempt was unsettled and is now settled from the provider's word (`heal`).
    Healed,
}

impl Class {
    /// Every class, in report order.
    pub const ALL: [Class; 7] = [
        Class::Matched,
        Class::ProviderOnly,
        Class::JournalOnly,
        Class::AmountMismatch,
        Class::StatusMismatch,
        Class::Unresolved,
        Class::Healed,
    ];

    /// The snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::Matched => "matched",
            Class::ProviderOnly => "provider_only",
            Class::JournalOnly => "journal_only",
            Class::AmountMismatch => "amount_mismatch",
            Class::StatusMismatch => "status_mismatch",
            Class::Unresolved => "unresolved",
            Class::Healed => "healed",
        }
    }

    /// Whether the books still differ (matched and healed charges do not).
    pub fn is_difference(&self) -> bool {
        !matches!(self, Class::Matched | Class::Healed)
    }
}

/// The provider's side of a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AtProvider {
    /// The stage its status shows.
    pub stage: Stage,
    /// Its amount.
    pub amount: Money,
    /// Captured so far.
    pub captured: Money,
    /// Refunded (or, for PAY.JP, released by a partial capture) so far.
    pub refunded: Money,
    /// When the provider created it (RFC 3339).
    pub created: Timestamp,
}

/// The journal's side of a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InJournal {
    /// The charge attempt's state.
    pub state: AttemptState,
    /// The attempt number within its payment.
    pub seq: i64,
    /// The amount it sent.
    pub amount: Option<Money>,
    /// When it was created (unix milliseconds).
    pub created_ms: i64,
}

/// One charge examined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// What was found.
    pub class: Class,
    /// The provider's name.
    pub provider: String,
    /// The account (the provider's name unless routed under another).
    pub account: String,
    /// The charge, when either side knows it.
    pub charge_id: Option<String>,
    /// The logical payment, when journaled.
    pub idempotency_key: Option<String>,
    /// The merchant reference.
    pub reference: Option<String>,
    /// The amount (the provider's when it holds the charge, else the journal's).
    pub amount: Option<Money>,
    /// Why, in words.
    pub evidence: String,
    /// The provider's side, when it holds the charge.
    pub at_provider: Option<AtProvider>,
    /// The journal's side, when it holds the charge.
    pub in_journal: Option<InJournal>,
}

/// The time window: charges created in `[since, until)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// From (inclusive).
    pub since: Timestamp,
    /// To (exclusive).
    pub until: Timestamp,
}

/// How a run works.
#[derive(Debug, Clone, Copy)]
pub struct ReconcileOptions {
    /// Settle unsettled attempts the provider's word proves (else read only).
    pub heal: bool,
    /// At most this many journal charges are held at once (a slice of the window).
    pub slice: u32,
    /// Charges per provider page (`None`: the provider's largest).
    pub page_size: Option<u32>,
    /// How late new charges may appear in the provider's lists, in seconds (`None`: what the
    /// provider documents, [`payment_core::ListCapabilities::late_data_secs`]).
    pub late_data_secs: Option<u32>,
}

impl Default for ReconcileOptions {
    fn default() -> Self {
        ReconcileOptions { heal: false, slice: 1000, page_size: None, late_data_secs: None }
    }
}

/// What one run over one account found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileSummary {
    /// The account.
    pub account: String,
    /// The window actually compared (its end is pulled back by the provider's late-data margin).
    pub since: Option<Timestamp>,
    /// See `since`.
    pub until: Option<Timestamp>,
    /// Charges examined.
    pub examined: u64,
    /// How many of each class, in [`Class::ALL`] order.
    pub counts: Vec<(Class, u64)>,
    /// What the run could not cover, in words (the late-data margin).
    pub notes: Vec<String>,
}

impl ReconcileSummary {
    /// How many charges still differ.
    pub fn differences(&self) -> u64 {
        self.counts.iter().filter(|(c, _)| c.is_difference()).map(|(_, n)| n).sum()
    }

    /// How many of `class`.
    pub fn count(&self, class: Class) -> u64 {
        self.counts.iter().find(|(c, _)| *c == class).map_or(0, |(_, n)| *n)
    }

    fn add(&mut self, class: Class) {
        self.examined += 1;
        match self.counts.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => *n += 1,
            None => self.counts.push((class, 1)),
        }
    }
}

/// Compares one account's charges at its provider with the journal's.
pub struct Reconciler {
    store: Arc<dyn JournalStore>,
    options: ReconcileOptions,
}

/// The slice being compared: its bounds (unix seconds) and its journal charges.
struct Slice {
    from: i64,
    to: i64,
    rows: Vec<Attempt>,
    seen: HashSet<String>,
}

impl Reconciler {
    /// A reconciler over `store`.
    pub fn new(store: Arc<dyn JournalStore>, options: ReconcileOptions) -> Reconciler {
        Reconciler { store, options }
    }

    /// Reconciles `client`'s account over `window`, handing each charge examined to `found` as
    /// it is judged. Refused before any I/O for a provider with no list API.
    pub async fn run(
        &self,
        client: &PaymentClient,
        window: Window,
        found: &mut (dyn FnMut(&Finding) + Send),
    ) -> Result<ReconcileSummary> {
        let caps = client.capabilities();
        if !caps.charge.list || caps.list.style == ListStyle::None {
            return Err(payment_core::Error::new(
                ErrorKind::Unsupported,
                format!("cannot reconcile {}: {} has no list API", client.account(), client.provider_name()),
            ));
        }
        let mut summary = ReconcileSummary { account: client.account().to_owned(), ..Default::default() };
        let margin = i64::from(self.options.late_data_secs.unwrap_or(caps.list.late_data_secs));
        // Up to the end of this second when lists are never late.
        let now = self.store.now_ms().div_euclid(1000) + 1;
        let until = window.until.unix().min(now - margin);
        if until < window.until.unix() {
            summary.notes.push(format!(
                "{}'s lists may be up to {margin}s late: charges after {} are left for a later run",
                client.provider_name(),
                Timestamp::from_unix(until).to_rfc3339()
            ));
        }
        summary.since = Some(window.since);
        summary.until = Some(Timestamp::from_unix(until.max(window.since.unix())));
        let mut from = window.since.unix();
        while from < until {
            let slice = self.slice(client.account(), from, until).await?;
            let to = slice.to;
            self.compare_slice(client, slice, (window.since.unix(), until), &mut summary, found).await?;
            from = to;
        }
        Ok(summary)
    }

    /// The next slice from `from`: whole seconds, holding at most the slice size of journal
    /// charges (more only when one second holds more).
    async fn slice(&self, account: &str, from: i64, until: i64) -> Result<Slice> {
        let limit = self.options.slice.max(1);
        let first = CreatedPage { account, from_ms: from * 1000, to_ms: until * 1000, after: None, limit };
        let mut rows = self.store.charge_attempts_created(first).await?;
        if rows.len() < limit as usize {
            return Ok(Slice { from, to: until, rows, seen: HashSet::new() });
        }
        let to = rows.last().map_or(until, |a| (a.created_ms.div_euclid(1000) + 1).min(until));
        rows.retain(|a| a.created_ms < to * 1000);
        // The rest of the last second.
        loop {
            let after = rows.last().map(|a| (a.created_ms, a.id.clone()));
            let next =
                CreatedPage { to_ms: to * 1000, after: after.as_ref().map(|(ms, id)| (*ms, id.as_str())), ..first };
            let more = self.store.charge_attempts_created(next).await?;
            if more.is_empty() {
                break;
            }
            rows.extend(more);
        }
        Ok(Slice { from, to, rows, seen: HashSet::new() })
    }

    async fn compare_slice(
        &self,
        client: &PaymentClient,
        mut slice: Slice,
        window: (i64, i64),
        summary: &mut ReconcileSummary,
        found: &mut (dyn FnMut(&Finding) + Send),
    ) -> Result<()> {
        let query = ListCharges {
            page_size: self.options.page_size,
            created_from: Some(Timestamp::from_unix(slice.from)),
            created_to: Some(Timestamp::from_unix(slice.to)),
            ..ListCharges::default()
        };
        let mut charges = client.list_charges(query);
        while let Some(charge) = charges.next().await {
            let charge = charge?;
            // A provider applying the window per page may hand back a neighbour: its own slice judges it.
            if charge.created.unix() < slice.from || charge.created.unix() >= slice.to {
                continue;
            }
            let finding = self.judge(client, &charge, Some(&mut slice)).await?;
            summary.add(finding.class);
            found(&finding);
        }
        for row in std::mem::take(&mut slice.rows) {
            if slice.seen.contains(&row.id) {
                continue;
            }
            if let Some(finding) = self.unlisted(client, &row, window).await? {
                summary.add(finding.class);
                found(&finding);
            }
        }
        Ok(())
    }

    /// A journal charge the provider's list did not show in its slice.
    async fn unlisted(&self, client: &PaymentClient, row: &Attempt, window: (i64, i64)) -> Result<Option<Finding>> {
        let money_expected = matches!(
            row.state,
            AttemptState::Succeeded
                | AttemptState::Pending
                | AttemptState::AwaitingCustomer
                | AttemptState::Unknown
                | AttemptState::Dispatched
                | AttemptState::NeedsReconciliation
        );
        if !money_expected {
            return Ok(None);
        }
        let read = match &row.charge_id {
            Some(id) => match client.retrieve_charge(&payment_core::ChargeId::new(id.clone())).await {
                Ok(c) => Some(c),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            },
            None if client.capabilities().charge.find_by_reference => {
                let Ok(payment_core::Mutation::CreateCharge(request)) = row.request.to_mutation() else {
                    return Ok(Some(self.journal_finding(
                        client,
                        row,
                        Class::Unresolved,
                        "its request cannot be read back".into(),
                    )));
                };
                let created_from = Timestamp::from_unix(row.created_ms.div_euclid(1000) - 86_400);
                client.find_charge(&request, created_from).await?
            }
            None => None,
        };
        match read {
            // Listed in another slice of the window (its clock and ours differ): judged there.
            Some(charge) if (window.0..window.1).contains(&charge.created.unix()) => Ok(None),
            Some(charge) => Ok(Some(self.judge(client, &charge, None).await?)),
            None if row.state == AttemptState::Succeeded => {
                let id = row.charge_id.as_deref().unwrap_or("(none)");
                Ok(Some(self.journal_finding(
                    client,
                    row,
                    Class::JournalOnly,
                    format!("the journal's success names charge {id}, which the provider does not hold"),
                )))
            }
            None => {
                let how = match (&row.charge_id, client.capabilities().charge.find_by_reference) {
                    (Some(id), _) => format!("the provider does not hold charge {id}"),
                    (None, true) => "the provider holds no charge with its reference".to_owned(),
                    (None, false) => {
                        "the provider listed no charge with its reference, and cannot look one up by it".to_owned()
                    }
                };
                Ok(Some(self.journal_finding(
                    client,
                    row,
                    Class::Unresolved,
                    format!("the journal's attempt is {}; {how}: a person must decide", row.state),
                )))
            }
        }
    }

    /// Judges one charge the provider holds against the journal.
    async fn judge(&self, client: &PaymentClient, charge: &ChargeRecord, slice: Option<&mut Slice>) -> Result<Finding> {
        let account = client.account();
        let unique_references = client.capabilities().charge.find_by_reference;
        let mut attempts =
            self.store.attempts_for(account, Some(charge.id.as_str()), charge.reference.as_deref()).await?;
        // The journal may know the charge under another form of its id (Worldpay's with its
        // link data): the operations on it are found under that one.
        let other_ids: Vec<String> = attempts
            .iter()
            .filter(|a| ledger::made(a, charge, unique_references))
            .filter_map(|a| a.charge_id.clone())
            .filter(|id| id != charge.id.as_str())
            .collect();
        for id in other_ids {
            for a in self.store.attempts_for(account, Some(&id), None).await? {
                if !attempts.iter().any(|b| b.id == a.id) {
                    attempts.push(a);
                }
            }
        }
        let makers: Vec<&Attempt> = attempts.iter().filter(|a| ledger::made(a, charge, unique_references)).collect();
        if let Some(slice) = slice {
            for a in &makers {
                slice.seen.insert(a.id.clone());
            }
        }
        let mut finding = self.provider_finding(client, charge);
        // The attempt that holds the charge: a success first, else the latest.
        let Some(holder) = makers.iter().copied().max_by_key(|a| {
            (
                a.state == AttemptState::Succeeded && a.charge_id.as_deref() == Some(charge.id.as_str()),
                a.state == AttemptState::Succeeded,
                a.seq,
            )
        }) else {
            let others: Vec<&Attempt> = attempts
                .iter()
                .filter(|a| a.operation == payment_core::Operation::CreateCharge && a.state == AttemptState::Succeeded)
                .collect();
            finding.class = Class::ProviderOnly;
            finding.evidence = match others.first() {
                Some(other) => {
                    finding.idempotency_key = Some(other.idempotency_key.clone());
                    format!(
                        "a second charge with the reference of payment {}, which holds charge {}",
                        other.idempotency_key,
                        other.charge_id.as_deref().unwrap_or("(none)")
                    )
                }
                None => {
                    format!("charged at the provider ({}), unknown to the journal", Stage::of(charge.status).as_str())
                }
            };
            return Ok(finding);
        };
        finding.idempotency_key = Some(holder.idempotency_key.clone());
        finding.in_journal = Some(in_journal(holder));
        // The holder and the operations on its charge (not the payment's other charge attempts).
        let ids = [Some(charge.id.as_str()), holder.charge_id.as_deref()];
        let on_charge: Vec<Attempt> = attempts
            .iter()
            .filter(|a| {
                a.id == holder.id
                    || (a.operation != payment_core::Operation::CreateCharge && ids.contains(&a.charge_id.as_deref()))
            })
            .cloned()
            .collect();
        let ledger = Ledger { holder, attempts: &on_charge };
        let exact = client.capabilities().charge.partial_amounts_on_read;
        match ledger.compare(charge, exact) {
            Verdict::Same => {
                finding.class = Class::Matched;
                finding.evidence = format!("both {}", Stage::of(charge.status).as_str());
            }
            Verdict::Amount(why) => {
                finding.class = Class::AmountMismatch;
                finding.evidence = why;
            }
            Verdict::Status(why) => {
                finding.class = Class::StatusMismatch;
                finding.evidence = why;
            }
            Verdict::Unsettled(why) => {
                finding.class = Class::Unresolved;
                finding.evidence = why;
                if self.options.heal {
                    self.heal(holder, charge, &mut finding).await?;
                } else if settles(charge).is_some() {
                    finding.evidence.push_str(": `--heal` settles it");
                }
            }
        }
        Ok(finding)
    }

    /// Settles `holder` from the provider's `charge`, when its word is final and nothing else
    /// holds the payment's success: through the fenced write, so a writer that moved the attempt
    /// meanwhile wins.
    async fn heal(&self, holder: &Attempt, charge: &ChargeRecord, finding: &mut Finding) -> Result<()> {
        let Some(to) = settles(charge) else {
            finding.evidence.push_str(": still open at the provider");
            return Ok(());
        };
        let now = self.store.now_ms();
        if holder.lease_until_ms.is_some_and(|until| until > now) {
            finding.evidence.push_str(&format!(
                ": leased to {} until it is done with it",
                holder.lease_owner.as_deref().unwrap_or("another worker")
            ));
            return Ok(());
        }
        let payment = self.store.payment(&holder.idempotency_key).await?;
        let other_success = payment.iter().flat_map(|p| p.attempts.iter()).find(|a| {
            a.id != holder.id
                && a.operation == payment_core::Operation::CreateCharge
                && a.state == AttemptState::Succeeded
        });
        if let Some(other) = other_success {
            finding.class = Class::ProviderOnly;
            finding.evidence = format!(
                "a second charge for payment {}, which holds charge {}: not settled, a person must reverse one",
                holder.idempotency_key,
                other.charge_id.as_deref().unwrap_or("(none)")
            );
            return Ok(());
        }
        let detail = format!("reconciliation: the provider's charge {} is {}", charge.id, charge.status.as_str());
        let t =
            Transition::to(holder, to, now, detail.clone()).outcome(StoredOutcome::Charge(Box::new(charge.clone())));
        match self.store.transition(t).await {
            Ok(_) => {
                finding.class = Class::Healed;
                finding.evidence = format!("{}; settled {} -> {to}", finding.evidence, holder.state);
                tracing::info!(target: "payment::journal", key = %holder.idempotency_key, charge = %charge.id, "{detail}");
                Ok(())
            }
            Err(e) if is_fenced(&e) => {
                finding.evidence.push_str(": it changed while this run read it; run again");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn provider_finding(&self, client: &PaymentClient, charge: &ChargeRecord) -> Finding {
        Finding {
            class: Class::Matched,
            provider: client.provider_name().to_owned(),
            account: client.account().to_owned(),
            charge_id: Some(charge.id.to_string()),
            idempotency_key: None,
            reference: charge.reference.clone(),
            amount: Some(charge.amount),
            evidence: String::new(),
            at_provider: Some(AtProvider {
                stage: Stage::of(charge.status),
                amount: charge.amount,
                captured: charge.amount_captured,
                refunded: charge.amount_refunded,
                created: charge.created,
            }),
            in_journal: None,
        }
    }

    fn journal_finding(&self, client: &PaymentClient, row: &Attempt, class: Class, evidence: String) -> Finding {
        Finding {
            class,
            provider: client.provider_name().to_owned(),
            account: client.account().to_owned(),
            charge_id: row.charge_id.clone(),
            idempotency_key: Some(row.idempotency_key.clone()),
            reference: row.request.reference().map(str::to_owned),
            amount: row.request.amount(),
            evidence,
            at_provider: None,
            in_journal: Some(in_journal(row)),
        }
    }
}

/// The state a final charge settles its attempt in (`None` while the provider has not decided).
fn settles(charge: &ChargeRecord) -> Option<AttemptState> {
    match Stage::of(charge.status) {
        Stage::Open => None,
        Stage::Failed => Some(AttemptState::Declined),
        Stage::Authorized | Stage::Captured | Stage::Canceled => Some(AttemptState::Succeeded),
    }
}

fn in_journal(a: &Attempt) -> InJournal {
    InJournal { state: a.state, seq: a.seq, amount: a.request.amount(), created_ms: a.created_ms }
}
