//! The testbench's view of a golden-vector folder (`floweqprop vectors`): `tb_params.svh` with
//! the run's sizes and raw constants from `manifest.json`, after checking that the manifest
//! describes the same core as the config.

use crate::config::Config;
use crate::error::Error;
use std::path::Path;

/// `tb_params.svh` for the vectors in `dir`.
pub fn tb_params(_config: &Config, dir: &Path) -> Result<String, Error> {
    Err(Error::invalid("--vectors", dir.display(), "not implemented yet"))
}
