//! `floweqprop report`: resources and training throughput of the generated core (the issue
//! "Synthesis and throughput reports for the generated core").
//!
//! `make synth CONFIG=X` renders the core of `configs/X.yaml` into `runs/synth/X/rtl` and runs
//! the Yosys scripts of `synth/` on it, one per [`Target`]; each writes `<target>_stat.json`
//! (`stat -json`). For iCE40 it then asks `floweqprop report --pnr-plan` whether the netlist fits
//! the place-and-route device ([`Ice40Device`]): if so nextpnr-ice40 writes `ice40_pnr.json`
//! (Fmax, utilisation), if not the reason goes to `ice40_pnr_skipped.txt`. A synthesis stopped by
//! its timeout leaves `<target>_timeout.txt`. This module reads those files ([`CoreReport::load`])
//! and adds the cycle model of the generator ([`Cycles`], `CoreParams::sample_cycles`, which the
//! cosimulation measures): cycles per training sample and samples per second, at the nextpnr
//! Fmax where there is one, otherwise at a clock that the table labels "assumed".
//!
//! The PE-array sweep ([`sweep_configs`], [`SweepReport`]) does the same for copies of a config
//! with other `hardware: {rows, cols}` and compares the throughput with the paper's reference
//! point, the float training on an A100 ([`A100_SAMPLES_PER_S`]).

use crate::choice::Choice;
use crate::config::Config;
use crate::error::Error;
use crate::hdl::CoreParams;
use crate::io::atomic_write;
use crate::plot::{line_plot_png, LinePlot, Series};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub mod fpga;

/// The paper's reference point: 2000 epochs of the 1797 digits in about an hour of float
/// training on an A100, in training samples per second (`2000 * 1797 / 3600`).
pub const A100_SAMPLES_PER_S: f64 = 2000.0 * 1797.0 / 3600.0;

/// Where `make synth CONFIG=X` writes: `runs/synth/X`.
pub const SYNTH_ROOT: &str = "runs/synth";

/// Where `make synth-sweep` writes the config copies of the sweep.
pub const SWEEP_CONFIG_DIR: &str = "runs/synth/sweep";

/// Host writes of the SGD scale constants before each UPDATE (mantissa and shift).
pub const UPDATE_CONSTANT_WRITES: usize = 2;

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

/// Clocks assumed for targets without a place-and-route Fmax, MHz. They are placeholders for a
/// comparison, not timing results: every table that uses one says "assumed".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AssumedClocks {
    pub generic: f64,
    pub xc7: f64,
    pub ice40: f64,
}

impl Default for AssumedClocks {
    fn default() -> Self {
        AssumedClocks {
            generic: Target::Generic.default_assumed_mhz(),
            xc7: Target::Xc7.default_assumed_mhz(),
            ice40: Target::Ice40.default_assumed_mhz(),
        }
    }
}

impl AssumedClocks {
    pub fn get(&self, t: Target) -> f64 {
        match t {
            Target::Generic => self.generic,
            Target::Xc7 => self.xc7,
            Target::Ice40 => self.ice40,
        }
    }

    /// Applies `TARGET=MHZ` (one target) or `MHZ` (every target) settings, in order.
    pub fn with_settings(mut self, settings: &[String]) -> Result<AssumedClocks, Error> {
        for s in settings {
            let (targets, mhz) = match s.split_once('=') {
                Some((t, v)) => {
                    let t = Target::of_name(t.trim()).ok_or_else(|| {
                        Error::invalid("--assumed-mhz", s, "the target must be generic, xc7 or ice40")
                    })?;
                    (vec![t], v)
                }
                None => (Target::ALL.to_vec(), s.as_str()),
            };
            let mhz: f64 =
                mhz.trim().parse().map_err(|_| Error::invalid("--assumed-mhz", s, "not a number"))?;
            if !(mhz.is_finite() && mhz > 0.0) {
                return Err(Error::invalid("--assumed-mhz", s, "must be a positive clock in MHz"));
            }
            for t in targets {
                match t {
                    Target::Generic => self.generic = mhz,
                    Target::Xc7 => self.xc7 = mhz,
                    Target::Ice40 => self.ice40 = mhz,
                }
            }
        }
        Ok(self)
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
fn transistors(stat: &Value) -> Option<String> {
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
    /// design has one module and Yosys wrote no totals).
    pub fn from_stat(target: Target, stat: &Value) -> Result<Resources, String> {
        let design = match stat.get("design") {
            Some(d) => d,
            None => {
                let modules =
                    stat.get("modules").and_then(Value::as_object).ok_or("no \"design\" or \"modules\"")?;
                match modules.values().collect::<Vec<_>>().as_slice() {
                    [only] => *only,
                    _ => return Err("no \"design\" totals (was stat run with the top module set?)".into()),
                }
            }
        };
        let count = |v: &Value, what: &str| v.as_u64().ok_or(format!("{what} is not a count"));
        let by_type =
            design.get("num_cells_by_type").and_then(Value::as_object).ok_or("no \"num_cells_by_type\"")?;
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
    /// (`utilization.DP16KD.used`).
    pub fn from_report(report: &Value) -> Result<PnrResult, String> {
        fn object<'a>(
            v: Option<&'a Value>,
            field: &str,
        ) -> Result<&'a serde_json::Map<String, Value>, String> {
            v.and_then(Value::as_object).ok_or_else(|| format!("no \"{field}\" object"))
        }
        let number = |v: &Value, field: String| {
            v.get(field.rsplit('.').next().unwrap_or(""))
                .and_then(Value::as_f64)
                .ok_or_else(|| format!("no number \"{field}\""))
        };
        let mut clocks = Vec::new();
        for (net, c) in object(report.get("fmax"), "fmax")? {
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
            return Err("no clock in \"fmax\"".into());
        }
        let mut utilisation = BTreeMap::new();
        for (bel, v) in object(report.get("utilization"), "utilization")? {
            let count = |f: &str| {
                v.get(f).and_then(Value::as_u64).ok_or_else(|| format!("no count \"utilization.{bel}.{f}\""))
            };
            utilisation.insert(bel.clone(), (count("used")?, count("available")?));
        }
        Ok(PnrResult { fmax_mhz, clocks, utilisation })
    }
}

/// The place-and-route device of `make synth`: an iCE40 with the DSPs that `synth_ice40 -dsp`
/// maps to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ice40Device {
    /// nextpnr-ice40 flags.
    pub name: &'static str,
    pub package: &'static str,
    /// Logic cells (a LUT4 and a flip-flop each).
    pub lcs: u64,
    pub dsps: u64,
    pub brams: u64,
    /// User I/O pins of the package.
    pub ios: u64,
}

/// The largest iCE40 with DSPs (SB_MAC16): the UltraPlus UP5K in its SG48 package.
pub const UP5K: Ice40Device =
    Ice40Device { name: "up5k", package: "sg48", lcs: 5280, dsps: 8, brams: 30, ios: 39 };

/// Why `r` (iCE40 cell counts) with `io_bits` top-level port bits cannot fit `d`; empty if it
/// may (nextpnr has the last word: packing can still fail).
pub fn ice40_misfit(r: &Resources, io_bits: u64, d: &Ice40Device) -> Vec<String> {
    let mut why = Vec::new();
    let device = format!("{} {}", d.name.to_uppercase(), d.package.to_uppercase());
    let mut over = |what: &str, need: u64, have: u64| {
        if need > have {
            why.push(format!("{need} {what} (the {device} has {have})"));
        }
    };
    over("LUT4s", r.luts.unwrap_or(0), d.lcs);
    over("flip-flops", r.ffs, d.lcs);
    over("SB_MAC16 DSPs", r.dsps.unwrap_or(0), d.dsps);
    over("SB_RAM40_4K block RAMs", r.brams.unwrap_or(0.0).ceil() as u64, d.brams);
    over("I/O pins", io_bits, d.ios);
    why
}

