//! nextpnr's `--report` JSON (nextpnr-ice40 of `make synth`, nextpnr-ecp5 of `make fpga`): the
//! Fmax of every clock and the utilisation per bel type.

use crate::error::Error;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The Fmax nextpnr reports for one clock net (`fmax: {NET: {achieved, constraint}}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClockFmax {
    /// The clock net as nextpnr names it (`$glbnet$clk$TRELLIS_IO_IN`: `clk` on a global network).
    pub net: String,
    pub achieved_mhz: f64,
    /// The `--freq` constraint, MHz (nextpnr-ice40 0.4 reports none for an unconstrained clock).
    pub constraint_mhz: Option<f64>,
}

impl ClockFmax {
    /// Whether the clock meets its constraint (`None` without one).
    pub fn passes(&self) -> Option<bool> {
        self.constraint_mhz.map(|c| self.achieved_mhz >= c)
    }
}

/// A nextpnr `--report` JSON (nextpnr-ice40 of `make synth`, nextpnr-ecp5 of `make fpga`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PnrResult {
    /// The lowest Fmax over the clocks, MHz.
    pub fmax_mhz: f64,
    /// Every clock, in the report's order (by net name).
    pub clocks: Vec<ClockFmax>,
    /// Used / available per bel type (`ICESTORM_LC`, `TRELLIS_COMB`, `DP16KD`, ...).
    pub utilisation: BTreeMap<String, (u64, u64)>,
}

impl PnrResult {
    /// Reads the report; a missing or malformed field is an error naming it
    /// (`utilization.DP16KD.used`) and the file `origin`.
    pub fn from_report(report: &Value, origin: &Path) -> Result<PnrResult, Error> {
        fn object<'a>(
            v: Option<&'a Value>,
            field: &str,
            origin: &Path,
        ) -> Result<&'a Map<String, Value>, Error> {
            v.and_then(Value::as_object).ok_or_else(|| Error::data(origin, format!("no \"{field}\" object")))
        }
        let number = |v: &Value, field: String| {
            v.get(field.rsplit('.').next().unwrap_or(""))
                .and_then(Value::as_f64)
                .ok_or_else(|| Error::data(origin, format!("no number \"{field}\"")))
        };
        let mut clocks = Vec::new();
        for (net, c) in object(report.get("fmax"), "fmax", origin)? {
            let achieved_mhz = number(c, format!("fmax.{net}.achieved"))?;
            let constraint_mhz = c.get("constraint").map(|_| number(c, format!("fmax.{net}.constraint")));
            clocks.push(ClockFmax {
                net: net.clone(),
                achieved_mhz,
                constraint_mhz: constraint_mhz.transpose()?,
            });
        }
        let fmax_mhz = clocks.iter().map(|c| c.achieved_mhz).fold(f64::INFINITY, f64::min);
        if !fmax_mhz.is_finite() {
            return Err(Error::data(origin, "no clock in \"fmax\""));
        }
        let mut utilisation = BTreeMap::new();
        for (bel, v) in object(report.get("utilization"), "utilization", origin)? {
            let count = |f: &str| {
                v.get(f)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| Error::data(origin, format!("no count \"utilization.{bel}.{f}\"")))
            };
            utilisation.insert(bel.clone(), (count("used")?, count("available")?));
        }
        Ok(PnrResult { fmax_mhz, clocks, utilisation })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::synth::UP5K;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn nextpnr_report_gives_the_slowest_clock_and_the_utilisation() {
        let r = json!({"fmax": {"clk$glb": {"achieved": 219.9, "constraint": 12}, "other": {"achieved": 80.5}},
            "utilization": {"ICESTORM_LC": {"available": 5280, "used": 26}}});
        let p = PnrResult::from_report(&r, Path::new("nextpnr_report.json")).unwrap();
        assert_eq!(p.fmax_mhz, 80.5);
        assert_eq!(p.utilisation["ICESTORM_LC"], (26, 5280));
        assert!(PnrResult::from_report(&json!({"fmax": {}}), Path::new("nextpnr_report.json")).is_err());
    }

    /// A real nextpnr-ice40 0.4 `--report` (synth/pnr_ice40.sh on an 8-bit multiply-accumulate
    /// design with 17 I/Os, which fits the UP5K).
    #[test]
    fn a_real_nextpnr_report_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nextpnr_ice40_report.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let p = PnrResult::from_report(&v, Path::new("nextpnr_report.json")).unwrap();
        assert!((p.fmax_mhz - 102.48).abs() < 0.01, "{}", p.fmax_mhz);
        let (used, available) = p.utilisation["ICESTORM_LC"];
        assert!(used > 0 && available == UP5K.lcs, "{used} of {available}");
        assert_eq!(p.utilisation["ICESTORM_DSP"], (1, UP5K.dsps));
    }
}
