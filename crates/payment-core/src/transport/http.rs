//! The innermost service: `reqwest` sending an `http::Request<Bytes>` and reading the whole body.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use tower::Service;
use tower::util::BoxCloneSyncService;

use crate::retry::TransportFailure;

/// A request as the engine sends it.
pub type HttpRequest = http::Request<Bytes>;
/// A response with its whole body read.
pub type HttpResponse = http::Response<Bytes>;
/// The boxed HTTP stack (user layers, tracing, timeout, concurrency limit, reqwest).
pub type HttpService = BoxCloneSyncService<HttpRequest, HttpResponse, TransportError>;

/// A request target parsed once per call: the `http::Uri` for tower layers and the `url::Url`
/// reqwest sends, so no attempt parses the URL again.
#[derive(Debug, Clone)]
pub struct Target {
    uri: http::Uri,
    url: url::Url,
}

impl Target {
    /// Parses an absolute URL.
    pub fn parse(text: &str) -> crate::Result<Target> {
        let url = url::Url::parse(text)
            .map_err(|e| crate::Error::invalid(format!("bad request URL ({} chars): {e}", text.len())))?;
        let uri: http::Uri =
            url.as_str().parse().map_err(|e| crate::Error::invalid(format!("bad request URI: {e}")))?;
        Ok(Target { uri, url })
    }

    /// The path and query, exactly as they go on the wire.
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    }

    /// A request for this target with `body` and no headers yet, built directly (no builder's
    /// per-step `Result`); the parsed URL rides along as an extension.
    pub fn request(&self, method: http::Method, body: Bytes) -> HttpRequest {
        let mut r = http::Request::new(body);
        *r.method_mut() = method;
        *r.uri_mut() = self.uri.clone();
        r.extensions_mut().insert(ParsedUrl(self.url.clone()));
        r
    }

    /// A request builder for this target (the parsed URL rides along as an extension).
    pub fn builder(&self, method: http::Method) -> http::request::Builder {
        http::Request::builder().method(method).uri(self.uri.clone()).extension(ParsedUrl(self.url.clone()))
    }
}

/// A client's request targets: its base URL, with the paths it calls most parsed once per client
/// (every other path, and any absolute link, is parsed when asked for).
#[derive(Debug, Clone)]
pub struct Targets {
    base: String,
    fixed: Vec<(&'static str, Target)>,
}

impl Targets {
    /// Targets under `base` (no trailing slash), with `paths` parsed now.
    pub fn new(base: &str, paths: &[&'static str]) -> Targets {
        let fixed = paths.iter().filter_map(|p| Target::parse(&format!("{base}{p}")).ok().map(|t| (*p, t))).collect();
        Targets { base: base.to_owned(), fixed }
    }

    /// The target of `path` under the base, or of an absolute `http(s)://` link as it is.
    pub fn get(&self, path: &str) -> crate::Result<Target> {
        if let Some((_, t)) = self.fixed.iter().find(|(p, _)| *p == path) {
            return Ok(t.clone());
        }
        if path.starts_with("http://") || path.starts_with("https://") {
            Target::parse(path)
        } else {
            Target::parse(&format!("{}{path}", self.base))
        }
    }
}

/// The parsed URL of a request built from a [`Target`].
#[derive(Debug, Clone)]
struct ParsedUrl(url::Url);

/// Largest response body read (a larger one is a broken response).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// An attempt that produced no HTTP response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct TransportError {
    /// How it failed; decides whether the request may have been sent.
    pub failure: TransportFailure,
    /// What happened, for humans.
    pub message: String,
}

impl TransportError {
    /// A new transport error.
    pub fn new(failure: TransportFailure, message: impl Into<String>) -> TransportError {
        TransportError { failure, message: message.into() }
    }

    /// Whether the request may have reached the server.
    pub fn maybe_sent(&self) -> bool {
        self.failure != TransportFailure::Connect
    }

