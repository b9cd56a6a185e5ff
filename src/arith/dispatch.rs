//! The arithmetic of a run, chosen at run time: [`ArithKind`] names it, [`run_in`] builds it
//! (for fixed point from the config's formats) and runs generic work in it.

use super::fixed::{needs_i128, Fixed};
use super::float::Float;
use super::Arith;
use crate::config::Config;
use crate::error::Error;
use crate::real::Real;

/// The arithmetic of a run, as chosen on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ArithKind {
    /// Float reference, single precision (fast).
    F32,
    /// Float reference, double precision (verification).
    F64,
    /// Bit-accurate fixed-point golden model, formats from the config's `fixed:` section.
    Fixed,
}

impl ArithKind {
    /// The name runs and checkpoints carry.
    pub fn name(self) -> &'static str {
        match self {
            ArithKind::F32 => f32::NAME,
            ArithKind::F64 => f64::NAME,
            ArithKind::Fixed => "fixed",
        }
    }

    /// The kind a checkpoint's `precision` names.
    pub fn of_name(name: &str) -> Option<ArithKind> {
        [ArithKind::F32, ArithKind::F64, ArithKind::Fixed].into_iter().find(|k| k.name() == name)
    }
}

/// Work to run in whichever arithmetic is chosen at run time (a generic closure).
pub trait ArithTask {
    type Output;
    fn run<A: Arith>(self, a: &A) -> Self::Output;
}

/// Runs `task` in the arithmetic `kind`; for fixed point, with the config's formats (checked,
/// constants included), intermediates in `i64` where they fit and `i128` otherwise.
pub fn run_in<T: ArithTask>(kind: ArithKind, config: &Config, task: T) -> Result<T::Output, Error> {
    Ok(match kind {
        ArithKind::F32 => task.run(&Float::<f32>::new()),
        ArithKind::F64 => task.run(&Float::<f64>::new()),
        ArithKind::Fixed => {
            // check_model without building the model twice: Fixed::new checks the datapath
            config.fixed.check_constants(&config.relax, &config.optim, &config.generate)?;
            match needs_i128(config) {
                false => task.run(&Fixed::<i64>::new(config)?),
                true => task.run(&Fixed::<i128>::new(config)?),
            }
        }
    })
}
