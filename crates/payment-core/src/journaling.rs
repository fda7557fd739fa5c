//! The hook through which a journal sees every mutating call of a [`PaymentClient`]; the journal
//! itself (stores, recovery) lives in the `payment-journal` crate.

use std::fmt;

use async_trait::async_trait;

use crate::charge::{ChargeId, ChargeRecord, CreateCharge};
use crate::client::PaymentClient;
use crate::error::Result;
use crate::idempotency::RequestOptions;
use crate::money::Money;
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
    /// The operation's name, as in errors and capabilities.
    pub fn operation(&self) -> &'static str {
        match self {
            Mutation::CreateCharge(_) => "create_charge",
            Mutation::CaptureCharge { .. } => "capture_charge",
            Mutation::CancelCharge { .. } => "cancel_charge",
            Mutation::CreateRefund(_) => "create_refund",
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
