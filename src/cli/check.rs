//! `edgeflush check`: a preflight checklist, one line per item, non-zero
//! exit when any fails.

use super::output::json;
use super::{Cli, CmdResult, Failure};
use crate::cloakfusion::VhostProperties;
use crate::config::raw::RawProperties;
use crate::config::{self, ConfigSource, Settings, StoreBackend};
use serde::Serialize;

#[derive(Serialize)]
struct Item {
    check: String,
    ok: bool,
    detail: String,
}

pub async fn run(cli: &Cli, online: bool) -> CmdResult {
    let src = ConfigSource::resolve(cli.config.clone());
    let mut items = Vec::new();
    let file = src
        .path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(no file: defaults and environment)".into());
    let settings = match config::load(&src, &super::flag_overrides(cli)) {
        Ok(s) => {
            super::init_logging(&s.log.level, s.log.format == config::LogFormat::Json);
            items.push(Item {
                check: "config".into(),
                ok: true,
                detail: format!("{file} is valid"),
            });
            s
        }
        Err(e) => {
            for i in &e.issues {
                items.push(Item {
                    check: "config".into(),
                    ok: false,
                    detail: i.to_string(),
                });
            }
            finish(cli, &items)?;
            return Err(Failure::usage(""));
        }
    };
    items.push(Item {
        check: "secrets".into(),
        ok: true,
        detail: format!(
            "API token {}, {} hook secret(s) readable with safe modes",
            if settings.cloakfusion.token.is_some() {
                "set"
            } else {
                "NOT set"
            },
            settings
                .hooks
                .iter()
                .map(|h| h.secrets.len())
                .sum::<usize>()
        ),
    });
    if settings.cloakfusion.token.is_none() {
        items.last_mut().into_iter().for_each(|i| i.ok = false);
    }
    items.push(store_check(&settings).await);
    items.extend(watch_checks(&settings));
    let mut listeners = vec![("server.admin_listen", settings.server.admin_listen)];
    // The webhook listener is only bound when a hook is configured.
    if !settings.hooks.is_empty() {
        listeners.insert(0, ("server.listen", settings.server.listen));
    }
    for (what, addr) in listeners {
        let ok = std::net::TcpListener::bind(addr).is_ok();
        items.push(Item {
            check: what.into(),
            ok,
            detail: if ok {
                format!("{addr} is free")
            } else {
                format!("{addr} is in use or not allowed")
            },
        });
    }
    if online {
        online_checks(&settings, &mut items).await;
    }
    finish(cli, &items)?;
    if items.iter().all(|i| i.ok) {
        Ok(())
    } else {
        Err(Failure::failed(""))
    }
}

/// Each watched root exists, and its directories fit the inotify budget.
fn watch_checks(settings: &Settings) -> Vec<Item> {
    use crate::sources::watch::limits::{MAX_USER_WATCHES, check_watch_budget, read_limit};
    let mut out = Vec::new();
    for site in &settings.sites {
        let Some(root) = site.map.root() else {
            continue;
        };
        let check = format!("watch {}", site.name());
        let dirs = match count_dirs(root) {
            Ok(n) => n,
            // The daemon waits for a root that does not exist yet (a server
            // before its first deploy); say so without failing the start.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let detail = format!(
                    "{} does not exist yet; it is watched once it does",
                    root.display()
                );
                out.push(Item {
                    check,
                    ok: true,
                    detail,
                });
                continue;
            }
            Err(e) => {
                out.push(Item {
                    check,
                    ok: false,
                    detail: format!("{}: {e}", root.display()),
                });
                continue;
            }
        };
        let (ok, detail) = match check_watch_budget(site.name(), dirs) {
            Err(advice) => (false, advice),
            Ok(Some(warning)) => (true, warning),
            Ok(None) => (
                true,
                format!(
                    "{}: {dirs} directories to watch; fs.inotify.max_user_watches = {}",
                    root.display(),
                    read_limit(MAX_USER_WATCHES)
                        .map_or_else(|| "unknown".into(), |m| m.to_string())
                ),
            ),
        };
        out.push(Item { check, ok, detail });
    }
    out
}

fn count_dirs(root: &std::path::Path) -> std::io::Result<u64> {
    let mut n = 0;
    let mut stack = vec![std::fs::canonicalize(root)?];
    while let Some(d) = stack.pop() {
        n += 1;
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            }
        }
    }
    Ok(n)
}

async fn store_check(settings: &Settings) -> Item {
    let (ok, detail) = match &settings.store.backend {
        StoreBackend::Sqlite(p) => match crate::queue::sqlite::SqliteStore::open(p) {
            Ok(_) => (true, format!("{} opens and is writable", p.display())),
            Err(e) => (false, format!("{}: {e}", p.display())),
        },
        StoreBackend::Postgres(_) => match crate::daemon::open_store(settings).await {
            Ok(store) => match store.probe().await {
                Ok(()) => (true, "store.url (PostgreSQL) opens and is writable".into()),
                Err(e) => (false, format!("store.url (PostgreSQL): {e}")),
            },
            Err(e) => (false, format!("store.url (PostgreSQL): {e}")),
        },
    };
    Item {
        check: "store".into(),
        ok,
        detail,
    }
}

async fn online_checks(settings: &Settings, items: &mut Vec<Item>) {
    let client = match crate::daemon::client(settings) {
        Ok(c) => c,
        Err(e) => {
            items.push(Item {
                check: "api".into(),
                ok: false,
                detail: e.to_string(),
            });
            return;
        }
    };
    match client.list_vhosts().await {
        Err(e) => items.push(Item {
            check: "api token".into(),
            ok: false,
            detail: e.to_string(),
        }),
        Ok(vhosts) => {
            items.push(Item {
                check: "api token".into(),
                ok: true,
                detail: format!(
                    "accepted by {} ({} vhosts)",
                    settings.cloakfusion.base_url,
                    vhosts.len()
                ),
            });
            for s in &settings.sites {
                let ok = vhosts.iter().any(|v| v.domain_name == s.vhost());
                items.push(Item {
                    check: format!("site {}", s.name()),
                    ok,
                    detail: if ok {
                        format!("vhost {} exists", s.vhost())
                    } else {
                        format!(
                            "vhost {} does not exist (edgeflush vhosts apply creates it)",
                            s.vhost()
                        )
                    },
                });
            }
        }
    }
}

fn finish(cli: &Cli, items: &[Item]) -> Result<(), Failure> {
    if cli.json {
        return json(items);
    }
    for i in items {
        outln!(
            "{} {:<20} {}",
            if i.ok { "ok  " } else { "FAIL" },
            i.check,
            i.detail
        );
    }
    Ok(())
}

/// The differences between declared and current properties, one line each.
pub fn property_diff(want: &RawProperties, have: Option<&VhostProperties>) -> Vec<String> {
    let Some(h) = have else {
        return vec![format!("set properties (ttl {})", want.ttl)];
    };
    let mut out = Vec::new();
    if h.ttl != Some(want.ttl) {
        out.push(format!("ttl: {:?} -> {}", h.ttl, want.ttl));
    }
    macro_rules! cmp {
        ($f:ident) => {
            if want.$f.is_some() && want.$f != h.$f {
                out.push(format!("{}: {:?} -> {:?}", stringify!($f), h.$f, want.$f));
            }
        };
    }
    cmp!(cname);
    cmp!(gzip);
    cmp!(ssl);
    cmp!(override_hostheader);
    cmp!(host_header);
    out
}