/// Bits of the core's top-level ports (docs/hardware.md, "Interface"): clk, rst, the write port
/// (wr_en, 3-bit region, index, data), the read port (rd_en, region, index, rd_valid, data),
/// start, 3-bit cmd, busy, done, error and the 64-bit cycle counter.
pub fn core_io_bits(p: &CoreParams) -> u64 {
    let (index, data) = (u64::from(p.host_index_w()), p.data_w as u64);
    2 + (1 + 3 + index + data) + (1 + 3 + index + 1 + data) + (1 + 3) + 3 + 64
}

/// Cycles of one training sample on the core, from the generator's cycle model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cycles {
    /// FREE + PLUS + MINUS_ACC of one group of `lanes` samples (`CoreParams::group_cycles`;
    /// `make cosim` prints the same number).
    pub phases: usize,
    /// Samples a group relaxes side by side (`hardware.lanes`).
    pub lanes: usize,
    /// Host writes of the sample's `x_t` and `u`, one per cycle, while the core is idle.
    pub host_writes: usize,
    /// UPDATE (`CoreParams::update_cycles`) and its two constant writes, once per batch.
    pub update: usize,
    /// Samples per update (`optim.batch_size`, the whole data set when 0).
    pub batch: usize,
    /// `phases / lanes + host_writes + update / batch`.
    pub per_sample: f64,
}

impl Cycles {
    pub fn of(p: &CoreParams, batch: usize) -> Cycles {
        let phases = p.group_cycles();
        let host_writes = 2 * p.n_x;
        let update = p.update_cycles() + UPDATE_CONSTANT_WRITES;
        let batch = batch.max(1);
        Cycles {
            phases,
            host_writes,
            update,
            batch,
            lanes: p.lanes,
            per_sample: p.sample_cycles() + host_writes as f64 + update as f64 / batch as f64,
        }
    }

    pub fn samples_per_s(&self, mhz: f64) -> f64 {
        mhz * 1e6 / self.per_sample
    }

    /// The clock at which the core trains as fast as the A100 reference, MHz.
    pub fn mhz_for(&self, samples_per_s: f64) -> f64 {
        samples_per_s * self.per_sample / 1e6
    }
}

/// Where a target's clock comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase", tag = "source")]
pub enum Clock {
    /// nextpnr's Fmax.
    Nextpnr { mhz: f64 },
    /// No place-and-route: an assumed clock.
    Assumed { mhz: f64 },
}

impl Clock {
    pub fn mhz(&self) -> f64 {
        match self {
            Clock::Nextpnr { mhz } | Clock::Assumed { mhz } => *mhz,
        }
    }

    fn label(&self) -> String {
        match self {
            Clock::Nextpnr { mhz } => format!("{mhz:.1} (nextpnr Fmax)"),
            Clock::Assumed { mhz } => format!("{mhz:.0} assumed"),
        }
    }
}

/// What `make synth` left for one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Synthesis {
    Done {
        resources: Resources,
    },
    /// Yosys did not finish within the timeout of `make synth`: the first line of the file.
    TimedOut {
        note: String,
    },
    /// No synthesis in the folder (a sweep shape not yet synthesized): the command that runs it.
    NotSynthesized {
        command: String,
    },
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetRow {
    pub target: Target,
    pub flow: &'static str,
    pub synthesis: Synthesis,
    pub clock: Clock,
    pub samples_per_s: f64,
}

/// The iCE40 place-and-route outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Pnr {
    Done {
        device: String,
        result: PnrResult,
    },
    Skipped {
        reason: String,
    },
    /// Not asked for (iCE40 not among the report's targets).
    NotRun,
}

/// The report of one config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoreReport {
    pub name: String,
    pub config: PathBuf,
    pub synth_dir: PathBuf,
    pub network: String,
    pub rows: usize,
    pub cols: usize,
    pub kt: usize,
    pub nt: usize,
    pub t_steps: usize,
    pub cycles: Cycles,
    pub targets: Vec<TargetRow>,
    pub pnr: Pnr,
    pub reference_samples_per_s: f64,
}

/// The config's name: its file stem (`configs/tiny.yaml` -> `tiny`).
pub fn config_name(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "core".into())
}

/// The folder `make synth` writes for `config`: `runs/synth/<name>`.
pub fn default_synth_dir(config: &Path) -> PathBuf {
    Path::new(SYNTH_ROOT).join(config_name(config))
}

/// The make command that writes the synthesis results of `config`.
pub fn make_command(config: &Path) -> String {
    let name = config_name(config);
    let standard = Path::new("configs").join(format!("{name}.yaml"));
    if config == standard {
        format!("make synth CONFIG={name}")
    } else {
        format!("make synth CONFIG={name} CONFIG_FILE={}", config.display())
    }
}

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

fn read_json(path: &Path, config: &Path) -> Result<Value, Error> {
    read_json_from(path, &make_command(config))
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

fn first_line(path: &Path) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text.lines().next().unwrap_or("").trim().to_string())
}

