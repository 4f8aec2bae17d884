//! Lending a worker's core: how `block_in_place` keeps a worker's queued tasks running while
//! the task it polls blocks.
//!
//! A worker's core (its next-task slot, its local deque, its metrics index) lives on the
//! worker thread's stack for the whole worker loop, borrowed by that loop and named by the
//! thread's context. To block in place, the task being polled *lends* the core:
//!
//! 1. The lending thread forgets the core in its context (spawns and wakes from it now go
//!    through the injector) and starts a pool thread, which runs the worker loop on the
//!    same core: the same deque, which the other workers still steal from, the same slot,
//!    the same counters. From here on only the borrower touches the core.
//! 2. The lending thread runs the blocking closure, then finishes polling its task without
//!    a core, like a thread outside the runtime.
//! 3. Back in its worker loop, the lending thread *recalls* the core: the borrower stops
//!    after its current poll (or wakes from its park to stop), gives the core back, and the
//!    lending thread carries on with it. If the borrower has not started yet (a short
//!    closure), the lending thread takes the core back at once, and the borrower, when it
//!    runs, finds it gone and does nothing: no hand-over at all.
//!
//! The lending thread waits for its core only once its task's poll is over, so it holds no
//! task while it waits: whatever the borrower is running cannot be waiting for it. A
//! borrower may lend the core again (a task it polls calls `block_in_place` too); lends then
//! nest, each returned to the thread that made it.
//!
//! Every lend is recorded in the scheduler's [`LentCores`](super::lent_cores::LentCores),
//! under whose lock the borrower gives the core back and the lender takes it: that record
//! is also how a shutdown with a timeout tells which workers it may leave behind, blocked
//! in place, and when no borrower uses their cores any more.

use std::cell::Cell;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};

use super::blocking::pool::Admission;
use super::blocking::spawn_job;
use super::current;
pub(crate) use super::lent_cores::Returned;
use super::worker::{self, WorkerCore};
use super::Scheduler;
use crate::loom::sync::Condvar;

thread_local! {
    /// The lend this thread made during the poll in progress (`block_in_place`), for its
    /// worker loop to recall once the poll is over. When not null, it owns one strong count
    /// (from `Arc::into_raw`).
    static LENT: Cell<*const Lend> = const { Cell::new(ptr::null()) };
}

/// Records the lend this thread just made, for its worker loop to recall.
fn set_lend(lend: Arc<Lend>) {
    let previous = LENT.with(|lent| lent.replace(Arc::into_raw(lend)));
    debug_assert!(
        previous.is_null(),
        "a thread lends at most one core at a time"
    );
}

/// Whether this thread lent its core during the poll in progress: one thread-local load,
/// made by the worker loop after every poll.
#[inline]
pub(super) fn has_lend() -> bool {
    !LENT.with(Cell::get).is_null()
}

/// Takes the lend this thread made, if any.
fn take_lend() -> Option<Arc<Lend>> {
    let lend = LENT.with(|lent| lent.replace(ptr::null()));
    if lend.is_null() {
        return None;
    }
    // SAFETY: a non-null `lend` came from `Arc::into_raw` in `set_lend` and owns one strong
    // count, which passes to the returned `Arc`; the slot is null now, so it is taken once.
    Some(unsafe { Arc::from_raw(lend) })
}

/// One lend of a worker's core, shared by the lender and the borrower.
pub(crate) struct Lend {
    core: NonNull<WorkerCore>,
    /// The scheduler of the core, whose record of lent cores (`LentCores`) knows this lend
    /// by `id`: whether it is returned, and whether it was taken back.
    scheduler: Arc<Scheduler>,
    id: u64,
    /// Set by the lender when it wants the core back; the borrower looks at it before each
    /// task it runs.
    recalled: AtomicBool,
    /// Wakes a borrower parked on the injector when the core is recalled.
    recall_sender: Sender<()>,
    recall_receiver: Receiver<()>,
    /// Wakes the lender waiting for the core once the borrower gives it back.
    returned_signal: Condvar,
}

// SAFETY: the core pointer is only followed by one thread at a time: the borrower, between
// its claim and the return (the lock of `LentCores` orders the claim after the lender's last
// use, and the return before the lender's next one; a lender that takes the core back
// before the claim makes the claim fail). Everything else is `Sync` already.
unsafe impl Send for Lend {}
// SAFETY: as above.
unsafe impl Sync for Lend {}

impl Lend {
    fn new(core: &WorkerCore, id: u64) -> Lend {
        let (recall_sender, recall_receiver) = crossbeam_channel::bounded(1);
        Lend {
            core: NonNull::from(core),
            scheduler: core.scheduler_arc().clone(),
            id,
            recalled: AtomicBool::new(false),
            recall_sender,
            recall_receiver,
            returned_signal: Condvar::new(),
        }
    }

