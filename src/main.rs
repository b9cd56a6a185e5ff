//! The `floweqprop` command: parses its flags and runs the command (the library's
//! [`floweqprop::commands`], which resolves each command's settings and does the work).

use clap::Parser;
use floweqprop::commands::{run, Cli};

fn main() -> anyhow::Result<()> {
    run(Cli::parse().command)
}
