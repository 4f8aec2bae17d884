//! [`Evented`]: a mio source together with its registration, deregistered when dropped.

use std::io;

use mio::event::Source;

use super::registration::Registration;
use crate::runtime::Handle;

/// A mio source registered with a runtime's driver. Every socket type is one of these.
pub(crate) struct Evented<E: Source> {
    /// `None` only after `into_inner` took it out (the drop then has nothing to do).
    io: Option<E>,
    registration: Registration,
}

impl<E: Source> Evented<E> {
    /// Registers `io` with the current runtime, or the global one outside any runtime.
    pub(crate) fn new(mut io: E) -> io::Result<Evented<E>> {
        let registration = Registration::new(&mut io)?;
        Ok(Evented {
            io: Some(io),
            registration,
        })
    }

    /// Registers `io` with `handle`'s runtime.
    pub(crate) fn with_handle(mut io: E, handle: Handle) -> io::Result<Evented<E>> {
        let registration = Registration::with_handle(&mut io, handle)?;
        Ok(Evented {
            io: Some(io),
            registration,
        })
    }

    pub(crate) fn get_ref(&self) -> &E {
        self.io
            .as_ref()
            .expect("an Evented holds its source until into_inner")
    }

    pub(crate) fn get_mut(&mut self) -> &mut E {
        self.io
            .as_mut()
            .expect("an Evented holds its source until into_inner")
    }

    /// The source, mutably, beside its registration (to run an operation inside
    /// `Registration::poll_io`).
    pub(crate) fn split_mut(&mut self) -> (&mut E, &Registration) {
        let io = self
            .io
            .as_mut()
            .expect("an Evented holds its source until into_inner");
        (io, &self.registration)
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.registration
    }

    /// Deregisters the source and hands it back.
    pub(crate) fn into_inner(mut self) -> E {
        let mut io = self
            .io
            .take()
            .expect("an Evented holds its source until into_inner");
        self.registration.deregister(&mut io);
        io
    }
}

impl<E: Source> Drop for Evented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.registration.deregister(&mut io);
        }
    }
}
