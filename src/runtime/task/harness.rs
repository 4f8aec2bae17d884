//! The typed operations behind a task's [`Vtable`](super::cell::Vtable): polling,
//! completing, cancelling, joining and freeing.
//!
//! Every function here takes a pointer produced by [`Cell::allocate`] for the same `F` and
//! `S`; that is what makes the casts below sound.

use std::alloc::Layout;
use std::any::Any;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

use super::cell::{Cell, Header, Running};
use super::error::JoinError;
use super::raw::Notified;
use super::state::{TransitionToIdle, TransitionToRunning};
use super::waker::waker_ref;
use super::Schedule;

/// Casts a header pointer back to its cell.
///
/// # Safety
///
/// `ptr` came from `Cell::<F, S>::allocate` and the task is not yet freed.
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: `Cell` is `#[repr(C)]` with the header first, so the pointer to the header is
    // a pointer to the cell; the caller guarantees the type and that it is still allocated.
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

pub(super) unsafe fn poll<F, S>(
    ptr: NonNull<Header>,
    held: bool,
) -> Option<&'static Location<'static>>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the vtable guarantees the pointer's type; the caller's `Notified` keeps it alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    let transition = if held {
        // We hold RUNNING already; an abort meanwhile has only left its flag.
        if cell.header.state.load().is_cancelled() {
            TransitionToRunning::Cancel
        } else {
            TransitionToRunning::Poll
        }
    } else {
        cell.header.state.transition_to_running()
    };
    match transition {
        TransitionToRunning::Poll => {}
        TransitionToRunning::Cancel => {
            cancel_future(cell);
            complete::<F, S>(ptr, 1);
            return None;
        }
        TransitionToRunning::Failed => {
            // SAFETY: the reference we were handed is ours to release.
            unsafe { drop_reference::<F, S>(ptr, 1) };
            return None;
        }
    }
    // We hold RUNNING on a task that is not complete, so the stage holds the future.
    let spawned_at = cell.stage.with(|stage| {
        // SAFETY: as above; nobody writes the stage while we hold RUNNING. Only the field is
        // read, through raw pointers: a reference to the whole `Running` would also cover
        // the future, and reading through it would invalidate the pointers that a pinned,
        // self-referential future holds into itself.
        unsafe {
            let running = std::ptr::addr_of!((*stage).running).cast::<Running<F>>();
            std::ptr::addr_of!((*running).spawned_at).read()
        }
    });

    // SAFETY: the worker's reference keeps the task alive for as long as this waker is used,
    // and the `ManuallyDrop` inside `waker_ref` makes sure it does not release a reference.
    let waker = unsafe { waker_ref(ptr) };
    let mut cx = Context::from_waker(&waker);
    let polled = catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING on a task that is not complete, so we have exclusive
            // access to the stage, which holds the future.
            let future = unsafe { &mut (*(*stage).running).future };
            // SAFETY: the future lives in the task's heap allocation and is dropped in place
            // (by `drop_future`), never moved, so it stays pinned.
            unsafe { Pin::new_unchecked(future) }.poll(&mut cx)
        })
    }));

    match polled {
        Ok(Poll::Pending) => {
            let scheduler = NonNull::from(&cell.scheduler);
            // SAFETY: we hold RUNNING and the worker's reference, which pass to the queued
            // task; `cell` is not used again if it is queued.
            if unsafe { S::requeue_yielded(scheduler, ptr) } {
                return Some(spawned_at);
            }
            // SAFETY: both are still ours.
            unsafe { pending::<F, S>(ptr) };
        }
        Ok(Poll::Ready(output)) => {
            // The future is dropped before the output is stored, as a completed task owns
            // no future.
            let result = match drop_future(cell) {
                Ok(()) => Ok(output),
                Err(panic) => {
                    // The output is lost with the panic; its own destructor may panic too.
                    let _ = catch_unwind(AssertUnwindSafe(move || drop(output)));
                    Err(JoinError::panic(panic))
                }
            };
            store_output(cell, result);
            complete::<F, S>(ptr, 1);
        }
        Err(panic) => {
            // A panicking destructor after a panicking poll: keep the first payload.
            let _ = drop_future(cell);
            store_output(cell, Err(JoinError::panic(panic)));
            complete::<F, S>(ptr, 1);
        }
    }
    Some(spawned_at)
}

