//! `floweqprop report --fpga-dir DIR`: what the open ECP5 flow measured (the issue "A core that
//! fits a real FPGA": reports from measurement).
//!
//! `make fpga CONFIG=X` (and `make fpga-smoke`, the flow's small test design) runs
//! `synth/fpga.sh` in `runs/fpga/X`: Yosys `synth_ecp5` (`synth/ecp5.ys`: `ecp5_stat.json`, and
//! `ecp5_memories.json` / `ecp5_ffram.json`, the memories before and after block-RAM mapping),
//! nextpnr-ecp5 with a clock constraint (`nextpnr_report.json`, its `--report`) and ecppack (the
//! bitstream), each stage timed into `flow.json` (wall time, peak memory). This module reads those
//! files ([`FpgaReport::load`]): per resource used / available / percent, the Fmax of every clock
//! against its constraint, the memories that became block RAM, the flow's cost, and, for a core
//! config, samples/s at the measured Fmax from the cycle model ([`Cycles`]) beside the A100
//! reference. No clock is assumed here: the throughput is at nextpnr's Fmax or not given.

use super::nextpnr::{ClockFmax, PnrResult};
use super::synth::config_name;
use super::{check_kept_rtl, read_json_from, A100_SAMPLES_PER_S};
use crate::config::Config;
use crate::error::Error;
use crate::hdl::cycles::Cycles;
use crate::hdl::CoreParams;
use crate::io::atomic_write;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where `make fpga CONFIG=X` writes: `runs/fpga/X`.
pub const FPGA_ROOT: &str = "runs/fpga";

/// The resources of the report: its name and nextpnr-ecp5's bel type.
pub const ECP5_RESOURCES: [(&str, &str); 5] = [
    ("LUT4", "TRELLIS_COMB"),
    ("FF", "TRELLIS_FF"),
    ("EBR (DP16KD, 18 kbit)", "DP16KD"),
    ("MULT18 (MULT18X18D)", "MULT18X18D"),
    ("I/O", "TRELLIS_IO"),
];

/// The part of a nextpnr-ecp5 device flag: `85k` -> `LFE5U-85F`, `um5g-45k` -> `LFE5UM5G-45F`.
pub fn part_name(device: &str) -> String {
    let (family, size) = match device.rsplit_once('-') {
        Some((f, s)) => (format!("LFE5{}", f.to_uppercase()), s),
        None => ("LFE5U".to_string(), device),
    };
    format!("{family}-{}F", size.trim_end_matches(['k', 'K']))
}

/// The folder `make fpga` writes for `config`: `runs/fpga/<name>`.
pub fn default_fpga_dir(config: &Path) -> PathBuf {
    Path::new(FPGA_ROOT).join(config_name(config))
}

/// The make command that runs the flow on `config`.
pub fn fpga_command(config: &Path) -> String {
    let name = config_name(config);
    if config == Path::new("configs").join(format!("{name}.yaml")) {
        format!("make fpga CONFIG={name}")
    } else {
        format!("make fpga CONFIG={name} CONFIG_FILE={}", config.display())
    }
}

/// One resource: used / available on the device, from nextpnr's `utilization`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Utilisation {
    pub resource: String,
    pub bel: String,
    pub used: u64,
    pub available: u64,
    pub percent: f64,
}

/// The [`ECP5_RESOURCES`] of a nextpnr-ecp5 report (read from `origin`); a missing one is an
/// error naming the file and the field.
pub fn ecp5_utilisation(p: &PnrResult, origin: &Path) -> Result<Vec<Utilisation>, Error> {
    ECP5_RESOURCES
        .iter()
        .map(|&(resource, bel)| {
            let &(used, available) = p
                .utilisation
                .get(bel)
                .ok_or_else(|| Error::data(origin, format!("no \"utilization.{bel}\"")))?;
            let percent = if available > 0 { 100.0 * used as f64 / available as f64 } else { 0.0 };
            Ok(Utilisation { resource: resource.into(), bel: bel.into(), used, available, percent })
        })
        .collect()
}