/// Checks that the RTL a synthesis read (`<target>_rtl/`, kept by synth/yosys.sh) is what the
/// templates render for `rtl` now: results of other RTL (an older generator, another config)
/// are refused, naming the first file that differs.
fn check_rtl(dir: &Path, target: Target, config: &Path, rtl: &[(String, String)]) -> Result<(), Error> {
    let kept = dir.join(format!("{}_rtl", target.name()));
    check_kept_rtl(&kept, &format!("the {} synthesis", target.name()), config, &make_command(config), rtl)
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

/// Reads a target's stat JSON, or its timeout note; `rtl` is the core's Verilog as rendered now.
fn load_synthesis(
    dir: &Path,
    target: Target,
    config: &Path,
    rtl: &[(String, String)],
) -> Result<Synthesis, Error> {
    let stat = dir.join(target.stat_file());
    let timeout = dir.join(target.timeout_file());
    check_rtl(dir, target, config, rtl)?;
    if !stat.exists() && timeout.exists() {
        return Ok(Synthesis::TimedOut { note: first_line(&timeout)? });
    }
    let json = read_json(&stat, config)?;
    let mut resources = Resources::from_stat(target, &json)
        .map_err(|m| Error::Data { origin: stat.display().to_string(), message: m })?;
    let cmos = dir.join(format!("{}_cmos.json", target.name()));
    if resources.transistors.is_none() && cmos.exists() {
        resources.transistors = transistors(&read_json(&cmos, config)?);
    }
    Ok(Synthesis::Done { resources })
}

/// The nextpnr report, the reason it was skipped, or an error naming both files.
fn load_pnr(dir: &Path, config: &Path) -> Result<Pnr, Error> {
    let report = dir.join("ice40_pnr.json");
    let skipped = dir.join("ice40_pnr_skipped.txt");
    if report.exists() {
        let json = read_json(&report, config)?;
        let result = PnrResult::from_report(&json)
            .map_err(|m| Error::Data { origin: report.display().to_string(), message: m })?;
        let device = std::fs::read_to_string(dir.join("ice40_pnr_device.txt"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| format!("{} {}", UP5K.name, UP5K.package));
        return Ok(Pnr::Done { device, result });
    }
    if skipped.exists() {
        return Ok(Pnr::Skipped { reason: first_line(&skipped)? });
    }
    Err(Error::Data {
        origin: report.display().to_string(),
        message: format!(
            "not found, nor {}: `{}` runs nextpnr-ice40 or records why not",
            skipped.display(),
            make_command(config)
        ),
    })
}

impl CoreReport {
    /// The report of `config` (read from `config_path`) from the files `make synth` wrote into
    /// `synth_dir`, for `targets`.
    pub fn load(
        config_path: &Path,
        config: &Config,
        synth_dir: &Path,
        targets: &[Target],
        assumed: &AssumedClocks,
    ) -> Result<CoreReport, Error> {
        CoreReport::build(config_path, config, synth_dir, targets, assumed, true)
    }

    /// [`CoreReport::load`] when `make synth` has written `synth_dir`; otherwise the cycle model
    /// alone, every target `NotSynthesized` (the sweep's shapes that have no synthesis yet).
    pub fn load_or_model(
        config_path: &Path,
        config: &Config,
        synth_dir: &Path,
        targets: &[Target],
        assumed: &AssumedClocks,
    ) -> Result<CoreReport, Error> {
        CoreReport::build(config_path, config, synth_dir, targets, assumed, synth_dir.exists())
    }

    /// One row per target: the synthesis read from `synth_dir` (or, when not `synthesized`, the
    /// command that writes it), the clock and the samples/s at that clock.
    fn build(
        config_path: &Path,
        config: &Config,
        synth_dir: &Path,
        targets: &[Target],
        assumed: &AssumedClocks,
        synthesized: bool,
    ) -> Result<CoreReport, Error> {
        let p = CoreParams::new(config)?;
        // the RTL as rendered now, which every synthesis read must match (not needed without one)
        let rtl = if synthesized { crate::hdl::render(config)? } else { Vec::new() };
        let cycles = Cycles::of(&p, config.samples_per_update());
        let pnr = if synthesized && targets.contains(&Target::Ice40) {
            load_pnr(synth_dir, config_path)?
        } else {
            Pnr::NotRun
        };
        let mut rows = Vec::new();
        for &target in targets {
            let synthesis = if synthesized {
                load_synthesis(synth_dir, target, config_path, &rtl)?
            } else {
                Synthesis::NotSynthesized { command: make_command(config_path) }
            };
            let clock = match (&pnr, target) {
                (Pnr::Done { result, .. }, Target::Ice40) => Clock::Nextpnr { mhz: result.fmax_mhz },
                _ => Clock::Assumed { mhz: assumed.get(target) },
            };
            let samples_per_s = cycles.samples_per_s(clock.mhz());
            rows.push(TargetRow { target, flow: target.flow(), synthesis, clock, samples_per_s });
        }
        Ok(CoreReport {
            name: config_name(config_path),
            config: config_path.to_path_buf(),
            synth_dir: synth_dir.to_path_buf(),
            network: format!("{}-{}-{}", p.n_x, p.n_h1, p.n_h2),
            rows: p.rows,
            cols: p.cols,
            kt: p.kt,
            nt: p.nt,
            t_steps: p.t_steps,
            cycles,
            targets: rows,
            pnr,
            reference_samples_per_s: A100_SAMPLES_PER_S,
        })
    }

    pub fn row(&self, t: Target) -> Option<&TargetRow> {
        self.targets.iter().find(|r| r.target == t)
    }

    /// The report as Markdown: a heading, the cycle model, the table, the place-and-route
    /// outcome and the comparison with the A100 reference.
    pub fn markdown(&self) -> String {
        let c = &self.cycles;
        let mut s = format!(
            "## {}: {} network, T = {}, {} x {} PEs of {} x {} weights{}\n\n",
            self.name,
            self.network,
            self.t_steps,
            self.rows,
            self.cols,
            self.kt,
            self.nt,
            if c.lanes > 1 { format!(", {} sample lanes", c.lanes) } else { String::new() }
        );
        let phases = if c.lanes == 1 {
            format!("{} (FREE + PLUS + MINUS_ACC", c.phases)
        } else {
            format!(
                "{} / {} (FREE + PLUS + MINUS_ACC of a group of {} samples in {} lanes",
                c.phases, c.lanes, c.lanes, c.lanes
            )
        };
        let _ = writeln!(
            s,
            "Cycles per training sample: {:.1} = {phases}, the generator's cycle model, which `make cosim` \
             measures) + {} (host writes of x_t and u) + {} / {} (UPDATE and its two constant writes, once \
             per batch of {}).\n",
            c.per_sample, c.host_writes, c.update, c.batch, c.batch
        );
        s += "| target | flow | cells | LUTs | FFs | DSPs | BRAMs | clock MHz | samples/s |\n";
        s += "|---|---|---:|---:|---:|---:|---:|---|---:|\n";
        for r in &self.targets {
            let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
            match &r.synthesis {
                Synthesis::Done { resources: x } => {
                    let luts = match (x.luts, x.lutram_luts) {
                        (Some(l), Some(m)) if m > 0 => format!("{l} ({m} as RAM)"),
                        (l, _) => opt(l),
                    };
                    let _ = writeln!(
                        s,
                        "| {} | `{}` | {} | {} | {} | {} | {} | {} | {:.1} |",
                        r.target.name(),
                        r.flow,
                        x.cells,
                        luts,
                        x.ffs,
                        opt(x.dsps),
                        x.brams.map_or("-".to_string(), |b| format!("{b}")),
                        r.clock.label(),
                        r.samples_per_s
                    );
                }
                Synthesis::TimedOut { note: why } | Synthesis::NotSynthesized { command: why } => {
                    let _ = writeln!(
                        s,
                        "| {} | `{}` | {why} | | | | | {} | {:.1} |",
                        r.target.name(),
                        r.flow,
                        r.clock.label(),
                        r.samples_per_s
                    );
                }
            }
        }
        s += "\n";
        if let Some(Synthesis::Done { resources }) = self.row(Target::Generic).map(|r| &r.synthesis) {
            if let Some(t) = &resources.transistors {
                let _ = writeln!(
                    s,
                    "Generic netlist, `stat -tech cmos`: {t} transistors (a trailing + marks a lower bound: \
                     Yosys has no estimate for some cell types, the flip-flops among them).\n"
                );
            }
            if !resources.by_module.is_empty() && resources.cells > 0 {
                s += "Where the generic cells are (each module's own cells, its instances together):\n\n";
                s += "| module | instances | cells | share |\n|---|---:|---:|---:|\n";
                for m in &resources.by_module {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {} | {:.1}% |",
                        m.module,
                        m.instances,
                        m.cells,
                        100.0 * m.cells as f64 / resources.cells as f64
                    );
                }
                s += "\n";
            }
        }
        match &self.pnr {
            Pnr::Done { device, result } => {
                let lc = result.utilisation.get("ICESTORM_LC").copied().unwrap_or((0, 0));
                let _ = writeln!(
                    s,
                    "iCE40 place-and-route (nextpnr-ice40, {device}): Fmax {:.2} MHz, {} of {} logic cells.\n",
                    result.fmax_mhz, lc.0, lc.1
                );
            }
            Pnr::Skipped { reason } => {
                let _ = writeln!(s, "iCE40 place-and-route: not run: {reason}.\n");
            }
            Pnr::NotRun => {}
        }
        let _ = writeln!(
            s,
            "Reference: the paper's float training on an A100, 2000 epochs x 1797 samples in about an hour = \
             {:.0} samples/s. This core matches it at {:.1} MHz.",
            self.reference_samples_per_s,
            c.mhz_for(self.reference_samples_per_s)
        );
        s
    }

    /// Writes `<name>.md` and `<name>.json` into `out`.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Data { origin: "report".into(), message: e.to_string() })?;
        atomic_write(&out.join(format!("{}.md", self.name)), self.markdown().as_bytes())?;
        atomic_write(&out.join(format!("{}.json", self.name)), (json + "\n").as_bytes())
    }
}