/// The poll returned `Pending` and the task was not re-queued holding `RUNNING`: make it idle,
/// or queue it again if it was woken meanwhile, or cancel it if it was aborted meanwhile.
///
/// # Safety
///
/// The caller holds `RUNNING` and a reference on a live task of this type; both are consumed.
unsafe fn pending<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller holds RUNNING and a reference on a live task of this type.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_idle() {
        TransitionToIdle::Idle => {}
        TransitionToIdle::Requeue => {
            // Our reference passed to the queued task. On a worker of the task's own
            // runtime it goes on the worker's queue without touching the task again:
            // another worker may steal, finish and free it right after.
            let scheduler = NonNull::from(&cell.scheduler);
            // SAFETY: `scheduler` is the task's own, alive until the task is queued;
            // `cell` is not used again once it is.
            let refused = unsafe { S::requeue_woken(scheduler, Notified::from_raw(ptr)) };
            if let Some(task) = refused {
                // Not queued yet: a reference of our own keeps the task (and with it
                // `cell.scheduler`, which `yield_now` borrows) alive until the call
                // returns, even if the task is stolen and completed meanwhile.
                cell.header.state.ref_inc();
                cell.scheduler.yield_now(task);
                // SAFETY: the reference just taken, released once; `cell` is not used
                // again.
                unsafe { drop_reference::<F, S>(ptr, 1) };
            }
        }
        TransitionToIdle::Cancel => {
            cancel_future(cell);
            complete::<F, S>(ptr, 1);
        }
    }
}

/// Stores the output in a stage whose future was dropped. The caller holds RUNNING, before
/// the task is marked complete.
fn store_output<F: Future, S>(cell: &Cell<F, S>, output: Result<F::Output, JoinError>) {
    cell.stage.with_mut(|stage| {
        // SAFETY: exclusive access to the stage is the caller's precondition; the future was
        // dropped, so nothing is overwritten that still needs a drop.
        unsafe { (*stage).finished = ManuallyDrop::new(output) };
    });
}

/// Drops the future in place, catching a panicking destructor. The caller holds RUNNING on
/// a task that is not complete, and stores an output next.
fn drop_future<F: Future, S>(cell: &Cell<F, S>) -> Result<(), Box<dyn Any + Send>> {
    catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: the stage holds the future (the task is not complete) and we have
            // exclusive access; it is dropped once, as the caller then stores the output.
            unsafe { ManuallyDrop::drop(&mut (*stage).running) };
        });
    }))
}

/// Whether the output of a complete task was taken (or dropped) already. The caller owns
/// the finished stage (see `Stage`).
#[inline]
fn output_taken<F: Future, S>(cell: &Cell<F, S>) -> bool {
    cell.stage.with(|stage| {
        // SAFETY: the task is complete, so the stage holds an output, which the caller owns.
        let finished: &Result<F::Output, JoinError> = unsafe { &(*stage).finished };
        matches!(finished, Err(error) if error.is_taken())
    })
}

/// Takes the output of a complete task, leaving [`JoinError::taken`] in its place, or `None`
/// if it was taken already. The caller owns the finished stage.
#[inline]
fn take_output<F: Future, S>(cell: &Cell<F, S>) -> Option<Result<F::Output, JoinError>> {
    if output_taken(cell) {
        return None;
    }
    Some(cell.stage.with_mut(|stage| {
        // SAFETY: as in `output_taken`.
        let finished: &mut Result<F::Output, JoinError> = unsafe { &mut (*stage).finished };
        std::mem::replace(finished, Err(JoinError::taken()))
    }))
}

/// Drops the output of a complete task, if still there, catching a panicking destructor.
/// The caller owns the finished stage.
#[inline]
fn drop_output<F: Future, S>(cell: &Cell<F, S>) {
    if !output_taken(cell) {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(take_output(cell))));
    }
}

/// Drops the future because the task was cancelled and records the cancellation (or the
/// destructor's panic) as the result. The caller holds RUNNING.
fn cancel_future<F: Future, S>(cell: &Cell<F, S>) {
    let result = match drop_future(cell) {
        Ok(()) => JoinError::cancelled(),
        Err(panic) => JoinError::panic(panic),
    };
    store_output(cell, Err(result));
}

