//! Integration tests: one binary, one module per feature.

mod cli;
mod ep_gradient;
mod reference;
mod training;
