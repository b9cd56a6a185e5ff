//! Integration tests: one binary, one module per feature.

mod cli;
mod ep_gradient;
mod layers;
mod reference;
mod training;