/// Leaves the owner list, marks the task complete, hands the output to the `JoinHandle` (or
/// drops it), and releases `references` held by the caller. `ptr` is the task's own pointer,
/// whose provenance covers the whole allocation (one made from `&cell.header` would not do
/// for freeing it). The caller holds RUNNING.
fn complete<F, S>(ptr: NonNull<Header>, references: u32)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller holds RUNNING on a live task of this type. (A local, not a
    // parameter: a reference parameter may not outlive the allocation freed at the end.)
    let cell = unsafe { cell::<F, S>(ptr) };
    // Leave the owner list first, so that whoever sees the task complete also sees it gone
    // from the list (and from `num_alive_tasks`). Shutdown skips a task in our hands, so
    // nobody misses it meanwhile.
    let released = cell.scheduler.release(ptr);
    let references = references + u32::from(released.is_some());
    // The owner list's reference is folded into the decrement below.
    std::mem::forget(released);

    let previous = cell.header.state.transition_to_complete();
    if !previous.is_join_interested() {
        // Nobody will read the output: drop it now, and do not let its destructor's panic
        // take the worker down.
        drop_output(cell);
    } else if previous.is_join_waker_set() {
        cell.header.join_waker.with(|waker| {
            // SAFETY: JOIN_WAKER was set when COMPLETE was: the handle can no longer write the
            // field, so reading it here is race-free.
            if let Some(waker) = unsafe { &*waker } {
                // A user's waker that panics must not take the worker down or skip the
                // release below.
                let _ = catch_unwind(AssertUnwindSafe(|| waker.wake_by_ref()));
            }
        });
    }

    // SAFETY: these references are ours to release, and `cell` is not used afterwards.
    unsafe { drop_reference::<F, S>(ptr, references) };
}

/// Releases `count` references, freeing the task if they were the last.
///
/// # Safety
///
/// The caller owns `count` references to a live task of this type.
unsafe fn drop_reference<F, S>(ptr: NonNull<Header>, count: u32)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller holds references, so the header is alive.
    if unsafe { ptr.as_ref() }.state.ref_dec(count) {
        // SAFETY: those were the last references.
        unsafe { dealloc::<F, S>(ptr) };
    }
}

pub(super) unsafe fn schedule<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller holds a reference of its own for the whole call (the `Notified` we
    // hand on owns another), so the task, and the scheduler inside it, outlive the call even
    // if the task is run to completion elsewhere meanwhile.
    let cell = unsafe { cell::<F, S>(ptr) };
    cell.scheduler.schedule(Notified::from_raw(ptr));
}

pub(super) unsafe fn dealloc<F: Future, S>(ptr: NonNull<Header>) {
    let cell = ptr.cast::<Cell<F, S>>();
    // What is left to drop is a stored join waker (user code), the scheduler handle and the
    // stage: a task is complete before its last reference goes, so that is an output already
    // taken (nothing to drop), but the state says which it is. The allocation is freed even
    // if a destructor panics, and the panic goes no further, since this runs wherever the
    // last reference happens to be released.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the reference count reached zero, so this is the only pointer left to the
        // cell `Cell::allocate` wrote; each part is dropped once, here, the stage as the
        // state word says (see `Stage`).
        unsafe {
            if (*cell.as_ptr()).header.state.load().is_complete() {
                drop_output(&*cell.as_ptr());
            } else {
                (*cell.as_ptr())
                    .stage
                    .with_mut(|stage| ManuallyDrop::drop(&mut (*stage).running));
            }
            std::ptr::drop_in_place(cell.as_ptr());
        }
    }));
    // SAFETY: `Cell::allocate` got this memory from `memory::allocate` with this layout, and
    // the cell in it has just been dropped.
    unsafe { super::memory::deallocate(cell.cast(), Layout::new::<Cell<F, S>>()) };
}

pub(super) unsafe fn cancel<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the caller holds a reference and just took RUNNING for this cancellation.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !cell.scheduler.may_drop_future_here() {
        // A local task's `!Send` future may only be dropped on its owner's thread: hand the
        // task, RUNNING included, to the owner's queue as a held `Notified`, whose run sees
        // CANCELLED and drops the future there. It takes a reference of its own; the
        // caller's keeps `cell.scheduler` alive for the call, even if the owner completes
        // the task meanwhile.
        cell.header.state.ref_inc();
        cell.scheduler.schedule(Notified::held(ptr));
        return;
    }
    cancel_future(cell);
    complete::<F, S>(ptr, 0);
}

