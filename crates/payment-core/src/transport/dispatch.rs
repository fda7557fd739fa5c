//! The per-attempt service under the retry layer: builds the attempt's request and sends it.

use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use tower::{Service, ServiceExt};

use super::call::{Call, Phase};
use super::delivery::SendGuard;
use super::http::{HttpResponse, HttpService, TransportError};
use crate::error::Error;
use crate::idempotency::IdempotencySupport;
use crate::retry::AttemptFailure;

/// What the engine knows about one logical call while it runs.
#[derive(Debug)]
pub(crate) struct CallState {
    pub(crate) started: Instant,
    pub(crate) attempts: u32,
    pub(crate) phase: Phase,
    /// An earlier attempt may have taken effect and nothing has settled it yet.
    pub(crate) ambiguous: bool,
    /// A send-phase request is on the wire right now.
    pub(crate) in_flight: bool,
    /// A duplicate rejection came with no ambiguous attempt of this call before it: the natural key
    /// was taken by an earlier call, whose request may differ.
    pub(crate) earlier_duplicate: bool,
    /// Some attempt of this call may have reached the provider (even if a lookup later said no).
    pub(crate) ever_ambiguous: bool,
    /// A lookup found nothing and the request went again: its answers are the resend's, not
    /// the original's, which may still be landing.
    pub(crate) resent_after_absence: bool,
    pub(crate) last_failure: Option<AttemptFailure>,
}

/// The request type of the retry layer: the call and its shared state.
#[derive(Clone)]
pub(crate) struct Attempt {
    pub(crate) call: Arc<Call>,
    pub(crate) state: Arc<Mutex<CallState>>,
}

impl Attempt {
    pub(crate) fn new(call: Call) -> Attempt {
        let state = CallState {
            started: Instant::now(),
            attempts: 0,
            phase: Phase::Send,
            ambiguous: false,
            in_flight: false,
            earlier_duplicate: false,
            ever_ambiguous: false,
            resent_after_absence: false,
            last_failure: None,
        };
        Attempt { call: Arc::new(call), state: Arc::new(Mutex::new(state)) }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, CallState> {
        // A poisoned lock only means a panic elsewhere; the counters are still meaningful.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One attempt's result: a response tagged with its phase, or why there was none.
pub(crate) enum AttemptError {
    /// The request could not be built (e.g. signing failed): definite, never retried.
    Build(Error),
    /// No response.
    Transport(TransportError),
}

/// A response and which phase produced it.
pub(crate) struct AttemptReply {
    pub(crate) response: HttpResponse,
    pub(crate) phase: Phase,
}

/// Sends attempts through the HTTP stack.
#[derive(Clone)]
pub(crate) struct Dispatch {
    pub(crate) provider: &'static str,
    pub(crate) http: HttpService,
}

impl Service<Attempt> for Dispatch {
    type Response = AttemptReply;
    type Error = AttemptError;
    type Future = BoxFuture<'static, Result<AttemptReply, AttemptError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, attempt: Attempt) -> Self::Future {
        let http = self.http.clone();
        let provider = self.provider;
        Box::pin(async move {
            let phase = attempt.state().phase;
            let request = match (phase, &attempt.call.lookup) {
                (Phase::Lookup, Some(lookup)) => (lookup.request)(),
                _ => (attempt.call.request)(),
            }
            .map_err(AttemptError::Build)?;
            let number = {
                let mut st = attempt.state();
                st.attempts += 1;
                st.in_flight = phase == Phase::Send;
                st.attempts
            };
            // Method and path only: query strings, headers and bodies may carry secrets or card data.
            // Copied only when someone listens, so a quiet engine allocates nothing for logging.
            let logged = tracing::enabled!(target: "payment::attempt", tracing::Level::DEBUG)
                .then(|| (request.method().clone(), request.uri().path().to_owned()));
            let sent = Instant::now();
            // A journal reads whether a mutating request may have left; a lookup or a read never
            // counts. A call declared safe to repeat still mutates when it is not a GET (a cancel).
            let mutating = attempt.call.idempotency != IdempotencySupport::Safe
                || !matches!(*request.method(), http::Method::GET | http::Method::HEAD);
            let guard = (phase == Phase::Send && mutating).then(SendGuard::new);
            let result = http.oneshot(request).await;
            if let Some(guard) = guard {
                guard.finish(result.as_ref().map_or_else(TransportError::maybe_sent, |_| true));
            }
            attempt.state().in_flight = false;
            if let Some((method, path)) = logged {
                let call = &attempt.call;
                let key = call.key.as_ref().map(|k| k.as_str()).unwrap_or("-");
                let latency_ms = sent.elapsed().as_millis() as u64;
                match &result {
                    Ok(r) => tracing::debug!(
                        target: "payment::attempt",
                        provider, operation = call.operation, %method, path, status = r.status().as_u16(),
                        attempt = number, phase = ?phase, idempotency_key = key, latency_ms, "attempt"
                    ),
                    Err(e) => tracing::debug!(
                        target: "payment::attempt",
                        provider, operation = call.operation, %method, path, status = "none",
                        attempt = number, phase = ?phase, idempotency_key = key, latency_ms, error = %e, "attempt"
                    ),
                }
            }
            match result {
                Ok(response) => Ok(AttemptReply { response, phase }),
                Err(e) => Err(AttemptError::Transport(e)),
            }
        })
    }
}
