//! The Verilog generator of the systolic local-learning core (the issue "Verilog generator for
//! the systolic local-learning core"): askama templates (`templates/*.v`, `templates/tb_core.sv`)
//! filled with the values [`CoreParams`] computes from a [`Config`]. The core computes bit for bit
//! what the fixed-point golden model ([`crate::arith::fixed`]) computes; `docs/hardware.md` describes it
//! and `make cosim` checks it against the golden vectors of `floweqprop vectors`.
//!
//! [`render`] produces every file in memory; [`crate::io::replace_folder`] puts them in place so
//! that a failure leaves nothing half-written.

pub mod adam;
pub mod cycles;
pub mod manifest;
pub mod params;
mod templates;

pub use params::{index_width, neuron_pipelines_keep_up, CoreParams, HOST_READ_LATENCY, PE_STAGES};

use crate::config::Config;
use crate::error::Error;

/// The top module's file, which every generated core holds.
pub const TOP_FILE: &str = "core.v";

/// Every generated file of `config`'s core: `(file name, text)`, in a fixed order.
pub fn render(config: &Config) -> Result<Vec<(String, String)>, Error> {
    render_core(&CoreParams::new(config)?)
}

/// [`render`] from the core's parameters, when the caller has them.
pub fn render_core(c: &CoreParams) -> Result<Vec<(String, String)>, Error> {
    templates::render_all(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Any change to the generated Verilog of the tiny core shows up here for review.
    #[test]
    fn tiny_core_snapshot() {
        for (name, text) in render(&Config::shipped("tiny")).unwrap() {
            insta::assert_snapshot!(format!("tiny__{name}"), text);
        }
    }

    #[test]
    fn every_config_renders_the_same_file_list() {
        for name in ["tiny", "small", "paper"] {
            let files = render(&Config::shipped(name)).unwrap();
            let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, templates::FILES, "{name}");
            for (n, text) in &files {
                assert!(!text.contains("${") && !text.contains("}$"), "{name}/{n}: unrendered expression");
            }
        }
    }

    /// The Verilog committed under `hdl/` is what the templates render now (`make hdl`).
    #[test]
    fn committed_hdl_is_current() {
        for name in ["tiny", "small", "paper"] {
            for (file, text) in render(&Config::shipped(name)).unwrap() {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("hdl").join(name).join(&file);
                let committed = std::fs::read_to_string(&path).unwrap_or_default();
                assert!(committed == text, "hdl/{name}/{file} is stale: run `make hdl`");
            }
        }
    }
}
