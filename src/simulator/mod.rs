//! Cloakfusion API simulator: a loopback actix-web server that behaves as
//! `docs/cloakfusion-api.md` reads the API, with every documented variation
//! and failure switchable at start and at run time. Every test of the project
//! talks to it over real HTTP; `edgeflush simulate` and `demo` serve it.

pub mod edge;
pub mod faults;
mod gate;
pub mod options;
pub mod origin;
mod reply;
mod routes;
mod seed;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use edge::{EdgeRequest, EdgeState};
pub use options::{
    DEFAULT_TOKEN, EntryKey, FaultToken, Faults, FlushResponse, RetryAfter, SimOptions, Timestamps,
};
pub use origin::{OriginHandle, serve_dir};
pub use state::{FlushRecord, Phase, Property, RecordedRequest, SimState, Vhost};

/// Largest request body accepted (big flush batches must reach the 413 logic).
const MAX_BODY: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("bad --{option}: {reason}")]
    Option {
        option: &'static str,
        reason: String,
    },
    #[error("bad faults: {0}")]
    Faults(String),
    #[error("bad seed file {path}: {reason}")]
    Seed { path: PathBuf, reason: String },
    #[error("simulator server failed: {0}")]
    Serve(String),
}

/// A running simulator. Dropping it stops the server (best effort);
/// `stop` does so gracefully and waits.
pub struct SimHandle {
    addr: SocketAddr,
    token: String,
    state: SimState,
    server: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
    edge: EdgeState,
    /// The edge listener, when `edge_listen` was given.
    edge_server: Option<(SocketAddr, ServerHandle, JoinHandle<std::io::Result<()>>)>,
}

impl SimHandle {
    /// Where the simulated CDN edge listens, when it was started.
    pub fn edge_addr(&self) -> Option<SocketAddr> {
        self.edge_server.as_ref().map(|(a, _, _)| *a)
    }

    /// The edge's cache and request log.
    pub fn edge(&self) -> EdgeState {
        self.edge.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/api/v1`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The token given at start (a `faults.token` override does not change it).
    pub fn token(&self) -> String {
        self.token.clone()
    }

    pub fn state(&self) -> SimState {
        self.state.clone()
    }

    pub async fn stop(mut self) {
        self.state.stopping().cancel();
        if let Some((_, server, task)) = self.edge_server.take() {
            server.stop(true).await;
            let _ = task.await;
        }
        self.server.stop(true).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Resolves if the server ends on its own (an accept-loop failure).
    async fn ended(&mut self) -> Result<(), SimError> {
        let Some(task) = self.task.as_mut() else {
            return Ok(());
        };
        let r = task.await;
        self.task = None;
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SimError::Serve(e.to_string())),
            Err(e) => Err(SimError::Serve(e.to_string())),
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.state.stopping().cancel();
            // The command is sent before the returned future is polled.
            drop(self.server.stop(false));
            if let Some((_, server, _)) = &self.edge_server {
                drop(server.stop(false));
            }
        }
    }
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().json(serde_json::json!({ "detail": "Not found." }))
}

/// Binds `opts.listen` and serves in a background task.
pub async fn start(opts: SimOptions) -> Result<SimHandle, SimError> {
    let faults = opts.initial_faults()?;
    let state = SimState::new(opts.token.clone(), opts.flush_delay()?, faults);
    seed::load(&opts, &mut state.lock())?;
    let bind_err = |source| SimError::Bind {
        addr: opts.listen.clone(),
        source,
    };
    let listener = std::net::TcpListener::bind(&opts.listen).map_err(bind_err)?;
    let addr = listener.local_addr().map_err(bind_err)?;
    let data = web::Data::new(state.clone());
    let edge = EdgeState::new()?;
    let edge_bound = match &opts.edge_listen {
        Some(listen) => Some(edge::bind(listen, state.clone(), edge.clone())?),
        None => None,
    };
    let edge_data = web::Data::new(edge.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(edge_data.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .configure(routes::control::configure)
            .configure(edge::configure_control)
            .route("/api/v1", web::route().to(gate::api))
            .route("/api/v1/{tail:.*}", web::route().to(gate::api))
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(2)
    .listen(listener)
    .map_err(bind_err)?
    .run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    let edge_server = edge_bound.map(|(edge_addr, srv)| {
        let h = srv.handle();
        (edge_addr, h, tokio::spawn(srv))
    });
    Ok(SimHandle {
        addr,
        token: opts.token,
        state,
        server: handle,
        task: Some(task),
        edge,
        edge_server,
    })
}

/// Serves until `shutdown` is cancelled (for `edgeflush simulate`).
pub async fn run(opts: SimOptions, shutdown: CancellationToken) -> Result<(), SimError> {
    let shown_token = if opts.token == DEFAULT_TOKEN {
        DEFAULT_TOKEN
    } else {
        "(as given by --token / EDGEFLUSH_SIM_TOKEN; not shown)"
    };
    let mut handle = start(opts).await?;
    tracing::info!(
        base_url = %handle.base_url(),
        edge = %handle.edge_addr().map_or("off (--edge-listen)".to_string(), |a| a.to_string()),
        token = shown_token,
        control = %format!("http://{}/_sim/", handle.addr()),
        "Cloakfusion simulator listening"
    );
    let result = tokio::select! {
        () = shutdown.cancelled() => Ok(()),
        r = handle.ended() => r,
    };
    handle.stop().await;
    result
}
