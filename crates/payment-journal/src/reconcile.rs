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
use payment_core::{ChargeRecord, ErrorKind, ListCharges, ListStyle, Operation, PaymentClient, Result, Timestamp};
use serde::Serialize;

use crate::finding::{AtProvider, Class, Finding, InJournal};
use crate::ledger::{self, Ledger, Stage, Verdict};
use crate::record::Attempt;
use crate::request::StoredRequest;
use crate::state::AttemptState;
use crate::store::{CreatedPage, JournalStore, attempts_on_charge};

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
    pub(crate) store: Arc<dyn JournalStore>,
    options: ReconcileOptions,
}

/// Which journal charges have been judged: those of the slice being compared, and (for the
/// whole run) those judged outside their own slice, as clocks differ: few, near slice edges.
struct Marks {
    from: i64,
    to: i64,
    in_slice: HashSet<String>,
    elsewhere: HashSet<String>,
    /// Journal charges whose provider time falls in a later slice: judged there, or, if that
    /// slice's list does not show them either, at the end of the run.
    deferred: Vec<Attempt>,
}

impl Marks {
    fn mark(&mut self, a: &Attempt) {
        let own_slice = a.created_ms >= self.from * 1000 && a.created_ms < self.to * 1000;
        if own_slice {
            self.in_slice.insert(a.id.clone())
        } else {
            self.elsewhere.insert(a.id.clone())
        };
    }

