//! The `edgeflush` binary: parse the command line and hand over to the CLI
//! module. Everything else lives in the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    edgeflush::cli::main_with(edgeflush::cli::Cli::parse())
}
