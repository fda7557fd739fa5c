//! The shared suite against a fresh Worldpay mock per case (or the Try environment with
//! `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_WORLDPAY_*`).

use std::sync::Arc;

use payment_conformance::{Fixtures, Suite, Target};
use payment_core::transport::{EngineBuilder, RecordingSleeper};
use payment_core::{CardDetails, Currency, DeclineReason, ExponentialBackoff, Money, PaymentClient, PaymentSource};
use payment_worldpay::mock::WorldpayMock;
use payment_worldpay::{CAPABILITIES, NAME, WorldpayClient, WorldpayConfig};

fn card(holder: &str) -> PaymentSource {
    let mut card = CardDetails::new("4444333322221111", 5, 2030, Some("123")).expect("test card");
    card.holder_name = Some(holder.to_owned());
    PaymentSource::Card(card)
}

fn fixtures(bad_key_client: Option<PaymentClient>) -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::GBP),
        source: card("Conformance Tester"),
        decline: Some((card("REFUSED"), DeclineReason::DoNotHonor)),
        currencies: vec![
            Money::new(1000, Currency::JPY),
            Money::new(1234, Currency::GBP),
            Money::new(1005, Currency::BHD),
        ],
        bad_key_client,
    }
}

async fn mock_target() -> Result<Target, String> {
    let server = WorldpayMock::new(9).serve("127.0.0.1:0".parse().unwrap()).await.map_err(|e| e.to_string())?;
    let sleeper = Arc::new(RecordingSleeper::default());
    let engine = || EngineBuilder::new(NAME).retry_policy(ExponentialBackoff::default()).sleeper(sleeper.clone());
    let config = WorldpayConfig::new("conformance", "secret", "default")
        .and_then(|c| c.with_base_url(server.url()))
        .map_err(|e| e.to_string())?;
    let client = WorldpayClient::with_engine(config, engine()).map_err(|e| e.to_string())?;
    let bad = WorldpayConfig::new("denied", "secret", "default")
        .and_then(|c| c.with_base_url(server.url()))
        .map_err(|e| e.to_string())?;
    let bad_client =
        PaymentClient::new(Arc::new(WorldpayClient::with_engine(bad, engine()).map_err(|e| e.to_string())?));
    let control = server.control();
    let client = PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server));
    Ok(Target::new(client, fixtures(Some(bad_client))).with_control(control).with_sleeper(sleeper))
}

async fn sandbox_target() -> Result<Target, String> {
    let config = WorldpayConfig::from_env().map_err(|e| e.to_string())?;
    Ok(Target::new(
        PaymentClient::new(Arc::new(WorldpayClient::new(config).map_err(|e| e.to_string())?)),
        fixtures(None),
    ))
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
