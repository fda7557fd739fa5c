//! The libtest-mimic runner: one trial per case, a fresh target per trial, missing capabilities ignored.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use libtest_mimic::{Arguments, Trial};
use payment_core::Capabilities;

use crate::case::Profile;
use crate::cases;
use crate::target::Target;

/// Builds a fresh target (a new mock, or a sandbox client).
pub type TargetFactory = Arc<dyn Fn() -> BoxFuture<'static, Result<Target, String>> + Send + Sync>;

/// The longest one case may run.
const CASE_LIMIT: Duration = Duration::from_secs(120);

/// One provider's suite.
pub struct Suite {
    provider: &'static str,
    caps: &'static Capabilities,
    mock: Option<TargetFactory>,
    sandbox: Option<TargetFactory>,
    decline: bool,
    bad_key: bool,
    recording_sleeper: bool,
    mock_control: bool,
}

impl Suite {
    /// A suite for `provider` with its capabilities.
    pub fn new(provider: &'static str, caps: &'static Capabilities) -> Suite {
        Suite {
            provider,
            caps,
            mock: None,
            sandbox: None,
            decline: false,
            bad_key: false,
            recording_sleeper: false,
            mock_control: true,
        }
    }

    /// How to make a fresh mock target.
    pub fn mock<F>(mut self, factory: impl Fn() -> F + Send + Sync + 'static) -> Suite
    where
        F: std::future::Future<Output = Result<Target, String>> + Send + 'static,
    {
        self.mock = Some(Arc::new(move || Box::pin(factory())));
        self
    }

    /// How to make a sandbox target (`PAYMENT_TEST_TARGET=sandbox`).
    pub fn sandbox<F>(mut self, factory: impl Fn() -> F + Send + Sync + 'static) -> Suite
    where
        F: std::future::Future<Output = Result<Target, String>> + Send + 'static,
    {
        self.sandbox = Some(Arc::new(move || Box::pin(factory())));
        self
    }

    /// The targets carry a decline fixture.
    pub fn with_decline(mut self) -> Suite {
        self.decline = true;
        self
    }

    /// The targets carry a bad-key client.
    pub fn with_bad_key(mut self) -> Suite {
        self.bad_key = true;
        self
    }

    /// The mock targets carry a recording sleeper.
    pub fn with_recording_sleeper(mut self) -> Suite {
        self.recording_sleeper = true;
        self
    }

    /// The targets are in-process with no mock control (fault cases are ignored).
    pub fn without_control(mut self) -> Suite {
        self.mock_control = false;
        self
    }

    /// The trials, without running them.
    pub fn trials(&self) -> Vec<Trial> {
        let sandbox = std::env::var("PAYMENT_TEST_TARGET").is_ok_and(|v| v == "sandbox");
        let factory = if sandbox { self.sandbox.clone() } else { self.mock.clone() };
        let profile = Profile {
            caps: self.caps,
            control: !sandbox && self.mock_control,
            decline: self.decline,
            // Bad-key clients are made against a mock's credential rules; sandbox targets carry none.
            bad_key: self.bad_key && !sandbox,
            recording_sleeper: self.recording_sleeper && !sandbox,
        };
        cases::all()
            .into_iter()
            .map(|case| {
                let name = format!("{}::{}", self.provider, case.name);
                let reason = match &factory {
                    None => Some("no target configured for this mode"),
                    Some(_) => (case.needs)(&profile),
                };
                let factory = factory.clone();
                let run = case.run;
                let trial = Trial::test(name, move || {
                    let factory = factory.ok_or("no target")?;
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                    rt.block_on(async move {
                        let target = factory().await.map_err(|e| format!("could not build the target: {e}"))?;
                        match tokio::time::timeout(CASE_LIMIT, run(&target)).await {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(failure)) => Err(failure.to_string().into()),
                            Err(_) => Err(format!("case did not finish within {CASE_LIMIT:?}").into()),
                        }
                    })
                });
                match reason {
                    Some(why) => trial.with_ignored_flag(true).with_kind(why),
                    None => trial,
                }
            })
            .collect()
    }

    /// Runs the suite as a test binary (`harness = false`) and exits.
    pub fn run(self) -> ! {
        let args = Arguments::from_args();
        libtest_mimic::run(&args, self.trials()).exit()
    }
}
