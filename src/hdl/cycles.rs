//! The cycle model of the generated core: cycles of every command and of a training sample,
//! which `make cosim` measures on the RTL (every command's cycles equal the model's), and the
//! throughput at a clock.

use super::params::{CoreParams, PE_STAGES};
use serde::Serialize;

/// Cycles of MINUS_ACC after its last accumulation item, until the PEs' last gradient-sum write
/// (registered after that item's last PE stage) has landed, so a read after `done` finds it.
pub const ACC_TAIL: usize = PE_STAGES;

/// Cycles of an init or save pass after its last item until the neuron banks' last write lands:
/// the banks register the controller's pass signals, read, register what they read once more (a
/// block RAM's late output), then write (`neuron_bank.v`; the controller's `pass_end`).
pub const PASS_TAIL: usize = 3;

/// Cycles of a FREE or PLUS command beyond its steps and its init and save passes: the cycle that
/// samples `start` and the done cycle. MINUS_ACC (no save pass) adds the `2 kt nt` cycles of
/// the gradient accumulation; GEN_STEP (no save pass) one more step.
pub const PHASE_OVERHEAD: usize = 2;

/// Cycles of an UPDATE beyond its walks: the cycle that samples `start` and the done cycle.
pub const UPDATE_OVERHEAD: usize = PHASE_OVERHEAD;

/// Cycles of a walk of the parameters beyond their issue and the optimizer's latency: the
/// optimizer's decoded index (u0), the parameter port's six read stages, the in-flight count.
pub const UPDATE_WALK_OVERHEAD: usize = 8;

/// Host writes of the gradient scale before each UPDATE (mantissa and shift).
pub const UPDATE_CONSTANT_WRITES: usize = 2;

/// Host writes of Adam's per-step constants besides the scale: `lr_t` and `c2` (mantissa and
/// shift each) and `eps`.
pub const ADAM_STEP_WRITES: usize = 5;

/// The cycles of each command, which `make cosim` measures on the RTL.
impl CoreParams {
    /// Cycles of an init or a save pass of the neuron banks: one neuron of one lane a cycle over
    /// the largest bank, then [`PASS_TAIL`] until the last write lands.
    pub fn pass_cycles(&self) -> usize {
        self.lanes * self.max_unit() + PASS_TAIL
    }

    /// Cycles of FREE (and of PLUS): init pass, T steps, save pass.
    pub fn free_cycles(&self) -> usize {
        PHASE_OVERHEAD + 2 * self.pass_cycles() + self.t_steps * self.step_cycles
    }

    /// Cycles of MINUS_ACC with every lane active: init pass, T steps, the gradient accumulation
    /// (two items a weight, one lane after the other) and its [`ACC_TAIL`].
    pub fn minus_cycles(&self) -> usize {
        PHASE_OVERHEAD
            + self.pass_cycles()
            + self.t_steps * self.step_cycles
            + self.lanes * self.ideal_step_cycles
            + ACC_TAIL
    }

    /// Cycles of GEN_STEP: init pass, T hidden-only steps and the visible step.
    pub fn gen_cycles(&self) -> usize {
        PHASE_OVERHEAD + self.pass_cycles() + (self.t_steps + 1) * self.step_cycles
    }

    /// Cycles of one group of `lanes` training samples: FREE, PLUS and MINUS_ACC.
    pub fn group_cycles(&self) -> usize {
        2 * self.free_cycles() + self.minus_cycles()
    }

    /// Cycles per training sample: a group's over its lanes.
    pub fn sample_cycles(&self) -> f64 {
        self.group_cycles() as f64 / self.lanes as f64
    }

    /// Cycles of an UPDATE: a walk of one parameter every `sgd.interval` cycles into the
    /// optimizer, then the last one's latency; with clipping (`optim.clip_norm > 0`, the host's
    /// clip mantissa nonzero) two walks and the norm unit's fixed time between them.
    /// With Adam, the walk that updates goes one parameter every `adam_interval()` cycles and
    /// ends with sgd_unit's gradient rows and the Adam unit's latency.
    pub fn update_cycles(&self) -> usize {
        let walk =
            |interval: usize, latency: usize| (self.np() - 1) * interval + 1 + latency + UPDATE_WALK_OVERHEAD;
        let norm_walk = walk(self.sgd.interval, self.sgd.latency);
        let update_walk = match self.optim_adam {
            true => walk(self.adam_interval(), self.sgd.g_ready + self.adam.latency),
            false => norm_walk,
        };
        match self.clip {
            true => norm_walk + update_walk + self.norm.cycles + UPDATE_OVERHEAD,
            false => update_walk + UPDATE_OVERHEAD,
        }
    }

    /// Parameters: M (`K N`), then `[bx ; b1]` (`K`), then `b0` (`N`).
    pub fn np(&self) -> usize {
        self.k * self.n + self.k + self.n
    }

