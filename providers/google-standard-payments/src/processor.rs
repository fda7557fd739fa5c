//! The processor's side of the Payment Processor Service v1, as a service a processor mounts in
//! front of its own ledger (feature `processor`): it decrypts and verifies every request, checks
//! the protocol version, the ±60 s `requestTimestamp` window and the PIAID, keeps the
//! `(PIAID, requestId)` idempotency table (the same payload replays the stored 200 with a fresh
//! `responseTimestamp`; another payload is 412 `IDEMPOTENCY_VIOLATION`; only 200s are stored),
//! dispatches to a [`ProcessorBackend`], and signs and encrypts every answer.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::signing::{Encoding, Envelope, OpenError, Protection};
use crate::wire::{
    CaptureRequest, CaptureResult, EchoRequest, ErrorResponseCode, RawResult, RefundRequest, RefundResult,
    RequestHeader,
};

/// How far a `requestTimestamp` may be from the processor's clock.
pub const TIMESTAMP_WINDOW_MS: i64 = 60_000;

/// A refusal the processor answers with an `ErrorResponse`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorError {
    /// The `errorResponseCode` (its HTTP status follows from it).
    pub code: &'static str,
    /// For support staff; never a token or key.
    pub description: String,
}

impl ProcessorError {
    /// A refusal with a code and description.
    pub fn new(code: &'static str, description: impl Into<String>) -> ProcessorError {
        ProcessorError { code, description: description.into() }
    }
}

/// What a capture did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureOutcome {
    /// `SUCCESS` or a decline.
    pub result: CaptureResult,
    /// The processor's id for it.
    pub transaction_id: Option<String>,
    /// The raw decline code.
    pub raw_result: Option<RawResult>,
}

/// What a refund did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOutcome {
    /// `SUCCESS` or why not.
    pub result: RefundResult,
    /// The processor's id for it.
    pub refund_id: Option<String>,
}

/// The processor's books: what a capture and a refund do once the service has checked the request.
#[async_trait]
pub trait ProcessorBackend: Send + Sync + 'static {
    /// Captures (called once per `(PIAID, requestId)` that succeeds).
    async fn capture(&self, request: &CaptureRequest) -> Result<CaptureOutcome, ProcessorError>;
    /// Refunds part or all of a capture.
    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ProcessorError>;
}

/// A sealed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The protected body (empty only when even sealing failed).
    pub body: String,
    /// How the body is protected.
    pub encoding: Encoding,
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let status =
            axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, [(axum::http::header::CONTENT_TYPE, self.encoding.content_type())], self.body).into_response()
    }
}

struct Stored {
    method: &'static str,
    canonical: Value,
    answer: Value,
}

struct Inner {
    piaid: String,
    jose: Protection,
    backend: Arc<dyn ProcessorBackend>,
    stored: Mutex<HashMap<String, Stored>>,
    in_flight: Mutex<HashSet<String>>,
}

/// The service; cheap to clone.
#[derive(Clone)]
pub struct ProcessorService {
    inner: Arc<Inner>,
    pgp: Option<Arc<Protection>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn response_header() -> Value {
    json!({"responseTimestamp": now_ms().to_string()})
}

/// The request without what may change between retries (`requestTimestamp`).
fn canonical(mut request: Value) -> Value {
    if let Some(h) = request.get_mut("requestHeader").and_then(Value::as_object_mut) {
        h.remove("requestTimestamp");
    }
    request
}

fn valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_'))
}

/// Removes the request id from the in-flight set however the call ends.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<String>>,
    id: String,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

/// Changes an answer's JSON before it is sealed (the mock kit's content faults); `true` if it changed.
pub type Transform<'a> = &'a (dyn Fn(&mut Value) -> bool + Sync);

impl ProcessorService {
    /// A service for `piaid`, with the processor's envelope (its key; the caller's public key).
    pub fn new(piaid: impl Into<String>, envelope: Envelope, backend: Arc<dyn ProcessorBackend>) -> ProcessorService {
        ProcessorService {
            inner: Arc::new(Inner {
                piaid: piaid.into(),
                jose: Protection::Jose(envelope),
                backend,
                stored: Mutex::default(),
                in_flight: Mutex::default(),
            }),
            pgp: None,
        }
    }

