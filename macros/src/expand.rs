//! Turns an `async fn` into a plain `fn` that builds a runtime and blocks on the body.
//!
//! The expansion of
//!
//! ```text
//! #[fiber::test(worker_threads = 2)]
//! async fn name() -> R { body }
//! ```
//!
//! is, in outline,
//!
//! ```text
//! #[::core::prelude::v1::test]
//! fn name() -> R {
//!     ::fiber::__private::block_on(
//!         "#[fiber::test]",
//!         &mut ::fiber::Builder::new_multi_thread().worker_threads(2),
//!         async move { body },
//!     )
//! }
//! ```
//!
//! so the function keeps its name, visibility, return type and other attributes. With
//! `timeout_ms`, that call runs inside `__private::run_with_timeout` on a thread of its own.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Attribute, Block, ItemFn};

use crate::args::{Arguments, Config, Errors, Flavor, Kind};

/// Expands the attribute `kind` with `arguments` on `item`.
///
/// On a mistake, the error comes with a stand-in for the function, so that the rest of the
/// crate still compiles and the user sees this error rather than a cascade of others.
pub(crate) fn expand(kind: Kind, arguments: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                format!("`{}` goes on an `async fn`", kind.attribute()),
            );
            return error.to_compile_error();
        }
    };
    let mut errors = Errors::default();
    let config = errors.record(
        syn::parse2::<Arguments>(arguments).and_then(|arguments| Config::new(kind, arguments)),
    );
    errors.record(check_signature(kind, &function));
    match (errors.finish(), config) {
        (Ok(()), Some(config)) => expand_function(kind, &config, function),
        (Err(error), _) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(stand_in(function));
            tokens
        }
        (Ok(()), None) => unreachable!("a failed argument parse records an error"),
    }
}

/// The shapes of function that the attributes cannot turn into a plain `fn`.
fn check_signature(kind: Kind, function: &ItemFn) -> syn::Result<()> {
    let attribute = kind.attribute();
    let signature = &function.sig;
    let mut errors = Errors::default();
    if signature.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            &signature.fn_token,
            format!("`{attribute}` goes on an `async fn`: add `async` before `fn`"),
        ));
    }
    if !signature.inputs.is_empty() {
        errors.push(syn::Error::new_spanned(
            &signature.inputs,
            format!(
                "a `{attribute}` function cannot take arguments: nothing would pass them; \
                 build the values inside the function"
            ),
        ));
    }
    if !signature.generics.params.is_empty() || signature.generics.where_clause.is_some() {
        errors.push(syn::Error::new_spanned(
            &signature.generics,
            format!("a `{attribute}` function cannot be generic"),
        ));
    }
    if kind == Kind::Test {
        if let Some(test) = function.attrs.iter().find(|attr| is_test_attribute(attr)) {
            errors.push(syn::Error::new_spanned(
                test,
                "`#[fiber::test]` already marks the function as a test: remove this `#[test]`",
            ));
        }
    }
    errors.finish()
}

fn is_test_attribute(attribute: &Attribute) -> bool {
    let path = attribute.path();
    path.segments
        .last()
        .is_some_and(|last| last.ident == "test")
        && (path.segments.len() == 1
            || path.segments.iter().any(|segment| segment.ident == "core")
            || path.segments.iter().any(|segment| segment.ident == "std"))
}

/// The function as a plain `fn` that never returns: what a broken attribute leaves behind.
fn stand_in(mut function: ItemFn) -> TokenStream {
    function.sig.asyncness = None;
    function.block = syn::parse_quote!({ ::core::panic!() });
    // The arguments of a stand-in go unused; one warning more would only distract.
    function
        .attrs
        .push(syn::parse_quote!(#[allow(unused_variables)]));
    function.into_token_stream()
}

/// Where the body's value comes from: the first token of its last statement, or the closing
/// brace of an empty body.
fn body_value_span(block: &Block) -> Span {
    block
        .stmts
        .last()
        .and_then(|statement| statement.to_token_stream().into_iter().next())
        .map_or_else(|| block.brace_token.span.close(), |token| token.span())
}

/// `tokens`, every one of them (and those inside groups) spanned at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

fn expand_function(kind: Kind, config: &Config, mut function: ItemFn) -> TokenStream {
    let fiber = &config.crate_path;
    let attribute = kind.attribute();
    let block = &function.block;

    let mut builder = match config.flavor {
        Flavor::MultiThread => quote!(#fiber::Builder::new_multi_thread()),
        Flavor::CurrentThread => quote!(#fiber::Builder::new_current_thread()),
    };
    if let Some(workers) = config.worker_threads {
        builder.extend(quote!(.worker_threads(#workers)));
    }
    if let Some(paused) = config.start_paused {
        builder.extend(quote!(.start_paused(#paused)));
    }

    // Spanned at the body's last statement, so that a body whose type differs from the
    // declared return type is reported there rather than at the attribute. The call's span
    // is that of its first token, the crate path, so that path is spanned there too.
    let value_span = body_value_span(block);
    let fiber_at_value = respan(fiber.to_token_stream(), value_span);
    let run = quote_spanned! {value_span=>
        #fiber_at_value::__private::block_on(#attribute, &mut #builder, async move #block)
    };
    let body = match config.timeout_ms {
        None => run,
        Some(timeout_ms) => {
            let name = function.sig.ident.to_string();
            quote! {
                #fiber::__private::run_with_timeout(#name, #timeout_ms, move || #run)
            }
        }
    };

    function.sig.asyncness = None;
    let test_attribute = match kind {
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => TokenStream::new(),
    };
    let ItemFn {
        attrs, vis, sig, ..
    } = function;
    quote! {
        #(#attrs)*
        #test_attribute
        #vis #sig {
            #body
        }
    }
}
