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
    let attempts = match journal.store().attempts_for(account, Some(record.id.as_str()), None).await {
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
        // A refund still pending in the journal is one the provider already shows (sent for refund).
        let refunded: i64 = attempts
            .iter()
            .filter(|a| a.operation == Operation::CreateRefund)
            .filter(|a| matches!(a.state, AttemptState::Succeeded | AttemptState::Pending))
            .map(|a| match &a.outcome {
                Some(StoredOutcome::Refund(r)) => r.amount.minor,
                _ => a.request.amount().map_or(0, |m: Money| m.minor),
            })
            .sum();
        record.metadata.insert(REFUNDED_PER_JOURNAL.to_owned(), refunded.to_string());
    }
}
