//! The I/O driver that a runtime's workers poll (see [`crate::io`] for the design): one
//! `mio::Poll` per runtime, and the readiness word of each registered source.

pub(crate) mod driver;
pub(crate) mod scheduled_io;
#[cfg(test)]
mod tests;
