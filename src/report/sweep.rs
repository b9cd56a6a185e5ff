//! The PE-array sweep (`make synth-sweep`, `floweqprop report --sweep`): copies of a config with
//! other `hardware: {rows, cols}` ([`sweep_configs`]), their synthesis reports side by side
//! ([`SweepReport`]), and the smallest array that matches the paper's reference point, the float
//! training on an A100 ([`A100_SAMPLES_PER_S`]).

use super::synth::{CoreReport, Synthesis};
use super::yosys::{Resources, Target};
use super::A100_SAMPLES_PER_S;
use crate::config::Config;
use crate::error::Error;
use crate::hdl::cycles::Cycles;
use crate::hdl::CoreParams;
use crate::io::atomic_write;
use crate::plot::{line_plot_png, LinePlot, Series};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where `make synth-sweep` writes the config copies of the sweep.
pub const SWEEP_CONFIG_DIR: &str = "runs/synth/sweep";

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
    use crate::report::fixtures::{temp_dir, write_stats};
    use crate::report::synth::{AssumedClocks, SynthDir};

    #[test]
    fn sweep_shapes_tile_the_network_or_are_refused() {
        let paper = Config::shipped("paper");
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
        let paper = Config::shipped("paper");
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
        let tiny = Config::shipped("tiny");
        let dir = temp_dir("sweep-match");
        write_stats(&dir);
        let path = Path::new("configs/tiny.yaml");
        let own = CoreReport::load(
            path,
            &tiny,
            SynthDir::Required(&dir),
            &[Target::Xc7],
            &AssumedClocks::default(),
        )
        .unwrap();
        // tiny has at most 16 PEs (min(K, N)): the other point is the smaller 2 x 2 array
        let mut narrow = tiny.clone();
        narrow.hardware = crate::config::HardwareConfig { rows: 2, cols: 2, lanes: 1 };
        let narrow_path = Path::new("runs/synth/sweep/tiny_2x2.yaml");
        let (missing, xc7) = (dir.join("tiny_2x2"), [Target::Xc7]);
        let narrow = CoreReport::load(
            narrow_path,
            &narrow,
            SynthDir::IfPresent(&missing),
            &xc7,
            &AssumedClocks::default(),
        )
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
