//! Helpers shared by the integration tests.

/// Loop counts: small under Miri (`cargo xtask miri`), large natively.
pub(crate) const fn scale(miri: usize, native: usize) -> usize {
    if cfg!(miri) { miri } else { native }
}

/// The chi-square statistic of `counts` against equal expected counts.
pub(crate) fn chi_square(counts: &[u32]) -> f64 {
    let total: u32 = counts.iter().sum();
    let expected = f64::from(total) / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum()
}
