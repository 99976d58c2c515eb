//! The one seeded generator (xorshift64) of the tests, the property tests and the fuzz
//! oracles: deterministic and dependency-free. Compiled only for them; `tests/support`
//! includes this file too.
#![allow(dead_code)] // each test binary uses its own part

/// A deterministic stream of pseudo-random numbers from a seed.
#[derive(Clone, Debug)]
pub struct Seeded(u64);

impl Seeded {
    /// The stream for `seed` (made odd: xorshift never leaves zero).
    pub fn new(seed: u64) -> Seeded {
        Seeded(seed | 1)
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number below `n` (not 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// `len` bytes, each the low byte of the next number.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
