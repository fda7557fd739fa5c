//! A named case, what it needs, and how it runs.

use futures::future::BoxFuture;
use payment_core::Capabilities;

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
