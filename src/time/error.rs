//! The error of a timeout.

use std::error::Error;
use std::fmt;

/// The error returned by [`Timeout`](super::Timeout) when its deadline passed before the
/// inner future completed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::{timeout, Elapsed};
///
/// let never = std::future::pending::<()>();
/// let result = fiber::block_on(timeout(Duration::from_millis(5), never));
/// assert_eq!(result, Err(Elapsed));
/// assert_eq!(Elapsed.to_string(), "deadline elapsed before the future completed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed before the future completed")
    }
}

impl Error for Elapsed {}
