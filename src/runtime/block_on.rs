//! Driving a future to completion on the calling thread: the heart of `block_on`.
//!
//! Each thread keeps one parker and one waker for it, made on first use, so a warm
//! `block_on` allocates nothing: it polls, and between polls parks the thread (a futex wait
//! on Linux) until the waker fires. Each poll gets a fresh cooperative budget ([`coop`]).
//!
//! A future that wakes itself while it is being polled (`yield_now`, or a combinator such as
//! `FuturesUnordered` that hands back control after a few of its futures yielded) is the
//! common case, and needs no atomics at all: the waker sees that it runs on the thread
//! polling its own `block_on` and only raises a flag in a thread-local, which the loop reads
//! once the poll returns. Wakes from anywhere else go through the parker's atomic flag.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use super::coop;
use super::scheduler::Scheduler;
use crate::time::{BlockerGuard, ParkedThread};

struct Parker {
    notified: AtomicBool,
    thread: Thread,
    /// True while a `block_on` runs on the parker's thread. Only that thread reads or writes
    /// it (and `woken_in_poll`), so plain loads and stores do: atomics only because the
    /// parker is shared with the wakers on other threads.
    polling: AtomicBool,
    /// Whether the future of that `block_on` woke itself during its poll.
    woken_in_poll: AtomicBool,
}

impl Wake for Parker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if ptr::eq(OWN_PARKER.get(), Arc::as_ptr(self)) && self.polling.load(Ordering::Relaxed) {
            // Woken by the future its `block_on` is polling on this very thread: the loop
            // looks at the flag as soon as the poll returns.
            self.woken_in_poll.store(true, Ordering::Relaxed);
            return;
        }
        // Only the first wake since the last poll pays for an unpark.
        if !self.notified.swap(true, Ordering::Release) {
            self.thread.unpark();
        }
    }
}

impl ParkedThread for Parker {
    fn is_woken(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }
}

struct ThreadParker {
    parker: Arc<Parker>,
    waker: Waker,
}

impl ThreadParker {
    fn new() -> ThreadParker {
        let parker = Arc::new(Parker {
            notified: AtomicBool::new(false),
            thread: thread::current(),
            polling: AtomicBool::new(false),
            woken_in_poll: AtomicBool::new(false),
        });
        ThreadParker {
            waker: Waker::from(parker.clone()),
            parker,
        }
    }
}

impl Drop for ThreadParker {
    fn drop(&mut self) {
        // The parker may outlive the thread in wakers, and its memory be reused for another
        // thread's: no wake on this thread may take that one for its own. `try_with`:
        // constant thread-locals without destructors stay reachable while the thread's
        // other locals are destroyed, but say so rather than rely on it.
        let own = Arc::as_ptr(&self.parker);
        let _ = OWN_PARKER.try_with(|parker| {
            if ptr::eq(parker.get(), own) {
                parker.set(ptr::null());
                let _ = CACHED.try_with(|cached| cached.set(ptr::null()));
            }
        });
    }
}

thread_local! {
    /// This thread's parker, set once it has one: what a waker compares itself with to
    /// know whether it runs on its own `block_on`'s thread. A plain pointer in a constant
    /// thread-local, so that looking at it costs no lazy initialisation, and a wake on a
    /// thread without a parker makes none.
    static OWN_PARKER: Cell<*const Parker> = const { Cell::new(ptr::null()) };
    /// [`PARKER`] once made, null before and once destroyed: reading it is a plain load,
    /// where reaching `PARKER` (which has a destructor) goes through a lazy-initialisation
    /// check out of line, a sizeable part of a `block_on` of a ready future.
    static CACHED: Cell<*const ThreadParker> = const { Cell::new(ptr::null()) };
    static PARKER: ThreadParker = ThreadParker::new();
}

