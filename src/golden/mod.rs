//! The building blocks of the bit-accurate fixed-point datapath (the issue "Bit-accurate
//! fixed-point golden model"): number formats, rounding and overflow ([`qformat`]), the
//! activation LUT ([`lut`]) and the on-chip optimizer ([`optim`]). The golden model's arithmetic
//! is [`crate::arith::fixed`]; its formats are the config's `fixed:` section ([`crate::config::fixed`]).

pub mod lut;
pub mod optim;
pub mod qformat;