/// Yosys's view of the netlist (`stat -json` after `synth_ecp5`) and of its memories.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct YosysCells {
    pub luts: u64,
    pub ffs: u64,
    pub dp16kd: u64,
    pub mult18: u64,
    /// LUT RAM cells (TRELLIS_DPR16X4, 16 x 4 bits each).
    pub lutram: u64,
    /// Memories Yosys inferred (`$mem_v2` cells before block-RAM mapping).
    pub memories_inferred: u64,
    /// Of those, the memories neither block nor LUT RAM took: flip-flops after map_ffram.
    pub memories_to_ffs: u64,
    /// Bits of the top module's ports.
    pub port_bits: u64,
    /// Other cell types (PFUMX, L6MUX21, CCU2C carry chains, ...).
    pub other: BTreeMap<String, u64>,
}

/// `design.num_cells_by_type` of a `stat -json` (a flattened design: its totals), read from `origin`.
fn cells_by_type(stat: &Value, origin: &Path) -> Result<BTreeMap<String, u64>, Error> {
    let types = stat
        .get("design")
        .and_then(|d| d.get("num_cells_by_type"))
        .and_then(Value::as_object)
        .ok_or_else(|| Error::data(origin, "no \"design.num_cells_by_type\""))?;
    types
        .iter()
        .map(|(t, n)| {
            n.as_u64().map(|n| (t.clone(), n)).ok_or_else(|| {
                Error::data(origin, format!("\"design.num_cells_by_type.{t}\" is not a count"))
            })
        })
        .collect()
}

impl YosysCells {
    /// From the three stats of synth/ecp5.ys: the netlist, before and after map_ram. Errors name
    /// the file and the field.
    pub fn from_stats(dir: &Path, command: &str) -> Result<YosysCells, Error> {
        let read = |file: &str| -> Result<(PathBuf, Value), Error> {
            let path = dir.join(file);
            read_json_from(&path, command).map(|v| (path, v))
        };
        let (path, stat) = read("ecp5_stat.json")?;
        let mut y = YosysCells {
            port_bits: stat
                .get("design")
                .and_then(|d| d.get("num_port_bits"))
                .and_then(Value::as_u64)
                .ok_or_else(|| Error::data(&path, "no count \"design.num_port_bits\""))?,
            ..YosysCells::default()
        };
        for (cell, n) in cells_by_type(&stat, &path)? {
            match cell.as_str() {
                "LUT4" => y.luts += n,
                "TRELLIS_FF" => y.ffs += n,
                "DP16KD" => y.dp16kd += n,
                "MULT18X18D" => y.mult18 += n,
                "TRELLIS_DPR16X4" => y.lutram += n,
                _ => {
                    y.other.insert(cell, n);
                }
            }
        }
        let mems = |file: &str| -> Result<u64, Error> {
            let (path, stat) = read(file)?;
            Ok(cells_by_type(&stat, &path)?.get("$mem_v2").copied().unwrap_or(0))
        };
        y.memories_inferred = mems("ecp5_memories.json")?;
        y.memories_to_ffs = mems("ecp5_ffram.json")?;
        Ok(y)
    }
}

/// One stage of the flow, as synth/measure.py recorded it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    pub stage: String,
    pub seconds: f64,
    pub peak_rss_mb: f64,
    pub exit: i64,
    pub timed_out: bool,
}

/// `flow.json`: what synth/fpga.sh ran, with which tools, and what each stage cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    pub top: String,
    /// nextpnr-ecp5's device flag (`85k`).
    pub device: String,
    pub package: String,
    /// The `--freq` constraint, MHz.
    pub freq_mhz: f64,
    pub lpf: Option<String>,
    /// User I/O pins of the package (synth/fpga.sh's table); nextpnr's `TRELLIS_IO` "available"
    /// counts the die's pads instead.
    pub package_pins: Option<u64>,
    pub tools: Vec<String>,
    /// What synth/floorplan.py locked before placement (absent in flows that predate it).
    pub floorplan: Option<String>,
    pub stages: Vec<Stage>,
}

