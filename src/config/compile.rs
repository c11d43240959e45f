//! Turns the raw layers into `Settings`: parses units, loads secrets, compiles
//! sites and checks cross-references. Every problem is collected, not just the
//! first, so `edgeflush check` shows the whole list in one go.

use super::Issue;
use super::load::origin_of;
use super::raw::*;
use super::secret::load_secret;
use super::settings::*;
use super::units::parse_duration;
use crate::mapping::SiteMap;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

struct Ctx<'a> {
    file: Option<&'a Path>,
    dir: Option<&'a Path>,
    issues: Vec<Issue>,
}

impl Ctx<'_> {
    fn push(&mut self, key: &str, message: impl Into<String>) {
        self.issues.push(Issue {
            key: key.to_string(),
            origin: origin_of(key, self.file),
            message: message.into(),
        });
    }

    fn duration(&mut self, key: &str, v: &Option<String>, default: Duration) -> Duration {
        match v {
            None => default,
            Some(s) => match parse_duration(s) {
                Ok(d) => d,
                Err(e) => {
                    self.push(key, e);
                    default
                }
            },
        }
    }

    fn addr(&mut self, key: &str, v: &Option<String>, default: &str) -> SocketAddr {
        let s = v.as_deref().unwrap_or(default);
        match s.parse() {
            Ok(a) => a,
            Err(_) => {
                self.push(
                    key,
                    format!(
                        "invalid listen address {s:?}; expected IP:PORT, e.g. \"127.0.0.1:9470\""
                    ),
                );
                // Fall back to the (valid) default so later checks can go on.
                default
                    .parse()
                    .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
            }
        }
    }

    fn secret(
        &mut self,
        key: &str,
        inline: &Option<String>,
        file: &Option<String>,
    ) -> Option<super::Secret> {
        match load_secret(
            key.rsplit('.').next().unwrap_or(key),
            inline.as_deref(),
            file.as_deref(),
            self.dir,
        ) {
            Ok(s) => s,
            Err(e) => {
                self.push(key, e.to_string());
                None
            }
        }
    }
}