    /// The ideal `(3T + 1) * 2 * (n_x n_h1 + n_h1 n_h2) / (rows cols lanes)` cycles per sample:
    /// every multiplier busy.
    pub fn ideal_sample_cycles(&self) -> f64 {
        ((3 * self.t_steps + 1) * 2 * (self.n_x * self.n_h1 + self.n_h1 * self.n_h2)) as f64
            / (self.rows * self.cols * self.lanes) as f64
    }
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
    /// UPDATE (`CoreParams::update_cycles`) and its constant writes (2, Adam's 7), once per batch.
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
        let adam_writes = if p.optim_adam { ADAM_STEP_WRITES } else { 0 };
        let update = p.update_cycles() + UPDATE_CONSTANT_WRITES + adam_writes;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn tiny_core_command_cycles() {
        let p = CoreParams::new(&Config::shipped("tiny")).unwrap();
        assert_eq!(p.ideal_sample_cycles(), (61 * 160) as f64);
        // measured by the cosimulation (tb_core): FREE 4008, PLUS 4008, MINUS_ACC 4151, UPDATE 580895,
        // GEN_STEP 4183 (tb_core also checks each against this model)
        assert_eq!((p.free_cycles(), p.minus_cycles(), p.gen_cycles()), (4008, 4151, 4183));
        assert_eq!(p.group_cycles(), 4008 + 4008 + 4151);
        assert_eq!(p.sample_cycles(), (4008 + 4008 + 4151) as f64);
        assert_eq!(p.np(), 80 * 16 + 80 + 16);
        // clipping and Adam: pass 1 walks one parameter every sgd.interval (45) cycles and ends
        // with sgd_unit's latency (58); the norm unit's 156 cycles; pass 2 walks one every Adam
        // latency (377) and ends with the final g (cycle 34) and the Adam unit's latency
        assert_eq!((p.sgd.interval, p.sgd.latency, p.norm.cycles), (45, 58, 156));
        assert_eq!((p.sgd.g_ready, p.adam.latency, p.adam_interval()), (34, 377, 377));
        assert_eq!(p.update_cycles(), (1375 * 45 + 1 + 58 + 8) + (1375 * 377 + 1 + 34 + 377 + 8) + 156 + 2);
        assert_eq!(p.update_cycles(), 580895);
        // g reaches the norm unit once an interval: its limb products fit between two
        assert!(p.sgd.interval > p.norm.limbs * p.norm.limbs);
    }

    #[test]
    fn paper_core_meets_the_cycle_target() {
        let p = CoreParams::new(&Config::shipped("paper")).unwrap();
        assert_eq!((p.kt, p.nt, p.ideal_step_cycles), (24, 16, 768));
        let ratio = p.sample_cycles() / p.ideal_sample_cycles();
        assert!(ratio < 1.15, "{ratio}");
    }

    #[test]
    fn lanes_share_the_weight_walk() {
        let lanes = Config::from_yaml_file(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/core_lanes.yaml"),
        )
        .unwrap();
        let p = CoreParams::new(&lanes).unwrap();
        assert_eq!((p.rows, p.cols, p.lanes, p.kt, p.nt), (2, 2, 3, 40, 8));
        // measured by make cosim-lanes (tb_core checks each against this model, and MINUS_ACC of a
        // group of 2 active lanes against minus_cycles() - ideal_step_cycles)
        assert_eq!((p.free_cycles(), p.minus_cycles(), p.gen_cycles()), (7038, 8841, 7594));
        assert_eq!(p.pass_cycles(), 3 * 40 + 3);
        assert_eq!(p.minus_cycles() - p.free_cycles(), 3 * p.ideal_step_cycles - p.pass_cycles() + ACC_TAIL);
        assert_eq!(p.group_cycles(), 7038 + 7038 + 8841);
        // 3 lanes: a third of one lane's MAC bound, and the same steps
        let mut one = lanes.clone();
        one.hardware.lanes = 1;
        let q = CoreParams::new(&one).unwrap();
        assert_eq!(p.ideal_sample_cycles() * 3.0, q.ideal_sample_cycles());
        assert_eq!(p.step_cycles, q.step_cycles + 2 * (3 - 1));
        // states of lane l at l << state_bits(): 96 neurons take 7 bits, 3 lanes 2 more
        assert_eq!((p.state_bits(), p.lane_w()), (7, 2));
        assert!(p.host_index_w() >= 9);
    }

    #[test]
    fn cycles_of_the_tiny_core_as_the_cosimulation_measures_them() {
        let p = CoreParams::new(&Config::shipped("tiny")).unwrap();
        let c = Cycles::of(&p, 2);
        // make cosim CONFIG=tiny: FREE 4008 + PLUS 4008 + MINUS_ACC 4151, UPDATE 580895
        assert_eq!(c.phases, 4008 + 4008 + 4151);
        let update = 580895 + UPDATE_CONSTANT_WRITES + ADAM_STEP_WRITES;
        assert_eq!(c.update, update);
        assert_eq!(c.host_writes, 128);
        assert_eq!(c.per_sample, (12167 + 128) as f64 + update as f64 / 2.0);
        assert!((c.samples_per_s(100.0) - 1e8 / c.per_sample).abs() < 1e-9);
        assert!((c.mhz_for(c.samples_per_s(37.0)) - 37.0).abs() < 1e-9);
    }
}
