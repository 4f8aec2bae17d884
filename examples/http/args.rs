//! The command line of the `http` and `http_tokio` examples.

use std::num::NonZeroUsize;

/// Where the server listens when neither the command line nor `HTTP_ADDR` says.
const DEFAULT_ADDRESS: &str = "127.0.0.1:3000";

/// What the command line asked for.
#[derive(Debug)]
pub struct Args {
    /// `host:port` to listen on.
    pub address: String,
    /// Worker threads of the server's runtime.
    pub workers: usize,
}

/// Reads `[ADDRESS] [--workers N]` from the command line; `ADDRESS` falls back to the
/// `HTTP_ADDR` variable, then to 127.0.0.1:3000, and the workers to one per CPU. Exits with a
/// usage message on anything else.
pub fn parse(program: &str) -> Args {
    let usage = |problem: String| -> ! {
        eprintln!("{program}: {problem}");
        eprintln!("usage: {program} [ADDRESS] [--workers N]   (ADDRESS also from $HTTP_ADDR; default {DEFAULT_ADDRESS})");
        std::process::exit(2)
    };
    let mut address = None;
    let mut workers = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--workers" => {
                let value = args
                    .next()
                    .unwrap_or_else(|| usage("--workers needs a number".into()));
                match value.parse::<NonZeroUsize>() {
                    Ok(n) => workers = Some(n.get()),
                    Err(_) => usage(format!(
                        "--workers takes a number of at least 1, not {value:?}"
                    )),
                }
            }
            "-h" | "--help" => usage("serves GET / and GET /json over HTTP/1.1".into()),
            _ if arg.starts_with('-') => usage(format!("unknown option {arg:?}")),
            _ if address.is_none() => address = Some(arg),
            _ => usage(format!("one address only; {arg:?} is one too many")),
        }
    }
    let address = address
        .or_else(|| std::env::var("HTTP_ADDR").ok())
        .unwrap_or_else(|| DEFAULT_ADDRESS.to_string());
    let workers = workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get));
    Args { address, workers }
}