/// Polls `future` on this thread until it completes, inside `runtime` if given (and
/// counted by its clock as `blocker`). The caller has checked that blocking here is allowed.
#[inline]
pub(crate) fn block_on<F: Future>(
    future: F,
    runtime: Option<(&Scheduler, &BlockerGuard<'_>)>,
) -> F::Output {
    let mut cached = CACHED.get();
    if cached.is_null() {
        cached = thread_parker();
    }
    if cached.is_null() {
        // The thread's locals are being destroyed: a parker for this call alone.
        return run(&ThreadParker::new(), future, runtime);
    }
    // SAFETY: `CACHED` points at this thread's `PARKER` while it is alive: it is set once
    // the value is in place and cleared by its destructor. The destructor cannot run during
    // this call: thread-locals are destroyed only as the thread exits, one at a time, and
    // never while code that reached them through this pointer still runs on the thread,
    // since `PARKER`'s own destructor calls no `block_on`.
    run(unsafe { &*cached }, future, runtime)
}

/// Makes this thread's parker and returns it, or null if the thread's locals are already
/// being destroyed.
#[cold]
fn thread_parker() -> *const ThreadParker {
    PARKER
        .try_with(|thread_parker| {
            OWN_PARKER.set(Arc::as_ptr(&thread_parker.parker));
            CACHED.set(thread_parker);
            thread_parker as *const ThreadParker
        })
        .unwrap_or(ptr::null())
}

fn run<F: Future>(
    ThreadParker { parker, waker }: &ThreadParker,
    future: F,
    runtime: Option<(&Scheduler, &BlockerGuard<'_>)>,
) -> F::Output {
    let mut future = pin!(future);
    let _polling = Polling::enter(parker);
    let mut cx = Context::from_waker(waker);
    loop {
        if let Poll::Ready(output) = coop::budget(|| future.as_mut().poll(&mut cx)) {
            return output;
        }
        if parker.woken_in_poll.load(Ordering::Relaxed) {
            parker.woken_in_poll.store(false, Ordering::Relaxed);
            continue;
        }
        match runtime {
            Some((scheduler, blocker)) if blocker.is_counted() => wait_counted(parker, scheduler),
            // `park` may return spuriously; only a wake counts.
            _ => {
                while !parker.notified.swap(false, Ordering::Acquire) {
                    thread::park();
                }
            }
        }
    }
}

/// Marks the thread's `block_on` as running until dropped (see `Parker::polling`); a
/// guard, so that a panicking poll does not leave it set.
struct Polling<'a> {
    parker: &'a Parker,
    was_polling: bool,
}

impl Polling<'_> {
    #[inline]
    fn enter(parker: &Parker) -> Polling<'_> {
        // Load and store, not a swap: only this thread writes the flag.
        let was_polling = parker.polling.load(Ordering::Relaxed);
        parker.polling.store(true, Ordering::Relaxed);
        Polling {
            parker,
            was_polling,
        }
    }
}

impl Drop for Polling<'_> {
    #[inline]
    fn drop(&mut self) {
        self.parker
            .polling
            .store(self.was_polling, Ordering::Relaxed);
    }
}

/// Waits for a wake while the runtime's paused clock counts this thread: it tells the clock
/// it is idle, so that the clock may jump to its next timer once the workers are idle too.
#[cold]
fn wait_counted(parker: &Arc<Parker>, scheduler: &Scheduler) {
    if parker.notified.swap(false, Ordering::Acquire) {
        // Woken while it polled: poll again at once.
        return;
    }
    let thread: Arc<dyn ParkedThread> = parker.clone();
    if scheduler.clock().blocker_parks(thread.clone()) {
        // The workers may all be parked already, with nobody left to notice the idle
        // runtime: wake one to look.
        scheduler.notify_parked();
    }
    while !parker.notified.load(Ordering::Acquire) {
        thread::park();
    }
    // Still flagged as woken while it leaves the clock's idle list, so that the clock never
    // sees it idle from now on.
    scheduler.clock().blocker_wakes(&thread);
    parker.notified.store(false, Ordering::Release);
}
