//! The report of `make synth`: resources and training throughput of the generated core.
//!
//! `make synth CONFIG=X` renders the core of `configs/X.yaml` into `runs/synth/X/rtl` and runs
//! the Yosys scripts of `synth/` on it, one per [`Target`]; each writes `<target>_stat.json`
//! (`stat -json`). For iCE40 it then asks `floweqprop report --pnr-plan` whether the netlist fits
//! the place-and-route device ([`Ice40Device`]): if so nextpnr-ice40 writes `ice40_pnr.json`
//! (Fmax, utilisation), if not the reason goes to `ice40_pnr_skipped.txt`. A synthesis stopped by
//! its timeout leaves `<target>_timeout.txt`. This module reads those files ([`CoreReport::load`])
//! and adds the cycle model of the generator ([`Cycles`], which the cosimulation measures):
//! cycles per training sample and samples per second, at the nextpnr Fmax where there is one,
//! otherwise at a clock that the table labels "assumed".

use super::nextpnr::PnrResult;
use super::yosys::{transistors, Resources, Target};
use super::{check_kept_rtl, read_json_from, A100_SAMPLES_PER_S};
use crate::choice::Choice;
use crate::config::Config;
use crate::error::Error;
use crate::hdl::cycles::Cycles;
use crate::hdl::CoreParams;
use crate::io::atomic_write;
use serde::Serialize;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where `make synth CONFIG=X` writes: `runs/synth/X`.
pub const SYNTH_ROOT: &str = "runs/synth";

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

fn read_json(path: &Path, config: &Path) -> Result<Value, Error> {
    read_json_from(path, &make_command(config))
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
    let mut resources = Resources::from_stat(target, &json, &stat)?;
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
        let result = PnrResult::from_report(&json, &report)?;
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

/// Where a config's synthesis is (`make synth`'s folder), and whether it must be there.
#[derive(Debug, Clone, Copy)]
pub enum SynthDir<'a> {
    /// Written by `make synth`: a missing file is an error naming the command.
    Required(&'a Path),
    /// Read when the folder exists; otherwise the cycle model alone, every target
    /// `NotSynthesized` (the sweep's shapes that have no synthesis yet).
    IfPresent(&'a Path),
}

impl CoreReport {
    /// The report of `config` (read from `config_path`) for `targets`: one row per target, the
    /// synthesis `make synth` wrote into the [`SynthDir`] (or, where there is none, the command
    /// that writes it), the clock and the samples/s at that clock.
    pub fn load(
        config_path: &Path,
        config: &Config,
        synth: SynthDir<'_>,
        targets: &[Target],
        assumed: &AssumedClocks,
    ) -> Result<CoreReport, Error> {
        let (synth_dir, synthesized) = match synth {
            SynthDir::Required(dir) => (dir, true),
            SynthDir::IfPresent(dir) => (dir, dir.exists()),
        };
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
             measures) + {} (host writes of x_t and u) + {} / {} (UPDATE and its constant writes, once \
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::{stat, temp_dir, write_stats};
    use serde_json::json;

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
        let cfg = Config::shipped("tiny");
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

    #[test]
    fn report_reads_what_make_synth_wrote_and_labels_assumed_clocks() {
        let dir = temp_dir("load");
        let path = Path::new("configs/tiny.yaml");
        let cfg = Config::shipped("tiny");
        write_stats(&dir);
        let why = pnr_plan(path, &cfg, &dir, &UP5K).unwrap();
        assert!(!why.is_empty());
        let note = std::fs::read_to_string(dir.join("ice40_pnr_skipped.txt")).unwrap();
        assert!(note.contains("9000 LUT4s") && note.contains("UP5K"), "{note}");

        let r =
            CoreReport::load(path, &cfg, SynthDir::Required(&dir), Target::ALL, &AssumedClocks::default())
                .unwrap();
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
        let e =
            CoreReport::load(path, &cfg, SynthDir::Required(&dir), Target::ALL, &AssumedClocks::default())
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
        let r =
            CoreReport::load(path, &cfg, SynthDir::Required(&dir), Target::ALL, &AssumedClocks::default())
                .unwrap();
        assert!(r
            .markdown()
            .contains("| xc7 | `synth_xilinx -family xc7 -noiopad` | Yosys did not finish within 60 s |"));
        std::fs::remove_file(dir.join("generic_stat.json")).unwrap();
        let e =
            CoreReport::load(path, &cfg, SynthDir::Required(&dir), Target::ALL, &AssumedClocks::default())
                .unwrap_err()
                .to_string();
        assert!(e.contains("generic_stat.json") && e.contains("make synth CONFIG=tiny"), "{e}");
        let e = CoreReport::load(
            path,
            &cfg,
            SynthDir::Required(&dir.join("none")),
            &[Target::Ice40],
            &AssumedClocks::default(),
        )
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
        let cfg = Config::shipped("tiny");
        let r = CoreReport::load(
            Path::new("x/tiny.yaml"),
            &cfg,
            SynthDir::Required(&dir),
            Target::ALL,
            &AssumedClocks::default(),
        )
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
        let cfg = Config::shipped("tiny");
        let dir = temp_dir("model-only").join("tiny_8x8");
        let path = Path::new("runs/synth/sweep/tiny_8x8.yaml");
        let r = CoreReport::load(
            path,
            &cfg,
            SynthDir::IfPresent(&dir),
            &[Target::Xc7],
            &AssumedClocks::default(),
        )
        .unwrap();
        assert_eq!(r.cycles, Cycles::of(&CoreParams::new(&cfg).unwrap(), cfg.samples_per_update()));
        let row = r.row(Target::Xc7).unwrap();
        assert_eq!(row.clock, Clock::Assumed { mhz: 100.0 });
        let Synthesis::NotSynthesized { command } = &row.synthesis else { panic!("{:?}", row.synthesis) };
        assert!(command.contains("CONFIG_FILE=runs/synth/sweep/tiny_8x8.yaml"), "{command}");
        assert!(r.markdown().contains(command.as_str()));
        // an existing folder without results is still an error that names the missing file
        std::fs::create_dir_all(&dir).unwrap();
        let e = CoreReport::load(
            path,
            &cfg,
            SynthDir::IfPresent(&dir),
            &[Target::Xc7],
            &AssumedClocks::default(),
        );
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
}
