//! The browser console: one self-contained page per mock at `/__mock__/console` (its script and
//! styles compiled in, no network fetches), and an index page linking several mocks' consoles.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::middleware::MockContext;

const PAGE: &str = include_str!("../assets/console.html");
const SCRIPT: &str = include_str!("../assets/console.js");
const STYLES: &str = include_str!("../assets/console.css");

/// Only the page's own script and styles run, and it talks only to its own mock: an id or
/// metadata value that slipped past the page's text-only rendering still could not run.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    let mut response = (StatusCode::OK, body.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The console's three assets, served on every mock's port.
pub(crate) fn console_routes() -> Router<MockContext> {
    Router::new()
        .route("/__mock__/console", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route("/__mock__/console.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/__mock__/console.css", get(|| async { asset("text/css; charset=utf-8", STYLES) }))
}

/// Text made safe to place in HTML, in element content or a quoted attribute.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The index page: one link per mock's console.
pub fn index_page(mocks: &[(String, String, Option<crate::MockStats>)]) -> String {
    let mut items = String::new();
    for (name, url, stats) in mocks {
        let console = format!("{}/__mock__/console", url.trim_end_matches('/'));
        let counts = match stats {
            Some(s) => format!("{} charges · {} refunds · {} captures", s.charges, s.refunds, s.captures),
            None => "not answering".to_owned(),
        };
        items.push_str(&format!(
            "<li><a href=\"{}\">{}</a> <code>{}</code> <span class=\"counts\">{}</span></li>\n",
            escape_html(&console),
            escape_html(name),
            escape_html(url),
            escape_html(&counts)
        ));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>payment mock consoles</title>\
         <link rel=\"icon\" href=\"data:,\"><link rel=\"stylesheet\" href=\"/__mock__/console.css\"></head>\n<body><header><h1>payment mock \
         <small>consoles</small></h1></header>\n<main><section><h2>Mocks</h2><ul id=\"mocks\">\n{items}</ul>\
         </section></main></body></html>\n"
    )
}

/// Each mock's counts, read from its `/__mock__/stats` now (`None` for one that does not answer).
async fn with_counts(
    http: &reqwest::Client,
    mocks: &[(String, String)],
) -> Vec<(String, String, Option<crate::MockStats>)> {
    let mut out = Vec::with_capacity(mocks.len());
    for (name, url) in mocks {
        let stats = async {
            let r = http.get(format!("{}/__mock__/stats", url.trim_end_matches('/'))).send().await.ok()?;
            r.json::<crate::MockStats>().await.ok()
        }
        .await;
        out.push((name.clone(), url.clone(), stats));
    }
    out
}

/// A running index server; stops when dropped.
#[derive(Debug)]
pub struct ConsoleIndex {
    url: String,
    task: tokio::task::JoinHandle<()>,
}

impl ConsoleIndex {
    /// Serves the index of `mocks` (name, base URL) at `addr` (loopback, port 0 for any).
    pub async fn start(addr: SocketAddr, mocks: Vec<(String, String)>) -> std::io::Result<ConsoleIndex> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        // Counts are read when the page is asked for, so a reload shows them as they are now.
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(2)).build().unwrap_or_default();
        let mocks = std::sync::Arc::new(mocks);
        let app = Router::new()
            .route(
                "/",
                get(move || {
                    let (http, mocks) = (http.clone(), mocks.clone());
                    async move {
                        let page = index_page(&with_counts(&http, &mocks).await);
                        asset("text/html; charset=utf-8", bytes::Bytes::from(page))
                    }
                }),
            )
            .route("/__mock__/console.css", get(|| async { asset("text/css; charset=utf-8", STYLES) }));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the console index stopped");
            }
        });
        Ok(ConsoleIndex { url, task })
    }

    /// The index page's URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ConsoleIndex {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_escapes_names_and_urls() {
        let page = index_page(&[("pay<jp>".into(), "http://127.0.0.1:1/\"x".into(), None)]);
        assert!(page.contains("not answering"));
        assert!(page.contains("pay&lt;jp&gt;"));
        assert!(page.contains("http://127.0.0.1:1/&quot;x/__mock__/console"));
        assert!(!page.contains("<jp>"));
    }

    #[test]
    fn the_page_draws_values_only_as_text() {
        // The script's one way of showing a value is textContent; markup from strings is never built.
        for forbidden in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("] {
            assert!(!SCRIPT.contains(forbidden), "console.js uses {forbidden}");
        }
        assert!(PAGE.contains("/__mock__/console.js") && !PAGE.contains("http"), "no asset from elsewhere");
    }
}
