//! The sections of a config other than `fixed:` (its own module, [`super::fixed`]): network
//! sizes, relaxation, optimizer, training, generation and the PE array. Defaults are the paper's
//! (SPEC, Table 1).

use crate::choice::Choice;
use serde::{Deserialize, Serialize};

/// Layer sizes and initialisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Visible units (pixels).
    pub n_x: usize,
    /// First hidden layer.
    pub n_h1: usize,
    /// Second hidden layer.
    pub n_h2: usize,
    /// Xavier-normal gain of the weight init.
    pub init_gain: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig { n_x: 64, n_h1: 128, n_h2: 128, init_gain: 0.5 }
    }
}

/// The spring-clamped, nudged relaxation (SPEC "GradEP").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelaxConfig {
    /// Gradient-descent steps per phase (T).
    pub steps: usize,
    /// Step size (eps).
    pub eps: f64,
    /// Spring constant (k).
    pub k: f64,
    /// Output scale (alpha).
    pub alpha: f64,
    /// Nudge strength (beta).
    pub beta: f64,
}

impl Default for RelaxConfig {
    fn default() -> Self {
        RelaxConfig { steps: 300, eps: 0.1, k: 15.0, alpha: 2.0, beta: 1.25e-3 }
    }
}

impl RelaxConfig {
    /// The nudge's coefficient on the visible units, `beta (alpha k)^2` (SPEC "GradEP": the
    /// +-beta phases add `+-beta (alpha k)^2 (x - x_t - u / (alpha k))` to the spring).
    pub fn nudge(&self) -> f64 {
        self.nudge_with(self.beta)
    }

    /// The nudge's coefficient for a phase of signed strength `beta` (0: free, `-beta`: the
    /// negative phase): `beta (alpha k)^2`.
    pub fn nudge_with(&self, beta: f64) -> f64 {
        beta * (self.alpha * self.k).powi(2)
    }

    /// Coefficient of x in the visible-unit step; the explicit step is stable only while
    /// `eps * visible_coefficient < 2`.
    pub fn visible_coefficient(&self) -> f64 {
        1.0 + self.k + self.nudge()
    }
}

/// Learning-rate schedule over the epochs of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    Cosine,
}

impl Choice for Schedule {
    const ALL: &'static [Schedule] = &[Schedule::Constant, Schedule::Cosine];

    fn name(self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Cosine => "cosine",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Schedule::Constant => "`lr` throughout (the paper)",
            Schedule::Cosine => "Cosine decay from `lr` to `lr_min` over the run",
        }
    }
}

/// Which update rule follows the EP gradient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Adam,
    Sgd,
}

impl Choice for OptimizerKind {
    const ALL: &'static [OptimizerKind] = &[OptimizerKind::Adam, OptimizerKind::Sgd];

    fn name(self) -> &'static str {
        match self {
            OptimizerKind::Adam => "adam",
            OptimizerKind::Sgd => "sgd",
        }
    }

    fn help(self) -> &'static str {
        match self {
            OptimizerKind::Adam => "Global-norm clipping then Adam (the paper)",
            OptimizerKind::Sgd => {
                "Plain SGD, with optional momentum `m <- momentum * m + g`, `theta <- theta - lr m`"
            }
        }
    }
}

/// The update (SPEC "Update": global-norm clipping then Adam, full batch), or SGD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    pub kind: OptimizerKind,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Maximum global gradient norm (<= 0 disables clipping).
    pub clip_norm: f64,
    pub schedule: Schedule,
    /// Final learning rate of the cosine schedule.
    pub lr_min: f64,
    /// SGD momentum (0: none). Adam ignores it.
    pub momentum: f64,
    /// Samples per update: 0 = the whole epoch's batch (the paper), 1 = online; otherwise the
    /// gradient is accumulated over this many samples.
    pub batch_size: usize,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            kind: OptimizerKind::Adam,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            clip_norm: 1.0,
            schedule: Schedule::Constant,
            lr_min: 1e-4,
            momentum: 0.0,
            batch_size: 0,
        }
    }
}

/// The training loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub seed: u64,
    /// Write a checkpoint every this many epochs (and at the end).
    pub checkpoint_every: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 2000, seed: 0, checkpoint_every: 50 }
    }
}

/// How generation reads the velocity (SPEC "Generation").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VelocityMode {
    Energy,
    Spring,
}

impl Choice for VelocityMode {
    const ALL: &'static [VelocityMode] = &[VelocityMode::Energy, VelocityMode::Spring];

    fn name(self) -> &'static str {
        match self {
            VelocityMode::Energy => "energy",
            VelocityMode::Spring => "spring",
        }
    }

    fn help(self) -> &'static str {
        match self {
            VelocityMode::Energy => "Hidden units relaxed with x held fixed, `v = -alpha dE/dx`",
            VelocityMode::Spring => "Spring-clamped relaxation around x, `v = alpha k (x* - x)`",
        }
    }
}

/// Euler generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateConfig {
    pub dt: f64,
    /// End time; > 1 is the paper's extended generation.
    pub t1: f64,
    pub mode: VelocityMode,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig { dt: 0.01, t1: 1.0, mode: VelocityMode::Energy }
    }
}

/// The generated core's processing-element array (the issue "Verilog generator"): the fused
/// weight matrix `M = [W0^T ; W1]` (`(n_x + n_h2) x n_h1`) is cut into `rows x cols` equal
/// tiles, one per PE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HardwareConfig {
    /// PE rows: must divide `n_x + n_h2`.
    pub rows: usize,
    /// PE columns: must divide `n_h1`.
    pub cols: usize,
    /// Sample lanes: samples of a batch that relax side by side, each weight read feeding one
    /// multiplier per lane (weights are shared across samples, neuron states are not).
    pub lanes: usize,
}

impl Default for HardwareConfig {
    fn default() -> Self {
        HardwareConfig { rows: 8, cols: 8, lanes: 1 }
    }
}
