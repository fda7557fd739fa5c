//! PAY.JP's 3-D Secure redirect: the start URL the customer's browser is sent to, and its
//! `back_url`, an HS256 JWS over `{"url": return_url}` signed with the secret key so that PAY.JP
//! (and the mock) only ever send the browser back where the merchant asked.

use base64::Engine as _;
use payment_core::webhook::constant_time_eq;
use payment_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// The compact HS256 JWS of `{"url": return_url}` under `secret_key`.
pub fn back_url(return_url: &str, secret_key: &SecretString) -> String {
    let payload = serde_json::json!({ "url": return_url }).to_string();
    let input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
    let mac = payment_core::crypto::hmac_sha256(secret_key.expose_secret().as_bytes(), input.as_bytes());
    format!("{input}.{}", B64.encode(mac))
}

/// The return URL a `back_url` JWS carries, when it is HS256 and verifies under `secret_key`.
pub fn verify_back_url(jws: &str, secret_key: &str) -> Result<String> {
    let bad = |why: &str| Error::invalid(format!("back_url is not a valid HS256 JWS: {why}"));
    let mut parts = jws.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("it needs three dot-separated parts"));
    };
    let header: serde_json::Value = B64
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or_else(|| bad("the header is not base64url JSON"))?;
    if header.get("alg").and_then(serde_json::Value::as_str) != Some("HS256") {
        return Err(bad("alg must be HS256"));
    }
    let signature = B64.decode(signature).map_err(|_| bad("the signature is not base64url"))?;
    let input = &jws[..jws.len() - jws.rsplit('.').next().map_or(0, str::len) - 1];
    let expected = payment_core::crypto::hmac_sha256(secret_key.as_bytes(), input.as_bytes());
    if !constant_time_eq(&signature, &expected) {
        return Err(bad("the signature does not verify with the account's secret key"));
    }
    let payload: serde_json::Value = B64
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or_else(|| bad("the payload is not base64url JSON"))?;
    let url = payload.get("url").and_then(serde_json::Value::as_str).ok_or_else(|| bad("the payload has no url"))?;
    match url::Url::parse(url) {
        // The parsed form: no control characters can reach a `Location` header.
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(u.into()),
        _ => Err(bad("its url is not an http(s) URL")),
    }
}

/// `{base}/v1/tds/{charge_id}/start?publickey=…&back_url=…`: where the customer's browser goes.
pub fn start_url(base: &str, charge_id: &str, public_key: &str, back_url: &str) -> String {
    let mut url = format!("{base}/v1/tds/{charge_id}/start?");
    url.push_str(
        &url::form_urlencoded::Serializer::new(String::new())
            .append_pair("publickey", public_key)
            .append_pair("back_url", back_url)
            .finish(),
    );
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_back_url_verifies_only_with_its_key() {
        let key = SecretString::from("sk_test_abc".to_owned());
        let jws = back_url("https://shop.example/done?order=1", &key);
        assert_eq!(jws.split('.').count(), 3);
        assert_eq!(verify_back_url(&jws, "sk_test_abc").unwrap(), "https://shop.example/done?order=1");
        let e = verify_back_url(&jws, "sk_test_other").unwrap_err();
        assert!(e.message().contains("does not verify"), "{e}");
        assert!(!e.message().contains("sk_test"), "the key never shows: {e}");
        // A payload swapped under the old signature is refused.
        let mut parts: Vec<&str> = jws.split('.').collect();
        let evil = B64.encode(r#"{"url":"https://evil.example"}"#);
        parts[1] = &evil;
        assert!(verify_back_url(&parts.join("."), "sk_test_abc").is_err());
    }

    #[test]
    fn none_alg_and_non_http_urls_are_refused() {
        let unsigned = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(r#"{"url":"https://x"}"#));
        assert!(verify_back_url(&unsigned, "k").unwrap_err().message().contains("HS256"));
        let key = SecretString::from("k".to_owned());
        assert!(verify_back_url(&back_url("javascript:alert(1)", &key), "k").is_err());
        // Control characters never survive into the URL a browser is sent to.
        let sneaky = verify_back_url(&back_url("https://shop.example/a\r\nSet-Cookie:x", &key), "k").unwrap();
        assert!(!sneaky.contains(['\r', '\n']), "{sneaky:?}");
    }

    #[test]
    fn the_start_url_encodes_its_query() {
        let url = start_url("http://127.0.0.1:1", "ch_1", "pk_test_x", "a.b_c-d");
        assert_eq!(url, "http://127.0.0.1:1/v1/tds/ch_1/start?publickey=pk_test_x&back_url=a.b_c-d");
    }

    proptest! {
        #[test]
        fn any_text_is_a_typed_error_or_a_url(text in ".{0,200}") {
            if let Ok(url) = verify_back_url(&text, "k") {
                prop_assert!(url.starts_with("http"));
            }
        }
    }
}
