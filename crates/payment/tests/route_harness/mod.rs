//! What the routing tests share: PAY.JP and Worldpay mocks on loopback, each account's client
//! behind a gate (a tower layer that can refuse connections, or pretend to after sending), and
//! a card both providers take whose number and holder name pick each one's decline.

#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use payment::mocks::{MockControl, MockHandle, MockOptions};
use payment::retry::TransportFailure;
use payment::routing::{FakeClock, RoutedClient, RoutingSettings};
use payment::transport::{EngineBuilder, HttpRequest, HttpResponse, TransportError};
use payment::{CardDetails, CreateCharge, Currency, Money, PaymentClient, PaymentSource, Retry, RouteConfig};

/// What a gate does to the requests through it.
#[derive(Clone, Default)]
pub struct Gate {
    /// Refuse every request before it is sent (connection refused).
    pub refuse: Arc<AtomicBool>,
    /// Send requests whose path starts with this, then report a refused connection anyway (a
    /// broken proxy: the one way a "not sent" can be wrong).
    pub lie_on: Arc<Mutex<Option<String>>>,
    /// Requests refused.
    pub refused: Arc<AtomicUsize>,
    /// Requests sent.
    pub sent: Arc<AtomicUsize>,
    /// Requests in flight now and at most, shared by every gate of a harness.
    pub in_flight: Arc<AtomicUsize>,
    /// The most in flight at once.
    pub max_in_flight: Arc<AtomicUsize>,
}

impl<S> tower::Layer<S> for Gate {
    type Service = GateService<S>;
    fn layer(&self, inner: S) -> GateService<S> {
        GateService { gate: self.clone(), inner }
    }
}

/// The gate around one account's HTTP stack.
#[derive(Clone)]
pub struct GateService<S> {
    gate: Gate,
    inner: S,
}

impl<S> tower::Service<HttpRequest> for GateService<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = TransportError> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = TransportError;
    type Future = BoxFuture<'static, Result<HttpResponse, TransportError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), TransportError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: HttpRequest) -> Self::Future {
        let g = self.gate.clone();
        if g.refuse.load(Ordering::SeqCst) {
            g.refused.fetch_add(1, Ordering::SeqCst);
            return Box::pin(async {
                Err(TransportError::new(TransportFailure::Connect, "connection refused (test gate)"))
            });
        }
        let lie = g
            .lie_on
            .lock()
            .unwrap()
            .as_deref()
            .is_some_and(|p| req.method() == "POST" && req.uri().path().starts_with(p));
        let now = g.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        g.max_in_flight.fetch_max(now, Ordering::SeqCst);
        g.sent.fetch_add(1, Ordering::SeqCst);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let result = fut.await;
            g.in_flight.fetch_sub(1, Ordering::SeqCst);
            if lie {
                Err(TransportError::new(TransportFailure::Connect, "connection refused (lying test gate)"))
            } else {
                result
            }
        })
    }
}

/// One mocked account.
pub struct Account {
    /// The account's name.
    pub name: &'static str,
    /// Its mock.
    pub mock: MockHandle,
    /// Its client (through the gate).
    pub client: PaymentClient,
    /// Its gate.
    pub gate: Gate,
}

impl Account {
    /// The mock's control.
    pub fn control(&self) -> MockControl {
        self.mock.control()
    }
}

/// Starts `provider`'s mock (delivering webhooks to `webhook_url`, when given) and connects an
/// account to it through a gate sharing `in_flight`, with immediate engine retries.
pub async fn account(
    name: &'static str,
    provider: &str,
    webhook_url: Option<String>,
    in_flight: (Arc<AtomicUsize>, Arc<AtomicUsize>),
) -> Account {
    let driver = payment::registry().get(provider).unwrap();
    let options = MockOptions { webhook_url, ..MockOptions::default() };
    let mock = payment::mocks::start(driver, options).await.unwrap();
    let gate = Gate { in_flight: in_flight.0, max_in_flight: in_flight.1, ..Gate::default() };
    let engine = EngineBuilder::new(driver.name).retry_policy(Retry { max_attempts: 3 }).layer(gate.clone());
    let client = driver.connect_with(mock.settings.clone(), engine).await.unwrap();
    Account { name, mock, client, gate }
}

/// A JPY charge of `amount` with `reference`, from a card: PAY.JP's decline by `number`,
/// Worldpay's by `holder` (`REFUSED91` soft, `REFUSED` hard, anything else authorized).
pub fn charge(amount: i64, reference: &str, number: &str, holder: &str) -> CreateCharge {
    let mut card = CardDetails::new(number, 12, 2030, Some("123")).unwrap();
    card.holder_name = Some(holder.to_owned());
    let mut c = CreateCharge::new(Money::new(amount, Currency::JPY), PaymentSource::Card(card));
    c.reference = Some(reference.to_owned());
    c
}

/// A card PAY.JP takes.
pub const PAYJP_OK: &str = "4242424242424242";
/// PAY.JP's `processing_error` (soft).
pub const PAYJP_SOFT: &str = "4000000000000119";
/// PAY.JP's `card_declined` (hard).
pub const PAYJP_HARD: &str = "4000000000000002";

/// One rule: JPY to `targets` in order.
pub fn japan(targets: &[&str]) -> Vec<RouteConfig> {
    vec![RouteConfig {
        name: "japan".into(),
        currency: vec!["JPY".into()],
        targets: targets.iter().map(|t| (*t).to_owned()).collect(),
        ..RouteConfig::default()
    }]
}

/// A router over `accounts` with `settings` and a fake clock.
pub fn router(
    accounts: &[&Account],
    routes: &[RouteConfig],
    settings: RoutingSettings,
    clock: &FakeClock,
) -> RoutedClient {
    let mut b = RoutedClient::builder().routes(routes).settings(settings).clock(Arc::new(clock.clone()));
    for a in accounts {
        b = b.account(a.name, a.client.clone());
    }
    b.build().unwrap()
}
