//! floweqprop: FlowEqProp (flow matching trained by Gradient Equilibrium Propagation), from the
//! float reference to a bit-accurate fixed-point golden model and the generated hardware.
//!
//! The float reference, in the order the data flows:
//! [`dataset`] -> [`flow`] (noise, [`assignment`], interpolation) -> [`energy`] -> [`relax`]
//! -> [`gradep`] -> [`optim`] -> [`train`] ([`checkpoint`]); then [`generate`] and [`eval`] (sample quality).
//! All of it is written once over the number-system trait [`arith::Arith`]: the float reference
//! ([`arith::float`], kernels in [`real`]) and the bit-accurate golden model ([`arith::fixed`],
//! built from [`golden`]) sit beside each other. Settings: [`config`]. Output: [`plot`], [`io`].
//! The hardware: [`vectors`] -> [`hdl`] -> [`report`]. The commands of the binary: [`commands`].
//! `docs/architecture.md` draws the layers and what each module may import.

pub mod arith;
pub mod assignment;
pub mod bench;
pub mod capability;
pub mod checkpoint;
pub mod choice;
pub mod commands;
pub mod config;
pub mod dataset;
pub mod energy;
pub mod error;
pub mod eval;
pub mod flow;
pub mod generate;
pub mod golden;
pub mod gradep;
pub mod hdl;
pub mod io;
pub mod model;
pub mod optim;
pub mod plot;
pub mod progress;
pub mod real;
pub mod relax;
pub mod report;
pub mod saturation;
pub mod train;
pub mod vectors;
pub mod width_sweep;
