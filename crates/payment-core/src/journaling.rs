//! One mutating call as a client was asked to make it, and what it returned: what a journal
//! (`client::CallJournal`) records and answers.

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
            Mutation::CreateRefund(_) => Operation::CreateRefund,
        }
    }
}

/// What a mutating call returned.
#[derive(Debug, Clone)]
pub enum MutationOutput {
    /// A charge (create, capture, cancel).
    Charge(ChargeRecord),
    /// A refund.
    Refund(RefundRecord),
}