impl Flow {
    /// From synth/fpga.sh's `flow.json` (read from `origin`); an error names the file and the field.
    pub fn from_json(v: &Value, origin: &Path) -> Result<Flow, Error> {
        let bad = |m: String| Error::data(origin, m);
        let text = |v: &Value, f: &str, what: &str| {
            v.get(f)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(format!("no string \"{what}\"")))
        };
        let num = |v: &Value, f: &str, what: &str| {
            v.get(f).and_then(Value::as_f64).ok_or_else(|| bad(format!("no number \"{what}\"")))
        };
        let stages =
            v.get("stages").and_then(Value::as_array).ok_or_else(|| bad("no \"stages\" list".into()))?;
        let stages = stages
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let f = |x: &str| format!("stages[{i}].{x}");
                Ok(Stage {
                    stage: text(s, "stage", &f("stage"))?,
                    seconds: num(s, "seconds", &f("seconds"))?,
                    peak_rss_mb: num(s, "peak_rss_mb", &f("peak_rss_mb"))?,
                    exit: s
                        .get("exit")
                        .and_then(Value::as_i64)
                        .ok_or_else(|| bad(format!("no number \"{}\"", f("exit"))))?,
                    timed_out: s.get("timed_out").and_then(Value::as_bool).unwrap_or(false),
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok(Flow {
            top: text(v, "top", "top")?,
            device: text(v, "device", "device")?,
            package: text(v, "package", "package")?,
            freq_mhz: num(v, "freq_mhz", "freq_mhz")?,
            lpf: v.get("lpf").and_then(Value::as_str).map(str::to_string),
            package_pins: v.get("package_pins").and_then(Value::as_u64),
            tools: v
                .get("tools")
                .and_then(Value::as_array)
                .map(|t| t.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            floorplan: v.get("floorplan").and_then(Value::as_str).map(str::to_string),
            stages,
        })
    }

    /// Wall time of every stage, seconds.
    pub fn wall_s(&self) -> f64 {
        self.stages.iter().map(|s| s.seconds).sum()
    }

    /// The largest peak memory of a stage, MiB.
    pub fn peak_mb(&self) -> f64 {
        self.stages.iter().map(|s| s.peak_rss_mb).fold(0.0, f64::max)
    }

    fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.stage == name)
    }
}

/// The bitstream of the flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Bitstream {
    /// ecppack wrote it (`bytes` when the file is there to measure).
    Written { file: String, bytes: Option<u64> },
    /// Placed and routed out of context: the reason (bitstream_skipped.txt).
    Skipped { reason: String },
}

/// Training throughput of a core at the measured Fmax.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Throughput {
    pub config: PathBuf,
    pub network: String,
    pub rows: usize,
    pub cols: usize,
    pub cycles: Cycles,
    /// nextpnr's Fmax (the slowest clock), MHz.
    pub fmax_mhz: f64,
    pub samples_per_s: f64,
    pub reference_samples_per_s: f64,
    /// The clock at which the core would match the reference, MHz.
    pub mhz_for_reference: f64,
}

/// The report of one run of the flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FpgaReport {
    pub name: String,
    pub dir: PathBuf,
    pub part: String,
    pub flow: Flow,
    pub clocks: Vec<ClockFmax>,
    pub fmax_mhz: f64,
    pub resources: Vec<Utilisation>,
    pub yosys: YosysCells,
    pub bitstream: Bitstream,
    pub throughput: Option<Throughput>,
}

