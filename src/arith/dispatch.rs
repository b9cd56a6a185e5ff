//! The arithmetic of a run, chosen at run time: [`ArithKind`] names it, [`run_in`] builds it
//! (for fixed point from the config's formats) and runs generic work in it.

use super::fixed::{needs_i128, Fixed};
use super::float::Float;
use super::Arith;
use crate::choice::Choice;
use crate::config::Config;
use crate::error::Error;
use crate::real::Real;

/// The arithmetic of a run, as chosen on the command line; its name is the one runs and
/// checkpoints carry (a checkpoint's `precision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithKind {
    F32,
    F64,
    Fixed,
}

impl Choice for ArithKind {
    const ALL: &'static [ArithKind] = &[ArithKind::F32, ArithKind::F64, ArithKind::Fixed];

    fn name(self) -> &'static str {
        match self {
            ArithKind::F32 => f32::NAME,
            ArithKind::F64 => f64::NAME,
            ArithKind::Fixed => "fixed",
        }
    }

    fn help(self) -> &'static str {
        match self {
            ArithKind::F32 => "Float reference, single precision (fast)",
            ArithKind::F64 => "Float reference, double precision (verification)",
            ArithKind::Fixed => {
                "Bit-accurate fixed-point golden model, formats from the config's `fixed:` section"
            }
        }
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
