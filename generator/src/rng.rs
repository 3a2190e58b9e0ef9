//! The generator's own pseudo-random numbers and content hashes.
//!
//! Holds a SplitMix64 generator ([`Rng`]), a keyed 64-bit hash ([`hash64`]) and the formatting of
//! the random-looking identifiers AWS uses (access key ids, principal ids, UUIDs, hex ids).
//! It does not hold any CloudTrail shape; see `cloudtrail.rs`.
//!
//! Why not the `rand` crate: the output of this crate is committed (`fixtures/demo`) and compared
//! byte for byte, so the sequence a seed produces must never change. `rand` documents that its
//! value-generation algorithms (ranges, floats, shuffles) may change between minor versions;
//! fifteen lines of SplitMix64 we own cannot.

/// Characters of AWS access key ids and unique ids after the prefix (`AKIA`, `AROA`, ...).
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Characters of the random suffix in CloudTrail log file names.
const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8; 16] = b"0123456789abcdef";

/// A deterministic SplitMix64 pseudo-random generator (Steele, Lea, Flood 2014).
///
/// Not cryptographic; fast, full period 2^64, and stable forever (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator whose sequence depends only on `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent generator for one part of the output, so that changing how much one part
    /// draws does not shift the numbers every other part sees.
    pub(crate) fn fork(&self, label: &str) -> Self {
        Self::new(hash64(label.as_bytes(), self.state))
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A number in `0..n` (0 when `n` is 0). Uses the multiply-shift reduction, whose bias is
    /// below 2^-40 for the ranges used here.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = hi.abs_diff(lo).saturating_add(1);
        lo.wrapping_add(self.below(span) as i64)
    }

    /// A float in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of `items`. Callers pass literal, non-empty tables; an empty slice is a
    /// programming error and panics on the index.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// `len` characters drawn from `alphabet`.
    fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len).map(|_| char::from(*self.pick(alphabet))).collect()
    }

    /// An AWS-style id: `prefix` followed by `len` characters of `[A-Z2-7]`
    /// (`AKIA` + 16 for access keys, `AIDA`/`AROA` + 17 for unique ids).
    pub(crate) fn aws_id(&mut self, prefix: &str, len: usize) -> String {
        let mut id = String::with_capacity(prefix.len() + len);
        id.push_str(prefix);
        id.push_str(&self.chars(BASE32, len));
        id
    }

    /// `len` lowercase hex digits.
    pub(crate) fn hex(&mut self, len: usize) -> String {
        self.chars(HEX, len)
    }

    /// `len` uppercase hex digits (S3 request ids).
    pub(crate) fn upper_hex(&mut self, len: usize) -> String {
        self.hex(len).to_ascii_uppercase()
    }

    /// A random version-4-shaped UUID, lowercase.
    pub(crate) fn uuid(&mut self) -> String {
        uuid_from_bits(self.next_u64(), self.next_u64())
    }
}

/// The SplitMix64 output function: a bijective avalanche of 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A keyed 64-bit content hash (FNV-1a folded through [`mix64`]). Stable across platforms and
/// releases, unlike `std`'s `DefaultHasher`.
pub(crate) fn hash64(bytes: &[u8], key: u64) -> u64 {
    let mut h = 0xCBF2_9CE4_8422_2325_u64 ^ mix64(key);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix64(h)
}

/// A version-4-shaped UUID derived from the content `bytes`, for ids that must follow from other
/// fields (EventBridge envelope ids).
pub(crate) fn uuid_from_content(bytes: &[u8]) -> String {
    uuid_from_bits(hash64(bytes, 0x5555), hash64(bytes, 0xAAAA))
}

/// `len` alphanumeric characters derived from the content `bytes` (log file name suffixes).
pub(crate) fn alnum_from_content(bytes: &[u8], len: usize) -> String {
    let mut rng = Rng::new(hash64(bytes, 0x0A1E));
    rng.chars(ALNUM, len)
}

/// Formats 128 bits as `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx` with RFC 4122 version and variant.
fn uuid_from_bits(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    let mut out = String::with_capacity(36);
    for (i, word) in [hi, lo].into_iter().enumerate() {
        for nibble in 0..16 {
            // Dashes after hex digits 8, 12, 16 and 20.
            let position = i * 16 + nibble;
            if matches!(position, 8 | 12 | 16 | 20) {
                out.push('-');
            }
            let value = (word >> (60 - 4 * nibble)) & 0xF;
            out.push(char::from(HEX[value as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_stable_values() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        // Pinned: a change here changes every committed fixture.
        assert_eq!(Rng::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn ranges_stay_in_bounds() {
        let mut rng = Rng::new(1);
        for _ in 0..10_000 {
            assert!(rng.below(5) < 5);
            let r = rng.range(-3, 3);
            assert!((-3..=3).contains(&r));
        }
        assert_eq!(rng.range(4, 2), 4);
        assert_eq!(rng.below(0), 0);
    }

    #[test]
    fn ids_have_aws_shapes() {
        let mut rng = Rng::new(3);
        let key = rng.aws_id("AKIA", 16);
        assert_eq!(key.len(), 20);
        assert!(key[4..].bytes().all(|b| BASE32.contains(&b)));
        let uuid = rng.uuid();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(uuid_from_content(b"x"), uuid_from_content(b"x"));
        assert_ne!(uuid_from_content(b"x"), uuid_from_content(b"y"));
        assert_eq!(alnum_from_content(b"k", 16).len(), 16);
        assert_eq!(
            uuid_from_bits(0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210),
            "01234567-89ab-4def-bedc-ba9876543210"
        );
    }
}
