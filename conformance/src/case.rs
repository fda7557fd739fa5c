//! A named case, what it needs, and how it runs.

use futures::future::BoxFuture;
use payment_core::{Capabilities, IdempotencySupport, Operation};
use payment_mock_kit::OperationPaths;

use crate::check::CaseResult;
use crate::target::Target;

/// What the harness can offer, decided before any case runs.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// The provider's capabilities.
    pub caps: &'static Capabilities,
    /// A mock with control endpoints (not a sandbox).
    pub control: bool,
    /// A decline fixture.
    pub decline: bool,
    /// A bad-key client fixture.
    pub bad_key: bool,
    /// A recording sleeper in the client's engine.
    pub recording_sleeper: bool,
    /// Where each operation's request goes at the mock.
    pub operations: Option<OperationPaths>,
}

/// One conformance case.
pub struct Case {
    /// `group::name`; the runner prefixes the provider.
    pub name: &'static str,
    /// `Some(reason)` when the case cannot apply to this profile (reported as ignored).
    pub needs: fn(&Profile) -> Option<&'static str>,
    /// The case.
    pub run: for<'a> fn(&'a Target) -> BoxFuture<'a, CaseResult>,
}

/// Builds a [`Case`] from a name, a needs function and an `async fn(&Target) -> CaseResult`.
#[macro_export]
macro_rules! case {
    ($name:literal, $needs:expr, $f:path) => {
        $crate::case::Case { name: $name, needs: $needs, run: |t| Box::pin($f(t)) }
    };
}

/// Needs nothing.
pub fn always(_: &Profile) -> Option<&'static str> {
    None
}

/// Needs a mock with control endpoints.
pub fn mock(p: &Profile) -> Option<&'static str> {
    (!p.control).then_some("needs a mock with fault control")
}

/// Needs to read a charge back.
pub fn retrieve(p: &Profile) -> Option<&'static str> {
    (!p.caps.charge.retrieve).then_some("provider cannot read a charge back")
}

/// Needs a mock that can aim a fault at `operation`'s own request, and `operation` to survive a
/// lost answer (`Replay` or `RejectDuplicate`).
pub fn repeatable(p: &Profile, operation: Operation) -> Option<&'static str> {
    let support = p.caps.idempotency.support(operation);
    mock(p)
        .or((support == IdempotencySupport::None).then_some("the operation cannot be repeated after a lost answer"))
        .or(p
            .operations
            .filter(|paths| !paths(operation).is_empty())
            .is_none()
            .then_some("the mock has no such request"))
}