pub(super) fn compile(
    raw: RawConfig,
    file: Option<&Path>,
    mut issues: Vec<Issue>,
) -> (Settings, Vec<Issue>) {
    let dir = file.and_then(|f| f.parent());
    let mut cx = Ctx {
        file,
        dir,
        issues: Vec::new(),
    };
    let c = &raw.cloakfusion;
    let base_url = c
        .base_url
        .clone()
        .unwrap_or_else(|| "https://my.cloakfusion.com/api/v1".into());
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        cx.push(
            "cloakfusion.base_url",
            format!("{base_url:?} is not an http(s) URL"),
        );
    }
    let max_urls_per_flush = c.max_urls_per_flush.unwrap_or(100);
    if max_urls_per_flush == 0 {
        cx.push("cloakfusion.max_urls_per_flush", "must be at least 1");
    }
    let cloakfusion = ApiSettings {
        base_url,
        token: cx.secret("cloakfusion.token", &c.token, &c.token_file),
        timeout: cx.duration("cloakfusion.timeout", &c.timeout, Duration::from_secs(10)),
        connect_timeout: cx.duration(
            "cloakfusion.connect_timeout",
            &c.connect_timeout,
            Duration::from_secs(5),
        ),
        max_urls_per_flush: max_urls_per_flush.max(1),
        max_requests_per_minute: c.max_requests_per_minute.unwrap_or(120),
        max_urls_per_minute: c.max_urls_per_minute.unwrap_or(0),
        max_backoff: cx.duration(
            "cloakfusion.max_backoff",
            &c.max_backoff,
            Duration::from_secs(300),
        ),
        auth_retry: cx.duration(
            "cloakfusion.auth_retry",
            &c.auth_retry,
            Duration::from_secs(60),
        ),
        properties_path: c
            .properties_path
            .clone()
            .unwrap_or_else(|| "/vhostsproperty/".into()),
    };

    let s = &raw.server;
    let admin_listen = cx.addr("server.admin_listen", &s.admin_listen, "127.0.0.1:9470");
    let admin_token = cx.secret("server.admin_token", &s.admin_token, &s.admin_token_file);
    if !admin_listen.ip().is_loopback() && admin_token.is_none() {
        cx.push(
            "server.admin_listen",
            format!(
                "{admin_listen} is not a loopback address and server.admin_token is not set; \
                 the admin API can purge and must not be open without a token"
            ),
        );
    }
    let tls = match (&s.tls_cert_file, &s.tls_key_file) {
        (None, None) => None,
        (Some(c), Some(k)) => {
            let resolve = |f: &str| {
                let p = Path::new(f);
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    dir.map(|d| d.join(p)).unwrap_or_else(|| p.to_path_buf())
                }
            };
            let (c, k) = (resolve(c), resolve(k));
            for (key, p) in [("server.tls_cert_file", &c), ("server.tls_key_file", &k)] {
                if !p.is_file() {
                    cx.push(key, format!("{} is not a readable file", p.display()));
                }
            }
            Some((c, k))
        }
        _ => {
            cx.push(
                "server.tls_cert_file",
                "set both tls_cert_file and tls_key_file, or neither",
            );
            None
        }
    };
    let server = ServerSettings {
        tls,
        listen: cx.addr("server.listen", &s.listen, "0.0.0.0:8470"),
        admin_listen,
        admin_token,
        shutdown_timeout: cx.duration(
            "server.shutdown_timeout",
            &s.shutdown_timeout,
            Duration::from_secs(10),
        ),
        max_concurrent_requests: match s.max_concurrent_requests {
            Some(0) => {
                cx.push("server.max_concurrent_requests", "expected at least 1");
                1
            }
            Some(n) => n,
            None => 32,
        },
        busy_wait: cx.duration("server.busy_wait", &s.busy_wait, Duration::from_millis(500)),
        body_timeout: cx.duration(
            "server.body_timeout",
            &s.body_timeout,
            Duration::from_secs(10),
        ),
    };

    let st = &raw.store;
    let backend = match (&st.url, &st.path) {
        (Some(_), Some(_)) => {
            cx.push(
                "store.url",
                "set either store.path (SQLite) or store.url, not both",
            );
            StoreBackend::Sqlite("edgeflush.db".into())
        }
        (Some(u), None) => {
            if !(u.starts_with("postgres://") || u.starts_with("postgresql://")) {
                cx.push("store.url", "expected a postgres:// URL");
            }
            StoreBackend::Postgres(super::Secret::new(u.clone()))
        }
        (None, p) => StoreBackend::Sqlite(
            p.clone()
                .unwrap_or_else(|| "/var/lib/edgeflush/edgeflush.db".into())
                .into(),
        ),
    };
    let store = StoreSettings {
        backend,
        retention: cx.duration(
            "store.retention",
            &st.retention,
            Duration::from_secs(7 * 86400),
        ),
    };

    let batch = BatchSettings {
        linger: cx.duration("batch.linger", &raw.batch.linger, Duration::from_secs(2)),
        max_delay: cx.duration(
            "batch.max_delay",
            &raw.batch.max_delay,
            Duration::from_secs(15),
        ),
    };
    let rs = &raw.status;
    let status = StatusSettings {
        initial_interval: cx.duration(
            "status.initial_interval",
            &rs.initial_interval,
            Duration::from_secs(1),
        ),
        max_interval: cx.duration(
            "status.max_interval",
            &rs.max_interval,
            Duration::from_secs(30),
        ),
        timeout: cx.duration("status.timeout", &rs.timeout, Duration::from_secs(600)),
        max_reflush: rs.max_reflush.unwrap_or(3),
        max_regex_len: rs.max_regex_len.unwrap_or(4000).max(64),
    };
    let format = match raw.log.format.as_deref().unwrap_or("text") {
        "text" | "pretty" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            cx.push(
                "log.format",
                format!("{other:?}: expected \"text\" or \"json\""),
            );
            LogFormat::Text
        }
    };
    let log = LogSettings {
        level: raw.log.level.clone().unwrap_or_else(|| "info".into()),
        format,
    };

    let traffic = super::traffic::compile(&raw.traffic, |k, m| cx.push(k, m));
    let watch = super::watch::compile(&raw.watch, |k, m| cx.push(k, m));
    let sites = compile_sites(&raw.site, &mut cx);
    let hooks = {
        let mut pushed = Vec::new();
        let hooks = super::hooks::compile_hooks(
            &raw.hook,
            &sites,
            |k, m| pushed.push((k.to_string(), m)),
            |inline, file| {
                load_secret("secret", inline.as_deref(), file.as_deref(), dir)
                    .map_err(|e| e.to_string())
            },
        );
        for (k, m) in pushed {
            cx.push(&k, m);
        }
        hooks
    };
    issues.append(&mut cx.issues);
    let settings = Settings {
        file: file.map(Path::to_path_buf),
        cloakfusion,
        server,
        store,
        batch,
        status,
        log,
        traffic,
        watch,
        sites,
        hooks,
    };
    (settings, issues)
}

fn compile_sites(raw: &[RawSite], cx: &mut Ctx<'_>) -> Vec<Arc<Site>> {
    let mut names = HashSet::new();
    let mut vhosts = HashSet::new();
    let mut out = Vec::new();
    for (i, rs) in raw.iter().enumerate() {
        if !names.insert(rs.name.clone()) {
            cx.push(
                &format!("site[{i}].name"),
                format!("duplicate site name {:?}", rs.name),
            );
        }
        if !vhosts.insert(rs.vhost.clone()) {
            cx.push(
                &format!("site[{i}].vhost"),
                format!("vhost {:?} is used by two sites", rs.vhost),
            );
        }
        let verify = super::verify::compile(
            rs.verify.as_ref(),
            rs.origin_url.as_deref(),
            &format!("site[{i}].verify"),
            |k, m| cx.push(&k, m),
        );
        match SiteMap::compile(rs, i) {
            Ok(map) => out.push(Arc::new(Site {
                map,
                origin_url: rs.origin_url.clone(),
                display_name: rs.display_name.clone().unwrap_or_else(|| rs.name.clone()),
                properties: rs.properties.clone(),
                verify,
            })),
            Err(errs) => {
                for e in errs {
                    let (key, msg) = e.split_once(": ").unwrap_or(("site", e.as_str()));
                    cx.push(key, msg);
                }
            }
        }
    }
    out
}
