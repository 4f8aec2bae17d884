//! The task's single allocation: a type-erased [`Header`] followed by the scheduler handle and
//! the stage (the future, then its output).

use std::alloc::Layout;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::Location;
use std::ptr::NonNull;
use std::task::Waker;

use super::error::JoinError;
use super::list::NO_SLOT;
use super::state::State;
use super::Schedule;
use crate::loom::cell::UnsafeCell;

/// The type-erased front of every task. `#[repr(C)]` on [`Cell`] puts it at offset 0, so a
/// `NonNull<Header>` can be cast back to the `Cell<F, S>` it came from by the functions of its
/// [`Vtable`], which were instantiated for that `F` and `S`.
pub(crate) struct Header {
    pub(crate) state: State,
    /// The task's index in its shard of the owner list ([`NO_SLOT`] when in none);
    /// only touched under that shard's lock.
    pub(crate) owner_slot: UnsafeCell<u32>,
    pub(crate) vtable: &'static Vtable,
    /// The waker of whoever awaits the `JoinHandle`; who may touch it is governed by the
    /// `JOIN_WAKER` flag (see [`state`](super::state)). Boxed, so that it takes one word in
    /// every task rather than two: most tasks are never awaited before they finish (or are
    /// detached), and those that are pay one small allocation, reused when the handle is
    /// polled again with another waker.
    pub(crate) join_waker: UnsafeCell<Option<Box<Waker>>>,
}

/// The operations that need to know the future's concrete type.
pub(crate) struct Vtable {
    /// Runs the task once, consuming the caller's `Notified` reference; with `true`, the
    /// caller also hands over the `RUNNING` flag (a held `Notified`). Returns where the task
    /// was spawned if its future was polled.
    pub(crate) poll: unsafe fn(NonNull<Header>, bool) -> Option<&'static Location<'static>>,
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

/// What a task holds besides its header and scheduler: its future while it runs, its
/// output once it is complete. Which of the two is there follows from the state word, so
/// the stage needs no tag of its own:
///
/// - before `COMPLETE`, `running` (the future), except while the `RUNNING` holder is
///   between dropping the future and storing the output;
/// - from `COMPLETE` on, `finished`: the output until it is taken by the `JoinHandle` or
///   dropped, then [`JoinError::taken`], which needs no drop.
pub(crate) union Stage<F: Future> {
    pub(crate) running: ManuallyDrop<Running<F>>,
    pub(crate) finished: ManuallyDrop<Result<F::Output, JoinError>>,
}

/// The stage of a task that has not completed.
pub(crate) struct Running<F> {
    pub(crate) future: F,
    /// Where the task was spawned, for the slow-poll hook. It is needed only while the task
    /// runs, so it shares the space of the output: for a future smaller than its output it
    /// costs nothing.
    pub(crate) spawned_at: &'static Location<'static>,
}

/// The whole allocation of a task of future `F` scheduled by `S`.
///
/// Its layout on a 64-bit target, for a runtime task (`S` is the runtime's `Handle`, one
/// `Arc`):
///
/// ```text
///  offset  size  field
///       0     4  header.state        the state word: flags and the reference count
///       4     4  header.owner_slot   the task's index in its shard of the owner list
///       8     8  header.vtable       the typed operations
///      16     8  header.join_waker   Option<Box<Waker>>: the JoinHandle's waker
///      24     8  scheduler           the runtime's Handle
///      32     m  stage               max(size of F + 8, size of Result<Output, JoinError>)
/// ```
///
/// `JoinError` is one non-null pointer, so `Result<(), JoinError>` is 8 bytes and a
/// zero-sized future that returns `()` makes a 40-byte cell. The owner list adds one pointer
/// per unfinished task in its own memory (see [`list`](super::list)), so a pending task costs
/// 48 bytes beyond its future, for outputs no bigger than the future plus 8 bytes (futures
/// with an alignment above 8 may add padding before the stage).
///
/// Where each of those bytes went from a simpler layout:
///
/// - the state word is 32 bits (see [`state`](super::state) for the reference count that
///   leaves), so that the owner list's index fits beside it;
/// - the owner list is a slab of pointers indexed from the task, rather than an intrusive
///   list whose two links would take 16 bytes of every header;
/// - the join waker is boxed, as it is needed only by a task awaited before it finishes;
/// - the spawn site (for slow-poll reports) shares the stage with the output, since it is
///   needed only while the future runs; it cannot go into the vtable, which is per future
///   type while a spawn site is per call;
/// - a panic's payload is boxed inside `JoinError`, so a finished stage needs one word.
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
    /// Allocates a new task; its state holds the three initial references. The caller's
    /// location is recorded as where the task was spawned.
    #[track_caller]
    pub(crate) fn allocate(future: F, scheduler: S) -> NonNull<Header> {
        let spawned_at = Location::caller();
        let cell = super::memory::allocate(Layout::new::<Self>()).cast::<Self>();
        // SAFETY: `allocate` returned memory of `Self`'s size and alignment, owned by us.
        unsafe {
            cell.as_ptr().write(Cell {
                header: Header {
                    state: State::new(),
                    owner_slot: UnsafeCell::new(NO_SLOT),
                    vtable: &Self::VTABLE,
                    join_waker: UnsafeCell::new(None),
                },
                scheduler,
                stage: UnsafeCell::new(Stage {
                    running: ManuallyDrop::new(Running { future, spawned_at }),
                }),
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

#[cfg(all(test, target_pointer_width = "64", not(loom)))]
mod tests {
    use std::future::{Future, Pending};
    use std::mem::size_of;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::Cell;
    use crate::runtime::Handle;

    /// A 32-byte future.
    struct Big {
        _bytes: [u64; 4],
    }

    impl Future for Big {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    #[test]
    fn a_task_cell_is_40_bytes_beside_its_future() {
        // The layout drawn in `Cell`'s docs.
        assert_eq!(size_of::<super::Header>(), 24);
        assert_eq!(size_of::<Cell<Pending<()>, Handle>>(), 40);
        // A bigger future: the spawn site is the 8 bytes beyond it.
        assert_eq!(size_of::<Cell<Big, Handle>>(), 32 + 32 + 8);
        // An output bigger than the future (and the spawn site) sets the stage's size.
        assert_eq!(size_of::<Cell<Pending<[u64; 2]>, Handle>>(), 32 + 24);
    }
}