    /// Also accepts OpenPGP bodies (feature `pgp`), answering them the same way.
    #[cfg(feature = "pgp")]
    pub fn with_pgp(mut self, envelope: crate::pgp::PgpEnvelope) -> ProcessorService {
        self.pgp = Some(Arc::new(Protection::Pgp(envelope)));
        self
    }

    /// `POST /v1/capture`, `/v1/refund` and `/v1/echo` as an axum router (a tower service); the
    /// request's content type picks the encoding.
    pub fn router(&self) -> Router {
        let route = |method: &'static str| {
            let service = self.clone();
            post(move |headers: axum::http::HeaderMap, body: Bytes| async move {
                let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
                service.handle(method, &body, Encoding::of_content_type(content_type), None).await
            })
        };
        Router::new()
            .route("/v1/capture", route("capture"))
            .route("/v1/refund", route("refund"))
            .route("/v1/echo", route("echo"))
    }

    /// A sealed `ErrorResponse`.
    pub fn error(&self, status: u16, code: Option<&str>, description: &str, encoding: Encoding) -> Answer {
        let mut body = json!({"responseHeader": response_header(), "errorDescription": description});
        if let Some(c) = code {
            body["errorResponseCode"] = json!(c);
        }
        self.seal(status, &body, encoding)
    }

    fn refuse(&self, e: ProcessorError, encoding: Encoding) -> Answer {
        // A concurrency abort has an HTTP status (409) but no errorResponseCode of its own.
        let code = Some(e.code).filter(|c| *c != "ABORTED");
        self.error(ErrorResponseCode::status(e.code), code, &e.description, encoding)
    }

    /// The protection for `encoding`: JOSE always, PGP when configured.
    fn protection(&self, encoding: Encoding) -> Option<&Protection> {
        match encoding {
            Encoding::Jose => Some(&self.inner.jose),
            Encoding::Pgp => self.pgp.as_deref(),
        }
    }

    fn seal(&self, status: u16, body: &Value, encoding: Encoding) -> Answer {
        // A processor without PGP keys answers PGP requests in JOSE: the caller learns from the status.
        let (protection, encoding) = match self.protection(encoding) {
            Some(p) => (p, encoding),
            None => (&self.inner.jose, Encoding::Jose),
        };
        match protection.seal(body.to_string().as_bytes()) {
            Ok(sealed) => Answer { status, body: sealed, encoding },
            Err(_) => Answer { status: 500, body: String::new(), encoding },
        }
    }

    /// Handles one request to `method` (`capture`, `refund`, `echo`); `transform` may change the
    /// answer's JSON before it is sealed (never what is stored for replays).
    pub async fn handle(
        &self,
        method: &'static str,
        body: &[u8],
        encoding: Encoding,
        transform: Option<Transform<'_>>,
    ) -> Answer {
        match self.process(method, body, encoding).await {
            Ok(mut answer) => {
                if let Some(t) = transform {
                    t(&mut answer);
                }
                self.seal(200, &answer, encoding)
            }
            Err(e) => self.refuse(e, encoding),
        }
    }

    async fn process(&self, method: &'static str, body: &[u8], encoding: Encoding) -> Result<Value, ProcessorError> {
        let protection = self
            .protection(encoding)
            .ok_or_else(|| ProcessorError::new("INVALID_PAYLOAD_ENCRYPTION", "this processor takes no PGP payloads"))?;
        let plain = protection.open(body).map_err(|e| match e {
            OpenError::Encryption(why) => {
                ProcessorError::new("INVALID_PAYLOAD_ENCRYPTION", format!("the payload could not be decrypted: {why}"))
            }
            OpenError::Signature(why) => {
                ProcessorError::new("INVALID_PAYLOAD_SIGNATURE", format!("the payload signature is not trusted: {why}"))
            }
        })?;
        let request: Value = serde_json::from_slice(&plain)
            .map_err(|e| ProcessorError::new("INVALID_FIELD_VALUE", format!("the payload is not JSON: {e}")))?;
        let header: RequestHeader = request
            .get("requestHeader")
            .cloned()
            .ok_or_else(|| ProcessorError::new("MISSING_REQUIRED_FIELD", "requestHeader"))
            .and_then(|h| {
                serde_json::from_value(h)
                    .map_err(|e| ProcessorError::new("INVALID_FIELD_VALUE", format!("requestHeader: {e}")))
            })?;
        if header.protocol_version.major != 1 {
            return Err(ProcessorError::new(
                "INVALID_API_VERSION",
                format!("version {} is not 1", header.protocol_version.major),
            ));
        }
        if (header.request_timestamp - now_ms()).abs() > TIMESTAMP_WINDOW_MS {
            return Err(ProcessorError::new(
                "REQUEST_TIMESTAMP_OUT_OF_RANGE",
                "requestTimestamp is not within 60 seconds of now",
            ));
        }
        if !valid_request_id(&header.request_id) {
            return Err(ProcessorError::new("INVALID_FIELD_VALUE", "requestId must be 1 to 100 of a-zA-Z0-9:-_"));
        }
        if method == "echo" {
            let echo: EchoRequest = serde_json::from_value(request)
                .map_err(|e| ProcessorError::new("INVALID_FIELD_VALUE", e.to_string()))?;
            return Ok(
                json!({"responseHeader": response_header(), "clientMessage": echo.client_message, "serverMessage": header.request_id}),
            );
        }
        let piaid = request.get("paymentIntegratorAccountId").and_then(Value::as_str).unwrap_or_default();
        if piaid != self.inner.piaid {
            return Err(ProcessorError::new("INVALID_IDENTIFIER", "unknown paymentIntegratorAccountId"));
        }
        let key = format!("{piaid}\u{0}{}", header.request_id);
        let canonical = canonical(request.clone());
        if let Some(stored) = self.inner.stored.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            if stored.method != method || stored.canonical != canonical {
                return Err(ProcessorError::new("IDEMPOTENCY_VIOLATION", "requestId was used with another request"));
            }
            let mut replay = stored.answer.clone();
            replay["responseHeader"] = response_header();
            return Ok(replay);
        }
        if !self.inner.in_flight.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone()) {
            // HTTP 409 (aborted): a retry may succeed once the first request is done.
            return Err(ProcessorError {
                code: "ABORTED",
                description: "a request with this requestId is in progress".into(),
            });
        }
        let _guard = InFlight { set: &self.inner.in_flight, id: key.clone() };
        let answer = self.dispatch(method, request).await?;
        let stored = Stored { method, canonical, answer: answer.clone() };
        self.inner.stored.lock().unwrap_or_else(|p| p.into_inner()).insert(key, stored);
        Ok(answer)
    }

    async fn dispatch(&self, method: &'static str, request: Value) -> Result<Value, ProcessorError> {
        let field = |e: serde_json::Error| {
            let code =
                if e.to_string().contains("missing field") { "MISSING_REQUIRED_FIELD" } else { "INVALID_FIELD_VALUE" };
            ProcessorError::new(code, e.to_string())
        };
        match method {
            "capture" => {
                let capture: CaptureRequest = serde_json::from_value(request).map_err(field)?;
                let outcome = self.inner.backend.capture(&capture).await?;
                let mut answer = json!({"responseHeader": response_header(), "result": outcome.result.as_str()});
                if let Some(id) = outcome.transaction_id {
                    answer["paymentIntegratorTransactionId"] = json!(id);
                }
                if let Some(raw) = outcome.raw_result {
                    answer["rawResult"] = json!(raw);
                }
                Ok(answer)
            }
            "refund" => {
                let refund: RefundRequest = serde_json::from_value(request).map_err(field)?;
                let outcome = self.inner.backend.refund(&refund).await?;
                let mut answer = json!({"responseHeader": response_header(), "result": outcome.result.as_str()});
                if let Some(id) = outcome.refund_id {
                    answer["paymentIntegratorRefundId"] = json!(id);
                }
                Ok(answer)
            }
            other => Err(ProcessorError::new("INVALID_FIELD_VALUE", format!("no method {other}"))),
        }
    }
}

impl std::fmt::Debug for ProcessorService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessorService").field("piaid", &self.inner.piaid).finish_non_exhaustive()
    }
}
