//! The shared suite against a fresh Ping++ mock per case, with request signing on (or the sandbox
//! with `PAYMENT_TEST_TARGET=sandbox` and `PAYMENT_PINGPP_*`).

use std::sync::{Arc, OnceLock};

use payment_conformance::{Fixtures, Suite, Target};
use payment_core::crypto::RsaPrivateKey;
use payment_core::transport::{EngineBuilder, RecordingSleeper};
use payment_core::{Currency, ExponentialBackoff, Money, PaymentClient, PaymentSource};
use payment_pingpp::{CAPABILITIES, NAME, PingppClient, PingppConfig, mock::PingppMock};

const APP: &str = "app_1Gqj58ynP0mHeX1q";

/// One merchant key for the whole run: RSA generation is slow and the key is not under test.
fn merchant_key() -> Arc<RsaPrivateKey> {
    static KEY: OnceLock<Arc<RsaPrivateKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(RsaPrivateKey::generate().expect("key"))).clone()
}

fn fixtures(bad_key_client: Option<PaymentClient>) -> Fixtures {
    Fixtures {
        amount: Money::new(1000, Currency::CNY),
        source: PaymentSource::channel("alipay"),
        decline: None,
        currencies: vec![Money::new(1234, Currency::CNY), Money::new(1, Currency::CNY)],
        bad_key_client,
    }
}

async fn mock_target() -> Result<Target, String> {
    let key = merchant_key();
    let mock = PingppMock::new(5).with_merchant_key(key.public_key().map_err(|e| e.to_string())?);
    let server = mock.serve("127.0.0.1:0".parse().unwrap()).await.map_err(|e| e.to_string())?;
    let sleeper = Arc::new(RecordingSleeper::default());
    let engine = || EngineBuilder::new(NAME).retry_policy(ExponentialBackoff::default()).sleeper(sleeper.clone());
    let config = PingppConfig::new("sk_test_conformance", APP)
        .and_then(|c| c.with_base_url(server.url()))
        .map_err(|e| e.to_string())?
        .with_private_key(key.clone());
    let client = PingppClient::with_engine(config, engine()).map_err(|e| e.to_string())?;
    let bad = PingppConfig::new("sk_live_wrong", APP)
        .and_then(|c| c.with_base_url(server.url()))
        .map_err(|e| e.to_string())?
        .with_private_key(key);
    let bad_client = PaymentClient::new(Arc::new(PingppClient::with_engine(bad, engine()).map_err(|e| e.to_string())?));
    let control = server.control();
    let client = PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server));
    Ok(Target::new(client, fixtures(Some(bad_client))).with_control(control).with_sleeper(sleeper))
}

async fn sandbox_target() -> Result<Target, String> {
    let config = PingppConfig::from_env().map_err(|e| e.to_string())?;
    Ok(Target::new(PaymentClient::new(Arc::new(PingppClient::new(config).map_err(|e| e.to_string())?)), fixtures(None)))
}

fn main() {
    Suite::new(NAME, &CAPABILITIES)
        .with_bad_key()
        .with_recording_sleeper()
        .mock(mock_target)
        .sandbox(sandbox_target)
        .run()
}