pub(super) unsafe fn try_read_output<F, S>(ptr: NonNull<Header>, out: *mut (), waker: &Waker)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the JoinHandle's reference keeps the task alive.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !can_read_output(&cell.header, waker) {
        return;
    }
    // The task is complete, so the stage belongs to the JoinHandle.
    let Some(result) = take_output(cell) else {
        panic!("`JoinHandle` polled after it returned `Poll::Ready`");
    };
    // SAFETY: `JoinHandle<F::Output>` passes a `Poll<Result<F::Output, JoinError>>`.
    unsafe { *out.cast::<Poll<Result<F::Output, JoinError>>>() = Poll::Ready(result) };
}

/// The join side of the `JOIN_WAKER` protocol: returns true when the output can be taken,
/// otherwise makes sure `waker` will be woken on completion.
fn can_read_output(header: &Header, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    if snapshot.is_complete() {
        return true;
    }
    if snapshot.is_join_waker_set() {
        let same = header.join_waker.with(|stored| {
            // SAFETY: with JOIN_WAKER set the field is read-only for everyone.
            unsafe { &*stored }
                .as_ref()
                .is_some_and(|stored| stored.will_wake(waker))
        });
        if same {
            return false;
        }
        // Take the field back to replace the waker.
        if header.state.unset_join_waker().is_err() {
            return true;
        }
    }
    header.join_waker.with_mut(|stored| {
        // SAFETY: JOIN_WAKER is clear, so the handle owns the field.
        match unsafe { &mut *stored } {
            // A box left by an earlier poll (the field was taken back above) is reused.
            Some(boxed) => Waker::clone_from(boxed, waker),
            empty => *empty = Some(Box::new(waker.clone())),
        }
    });
    if header.state.set_join_waker().is_err() {
        // Completed meanwhile: the field is still ours; drop the waker we just stored.
        header.join_waker.with_mut(|stored| {
            // SAFETY: as above, JOIN_WAKER was never published.
            unsafe { *stored = None };
        });
        return true;
    }
    false
}

pub(super) unsafe fn drop_join_handle<F, S>(ptr: NonNull<Header>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    // SAFETY: the JoinHandle's reference keeps the task alive until the end of this function.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.unset_join_interested() {
        Err(_complete) => {
            // The output, unless we took it, is ours to drop; a panicking destructor must
            // not escape a `drop`.
            drop_output(cell);
        }
        Ok(previous) if previous.is_join_waker_set() => {
            // The task will not look at the field any more: free the stored waker now rather
            // than when the task is freed.
            let waker = cell.header.join_waker.with_mut(|stored| {
                // SAFETY: JOIN_WAKER was cleared by our own transition.
                unsafe { (*stored).take() }
            });
            // A panicking waker destructor must not skip the release below.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(waker)));
        }
        Ok(_) => {}
    }
    // SAFETY: this releases the handle's own reference; `cell` is not used afterwards.
    unsafe { drop_reference::<F, S>(ptr, 1) };
}

/// Wakes by value: consumes one reference.
pub(super) unsafe fn wake_by_val(ptr: NonNull<Header>) {
    use super::state::TransitionToNotified::*;
    // SAFETY: the waker's reference keeps the header alive.
    let header = unsafe { ptr.as_ref() };
    match header.state.transition_to_notified_by_val() {
        DoNothing => {}
        Submit => {
            // SAFETY: the transition took a reference for the `Notified`; the waker's own
            // keeps the task alive during the call.
            unsafe { (header.vtable.schedule)(ptr) };
            // SAFETY: now the waker's reference goes, as `wake` consumes the waker.
            unsafe { release(ptr) };
        }
        // SAFETY: that was the last reference.
        Dealloc => unsafe { (header.vtable.dealloc)(ptr) },
    }
}

/// Wakes by reference: takes a new reference if the task gets queued.
pub(super) unsafe fn wake_by_ref(ptr: NonNull<Header>) {
    use super::state::TransitionToNotified::*;
    // SAFETY: the waker's reference keeps the header alive.
    let header = unsafe { ptr.as_ref() };
    if header.state.transition_to_notified_by_ref() == Submit {
        // SAFETY: the transition took a new reference for the `Notified`, and the waker's
        // own keeps the task alive during the call.
        unsafe { (header.vtable.schedule)(ptr) };
    }
}

/// Drops one reference through the type-erased vtable.
pub(crate) unsafe fn release(ptr: NonNull<Header>) {
    // SAFETY: the caller owns a reference.
    let header = unsafe { ptr.as_ref() };
    if header.state.ref_dec(1) {
        // SAFETY: that was the last reference.
        unsafe { (header.vtable.dealloc)(ptr) };
    }
}
