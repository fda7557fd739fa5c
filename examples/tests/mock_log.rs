//! What every mock's request log (and so its console) shows after real traffic: never a
//! configured credential, never a card number.

use payment::transport::EngineBuilder;
use payment::{CreateCharge, CreateRefund, RequestOptions};
use payment_examples::targets;

#[tokio::test]
async fn no_mock_logs_a_credential_or_a_card_number() {
    for driver in targets::all() {
        let target = targets::start(driver, EngineBuilder::new(driver.name)).await.unwrap();
        let f = (driver.fixtures)();
        let name = driver.name;
        let mut request = CreateCharge::new(f.amount, f.source.clone());
        request.payer_ip = Some("127.0.0.1".into());
        let charge = target.client.create_charge(request, &RequestOptions::default()).await.unwrap();
        let charge = targets::settle(&target.client, charge).await.unwrap();
        let _ = target.client.create_refund(CreateRefund::full(charge.id.clone()), &RequestOptions::default()).await;
        // Every value the client was configured with whose name says it is a credential.
        let secrets: Vec<&str> = target
            .settings
            .keys()
            .filter(|k| ["key", "secret", "password", "token"].iter().any(|w| k.contains(w)) && !k.ends_with("_path"))
            .filter_map(|k| target.settings.get(k))
            .filter(|v| v.len() >= 6)
            .collect();
        let log = target.control.requests();
        assert!(!log.is_empty(), "{name}");
        for entry in log {
            let text = format!("{} {:?} {}", entry.path, entry.headers, entry.body);
            for secret in &secrets {
                assert!(!text.contains(secret), "{name}: a credential is logged: {text}");
            }
            // Card numbers travel in paths and bodies; headers carry digests and signatures, whose
            // hex may hold a Luhn-valid run of digits by chance, so only the card charged is
            // looked for there.
            for part in [&entry.path, &entry.body] {
                assert_eq!(&payment::mocks::redact::hide_card_numbers(part), part, "{name}: a card number is logged");
            }
            if let payment::PaymentSource::Card(card) = &f.source {
                assert!(!text.contains(card.number()), "{name}: the card charged is logged: {text}");
            }
        }
    }
}
