//! The compiled configuration: typed, validated, defaults applied. This is
//! what workers receive; they never see raw strings.

use super::Secret;
use super::raw::RawProperties;
use crate::mapping::SiteMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    /// The file the settings came from, when there was one.
    pub file: Option<PathBuf>,
    pub cloakfusion: ApiSettings,
    pub server: ServerSettings,
    pub store: StoreSettings,
    pub batch: BatchSettings,
    pub status: StatusSettings,
    pub log: LogSettings,
    pub traffic: TrafficSettings,
    pub watch: WatchSettings,
    pub sites: Vec<Arc<Site>>,
    pub hooks: Vec<HookSettings>,
}

impl Settings {
    pub fn site(&self, name: &str) -> Option<&Arc<Site>> {
        self.sites.iter().find(|s| s.map.name() == name)
    }

    pub fn site_for_vhost(&self, vhost: &str) -> Option<&Arc<Site>> {
        self.sites.iter().find(|s| s.map.vhost() == vhost)
    }
}

#[derive(Debug, Clone)]
pub struct ApiSettings {
    pub base_url: String,
    pub token: Option<Secret>,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub max_urls_per_flush: usize,
    pub max_requests_per_minute: u32,
    pub max_urls_per_minute: u32,
    pub max_backoff: Duration,
    pub auth_retry: Duration,
    pub properties_path: String,
}

#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub admin_token: Option<Secret>,
    pub shutdown_timeout: Duration,
    /// (certificate chain, private key) PEM files for the webhook listener.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Webhook deliveries and admin purges read, verified and stored at
    /// once (see `crate::admission`).
    pub max_concurrent_requests: usize,
    /// How long a request waits for its turn before a 503.
    pub busy_wait: Duration,
    /// A webhook body must have arrived within this (else 408).
    pub body_timeout: Duration,
}

#[derive(Debug, Clone)]
pub enum StoreBackend {
    Sqlite(PathBuf),
    Postgres(Secret),
}

#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub backend: StoreBackend,
    pub retention: Duration,
}

#[derive(Debug, Clone)]
pub struct BatchSettings {
    pub linger: Duration,
    pub max_delay: Duration,
}

#[derive(Debug, Clone)]
pub struct StatusSettings {
    pub initial_interval: Duration,
    pub max_interval: Duration,
    pub timeout: Duration,
    pub max_reflush: u32,
    pub max_regex_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

/// A `[[site]]`: its compiled mapping plus what `vhosts apply` declares.
#[derive(Debug)]
pub struct Site {
    pub map: SiteMap,
    pub origin_url: Option<String>,
    pub display_name: String,
    pub properties: Option<RawProperties>,
    /// Edge verification; None when off.
    pub verify: Option<VerifySettings>,
}

impl Site {
    pub fn name(&self) -> &str {
        self.map.name()
    }

    pub fn vhost(&self) -> &str {
        self.map.vhost()
    }
}

pub use super::hooks::{HookSettings, OnIncomplete};
pub use super::traffic::TrafficSettings;
pub use super::verify::{VerifyMethod, VerifySettings, Via};
pub use super::watch::WatchSettings;