/// `floweqprop report --pnr-plan`: decides whether nextpnr runs. Writes the reason into
/// `ice40_pnr_skipped.txt` when the iCE40 netlist cannot fit `device` (and removes a stale
/// `ice40_pnr.json`), or removes a stale skip note when it may; returns the reasons (empty: run
/// nextpnr).
pub fn pnr_plan(
    config_path: &Path,
    config: &Config,
    synth_dir: &Path,
    device: &Ice40Device,
) -> Result<Vec<String>, Error> {
    let p = CoreParams::new(config)?;
    let skipped = synth_dir.join("ice40_pnr_skipped.txt");
    let report = synth_dir.join("ice40_pnr.json");
    let rtl = crate::hdl::render(config)?;
    let why = match load_synthesis(synth_dir, Target::Ice40, config_path, &rtl)? {
        Synthesis::Done { resources } => ice40_misfit(&resources, core_io_bits(&p), device),
        Synthesis::TimedOut { note } => vec![format!("no iCE40 netlist ({note})")],
        Synthesis::NotSynthesized { command } => vec![format!("no iCE40 netlist (`{command}`)")],
    };
    let remove = |f: &Path| match std::fs::remove_file(f) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(f, e)),
        _ => Ok(()),
    };
    if why.is_empty() {
        remove(&skipped)?;
    } else {
        remove(&report)?;
        let text = format!("does not fit the iCE40 {}: {}\n", device.name.to_uppercase(), why.join(", "));
        atomic_write(&skipped, text.as_bytes())?;
    }
    Ok(why)
}

/// A PE array shape `rows x cols`, written `RxC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shape {
    pub rows: usize,
    pub cols: usize,
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> Result<Shape, String> {
        let (r, c) = s.split_once(['x', 'X']).ok_or_else(|| format!("{s}: expected ROWSxCOLS, e.g. 8x8"))?;
        let n = |v: &str| v.trim().parse::<usize>().map_err(|_| format!("{s}: expected ROWSxCOLS, e.g. 8x8"));
        Ok(Shape { rows: n(r)?, cols: n(c)? })
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.rows, self.cols)
    }
}

/// Every shape from `lo x lo` to `hi x hi` that tiles `config`'s fused weight matrix and whose
/// neuron pipelines keep up (`crate::hdl::neuron_pipelines_keep_up`: at most `min(K, N)` PEs).
pub fn tiling_shapes(config: &Config, lo: usize, hi: usize) -> Vec<Shape> {
    let (k, n) = (config.model.n_x + config.model.n_h2, config.model.n_h1);
    let mut v = Vec::new();
    for rows in (lo..=hi).filter(|r| k % r == 0) {
        for cols in (lo..=hi).filter(|&c| {
            n % c == 0 && crate::hdl::neuron_pipelines_keep_up(k, n, rows, c, config.hardware.lanes)
        }) {
            v.push(Shape { rows, cols });
        }
    }
    v
}

/// The sweep's copies of `config`: `(name, config)` with `hardware: {rows, cols}` set, named
/// `<base>_<RxC>`; an error names a shape that does not tile the network or that the generator
/// refuses (its neuron pipelines would not keep up).
pub fn sweep_configs(
    base_name: &str,
    config: &Config,
    shapes: &[Shape],
) -> Result<Vec<(String, Config)>, Error> {
    shapes
        .iter()
        .map(|s| {
            let mut c = config.clone();
            c.hardware.rows = s.rows;
            c.hardware.cols = s.cols;
            CoreParams::new(&c).map_err(|e| e.within(&format!("--sweep {s}")))?;
            Ok((format!("{base_name}_{s}"), c))
        })
        .collect()
}

/// Writes the sweep's config copies as `<dir>/<name>.yaml`; returns their paths.
pub fn write_sweep_configs(dir: &Path, configs: &[(String, Config)]) -> Result<Vec<PathBuf>, Error> {
    let mut paths = Vec::new();
    for (name, c) in configs {
        let yaml = serde_yaml_ng::to_string(c)
            .map_err(|e| Error::Data { origin: name.clone(), message: e.to_string() })?;
        let path = dir.join(format!("{name}.yaml"));
        let text = format!(
            "# {name}: a copy of the sweep's base config with hardware: {{rows: {}, cols: {}}},\n\
             # written by `floweqprop report --sweep` (make synth-sweep).\n{yaml}",
            c.hardware.rows, c.hardware.cols
        );
        atomic_write(&path, text.as_bytes())?;
        paths.push(path);
    }
    Ok(paths)
}

/// The smallest PE count of a tiling of `config`'s network whose core trains at least
/// `samples_per_s` at `mhz` (the cycle model; any array up to one weight per PE), with the
/// fastest shape of that count and its throughput; `None` if even that array is too slow.
pub fn matching_pes(
    config: &Config,
    mhz: f64,
    samples_per_s: f64,
) -> Result<Option<(usize, Shape, f64)>, Error> {
    let (k, n) = (config.model.n_x + config.model.n_h2, config.model.n_h1);
    let skew = |s: Shape| s.rows.max(s.cols) / s.rows.min(s.cols);
    let mut best: Option<(usize, Shape, f64)> = None;
    for s in tiling_shapes(config, 1, k.max(n)) {
        let pes = s.rows * s.cols;
        if best.is_some_and(|b| b.0 < pes) {
            continue;
        }
        let mut c = config.clone();
        c.hardware.rows = s.rows;
        c.hardware.cols = s.cols;
        let cycles = Cycles::of(&CoreParams::new(&c)?, c.samples_per_update());
        let rate = cycles.samples_per_s(mhz);
        // the fewest PEs; among shapes of that count the fastest, then the squarest
        if rate >= samples_per_s
            && best.is_none_or(|b| b.0 > pes || b.2 < rate || (b.2 == rate && skew(s) < skew(b.1)))
        {
            best = Some((pes, s, rate));
        }
    }
    Ok(best)
}

/// The PE-array sweep: one [`CoreReport`] per shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub base: String,
    pub points: Vec<SweepPoint>,
    /// The clock of the throughput curve and of the match: the xc7 clock (Fmax if placed and
    /// routed, which nextpnr-xilinx is not here, so the assumed one).
    pub mhz: f64,
    pub reference_samples_per_s: f64,
    /// Smallest PE count that matches the reference at `mhz`, its shape and throughput.
    pub match_pes: Option<(usize, String, f64)>,
}

/// x ticks of the sweep's plots: PE arrays are sized in powers of two.
const POWERS_OF_TWO: [f64; 14] =
    [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0, 8192.0];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepPoint {
    pub shape: String,
    pub pes: usize,
    pub report: CoreReport,
}

