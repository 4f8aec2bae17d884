//! [`JoinHandle`]: the typed, awaitable result of a spawned task.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

use super::cell::Header;
use super::error::JoinError;
use super::state::TransitionToCancelled;
use crate::runtime::coop;

/// An owned permission to await a spawned task's output.
///
/// Awaiting it gives `Ok(value)` when the task finished, or a [`JoinError`] when it panicked
/// or was cancelled. Dropping the handle *detaches* the task: it keeps running and its output
/// is dropped when it finishes. Use [`abort`](JoinHandle::abort) to cancel it instead.
///
/// # Examples
///
/// ```
/// let rt = fiber::Runtime::new().unwrap();
/// let handle = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(handle).unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    raw: NonNull<Header>,
    _output: PhantomData<T>,
}

// SAFETY: the handle only moves `T` out of the task (never shares it), so it may travel to
// another thread when `T` can.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` only allows `abort`, `abort_handle` and `is_finished`. They touch the
// atomic state word, and `abort` of an idle task drops its future on the calling thread,
// which is sound from any thread because spawned futures are `Send`; a `LocalSet`'s task
// (whose future need not be) is handed to its owner's thread instead (`harness::cancel`).
unsafe impl<T: Send> Sync for JoinHandle<T> {}

impl<T> Unpin for JoinHandle<T> {}

/// Cancels `header`'s task; shared by [`JoinHandle`] and [`AbortHandle`].
fn abort_task(raw: NonNull<Header>) {
    // SAFETY: both callers own a reference, so the task is alive.
    let header = unsafe { raw.as_ref() };
    if header.state.transition_to_cancelled() == TransitionToCancelled::CancelNow {
        // SAFETY: the caller's reference keeps the task alive and the transition gave us
        // RUNNING.
        unsafe { (header.vtable.cancel)(raw) };
    }
}

impl<T> JoinHandle<T> {
    /// The task's address, which names it for a shutdown that leaves its poll behind.
    #[cfg(test)]
    pub(crate) fn task_address(&self) -> usize {
        self.raw.as_ptr() as usize
    }

    /// Takes over the handle's reference to the task at `raw`, whose output type is `T`.
    pub(crate) fn from_raw(raw: NonNull<Header>) -> JoinHandle<T> {
        JoinHandle {
            raw,
            _output: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the handle owns a reference, so the task is alive.
        unsafe { self.raw.as_ref() }
    }

    /// Cancels the task.
    ///
    /// If the task is idle its future is dropped right here, on the calling thread; if it is
    /// queued or being polled, the worker drops it instead of polling it (again). Either way
    /// the handle then resolves to a [`JoinError`] whose
    /// [`is_cancelled`](JoinError::is_cancelled) is true, unless the task had already
    /// finished. Aborting a finished task does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(async {
    ///     fiber::time::sleep(std::time::Duration::from_secs(3600)).await;
    /// });
    /// handle.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        abort_task(self.raw);
    }

    /// Returns a handle that can cancel the task without owning its output, for example
    /// from inside the task itself, or after the `JoinHandle` was moved into an `.await`.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// let abort = handle.abort_handle();
    /// abort.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort_handle(&self) -> AbortHandle {
        self.header().state.ref_inc();
        AbortHandle { raw: self.raw }
    }

    /// Returns true once the task has finished: completed, panicked or been cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(async {});
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.header().state.load().is_complete()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A finished task's handle is a ready resource: awaiting many of them in a row
        // takes from the task's budget like any other (see `coop`).
        let coop = std::task::ready!(coop::poll_proceed(cx));
        let mut output = Poll::Pending;
        let header = self.header();
        // SAFETY: the task's output type is `T` (it was made by `spawn` together with this
        // handle), so `try_read_output` writes a value of exactly this type.
        unsafe {
            (header.vtable.try_read_output)(
                self.raw,
                &mut output as *mut Poll<Result<T, JoinError>> as *mut (),
                cx.waker(),
            );
        }
        if output.is_ready() {
            coop.made_progress();
        }
        output
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        // SAFETY: this consumes the handle's reference, which is not used again.
        unsafe { (self.header().vtable.drop_join_handle)(self.raw) };
    }
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// A handle that cancels a task but cannot await it; see [`JoinHandle::abort_handle`].
///
/// It is `Clone`, `Send` and `Sync` whatever the task's output type, and dropping it does
/// nothing to the task.
pub struct AbortHandle {
    raw: NonNull<Header>,
}

// SAFETY: an `AbortHandle` only touches the task's atomic state word and, when cancelling an
// idle task, drops its `Send` future (or hands a local task's to its owner's thread, see
// `harness::cancel`); it never reaches the output.
unsafe impl Send for AbortHandle {}
// SAFETY: as above; every method takes `&self` and is synchronised by the state word.
unsafe impl Sync for AbortHandle {}

impl AbortHandle {
    /// Cancels the task, exactly like [`JoinHandle::abort`].
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort_handle().abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn abort(&self) {
        abort_task(self.raw);
    }

    /// Returns true once the task has finished.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(async {});
    /// let abort = handle.abort_handle();
    /// rt.block_on(handle).unwrap();
    /// assert!(abort.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        // SAFETY: the handle owns a reference, so the task is alive.
        unsafe { self.raw.as_ref() }.state.load().is_complete()
    }
}

impl Clone for AbortHandle {
    fn clone(&self) -> AbortHandle {
        // SAFETY: the handle owns a reference, so the task is alive.
        unsafe { self.raw.as_ref() }.state.ref_inc();
        AbortHandle { raw: self.raw }
    }
}

impl Drop for AbortHandle {
    fn drop(&mut self) {
        // SAFETY: this releases the handle's own reference.
        unsafe { super::harness::release(self.raw) };
    }
}

impl std::fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbortHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}
