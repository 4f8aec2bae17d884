//! The task's single allocation: a type-erased [`Header`] followed by the scheduler handle and
//! the stage (the future, then its output).

use std::alloc::Layout;
use std::future::Future;
use std::ptr::NonNull;
use std::task::Waker;

use super::error::JoinError;
use super::list::Links;
use super::state::State;
use super::Schedule;
use crate::loom::cell::UnsafeCell;

/// The type-erased front of every task. `#[repr(C)]` on [`Cell`] puts it at offset 0, so a
/// `NonNull<Header>` can be cast back to the `Cell<F, S>` it came from by the functions of its
/// [`Vtable`], which were instantiated for that `F` and `S`.
pub(crate) struct Header {
    pub(crate) state: State,
    pub(crate) vtable: &'static Vtable,
    /// The waker of whoever awaits the `JoinHandle`; who may touch it is governed by the
    /// `JOIN_WAKER` flag (see [`state`](super::state)).
    pub(crate) join_waker: UnsafeCell<Option<Waker>>,
    /// Position in the runtime's owner list; only touched under that list's lock.
    pub(crate) links: UnsafeCell<Links>,
}

/// The operations that need to know the future's concrete type.
pub(crate) struct Vtable {
    /// Runs the task once, consuming the caller's `Notified` reference; with `true`, the
    /// caller also hands over the `RUNNING` flag (a held `Notified`).
    pub(crate) poll: unsafe fn(NonNull<Header>, bool),
    /// Hands a `Notified` to the task's scheduler, taking over one reference for it. The
    /// caller must hold another reference until the call returns: the scheduler's `&self`
    /// lives inside the task.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Frees the allocation; the reference count is zero.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// `JoinHandle::poll`: writes `Poll<Result<T, JoinError>>` to the pointer when ready.
    pub(crate) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    /// `JoinHandle::drop`, consuming the handle's reference.
    pub(crate) drop_join_handle: unsafe fn(NonNull<Header>),
    /// Drops the future of a task whose `RUNNING` flag the caller just took for a
    /// cancellation, and completes it. Takes no reference.
    pub(crate) cancel: unsafe fn(NonNull<Header>),
}

/// Where the task is in its life.
pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

/// The whole allocation of a task of future `F` scheduled by `S`.
#[repr(C)]
pub(crate) struct Cell<F: Future, S> {
    pub(crate) header: Header,
    pub(crate) scheduler: S,
    pub(crate) stage: UnsafeCell<Stage<F>>,
}

impl<F, S> Cell<F, S>
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    /// Allocates a new task; its state holds the three initial references.
    pub(crate) fn allocate(future: F, scheduler: S) -> NonNull<Header> {
        let cell = super::memory::allocate(Layout::new::<Self>()).cast::<Self>();
        // SAFETY: `allocate` returned memory of `Self`'s size and alignment, owned by us.
        unsafe {
            cell.as_ptr().write(Cell {
                header: Header {
                    state: State::new(),
                    vtable: &Self::VTABLE,
                    join_waker: UnsafeCell::new(None),
                    links: UnsafeCell::new(Links::default()),
                },
                scheduler,
                stage: UnsafeCell::new(Stage::Running(future)),
            });
        }
        cell.cast()
    }

    const VTABLE: Vtable = Vtable {
        poll: super::harness::poll::<F, S>,
        schedule: super::harness::schedule::<F, S>,
        dealloc: super::harness::dealloc::<F, S>,
        try_read_output: super::harness::try_read_output::<F, S>,
        drop_join_handle: super::harness::drop_join_handle::<F, S>,
        cancel: super::harness::cancel::<F, S>,
    };
}
