//! Owning, type-erased references to a task: [`Notified`] (a run-queue entry) and [`Task`]
//! (the owner list's entry).

use std::ptr::NonNull;

use super::cell::Header;
use super::harness;

/// A reference to a task that is scheduled to run: the `NOTIFIED` flag is set on its
/// behalf. Running it consumes the reference; dropping it just releases the reference.
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: tasks only hold `Send` futures and outputs, and every shared field of the header
// is synchronised through the state word, so a reference may move between threads.
unsafe impl Send for Notified {}

impl Notified {
    /// Takes over one reference of the task at `ptr`.
    pub(crate) fn from_raw(ptr: NonNull<Header>) -> Notified {
        Notified(ptr)
    }

    /// Polls the task once (or cancels it, if an abort asked for it).
    pub(crate) fn run(self) {
        let ptr = self.0;
        std::mem::forget(self);
        // SAFETY: we own a reference, which `poll` consumes.
        unsafe { (ptr.as_ref().vtable.poll)(ptr) };
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { harness::release(self.0) };
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Notified").field(&self.0).finish()
    }
}

/// The owner list's reference to a task, which keeps every unfinished task reachable for
/// shutdown.
pub(crate) struct Task(NonNull<Header>);

// SAFETY: as for `Notified`.
unsafe impl Send for Task {}

impl Task {
    /// Takes over one reference of the task at `ptr`.
    pub(crate) fn from_raw(ptr: NonNull<Header>) -> Task {
        Task(ptr)
    }

    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.0
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: our reference keeps the header alive.
        unsafe { self.0.as_ref() }
    }

    /// Cancels the task for a runtime shutdown: drops its future here and now unless another
    /// thread holds it.
    pub(crate) fn shutdown(&self) {
        use super::state::TransitionToCancelled;
        if self.header().state.transition_to_shutdown() == TransitionToCancelled::CancelNow {
            // SAFETY: we hold a reference and the transition gave us RUNNING.
            unsafe { (self.header().vtable.cancel)(self.0) };
        }
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { harness::release(self.0) };
    }
}
