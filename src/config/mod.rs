//! Layered configuration: typed defaults < TOML file < `EDGEFLUSH__SECTION__KEY`
//! environment < CLI flags, validated and compiled once at load.

pub mod raw;
pub mod secret;

pub use secret::Secret;