impl SweepReport {
    pub fn new(
        base: &str,
        config: &Config,
        points: Vec<(Shape, CoreReport)>,
        mhz: f64,
    ) -> Result<SweepReport, Error> {
        let m = matching_pes(config, mhz, A100_SAMPLES_PER_S)?;
        Ok(SweepReport {
            base: base.to_string(),
            points: points
                .into_iter()
                .map(|(s, report)| SweepPoint { shape: s.to_string(), pes: s.rows * s.cols, report })
                .collect(),
            mhz,
            reference_samples_per_s: A100_SAMPLES_PER_S,
            match_pes: m.map(|(p, s, r)| (p, s.to_string(), r)),
        })
    }

    pub fn markdown(&self) -> String {
        let mut s = format!(
            "## PE-array sweep of {}: resources and training throughput against the number of PEs\n\n",
            self.base
        );
        s += "| array | PEs | tile | cycles/sample | xc7 LUTs | xc7 FFs | xc7 DSPs | xc7 BRAMs | generic cells | ice40 LUT4s | samples/s |\n";
        s += "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
        for p in &self.points {
            let r = &p.report;
            let cell = |t: Target, f: &dyn Fn(&Resources) -> String| match r.row(t).map(|x| &x.synthesis) {
                Some(Synthesis::Done { resources }) => f(resources),
                Some(Synthesis::TimedOut { .. }) => "timed out".into(),
                Some(Synthesis::NotSynthesized { .. }) => "not synthesized".into(),
                None => "-".into(),
            };
            let opt = |v: Option<u64>| v.map_or("-".into(), |v| v.to_string());
            let _ = writeln!(
                s,
                "| {} | {} | {} x {} | {:.0} | {} | {} | {} | {} | {} | {} | {:.1} |",
                p.shape,
                p.pes,
                r.kt,
                r.nt,
                r.cycles.per_sample,
                cell(Target::Xc7, &|x| opt(x.luts)),
                cell(Target::Xc7, &|x| x.ffs.to_string()),
                cell(Target::Xc7, &|x| opt(x.dsps)),
                cell(Target::Xc7, &|x| x.brams.map_or("-".into(), |b| b.to_string())),
                cell(Target::Generic, &|x| x.cells.to_string()),
                cell(Target::Ice40, &|x| opt(x.luts)),
                r.cycles.samples_per_s(self.mhz)
            );
        }
        let _ = writeln!(
            s,
            "\nsamples/s at {:.0} MHz (assumed: no place-and-route for xc7 here). Reference: the paper's float \
             training on an A100, {:.0} samples/s.",
            self.mhz, self.reference_samples_per_s
        );
        match &self.match_pes {
            Some((pes, shape, rate)) => {
                let _ = writeln!(
                    s,
                    "At {:.0} MHz the core matches it from {pes} PEs on (e.g. {shape}: {rate:.0} samples/s; cycle model).",
                    self.mhz
                );
            }
            None => {
                let _ =
                    writeln!(s, "At {:.0} MHz no array of this network matches it (cycle model).", self.mhz);
            }
        }
        match self.smallest_swept_match() {
            Some(p) => {
                let xc7 = match p.report.row(Target::Xc7).map(|r| &r.synthesis) {
                    Some(Synthesis::Done { resources: x }) => format!(
                        "{} xc7 LUTs, {} FFs, {} DSPs",
                        x.luts.map_or("-".into(), |v| v.to_string()),
                        x.ffs,
                        x.dsps.map_or("-".into(), |v| v.to_string())
                    ),
                    _ => "not synthesized".into(),
                };
                let _ = writeln!(
                    s,
                    "The smallest swept array that matches it: {} ({} PEs), {xc7}, {:.1} samples/s.",
                    p.shape,
                    p.pes,
                    p.report.cycles.samples_per_s(self.mhz)
                );
            }
            None => {
                let _ = writeln!(s, "No swept array matches it at {:.0} MHz.", self.mhz);
            }
        }
        s
    }

    /// The swept array of the fewest PEs that reaches the reference at the sweep's clock.
    pub fn smallest_swept_match(&self) -> Option<&SweepPoint> {
        self.points
            .iter()
            .filter(|p| p.report.cycles.samples_per_s(self.mhz) >= self.reference_samples_per_s)
            .min_by_key(|p| p.pes)
    }

    /// Resources against PEs (log scale): xc7 LUTs, FFs, DSPs, BRAMs, generic cells and ice40
    /// LUT4s where synthesized.
    pub fn resources_png(&self) -> Vec<u8> {
        let mut series = Vec::new();
        let mut add = |name: &str, t: Target, f: &dyn Fn(&Resources) -> Option<f64>| {
            let points: Vec<(f64, f64)> = self
                .points
                .iter()
                .filter_map(|p| match p.report.row(t).map(|r| &r.synthesis) {
                    Some(Synthesis::Done { resources }) => f(resources).map(|v| (p.pes as f64, v)),
                    _ => None,
                })
                .collect();
            // zero everywhere (no BRAM inferred) has no place on a log axis: the table shows it
            if points.iter().any(|p| p.1 > 0.0) {
                series.push(Series { name: name.into(), points, markers: true });
            }
        };
        add("xc7 LUTs", Target::Xc7, &|r| r.luts.map(|v| v as f64));
        add("xc7 FFs", Target::Xc7, &|r| Some(r.ffs as f64));
        add("xc7 DSP48E1", Target::Xc7, &|r| r.dsps.map(|v| v as f64));
        add("xc7 BRAM36", Target::Xc7, &|r| r.brams);
        add("generic cells", Target::Generic, &|r| Some(r.cells as f64));
        add("ice40 LUT4s", Target::Ice40, &|r| r.luts.map(|v| v as f64));
        self.against_pes("resources against PE count", "cells (log scale)", series)
    }

    /// A plot of this sweep against its PE counts, both axes logarithmic.
    fn against_pes(&self, what: &str, y_label: &str, series: Vec<Series>) -> Vec<u8> {
        let title = format!("Generated core of {}: {what}", self.base);
        let plot = LinePlot::new(title, "PEs (rows x cols)", y_label, series);
        line_plot_png(&LinePlot { log_x: true, x_ticks: Some(POWERS_OF_TWO.to_vec()), log_y: true, ..plot })
    }

    /// Training samples per second against PEs at the sweep's clock (the swept shapes), with the
    /// cycle model continued to the matching PE count, and the A100 reference as a line.
    pub fn throughput_png(&self, config: &Config) -> Result<Vec<u8>, Error> {
        let swept: Vec<(f64, f64)> =
            self.points.iter().map(|p| (p.pes as f64, p.report.cycles.samples_per_s(self.mhz))).collect();
        let last = self.points.iter().map(|p| p.pes).max().unwrap_or(1);
        let until = self.match_pes.as_ref().map_or(last, |m| m.0).max(last);
        let mut model = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let (k, n) = (config.model.n_x + config.model.n_h2, config.model.n_h1);
        for s in tiling_shapes(config, 1, k.max(n)) {
            let pes = s.rows * s.cols;
            if pes > until || !seen.insert(pes) {
                continue;
            }
            let mut c = config.clone();
            c.hardware =
                crate::config::HardwareConfig { rows: s.rows, cols: s.cols, lanes: c.hardware.lanes };
            let cycles = Cycles::of(&CoreParams::new(&c)?, c.samples_per_update());
            model.push((pes as f64, cycles.samples_per_s(self.mhz)));
        }
        model.sort_by(|a, b| a.0.total_cmp(&b.0));
        let x0 = model.first().map_or(1.0, |p| p.0);
        let x1 = model.last().map_or(until as f64, |p| p.0);
        // the swept arrays last but the reference, so that their dots lie on the model's line
        let series = vec![
            Series { name: "cycle model, any tiling".into(), points: model, markers: false },
            Series {
                name: format!("swept arrays, {:.0} MHz (assumed)", self.mhz),
                points: swept,
                markers: true,
            },
            Series {
                name: format!("A100 float training ({:.0}/s)", self.reference_samples_per_s),
                points: vec![(x0, self.reference_samples_per_s), (x1, self.reference_samples_per_s)],
                markers: false,
            },
        ];
        Ok(self.against_pes("training samples per second", "training samples/s (log scale)", series))
    }

