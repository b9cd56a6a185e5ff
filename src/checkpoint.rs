//! Checkpoints: everything a run needs to continue bit for bit (config, parameters, Adam state,
//! epochs done, loss history). The random state is `(train.seed, epochs_done)`: each epoch's
//! stream is derived from those two numbers alone (see [`crate::flow::epoch_rng`]).
//!
//! Stored as JSON, values in f64 (an f32 run round-trips exactly, and so does a fixed-point run:
//! its values are integers times a power of two of at most 53 significant bits).

use crate::arith::{Arith, SavedOptimizer};
use crate::config::Config;
use crate::error::Error;
use crate::io::atomic_write;
use crate::model::{Dims, Params};
use serde::{Deserialize, Serialize};
use std::path::Path;

const FORMAT: &str = "floweqprop-checkpoint-v1";

/// One line of the loss history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean of `(v - u)^2` over the batch and pixels, at the parameters before this epoch's update.
    pub loss: f64,
    /// Global norm of the EP gradient before clipping.
    pub grad_norm: f64,
    pub lr: f64,
    pub seconds: f64,
}

impl EpochRecord {
    pub const CSV_HEADER: &'static str = "epoch,loss,grad_norm,lr,seconds";

    pub fn csv_line(&self) -> String {
        format!("{},{},{},{},{:.4}", self.epoch, self.loss, self.grad_norm, self.lr, self.seconds)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    /// Precision of the run that wrote it ("f32" or "f64").
    pub precision: String,
    pub config: Config,
    pub epochs_done: usize,
    /// Parameter values (a fixed-point run's are exact multiples of its weight LSB).
    pub params: Params<f64>,
    /// The optimizer's state (its fields `adam`, `sgd` or `fixed_optimizer` sit at the top level).
    #[serde(flatten)]
    pub optimizer: SavedOptimizer,
    pub history: Vec<EpochRecord>,
}

impl Checkpoint {
    pub fn new<A: Arith>(
        a: &A,
        config: &Config,
        epochs_done: usize,
        params: &Params<A::Num>,
        optimizer: &A::Optimizer,
        history: &[EpochRecord],
    ) -> Checkpoint {
        Checkpoint {
            format: FORMAT.to_string(),
            precision: a.name().to_string(),
            config: config.clone(),
            epochs_done,
            params: params.map(|v| a.param_value(v)),
            optimizer: a.save_optimizer(optimizer),
            history: history.to_vec(),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), Error> {
        let json = serde_json::to_vec(self).expect("a checkpoint always serialises");
        atomic_write(path, &json)
    }

    /// Reads and checks a checkpoint: format, config, shapes, finite values.
    pub fn load(path: &Path) -> Result<Checkpoint, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let ck: Checkpoint = serde_json::from_slice(&bytes)
            .map_err(|e| Error::checkpoint(path, format!("not a readable checkpoint: {e}")))?;
        if ck.format != FORMAT {
            return Err(Error::checkpoint(path, format!("format {:?}, expected {FORMAT:?}", ck.format)));
        }
        ck.config.validate().map_err(|e| Error::checkpoint(path, e))?;
        let d = Dims::of(&ck.config.model);
        let mut tensors = vec![("params", &ck.params)];
        if let Some(adam) = &ck.optimizer.adam {
            tensors.extend([("adam.m", &adam.m), ("adam.v", &adam.v)]);
        }
        if let Some(sgd) = &ck.optimizer.sgd {
            tensors.push(("sgd.m", &sgd.m));
        }
        for (what, p) in tensors {
            if !p.has_dims(d) {
                return Err(Error::checkpoint(path, format!("{what} do not have the config's layer sizes")));
            }
            if !p.values().all(f64::is_finite) {
                return Err(Error::checkpoint(path, format!("{what} hold non-finite values")));
            }
        }
        if ck.history.len() != ck.epochs_done {
            return Err(Error::checkpoint(path, "history length differs from epochs_done"));
        }
        Ok(ck)
    }

    /// The parameters in the arithmetic `a`.
    pub fn params<A: Arith>(&self, a: &A) -> Params<A::Num> {
        self.params.map(|v| a.param(v))
    }
}
