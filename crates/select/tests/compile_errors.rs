//! Misused `select!` macros fail to compile with a message that says what
//! to write instead. Each case is a file in `tests/ui/` with the expected
//! compiler output beside it; `TRYBUILD=overwrite` regenerates them after a
//! deliberate change of wording.

#[test]
#[cfg_attr(
    miri,
    ignore = "trybuild runs rustc on each case, which Miri cannot do"
)]
fn macro_misuse_gives_readable_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
