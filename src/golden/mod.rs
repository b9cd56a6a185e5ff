//! The bit-accurate fixed-point golden model (the issue "Bit-accurate fixed-point golden model"):
//! the number formats, rounding and overflow of the core's datapath.

pub mod config;
pub mod fixed;
pub mod lut;
pub mod optim;
pub mod qformat;
pub mod saturation;
pub mod vectors;
