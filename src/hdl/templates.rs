//! The askama templates of the core, one per file (`templates/<name>`), each filled with the
//! [`CoreParams`] of a config. `CoreParams` computes every width, latency, limit and constant;
//! the templates print them, and form from them only the obvious: a bus of several (`lanes *
//! s_w` bits), a count minus one for a counter's last value (`kt * nt - 1`).

use super::params::CoreParams;
use crate::error::Error;
use crate::golden::optim::Constant;
use crate::vectors::manifest::TrainStream;
use crate::vectors::Manifest;
use askama::Template;

/// The generated files, in dependency order (primitives first, the testbenches last).
pub const FILES: [&str; 15] = [
    "fxp.v",
    "pipe.v",
    "act_lut.v",
    "sgd_unit.v",
    "norm_unit.v",
    "adam_unit.v",
    "pe.v",
    "pe_array.v",
    "neuron_bank.v",
    "neuron_pipe.v",
    "controller.v",
    "core.v",
    "tb_host.svh",
    "tb_core.sv",
    "tb_train.sv",
];

macro_rules! hdl_template {
    ($name:ident, $path:literal) => {
        #[derive(Template)]
        #[template(path = $path)]
        struct $name<'a> {
            c: &'a CoreParams,
        }
    };
}

hdl_template!(Fxp, "fxp.v");
hdl_template!(Pipe, "pipe.v");
hdl_template!(ActLut, "act_lut.v");
hdl_template!(Sgd, "sgd_unit.v");
hdl_template!(Norm, "norm_unit.v");
hdl_template!(Adam, "adam_unit.v");
hdl_template!(Pe, "pe.v");
hdl_template!(PeArray, "pe_array.v");
hdl_template!(NeuronBank, "neuron_bank.v");
hdl_template!(NeuronPipe, "neuron_pipe.v");
hdl_template!(Controller, "controller.v");
hdl_template!(Core, "core.v");
hdl_template!(TbHost, "tb_host.svh");
hdl_template!(TbCore, "tb_core.sv");
hdl_template!(TbTrain, "tb_train.sv");

/// Renders every file of [`FILES`].
pub fn render_all(c: &CoreParams) -> Result<Vec<(String, String)>, Error> {
    let texts = [
        Fxp { c }.render(),
        Pipe { c }.render(),
        ActLut { c }.render(),
        Sgd { c }.render(),
        Norm { c }.render(),
        Adam { c }.render(),
        Pe { c }.render(),
        PeArray { c }.render(),
        NeuronBank { c }.render(),
        NeuronPipe { c }.render(),
        Controller { c }.render(),
        Core { c }.render(),
        TbHost { c }.render(),
        TbCore { c }.render(),
        TbTrain { c }.render(),
    ];
    FILES
        .iter()
        .zip(texts)
        .map(|(name, text)| {
            // askama drops the template's final newline; POSIX text files end with one
            text.map(|t| (name.to_string(), if t.ends_with('\n') { t } else { t + "\n" }))
                .map_err(|e| Error::invalid("templates", name, &format!("rendering failed: {e}")))
        })
        .collect()
}

/// The testbench's parameters (`tb_params.svh`): a vector run's sizes and raw constants.
#[derive(Template)]
#[template(path = "tb_params.svh")]
struct TbParams<'a> {
    /// The vectors' folder as the testbench opens it.
    dir: &'a str,
    m: &'a Manifest,
}

impl TbParams<'_> {
    /// A sized 64-bit literal: an unsized one is 32 bits, too few for a constant of up to 48.
    fn lit<T: Copy + Into<i64>>(&self, v: &T) -> String {
        let v: i64 = (*v).into();
        match v < 0 {
            true => format!("-64'sd{}", v.unsigned_abs()),
            false => format!("64'sd{v}"),
        }
    }

    /// Step vectors' constants of every step, by name: the words of CONST 7 to 10
    /// ([`crate::vectors::manifest::Step::words`]), each a list over the steps.
    /// With Adam, also its words of CONST 29 to 31 (`C2A_MANT`, `C2A_SHIFT`, `ADAM_EPS`).
    fn step_lists(&self) -> Vec<(&'static str, String)> {
        let steps = &self.m.constants.sgd.steps;
        let list = |f: &dyn Fn(&crate::vectors::manifest::Step) -> String| {
            steps.iter().map(f).collect::<Vec<_>>().join(", ")
        };
        let mut lists: Vec<(&'static str, String)> = ["SCALE_MANT", "SCALE_SHIFT", "LR_MANT", "LR_SHIFT"]
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name, list(&|s| self.lit(&s.words()[i]))))
            .collect();
        if self.m.constants.sgd.adam.is_some() {
            let adam = |s: &crate::vectors::manifest::Step| s.adam.expect("an Adam run's every step");
            lists.push(("C2A_MANT", list(&|s| self.lit(&adam(s).c2.mant))));
            lists.push(("C2A_SHIFT", list(&|s| self.lit(&adam(s).c2.shift))));
            lists.push(("ADAM_EPS", list(&|s| format!("64'sd{}", adam(s).eps))));
        }
        lists
    }

    /// A training stream's golden loss of every epoch, as Verilog reals (shortest round trip).
    fn losses(&self, t: &TrainStream) -> String {
        t.loss.iter().map(|l| format!("{l:?}")).collect::<Vec<_>>().join(", ")
    }

    /// The momentum constant, 0 without momentum (`MOMENTUM` = 0 then).
    /// With clipping: the clip's constants (CONST 17 to 19), as localparam names and literals.
    fn clip_lits(&self) -> Vec<(&'static str, String)> {
        self.m.constants.sgd.clip.map_or_else(Vec::new, |k| {
            vec![
                ("CLIP_MANT", self.lit(&k.norm.mant)),
                ("CLIP_SHIFT", self.lit(&k.norm.shift)),
                ("CLIP_DELTA", format!("64'sd{}", k.delta)),
            ]
        })
    }

    fn momentum(&self) -> Constant {
        self.m.constants.sgd.momentum.unwrap_or(Constant { mant: 0, shift: 0 })
    }
}

/// `tb_params.svh` of the vectors in `dir` (written as the testbench opens it) with manifest `m`.
pub fn render_tb_params(dir: &str, m: &Manifest) -> Result<String, Error> {
    TbParams { dir, m }
        .render()
        .map(|t| t + "\n")
        .map_err(|e| Error::invalid("templates", "tb_params.svh", &format!("rendering failed: {e}")))
}
