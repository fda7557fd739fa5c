//! What the journal knows of a charge that its provider's read cannot say: that part of its
//! "refunded" amount was released by a partial capture, or how much a refund the provider shows
//! without an amount came to. Added as metadata keys (`payment_core`'s), the provider's figures
//! left as they are.

use payment::journal::{AttemptState, StoredOutcome, StoredRequest};
use payment::{ChargeRecord, Money, Operation, REFUNDED_IN_PART, REFUNDED_PER_JOURNAL, RELEASED_AT_CAPTURE};

use crate::args::Cli;
use crate::config;

/// Adds what the configured journal (if any) holds for `record` at `account`. A journal that
/// cannot be read adds nothing: the provider's record is still the answer.
pub async fn from_journal(cli: &Cli, account: &str, record: &mut ChargeRecord) {
    let Ok(config) = config::config_without_provider(cli) else { return };
    let journal = match payment::open_journal(&config).await {
        Ok(Some(j)) => j,
        Ok(None) => return,
        Err(e) => {
            if cli.verbose {
                eprintln!("the journal could not be read, so the record is the provider's alone: {e}");
            }
            return;
        }
    };
    // Every form of the charge's id the journal may hold (Worldpay's list ids lack the link data
    // its create answers carry): found through the charge attempt with its reference.
    let is_charge = |a: &payment::journal::Attempt| a.operation == Operation::CreateCharge;
    let on_charge = payment::journal::attempts_on_charge(
        journal.store().as_ref(),
        account,
        record.id.as_str(),
        record.reference.as_deref(),
        is_charge,
    );
    let attempts = match on_charge.await {
        Ok(a) => a,
        Err(e) => {
            if cli.verbose {
                eprintln!("the journal could not be read, so the record is the provider's alone: {e}");
            }
            return;
        }
    };
    let done = |op: Operation| attempts.iter().filter(move |a| a.operation == op && a.state == AttemptState::Succeeded);
    let whole = record.amount.minor;
    if record.released_at_capture().is_none() && record.amount_captured.minor == whole {
        let captured_part = done(Operation::CaptureCharge).find_map(|a| match &a.request {
            StoredRequest::CaptureCharge { amount: Some(part), .. } if part.minor < whole => Some(part.minor),
            _ => None,
        });
        if let Some(part) = captured_part.filter(|part| record.amount_refunded.minor >= whole - part) {
            record.metadata.insert(RELEASED_AT_CAPTURE.to_owned(), (whole - part).to_string());
        }
    }
    if record.metadata.contains_key(REFUNDED_IN_PART) {
        // Only a figure the journal is sure of: every refund settled (a pending one counts, as
        // the provider already shows it) and each with its amount. An open refund, or none at
        // all while the provider shows one, leaves the amount unknown, and it is shown so.
        let refunds: Vec<_> = attempts.iter().filter(|a| a.operation == Operation::CreateRefund).collect();
        let open = refunds.iter().any(|a| a.state.is_unresolved() && a.state != AttemptState::Pending)
            || refunds.iter().any(|a| a.state == AttemptState::NeedsReconciliation);
        let amounts: Option<Vec<i64>> = refunds
            .iter()
            .filter(|a| matches!(a.state, AttemptState::Succeeded | AttemptState::Pending))
            .map(|a| match &a.outcome {
                Some(StoredOutcome::Refund(r)) => Some(r.amount.minor),
                _ => a.request.amount().map(|m: Money| m.minor),
            })
            .collect();
        match amounts {
            Some(amounts) if !open && !amounts.is_empty() => {
                record.metadata.insert(REFUNDED_PER_JOURNAL.to_owned(), amounts.iter().sum::<i64>().to_string());
            }
            _ => {}
        }
    }
}
