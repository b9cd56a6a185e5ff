//! Yosys's `stat -json` of a synthesized core: cells per target ([`Target`]: generic gates,
//! Xilinx 7-series, iCE40) sorted into LUT, flip-flop, DSP and block RAM columns, and per module.

use crate::choice::Choice;
use crate::error::Error;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A synthesis target of `make synth`: the Yosys script `synth/<name>.ys`, writing
/// `<name>_stat.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Generic,
    Xc7,
    Ice40,
}

impl Choice for Target {
    const ALL: &'static [Target] = &[Target::Generic, Target::Xc7, Target::Ice40];

    fn name(self) -> &'static str {
        match self {
            Target::Generic => "generic",
            Target::Xc7 => "xc7",
            Target::Ice40 => "ice40",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Target::Generic => "Yosys `synth`: the internal gate library, memories as flip-flops",
            Target::Xc7 => "Xilinx 7-series: `synth_xilinx -family xc7 -noiopad`",
            Target::Ice40 => "Lattice iCE40 UltraPlus: `synth_ice40 -dsp`",
        }
    }
}

impl Target {
    /// What the target's Yosys script runs.
    pub fn flow(self) -> &'static str {
        match self {
            Target::Generic => "synth",
            Target::Xc7 => "synth_xilinx -family xc7 -noiopad",
            Target::Ice40 => "synth_ice40 -dsp -noflatten, no ice40_dsp",
        }
    }

    /// The clock assumed where nextpnr gives no Fmax, MHz (see [`AssumedClocks`]).
    pub fn default_assumed_mhz(self) -> f64 {
        match self {
            Target::Generic | Target::Xc7 => 100.0,
            Target::Ice40 => 25.0,
        }
    }

    pub fn stat_file(self) -> String {
        format!("{}_stat.json", self.name())
    }

    pub fn timeout_file(self) -> String {
        format!("{}_timeout.txt", self.name())
    }
}

/// Cell counts of one target, from the `design` totals of `stat -json` (instances multiplied
/// out). Columns a target does not have are `None`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Resources {
    /// Every cell.
    pub cells: u64,
    /// LUTs, including the LUTs that distributed RAM and shift registers occupy (xc7).
    pub luts: Option<u64>,
    /// The part of `luts` that holds distributed RAM or shift registers.
    pub lutram_luts: Option<u64>,
    /// Flip-flops (and latches, which none of the cores should have).
    pub ffs: u64,
    pub dsps: Option<u64>,
    /// Block RAMs: RAMB36E1 equivalents (a RAMB18E1 counts 1/2) or SB_RAM40_4K.
    pub brams: Option<f64>,
    /// CMOS transistor estimate of the generic netlist (`stat -tech cmos`, generic_cmos.json)
    /// as Yosys writes it: a trailing `+` says that some cell types (flip-flops) have no
    /// estimate, so it is a lower bound.
    pub transistors: Option<String>,
    /// Cell types counted in none of the columns above (carry chains, wide muxes, buffers).
    pub other: BTreeMap<String, u64>,
    /// Where the cells are: per module (its parameterised variants together, the fxp helpers
    /// as one), its instances in the design and the cells of its own (not of its submodules),
    /// most cells first.
    pub by_module: Vec<ModuleCells>,
}

/// One row of [`Resources::by_module`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleCells {
    pub module: String,
    pub instances: u64,
    pub cells: u64,
}

/// `sgd_unit` from `\sgd_unit` or `$paramod$4a2e...\neuron_unit`; the fixed-point helpers
/// (`fxp_round`, `fxp_sat`) and the LUT interpolator as their own groups.
fn module_group(name: &str) -> String {
    let base = name.rsplit('\\').next().unwrap_or(name);
    match base {
        "fxp_round" | "fxp_sat" | "fxp_requant" => "fxp helpers".into(),
        b => b.to_string(),
    }
}

