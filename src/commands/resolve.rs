//! The one resolve step of every command: the config a command runs on (a file, the paper
//! defaults, or a checkpoint's), with its flags applied, checked for the use the command makes of
//! it before any work; errors name the file and the flags.

use crate::capability::{self, Use};
use crate::config::Config;
use crate::io::check_file_target;
use anyhow::{bail, Result};
use std::path::Path;

/// The config at `path` (the paper defaults without one), checked for `what` before any work.
pub fn load_config(path: Option<&Path>, what: Use) -> Result<Config> {
    let config = read_config(path)?;
    check_config(&config, what, path)?;
    Ok(config)
}

/// The config at `path`, or the paper defaults; parsed and validated as a file, not yet checked
/// for a use.
pub fn read_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::from_yaml_file(p)?,
        None => Config::default(),
    })
}

/// [`capability::check`], the error naming the config's file (`origin`; none: the defaults).
pub fn check_config(config: &Config, what: Use, path: Option<&Path>) -> Result<()> {
    Ok(capability::check(config, what).map_err(|e| e.within(&origin_name(path)))?)
}

/// How errors name a config: its file, or the embedded defaults.
pub fn origin_name(path: Option<&Path>) -> String {
    path.map_or("(the paper defaults)".to_string(), |p| p.display().to_string())
}

/// Refuses, before any work, an output file flag naming a folder, and a PNG grid of 0 columns.
pub fn check_outputs(files: &[(&str, Option<&Path>)], cols: usize) -> Result<()> {
    for (flag, path) in files {
        path.map(|p| check_file_target(p, flag)).transpose()?;
    }
    if cols == 0 {
        bail!("--cols 0: the PNG grid needs at least 1 column");
    }
    Ok(())
}
