//! Closed sets of named choices (the arithmetic, the optimizer, the schedule, ...), named once in
//! the library: a config file spells them by [`Choice::name`], and `commands::terminal::choice`
//! builds the flag parsers and `--help` from [`Choice::ALL`], so the core modules need no
//! command-line crate.

/// A value picked by name from a fixed list.
pub trait Choice: Copy + PartialEq + Send + Sync + 'static {
    /// Every choice, in the order `--help` lists them.
    const ALL: &'static [Self];

    /// The name a command line and a config file use.
    fn name(self) -> &'static str;

    /// What it means, one line (`--help`).
    fn help(self) -> &'static str;

    /// The choice called `name`.
    fn of_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Pick {
        A,
        B,
    }

    impl Choice for Pick {
        const ALL: &'static [Pick] = &[Pick::A, Pick::B];
        fn name(self) -> &'static str {
            match self {
                Pick::A => "a",
                Pick::B => "b",
            }
        }
        fn help(self) -> &'static str {
            "a letter"
        }
    }

    #[test]
    fn a_choice_is_found_by_its_name_only() {
        assert_eq!(Pick::of_name("b"), Some(Pick::B));
        assert_eq!(Pick::of_name("c"), None);
    }
}
