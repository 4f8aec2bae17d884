//! Misuse of `#[fiber::main]` and `#[fiber::test]` fails to compile, with a message at the
//! offending token. The expected messages are the `.stderr` files beside the cases in
//! `tests/ui/` (of this crate); regenerate them with `TRYBUILD=overwrite` and read the diff.

#[test]
fn attribute_misuse_is_a_compile_error_at_the_offending_token() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
