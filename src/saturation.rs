//! Saturation (or wrap) counts of the fixed-point datapath, per signal class: what a user reads
//! to see which format is too narrow.

use std::ops::AddAssign;

/// The signal classes whose requantizations can overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A neuron's drive (dot product plus bias) requantized to the state format.
    Drive,
    /// `rho'(h) * drive` of a hidden unit, or `coeff * x` of a visible one.
    Product,
    /// A neuron state after its update.
    State,
    /// The spring-and-nudge pull of a visible unit.
    Pull,
    /// The scaled EP gradient.
    Gradient,
    /// SGD momentum or Adam's first moment.
    Moment,
    /// Adam's second moment.
    SecondMoment,
    /// A parameter after its update.
    Weight,
}

impl Signal {
    pub const ALL: [Signal; 8] = [
        Signal::Drive,
        Signal::Product,
        Signal::State,
        Signal::Pull,
        Signal::Gradient,
        Signal::Moment,
        Signal::SecondMoment,
        Signal::Weight,
    ];

    /// Column name in `saturation.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Drive => "drive",
            Signal::Product => "product",
            Signal::State => "state",
            Signal::Pull => "pull",
            Signal::Gradient => "gradient",
            Signal::Moment => "moment",
            Signal::SecondMoment => "second_moment",
            Signal::Weight => "weight",
        }
    }
}

/// Overflow counts per [`Signal`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saturations([u64; Signal::ALL.len()]);

impl Saturations {
    /// Counts `n` overflows of `s`.
    #[inline]
    pub fn add(&mut self, s: Signal, n: u64) {
        self.0[s as usize] += n;
    }

    pub fn get(&self, s: Signal) -> u64 {
        self.0[s as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl AddAssign for Saturations {
    fn add_assign(&mut self, other: Saturations) {
        self.0.iter_mut().zip(other.0).for_each(|(a, b)| *a += b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_per_class() {
        let mut a = Saturations::default();
        a.add(Signal::State, 3);
        a.add(Signal::Weight, 1);
        let mut b = Saturations::default();
        b.add(Signal::State, 2);
        b += a;
        assert_eq!((b.get(Signal::State), b.get(Signal::Weight), b.get(Signal::Drive)), (5, 1, 0));
        assert_eq!(b.total(), 6);
        let names: Vec<_> = Signal::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(names.len(), 8);
        assert!(Signal::ALL.iter().enumerate().all(|(i, &s)| s as usize == i));
    }
}
