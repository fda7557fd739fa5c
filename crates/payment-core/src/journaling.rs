//! One mutating call as a client was asked to make it, and what it returned: what a journal
//! (`client::CallJournal`) records and answers.

use crate::action::CompletionData;
use crate::charge::{ChargeId, ChargeRecord, CreateCharge};
use crate::money::Money;
use crate::operation::Operation;
use crate::refund::{CreateRefund, RefundRecord};

/// One mutating call, as the client was asked to make it.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// `create_charge`.
    CreateCharge(CreateCharge),
    /// `capture_charge`, in full (`None`) or in part.
    CaptureCharge {
        /// The charge.
        charge_id: ChargeId,
        /// The amount, for a partial capture.
        amount: Option<Money>,
    },
    /// `cancel_charge`.
    CancelCharge {
        /// The charge.
        charge_id: ChargeId,
    },
    /// `complete_charge`, with what the customer's step returned.
    CompleteCharge {
        /// The charge.
        charge_id: ChargeId,
        /// The step's result.
        data: CompletionData,
    },
    /// `create_refund`.
    CreateRefund(CreateRefund),
}

impl Mutation {
    /// The operation.
    pub fn operation(&self) -> Operation {
        match self {
            Mutation::CreateCharge(_) => Operation::CreateCharge,
            Mutation::CaptureCharge { .. } => Operation::CaptureCharge,
            Mutation::CancelCharge { .. } => Operation::CancelCharge,
            Mutation::CompleteCharge { .. } => Operation::CompleteCharge,
            Mutation::CreateRefund(_) => Operation::CreateRefund,
        }
    }
}

/// What a mutating call returned.
// One per call, moved straight to the caller: boxing the charge would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum MutationOutput {
    /// A charge (create, capture, cancel, complete).
    Charge(ChargeRecord),
    /// A refund.
    Refund(RefundRecord),
}
