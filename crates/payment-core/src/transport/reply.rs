//! A provider's final answer to one call, and how its errors are finished.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::call::Phase;
use super::http::{HttpResponse, parse_retry_after};
use crate::error::{Error, ErrorKind, Result};
use crate::idempotency::IdempotencyKey;
use crate::operation::Operation;

/// A provider's final HTTP response to one call.
#[derive(Debug)]
pub struct HttpReply {
    /// The response with its body.
    pub response: HttpResponse,
    /// Whether it answers the operation itself or the lookup after an ambiguous failure.
    pub phase: Phase,
    /// Attempts made (lookups included).
    pub attempts: u32,
    pub(crate) uncertain: bool,
    pub(crate) resent_after_absence: bool,
    pub(crate) unexplained_duplicate: bool,
    pub(crate) mutating: bool,
    pub(crate) earlier_duplicate: bool,
    pub(crate) provider: &'static str,
    pub(crate) operation: Operation,
    pub(crate) key: Option<IdempotencyKey>,
    pub(crate) reference: Option<String>,
}

impl HttpReply {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.response.status().is_success()
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        self.response.body()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The provider's clock when it answered: its `Date` header (HTTP dates have whole seconds),
    /// for answers that state no time of their own.
    pub fn date(&self) -> Option<crate::time::Timestamp> {
        let at = httpdate::parse_http_date(self.header("date")?).ok()?;
        let secs = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        Some(crate::time::Timestamp::from_unix(i64::try_from(secs).ok()?))
    }

    /// Whether an earlier attempt may have taken effect without this response settling it.
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }

    /// Whether a lookup answered a duplicate rejection that no attempt of this call caused: the
    /// object found was made by an earlier call, so check that it matches this request.
    pub fn found_earlier_duplicate(&self) -> bool {
        self.phase == Phase::Lookup && self.earlier_duplicate
    }

    /// Decodes the JSON body; a mismatch is a `Decode` error naming the provider and operation
    /// (`OutcomeUnknown` after a mutating call's success answer: see [`HttpReply::tag`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(self.body()).map_err(|e| {
            let what = format!("the {} response (HTTP {})", self.operation, self.status());
            self.tag(Error::decode(&what, e).with_http_status(self.status()))
        })
    }

    /// Finishes a provider-mapped error: adds provider, operation, status, key and reference, and
    /// makes it `OutcomeUnknown` when an earlier attempt may have taken effect.
    pub fn fail(&self, error: Error) -> Error {
        let mut e = error.with_provider(self.provider).with_operation(self.operation).with_http_status(self.status());
        e = self.with_recovery(e);
        if e.retry_after().is_none()
            && matches!(self.status(), 429 | 503)
            && let Some(after) = parse_retry_after(self.response.headers())
        {
            e = e.with_retry_after(after);
        }
        // Uncertain and refused: a transient refusal, or any refusal of a resend after a lookup
        // found nothing (the original may be what made the resend refused), says nothing of the
        // original. A decline stands: a landed original would have made the resend a duplicate.
        if self.uncertain
            && (self.unexplained_duplicate
                || matches!(e.kind(), ErrorKind::ProviderUnavailable | ErrorKind::RateLimited | ErrorKind::Timeout)
                || (self.resent_after_absence && !matches!(e.kind(), ErrorKind::CardDeclined(_))))
        {
            e = e.into_outcome_unknown();
        }
        e
    }

    fn with_recovery(&self, mut e: Error) -> Error {
        if let Some(k) = &self.key {
            e = e.with_idempotency_key(k.clone());
        }
        if let Some(r) = &self.reference {
            e = e.with_reference(r.clone());
        }
        e
    }

    /// `Ok` for a 2xx answer; otherwise the provider's error, read from the answer by `to_error` and
    /// finished by [`HttpReply::fail`].
    pub fn ok_or(&self, to_error: impl FnOnce(&HttpReply) -> Error) -> Result<()> {
        if self.is_success() { Ok(()) } else { Err(self.fail(to_error(self))) }
    }

    /// Tags a decoding or integrity error with the provider and operation.
    ///
    /// A success answer to a mutating call that cannot be read (invalid JSON, HTML, an empty body,
    /// the wrong shape, an overflowing number) leaves the call's effect unknown: the charge may
    /// exist. Such a `Decode` error becomes `OutcomeUnknown`, carrying the key to recover with.
    /// Reads stay definite `Decode` errors.
    pub fn tag(&self, error: Error) -> Error {
        let e = error.with_provider(self.provider).with_operation(self.operation);
        if self.mutating && self.is_success() && e.kind() == ErrorKind::Decode {
            return self.with_recovery(e).into_outcome_unknown();
        }
        e
    }
}
