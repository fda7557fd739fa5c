//! Every operation of the neutral API, named once. Matches on [`Operation`] are exhaustive, so an
//! operation added here is a compile error wherever it is not yet handled.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One operation: a neutral one every provider may offer, or a provider's own request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Creating a charge (authorizing, and capturing unless asked not to).
    CreateCharge,
    /// Reading a charge.
    RetrieveCharge,
    /// Capturing an authorized charge, in full or in part.
    CaptureCharge,
    /// Canceling (voiding) a charge that is not captured.
    CancelCharge,
    /// Completing a charge once the customer is back from its next action (3-D Secure).
    CompleteCharge,
    /// Listing charges.
    ListCharges,
    /// Finding the charge a prepared request created, by its reference.
    FindCharge,
    /// Refunding a charge, in full or in part.
    CreateRefund,
    /// Reading one refund.
    RetrieveRefund,
    /// Listing a charge's refunds.
    ListRefunds,
    /// A request of one provider's own API outside the neutral operations (a token, a discovery
    /// read, a re-authorization), with its own repeat semantics.
    Native(NativeOperation),
}

/// A provider's own request: its name and how a repeat of it is honoured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NativeOperation {
    name: &'static str,
    support: IdempotencySupport,
}

impl NativeOperation {
    /// A read of the provider's own API: safe to repeat.
    pub const fn read(name: &'static str) -> NativeOperation {
        NativeOperation { name, support: IdempotencySupport::Safe }
    }

    /// A write of the provider's own API, repeated only as `support` allows.
    pub const fn write(name: &'static str, support: IdempotencySupport) -> NativeOperation {
        NativeOperation { name, support }
    }

    /// How a repeat is honoured.
    pub const fn support(self) -> IdempotencySupport {
        self.support
    }
}

/// How a provider treats a repeat of one operation; decides what the retry engine may resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdempotencySupport {
    /// Repeating has no further effect by nature (reads).
    Safe,
    /// The provider returns the original result for a repeated key.
    Replay,
    /// The provider refuses a reused natural key; after an ambiguous failure, look the object up.
    RejectDuplicate {
        /// How the object is looked up (for humans and `payment providers`).
        lookup: &'static str,
    },
    /// Nothing makes a repeat safe: never resent after an ambiguous failure.
    None,
}

impl fmt::Display for IdempotencySupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdempotencySupport::Safe => f.write_str("safe to repeat"),
            IdempotencySupport::Replay => f.write_str("replayed by idempotency key"),
            IdempotencySupport::RejectDuplicate { lookup } => write!(f, "duplicate refused, found again by {lookup}"),
            IdempotencySupport::None => f.write_str("never repeated after a lost answer"),
        }
    }
}

impl IdempotencySupport {
    /// Whether a request that may have reached the provider can be followed by another attempt.
    pub fn survives_ambiguity(&self) -> bool {
        !matches!(self, IdempotencySupport::None)
    }
}

impl Operation {
    /// The operations that move money or change a payment: what a journal records.
    pub const MUTATIONS: [Operation; 5] = [
        Operation::CreateCharge,
        Operation::CaptureCharge,
        Operation::CancelCharge,
        Operation::CompleteCharge,
        Operation::CreateRefund,
    ];

    /// The name in errors, logs, journals and capabilities (`create_charge`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::CreateCharge => "create_charge",
            Operation::RetrieveCharge => "retrieve_charge",
            Operation::CaptureCharge => "capture_charge",
            Operation::CancelCharge => "cancel_charge",
            Operation::CompleteCharge => "complete_charge",
            Operation::ListCharges => "list_charges",
            Operation::FindCharge => "find_charge",
            Operation::CreateRefund => "create_refund",
            Operation::RetrieveRefund => "retrieve_refund",
            Operation::ListRefunds => "list_refunds",
            Operation::Native(native) => native.name,
        }
    }

    /// The neutral operation named `name` (a provider's own requests are not found by name).
    pub fn from_name(name: &str) -> Option<Operation> {
        const NEUTRAL: [Operation; 10] = [
            Operation::CreateCharge,
            Operation::RetrieveCharge,
            Operation::CaptureCharge,
            Operation::CancelCharge,
            Operation::CompleteCharge,
            Operation::ListCharges,
            Operation::FindCharge,
            Operation::CreateRefund,
            Operation::RetrieveRefund,
            Operation::ListRefunds,
        ];
        NEUTRAL.into_iter().find(|op| op.as_str() == name)
    }

    /// Whether this is one of [`Operation::MUTATIONS`].
    pub const fn is_mutation(self) -> bool {
        match self {
            Operation::CreateCharge
            | Operation::CaptureCharge
            | Operation::CancelCharge
            | Operation::CompleteCharge
            | Operation::CreateRefund => true,
            crate::non_mutations!() => false,
        }
    }
}

/// The pattern of every operation that is not a mutation (the reads and a provider's own
/// requests): `match op { Operation::CreateCharge => …, payment_core::non_mutations!() => … }`
/// stays exhaustive over the mutations, so a new one is a compile error in every such match,
/// while the reads are listed once, here.
#[macro_export]
macro_rules! non_mutations {
    () => {
        $crate::Operation::RetrieveCharge
            | $crate::Operation::ListCharges
            | $crate::Operation::FindCharge
            | $crate::Operation::RetrieveRefund
            | $crate::Operation::ListRefunds
            | $crate::Operation::Native(_)
    };
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so a table's `{:<14}` lines its columns up.
        f.pad(self.as_str())
    }
}

impl Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Operation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Operation, D::Error> {
        let name = String::deserialize(deserializer)?;
        Operation::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is not an operation of the neutral API")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_neutral_name_reads_back_and_a_native_one_does_not() {
        for op in Operation::MUTATIONS {
            assert_eq!(Operation::from_name(op.as_str()), Some(op));
            assert!(op.is_mutation());
        }
        for op in [Operation::RetrieveCharge, Operation::ListRefunds, Operation::FindCharge] {
            assert_eq!(Operation::from_name(op.as_str()), Some(op));
            assert!(!op.is_mutation());
        }
        let native = Operation::Native(NativeOperation::read("discovery"));
        assert_eq!(native.as_str(), "discovery");
        assert_eq!(Operation::from_name("discovery"), None);
        assert_eq!(Operation::from_name("Create_Charge"), None);
        assert_eq!(format!("[{:<14}]", Operation::CancelCharge), "[cancel_charge ]");
    }
}
