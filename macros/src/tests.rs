//! The shape of the expansion: what the runtime tests in fiber cannot see (attributes kept,
//! builder calls emitted only when asked for) and the stand-in left behind by a mistake.

use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::ItemFn;

use crate::args::Kind;
use crate::expand::expand;

fn expand_fn(kind: Kind, arguments: TokenStream, item: TokenStream) -> ItemFn {
    let output = expand(kind, arguments, item);
    syn::parse2(output.clone())
        .unwrap_or_else(|error| panic!("the expansion is not a single fn ({error}): {output}"))
}

fn attributes(function: &ItemFn) -> Vec<String> {
    function
        .attrs
        .iter()
        .map(|attribute| attribute.to_token_stream().to_string())
        .collect()
}

/// The body as a string with the spaces that `to_string` puts between tokens removed.
fn compact_body(function: &ItemFn) -> String {
    function
        .block
        .to_token_stream()
        .to_string()
        .replace(' ', "")
}

#[test]
fn test_keeps_the_other_attributes_and_adds_test() {
    let function = expand_fn(
        Kind::Test,
        quote!(),
        quote! {
            /// Docs.
            #[ignore = "slow"]
            #[should_panic(expected = "boom")]
            pub async fn checks() -> Result<(), String> { Ok(()) }
        },
    );
    let attributes = attributes(&function);
    assert_eq!(attributes.len(), 4, "{attributes:?}");
    assert!(attributes[0].contains("Docs."), "{attributes:?}");
    assert!(attributes[1].starts_with("# [ignore"), "{attributes:?}");
    assert!(
        attributes[2].starts_with("# [should_panic"),
        "{attributes:?}"
    );
    assert_eq!(attributes[3], "# [:: core :: prelude :: v1 :: test]");
}

#[test]
fn the_function_keeps_its_name_visibility_and_return_type_and_loses_async() {
    let function = expand_fn(
        Kind::Main,
        quote!(),
        quote!(
            pub(crate) async fn start() -> std::io::Result<u8> {
                Ok(1)
            }
        ),
    );
    assert!(function.sig.asyncness.is_none());
    assert_eq!(function.sig.ident, "start");
    assert_eq!(function.vis.to_token_stream().to_string(), "pub (crate)");
    assert_eq!(
        function.sig.output.to_token_stream().to_string(),
        "-> std :: io :: Result < u8 >"
    );
    assert!(attributes(&function).is_empty(), "main adds no attribute");
}

#[test]
fn main_builds_a_multi_thread_runtime_and_a_test_a_current_thread_one() {
    let main = expand_fn(
        Kind::Main,
        quote!(),
        quote!(
            async fn main() {}
        ),
    );
    assert!(compact_body(&main).contains("::fiber::Builder::new_multi_thread()"));
    let test = expand_fn(
        Kind::Test,
        quote!(),
        quote!(
            async fn t() {}
        ),
    );
    assert!(compact_body(&test).contains("::fiber::Builder::new_current_thread()"));
}

#[test]
fn worker_threads_alone_asks_for_a_multi_thread_runtime_of_that_size() {
    let test = expand_fn(
        Kind::Test,
        quote!(worker_threads = 3),
        quote!(
            async fn t() {}
        ),
    );
    assert!(compact_body(&test).contains("Builder::new_multi_thread().worker_threads(3usize)"));
}

#[test]
fn start_paused_is_called_only_when_given() {
    let plain = expand_fn(
        Kind::Test,
        quote!(),
        quote!(
            async fn t() {}
        ),
    );
    assert!(!compact_body(&plain).contains("start_paused"));
    let paused = expand_fn(
        Kind::Test,
        quote!(start_paused = true),
        quote!(
            async fn t() {}
        ),
    );
    assert!(compact_body(&paused).contains(".start_paused(true)"));
}

#[test]
fn timeout_runs_the_body_through_the_watchdog() {
    let test = expand_fn(
        Kind::Test,
        quote!(timeout_ms = 250),
        quote!(
            async fn slow() {}
        ),
    );
    assert!(compact_body(&test).contains("::fiber::__private::run_with_timeout(\"slow\",250u64,"));
}

#[test]
fn crate_replaces_the_path_to_fiber() {
    let main = expand_fn(
        Kind::Main,
        quote!(crate = "my::fiber"),
        quote!(
            async fn main() {}
        ),
    );
    let body = compact_body(&main);
    assert!(body.contains("my::fiber::Builder::"), "{body}");
    assert!(body.contains("my::fiber::__private::block_on("), "{body}");
    // Every path to fiber is the renamed one.
    assert_eq!(
        body.matches("::fiber::").count(),
        body.matches("my::fiber::").count(),
        "{body}"
    );
}

#[test]
fn a_mistake_leaves_a_plain_fn_beside_the_error() {
    let output = expand(
        Kind::Main,
        quote!(flavor = "sideways"),
        quote!(
            async fn main() {}
        ),
    );
    let text = output.to_string();
    assert!(text.contains("compile_error"), "{text}");
    assert!(text.contains("unknown flavor"), "{text}");
    assert!(text.contains("fn main ()"), "{text}");
    assert!(!text.contains("async"), "{text}");
}
