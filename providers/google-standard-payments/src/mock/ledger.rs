//! The mock processor's books: captures by `requestId`, refunds against them, in minor units;
//! tokens carrying a decline's name are declined with it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use payment_core::{Currency, Money};
use payment_mock_kit::{IdAlphabet, IdGen, MockKit};

use crate::processor::{CaptureOutcome, ProcessorBackend, ProcessorError, RefundOutcome};
use crate::wire::{CaptureRequest, CaptureResult, RawResult, RefundRequest, RefundResult};

/// A capture by its `requestId`, declined or not.
#[derive(Debug, Clone)]
pub(super) struct Capture {
    pub(super) amount: Money,
    pub(super) refunded: i64,
    /// `SUCCESS` or the decline's result code.
    pub(super) result: CaptureResult,
    pub(super) transaction_id: Option<String>,
    pub(super) description: String,
    /// Unix seconds on the mock clock.
    pub(super) created: i64,
}

impl Capture {
    pub(super) fn succeeded(&self) -> bool {
        self.result == CaptureResult::Success
    }
}

/// A refund applied to a capture.
#[derive(Debug, Clone)]
pub(super) struct AppliedRefund {
    pub(super) request_id: String,
    pub(super) capture_request_id: String,
    pub(super) refund_id: String,
    pub(super) amount: Money,
    pub(super) created: i64,
}

#[derive(Debug, Default)]
pub(super) struct Books {
    pub(super) captures: BTreeMap<String, Capture>,
    pub(super) refunds: Vec<AppliedRefund>,
}

/// Tokens that make the mock decline, by the result code they carry.
pub const DECLINING_TOKENS: &[(&str, CaptureResult)] = &[
    ("insufficient_funds", CaptureResult::InsufficientFunds),
    ("suspected_fraud", CaptureResult::SuspectedFraud),
    ("transaction_limit", CaptureResult::ChargeExceedsTransactionLimit),
    ("account_closed", CaptureResult::AccountClosed),
];

/// What the mock does with its magic tokens, for `payment providers --test-data`.
pub fn test_data() -> Vec<payment_mock_kit::TestInput> {
    use payment_mock_kit::TestInput;
    let mut out = vec![TestInput::new("any other non-empty googlePaymentToken", "captured (SUCCESS)")];
    out.extend(DECLINING_TOKENS.iter().map(|(name, result)| {
        TestInput::new(format!("a token containing {name}"), format!("declined: {}", result.as_str()))
    }));
    out
}

/// The ledger; the mock's `ProcessorBackend`.
#[derive(Debug)]
pub struct Ledger {
    books: Mutex<Books>,
    ids: IdGen,
    // The kit's clock, so the books date captures in mock time like every other mock.
    kit: Arc<MockKit>,
}

impl Ledger {
    /// An empty ledger with ids from `seed`, dating entries by `kit`'s clock.
    pub fn new(seed: u64, kit: Arc<MockKit>) -> Ledger {
        Ledger { books: Mutex::default(), ids: IdGen::new(seed), kit }
    }

    pub(super) fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now(&self) -> i64 {
        self.kit.clock.now().unix()
    }

    /// Successful captures.
    pub fn captures(&self) -> usize {
        self.books().captures.values().filter(|c| c.succeeded()).count()
    }

    /// Refunds applied.
    pub fn refunds_applied(&self) -> usize {
        self.books().refunds.len()
    }

    /// Successful captures per `requestId`.
    pub fn references(&self) -> BTreeMap<String, usize> {
        self.books().captures.iter().filter(|(_, c)| c.succeeded()).map(|(k, _)| (k.clone(), 1)).collect()
    }

    /// Forgets every capture and refund.
    pub fn clear(&self) {
        *self.books() = Books::default();
    }
}

fn money(currency: &str, micros: payment_core::serde_adapters::Micros, field: &str) -> Result<Money, ProcessorError> {
    let currency = Currency::from_code(currency)
        .map_err(|_| ProcessorError::new("INVALID_FIELD_VALUE", format!("currencyCode {currency:?}")))?;
    let m = micros.to_money(currency).map_err(|_| {
        ProcessorError::new(
            "INVALID_FIELD_VALUE",
            format!("{field} is not a whole number of minor units of {currency}"),
        )
    })?;
    if m.minor <= 0 {
        return Err(ProcessorError::new("INVALID_FIELD_VALUE", format!("{field} must be positive")));
    }
    Ok(m)
}

#[async_trait]
impl ProcessorBackend for Ledger {
    async fn capture(&self, request: &CaptureRequest) -> Result<CaptureOutcome, ProcessorError> {
        let amount = money(&request.currency_code, request.amount, "amount")?;
        if request.transaction_description.trim().is_empty() {
            return Err(ProcessorError::new("MISSING_REQUIRED_FIELD", "transactionDescription"));
        }
        let token = request.google_payment_token.as_deref().filter(|t| !t.is_empty());
        let token = token.ok_or_else(|| ProcessorError::new("MISSING_REQUIRED_FIELD", "googlePaymentToken"))?;
        let declined = DECLINING_TOKENS.iter().find(|(name, _)| token.contains(name)).map(|(_, r)| r.clone());
        let id = &request.request_header.request_id;
        let outcome = match declined {
            Some(result) => CaptureOutcome {
                result,
                transaction_id: None,
                raw_result: Some(RawResult { scope: None, raw_code: "51".into() }),
            },
            None => CaptureOutcome {
                result: CaptureResult::Success,
                transaction_id: Some(self.ids.next("txn_", 24, IdAlphabet::Alphanumeric)),
                raw_result: None,
            },
        };
        let capture = Capture {
            amount,
            refunded: 0,
            result: outcome.result.clone(),
            transaction_id: outcome.transaction_id.clone(),
            description: request.transaction_description.clone(),
            created: self.now(),
        };
        self.books().captures.insert(id.clone(), capture);
        Ok(outcome)
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ProcessorError> {
        let asked = money(&request.currency_code, request.refund_amount, "refundAmount")?;
        let mut books = self.books();
        let capture = books
            .captures
            .get_mut(&request.capture_request_id)
            .ok_or_else(|| ProcessorError::new("INVALID_IDENTIFIER", "unknown captureRequestId"))?;
        if !capture.succeeded() {
            return Err(ProcessorError::new("PRECONDITION_VIOLATION", "the capture was declined"));
        }
        if asked.currency != capture.amount.currency {
            return Err(ProcessorError::new("INVALID_FIELD_VALUE", "currencyCode differs from the capture's"));
        }
        let left = capture.amount.minor - capture.refunded;
        if left == 0 {
            return Ok(RefundOutcome { result: RefundResult::NoMoneyLeftOnTransaction, refund_id: None });
        }
        if asked.minor > left {
            return Err(ProcessorError::new(
                "PRECONDITION_VIOLATION",
                "the refund amount exceeds the amount remaining on the transaction",
            ));
        }
        capture.refunded += asked.minor;
        let refund_id = self.ids.next("rfd_", 24, IdAlphabet::Alphanumeric);
        books.refunds.push(AppliedRefund {
            request_id: request.request_header.request_id.clone(),
            capture_request_id: request.capture_request_id.clone(),
            refund_id: refund_id.clone(),
            amount: asked,
            created: self.now(),
        });
        Ok(RefundOutcome { result: RefundResult::Success, refund_id: Some(refund_id) })
    }
}
