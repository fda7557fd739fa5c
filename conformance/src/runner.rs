//! The libtest-mimic runner: one trial per case, a fresh target per trial, missing capabilities ignored.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use libtest_mimic::{Arguments, Trial};
use payment_core::transport::{EngineBuilder, RecordingSleeper};
use payment_core::{Config, ExponentialBackoff, ProviderDriver, ProviderSettings};
use payment_mock_kit::{MockDriver, MockHandle, MockOptions, SigningKeys};

use crate::case::Profile;
use crate::cases;
use crate::target::Target;

/// Builds a fresh target (a new mock, or a sandbox client).
pub type TargetFactory = Arc<dyn Fn() -> BoxFuture<'static, Result<Target, String>> + Send + Sync>;

/// The longest one case may run.
const CASE_LIMIT: Duration = Duration::from_secs(120);

/// One provider's suite, built from its driver alone.
pub struct Suite {
    driver: &'static ProviderDriver,
}

/// One set of signing keys for the whole run: RSA generation is slow and the keys are not under test.
fn shared_keys() -> Result<SigningKeys, String> {
    static KEYS: OnceLock<Result<SigningKeys, String>> = OnceLock::new();
    KEYS.get_or_init(|| SigningKeys::generate().map_err(|e| e.to_string())).clone()
}

fn engine(driver: &ProviderDriver, sleeper: &Arc<RecordingSleeper>) -> EngineBuilder {
    EngineBuilder::new(driver.name).retry_policy(ExponentialBackoff::default()).sleeper(sleeper.clone())
}

/// A fresh mock of `driver` and clients on it (one with refused credentials), over an engine
/// whose sleeper records the delays chosen.
async fn mock_target(driver: &'static ProviderDriver, mock: &'static MockDriver) -> Result<Target, String> {
    let options = MockOptions { signing_keys: Some(shared_keys()?), ..MockOptions::default() };
    let MockHandle { server, settings, bad_key_settings, .. } =
        (mock.start)(options).await.map_err(|e| e.to_string())?;
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = driver.connect_with(settings, engine(driver, &sleeper)).await.map_err(|e| e.to_string())?;
    let bad = match bad_key_settings {
        Some(s) => Some(driver.connect_with(s, engine(driver, &sleeper)).await.map_err(|e| e.to_string())?),
        None => None,
    };
    let control = server.control();
    Ok(Target::new(client.keeping(Arc::new(server)), (driver.fixtures)())
        .with_bad_key_client(bad)
        .with_control(control)
        .with_operations(mock.paths)
        .with_sleeper(sleeper))
}

/// A client of an in-process provider (no HTTP, no mock).
async fn local_target(driver: &'static ProviderDriver) -> Result<Target, String> {
    let client = driver
        .connect_with(ProviderSettings::new(driver.name), EngineBuilder::new(driver.name))
        .await
        .map_err(|e| e.to_string())?;
    Ok(Target::new(client, (driver.fixtures)()))
}

/// A client on the provider's sandbox, from `PAYMENT_<PROVIDER>_*`.
async fn sandbox_target(driver: &'static ProviderDriver) -> Result<Target, String> {
    let settings = Config::from_env(&[driver.name]).settings(driver.name);
    let client = driver.connect_with(settings, EngineBuilder::new(driver.name)).await.map_err(|e| e.to_string())?;
    Ok(Target::new(client, (driver.fixtures)()))
}

impl Suite {
    /// The suite of `driver`: against a fresh mock per case when the driver has one (an in-process
    /// provider otherwise), or its sandbox with `PAYMENT_TEST_TARGET=sandbox`.
    pub fn for_driver(driver: &'static ProviderDriver) -> Suite {
        Suite { driver }
    }

    /// The trials, without running them.
    pub fn trials(&self) -> Vec<Trial> {
        let sandbox = std::env::var("PAYMENT_TEST_TARGET").is_ok_and(|v| v == "sandbox");
        let driver = self.driver;
        let mock = MockDriver::of(driver);
        let factory: TargetFactory = match (sandbox, mock) {
            (true, _) => Arc::new(move || Box::pin(sandbox_target(driver))),
            (false, Some(mock)) => Arc::new(move || Box::pin(mock_target(driver, mock))),
            (false, None) => Arc::new(move || Box::pin(local_target(driver))),
        };
        let fixtures = (driver.fixtures)();
        let with_mock = mock.is_some() && !sandbox;
        let profile = Profile {
            caps: driver.capabilities,
            control: with_mock,
            decline: fixtures.decline.is_some(),
            // Bad-key clients are made against a mock's credential rules; sandbox targets carry none.
            bad_key: with_mock,
            recording_sleeper: with_mock,
            operations: mock.filter(|_| with_mock).map(|m| m.paths),
        };
        cases::all()
            .into_iter()
            .map(|case| {
                let name = format!("{}::{}", driver.name, case.name);
                let reason = (case.needs)(&profile);
                let factory = factory.clone();
                let run = case.run;
                let trial = Trial::test(name, move || {
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