/// Cells per module group, from the `modules` of a `stat -json` output whose module cells
/// name their submodules by type (Yosys keeps the hierarchy).
fn module_breakdown(stat: &Value) -> Vec<ModuleCells> {
    let Some(modules) = stat.get("modules").and_then(Value::as_object) else { return Vec::new() };
    let strip = |n: &str| n.trim_start_matches('\\').to_string();
    let mut children: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut own: BTreeMap<String, u64> = BTreeMap::new();
    for (name, m) in modules {
        let name = strip(name);
        let mut cells = m.get("num_cells").and_then(Value::as_u64).unwrap_or(0);
        let types = m.get("num_cells_by_type").and_then(Value::as_object);
        for (t, n) in types.into_iter().flatten() {
            let n = n.as_u64().unwrap_or(0);
            if modules.contains_key(t) || modules.contains_key(&format!("\\{t}")) {
                children.entry(name.clone()).or_default().push((strip(t), n));
                cells = cells.saturating_sub(n);
            }
        }
        own.insert(name, cells);
    }
    // instances: from the modules no other module instantiates, down the hierarchy
    let used: std::collections::BTreeSet<&String> = children.values().flatten().map(|(t, _)| t).collect();
    let mut instances: BTreeMap<String, u64> = BTreeMap::new();
    let mut stack: Vec<(String, u64)> =
        own.keys().filter(|m| !used.contains(m)).map(|m| (m.clone(), 1)).collect();
    while let Some((m, n)) = stack.pop() {
        *instances.entry(m.clone()).or_default() += n;
        for (c, k) in children.get(&m).into_iter().flatten() {
            stack.push((c.clone(), n * k));
        }
    }
    let mut groups: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (m, n) in &instances {
        let g = groups.entry(module_group(m)).or_default();
        g.0 += n;
        g.1 += n * own.get(m).copied().unwrap_or(0);
    }
    let mut rows: Vec<ModuleCells> = groups
        .into_iter()
        .map(|(module, (instances, cells))| ModuleCells { module, instances, cells })
        .collect();
    rows.sort_by(|a, b| b.cells.cmp(&a.cells).then(a.module.cmp(&b.module)));
    rows
}

/// `estimated_num_transistors` of the design totals of a `stat -json -tech cmos` output.
pub(crate) fn transistors(stat: &Value) -> Option<String> {
    let v = stat.get("design")?.get("estimated_num_transistors")?;
    v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string()))
}

/// LUTs of a Xilinx 7-series distributed-RAM or shift-register primitive.
fn xc7_lutram_luts(cell: &str) -> Option<u64> {
    Some(match cell {
        "RAM32X1S" | "RAM64X1S" | "SRL16E" | "SRLC32E" | "SRLC16E" => 1,
        "RAM32X1D" | "RAM64X1D" | "RAM128X1S" => 2,
        "RAM128X1D" | "RAM256X1S" | "RAM32M" | "RAM64M" => 4,
        "RAM32M16" | "RAM64M8" => 8,
        _ => return None,
    })
}

fn is_xc7_lut(cell: &str) -> bool {
    matches!(cell, "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6" | "LUT6_2")
}

fn is_xc7_ff(cell: &str) -> bool {
    matches!(cell, "FDRE" | "FDSE" | "FDCE" | "FDPE" | "LDCE" | "LDPE")
}

/// Yosys's internal flip-flops and latches: `$_DFF_P_`, `$_SDFFE_PP0P_`, `$_DLATCH_P_`, ...
fn is_generic_ff(cell: &str) -> bool {
    cell.starts_with("$_") && (cell.contains("DFF") || cell.contains("DLATCH"))
}