    fn judged(&self, a: &Attempt) -> bool {
        self.in_slice.contains(&a.id) || self.elsewhere.contains(&a.id)
    }
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
        let mut marks =
            Marks { from: 0, to: 0, in_slice: HashSet::new(), elsewhere: HashSet::new(), deferred: Vec::new() };
        let mut from = window.since.unix();
        while from < until {
            let (to, rows) = self.slice(client.account(), from, until).await?;
            marks.from = from;
            marks.to = to;
            marks.in_slice.clear();
            self.compare_slice(client, rows, (window.since.unix(), until), &mut marks, &mut summary, found).await?;
            from = to;
        }
        // A deferred charge no later slice's list showed is judged now, never dropped.
        marks.from = i64::MIN;
        marks.to = i64::MAX;
        for row in std::mem::take(&mut marks.deferred) {
            if marks.elsewhere.contains(&row.id) {
                continue;
            }
            if let Some(finding) = self.unlisted(client, &row, (window.since.unix(), until), &mut marks).await? {
                summary.add(finding.class);
                found(&finding);
            }
        }
        Ok(summary)
    }

    /// The next slice from `from`: its end (whole seconds) and its journal charges, at most the
    /// slice size of them (more only when one second holds more).
    async fn slice(&self, account: &str, from: i64, until: i64) -> Result<(i64, Vec<Attempt>)> {
        let limit = self.options.slice.max(1);
        let first = CreatedPage { account, from_ms: from * 1000, to_ms: until * 1000, after: None, limit };
        let mut rows = self.store.charge_attempts_created(first).await?;
        if rows.len() < limit as usize {
            return Ok((until, rows));
        }
        // Every row read is before `to`: the query stops at `until`, and the last row is the latest.
        let to = rows.last().map_or(until, |a| (a.created_ms.div_euclid(1000) + 1).min(until));
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
        Ok((to, rows))
    }

    async fn compare_slice(
        &self,
        client: &PaymentClient,
        rows: Vec<Attempt>,
        window: (i64, i64),
        marks: &mut Marks,
        summary: &mut ReconcileSummary,
        found: &mut (dyn FnMut(&Finding) + Send),
    ) -> Result<()> {
        let query = ListCharges {
            page_size: Some(self.options.page_size.unwrap_or(client.capabilities().list.max_limit)),
            created_from: Some(Timestamp::from_unix(marks.from)),
            created_to: Some(Timestamp::from_unix(marks.to)),
            ..ListCharges::default()
        };
        let mut charges = client.list_charges(query);
        while let Some(charge) = charges.next().await {
            let charge = charge?;
            // A provider applying the window per page may hand back a neighbour: its own slice judges it.
            if charge.created.unix() < marks.from || charge.created.unix() >= marks.to {
                continue;
            }
            let finding = self.judge(client, &charge, marks).await?;
            summary.add(finding.class);
            found(&finding);
        }
        for row in rows {
            if marks.judged(&row) {
                continue;
            }
            if let Some(finding) = self.unlisted(client, &row, window, marks).await? {
                summary.add(finding.class);
                found(&finding);
            }
        }
        Ok(())
    }

    /// A journal charge its slice's list did not show: read on its own.
    async fn unlisted(
        &self,
        client: &PaymentClient,
        row: &Attempt,
        window: (i64, i64),
        marks: &mut Marks,
    ) -> Result<Option<Finding>> {
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
        let read = match (&row.charge_id, &row.request) {
            (Some(id), _) => client.retrieve_charge(&payment_core::ChargeId::new(id.clone())).await,
            (None, StoredRequest::CreateCharge { amount, reference: Some(reference), .. })
                if client.capabilities().charge.find_by_reference =>
            {
                let probe = crate::lookup::reference_probe(*amount, reference);
                client.find_charge(&probe, crate::lookup::search_from(row)).await.and_then(|c| {
                    c.ok_or_else(|| payment_core::Error::new(ErrorKind::NotFound, "no charge has its reference"))
                })
            }
            (None, _) => Err(payment_core::Error::new(ErrorKind::NotFound, "not listed")),
        };
        let read = match read {
            Ok(charge) => Some(charge),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            // One charge that cannot be read is named, not the end of the walk.
            Err(e) => {
                let why = format!("the journal's attempt is {}; reading it at the provider failed: {e}", row.state);
                return Ok(Some(self.journal_finding(client, row, Class::Unresolved, why)));
            }
        };
        match read {
            // A later slice of the window lists it (its clock and ours differ): judged there.
            Some(charge) if charge.created.unix() >= marks.to && charge.created.unix() < window.1 => {
                marks.deferred.push(row.clone());
                Ok(None)
            }
            Some(charge) => Ok(Some(self.judge(client, &charge, marks).await?)),
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
    async fn judge(&self, client: &PaymentClient, charge: &ChargeRecord, marks: &mut Marks) -> Result<Finding> {
        let account = client.account();
        let unique_references = client.capabilities().charge.find_by_reference;
        let made = |a: &Attempt| ledger::made(a, charge, unique_references);
        let attempts =
            attempts_on_charge(self.store.as_ref(), account, charge.id.as_str(), charge.reference.as_deref(), made)
                .await?;
        let makers: Vec<&Attempt> = attempts.iter().filter(|a| ledger::made(a, charge, unique_references)).collect();
        for a in &makers {
            marks.mark(a);
        }
        let mut finding = self.provider_finding(client, charge);
        // The attempt that holds the charge: the one that recorded its id first, then a
        // success, then the latest; ties broken by id, never by the order rows came in.
        let by_id = |a: &&Attempt| a.charge_id.as_deref() == Some(charge.id.as_str());
        let Some(holder) =
            makers.iter().copied().max_by_key(|a| (by_id(a), a.state == AttemptState::Succeeded, a.seq, a.id.clone()))
        else {
            let others: Vec<&Attempt> = attempts
                .iter()
                .filter(|a| a.operation == Operation::CreateCharge && a.state == AttemptState::Succeeded)
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
                a.id == holder.id || (a.operation != Operation::CreateCharge && ids.contains(&a.charge_id.as_deref()))
            })
            .cloned()
            .collect();
        let exact = client.capabilities().charge.partial_amounts_on_read;
        // A list that shows only the stage reached says "refunded in full" at any refund
        // (Worldpay's summaries carry no links): such a charge is read again before judging.
        let reread;
        let compared = if !exact
            && charge.amount_captured.minor > 0
            && charge.amount_refunded.minor >= charge.amount_captured.minor
        {
            let id = holder.charge_id.clone().unwrap_or_else(|| charge.id.to_string());
            match client.retrieve_charge(&payment_core::ChargeId::new(id)).await {
                Ok(c) => {
                    reread = c;
                    &reread
                }
                Err(e) => {
                    finding.class = Class::Unresolved;
                    finding.evidence = format!("its list entry says refunded in full; reading it again failed: {e}");
                    return Ok(finding);
                }
            }
        } else {
            charge
        };
        let ledger = Ledger { holder, attempts: &on_charge };
        match ledger.compare(compared, exact) {
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
            Verdict::Waiting(why) => {
                finding.class = Class::Unresolved;
                finding.evidence = why;
            }
            Verdict::Unsettled(why) => {
                finding.class = Class::Unresolved;
                finding.evidence = why;
                if self.options.heal {
                    self.heal(client, holder, &attempts, charge, &mut finding).await?;
                } else if crate::heal::settles(charge).is_some() {
                    finding.evidence.push_str(": `--heal` may settle it");
                }
            }
        }
        Ok(finding)
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

fn in_journal(a: &Attempt) -> InJournal {
    InJournal { state: a.state, seq: a.seq, amount: a.request.amount(), created_ms: a.created_ms }
}
