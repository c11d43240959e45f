//! systemd integration: READY/STATUS/STOPPING/RELOADING through
//! `NOTIFY_SOCKET`, and a watchdog that only the work loops can feed. Each
//! loop calls `pet` on every turn; WATCHDOG=1 goes out (from that loop) only
//! while every registered loop has turned recently, so one hung loop stops
//! the pings and systemd restarts the service. Without systemd these are
//! no-ops.

use sd_notify::NotifyState;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

pub fn reloading() {
    // systemd wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload).
    let mono = NotifyState::monotonic_usec_now().ok();
    let mut states = vec![NotifyState::Reloading];
    states.extend(mono);
    send(&states);
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

#[derive(Debug)]
pub struct Watchdog {
    interval: Option<Duration>,
    loops: Mutex<HashMap<&'static str, Instant>>,
    last_sent: Mutex<Option<Instant>>,
}

impl Watchdog {
    /// Reads `WATCHDOG_USEC` (set by systemd with `WatchdogSec=`).
    pub fn from_env(loops: &[&'static str]) -> Watchdog {
        Self::new(sd_notify::watchdog_enabled(), loops)
    }

    pub fn new(interval: Option<Duration>, loops: &[&'static str]) -> Watchdog {
        let now = Instant::now();
        if let Some(i) = interval {
            tracing::info!(interval = ?i, loops = ?loops, "systemd watchdog enabled");
        }
        Watchdog {
            interval,
            loops: Mutex::new(loops.iter().map(|l| (*l, now)).collect()),
            last_sent: Mutex::new(None),
        }
    }

    /// The longest a work loop may sleep between turns so that the watchdog
    /// keeps being fed while it is idle.
    pub fn max_idle(&self) -> Duration {
        self.interval
            .map(|i| (i / 4).max(Duration::from_millis(100)))
            .unwrap_or(Duration::from_secs(5))
            .min(Duration::from_secs(5))
    }

    /// Called by loop `name` on every turn.
    pub fn pet(&self, name: &'static str) {
        let Some(interval) = self.interval else {
            return;
        };
        let now = Instant::now();
        let all_fresh = match self.loops.lock() {
            Ok(mut l) => {
                l.insert(name, now);
                l.values().all(|t| now.duration_since(*t) < interval / 2)
            }
            Err(_) => false,
        };
        if !all_fresh {
            return;
        }
        if let Ok(mut last) = self.last_sent.lock() {
            if last.is_none_or(|t| now.duration_since(t) >= interval / 4) {
                *last = Some(now);
                send(&[NotifyState::Watchdog]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_cap_follows_interval() {
        let w = Watchdog::new(Some(Duration::from_secs(2)), &["a"]);
        assert_eq!(w.max_idle(), Duration::from_millis(500));
        let w = Watchdog::new(None, &["a"]);
        assert_eq!(w.max_idle(), Duration::from_secs(5));
    }
}
