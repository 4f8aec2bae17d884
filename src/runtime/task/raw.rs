//! Owning, type-erased references to a task: [`Notified`] (a run-queue entry) and [`Task`]
//! (the owner list's entry).

use std::panic::Location;
use std::ptr::NonNull;

use super::cell::Header;
use super::harness;

/// A reference to a task that is scheduled to run: the `NOTIFIED` flag is set on its
/// behalf. Running it consumes the reference; dropping it just releases the reference.
///
/// A *held* `Notified` (made by [`Notified::held`]) also carries the task's `RUNNING` flag:
/// the task yielded with fiber's own `yield_now` on its worker, and went back to the queue
/// without giving up `RUNNING` (and so without three atomic read-modify-writes: the wake,
/// the transition to idle and the one back to running). Running it polls the task straight
/// away; dropping it cancels the task, as a shutdown would. Tasks are aligned to at least 8
/// bytes, so the lowest bit of the pointer marks a held one.
pub(crate) struct Notified(NonNull<Header>);

// SAFETY: every shared field of the header is synchronised through the state word, so a
// reference may move between threads. Spawned tasks hold `Send` futures and outputs; a
// `LocalSet`'s tasks do not, and their scheduler only runs (or, held, drops) their
// `Notified`s on the set's thread (see `new_local_task`).
unsafe impl Send for Notified {}

/// The pointer bit that marks a held `Notified`.
const HELD: usize = 1;

impl Notified {
    /// Takes over one reference of the task at `ptr` (a header pointer, or what
    /// [`Notified::into_raw`] returned).
    pub(crate) fn from_raw(ptr: NonNull<Header>) -> Notified {
        Notified(ptr)
    }

    /// Gives up this reference as a pointer that [`Notified::from_raw`] turns back into the
    /// same `Notified` (held or not: the mark stays in the pointer).
    pub(crate) fn into_raw(self) -> NonNull<Header> {
        let ptr = self.0;
        std::mem::forget(self);
        ptr
    }

    /// Takes over one reference of the task at `ptr` and the `RUNNING` flag, which the
    /// caller holds.
    pub(crate) fn held(ptr: NonNull<Header>) -> Notified {
        debug_assert_eq!(ptr.as_ptr() as usize % std::mem::align_of::<Header>(), 0);
        // An offset within the allocation keeps the pointer's provenance.
        let tagged = ptr
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(HELD)
            .cast::<Header>();
        // SAFETY: a non-null, aligned pointer plus one is not null.
        Notified(unsafe { NonNull::new_unchecked(tagged) })
    }

    pub(crate) fn is_held(&self) -> bool {
        self.0.as_ptr() as usize & HELD != 0
    }

    /// The task's header, whether held or not.
    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        if self.is_held() {
            let untagged = self
                .0
                .as_ptr()
                .cast::<u8>()
                .wrapping_sub(HELD)
                .cast::<Header>();
            // SAFETY: the tagged pointer was a non-null header pointer plus one.
            unsafe { NonNull::new_unchecked(untagged) }
        } else {
            self.0
        }
    }

    /// Turns a held `Notified` into a plain one: the task gives up `RUNNING` and stays
    /// queued. A worker that stops does this to the entries of its queue, so that their
    /// tasks are cancelled by the runtime's shutdown (after every worker stopped, inside the
    /// runtime's context) like every other unfinished task, not on the stopping worker.
    pub(crate) fn into_unheld(self) -> Notified {
        if !self.is_held() {
            return self;
        }
        let ptr = self.header_ptr();
        std::mem::forget(self);
        // SAFETY: we own a reference (kept by the returned `Notified`) and RUNNING.
        unsafe { ptr.as_ref() }.state.release_held();
        Notified(ptr)
    }

    /// Polls the task once (or cancels it, if an abort asked for it). Returns where the task
    /// was spawned if its future was polled.
    #[inline]
    pub(crate) fn run(self) -> Option<&'static Location<'static>> {
        let held = self.is_held();
        let ptr = self.header_ptr();
        std::mem::forget(self);
        // SAFETY: we own a reference, which `poll` consumes, and `RUNNING` if `held`.
        unsafe { (ptr.as_ref().vtable.poll)(ptr, held) }
    }
}

impl Drop for Notified {
    fn drop(&mut self) {
        let ptr = self.header_ptr();
        if self.is_held() {
            // Nobody else can reach the future while we hold RUNNING: drop it here, as the
            // shutdown's pass over the owner list (which skips running tasks) would have.
            // (Stopping workers hand their held entries back first, see `into_unheld`.)
            // SAFETY: we hold RUNNING and a reference, which keeps the task alive.
            unsafe { (ptr.as_ref().vtable.cancel)(ptr) };
        }
        // SAFETY: we own one reference.
        unsafe { harness::release(ptr) };
    }
}

impl std::fmt::Debug for Notified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notified")
            .field("task", &self.header_ptr())
            .field("held", &self.is_held())
            .finish()
    }
}

/// The owner list's reference to a task, which keeps every unfinished task reachable for
/// shutdown.
pub(crate) struct Task(NonNull<Header>);

// SAFETY: as for `Notified`; a `LocalSet` keeps its tasks' `Task`s on its own thread, where
// it cancels them.
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
    /// thread holds it. Returns false if another thread holds it (it may be dropping the
    /// future after an abort, or running it): wait for [`is_complete`](Task::is_complete)
    /// to know when the future is gone.
    #[must_use = "a task held by another thread still has its future"]
    pub(crate) fn shutdown(&self) -> bool {
        use super::state::TransitionToCancelled;
        match self.header().state.transition_to_shutdown() {
            TransitionToCancelled::CancelNow => {
                // SAFETY: we hold a reference and the transition gave us RUNNING.
                unsafe { (self.header().vtable.cancel)(self.0) };
                true
            }
            TransitionToCancelled::Deferred => self.is_complete(),
        }
    }

    /// Whether the task has completed (its future is gone, its output stored).
    pub(crate) fn is_complete(&self) -> bool {
        self.header().state.load().is_complete()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: we own one reference.
        unsafe { harness::release(self.0) };
    }
}
