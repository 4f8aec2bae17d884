//! The arguments of `#[fiber::main(...)]` and `#[fiber::test(...)]`: parsed, checked, and
//! resolved into the runtime the expansion builds.
//!
//! Every mistake is reported at the token that caused it, and all mistakes of one attribute
//! are reported together, so that a user fixes them in one round.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, Path, Token};

/// Which attribute is being expanded: they accept different arguments and default to
/// different runtimes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Main,
    Test,
}

impl Kind {
    /// The attribute as the user wrote it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Kind::Main => "#[fiber::main]",
            Kind::Test => "#[fiber::test]",
        }
    }

    fn accepts(self, name: &str) -> bool {
        match name {
            "worker_threads" | "flavor" | "start_paused" | "crate" => true,
            "timeout_ms" => self == Kind::Test,
            _ => false,
        }
    }

    fn expected_arguments(self) -> &'static str {
        match self {
            Kind::Main => "`worker_threads`, `flavor`, `start_paused` or `crate`",
            Kind::Test => "`worker_threads`, `flavor`, `timeout_ms`, `start_paused` or `crate`",
        }
    }
}

/// The runtime flavors a user may ask for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_multi_thread()`: a pool of workers.
    MultiThread,
    /// `Builder::new_current_thread()`: one worker.
    CurrentThread,
}

/// One `name = value` pair, unchecked.
struct Argument {
    name: Ident,
    value: Expr,
}

impl Parse for Argument {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        // `parse_any` so that `crate = "..."` parses: `crate` is a keyword.
        let name = Ident::parse_any(input)?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!("expected `{name} = <value>`: every argument needs a value"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        Ok(Argument { name, value })
    }
}

/// The raw argument list, as written between the parentheses.
pub(crate) struct Arguments(Punctuated<Argument, Token![,]>);

impl Parse for Arguments {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        Punctuated::parse_terminated(input).map(Arguments)
    }
}

/// What the attribute asks for, checked.
pub(crate) struct Config {
    pub(crate) flavor: Flavor,
    pub(crate) worker_threads: Option<usize>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) start_paused: Option<bool>,
    /// The path to the fiber crate, `::fiber` unless renamed with `crate = "..."`.
    pub(crate) crate_path: Path,
}

impl Config {
    /// Checks `arguments` for the attribute `kind`; the error holds every mistake found.
    pub(crate) fn new(kind: Kind, arguments: Arguments) -> syn::Result<Config> {
        let mut errors = Errors::default();
        let mut flavor: Option<(Flavor, Span)> = None;
        let mut worker_threads: Option<(usize, Span)> = None;
        let mut timeout_ms = None;
        let mut start_paused = None;
        let mut crate_path = None;
        let mut seen: Vec<String> = Vec::new();

        for Argument { name, value } in arguments.0 {
            let key = name.to_string();
            if !kind.accepts(&key) {
                errors.push(syn::Error::new(
                    name.span(),
                    unknown_argument_message(kind, &key),
                ));
                continue;
            }
            if seen.contains(&key) {
                errors.push(syn::Error::new(
                    name.span(),
                    format!("`{key}` is given twice: keep one"),
                ));
                continue;
            }
            seen.push(key.clone());
            let span = name.span();
            let parsed = match key.as_str() {
                "worker_threads" => parse_worker_threads(&value).map(|n| {
                    worker_threads = Some((n, span));
                }),
                "flavor" => parse_flavor(&value).map(|f| flavor = Some((f, span))),
                "timeout_ms" => parse_timeout(&value).map(|ms| timeout_ms = Some(ms)),
                "start_paused" => parse_bool(&key, &value).map(|b| start_paused = Some(b)),
                "crate" => parse_crate_path(&value).map(|path| crate_path = Some(path)),
                _ => unreachable!("`Kind::accepts` admitted `{key}`"),
            };
            errors.record(parsed);
        }

        if let (Some((Flavor::CurrentThread, _)), Some((_, span))) = (flavor, worker_threads) {
            errors.push(syn::Error::new(
                span,
                "`worker_threads` cannot be set with `flavor = \"current_thread\"`, which \
                 always has one worker: remove one of the two",
            ));
        }
        errors.finish()?;

        // `worker_threads` alone asks for a pool; otherwise main gets a pool, a test one worker.
        let flavor = match (flavor, worker_threads, kind) {
            (Some((flavor, _)), _, _) => flavor,
            (None, Some(_), _) | (None, None, Kind::Main) => Flavor::MultiThread,
            (None, None, Kind::Test) => Flavor::CurrentThread,
        };
        Ok(Config {
            flavor,
            worker_threads: worker_threads.map(|(n, _)| n),
            timeout_ms,
            start_paused,
            crate_path: crate_path.unwrap_or_else(|| syn::parse_quote!(::fiber)),
        })
    }
}

