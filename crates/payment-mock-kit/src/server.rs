//! Serving a mock on a real socket (127.0.0.1:0 by default), with graceful shutdown and the
//! ability to drop a connection without answering.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use crate::control::{MockControl, control_routes};
use crate::kit::{MockHooks, MockKit};
use crate::middleware::{Disconnect, MockContext, fault_and_log};

/// The loopback address with an OS-chosen port: the default, never a public address.
pub const LOOPBACK_ANY_PORT: &str = "127.0.0.1:0";

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by an injected fault")]
struct Dropped;

/// A running mock; stops when dropped or on [`MockServer::shutdown`].
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    url: String,
    control: MockControl,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl MockServer {
    /// Serves `routes` (the provider's API) plus the control routes, at `addr`.
    pub async fn start(
        kit: Arc<MockKit>,
        hooks: Arc<dyn MockHooks>,
        routes: Router,
        addr: SocketAddr,
    ) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        // Webhooks go out from the moment the mock serves (when a target is configured).
        crate::webhooks::start_delivery(&kit);
        let ctx = MockContext { kit: kit.clone(), hooks: hooks.clone() };
        let fallback_hooks = hooks.clone();
        let app = routes
            .merge(control_routes(ctx.clone()))
            .fallback(move || {
                let hooks = fallback_hooks.clone();
                async move { hooks.error_response(404, "Unrecognized request URL") }
            })
            .layer(axum::middleware::from_fn_with_state(ctx, fault_and_log));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, app, stopped));
        Ok(MockServer { addr, url: url.clone(), control: MockControl::new(url, kit, hooks), stop, task: Some(task) })
    }

    /// Serves on 127.0.0.1 with an OS-chosen port.
    pub async fn start_local(
        kit: Arc<MockKit>,
        hooks: Arc<dyn MockHooks>,
        routes: Router,
    ) -> std::io::Result<MockServer> {
        let addr = LOOPBACK_ANY_PORT.parse().map_err(std::io::Error::other)?;
        MockServer::start(kit, hooks, routes, addr).await
    }

    /// The base URL (`http://127.0.0.1:PORT`), a drop-in for the provider's real base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The typed control handle.
    pub fn control(&self) -> MockControl {
        self.control.clone()
    }

    /// Stops accepting, lets open connections finish their current exchange, and waits.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn accept_loop(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.spawn(serve_connection(stream, app.clone(), stopped.clone()));
            }
            // Reap finished connections as they end, so a mock that runs for days stays bounded.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

async fn serve_connection(stream: tokio::net::TcpStream, app: Router, mut stopped: watch::Receiver<bool>) {
    let service = hyper::service::service_fn(move |request: http::Request<Incoming>| {
        let app = app.clone();
        async move {
            let response = match app.oneshot(request.map(Body::new)).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            // Returning an error makes hyper close the connection without writing the response.
            if response.extensions().get::<Disconnect>().is_some() { Err(Dropped) } else { Ok::<_, Dropped>(response) }
        }
    });
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopped.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}
