//! `floweqprop report`: resources, clock and training throughput of the generated core, read
//! from what the synthesis and place-and-route flows wrote, one submodule per kind of file:
//!
//! - [`yosys`]: Yosys's `stat -json` cell counts, per target ([`yosys::Target`]).
//! - [`nextpnr`]: nextpnr's `--report` JSON (Fmax per clock, utilisation), iCE40 or ECP5.
//! - [`synth`]: the report of `make synth` (generic, Xilinx 7-series, iCE40 with its
//!   place-and-route plan) beside the cycle model (`crate::hdl::cycles`).
//! - [`fpga`]: the report of `make fpga` (the open ECP5 flow: resources, Fmax, flow costs).
//! - [`sweep`]: the PE-array sweep of `make synth-sweep`.
//!
//! This module holds what they share: the A100 reference and the reading of a flow's files
//! (an error names the file and the command that writes it).

use crate::error::Error;
use serde_json::Value;
use std::path::Path;

pub mod fpga;
pub mod nextpnr;
pub mod sweep;
pub mod synth;
pub mod yosys;

/// The paper's reference point: 2000 epochs of the 1797 digits in about an hour of float
/// training on an A100, in training samples per second (`2000 * 1797 / 3600`).
pub const A100_SAMPLES_PER_S: f64 = 2000.0 * 1797.0 / 3600.0;

/// A file that `command` writes is not there.
pub(crate) fn missing_from(path: &Path, command: &str) -> Error {
    Error::Data { origin: path.display().to_string(), message: format!("not found: `{command}` writes it") }
}

/// `text` without the lines Yosys 0.23's `stat -json` writes between the modules and the
/// `design` totals of a hierarchy more than one level deep: the text report's hierarchy tree
/// (`       act_lut        1`), which is not JSON. Every line of the JSON proper starts with a
/// quote or a bracket.
pub fn strip_stat_hierarchy_lines(text: &str) -> String {
    text.lines()
        .filter(|l| l.trim_start().starts_with(['"', '{', '}', '[', ']']) || l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A JSON file that `command` writes (a Yosys `stat -json`, a nextpnr report), or an error naming
/// the file: missing (with the command), unreadable or malformed.
pub(crate) fn read_json_from(path: &Path, command: &str) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => missing_from(path, command),
        _ => Error::io(path, e),
    })?;
    serde_json::from_str(&strip_stat_hierarchy_lines(&text))
        .map_err(|e| Error::Data { origin: path.display().to_string(), message: e.to_string() })
}

/// Checks that the Verilog files in `kept` (what `flow` read) are `rtl`, what the templates
/// render for `config` now; an error names the first file that differs or is missing, and
/// `command`, which reruns the flow.
pub(crate) fn check_kept_rtl(
    kept: &Path,
    flow: &str,
    config: &Path,
    command: &str,
    rtl: &[(String, String)],
) -> Result<(), Error> {
    for (name, text) in rtl.iter().filter(|(n, _)| n.ends_with(".v")) {
        let path = kept.join(name);
        let old = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => missing_from(&path, command),
            _ => Error::io(&path, e),
        })?;
        if old != *text {
            return Err(Error::Data {
                origin: path.display().to_string(),
                message: format!(
                    "{flow} read other RTL than {} renders now: rerun `{command}`",
                    config.display()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod fixtures;