fn unknown_argument_message(kind: Kind, name: &str) -> String {
    let hint = if name == "timeout_ms" {
        " (`timeout_ms` is only for `#[fiber::test]`)"
    } else {
        ""
    };
    format!(
        "unknown argument `{name}` for `{}`: expected {}{hint}",
        kind.attribute(),
        kind.expected_arguments()
    )
}

fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => Some(lit),
        _ => None,
    }
}

fn parse_worker_threads(value: &Expr) -> syn::Result<usize> {
    let not_an_integer = || {
        syn::Error::new_spanned(
            value,
            "`worker_threads` must be a positive integer literal, like `worker_threads = 4`",
        )
    };
    let Some(Lit::Int(int)) = literal(value) else {
        return Err(not_an_integer());
    };
    match int.base10_parse::<usize>().map_err(|_| not_an_integer())? {
        0 => Err(syn::Error::new_spanned(
            value,
            "`worker_threads = 0`: a runtime needs at least one worker thread",
        )),
        n => Ok(n),
    }
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    let unknown = |what: &str| {
        syn::Error::new_spanned(
            value,
            format!("unknown flavor {what}: expected \"multi_thread\" or \"current_thread\""),
        )
    };
    match literal(value) {
        Some(Lit::Str(flavor)) => match flavor.value().as_str() {
            "multi_thread" => Ok(Flavor::MultiThread),
            "current_thread" => Ok(Flavor::CurrentThread),
            other => Err(unknown(&format!("\"{other}\""))),
        },
        _ => Err(unknown("(not a string)")),
    }
}

fn parse_timeout(value: &Expr) -> syn::Result<u64> {
    let error = || {
        syn::Error::new_spanned(
            value,
            "`timeout_ms` must be a positive integer literal (milliseconds), like \
             `timeout_ms = 5000`",
        )
    };
    match literal(value) {
        Some(Lit::Int(int)) => match int.base10_parse::<u64>() {
            Ok(0) | Err(_) => Err(error()),
            Ok(ms) => Ok(ms),
        },
        _ => Err(error()),
    }
}

fn parse_bool(name: &str, value: &Expr) -> syn::Result<bool> {
    match literal(value) {
        Some(Lit::Bool(flag)) => Ok(flag.value),
        _ => Err(syn::Error::new_spanned(
            value,
            format!("`{name}` must be `true` or `false`"),
        )),
    }
}

fn parse_crate_path(value: &Expr) -> syn::Result<Path> {
    match literal(value) {
        Some(Lit::Str(path)) => path.parse::<Path>().map_err(|_| {
            syn::Error::new_spanned(
                value,
                format!("`crate = \"{}\"` is not a path", path.value()),
            )
        }),
        _ => Err(syn::Error::new_spanned(
            value,
            "`crate` must be a string holding the path to fiber, like `crate = \"my_fiber\"`",
        )),
    }
}

/// Mistakes gathered so far, reported together.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn record<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}
