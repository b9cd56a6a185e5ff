//! `floweqprop hdl`, `floweqprop vectors` and `floweqprop report`: the generated core, its golden
//! vectors, and its resources and throughput.

// the flags' docs are their --help, which names placeholders such as <config> as text
#![allow(rustdoc::invalid_html_tags)]

use super::resolve::load_config;
use super::terminal::{choice, Bar};
use crate::capability::Use;
use crate::config::Config;
use crate::hdl::TOP_FILE;
use crate::io::{check_folder_target, replace_folder};
use crate::progress::Progress;
use crate::report::fpga::FpgaReport;
use crate::report::sweep::{sweep_configs, write_sweep_configs, Shape, SweepReport, SWEEP_CONFIG_DIR};
use crate::report::synth::{
    config_name, default_synth_dir, pnr_plan, AssumedClocks, CoreReport, SynthDir, SYNTH_ROOT, UP5K,
};
use crate::report::yosys::Target;
use crate::vectors::stream::{stream_recipe, StreamProgress, GOLDEN_RUN};
use crate::vectors::{core_recipe, emit, emit_stream, StreamOptions, VectorOptions, MANIFEST};
use anyhow::{Context, Result};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub struct VectorsArgs {
    /// YAML config of the core (formats, sizes, array shape, constants).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder (replaced as a whole, atomically).
    #[arg(long)]
    out: PathBuf,
    /// Consecutive SGD training steps (weights carried from step to step).
    #[arg(long, default_value_t = 4)]
    steps: usize,
    /// Samples per training step [default: 2; with --epochs the config's optim.batch_size, 0
    /// there meaning the whole epoch].
    #[arg(long)]
    batch: Option<usize>,
    /// Samples of the generation run.
    #[arg(long, default_value_t = 2)]
    gen_samples: usize,
    /// Euler steps of the generation run.
    #[arg(long, default_value_t = 3)]
    gen_steps: usize,
    /// Instead of the few steps: a training stream of this many whole epochs on the digits
    /// (samples of every step in order, parameters and momenta after every epoch) for
    /// tb_train (`make cosim-train`).
    #[arg(long, conflicts_with_all = ["steps", "gen_samples", "gen_steps"])]
    epochs: Option<usize>,
    /// With --epochs: train on the first D digits only [default: all 1797].
    #[arg(long, requires = "epochs", default_value_t = crate::dataset::N_IMAGES)]
    digits: usize,
}

