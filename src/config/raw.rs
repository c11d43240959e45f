//! The configuration as written by the user: plain serde structs, every field
//! optional where a default exists, unknown keys refused. Nothing here is used
//! by workers; `compile` turns it into typed settings once, at load.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub cloakfusion: RawCloakfusion,
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub store: RawStore,
    #[serde(default)]
    pub batch: RawBatch,
    #[serde(default)]
    pub status: RawStatus,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub traffic: RawTraffic,
    pub watch: RawWatch,
    #[serde(default)]
    pub site: Vec<RawSite>,
    #[serde(default)]
    pub hook: Vec<RawHook>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCloakfusion {
    pub base_url: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<String>,
    pub timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub max_urls_per_flush: Option<usize>,
    pub max_requests_per_minute: Option<u32>,
    pub max_urls_per_minute: Option<u32>,
    pub max_backoff: Option<String>,
    pub auth_retry: Option<String>,
    pub properties_path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub admin_listen: Option<String>,
    pub admin_token: Option<String>,
    pub admin_token_file: Option<String>,
    pub shutdown_timeout: Option<String>,
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    pub max_concurrent_requests: Option<usize>,
    pub busy_wait: Option<String>,
    pub body_timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    pub path: Option<String>,
    pub url: Option<String>,
    pub retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatch {
    pub linger: Option<String>,
    pub max_delay: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatus {
    pub initial_interval: Option<String>,
    pub max_interval: Option<String>,
    pub timeout: Option<String>,
    pub max_reflush: Option<u32>,
    pub max_regex_len: Option<usize>,
}

/// `[traffic]`: periodic traffic snapshots per vhost.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    pub enabled: Option<bool>,
    pub interval: Option<String>,
    pub retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    pub level: Option<String>,
    pub format: Option<String>,
}

/// `[watch]`: how the document-root watcher turns file events into purges,
/// for every site with a `root`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWatch {
    /// Quiet time before a changed file is purged (default "500ms").
    pub settle: Option<String>,
    /// A file name in the root that holds purges while it exists.
    pub hold_marker: Option<String>,
    /// Longest a hold keeps purges back (default "30m").
    pub max_hold: Option<String>,
    /// Extra globs (relative to the root) never watched nor purged.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Events buffered between the watcher and its worker (default 16384).
    pub channel_capacity: Option<usize>,
}

/// One `[[site]]`: a Cloakfusion vhost and how paths map to its URLs.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub name: String,
    pub vhost: String,
    #[serde(default)]
    pub base_urls: Vec<String>,
    pub root: Option<String>,
    pub repo_prefix: Option<String>,
    pub index_files: Option<Vec<String>>,
    #[serde(default)]
    pub pretty_urls: bool,
    #[serde(default)]
    pub also_purge: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub rule: Vec<RawRule>,
    /// URLs purged for a whole-site purge when the site has no root to enumerate.
    #[serde(default)]
    pub full_purge: Vec<String>,
    /// For `vhosts apply`: the vhost's origin and nice name.
    pub origin_url: Option<String>,
    pub display_name: Option<String>,
    pub properties: Option<RawProperties>,
    /// `[site.verify]`: check at the edge that confirmed purges serve the new file.
    pub verify: Option<RawVerify>,
}

/// `[site.verify]`, see `config/edgeflush.toml`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerify {
    pub enabled: Option<bool>,
    pub via: Option<String>,
    pub origin: Option<String>,
    pub sample: Option<RawSample>,
    pub max_reflush: Option<u32>,
    pub method: Option<String>,
    pub delay: Option<String>,
    pub timeout: Option<String>,
    pub concurrency: Option<usize>,
    pub max_requests_per_second: Option<u32>,
}

/// `sample = "all"` or `sample = 10` (an environment variable gives "10").
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawSample {
    Count(u64),
    Word(String),
}

/// `[[site.rule]]`: a glob over site-relative paths and the URL templates it yields.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub glob: String,
    pub urls: Vec<String>,
    /// When true (default) the file's own URL is purged too.
    pub keep_default: Option<bool>,
}

/// Vhost properties declared for `vhosts apply`.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawProperties {
    pub ttl: u64,
    pub cname: Option<String>,
    pub gzip: Option<bool>,
    pub ssl: Option<bool>,
    pub override_hostheader: Option<bool>,
    pub host_header: Option<String>,
}

/// One `[[hook]]`: a webhook route. Provider-specific options land with the
/// webhook sources.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHook {
    pub name: String,
    pub provider: String,
    pub path: String,
    pub secret: Option<String>,
    pub secret_file: Option<String>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub sites: Vec<String>,
    /// Repository full names ("org/repo"); empty = any.
    #[serde(default)]
    pub repositories: Vec<String>,
    /// Branch name globs ("main", "release/*"); empty = any branch.
    #[serde(default)]
    pub branches: Vec<String>,
    /// Tag name globs; empty = tag pushes are ignored.
    #[serde(default)]
    pub tags: Vec<String>,
    /// "purge_site" (default) or "ignore".
    pub on_incomplete: Option<String>,
    /// Hold purges this long after the push (the deploy is not on the origin yet).
    pub delay: Option<String>,
    /// "deployment": hold until a successful deployment_status/workflow_run of the commit.
    pub release_on: Option<String>,
    /// With release_on: purge anyway after this long (default "30m").
    pub max_hold: Option<String>,
    /// Largest accepted body (default "26MiB").
    pub max_body: Option<String>,
}
