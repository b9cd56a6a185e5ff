//! The one resolve step of every command: the config a command runs on (a file, the paper
//! defaults, or a checkpoint's), with its flags applied, checked for the use the command makes of
//! it before any work; errors name the file and the flags.

use crate::capability::{self, Use};
use crate::choice::Choice;
use crate::config::{Config, Schedule, VelocityMode};
use crate::io::check_file_target;
use anyhow::{bail, Result};
use std::path::Path;

/// A flag that overrides one config field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flag {
    Epochs(usize),
    Seed(u64),
    Schedule(Schedule),
    CheckpointEvery(usize),
    T1(f64),
    /// One end time of `eval --sweep-t1`.
    SweepT1(f64),
    Dt(f64),
    Mode(VelocityMode),
}

impl Flag {
    fn apply(self, c: &mut Config) {
        match self {
            Flag::Epochs(v) => c.train.epochs = v,
            Flag::Seed(v) => c.train.seed = v,
            Flag::Schedule(v) => c.optim.schedule = v,
            Flag::CheckpointEvery(v) => c.train.checkpoint_every = v,
            Flag::T1(v) | Flag::SweepT1(v) => c.generate.t1 = v,
            Flag::Dt(v) => c.generate.dt = v,
            Flag::Mode(v) => c.generate.mode = v,
        }
    }

    /// As the command line spells it.
    fn shown(self) -> String {
        match self {
            Flag::Epochs(v) => format!("--epochs {v}"),
            Flag::Seed(v) => format!("--seed {v}"),
            Flag::Schedule(v) => format!("--schedule {}", v.name()),
            Flag::CheckpointEvery(v) => format!("--checkpoint-every {v}"),
            Flag::T1(v) => format!("--t1 {v}"),
            Flag::SweepT1(v) => format!("--sweep-t1 .. {v} .."),
            Flag::Dt(v) => format!("--dt {v}"),
            Flag::Mode(v) => format!("--mode {}", v.name()),
        }
    }
}

/// The one resolve step: `config` (read from `origin`, see [`origin_name`]) checked for `what`,
/// then with the given `flags` applied (`None`: a flag not given) checked again, so that an error
/// names the file alone where the file is wrong and the file with the flags where a flag made it
/// so.
pub fn resolve(mut config: Config, origin: &str, flags: &[Option<Flag>], what: Use) -> Result<Config> {
    capability::check(&config, what).map_err(|e| e.within(origin))?;
    let flags: Vec<Flag> = flags.iter().flatten().copied().collect();
    if !flags.is_empty() {
        flags.iter().for_each(|f| f.apply(&mut config));
        let shown: Vec<String> = flags.iter().map(|f| f.shown()).collect();
        capability::check(&config, what)
            .map_err(|e| e.within(&format!("{origin} with {}", shown.join(" "))))?;
    }
    Ok(config)
}

/// The config at `path` (the paper defaults without one), checked for `what` before any work.
pub fn load_config(path: Option<&Path>, what: Use) -> Result<Config> {
    resolve(read_config(path)?, &origin_name(path), &[], what)
}

/// The config at `path`, or the paper defaults; parsed and validated as a file, not yet checked
/// for a use.
pub fn read_config(path: Option<&Path>) -> Result<Config> {
    Ok(match path {
        Some(p) => Config::from_yaml_file(p)?,
        None => Config::default(),
    })
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