    fn from_reqwest(e: &reqwest::Error) -> TransportError {
        let failure = if e.is_connect() {
            TransportFailure::Connect
        } else if e.is_timeout() {
            TransportFailure::Timeout
        } else {
            TransportFailure::Broken
        };
        // reqwest's Display names the URL, never headers or bodies, so no secret leaks here.
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message.push_str(": ");
            message.push_str(&s.to_string());
            source = s.source();
        }
        TransportError::new(failure, message)
    }
}

/// `reqwest::Client` as a tower service over `http` types.
#[derive(Debug, Clone)]
pub struct ReqwestService {
    client: reqwest::Client,
}

impl ReqwestService {
    /// Wraps a client.
    pub fn new(client: reqwest::Client) -> ReqwestService {
        ReqwestService { client }
    }
}

impl Service<HttpRequest> for ReqwestService {
    type Response = HttpResponse;
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequest) -> Self::Future {
        let client = self.client.clone();
        let send = async move {
            let request = match request.extensions().get::<ParsedUrl>().map(|p| p.0.clone()) {
                // Built from a `Target`: reuse its parsed URL instead of printing and parsing the URI again.
                Some(url) => {
                    let (parts, body) = request.into_parts();
                    let mut r = reqwest::Request::new(parts.method, url);
                    *r.headers_mut() = parts.headers;
                    *r.body_mut() = Some(reqwest::Body::from(body));
                    r
                }
                None => reqwest::Request::try_from(request)
                    .map_err(|e| TransportError::new(TransportFailure::Connect, format!("invalid request: {e}")))?,
            };
            let mut response = client.execute(request).await.map_err(|e| TransportError::from_reqwest(&e))?;
            let mut builder = http::Response::builder().status(response.status()).version(response.version());
            if let Some(headers) = builder.headers_mut() {
                *headers = std::mem::take(response.headers_mut());
            }
            // Most bodies arrive in one chunk: keep it as is; copy only when there are several.
            let mut first: Option<Bytes> = None;
            let mut joined: Option<BytesMut> = None;
            let mut total = 0usize;
            while let Some(chunk) = response.chunk().await.map_err(|e| TransportError::from_reqwest(&e))? {
                total += chunk.len();
                if total > MAX_BODY {
                    return Err(TransportError::new(TransportFailure::Broken, "response body over 16 MiB"));
                }
                match (&mut joined, first.take()) {
                    (Some(buf), _) => buf.extend_from_slice(&chunk),
                    (None, Some(previous)) => {
                        let mut buf = BytesMut::with_capacity(previous.len() + chunk.len());
                        buf.extend_from_slice(&previous);
                        buf.extend_from_slice(&chunk);
                        joined = Some(buf);
                    }
                    (None, None) => first = Some(chunk),
                }
            }
            let body = joined.map(BytesMut::freeze).or(first).unwrap_or_default();
            builder.body(body).map_err(|e| TransportError::new(TransportFailure::Broken, format!("bad response: {e}")))
        };
        // hyper spawns each connection's task in the span current when it connects, and that
        // task outlives the request (keep-alive): a payment's spans would end only when the
        // connection closes. Polled with no subscriber, the connection captures none of them.
        Box::pin(tracing::instrument::WithSubscriber::with_subscriber(
            send,
            tracing::subscriber::NoSubscriber::default(),
        ))
    }
}

/// Reads `Retry-After` as delay-seconds or an HTTP-date (a past date means no wait).
pub fn parse_retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

/// The longest `Retry-After` taken from a provider: a day. A provider's number meets our clocks
/// (deadlines, sleeps), and no wait longer than this is worth keeping a call for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(v: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::RETRY_AFTER, v.parse().unwrap());
        h
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(&headers("3")), Some(Duration::from_secs(3)));
        let future = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let d = parse_retry_after(&headers(&future)).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120), "{d:?}");
        assert_eq!(parse_retry_after(&headers("Wed, 21 Oct 2015 07:28:00 GMT")), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&headers("18446744073709551615")), Some(MAX_RETRY_AFTER), "capped");
        assert_eq!(parse_retry_after(&headers("Fri, 31 Dec 9999 23:59:59 GMT")), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after(&headers("soon")), None);
        assert_eq!(parse_retry_after(&http::HeaderMap::new()), None);
    }
}
