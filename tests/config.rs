//! The configuration as the real binary sees it: every broken case `check`
//! must refuse (exit 2, a line naming file, key and what was expected, all
//! problems at once), where the file comes from (`--config`,
//! `EDGEFLUSH_CONFIG`), `EDGEFLUSH__SECTION__KEY` overrides,
//! `$CREDENTIALS_DIRECTORY`, and secrets that never reach the output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "cli/run.rs"]
mod run;

#[path = "config/errors.rs"]
mod errors;
#[path = "config/secrets.rs"]
mod secrets;
#[path = "config/sources.rs"]
mod sources;