impl FpgaReport {
    /// Reads what synth/fpga.sh wrote into `dir`. With `config` (its path and contents), checks
    /// that `dir/rtl` is the core the templates render for it now and adds the throughput at the
    /// measured Fmax. Every missing file or field is an error naming the file (and the field).
    pub fn load(dir: &Path, config: Option<(&Path, &Config)>) -> Result<FpgaReport, Error> {
        let command = match config {
            Some((path, _)) => fpga_command(path),
            None => format!("synth/fpga.sh {} TOP DEVICE PACKAGE FREQ TIMEOUT", dir.display()),
        };
        let flow_path = dir.join("flow.json");
        let flow = Flow::from_json(&read_json_from(&flow_path, &command)?, &flow_path)?;
        if let Some(s) = flow.stages.iter().find(|s| s.exit != 0) {
            let why = if s.timed_out { "timed out" } else { "failed" };
            return Err(Error::data(
                &flow_path,
                format!("the {} stage {why} (exit {}): rerun `{command}`", s.stage, s.exit),
            ));
        }
        let report_path = dir.join("nextpnr_report.json");
        let pnr = PnrResult::from_report(&read_json_from(&report_path, &command)?, &report_path)?;
        let resources = ecp5_utilisation(&pnr, &report_path)?;
        let yosys = YosysCells::from_stats(dir, &command)?;
        let skipped = dir.join("bitstream_skipped.txt");
        let bitstream = if skipped.exists() {
            let text = std::fs::read_to_string(&skipped).map_err(|e| Error::io(&skipped, e))?;
            Bitstream::Skipped { reason: text.lines().next().unwrap_or("").trim().to_string() }
        } else if flow.stage("ecppack").is_some() {
            let file = format!("{}.bit", flow.top);
            let bytes = std::fs::metadata(dir.join(&file)).ok().map(|m| m.len());
            Bitstream::Written { file, bytes }
        } else {
            return Err(Error::data(&flow_path, format!("no ecppack stage and no {}", skipped.display())));
        };
        let throughput = match config {
            None => None,
            Some((path, cfg)) => {
                let rtl = crate::hdl::render(cfg)?;
                check_kept_rtl(&dir.join("rtl"), "the ECP5 flow", path, &command, &rtl)?;
                let p = CoreParams::new(cfg)?;
                let cycles = Cycles::of(&p, cfg.samples_per_update());
                Some(Throughput {
                    config: path.to_path_buf(),
                    network: format!("{}-{}-{}", p.n_x, p.n_h1, p.n_h2),
                    rows: p.rows,
                    cols: p.cols,
                    samples_per_s: cycles.samples_per_s(pnr.fmax_mhz),
                    mhz_for_reference: cycles.mhz_for(A100_SAMPLES_PER_S),
                    cycles,
                    fmax_mhz: pnr.fmax_mhz,
                    reference_samples_per_s: A100_SAMPLES_PER_S,
                })
            }
        };
        let name = match config {
            Some((path, _)) => config_name(path),
            None => dir.file_name().map_or_else(|| flow.top.clone(), |n| n.to_string_lossy().into_owned()),
        };
        Ok(FpgaReport {
            name,
            dir: dir.to_path_buf(),
            part: part_name(&flow.device),
            clocks: pnr.clocks,
            fmax_mhz: pnr.fmax_mhz,
            resources,
            yosys,
            bitstream,
            throughput,
            flow,
        })
    }

    pub fn resource(&self, bel: &str) -> Option<&Utilisation> {
        self.resources.iter().find(|r| r.bel == bel)
    }

