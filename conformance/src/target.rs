//! What a case runs against: a client, fixtures, and (for mocks) the mock's control handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use payment_core::transport::RecordingSleeper;
use payment_core::{
    ChargeRecord, ChargeStatus, CreateCharge, Fixtures, Money, Operation, PaymentClient, RequestOptions, Timestamp,
};
use payment_mock_kit::{FaultKind, FaultPlan, FaultRule, MockControl, OperationPaths};

use crate::check::{CaseResult, Failure};

/// One fresh target per case.
pub struct Target {
    /// The client under test.
    pub client: PaymentClient,
    /// Inputs.
    pub fixtures: Fixtures,
    /// A client whose credentials the target refuses, for the authentication case.
    pub bad_key_client: Option<PaymentClient>,
    /// The mock's control handle (`None` against a sandbox).
    pub control: Option<MockControl>,
    /// Where the mock's operations send their own requests.
    pub operations: Option<OperationPaths>,
    /// The engine's sleeper, when the harness injected a recording one.
    pub sleeper: Option<Arc<RecordingSleeper>>,
    /// A per-run tag (alphanumeric) put in every reference, so cases never assume empty state.
    pub tag: String,
    /// When the case started (lists are bounded to after this).
    pub started: Timestamp,
    counter: AtomicU32,
}

impl Target {
    /// A target; the tag is fresh per target.
    pub fn new(client: PaymentClient, fixtures: Fixtures) -> Target {
        let tag = format!("conf{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        Target {
            client,
            fixtures,
            bad_key_client: None,
            control: None,
            operations: None,
            sleeper: None,
            tag,
            started: Timestamp::from_unix(Timestamp::now().unix() - 120),
            counter: AtomicU32::new(0),
        }
    }

    /// Adds the mock's control handle.
    pub fn with_control(mut self, control: MockControl) -> Target {
        self.control = Some(control);
        self
    }

    /// Adds a client with refused credentials.
    pub fn with_bad_key_client(mut self, client: Option<PaymentClient>) -> Target {
        self.bad_key_client = client;
        self
    }

    /// Adds where each operation's request goes at the mock.
    pub fn with_operations(mut self, operations: OperationPaths) -> Target {
        self.operations = Some(operations);
        self
    }

    /// Makes the next request of `operation` (its own request, not a sub-request before it) meet `kind`, once.
    pub fn fault_on(&self, operation: Operation, kind: FaultKind) -> CaseResult {
        let paths = self.operations.map(|paths| paths(operation)).unwrap_or_default();
        if paths.is_empty() {
            return Err(Failure::new(format!("the mock names no path for {operation:?}")));
        }
        let rules = paths.iter().map(|p| FaultRule::always(kind.clone()).methods(&["POST"]).path(p).times(1)).collect();
        self.control()?.set_faults(FaultPlan::new(rules)).map_err(|e| Failure::new(e.to_string()))
    }

    /// Adds the recording sleeper the client's engine uses.
    pub fn with_sleeper(mut self, sleeper: Arc<RecordingSleeper>) -> Target {
        self.sleeper = Some(sleeper);
        self
    }

    /// A fresh alphanumeric reference carrying the run tag.
    pub fn reference(&self) -> String {
        format!("{}n{:04}", self.tag, self.counter.fetch_add(1, Ordering::SeqCst))
    }

    /// A charge request of `amount` with a fresh reference and the tag in metadata.
    pub fn charge_request(&self, amount: Money, capture: bool) -> CreateCharge {
        let mut c = CreateCharge::new(amount, self.fixtures.source.clone())
            .reference(self.reference())
            .description("conformance")
            .metadata("conformance", self.tag.clone());
        c.capture = capture;
        c.payer_ip = Some("127.0.0.1".into());
        c
    }

    /// The mock control, or a failure explaining the case needs one.
    pub fn control(&self) -> Result<&MockControl, Failure> {
        self.control.as_ref().ok_or_else(|| Failure::new("this case needs a mock with control endpoints"))
    }

    /// Creates a charge and, for asynchronous providers, completes it at the mock, so it is paid.
    pub async fn paid_charge(&self, amount: Money) -> Result<ChargeRecord, Failure> {
        let created = self.client.create_charge(self.charge_request(amount, true), &RequestOptions::default()).await?;
        if matches!(created.status, ChargeStatus::RequiresAction | ChargeStatus::Pending) {
            let control = self.control()?;
            control.complete_charge(created.id.as_str()).map_err(|e| Failure::new(format!("complete: {e}")))?;
            let paid = self.client.retrieve_charge(&created.id).await?;
            return Ok(paid);
        }
        Ok(created)
    }

    /// Reads a charge back when the provider can, else returns `fallback` as it is.
    pub async fn read_back(&self, fallback: ChargeRecord) -> Result<ChargeRecord, Failure> {
        if self.client.capabilities().charge.retrieve {
            Ok(self.client.retrieve_charge(&fallback.id).await?)
        } else {
            Ok(fallback)
        }
    }

    /// Creates an authorized (not captured) charge.
    pub async fn authorized_charge(&self, amount: Money) -> Result<ChargeRecord, Failure> {
        let c = self.client.create_charge(self.charge_request(amount, false), &RequestOptions::default()).await?;
        crate::check!(c.status == ChargeStatus::Authorized, "expected authorized, got {}", c.status);
        Ok(c)
    }

    /// Checks a paid charge: status succeeded, captured in full.
    pub fn expect_paid(&self, c: &ChargeRecord, amount: Money) -> CaseResult {
        crate::check!(c.status == ChargeStatus::Succeeded, "expected succeeded, got {}", c.status);
        crate::check!(c.amount == amount, "amount {} != requested {amount}", c.amount);
        crate::check!(c.amount_captured == amount, "captured {} != {amount}", c.amount_captured);
        Ok(())
    }
}
