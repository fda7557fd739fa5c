//! Every compiled-in mock fed arbitrary request bytes and arbitrary bodies on its real routes: it
//! answers each with an error of its own (never a 5xx it did not choose, never a panic), and it
//! keeps serving. The webhook server, with every provider's real verifier, fed arbitrary and
//! many-signature deliveries, refuses each (4xx) and never panics.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::LazyLock;
use std::time::Duration;

use payment::mocks::{self, MockHandle, MockOptions, SigningKeys};
use proptest::prelude::*;

struct Mocks {
    handles: Vec<(&'static str, Vec<&'static str>, MockHandle)>,
    _runtime: tokio::runtime::Runtime,
}

/// One mock per provider for the whole run (cases share them: a mock must survive all of them).
static MOCKS: LazyLock<Mocks> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let keys = SigningKeys::generate().unwrap();
    let handles = runtime.block_on(async {
        let mut out = Vec::new();
        for (driver, mock) in mocks::drivers() {
            let options = MockOptions { signing_keys: Some(keys.clone()), ..MockOptions::default() };
            let handle = (mock.start)(options).await.unwrap();
            let paths = payment::Operation::MUTATIONS.map(mock.paths).concat();
            out.push((driver.name, paths, handle));
        }
        out
    });
    assert!(handles.len() >= 3, "every provider with a mock is fed");
    Mocks { handles, _runtime: runtime }
});

/// Writes `bytes` (then ends the stream when `end`, so a server waiting for more learns there is
/// none), and reads what comes back until the server closes or goes quiet.
fn exchange(handle: &MockHandle, bytes: &[u8], end: bool) -> Vec<u8> {
    let mut s = TcpStream::connect(handle.server.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let _ = s.write_all(bytes);
    if end {
        let _ = s.shutdown(std::net::Shutdown::Write);
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

fn status(answer: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(answer.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.parse().ok()
}

fn still_serving(handle: &MockHandle) -> bool {
    let answer =
        exchange(handle, b"GET /__mock__/stats HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n", false);
    status(&answer) == Some(200)
}

fn concrete(pattern: &str, segment: &str) -> String {
    pattern.split('/').map(|p| if p == "*" { segment } else { p }).collect::<Vec<_>>().join("/")
}

/// Takes every verified event (none should be, from arbitrary bytes).
struct Accept;

#[payment::async_trait]
impl payment::webhooks::EventHandler for Accept {
    async fn handle(&self, _event: payment::WebhookEvent) -> payment::Result<()> {
        Ok(())
    }
}

/// The webhook server for every compiled-in provider, verifying with each mock's settings.
static WEBHOOKS: LazyLock<payment::webhooks::WebhookServer> = LazyLock::new(|| {
    let settings: Vec<(&'static str, payment::ProviderSettings)> =
        MOCKS.handles.iter().map(|(name, _, h)| (*name, h.settings.clone())).collect();
    let drivers = payment::drivers();
    payment::webhooks::WebhookServer::for_drivers(
        &drivers,
        move |name| {
            settings
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, s)| s.clone())
                .unwrap_or_else(|| payment::ProviderSettings::new(name))
        },
        std::sync::Arc::new(payment::webhooks::MemoryInbox::new()),
        std::sync::Arc::new(Accept),
    )
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_webhook_server_refuses_arbitrary_deliveries_without_a_panic(
        body in proptest::collection::vec(any::<u8>(), 0..1024),
        json in "\\{(\"[a-z_]{1,12}\":(\"[ -~]{0,24}\"|-?[0-9]{1,22}|true|null|\\{\\}),?){0,6}\\}",
        header in "[ -~]{0,200}",
        signatures in 0usize..3000,
    ) {
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&header) {
            for name in ["authorization", "x-pingplusplus-signature", "x-justap-signature"] {
                headers.insert(name, v.clone());
            }
        }
        let many = vec![format!("k1/SHA256/{}", "ab".repeat(32)); signatures].join(",");
        headers.insert("event-signature", http::HeaderValue::from_str(&many).unwrap());
        for (name, _, handle) in &MOCKS.handles {
            let _ = handle;
            for payload in [&body[..], json.as_bytes()] {
                let (status, _) = MOCKS._runtime.block_on(WEBHOOKS.deliver(name, &headers, payload));
                prop_assert!(status.is_client_error(), "{name} answered {status} to an arbitrary delivery");
            }
        }
    }

    #[test]
    fn arbitrary_bytes_get_an_error_or_a_closed_connection(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (name, _, handle) in &MOCKS.handles {
            let answer = exchange(handle, &bytes, true);
            if let Some(s) = status(&answer) {
                prop_assert!((400..500).contains(&s), "{name} answered {s} to garbage");
            }
            prop_assert!(still_serving(handle), "{name} stopped serving");
        }
    }

    #[test]
    fn arbitrary_bodies_on_real_routes_are_refused_in_the_providers_shape(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        json in "\\{(\"[a-z_\\[\\]]{1,12}\":(\"[ -~]{0,16}\"|-?[0-9]{1,22}|true|null|\\[\\]),?){0,6}\\}",
        segment in "[A-Za-z0-9_.%-]{1,40}",
        form in prop::bool::ANY,
    ) {
        for (name, paths, handle) in &MOCKS.handles {
            for pattern in paths {
                let path = concrete(pattern, &segment);
                for payload in [&body[..], json.as_bytes()] {
                    let content_type = if form { "application/x-www-form-urlencoded" } else { "application/json" };
                    let mut request = format!(
                        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk_test_fuzz\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        payload.len()
                    )
                    .into_bytes();
                    request.extend_from_slice(payload);
                    let answer = exchange(handle, &request, false);
                    let s = status(&answer);
                    prop_assert!(s.is_some(), "{name} {path}: no answer");
                    prop_assert!(s.is_some_and(|s| s < 500), "{name} {path} answered {s:?}: {}", String::from_utf8_lossy(&answer));
                }
            }
            prop_assert!(still_serving(handle), "{name} stopped serving");
        }
    }
}
