//! Serving a router on a TCP listener, with graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;
use tower::service_fn;

use crate::AppState;
use crate::client::TlsConnection;
use crate::config::Config;
use crate::conn::{ConnState, IdleIo, InFlight, Tracked};

/// Largest read buffer per HTTP/1 connection. hyper grows a connection's buffer up to this
/// while a client streams a body (its default is ~400 KiB); a smaller cap keeps memory low
/// with many concurrent uploads at no measurable cost in throughput.
const READ_BUFFER_MAX: usize = 128 * 1024;

/// Connection-level settings.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Time a client has to send request headers once it started (slow-loris protection).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight is closed after this long without a byte
    /// from the client, and any connection whose client reads nothing of a response for
    /// this long (see `conn`).
    pub idle_timeout: Duration,
    /// Most connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// How long in-flight requests may run on after shutdown begins.
    pub shutdown_grace: Duration,
    /// Serve HTTPS with this configuration (its ALPN list offers HTTP/2 and HTTP/1.1);
    /// plain HTTP when `None`. A TLS handshake must end within `header_read_timeout`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(30),
            tls: None,
        }
    }
}

impl ServeOptions {
    /// The options a configuration sets.
    pub fn from_config(config: &Config) -> Self {
        let l = &config.limits;
        ServeOptions {
            header_read_timeout: Duration::from_secs(l.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(l.idle_timeout_secs),
            max_connections: l.max_connections,
            shutdown_grace: Duration::from_secs(l.shutdown_grace_secs),
            tls: None,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting and gives
/// open connections up to `shutdown_grace` to finish; connections still open then are
/// closed (their requests cancelled, which hands back what they held) before this returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    opts: ServeOptions,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(opts.header_read_timeout)
        .max_buf_size(READ_BUFFER_MAX);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(opts.idle_timeout)
        .keep_alive_timeout(opts.idle_timeout);
    let builder = Arc::new(builder);
    let tls = opts.tls.clone().map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(opts.max_connections.max(1)));
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Past the cap, stop accepting: clients wait in the kernel's backlog.
        let slot = tokio::select! {
            s = slots.clone().acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::new(ConnState::default());
                let io = IdleIo::new(stream, state.clone(), opts.idle_timeout);
                let conn = Conn {
                    builder: builder.clone(),
                    watcher: graceful.watcher(),
                    app: app.clone(),
                    state,
                    peer,
                };
                let tls = tls.clone();
                let handshake_time = opts.header_read_timeout;
                connections.spawn(async move {
                    let served = match tls {
                        None => conn.serve(io, false).await,
                        // The handshake runs here, off the accept loop; a silent client is
                        // cut by the idle clock, a slow one by the handshake time limit.
                        Some(acceptor) => {
                            match tokio::time::timeout(handshake_time, acceptor.accept(io)).await {
                                Ok(Ok(stream)) => conn.serve(stream, true).await,
                                Ok(Err(e)) => {
                                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                                    Ok(())
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    Ok(())
                                }
                            }
                        }
                    };
                    if let Err(e) = served {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
                // Reap finished connections as we go.
                while connections.try_join_next().is_some() {}
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: waiting for in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(opts.shutdown_grace) => {
            tracing::warn!(
                open = connections.len(),
                "shutdown grace period over; closing the connections still open"
            );
        }
    }
    // Cancel what is left here, on the running runtime, so that cancelled requests hand
    // back what they hold (upload leases, staging areas) before the process exits.
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// One accepted connection, ready to be served once its transport is.
struct Conn {
    builder: Arc<Builder<TokioExecutor>>,
    watcher: Watcher,
    app: Router,
    state: Arc<ConnState>,
    peer: SocketAddr,
}

impl Conn {
    /// Serves HTTP/1.1 or HTTP/2 (whichever the client speaks) on `io` until the
    /// connection ends or the graceful shutdown closes it.
    async fn serve<I>(
        self,
        io: I,
        tls: bool,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            builder,
            watcher,
            app,
            state,
            peer,
        } = self;
        let svc = service_fn(move |mut req: Request<Incoming>| {
            // The peer's address, for the client address of every request.
            req.extensions_mut().insert(ConnectInfo(peer));
            if tls {
                req.extensions_mut().insert(TlsConnection);
            }
            authority_as_host(&mut req);
            let guard = InFlight::enter(&state);
            let app = app.clone();
            async move {
                let resp = app.oneshot(req).await?;
                Ok::<_, Infallible>(resp.map(|b| Tracked::wrap(b, guard)))
            }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(svc))
            .into_owned();
        watcher.watch(conn).await
    }
}

/// An HTTP/2 request names its host in `:authority`, which hyper keeps in the URI only;
/// it is copied into `Host` when missing, as an HTTP/1.1 request carries it, so that
/// what reads `Host` (the token realm) sees the address the client used.
fn authority_as_host<B>(req: &mut Request<B>) {
    if req.headers().contains_key(header::HOST) {
        return;
    }
    if let Some(host) = req
        .uri()
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(header::HOST, host);
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called (inside
/// a runtime), not when first polled: a signal arriving in between is not lost, nor does
/// it kill the process the default way.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wait(term) => {},
                () = wait(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Storage or accounts could not be opened.
    #[error("{0}")]
    Open(#[from] crate::OpenError),
    /// The TLS certificate or key could not be loaded.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// Opens storage, binds, announces the address on stdout and serves until a signal.
pub async fn run(config: Config) -> Result<(), RunError> {
    // Certificates first: a bad one stops the server before it touches storage.
    let tls = match config.tls.files() {
        Some((cert, key)) => {
            let store = crate::tls::CertStore::load(cert, key)?;
            let server = store.server_config()?;
            crate::tls::reload_on_sighup(store);
            Some(server)
        }
        None => None,
    };
    let state = AppState::open(&config).await?;
    let events = state.events.clone();
    let registry = state.registry.clone();
    let jobs = state.jobs.clone();
    let webhook_stop = state.webhook_stop.clone();
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| RunError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| RunError::Bind {
        addr: config.listen,
        source,
    })?;
    tracing::info!(
        %addr,
        database = %harbor_storage::sql::redact_url(&config.database_url()),
        storage = %config.storage_url(),
        tls = tls.is_some(),
        "harbor-server started"
    );
    state.serving_at(addr, tls.is_some()).await;
    let stop = shutdown_signal();
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("harbor-server listening on {scheme}://{addr}");
    let opts = ServeOptions {
        tls,
        ..ServeOptions::from_config(&config)
    };
    serve(listener, crate::app(state), stop, opts).await;
    // Release the upload leases of the requests the shutdown cut, so their clients can
    // resume at once on another replica or after a restart.
    match registry.release_leases().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(released = n, "released the upload leases of cut requests"),
        Err(e) => tracing::warn!(error = %e, "cannot release upload leases"),
    }
    // Hand running jobs back to the queue, write the pull counts (and pull events) of the
    // last requests, and give subscribers a moment to take the last events; what they do
    // not take now stays in the outbox for the next start or another replica.
    jobs.shutdown().await;
    // Sends in flight end within their time-out; what is unsent stays queued.
    webhook_stop.send_replace(true);
    registry.flush_pulls().await;
    if !events.shutdown(Duration::from_secs(5)).await {
        tracing::info!("events left for delivery after the restart");
    }
    Ok(())
}
