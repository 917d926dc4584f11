//! Serving the router over real sockets: plain HTTP on loopback, or HTTPS with a self-signed
//! certificate made at start.
//!
//! The accept loop is ours (not `axum::serve`) so that each connection carries a [`KillSwitch`]:
//! the drop-connection faults fire it, and the connection is dropped, socket and all, without an
//! answer.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::{Sandbox, SandboxError, app};

/// Closes the connection a request came on (a request extension, set by the accept loop).
#[derive(Clone, Default)]
pub(crate) struct KillSwitch(Arc<Notify>);

impl KillSwitch {
    pub(crate) fn fire(&self) {
        self.0.notify_one();
    }
}

/// Where and how to listen.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The address; plain HTTP is served on loopback only.
    pub host: IpAddr,
    /// The port; 0 picks a free one.
    pub port: u16,
    /// Serve HTTPS with a self-signed certificate for `localhost`, `*.sandbox.localhost`, `127.0.0.1`
    /// and `::1`, made at start.
    pub tls: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 0,
            tls: false,
        }
    }
}

/// A simulator listening on a socket. Dropping it stops the server; [`RunningSandbox::shutdown`]
/// also waits for it and writes the state file.
pub struct RunningSandbox {
    url: String,
    addr: SocketAddr,
    cert_pem: Option<String>,
    sandbox: Sandbox,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningSandbox {
    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The certificate to trust (PEM), when serving HTTPS.
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// The simulator's state.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// Stops accepting, waits for the accept loop, and writes the state file.
    pub async fn shutdown(mut self) -> Result<(), SandboxError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.sandbox.flush().await
    }
}

impl std::fmt::Debug for RunningSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSandbox")
            .field("url", &self.url)
            .field("tls", &self.cert_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Sandbox {
    /// Listens and serves in the background (a tokio task). Fails, naming the address, when the
    /// port is taken, or when plain HTTP is asked for on an address that is not loopback.
    pub async fn start(&self, options: ServeOptions) -> Result<RunningSandbox, SandboxError> {
        if !options.tls && !options.host.is_loopback() {
            return Err(SandboxError::PlainHttpNotLoopback { host: options.host });
        }
        let wanted = SocketAddr::new(options.host, options.port);
        let listener = TcpListener::bind(wanted)
            .await
            .map_err(|source| SandboxError::Bind {
                addr: wanted,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SandboxError::Bind {
            addr: wanted,
            source,
        })?;
        let (acceptor, cert_pem) = if options.tls {
            let (config, pem) = crate::tls::self_signed()?;
            (
                Some(tokio_rustls::TlsAcceptor::from(Arc::new(config))),
                Some(pem),
            )
        } else {
            (None, None)
        };
        let scheme = if options.tls { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        self.spawn_state_writer();
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, app(self.clone()), acceptor, stopped));
        Ok(RunningSandbox {
            url,
            addr,
            cert_pem,
            sandbox: self.clone(),
            stop: Some(stop),
            task: Some(task),
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors or similar: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, router).await,
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve_connection(stream, router).await;
                    }
                }
            }
        });
    }
}

async fn serve_connection<S>(io: S, router: Router)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let kill = KillSwitch::default();
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(kill.clone());
            router.clone().oneshot(request.map(Body::new))
        })
    };
    let connection =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = connection => {}
        _ = kill.0.notified() => {} // dropping `connection` closes the socket
    }
}
