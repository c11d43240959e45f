//! Running unattended: systemd readiness, status and watchdog through a
//! NOTIFY_SOCKET the test reads; SIGHUP reloads (valid and invalid); SIGTERM
//! in the middle of load loses nothing that was accepted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "operations/reload.rs"]
mod reload;
#[path = "operations/systemd.rs"]
mod systemd;