impl Resources {
    /// Classifies the `design` totals of a `stat -json` output (or of its only module when the
    /// design has one module and Yosys wrote no totals), read from the file `origin`; an error
    /// names it and the field.
    pub fn from_stat(target: Target, stat: &Value, origin: &Path) -> Result<Resources, Error> {
        let bad = |m: &str| Error::data(origin, m);
        let design = match stat.get("design") {
            Some(d) => d,
            None => {
                let modules = stat
                    .get("modules")
                    .and_then(Value::as_object)
                    .ok_or_else(|| bad("no \"design\" or \"modules\""))?;
                match modules.values().collect::<Vec<_>>().as_slice() {
                    [only] => *only,
                    _ => return Err(bad("no \"design\" totals (was stat run with the top module set?)")),
                }
            }
        };
        let count = |v: &Value, what: &str| v.as_u64().ok_or_else(|| bad(&format!("{what} is not a count")));
        let by_type = design
            .get("num_cells_by_type")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("no \"num_cells_by_type\""))?;
        let mut r = Resources {
            cells: count(design.get("num_cells").unwrap_or(&Value::Null), "num_cells")?,
            transistors: transistors(stat),
            ..Resources::default()
        };
        let (mut luts, mut lutram, mut dsps, mut brams) = (0u64, 0u64, 0u64, 0.0f64);
        for (cell, n) in by_type {
            let n = count(n, cell)?;
            match target {
                Target::Generic if is_generic_ff(cell) => r.ffs += n,
                Target::Xc7 if is_xc7_lut(cell) => luts += n,
                Target::Xc7 if xc7_lutram_luts(cell).is_some() => {
                    lutram += n * xc7_lutram_luts(cell).unwrap_or(0)
                }
                Target::Xc7 if is_xc7_ff(cell) => r.ffs += n,
                Target::Xc7 if cell == "DSP48E1" => dsps += n,
                Target::Xc7 if cell == "RAMB36E1" => brams += n as f64,
                Target::Xc7 if cell == "RAMB18E1" => brams += n as f64 / 2.0,
                Target::Ice40 if cell == "SB_LUT4" => luts += n,
                Target::Ice40 if cell.starts_with("SB_DFF") => r.ffs += n,
                Target::Ice40 if cell == "SB_MAC16" => dsps += n,
                Target::Ice40 if cell.starts_with("SB_RAM40_4K") => brams += n as f64,
                _ => {
                    r.other.insert(cell.clone(), n);
                }
            }
        }
        r.by_module = module_breakdown(stat);
        if target != Target::Generic {
            r.luts = Some(luts + lutram);
            r.lutram_luts = Some(lutram);
            r.dsps = Some(dsps);
            r.brams = Some(brams);
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::stat;
    use crate::report::strip_stat_hierarchy_lines;
    use serde_json::json;

    #[test]
    fn xc7_cells_fall_into_their_columns() {
        let s = stat(json!({"LUT6": 10, "LUT2": 5, "RAM64M": 3, "SRLC32E": 2, "FDRE": 7, "FDSE": 1,
            "DSP48E1": 4, "RAMB36E1": 2, "RAMB18E1": 3, "CARRY4": 9, "MUXF7": 6}));
        let r = Resources::from_stat(Target::Xc7, &s, Path::new("stat.json")).unwrap();
        assert_eq!(r.luts, Some(10 + 5 + 3 * 4 + 2), "logic LUTs plus 4 per RAM64M and 1 per SRL");
        assert_eq!(r.lutram_luts, Some(14));
        assert_eq!((r.ffs, r.dsps, r.brams), (8, Some(4), Some(3.5)));
        assert_eq!(r.cells, 52);
        assert_eq!(r.other.keys().collect::<Vec<_>>(), ["CARRY4", "MUXF7"]);
    }

    #[test]
    fn ice40_and_generic_cells_fall_into_their_columns() {
        let s = stat(json!({"SB_LUT4": 100, "SB_DFFE": 20, "SB_DFFSR": 3, "SB_MAC16": 2,
            "SB_RAM40_4K": 1, "SB_CARRY": 40}));
        let r = Resources::from_stat(Target::Ice40, &s, Path::new("stat.json")).unwrap();
        assert_eq!((r.luts, r.ffs, r.dsps, r.brams), (Some(100), 23, Some(2), Some(1.0)));
        assert_eq!(r.other.get("SB_CARRY"), Some(&40));

        let s =
            stat(json!({"$_AND_": 50, "$_MUX_": 30, "$_DFF_P_": 4, "$_SDFFE_PP0P_": 6, "$_DLATCH_P_": 1}));
        let r = Resources::from_stat(Target::Generic, &s, Path::new("stat.json")).unwrap();
        assert_eq!((r.ffs, r.luts, r.dsps, r.brams, r.cells), (11, None, None, None, 91));
        assert_eq!(r.other.len(), 2);
    }

    #[test]
    fn stat_without_totals_uses_its_only_module_and_refuses_several() {
        let one = json!({"modules": {"\\core": {"num_cells": 3, "num_cells_by_type": {"SB_LUT4": 3}}}});
        assert_eq!(Resources::from_stat(Target::Ice40, &one, Path::new("stat.json")).unwrap().luts, Some(3));
        let two = json!({"modules": {"\\a": {}, "\\b": {}}});
        assert!(Resources::from_stat(Target::Ice40, &two, Path::new("stat.json"))
            .unwrap_err()
            .to_string()
            .contains("design"));
        let bad = json!({"design": {"num_cells": 1, "num_cells_by_type": {"SB_LUT4": "many"}}});
        assert!(Resources::from_stat(Target::Ice40, &bad, Path::new("stat.json")).is_err());
    }

    /// What Yosys 0.23 wrote for the tiny core (shortened): the hierarchy tree between the
    /// modules and the totals.
    #[test]
    fn stat_json_of_a_deep_hierarchy_parses_without_the_tree_lines() {
        let text = r#"{
   "creator": "Yosys 0.23 (git sha1 7ce5011c24b)",
   "modules": {
      "\\sgd_unit": {
         "num_cells":         2,
         "num_cells_by_type": { "$_AND_": 2 }
      }
   },
       $paramod$35d8e0697e5ab07a4c6d3ab653b3bfdb652c46cb\fxp_sat      1
       act_lut                       1
         $paramod$adb09ab3535093512e9afd49e9a03fcc31fd7d6a\lut_lerp      2
      "design": {
         "num_cells":         7,
         "num_cells_by_type": { "$_AND_": 5, "$_DFF_P_": 2 }
      }
}
"#;
        assert!(serde_json::from_str::<Value>(text).is_err(), "the raw text is not JSON");
        let v: Value = serde_json::from_str(&strip_stat_hierarchy_lines(text)).unwrap();
        let r = Resources::from_stat(Target::Generic, &v, Path::new("stat.json")).unwrap();
        assert_eq!((r.cells, r.ffs), (7, 2));
    }

