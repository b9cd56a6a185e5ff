//! What only a terminal program needs: flag parsers for the library's [`Choice`]s, the progress
//! bar, and the Ctrl-C handler.

use crate::choice::Choice;
use crate::progress::Progress;
use anyhow::{Context, Result};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag parser for the choice `T`: its names, each with its help line in `--help`.
pub fn choice<T: Choice>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::ALL.iter().map(|c| PossibleValue::new(c.name()).help(c.help())))
        .map(|name| T::of_name(&name).expect("clap accepts only the possible values"))
}

/// A progress bar on standard error: `template` is indicatif's (`{pos}`, `{len}`, `{msg}`, ...).
pub struct Bar {
    bar: ProgressBar,
    /// Cleared when the work finishes (else left showing its end).
    transient: bool,
}

impl Bar {
    /// A bar left showing its end when the work finishes.
    pub fn new(template: &str) -> Bar {
        Bar::with(template, false)
    }

    /// A bar cleared when the work finishes.
    pub fn transient(template: &str) -> Bar {
        Bar::with(template, true)
    }

    fn with(template: &str, transient: bool) -> Bar {
        let bar = ProgressBar::new(0);
        bar.set_style(ProgressStyle::with_template(template).expect("a valid progress template"));
        Bar { bar, transient }
    }
}

impl Progress for Bar {
    fn start(&self, done: u64, total: u64) {
        self.bar.set_length(total);
        self.bar.set_position(done);
        self.bar.reset_eta();
    }

    fn advance(&self, message: &str) {
        if !message.is_empty() {
            self.bar.set_message(message.to_string());
        }
        self.bar.inc(1);
    }

    fn finish(&self) {
        match self.transient {
            true => self.bar.finish_and_clear(),
            false => self.bar.finish(),
        }
    }

    fn abandon(&self) {
        self.bar.abandon();
    }
}

/// A flag set by the first Ctrl-C (SIGINT) or SIGTERM, so training stops at the end of its
/// epoch with a checkpoint; a second one exits at once (status 130).
pub fn stop_on_interrupt() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: quitting now; the last checkpoint written stays");
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping at the end of this epoch with a checkpoint (again to quit now)");
    })
    .context("installing the Ctrl-C handler")?;
    Ok(stop)
}
