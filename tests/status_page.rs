//! The admin status page (`GET /`) in headless Chromium, served by the real
//! binary against the simulator: after real purges it shows the queue,
//! batches, dead letters and sites; text from outside stays text; with an
//! admin token the page asks for it and then works; no console errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

#[path = "status_page/canned.rs"]
mod canned;
#[path = "status_page/chromium.rs"]
mod chromium;
#[path = "status_page/contrib.rs"]
mod contrib;
#[path = "status_page/page.rs"]
mod page;
#[path = "status_page/stub.rs"]
mod stub;
