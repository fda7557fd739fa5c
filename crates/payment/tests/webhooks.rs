//! Every provider's real verifier behind one server: for each, an event signed (or encrypted)
//! the provider's way and delivered 1,000 times in a row, then 50 times at once, is handled once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use payment::crypto::RsaPrivateKey;
use payment::webhooks::{EventHandler, MemoryInbox, WebhookServer};
use payment::{WebhookEvent, WebhookVerifier};
use secrecy::SecretString;

#[derive(Default)]
struct Count(AtomicUsize, std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl EventHandler for Count {
    async fn handle(&self, event: WebhookEvent) -> payment::Result<()> {
        self.0.fetch_add(1, Ordering::SeqCst);
        self.1.lock().unwrap().push(format!("{} {}", event.provider, event.kind.as_str()));
        Ok(())
    }
}

type Delivery = (String, Box<dyn WebhookVerifier>, http::HeaderMap, Vec<u8>);

fn deliveries() -> Vec<Delivery> {
    let mut out: Vec<Delivery> = Vec::new();
    // PAY.JP: the token.
    let token = SecretString::from("whook_all".to_owned());
    let body = br#"{"id":"evnt_all1","object":"event","livemode":false,"created":1796167606,"type":"charge.succeeded","pending_webhooks":1,"data":{"id":"ch_all","object":"charge","amount":500,"currency":"jpy","captured":true,"paid":true,"created":1796167606}}"#;
    out.push((
        "payjp".into(),
        Box::new(payment::payjp::PayjpWebhookVerifier::new(token.clone())),
        payment::payjp::signing::webhook_headers(&token).unwrap(),
        body.to_vec(),
    ));
    // Ping++: RSA over the body.
    let platform = RsaPrivateKey::generate().unwrap();
    let body = br#"{"id":"evt_all000000000000000000001","object":"event","created":1796167606,"livemode":false,"type":"charge.succeeded","data":{"object":{"id":"ch_all","object":"charge","order_no":"o1","amount":100,"currency":"cny","channel":"alipay","paid":true,"created":1796167606}},"pending_webhooks":1}"#;
    let mut h = http::HeaderMap::new();
    h.insert(
        "x-pingplusplus-signature",
        payment::pingpp::signing::sign_webhook(&platform, body).unwrap().parse().unwrap(),
    );
    let v = payment::pingpp::signing::PingppWebhookVerifier::new(platform.public_key().unwrap());
    out.push(("pingpp".into(), Box::new(v), h, body.to_vec()));
    // Justap: encrypted by the platform.
    let note = serde_json::json!({"notify_id": "ntf_all", "charge_id": "ch_all", "merchant_trade_id": "o1", "amount_total": 1.0, "currency": "CNY"});
    let body = payment::justap::signing::seal_notification(&platform, "charge.paid", &note).unwrap();
    let v = payment::justap::signing::JustapWebhookVerifier::new(Some(platform.public_key().unwrap()), false);
    out.push(("justap".into(), Box::new(v), http::HeaderMap::new(), body));
    // Worldpay: HMAC by key id.
    let body = br#"{"eventId":"wp-all-1","eventTimestamp":"2026-11-30T09:12:44Z","eventDetails":{"classification":"card","transactionReference":"o1","type":"authorized","amount":{"value":100,"currencyCode":"GBP"},"_links":{}}}"#;
    let secret = SecretString::from("wp-secret".to_owned());
    let mut h = http::HeaderMap::new();
    h.insert("event-signature", payment::worldpay::signing::sign_event("k1", &secret, body).parse().unwrap());
    let secrets = payment::worldpay::config::parse_webhook_secrets("k1:wp-secret").unwrap();
    out.push(("worldpay".into(), Box::new(payment::worldpay::WorldpayWebhookVerifier::new(secrets)), h, body.to_vec()));
    // Google Standard Payments: sealed by the processor.
    let (us, them) = (Arc::new(RsaPrivateKey::generate().unwrap()), Arc::new(platform));
    use payment::google_standard_payments::signing::{Envelope, GspNotificationVerifier, Protection};
    let processor = Envelope::new(them.clone(), None, us.public_key().unwrap(), None);
    let note = br#"{"requestHeader":{"requestId":"gsp-all-1","requestTimestamp":"1796167606000"},"captureRequestId":"c1","captureResult":{"captureResultCode":"SUCCESS"}}"#;
    let body = processor.seal(note).unwrap().into_bytes();
    let v = GspNotificationVerifier::new(Protection::Jose(Envelope::new(us, None, them.public_key().unwrap(), None)));
    out.push(("google-standard-payments".into(), Box::new(v), http::HeaderMap::new(), body));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_providers_event_is_handled_once_however_often_it_comes() {
    let deliveries = deliveries();
    let requests: Vec<(String, http::HeaderMap, Vec<u8>)> =
        deliveries.iter().map(|(n, _, h, b)| (n.clone(), h.clone(), b.clone())).collect();
    let verifiers = deliveries.into_iter().map(|(n, v, _, _)| (n, v)).collect();
    let count = Arc::new(Count::default());
    let server = WebhookServer::with_verifiers(verifiers, Arc::new(MemoryInbox::new()), count.clone());
    for (provider, headers, body) in &requests {
        for _ in 0..1000 {
            let (status, answer) = server.deliver(provider, headers, body).await;
            assert_eq!(status, 200, "{provider}: {answer}");
        }
        let concurrent: Vec<_> = (0..50)
            .map(|_| {
                let (s, p, h, b) = (server.clone(), provider.clone(), headers.clone(), body.clone());
                tokio::spawn(async move { s.deliver(&p, &h, &b).await.0 })
            })
            .collect();
        for t in concurrent {
            // Handled already: every one is acknowledged.
            assert_eq!(t.await.unwrap(), 200);
        }
    }
    assert_eq!(count.0.load(Ordering::SeqCst), 5, "{:?}", count.1.lock().unwrap());
    let kinds = count.1.lock().unwrap().clone();
    assert_eq!(
        kinds,
        [
            "payjp charge_succeeded",
            "pingpp charge_succeeded",
            "justap charge_succeeded",
            "worldpay charge_authorized",
            "google-standard-payments charge_succeeded"
        ]
    );
}