    #[test]
    fn breakdown_multiplies_each_module_by_its_instances() {
        // core: 5 own cells, 2 pe; pe: 10 own, 1 sgd_unit; sgd_unit: 100; two fxp_sat variants
        let s = json!({"modules": {
            "\\core": {"num_cells": 7, "num_cells_by_type": {"$_AND_": 5, "pe": 2}},
            "\\pe": {"num_cells": 13, "num_cells_by_type": {"$_OR_": 10, "sgd_unit": 1,
                "$paramod$aa\\fxp_sat": 1, "$paramod$bb\\fxp_sat": 1}},
            "\\sgd_unit": {"num_cells": 100, "num_cells_by_type": {"$_XOR_": 100}},
            "$paramod$aa\\fxp_sat": {"num_cells": 3, "num_cells_by_type": {"$_NOT_": 3}},
            "$paramod$bb\\fxp_sat": {"num_cells": 4, "num_cells_by_type": {"$_NOT_": 4}}
        }, "design": {"num_cells": 239, "num_cells_by_type": {}}});
        let rows = module_breakdown(&s);
        let got: Vec<(&str, u64, u64)> =
            rows.iter().map(|m| (m.module.as_str(), m.instances, m.cells)).collect();
        assert_eq!(got, [("sgd_unit", 2, 200), ("pe", 2, 20), ("fxp helpers", 4, 14), ("core", 1, 5)]);
        assert_eq!(rows.iter().map(|m| m.cells).sum::<u64>(), 239, "the groups add up to the design");
    }
}
