//! How long work reports its progress without the library drawing anything itself: the caller
//! passes a [`Progress`] (the commands' is `commands::terminal::Bar`) or none, and the work reports the units
//! it finishes (epochs, Euler steps). Where nothing is shown (no terminal: a log), the work
//! prints its own occasional lines instead.

/// A progress display over a known number of units.
pub trait Progress: Send + Sync {
    /// The work has `total` units, `done` of them already finished (a resumed run).
    fn start(&self, done: u64, total: u64);
    /// One more unit finished; `message` describes the latest one (may be empty).
    fn advance(&self, message: &str);
    /// All units finished: the display may go.
    fn finish(&self);
    /// The work stopped early (interrupted, failed): the display stays as it is.
    fn abandon(&self);
}