    /// The lent core, for the borrower.
    ///
    /// # Safety
    ///
    /// Only the borrower calls this, once its [`claim`](Lend::claim) succeeded, and only
    /// until it calls [`give_back`](Lend::give_back).
    pub(super) unsafe fn core(&self) -> &WorkerCore {
        // SAFETY: the lender keeps the core alive until it takes it back (its worker loop
        // takes it back before leaving, and so does the guard that outlives the loop if it
        // unwinds), which it does only once the lend is returned; even a lender abandoned
        // by a shutdown (see `LentCores`) keeps its frame until then. The caller is the only
        // thread using the core until it gives it back.
        unsafe { self.core.as_ref() }
    }

    #[inline]
    pub(super) fn is_recalled(&self) -> bool {
        self.recalled.load(Ordering::Acquire)
    }

    pub(super) fn recall_receiver(&self) -> &Receiver<()> {
        &self.recall_receiver
    }

    /// The borrower starts: whether the core is still lent to it (the lender may have
    /// taken it back before the borrower ran, if its closure was short).
    pub(super) fn claim(&self) -> bool {
        self.scheduler.lent_cores().claim(self.id)
    }

    /// The borrower is done with the core.
    pub(super) fn give_back(&self, returned: Returned) {
        self.scheduler
            .lent_cores()
            .give_back(self.id, returned, &self.returned_signal);
    }

    /// Takes the core back: at once if the borrower has not started yet, else asks it to
    /// stop and waits until it has given the core back.
    pub(super) fn recall(&self) -> Returned {
        self.recalled.store(true, Ordering::Release);
        // A full channel means the borrower has been told already.
        let _ = self.recall_sender.try_send(());
        self.scheduler
            .lent_cores()
            .take_back(self.id, &self.returned_signal)
    }
}

/// Whether this thread lent a core of `scheduler` and has not taken it back: it runs a
/// `block_in_place` closure, or the rest of that poll. The shutdown waits for such a thread
/// (unless it abandons it), so it must not wait for itself.
pub(crate) fn is_lending_for(scheduler: &Scheduler) -> bool {
    let lend = LENT.with(Cell::get);
    // SAFETY: a non-null `lend` owns a strong count (see `LENT`), so the `Lend` is alive;
    // only this thread takes it.
    !lend.is_null() && std::ptr::eq(Arc::as_ptr(&unsafe { &*lend }.scheduler), scheduler)
}

/// `block_in_place`'s part: lends this thread's worker core if it has one, then, if its core
/// is lent (by this call, or by an earlier `block_in_place` of the same poll), lets the
/// thread block, and `block_on`, until the guard drops: the worker's tasks run elsewhere
/// meanwhile. The guard puts back the mark it found, so the rest of the task's poll may not
/// block (`current::attach` marks the thread again anyway when the worker takes its core
/// back). Inside a `block_on` the mark is that `block_on`'s, and stays.
pub(crate) fn lend_for_blocking() -> MayBlock {
    let found = current::entered();
    lend_current_worker();
    let in_block_on = !found.is_null() && found != current::worker_mark();
    if has_lend() && !in_block_on {
        current::replace_entered(ptr::null());
        MayBlock(Some(found))
    } else {
        MayBlock(None)
    }
}

/// See [`lend_for_blocking`].
#[must_use]
pub(crate) struct MayBlock(Option<*const Scheduler>);

impl Drop for MayBlock {
    fn drop(&mut self) {
        if let Some(found) = self.0 {
            current::replace_entered(found);
        }
    }
}

/// If this thread is a worker polling a task, lends its core to a new borrower from the
/// blocking pool and records the lend for the worker loop to recall it ([`has_lend`] tells).
/// Changes nothing anywhere else, or if no pool thread can take the core: the caller then
/// blocks with the core in place.
fn lend_current_worker() {
    current::with_any_worker(|core| {
        let Some(core) = core else { return };
        if !core.can_lend() {
            return;
        }
        let scheduler = core.scheduler_arc().clone();
        // Recorded before any borrower may give it back; the task's address only names it.
        let task = core.polling_task().map_or(0, |task| task.as_ptr() as usize);
        let id = scheduler.lent_cores().lent(core.index(), task);
        let lend = Arc::new(Lend::new(core, id));
        // From here the core is not ours: nothing on this thread may reach it until it is
        // given back.
        current::detach();
        let borrower = lend.clone();
        let (job, started) = spawn_job(
            &scheduler,
            move || worker::run_lent(&borrower),
            Admission::Immediate,
        );
        // The borrower runs detached; the lend tells us when it is done.
        drop(job);
        match started {
            Ok(()) => set_lend(lend),
            Err(_) => {
                // No borrower ever saw the core.
                scheduler.lent_cores().forget(id);
                current::attach(core);
            }
        }
    })
}

/// The worker loop's side: takes back the core this thread lent during its last poll, if it
/// did, waiting for the borrower to stop.
#[cold]
pub(super) fn recall_lent_core() -> Option<Returned> {
    take_lend().map(|lend| lend.recall())
}
