//! The library's error type: each variant says what was wrong and where (file, field, value).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    // the OS error is part of the message, not a `source`: a chain would print it twice
    #[error("{path}: {err}")]
    Io { path: PathBuf, err: std::io::Error },

    #[error("config {origin}: {message}")]
    Config { origin: String, message: String },

    #[error("invalid value for {field}: {value}: {why}")]
    Invalid { field: String, value: String, why: String },

    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },

    #[error("{origin}: {message}")]
    Data { origin: String, message: String },

    #[error(
        "training diverged at epoch {epoch} in the {phase} phase (non-finite values); \
         the last good checkpoint is kept"
    )]
    Diverged { epoch: usize, phase: String },

    #[error(
        "interrupted after epoch {epochs_done} of {epochs}; checkpoint written: continue with \
         `floweqprop train --resume {}`", out.display()
    )]
    Interrupted { epochs_done: usize, epochs: usize, out: PathBuf },
}

impl Error {
    pub fn io(path: &Path, err: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), err }
    }

    pub fn invalid(field: &str, value: impl ToString, why: &str) -> Error {
        Error::Invalid { field: field.to_string(), value: value.to_string(), why: why.to_string() }
    }

    /// What is wrong in the file `origin` (a missing or malformed field, a failed stage).
    pub fn data(origin: &Path, message: impl ToString) -> Error {
        Error::Data { origin: origin.display().to_string(), message: message.to_string() }
    }

    pub fn checkpoint(path: &Path, message: impl ToString) -> Error {
        Error::Checkpoint { path: path.to_path_buf(), message: message.to_string() }
    }

    /// Puts a validation error in the context of the file it came from.
    pub fn within(self, origin: &str) -> Error {
        match self {
            Error::Invalid { .. } => Error::Config { origin: origin.to_string(), message: self.to_string() },
            other => other,
        }
    }
}
