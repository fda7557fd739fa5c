//! The shared suite against a fresh PAY.JP mock per case (or the sandbox with
//! `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_PAYJP_SECRET_KEY`).

use std::sync::Arc;

use payment_conformance::{Fixtures, Suite, Target};
use payment_core::transport::{EngineBuilder, RecordingSleeper};
use payment_core::{CardDetails, Currency, DeclineReason, ExponentialBackoff, Money, PaymentClient, PaymentSource};
use payment_payjp::{CAPABILITIES, NAME, PayjpClient, PayjpConfig, mock::PayjpMock};

fn card(number: &str) -> PaymentSource {
    PaymentSource::Card(CardDetails::new(number, 12, 2035, Some("123")).expect("test card"))
}

fn fixtures(bad_key_client: Option<PaymentClient>) -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::JPY),
        source: card("4242424242424242"),
        decline: Some((card("4000000000000002"), DeclineReason::DoNotHonor)),
        currencies: vec![Money::new(50, Currency::JPY), Money::new(9_999_999, Currency::JPY)],
        bad_key_client,
    }
}

async fn mock_target() -> Result<Target, String> {
    let server = PayjpMock::new(42).serve("127.0.0.1:0".parse().unwrap()).await.map_err(|e| e.to_string())?;
    let sleeper = Arc::new(RecordingSleeper::default());
    let engine = || EngineBuilder::new(NAME).retry_policy(ExponentialBackoff::default()).sleeper(sleeper.clone());
    let config = PayjpConfig::new("sk_test_conformance")
        .and_then(|c| c.with_base_url(server.url()))
        .map_err(|e| e.to_string())?;
    let client = PayjpClient::with_engine(config, engine()).map_err(|e| e.to_string())?;
    let bad =
        PayjpConfig::new("sk_live_wrong").and_then(|c| c.with_base_url(server.url())).map_err(|e| e.to_string())?;
    let bad_client = PaymentClient::new(Arc::new(PayjpClient::with_engine(bad, engine()).map_err(|e| e.to_string())?));
    let control = server.control();
    let client = PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server));
    Ok(Target::new(client, fixtures(Some(bad_client))).with_control(control).with_sleeper(sleeper))
}

async fn sandbox_target() -> Result<Target, String> {
    let config = PayjpConfig::from_env().map_err(|e| e.to_string())?;
    let client = PaymentClient::new(Arc::new(PayjpClient::new(config).map_err(|e| e.to_string())?));
    Ok(Target::new(client, fixtures(None)))
}

fn main() {
    Suite::new(NAME, &CAPABILITIES)
        .with_decline()
        .with_bad_key()
        .with_recording_sleeper()
        .mock(mock_target)
        .sandbox(sandbox_target)
        .run()
}
