//! Per-provider setup shared by the soak, the benchmarks and the examples: a fresh mock and a
//! client whose engine the caller configures.

use std::sync::Arc;

use payment::mocks::{MockControl, MockServer};

use payment::transport::EngineBuilder;
use payment::{CardDetails, ChargeRecord, ChargeStatus, CreateCharge, Currency, Money, PaymentClient, PaymentSource};

/// The providers with an HTTP mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// PAY.JP.
    Payjp,
    /// Ping++ (request signing on).
    Pingpp,
    /// Worldpay Access.
    Worldpay,
}

impl Provider {
    /// Every provider with an HTTP mock.
    pub const ALL: &'static [Provider] = &[Provider::Payjp, Provider::Pingpp, Provider::Worldpay];

    /// The config name.
    pub fn name(&self) -> &'static str {
        match self {
            Provider::Payjp => "payjp",
            Provider::Pingpp => "pingpp",
            Provider::Worldpay => "worldpay",
        }
    }

    /// By config name.
    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// An ordinary amount.
    pub fn amount(&self) -> Money {
        match self {
            Provider::Payjp => Money::new(1000, Currency::JPY),
            Provider::Pingpp => Money::new(1234, Currency::CNY),
            Provider::Worldpay => Money::new(1000, Currency::GBP),
        }
    }

    /// A source that succeeds at the mock.
    pub fn source(&self) -> PaymentSource {
        match self {
            Provider::Payjp => CardDetails::new("4242424242424242", 12, 2035, Some("123"))
                .map(PaymentSource::Card)
                .unwrap_or_else(|_| PaymentSource::Token("tok_invalid".into())),
            Provider::Pingpp => PaymentSource::channel("alipay"),
            Provider::Worldpay => CardDetails::new("4444333322221111", 5, 2030, Some("123"))
                .map(PaymentSource::Card)
                .unwrap_or_else(|_| PaymentSource::Token("invalid".into())),
        }
    }
}

impl Provider {
    /// A charge of the ordinary amount from the ordinary source, with the payer's IP set.
    pub fn charge(&self, reference: Option<String>) -> CreateCharge {
        let mut request = CreateCharge::new(self.amount(), self.source());
        request.reference = reference;
        request.payer_ip = Some("127.0.0.1".into());
        request
    }
}

/// A running mock and a client for it.
pub struct Target {
    /// The client (keeps the mock alive).
    pub client: PaymentClient,
    /// The mock's control handle.
    pub control: MockControl,
    /// The mock's base URL.
    pub url: String,
}

/// Starts a fresh mock of `provider` and a client on it with `engine`.
pub async fn start(provider: Provider, engine: EngineBuilder) -> Result<Target, String> {
    let addr = "127.0.0.1:0".parse().map_err(|_| "bad address".to_owned())?;
    match provider {
        Provider::Payjp => {
            use payment::payjp::{PayjpClient, PayjpConfig};
            let server: MockServer = payment::payjp::mock::start(addr).await.map_err(|e| e.to_string())?;
            let config = PayjpConfig::new("sk_test_soak")
                .and_then(|c| c.with_base_url(server.url()))
                .map_err(|e| e.to_string())?;
            let client = PayjpClient::with_engine(config, engine).map_err(|e| e.to_string())?;
            let control = server.control();
            let url = server.url().to_owned();
            Ok(Target { client: PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server)), control, url })
        }
        Provider::Pingpp => {
            use payment::pingpp::{PingppClient, PingppConfig};
            let (server, keys) = payment::pingpp::mock::start_signing(addr, None).await.map_err(|e| e.to_string())?;
            let config = PingppConfig::new("sk_test_soak", "app_SoakSoakSoak0001")
                .and_then(|c| c.with_base_url(server.url()))
                .map_err(|e| e.to_string())?
                .with_private_key(keys.merchant_private);
            let client = PingppClient::with_engine(config, engine).map_err(|e| e.to_string())?;
            let control = server.control();
            let url = server.url().to_owned();
            Ok(Target { client: PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server)), control, url })
        }
        Provider::Worldpay => {
            use payment::worldpay::{WorldpayClient, WorldpayConfig};
            let server = payment::worldpay::mock::start(addr).await.map_err(|e| e.to_string())?;
            let config = WorldpayConfig::new("soak", "secret", "default")
                .and_then(|c| c.with_base_url(server.url()))
                .map_err(|e| e.to_string())?;
            let client = WorldpayClient::with_engine(config, engine).map_err(|e| e.to_string())?;
            let control = server.control();
            let url = server.url().to_owned();
            Ok(Target { client: PaymentClient::with_keep_alive(Arc::new(client), Arc::new(server)), control, url })
        }
    }
}

/// Pays an asynchronous charge at its embedded mock and reads it back; synchronous ones come back as they are.
pub async fn settle(client: &PaymentClient, charge: ChargeRecord) -> payment::Result<ChargeRecord> {
    if !matches!(charge.status, ChargeStatus::RequiresAction | ChargeStatus::Pending) {
        return Ok(charge);
    }
    let Some(server) = client.keep_alive::<MockServer>() else { return Ok(charge) };
    server.control().complete_charge(charge.id.as_str()).map_err(|e| payment::Error::config(e.to_string()))?;
    client.retrieve_charge(&charge.id).await
}