    /// The report as Markdown: the device and tools, the resource and clock tables, Yosys's
    /// cells and memories, the bitstream, the throughput at the measured Fmax and the flow's cost.
    pub fn markdown(&self) -> String {
        let f = &self.flow;
        let mut s = format!(
            "## {}: ECP5 {} ({}), top `{}`, constrained to {} MHz\n\n",
            self.name, self.part, f.package, f.top, f.freq_mhz
        );
        let _ = writeln!(
            s,
            "Measured by the open flow ({}): `synth_ecp5`, `nextpnr-ecp5 --{} --package {} --freq {}`{}, \
             `ecppack`; nextpnr's own report is `nextpnr_report.json`.\n",
            if f.tools.is_empty() { "tool versions not recorded".to_string() } else { f.tools.join(", ") },
            f.device,
            f.package,
            f.freq_mhz,
            f.lpf.as_ref().map_or(String::new(), |l| format!(" --lpf {l}"))
        );
        if let Some(fp) = &f.floorplan {
            let _ = writeln!(s, "Floorplan: {fp}.\n");
        }
        s += "| resource | nextpnr bel | used | available | used % |\n|---|---|---:|---:|---:|\n";
        for r in &self.resources {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {:.1}% |",
                r.resource, r.bel, r.used, r.available, r.percent
            );
        }
        if let Some(pins) = f.package_pins {
            let _ = writeln!(
                s,
                "\nI/O: nextpnr's available `TRELLIS_IO` are the die's pads; the {} has {pins} user I/O pins, \
                 of which the design's {} port bits take {:.1}%.",
                f.package,
                self.yosys.port_bits,
                100.0 * self.yosys.port_bits as f64 / pins as f64
            );
        }
        s += "\n| clock net | Fmax MHz (nextpnr) | constraint MHz | |\n|---|---:|---:|---|\n";
        for c in &self.clocks {
            let verdict = match c.passes() {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "no constraint",
            };
            let constraint = c.constraint_mhz.map_or("-".to_string(), |m| format!("{m}"));
            let _ = writeln!(s, "| `{}` | {:.2} | {constraint} | {verdict} |", c.net, c.achieved_mhz);
        }
        let y = &self.yosys;
        let other = y.other.iter().map(|(k, v)| format!("{v} {k}")).collect::<Vec<_>>().join(", ");
        let _ = writeln!(
            s,
            "\nYosys (`stat` after `synth_ecp5`): {} LUT4, {} TRELLIS_FF, {} DP16KD, {} MULT18X18D, {} LUT RAM \
             (TRELLIS_DPR16X4){}; {} top-level port bits.",
            y.luts,
            y.ffs,
            y.dp16kd,
            y.mult18,
            y.lutram,
            if other.is_empty() { String::new() } else { format!(", and {other}") },
            y.port_bits
        );
        let ebr = self.resource("DP16KD").map_or(0, |r| r.used);
        let _ = write!(
            s,
            "Memories: {} inferred; {} DP16KD block RAMs in Yosys's netlist, {} placed by nextpnr; ",
            y.memories_inferred, y.dp16kd, ebr
        );
        if y.memories_to_ffs == 0 {
            s += "no memory was left to flip-flops.\n\n";
        } else {
            let _ = writeln!(
                s,
                "**{} memories fit neither block nor LUT RAM and became flip-flops** \
                 (`debug memory_libmap -lib +/lattice/brams.txt` says why).\n",
                y.memories_to_ffs
            );
        }
        match &self.bitstream {
            Bitstream::Written { file, bytes } => {
                let size = bytes.map_or(String::new(), |b| format!(", {b} bytes"));
                let pins = if f.lpf.is_some() {
                    "pins from the LPF"
                } else {
                    "no LPF: nextpnr chose the pads, and may use pads this package does not bond; \
                     a board needs its pin assignment, LPF=file.lpf"
                };
                let _ = writeln!(s, "Bitstream: `{file}` (ecppack{size}; {pins}).\n");
            }
            Bitstream::Skipped { reason } => {
                let _ = writeln!(s, "Bitstream: none: {reason}.\n");
            }
        }
        match &self.throughput {
            Some(t) => {
                let c = &t.cycles;
                let _ = writeln!(
                    s,
                    "Training throughput of the {} network on {} x {} PEs at the measured Fmax: {:.1} cycles per \
                     sample (the generator's cycle model: {} phases + {} host writes + {} / {} UPDATE) at {:.2} MHz \
                     = **{:.1} samples/s**, {:.3}x the A100 reference ({:.0} samples/s, the paper's float training), \
                     which this core would match at {:.1} MHz.\n",
                    t.network,
                    t.rows,
                    t.cols,
                    c.per_sample,
                    c.phases,
                    c.host_writes,
                    c.update,
                    c.batch,
                    t.fmax_mhz,
                    t.samples_per_s,
                    t.samples_per_s / t.reference_samples_per_s,
                    t.reference_samples_per_s,
                    t.mhz_for_reference
                );
            }
            None => s += "Not a core config: no training throughput.\n\n",
        }
        s += "| flow stage | wall s | peak MiB |\n|---|---:|---:|\n";
        for st in &f.stages {
            let _ = writeln!(s, "| {} | {:.1} | {:.0} |", st.stage, st.seconds, st.peak_rss_mb);
        }
        let _ = writeln!(s, "| total | {:.1} | {:.0} (largest) |", f.wall_s(), f.peak_mb());
        s
    }

    /// Writes `report.md`, `report.json` and a copy of nextpnr's own `nextpnr_report.json` into `out`.
    pub fn write(&self, out: &Path) -> Result<(), Error> {
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Data { origin: "report".into(), message: e.to_string() })?;
        let src = self.dir.join("nextpnr_report.json");
        let pnr = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        atomic_write(&out.join("nextpnr_report.json"), &pnr)?;
        atomic_write(&out.join("report.md"), self.markdown().as_bytes())?;
        atomic_write(&out.join("report.json"), (json + "\n").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What `make fpga-smoke` wrote for tests/data/ecp5_smoke/smoke.v (a 512 x 36 block RAM with
    /// a synchronous read and a registered signed 16 x 16 multiply) on the LFE5U-25F CABGA256 at
    /// 100 MHz: nextpnr-ecp5 0.11.1's own report, Yosys 0.70's stats and the flow's timings.
    fn smoke_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ecp5_smoke")
    }

    fn smoke_report() -> Value {
        let text = std::fs::read_to_string(smoke_dir().join("nextpnr_report.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn temp_copy(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fep-fpga-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for e in std::fs::read_dir(smoke_dir()).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), d.join(e.file_name())).unwrap();
        }
        d
    }

    #[test]
    fn a_real_nextpnr_ecp5_report_gives_the_resources_of_the_test_design() {
        let p = PnrResult::from_report(&smoke_report(), Path::new("nextpnr_report.json")).unwrap();
        let u = ecp5_utilisation(&p, Path::new("nextpnr_report.json")).unwrap();
        let got: Vec<(&str, u64, u64)> = u.iter().map(|u| (u.bel.as_str(), u.used, u.available)).collect();
        assert_eq!(
            got,
            [
                ("TRELLIS_COMB", 58, 24288),
                ("TRELLIS_FF", 147, 24288),
                ("DP16KD", 1, 56),
                ("MULT18X18D", 1, 28),
                ("TRELLIS_IO", 156, 197),
            ]
        );
        assert!((u[0].percent - 100.0 * 58.0 / 24288.0).abs() < 1e-9);
        assert!((u[2].percent - 100.0 / 56.0).abs() < 1e-9);
        assert!((u[4].percent - 100.0 * 156.0 / 197.0).abs() < 1e-9);
    }

    #[test]
    fn a_real_nextpnr_ecp5_report_gives_every_clock_against_its_constraint() {
        let p = PnrResult::from_report(&smoke_report(), Path::new("nextpnr_report.json")).unwrap();
        assert_eq!(p.clocks.len(), 1);
        let c = &p.clocks[0];
        assert_eq!(c.net, "$glbnet$clk$TRELLIS_IO_IN");
        assert!((c.achieved_mhz - 144.55).abs() < 0.01, "{}", c.achieved_mhz);
        assert_eq!(c.constraint_mhz, Some(100.0));
        assert_eq!(c.passes(), Some(true));
        assert_eq!(p.fmax_mhz, c.achieved_mhz);
        let slow = ClockFmax { achieved_mhz: 80.0, ..c.clone() };
        assert_eq!(slow.passes(), Some(false));
    }

    #[test]
    fn the_smoke_run_reads_back_whole() {
        let r = FpgaReport::load(&smoke_dir(), None).unwrap();
        assert_eq!(
            (r.name.as_str(), r.part.as_str(), r.flow.package.as_str()),
            ("ecp5_smoke", "LFE5U-25F", "CABGA256")
        );
        assert_eq!((r.flow.freq_mhz, r.flow.package_pins), (100.0, Some(197)));
        assert_eq!(r.flow.tools, ["Yosys 0.70 (git sha1 28ba3cb92)", "nextpnr-ecp5 0.11.1"]);
        let stages: Vec<&str> = r.flow.stages.iter().map(|s| s.stage.as_str()).collect();
        assert_eq!(stages, ["yosys", "nextpnr", "ecppack"]);
        assert!(r.flow.wall_s() > 0.0 && r.flow.peak_mb() > 10.0);
        let y = &r.yosys;
        assert_eq!((y.luts, y.ffs, y.dp16kd, y.mult18, y.lutram), (56, 147, 1, 1, 0));
        assert_eq!((y.memories_inferred, y.memories_to_ffs, y.port_bits), (1, 0, 156));
        assert_eq!(r.bitstream, Bitstream::Written { file: "smoke.bit".into(), bytes: None });
        assert!(r.throughput.is_none());
        let md = r.markdown();
        for part in [
            "| EBR (DP16KD, 18 kbit) | `DP16KD` | 1 | 56 | 1.8% |",
            "| LUT4 | `TRELLIS_COMB` | 58 | 24288 | 0.2% |",
            "| `$glbnet$clk$TRELLIS_IO_IN` | 144.55 | 100 | PASS |",
            "the CABGA256 has 197 user I/O pins, of which the design's 156 port bits take 79.2%",
            "1 inferred; 1 DP16KD block RAMs in Yosys's netlist, 1 placed by nextpnr; no memory was left",
            "Bitstream: `smoke.bit`",
            "no training throughput",
        ] {
            assert!(md.contains(part), "{part}\n{md}");
        }
        assert!(!md.contains("assumed"), "{md}");
    }

    #[test]
    fn a_missing_field_names_the_file_and_the_field() {
        let mut rep = smoke_report();
        rep["utilization"]["DP16KD"].as_object_mut().unwrap().remove("used");
        let e = PnrResult::from_report(&rep, Path::new("nextpnr_report.json")).unwrap_err();
        assert!(e.to_string().contains("utilization.DP16KD.used"), "{e}");
        assert!(e.to_string().contains("nextpnr_report.json"), "{e}");
        let mut rep = smoke_report();
        rep["utilization"].as_object_mut().unwrap().remove("MULT18X18D");
        let e = ecp5_utilisation(
            &PnrResult::from_report(&rep, Path::new("nextpnr_report.json")).unwrap(),
            Path::new("nextpnr_report.json"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("utilization.MULT18X18D"), "{e}");
        let mut rep = smoke_report();
        rep["fmax"]["$glbnet$clk$TRELLIS_IO_IN"].as_object_mut().unwrap().remove("achieved");
        let e = PnrResult::from_report(&rep, Path::new("nextpnr_report.json")).unwrap_err();
        assert!(e.to_string().contains("fmax.$glbnet$clk$TRELLIS_IO_IN.achieved"), "{e}");
        assert!(PnrResult::from_report(&json!({"utilization": {}}), Path::new("nextpnr_report.json"))
            .unwrap_err()
            .to_string()
            .contains("\"fmax\""));

        // through the loader: the file and the field
        let dir = temp_copy("missing");
        let mut rep = smoke_report();
        rep["utilization"]["TRELLIS_FF"].as_object_mut().unwrap().remove("available");
        std::fs::write(dir.join("nextpnr_report.json"), rep.to_string()).unwrap();
        let e = FpgaReport::load(&dir, None).unwrap_err().to_string();
        assert!(
            e.to_string().contains("nextpnr_report.json") && e.contains("utilization.TRELLIS_FF.available"),
            "{e}"
        );
        std::fs::remove_file(dir.join("ecp5_ffram.json")).unwrap();
        std::fs::write(dir.join("nextpnr_report.json"), smoke_report().to_string()).unwrap();
        let e = FpgaReport::load(&dir, None).unwrap_err().to_string();
        assert!(
            e.contains("ecp5_ffram.json") && e.contains("not found") && e.contains("synth/fpga.sh"),
            "{e}"
        );
        std::fs::write(dir.join("ecp5_ffram.json"), "{\"design\": {}}").unwrap();
        let e = FpgaReport::load(&dir, None).unwrap_err().to_string();
        assert!(e.to_string().contains("ecp5_ffram.json") && e.contains("design.num_cells_by_type"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_stage_an_unmapped_memory_and_an_out_of_context_run_are_reported() {
        let dir = temp_copy("states");
        let flow_text = std::fs::read_to_string(dir.join("flow.json")).unwrap();
        let mut flow: Value = serde_json::from_str(&flow_text).unwrap();
        flow["stages"][1]["exit"] = json!(124);
        flow["stages"][1]["timed_out"] = json!(true);
        std::fs::write(dir.join("flow.json"), flow.to_string()).unwrap();
        let e = FpgaReport::load(&dir, None).unwrap_err().to_string();
        assert!(e.to_string().contains("flow.json") && e.contains("nextpnr stage timed out"), "{e}");

        let mut flow: Value = serde_json::from_str(&flow_text).unwrap();
        flow["floorplan"] = json!("264 block RAMs and multipliers of 24 PEs locked side by side");
        std::fs::write(dir.join("flow.json"), flow.to_string()).unwrap();
        std::fs::copy(dir.join("ecp5_memories.json"), dir.join("ecp5_ffram.json")).unwrap();
        std::fs::write(dir.join("bitstream_skipped.txt"), "the top module smoke has 156 port bits\n")
            .unwrap();
        let r = FpgaReport::load(&dir, None).unwrap();
        assert_eq!(r.yosys.memories_to_ffs, 1);
        let md = r.markdown();
        assert!(md.contains("**1 memories fit neither block nor LUT RAM"), "{md}");
        assert!(md.contains("Bitstream: none: the top module smoke has 156 port bits."), "{md}");
        assert!(
            md.contains("Floorplan: 264 block RAMs and multipliers of 24 PEs locked side by side.\n"),
            "{md}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_core_config_gets_samples_per_second_at_the_measured_fmax() {
        let dir = temp_copy("core");
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tiny.yaml");
        let cfg = Config::from_yaml_file(&path).unwrap();
        // the folder holds the smoke design, not the tiny core: refused, naming a file and the command
        let e = FpgaReport::load(&dir, Some((&path, &cfg))).unwrap_err().to_string();
        assert!(e.to_string().contains("rtl/") && e.contains("make fpga"), "{e}");
        std::fs::create_dir_all(dir.join("rtl")).unwrap();
        for (name, text) in crate::hdl::render(&cfg).unwrap() {
            std::fs::write(dir.join("rtl").join(name), text).unwrap();
        }
        let r = FpgaReport::load(&dir, Some((&path, &cfg))).unwrap();
        let t = r.throughput.as_ref().unwrap();
        let cycles = Cycles::of(&CoreParams::new(&cfg).unwrap(), cfg.samples_per_update());
        assert_eq!(t.cycles, cycles);
        assert_eq!(t.fmax_mhz, r.clocks[0].achieved_mhz);
        assert!((t.samples_per_s - r.clocks[0].achieved_mhz * 1e6 / cycles.per_sample).abs() < 1e-6);
        assert_eq!(r.name, "tiny");
        let md = r.markdown();
        assert!(
            md.contains(&format!("**{:.1} samples/s**", t.samples_per_s)) && md.contains("998 samples/s"),
            "{md}"
        );
        assert!(!md.contains("assumed"), "{md}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn device_flags_name_their_parts_and_configs_their_commands() {
        assert_eq!(part_name("85k"), "LFE5U-85F");
        assert_eq!(part_name("25k"), "LFE5U-25F");
        assert_eq!(part_name("um5g-45k"), "LFE5UM5G-45F");
        assert_eq!(fpga_command(Path::new("configs/tiny.yaml")), "make fpga CONFIG=tiny");
        assert_eq!(fpga_command(Path::new("x/t.yaml")), "make fpga CONFIG=t CONFIG_FILE=x/t.yaml");
        assert_eq!(default_fpga_dir(Path::new("configs/small.yaml")), Path::new("runs/fpga/small"));
    }
}