    /// Writes `sweep.md`, `sweep.json`, `sweep_resources.png` and `sweep_throughput.png`.
    pub fn write(&self, config: &Config, out: &Path) -> Result<(), Error> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Data { origin: "sweep report".into(), message: e.to_string() })?;
        atomic_write(&out.join("sweep.md"), self.markdown().as_bytes())?;
        atomic_write(&out.join("sweep.json"), (json + "\n").as_bytes())?;
        atomic_write(&out.join("sweep_resources.png"), &self.resources_png())?;
        atomic_write(&out.join("sweep_throughput.png"), &self.throughput_png(config)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(name: &str) -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("configs/{name}.yaml"));
        Config::from_yaml_file(&path).unwrap()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fep-report-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn stat(cells: serde_json::Value) -> Value {
        let total: u64 = cells.as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
        json!({"modules": {"\\core": {}}, "design": {"num_cells": total, "num_cells_by_type": cells}})
    }

    #[test]
    fn xc7_cells_fall_into_their_columns() {
        let s = stat(json!({"LUT6": 10, "LUT2": 5, "RAM64M": 3, "SRLC32E": 2, "FDRE": 7, "FDSE": 1,
            "DSP48E1": 4, "RAMB36E1": 2, "RAMB18E1": 3, "CARRY4": 9, "MUXF7": 6}));
        let r = Resources::from_stat(Target::Xc7, &s).unwrap();
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
        let r = Resources::from_stat(Target::Ice40, &s).unwrap();
        assert_eq!((r.luts, r.ffs, r.dsps, r.brams), (Some(100), 23, Some(2), Some(1.0)));
        assert_eq!(r.other.get("SB_CARRY"), Some(&40));

        let s =
            stat(json!({"$_AND_": 50, "$_MUX_": 30, "$_DFF_P_": 4, "$_SDFFE_PP0P_": 6, "$_DLATCH_P_": 1}));
        let r = Resources::from_stat(Target::Generic, &s).unwrap();
        assert_eq!((r.ffs, r.luts, r.dsps, r.brams, r.cells), (11, None, None, None, 91));
        assert_eq!(r.other.len(), 2);
    }

    #[test]
    fn stat_without_totals_uses_its_only_module_and_refuses_several() {
        let one = json!({"modules": {"\\core": {"num_cells": 3, "num_cells_by_type": {"SB_LUT4": 3}}}});
        assert_eq!(Resources::from_stat(Target::Ice40, &one).unwrap().luts, Some(3));
        let two = json!({"modules": {"\\a": {}, "\\b": {}}});
        assert!(Resources::from_stat(Target::Ice40, &two).unwrap_err().contains("design"));
        let bad = json!({"design": {"num_cells": 1, "num_cells_by_type": {"SB_LUT4": "many"}}});
        assert!(Resources::from_stat(Target::Ice40, &bad).is_err());
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
        let r = Resources::from_stat(Target::Generic, &v).unwrap();
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

    #[test]
    fn nextpnr_report_gives_the_slowest_clock_and_the_utilisation() {
        let r = json!({"fmax": {"clk$glb": {"achieved": 219.9, "constraint": 12}, "other": {"achieved": 80.5}},
            "utilization": {"ICESTORM_LC": {"available": 5280, "used": 26}}});
        let p = PnrResult::from_report(&r).unwrap();
        assert_eq!(p.fmax_mhz, 80.5);
        assert_eq!(p.utilisation["ICESTORM_LC"], (26, 5280));
        assert!(PnrResult::from_report(&json!({"fmax": {}})).is_err());
    }

    #[test]
    fn cycles_of_the_tiny_core_as_the_cosimulation_measures_them() {
        let p = CoreParams::new(&config("tiny")).unwrap();
        let c = Cycles::of(&p, 2);
        // make cosim CONFIG=tiny: FREE 4008 + PLUS 4008 + MINUS_ACC 4151, UPDATE 39928
        assert_eq!(c.phases, 4008 + 4008 + 4151);
        assert_eq!(c.update, 39928 + UPDATE_CONSTANT_WRITES);
        assert_eq!(c.host_writes, 128);
        assert_eq!(c.per_sample, (12167 + 128) as f64 + (39928 + UPDATE_CONSTANT_WRITES) as f64 / 2.0);
        assert!((c.samples_per_s(100.0) - 1e8 / c.per_sample).abs() < 1e-9);
        assert!((c.mhz_for(c.samples_per_s(37.0)) - 37.0).abs() < 1e-9);
    }

    /// A real nextpnr-ice40 0.4 `--report` (synth/pnr_ice40.sh on an 8-bit multiply-accumulate
    /// design with 17 I/Os, which fits the UP5K).
    #[test]
    fn a_real_nextpnr_report_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nextpnr_ice40_report.json");
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let p = PnrResult::from_report(&v).unwrap();
        assert!((p.fmax_mhz - 102.48).abs() < 0.01, "{}", p.fmax_mhz);
        let (used, available) = p.utilisation["ICESTORM_LC"];
        assert!(used > 0 && available == UP5K.lcs, "{used} of {available}");
        assert_eq!(p.utilisation["ICESTORM_DSP"], (1, UP5K.dsps));
    }

    #[test]
    fn assumed_clocks_take_one_or_every_target() {
        let a = AssumedClocks::default();
        assert_eq!((a.generic, a.xc7, a.ice40), (100.0, 100.0, 25.0));
        let a = a.with_settings(&["200".into(), "ice40=12.5".into()]).unwrap();
        assert_eq!((a.generic, a.xc7, a.ice40), (200.0, 200.0, 12.5));
        for bad in ["fpga=3", "xc7=fast", "-5", "0"] {
            let e = AssumedClocks::default().with_settings(&[bad.to_string()]).unwrap_err().to_string();
            assert!(e.contains("--assumed-mhz") && e.contains(bad), "{e}");
        }
    }

    /// The port bits of the rendered tiny core.v, from its module header.
    #[test]
    fn io_bits_match_the_ports_of_the_generated_core() {
        let cfg = config("tiny");
        let files = crate::hdl::render(&cfg).unwrap();
        let core = &files.iter().find(|(n, _)| n == "core.v").unwrap().1;
        let header = core.split("module core (").nth(1).unwrap().split(");").next().unwrap();
        let mut bits = 0u64;
        for line in
            header.lines().map(str::trim).filter(|l| l.starts_with("input") || l.starts_with("output"))
        {
            bits += match line.split_once('[') {
                Some((_, range)) => {
                    let (hi, lo) = range.split_once(']').unwrap().0.split_once(':').unwrap();
                    let hi: i64 = match hi.split_once('-') {
                        Some((a, b)) => a.trim().parse::<i64>().unwrap() - b.trim().parse::<i64>().unwrap(),
                        None => hi.trim().parse().unwrap(),
                    };
                    (hi - lo.trim().parse::<i64>().unwrap() + 1) as u64
                }
                None => 1,
            };
        }
        assert_eq!(core_io_bits(&CoreParams::new(&cfg).unwrap()), bits);
        assert!(bits > UP5K.ios, "the core has more port bits ({bits}) than the UP5K SG48 has pins");
    }

    #[test]
    fn misfit_names_every_resource_over_the_device() {
        let small =
            Resources { luts: Some(100), ffs: 50, dsps: Some(1), brams: Some(0.0), ..Default::default() };
        assert!(ice40_misfit(&small, 20, &UP5K).is_empty());
        let big =
            Resources { luts: Some(9000), ffs: 6000, dsps: Some(9), brams: Some(31.0), ..Default::default() };
        let why = ice40_misfit(&big, 40, &UP5K).join("; ");
        for part in [
            "9000 LUT4s (the UP5K SG48 has 5280)",
            "6000 flip-flops",
            "9 SB_MAC16",
            "31 SB_RAM40_4K",
            "40 I/O pins",
        ] {
            assert!(why.contains(part), "{part}: {why}");
        }
    }

    /// What synth/yosys.sh keeps of the RTL it read: the tiny core's files, for every target.
    fn keep_rtl(dir: &Path, cfg: &Config) {
        for &t in Target::ALL {
            let kept = dir.join(format!("{}_rtl", t.name()));
            std::fs::create_dir_all(&kept).unwrap();
            for (name, text) in crate::hdl::render(cfg).unwrap() {
                std::fs::write(kept.join(name), text).unwrap();
            }
        }
    }

    fn write_stats(dir: &Path) {
        keep_rtl(dir, &config("tiny"));
        std::fs::write(
            dir.join("generic_cmos.json"),
            json!({"design": {"num_cells": 1000, "num_cells_by_type": {}, "estimated_num_transistors": "5400+"}})
                .to_string(),
        )
        .unwrap();
        std::fs::write(
            dir.join("generic_stat.json"),
            stat(json!({"$_AND_": 900, "$_DFF_P_": 100})).to_string(),
        )
        .unwrap();
        std::fs::write(
            dir.join("xc7_stat.json"),
            stat(json!({"LUT6": 300, "FDRE": 100, "DSP48E1": 16})).to_string(),
        )
        .unwrap();
        std::fs::write(
            dir.join("ice40_stat.json"),
            stat(json!({"SB_LUT4": 9000, "SB_DFF": 100, "SB_MAC16": 16})).to_string(),
        )
        .unwrap();
    }

    #[test]
    fn report_reads_what_make_synth_wrote_and_labels_assumed_clocks() {
        let dir = temp_dir("load");
        let path = Path::new("configs/tiny.yaml");
        let cfg = config("tiny");
        write_stats(&dir);
        let why = pnr_plan(path, &cfg, &dir, &UP5K).unwrap();
        assert!(!why.is_empty());
        let note = std::fs::read_to_string(dir.join("ice40_pnr_skipped.txt")).unwrap();
        assert!(note.contains("9000 LUT4s") && note.contains("UP5K"), "{note}");

        let r = CoreReport::load(path, &cfg, &dir, Target::ALL, &AssumedClocks::default()).unwrap();
        assert_eq!(r.targets.len(), 3);
        let xc7 = r.row(Target::Xc7).unwrap();
        assert_eq!(xc7.clock, Clock::Assumed { mhz: 100.0 });
        assert!((xc7.samples_per_s - 1e8 / r.cycles.per_sample).abs() < 1e-6);
        let md = r.markdown();
        assert!(
            md.contains(
                "| xc7 | `synth_xilinx -family xc7 -noiopad` | 416 | 300 | 100 | 16 | 0 | 100 assumed |"
            ),
            "{md}"
        );
        assert!(md.contains("25 assumed") && md.contains("not run: does not fit"), "{md}");
        assert!(md.contains("5400+ transistors"), "{md}");

        // results of other RTL are refused, naming the file and the command
        let pe = dir.join("xc7_rtl/pe.v");
        let text = std::fs::read_to_string(&pe).unwrap();
        std::fs::write(&pe, text.replace("Q(16,14)", "Q(16,12)")).unwrap();
        let e = CoreReport::load(path, &cfg, &dir, Target::ALL, &AssumedClocks::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("xc7_rtl/pe.v") && e.contains("other RTL") && e.contains("make synth CONFIG=tiny"),
            "{e}"
        );
        std::fs::write(&pe, text).unwrap();

        // a timed-out target shows its note; a missing one is an error naming the file and the command
        std::fs::remove_file(dir.join("xc7_stat.json")).unwrap();
        std::fs::write(dir.join("xc7_timeout.txt"), "Yosys did not finish within 60 s\n").unwrap();
        let r = CoreReport::load(path, &cfg, &dir, Target::ALL, &AssumedClocks::default()).unwrap();
        assert!(r
            .markdown()
            .contains("| xc7 | `synth_xilinx -family xc7 -noiopad` | Yosys did not finish within 60 s |"));
        std::fs::remove_file(dir.join("generic_stat.json")).unwrap();
        let e = CoreReport::load(path, &cfg, &dir, Target::ALL, &AssumedClocks::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("generic_stat.json") && e.contains("make synth CONFIG=tiny"), "{e}");
        let e = CoreReport::load(path, &cfg, &dir.join("none"), &[Target::Ice40], &AssumedClocks::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ice40_pnr.json") && e.contains("ice40_pnr_skipped.txt") && e.contains("make synth"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_placed_core_is_reported_at_its_fmax() {
        let dir = temp_dir("pnr");
        write_stats(&dir);
        std::fs::write(
            dir.join("ice40_pnr.json"),
            json!({"fmax": {"clk": {"achieved": 31.25}}, "utilization": {"ICESTORM_LC": {"used": 10, "available": 5280}}})
                .to_string(),
        )
        .unwrap();
        let cfg = config("tiny");
        let r =
            CoreReport::load(Path::new("x/tiny.yaml"), &cfg, &dir, Target::ALL, &AssumedClocks::default())
                .unwrap();
        let ice = r.row(Target::Ice40).unwrap();
        assert_eq!(ice.clock, Clock::Nextpnr { mhz: 31.25 });
        assert!(r.markdown().contains("31.2 (nextpnr Fmax)"), "{}", r.markdown());
        assert_eq!(r.row(Target::Xc7).unwrap().clock, Clock::Assumed { mhz: 100.0 });
        // a netlist that fits removes a stale skip note
        std::fs::write(dir.join("ice40_pnr_skipped.txt"), "old").unwrap();
        std::fs::write(dir.join("ice40_stat.json"), stat(json!({"SB_LUT4": 90, "SB_DFF": 10})).to_string())
            .unwrap();
        let tiny_io = core_io_bits(&CoreParams::new(&cfg).unwrap());
        let why =
            pnr_plan(Path::new("x/tiny.yaml"), &cfg, &dir, &Ice40Device { ios: tiny_io, ..UP5K }).unwrap();
        assert!(why.is_empty(), "{why:?}");
        assert!(!dir.join("ice40_pnr_skipped.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_shape_without_synthesis_gets_the_cycle_model_and_the_command() {
        let cfg = config("tiny");
        let dir = temp_dir("model-only").join("tiny_8x8");
        let path = Path::new("runs/synth/sweep/tiny_8x8.yaml");
        let r =
            CoreReport::load_or_model(path, &cfg, &dir, &[Target::Xc7], &AssumedClocks::default()).unwrap();
        assert_eq!(r.cycles, Cycles::of(&CoreParams::new(&cfg).unwrap(), cfg.samples_per_update()));
        let row = r.row(Target::Xc7).unwrap();
        assert_eq!(row.clock, Clock::Assumed { mhz: 100.0 });
        let Synthesis::NotSynthesized { command } = &row.synthesis else { panic!("{:?}", row.synthesis) };
        assert!(command.contains("CONFIG_FILE=runs/synth/sweep/tiny_8x8.yaml"), "{command}");
        assert!(r.markdown().contains(command.as_str()));
        // an existing folder without results is still an error that names the missing file
        std::fs::create_dir_all(&dir).unwrap();
        let e = CoreReport::load_or_model(path, &cfg, &dir, &[Target::Xc7], &AssumedClocks::default());
        assert!(e.unwrap_err().to_string().contains("xc7_rtl"));
    }

    #[test]
    fn make_command_names_the_config_file_when_it_is_not_in_configs() {
        assert_eq!(make_command(Path::new("configs/paper.yaml")), "make synth CONFIG=paper");
        assert_eq!(
            make_command(Path::new("runs/synth/sweep/paper_4x4.yaml")),
            "make synth CONFIG=paper_4x4 CONFIG_FILE=runs/synth/sweep/paper_4x4.yaml"
        );
        assert_eq!(default_synth_dir(Path::new("configs/small.yaml")), Path::new("runs/synth/small"));
    }

    #[test]
    fn sweep_shapes_tile_the_network_or_are_refused() {
        let paper = config("paper");
        let shapes = tiling_shapes(&paper, 2, 16);
        // rows in {2, 3, 4, 6, 8, 12, 16} (divide 192), cols in {2, 4, 8, 16} (divide 128), but
        // not 12 x 16 and 16 x 16: more than min(K, N) = 128 PEs
        assert_eq!(shapes.len(), 7 * 4 - 2);
        assert!(!shapes.contains(&Shape { rows: 16, cols: 16 }));
        assert!(
            shapes.contains(&Shape { rows: 12, cols: 8 }) && !shapes.contains(&Shape { rows: 5, cols: 8 })
        );
        assert_eq!("16x8".parse::<Shape>().unwrap(), Shape { rows: 16, cols: 8 });
        assert!("16".parse::<Shape>().is_err());
        let copies = sweep_configs("paper", &paper, &[Shape { rows: 8, cols: 16 }]).unwrap();
        assert_eq!(copies[0].0, "paper_8x16");
        assert_eq!((copies[0].1.hardware.rows, copies[0].1.hardware.cols), (8, 16));
        assert_eq!(copies[0].1.model, paper.model);
        let e = sweep_configs("paper", &paper, &[Shape { rows: 7, cols: 8 }]).unwrap_err().to_string();
        assert!(e.contains("7x8") && e.contains("hardware.rows"), "{e}");
        let e = sweep_configs("paper", &paper, &[Shape { rows: 16, cols: 16 }]).unwrap_err().to_string();
        assert!(e.contains("16x16") && e.contains("hardware.rows"), "{e}");

        let dir = temp_dir("copies");
        let paths = write_sweep_configs(&dir, &copies).unwrap();
        let back = Config::from_yaml_file(&paths[0]).unwrap();
        assert_eq!(back, copies[0].1, "the copy reads back as the same config");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn matching_pe_count_is_the_smallest_tiling_that_reaches_the_rate() {
        let paper = config("paper");
        let rate_at = |pes_rows: usize, cols: usize, mhz: f64| {
            let mut c = paper.clone();
            c.hardware = crate::config::HardwareConfig { rows: pes_rows, cols, lanes: 1 };
            Cycles::of(&CoreParams::new(&c).unwrap(), c.samples_per_update()).samples_per_s(mhz)
        };
        // at most min(K, N) = 128 PEs: at 100 MHz no array reaches the A100; at 1 GHz one does
        assert_eq!(matching_pes(&paper, 100.0, A100_SAMPLES_PER_S).unwrap(), None);
        let (pes, shape, rate) = matching_pes(&paper, 1000.0, A100_SAMPLES_PER_S).unwrap().unwrap();
        assert_eq!(shape.rows * shape.cols, pes);
        assert!(pes <= 128);
        assert!(rate >= A100_SAMPLES_PER_S && (rate - rate_at(shape.rows, shape.cols, 1000.0)).abs() < 1e-9);
        for s in tiling_shapes(&paper, 1, 192).into_iter().filter(|s| s.rows * s.cols <= pes) {
            let r = rate_at(s.rows, s.cols, 1000.0);
            if s.rows * s.cols < pes {
                assert!(r < A100_SAMPLES_PER_S, "{s} is smaller and fast enough");
            } else {
                assert!(r <= rate, "{s} has as many PEs and is faster than {shape}");
            }
        }
        assert!(tiling_shapes(&paper, 1, 192).iter().all(|s| s.rows * s.cols <= 128));
        // the paper's 8 x 8 array at 100 MHz is far from it; one weight per PE cannot reach 1e9/s
        assert!(rate_at(8, 8, 100.0) < A100_SAMPLES_PER_S / 3.0);
        assert_eq!(matching_pes(&paper, 100.0, 1e9).unwrap(), None);
    }

    #[test]
    fn sweep_names_the_smallest_swept_array_that_matches_with_its_resources() {
        let tiny = config("tiny");
        let dir = temp_dir("sweep-match");
        write_stats(&dir);
        let path = Path::new("configs/tiny.yaml");
        let own = CoreReport::load(path, &tiny, &dir, &[Target::Xc7], &AssumedClocks::default()).unwrap();
        // tiny has at most 16 PEs (min(K, N)): the other point is the smaller 2 x 2 array
        let mut narrow = tiny.clone();
        narrow.hardware = crate::config::HardwareConfig { rows: 2, cols: 2, lanes: 1 };
        let narrow_path = Path::new("runs/synth/sweep/tiny_2x2.yaml");
        let (missing, xc7) = (dir.join("tiny_2x2"), [Target::Xc7]);
        let narrow =
            CoreReport::load_or_model(narrow_path, &narrow, &missing, &xc7, &AssumedClocks::default())
                .unwrap();
        let (slow, fast) = (narrow.cycles.per_sample, own.cycles.per_sample);
        assert!(fast < slow);
        let points = vec![(Shape { rows: 2, cols: 2 }, narrow), (Shape { rows: 4, cols: 4 }, own)];
        // the clock at which each array reaches the A100's rate, in MHz
        let (mhz_slow, mhz_fast) = (A100_SAMPLES_PER_S * slow / 1e6, A100_SAMPLES_PER_S * fast / 1e6);
        let at = |mhz: f64| SweepReport::new("tiny", &tiny, points.clone(), mhz).unwrap();

        let both = at(mhz_slow * 1.01);
        assert_eq!(both.smallest_swept_match().unwrap().shape, "2x2");
        assert!(both.markdown().contains("matches it: 2x2 (4 PEs), not synthesized"), "{}", both.markdown());
        let own_only = at((mhz_fast + mhz_slow) / 2.0);
        assert_eq!(own_only.smallest_swept_match().unwrap().shape, "4x4");
        let md = own_only.markdown();
        assert!(md.contains("matches it: 4x4 (16 PEs), 300 xc7 LUTs, 100 FFs, 16 DSPs"), "{md}");
        let none = at(mhz_fast * 0.99);
        assert!(none.smallest_swept_match().is_none());
        assert!(none.markdown().contains("No swept array matches it"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
