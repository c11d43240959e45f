//! Where purge work comes from besides the operator: deploy webhooks (and,
//! later, the document-root watcher). Each source only turns outside input
//! into typed requests; the intake decides what gets queued.

pub mod watch;
pub mod webhook;
