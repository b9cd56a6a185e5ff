//! The commands of the `floweqprop` binary: their flags ([`Cli`]) and what each does, over the
//! library below. The binary only parses and calls [`run`]. Each command resolves its config once
//! ([`resolve`]) before any work. This is the only layer that knows clap and indicatif.

pub mod bench;
pub mod hardware;
pub mod resolve;
pub mod sample;
pub mod sweep;
pub mod terminal;
pub mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "floweqprop",
    version,
    about = "FlowEqProp: flow matching trained by Gradient Equilibrium Propagation"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train on the embedded digits (paper settings unless overridden).
    Train(train::TrainArgs),
    /// Generate samples from a checkpoint (Euler integration of the learned velocity).
    Sample(sample::SampleArgs),
    /// Draw a loss.csv as a PNG curve and print its 100-epoch means.
    PlotLoss(train::PlotLossArgs),
    /// Time one paper-scale training epoch and its parts (medians of several runs).
    Bench(bench::BenchArgs),
    /// Measure sample quality against real digits, a Gaussian mixture and noise.
    Eval(sample::EvalArgs),
    /// Train in fixed point at a list of widths and in float; final loss against width (table, PNG).
    Sweep(sweep::SweepArgs),
    /// Generate the Verilog of the config's systolic training core (and its testbench).
    Hdl(hardware::HdlArgs),
    /// Emit golden test vectors of the fixed-point model for the generated core ($readmemh files).
    Vectors(hardware::VectorsArgs),
    /// Resources (Yosys, nextpnr: from `make synth`, or the ECP5 flow of `make fpga` with
    /// --fpga-dir) and training throughput of the generated core.
    Report(hardware::ReportArgs),
}

/// Runs one command.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Train(a) => train::run_train(a),
        Command::Sample(a) => sample::run_sample(a),
        Command::PlotLoss(a) => train::run_plot_loss(a),
        Command::Bench(a) => bench::run_bench(a),
        Command::Eval(a) => sample::run_eval(a),
        Command::Sweep(a) => sweep::run_sweep(a),
        Command::Hdl(a) => hardware::run_hdl(a),
        Command::Vectors(a) => hardware::run_vectors(a),
        Command::Report(a) => hardware::run_report(a),
    }
}
