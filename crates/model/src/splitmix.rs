//! SplitMix64: a tiny generator with a fixed output, for fixtures, benchmark data and
//! dropout streams that must never change with a dependency's version.

/// Advances `state` by the golden-ratio increment and returns the mixed value.
pub fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_the_reference_sequence_from_seed_zero() {
        // The first outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
        let mut s = 0u64;
        assert_eq!(super::next(&mut s), 0xE220_A839_7B1D_CDAF);
        assert_eq!(super::next(&mut s), 0x6E78_9E6A_A1B9_65F4);
    }
}