#[derive(Args)]
pub struct HdlArgs {
    /// YAML config of the core: network sizes, `fixed:` formats, `hardware:` array (default: the paper core).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output folder; it is replaced as a whole, and only once every file has rendered.
    #[arg(long)]
    out: PathBuf,
    /// Also write tb_params.svh, the testbench's view of these golden vectors' manifest.json
    /// (checked against the config), for `make cosim`.
    #[arg(long)]
    vectors: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReportArgs {
    /// YAML config of the core; `make synth CONFIG=<its file stem>` writes what the report reads
    /// (with --fpga-dir: `make fpga CONFIG=<stem>`; optional there, it adds the throughput).
    #[arg(long, required_unless_present = "fpga_dir")]
    config: Option<PathBuf>,
    /// Folder that `make synth` wrote [default: runs/synth/<config file stem>; with --sweep: the
    /// folder holding one such folder per shape, default runs/synth].
    #[arg(long)]
    synth_dir: Option<PathBuf>,
    /// Targets to report (each needs its <target>_stat.json).
    #[arg(long, value_parser = choice::<Target>(), value_delimiter = ',', default_value = "generic,xc7,ice40")]
    targets: Vec<Target>,
    /// Clock for targets without a place-and-route Fmax, MHz: `100` (every target) or
    /// `xc7=100` (one); labelled "assumed" [default: generic=100, xc7=100, ice40=25].
    #[arg(long, value_delimiter = ',')]
    assumed_mhz: Vec<String>,
    /// Also write <name>.md and <name>.json (with --sweep: sweep.md, sweep.json and two PNGs) here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// PE-array sweep: these shapes (ROWSxCOLS) of the config's network; their results are read
    /// from runs/synth/<stem>_<RxC> (the config's own shape: from runs/synth/<stem>).
    #[arg(long, value_delimiter = ',')]
    sweep: Vec<Shape>,
    /// With --sweep: only write the config copies (<stem>_<RxC>.yaml, all but the config's own
    /// shape) into this folder and print a "name path" line for each.
    #[arg(long, requires = "sweep")]
    write_configs: Option<PathBuf>,
    /// Only decide whether nextpnr-ice40 runs: write runs/synth/X/ice40_pnr_skipped.txt with the
    /// reason when the iCE40 netlist cannot fit the UP5K, or remove it when it may.
    #[arg(long, conflicts_with_all = ["sweep", "out"])]
    pnr_plan: bool,
    /// The ECP5 flow's results instead: the folder `make fpga` (synth/fpga.sh) wrote, e.g.
    /// runs/fpga/tiny. Prints LUT4 / FF / EBR / MULT18 / I/O used of available, the Fmax of
    /// every clock against its constraint, the memories that became block RAM, the flow's wall
    /// time and peak memory and, with --config, samples/s at the measured Fmax; --out writes
    /// report.md, report.json and nextpnr_report.json (make fpga-report: docs/results/fpga/<config>/).
    #[arg(long, conflicts_with_all = ["sweep", "pnr_plan", "synth_dir", "assumed_mhz"])]
    fpga_dir: Option<PathBuf>,
}

pub fn run_vectors(a: VectorsArgs) -> Result<()> {
    check_folder_target(&a.out, Some(MANIFEST))?;
    let config = load_config(a.config.as_deref(), Use::Core)?;
    if let Some(epochs) = a.epochs {
        return run_stream(&config, StreamOptions { epochs, batch: a.batch, digits: a.digits }, &a.out);
    }
    let o = VectorOptions {
        steps: a.steps,
        batch: a.batch.unwrap_or(VectorOptions::default().batch),
        gen_samples: a.gen_samples,
        gen_steps: a.gen_steps,
    };
    let files = emit(&config, &o)?;
    replace_folder(&a.out, &files, MANIFEST)?;
    eprintln!("recipe: {}", crate::vectors::recipe_note(&core_recipe(&config, &o)));
    eprintln!(
        "wrote {} files to {}: {} training steps of {} samples, {} Euler steps of {} samples",
        files.len(),
        a.out.display(),
        o.steps,
        o.batch,
        o.gen_steps,
        o.gen_samples
    );
    Ok(())
}

/// `vectors --epochs`: the training stream, with a progress bar over the epochs on a terminal
/// (else a line every 10 s and at the end).
fn run_stream(config: &Config, o: StreamOptions, out: &std::path::Path) -> Result<()> {
    let recipe = stream_recipe(config, &o)?;
    eprintln!("recipe: {}", crate::vectors::recipe_note(&recipe));
    eprintln!(
        "training stream: {} epochs of {} digits, {} samples a step, seed {}, into {}",
        o.epochs,
        o.digits,
        recipe.optim.batch_size,
        recipe.train.seed,
        out.display()
    );
    let terminal = std::io::stderr().is_terminal();
    let progress = StreamProgress {
        progress: terminal.then(|| {
            Box::new(Bar::new("epoch {pos}/{len} {wide_bar} {msg} [{elapsed_precise} eta {eta}]"))
                as Box<dyn Progress>
        }),
        log_every: (!terminal).then(|| std::time::Duration::from_secs(10)),
    };
    let m = emit_stream(config, &o, out, progress)?;
    let t = m.train.as_ref().expect("a stream's manifest has its train section");
    let losses: Vec<String> = t.loss.iter().map(|l| format!("{l:.6}")).collect();
    eprintln!(
        "wrote {} files to {} (and the golden run in {}/{GOLDEN_RUN}): {} epochs of {} steps, loss per epoch {}, {} saturations",
        m.files.len() + 1,
        out.display(),
        out.display(),
        t.epochs,
        t.steps_per_epoch,
        losses.join(" "),
        m.saturations
    );
    Ok(())
}

pub fn run_hdl(a: HdlArgs) -> Result<()> {
    check_folder_target(&a.out, Some(TOP_FILE))?;
    let config = load_config(a.config.as_deref(), Use::Core)?;
    let c = crate::hdl::CoreParams::new(&config)?;
    let mut files = crate::hdl::render_core(&c)?;
    if let Some(dir) = &a.vectors {
        files.push(("tb_params.svh".to_string(), crate::hdl::manifest::tb_params(&c, &config, dir)?));
    }
    replace_folder(&a.out, &files, TOP_FILE)?;
    eprintln!(
        "wrote {} files to {}: {}x{} PEs of {}x{} weights, {} lane(s); {} cycles a training sample, {:.4}x the ideal {}",
        files.len(),
        a.out.display(),
        c.rows,
        c.cols,
        c.kt,
        c.nt,
        c.lanes,
        c.sample_cycles(),
        c.sample_cycles() / c.ideal_sample_cycles(),
        c.ideal_sample_cycles()
    );
    Ok(())
}

pub fn run_report(a: ReportArgs) -> Result<()> {
    if let Some(out) = &a.out {
        check_folder_target(out, None)?;
    }
    if let Some(dir) = &a.fpga_dir {
        let config = a.config.as_deref().map(|p| Config::from_yaml_file(p).map(|c| (p, c))).transpose()?;
        let report = FpgaReport::load(dir, config.as_ref().map(|(p, c)| (*p, c)))?;
        println!("{}", report.markdown());
        if let Some(out) = &a.out {
            report.write(out)?;
            eprintln!("wrote {}/{{report.md,report.json,nextpnr_report.json}}", out.display());
        }
        return Ok(());
    }
    let config_path = a.config.context("--config is required without --fpga-dir")?;
    let config = load_config(Some(&config_path), Use::Core)?;
    let assumed = AssumedClocks::default().with_settings(&a.assumed_mhz)?;
    if a.pnr_plan {
        let dir = a.synth_dir.unwrap_or_else(|| default_synth_dir(&config_path));
        let why = pnr_plan(&config_path, &config, &dir, &UP5K)?;
        if why.is_empty() {
            println!("fits the iCE40 {} ({}): place and route", UP5K.name.to_uppercase(), UP5K.package);
        } else {
            println!("nextpnr-ice40 not run: {}", why.join(", "));
        }
        return Ok(());
    }
    if a.sweep.is_empty() {
        // without a synthesis yet, the cycle model alone (each target says how to synthesize it)
        let dir = a.synth_dir.unwrap_or_else(|| default_synth_dir(&config_path));
        let report =
            CoreReport::load(&config_path, &config, SynthDir::IfPresent(&dir), &a.targets, &assumed)?;
        println!("{}", report.markdown());
        if let Some(out) = &a.out {
            report.write(out)?;
            eprintln!("wrote {}/{{{name}.md,{name}.json}}", out.display(), name = report.name);
        }
        return Ok(());
    }
    // the config's own array is read from its own `make synth`; the other shapes from copies
    let base = config_name(&config_path);
    let own = Shape { rows: config.hardware.rows, cols: config.hardware.cols };
    let others: Vec<Shape> = a.sweep.iter().copied().filter(|&s| s != own).collect();
    let copies = sweep_configs(&base, &config, &others)?;
    let config_dir = PathBuf::from(SWEEP_CONFIG_DIR);
    if let Some(dir) = &a.write_configs {
        // one "name path" line per copy: what make synth-sweep synthesizes
        for ((name, _), p) in copies.iter().zip(write_sweep_configs(dir, &copies)?) {
            println!("{name} {}", p.display());
        }
        return Ok(());
    }
    let root = a.synth_dir.unwrap_or_else(|| PathBuf::from(SYNTH_ROOT));
    let mut points = Vec::new();
    for shape in &a.sweep {
        let report = if *shape == own {
            CoreReport::load(
                &config_path,
                &config,
                SynthDir::Required(&root.join(&base)),
                &a.targets,
                &assumed,
            )?
        } else {
            let (name, c) =
                copies.iter().find(|(n, _)| *n == format!("{base}_{shape}")).expect("a copy per shape");
            let path = config_dir.join(format!("{name}.yaml"));
            CoreReport::load(&path, c, SynthDir::IfPresent(&root.join(name)), &a.targets, &assumed)?
        };
        points.push((*shape, report));
    }
    let sweep = SweepReport::new(&base, &config, points, assumed.get(Target::Xc7))?;
    println!("{}", sweep.markdown());
    if let Some(out) = &a.out {
        sweep.write(&config, out)?;
        eprintln!("wrote {}/{{sweep.md,sweep.json,sweep_resources.png,sweep_throughput.png}}", out.display());
    }
    Ok(())
}
