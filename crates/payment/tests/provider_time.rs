//! A charge's created time is the provider's own clock, not the client's: Worldpay's create
//! answer states no time, so its `Date` is read (the mock's clock, moved two hours here), and a
//! later read (Payment Queries) agrees with it.

#![cfg(all(feature = "worldpay", feature = "mock"))]

use std::time::Duration;

use payment::mocks::MockOptions;
use payment::transport::EngineBuilder;
use payment::{RequestOptions, Timestamp};

#[tokio::test]
async fn a_worldpay_charge_is_created_at_worldpays_time() {
    let driver = payment::drivers().into_iter().find(|d| d.name == "worldpay").expect("worldpay is compiled in");
    let mock = payment::mocks::start(driver, MockOptions::default()).await.unwrap();
    mock.control().advance_clock(Duration::from_secs(7200));
    let client = driver.connect_with(mock.settings.clone(), EngineBuilder::new(driver.name)).await.unwrap();
    let request = payment::worldpay::fixtures::fixtures().charge(Some("timeorder1".into()));
    let created = client.create_charge(request, &RequestOptions::default()).await.unwrap();
    let later = Timestamp::now().unix() + 7200;
    assert!(
        (later - 5..=later + 1).contains(&created.created.unix()),
        "created at {} (the mock's clock is {later})",
        created.created
    );
    let read = client.retrieve_charge(&created.id).await.unwrap();
    assert!((read.created.unix() - created.created.unix()).abs() <= 1, "{} then {}", created.created, read.created);
}
