//! Serving the API with limits on slow clients. `axum::serve` waits for a request's headers and
//! body as long as the client likes, so a few hundred connections that trickle a byte a second
//! (slowloris) would hold sockets and tasks forever. Here every request must send its headers
//! within [`HEADER_READ_TIMEOUT`] of its first byte, a keep-alive connection may idle for
//! [`IDLE_TIMEOUT`] between requests ([`crate::deadlines`]), and [`crate::extract::JsonBody`]
//! reads a body within [`BODY_READ_TIMEOUT`]; a graceful stop waits at most [`DRAIN_TIMEOUT`]
//! for open requests.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::deadlines::{Deadlined, Limits};

/// How long a client may take to send a request's headers, from their first byte.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a keep-alive connection may wait between requests: nginx's default, longer than the
/// 60 s idle timeout of common load balancers and than common poll and scrape intervals.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(75);
/// How long a client may take to send a request's body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop waits for requests in progress (long polls end sooner: they see the
/// engine stopping).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `app` on `listener` until `shutdown` resolves, then drains open connections.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    // hyper's header timeout would also cut idle keep-alive connections; `Deadlined` does both.
    http.timer(TokioTimer::new()).header_read_timeout(None);
    let limits = Limits { head: HEADER_READ_TIMEOUT, idle: IDLE_TIMEOUT };
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: back off instead of spinning.
                        tracing::warn!(error = %e, "Could not accept a connection.");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                // Handlers that care who is calling (sign-in pacing) read `ConnectInfo`.
                let inner = TowerToHyperService::new(app.clone());
                let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    hyper::service::Service::call(&inner, req)
                });
                let connection = graceful.watch(http.serve_connection(TokioIo::new(Deadlined::new(stream, limits)), service));
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}

/// The address of the client that sent a request (set by [`serve`]; none in tests that call the
/// router without it).
pub fn client_ip(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip())
}
