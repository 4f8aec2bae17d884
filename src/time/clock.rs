//! A runtime's clock, which tests may pause: [`pause`], [`resume`], [`advance`], [`now`].
//!
//! Every runtime owns a `Clock`. Until it is first paused it is only a flag that says so,
//! and the runtime's timers go straight to the global driver. Once paused, the clock is
//! "virtual" for good: timers created in the runtime's context keep a reference to it,
//! read the runtime's time from it, and while it is paused wait on its own timeline (a map
//! ordered by deadline) instead of the driver's wheels. That timeline moves only when
//! [`advance`] is called, or when the whole runtime is idle (every worker parks and every
//! `block_on` thread waits): then the clock jumps to the earliest deadline and fires it.
//!
//! The idle test counts `block_on` threads as well as workers: a `block_on` thread is
//! counted busy from the moment it enters (or pauses the clock) until it parks, and, once
//! parked, busy again as soon as its waker is woken, before it even runs. So a clock that
//! has just fired a timer of a `block_on` future never jumps again before that future ran.
//!
//! After [`resume`], the runtime's time runs at the speed of real time again, from where the
//! paused clock stood; the virtual timers then wait on the global driver, at the real instant
//! that corresponds to their deadline.

use std::collections::BTreeMap;
use std::fmt;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

use std::sync::OnceLock;

/// Set once any runtime's clock has been paused: until then no `sleep` needs to look for
/// its runtime's clock, which keeps that look off the path of every timer.
static ANY_VIRTUAL_CLOCK: AtomicBool = AtomicBool::new(false);

/// One runtime's clock.
pub(crate) struct Clock {
    /// Set when the clock is first paused, never cleared.
    is_virtual: AtomicBool,
    state: Mutex<State>,
}

struct State {
    /// The runtime's now while the clock is paused; `None` while it runs.
    paused_at: Option<Instant>,
    /// While running after a pause: the runtime's now was `.1` at real instant `.0`.
    resumed: Option<(Instant, Instant)>,
    /// Timers waiting on the paused timeline, earliest first; the id keeps apart timers of
    /// one deadline, in the order they were registered.
    timers: BTreeMap<(Instant, u64), Option<Waker>>,
    next_id: u64,
    /// `block_on` threads counted in this runtime (see the module docs).
    blockers: usize,
    /// Those of them that are parked, each with the flag its waker sets.
    parked_blockers: Vec<&'static dyn ParkedThread>,
}

/// A parked `block_on` thread, as far as the idle test needs to know it.
pub(crate) trait ParkedThread: Send + Sync {
    /// Whether it has been woken since it parked.
    fn is_woken(&self) -> bool;
}

/// Where the runtime's time stands, for a timer deciding where to wait.
pub(super) enum Timeline {
    /// Paused at this instant.
    Paused(Instant),
    /// Running: a deadline of the runtime is due at the real instant this maps it to.
    Running(Mapping),
}

/// Maps the runtime's instants to real ones while its clock runs.
#[derive(Clone, Copy)]
pub(super) struct Mapping(Option<(Instant, Instant)>);

impl Mapping {
    /// The real instant at which the runtime's clock reads `deadline`.
    pub(super) fn real_instant(self, deadline: Instant) -> Instant {
        match self.0 {
            None => deadline,
            Some((real, runtime)) => match deadline.checked_duration_since(runtime) {
                Some(ahead) => super::sleep::add_or_far_future(real, ahead),
                None => real,
            },
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // No user code runs under this lock (wakers are cloned before and woken after it), so a
    // panic cannot leave the state half-changed.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Clock {
    pub(crate) fn new(start_paused: bool) -> Clock {
        if start_paused {
            ANY_VIRTUAL_CLOCK.store(true, Ordering::Release);
        }
        Clock {
            is_virtual: AtomicBool::new(start_paused),
            state: Mutex::new(State {
                paused_at: start_paused.then(Instant::now),
                resumed: None,
                timers: BTreeMap::new(),
                next_id: 0,
                blockers: 0,
                parked_blockers: Vec::new(),
            }),
        }
    }

    #[inline]
    pub(crate) fn is_virtual(&self) -> bool {
        self.is_virtual.load(Ordering::Acquire)
    }

    /// The runtime's now.
    pub(super) fn now(&self) -> Instant {
        let state = lock(&self.state);
        match (state.paused_at, state.resumed) {
            (Some(paused_at), _) => paused_at,
            (None, resumed) => Mapping(resumed).runtime_now(),
        }
    }

    pub(super) fn timeline(&self) -> Timeline {
        let state = lock(&self.state);
        match state.paused_at {
            Some(paused_at) => Timeline::Paused(paused_at),
            None => Timeline::Running(Mapping(state.resumed)),
        }
    }

    #[track_caller]
    fn pause(&self) {
        let mut state = lock(&self.state);
        assert!(
            state.paused_at.is_none(),
            "`fiber::time::pause`: this runtime's clock is already paused"
        );
        state.paused_at = Some(Mapping(state.resumed).runtime_now());
        // A `block_on` thread that pauses its runtime's clock is busy from now on: counted
        // under the same lock, so that no worker sees the paused clock without it.
        if BLOCKER.get().is_null() && ptr::eq(block_on_clock(), self) {
            state.blockers += 1;
            BLOCKER.set(self);
        }
        self.is_virtual.store(true, Ordering::Release);
        ANY_VIRTUAL_CLOCK.store(true, Ordering::Release);
    }

    #[track_caller]
    fn resume(&self) {
        let mut state = lock(&self.state);
        let Some(paused_at) = state.paused_at.take() else {
            panic!("`fiber::time::resume`: this runtime's clock is not paused");
        };
        state.resumed = Some((Instant::now(), paused_at));
        // The waiting timers move to the driver: wake them, and each re-registers there when
        // polled.
        let wakers: Vec<Waker> = std::mem::take(&mut state.timers)
            .into_values()
            .flatten()
            .collect();
        drop(state);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Moves the paused clock forward by `duration` and fires what fell due.
    #[track_caller]
    fn advance(&self, duration: Duration) {
        let mut state = lock(&self.state);
        let Some(paused_at) = state.paused_at else {
            panic!("`fiber::time::advance`: this runtime's clock is not paused; call `pause` first")
        };
        let now = super::sleep::add_or_far_future(paused_at, duration);
        state.paused_at = Some(now);
        let due = state.take_due(now);
        drop(state);
        due.into_iter().for_each(Waker::wake);
    }

    /// Registers a timer due at `deadline` on the paused timeline; returns its id, or `None`
    /// if the clock is not paused or the deadline is not in its future.
    pub(super) fn register(&self, deadline: Instant, waker: Waker) -> Option<u64> {
        let mut state = lock(&self.state);
        if state.paused_at.map_or(true, |now| deadline <= now) {
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        state.timers.insert((deadline, id), Some(waker));
        Some(id)
    }

    /// Makes sure `waker` is woken when the timer `(deadline, id)` fires; returns false if it
    /// is no longer on the timeline (fired, or moved off by `resume`).
    pub(super) fn update_waker(&self, deadline: Instant, id: u64, waker: &Waker) -> bool {
        let mut state = lock(&self.state);
        let Some(stored) = state.timers.get_mut(&(deadline, id)) else {
            return false;
        };
        if !stored
            .as_ref()
            .is_some_and(|stored| stored.will_wake(waker))
        {
            // Swapped under the lock: cloning a waker runs its own code, but only code that
            // may not reach timers (a clone never wakes or drops a task).
            let old = stored.replace(waker.clone());
            drop(state);
            drop(old);
        }
        true
    }

    /// Takes the timer `(deadline, id)` off the timeline; returns its waker.
    pub(super) fn remove(&self, deadline: Instant, id: u64) -> Option<Waker> {
        lock(&self.state).timers.remove(&(deadline, id)).flatten()
    }

    /// If the clock is paused, the runtime's workers are all idle (`workers_idle`, asked
    /// under the clock's lock) and so are its `block_on` threads, jumps to the earliest
    /// timer and fires it. Returns whether it fired anything.
    pub(crate) fn auto_advance(&self, workers_idle: impl FnOnce() -> bool) -> bool {
        if !self.is_virtual() {
            return false;
        }
        let mut state = lock(&self.state);
        let Some(paused_at) = state.paused_at else {
            return false;
        };
        let Some(&(earliest, _)) = state.timers.keys().next() else {
            return false;
        };
        let blockers_idle = state.parked_blockers.len() == state.blockers
            && !state.parked_blockers.iter().any(|thread| thread.is_woken());
        if !blockers_idle || !workers_idle() {
            return false;
        }
        let now = paused_at.max(earliest);
        state.paused_at = Some(now);
        let due = state.take_due(now);
        drop(state);
        due.into_iter().for_each(Waker::wake);
        true
    }

    /// A counted `block_on` thread parks; returns whether a paused clock may now be
    /// waiting for the runtime to notice it is idle (the caller then nudges a worker).
    pub(crate) fn blocker_parks(&self, thread: &'static dyn ParkedThread) -> bool {
        let mut state = lock(&self.state);
        state.parked_blockers.push(thread);
        state.paused_at.is_some() && !state.timers.is_empty()
    }

    /// Counts this `block_on` thread in: rare, for a paused clock only, so kept out of
    /// `block_on`'s inlined path.
    #[cold]
    fn count_blocker(&self) {
        lock(&self.state).blockers += 1;
        BLOCKER.set(self);
    }

    /// Counts this `block_on` thread out again.
    #[cold]
    fn uncount_blocker(&self) {
        BLOCKER.set(ptr::null());
        lock(&self.state).blockers -= 1;
    }

    /// The `block_on` thread `thread` woke up.
    pub(crate) fn blocker_wakes(&self, thread: &'static dyn ParkedThread) {
        let mut state = lock(&self.state);
        if let Some(index) = state
            .parked_blockers
            .iter()
            .position(|parked| ptr::eq(addr(*parked), addr(thread)))
        {
            state.parked_blockers.swap_remove(index);
        }
    }
}

/// Where `thread` lives, to tell parked threads apart (a `dyn` pointer's vtable may differ
/// between two pointers to one value).
fn addr(thread: &dyn ParkedThread) -> *const u8 {
    (thread as *const dyn ParkedThread).cast()
}

impl State {
    /// Takes every timer due at or before `now` off the timeline, returning their wakers in
    /// deadline order.
    fn take_due(&mut self, now: Instant) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.extend(entry.remove());
        }
        due
    }
}

impl Mapping {
    fn runtime_now(self) -> Instant {
        let real_now = Instant::now();
        match self.0 {
            None => real_now,
            Some((real, runtime)) => {
                super::sleep::add_or_far_future(runtime, real_now.saturating_duration_since(real))
            }
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("Clock")
            .field("paused_at", &state.paused_at)
            .field("virtual_timers", &state.timers.len())
            .finish_non_exhaustive()
    }
}

thread_local! {
    /// The clock that counts this thread's `block_on`, or null. Set only when the clock is
    /// paused, at the `block_on`'s entry or by the `pause` inside it: a `block_on` of a
    /// runtime whose clock never paused (nearly all) costs this a load, at its end.
    static BLOCKER: std::cell::Cell<*const Clock> = const { std::cell::Cell::new(ptr::null()) };
}

/// A `block_on` thread inside the runtime with `clock`, for the idle test (module docs).
#[derive(Debug)]
#[must_use]
pub(crate) struct BlockerGuard<'a> {
    clock: &'a Clock,
}

impl BlockerGuard<'_> {
    /// Enters: counted at once if the clock is virtual, else when it is paused.
    #[inline]
    pub(crate) fn enter(clock: &Clock) -> BlockerGuard<'_> {
        if clock.is_virtual() {
            clock.count_blocker();
        }
        BlockerGuard { clock }
    }

    /// Whether the clock counts this thread (it must then report parking and waking).
    #[inline]
    pub(crate) fn is_counted(&self) -> bool {
        ptr::eq(BLOCKER.get(), self.clock)
    }
}

impl Drop for BlockerGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.is_counted() {
            self.clock.uncount_blocker();
        }
    }
}

/// How `time` reaches into the runtime's context: the runtime sits above `time` (its
/// workers fire timers), so rather than `time` importing the runtime, the runtime hands these
/// functions down when it starts its first runtime; until then there is no runtime, and so
/// no runtime clock.
#[derive(Clone, Copy)]
pub(crate) struct ClockFinders {
    /// The clock of the runtime whose context this thread is in.
    pub(crate) current: fn() -> Option<Arc<Clock>>,
    /// The clock of the runtime whose `block_on` runs on this thread (null if none), for
    /// comparison only.
    pub(crate) block_on: fn() -> *const Clock,
}

static FINDERS: OnceLock<ClockFinders> = OnceLock::new();

/// Tells `time` how to find the runtime's clocks (see [`ClockFinders`]).
pub(crate) fn find_clocks_with(finders: ClockFinders) {
    let _ = FINDERS.set(finders);
}

fn current_clock() -> Option<Arc<Clock>> {
    FINDERS.get().and_then(|finders| (finders.current)())
}

fn block_on_clock() -> *const Clock {
    FINDERS
        .get()
        .map_or(ptr::null(), |finders| (finders.block_on)())
}

/// The clock of the runtime whose context this thread is in, if that clock is virtual.
pub(super) fn current_virtual() -> Option<Arc<Clock>> {
    if !ANY_VIRTUAL_CLOCK.load(Ordering::Acquire) {
        return None;
    }
    current_clock().filter(|clock| clock.is_virtual())
}

/// The clock of the current runtime, or a panic naming `function`.
#[track_caller]
fn current(function: &str) -> Arc<Clock> {
    match current_clock() {
        Some(clock) => clock,
        None => panic!(
            "`fiber::time::{function}` was called outside a fiber runtime: the clock it \
             controls belongs to a runtime. Call it from a task or inside `block_on`."
        ),
    }
}

/// Pauses the current runtime's clock.
///
/// From now on the runtime's time (see [`now`]) stands still, and its timers fire only when
/// [`advance`] moves the clock, or when the whole runtime is idle (no task can run and
/// every `block_on` waits): the clock then jumps straight to the earliest timer. So a test
/// can sleep for an hour in milliseconds, and its sleeps still complete in deadline order.
/// The clock belongs to one runtime: other runtimes, and timers outside any runtime, keep
/// real time. A paused runtime can also be built with
/// [`Builder::start_paused`](crate::Builder::start_paused).
///
/// Timers already waiting on real time when the clock is paused move to the paused
/// timeline when they next fire or are polled.
///
/// # Panics
///
/// Panics outside a fiber runtime's context, and if the clock is already paused.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
/// use fiber::time::{pause, sleep};
///
/// let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     pause();
///     let start = Instant::now();
///     sleep(Duration::from_secs(3600)).await; // the idle runtime jumps an hour ahead
///     assert!(start.elapsed() < Duration::from_secs(3600));
/// });
/// ```
#[track_caller]
pub fn pause() {
    current("pause").pause();
}

/// Lets the current runtime's paused clock run again, at the speed of real time, from the
/// instant where it stood.
///
/// # Panics
///
/// Panics outside a fiber runtime's context, and if the clock is not paused.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::{now, pause, resume, sleep};
///
/// let rt = fiber::Builder::new().worker_threads(1).start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = now();
///     resume();
///     sleep(Duration::from_millis(5)).await;
///     assert!(now() >= start + Duration::from_millis(5));
///     pause();
/// });
/// ```
#[track_caller]
pub fn resume() {
    current("resume").resume();
}

/// Moves the current runtime's paused clock forward by `duration`, fires every timer that
/// falls due, and yields once so that the tasks they woke can run.
///
/// # Panics
///
/// Panics outside a fiber runtime's context, and if the clock is not paused.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::{advance, sleep};
///
/// let rt = fiber::Builder::new().worker_threads(1).start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let short = sleep(Duration::from_secs(10));
///     let long = sleep(Duration::from_secs(20));
///     advance(Duration::from_secs(15)).await;
///     assert!(short.is_elapsed());
///     assert!(!long.is_elapsed());
/// });
/// ```
pub async fn advance(duration: Duration) {
    current("advance").advance(duration);
    // Yield once, so the tasks that the fired timers woke run before the caller goes on.
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return std::task::Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await;
}

/// The current runtime's now: [`Instant::now`] unless the runtime's clock has been paused,
/// in which case it is the clock's instant (standing still while paused). Outside a
/// runtime, [`Instant::now`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fiber::time::{advance, now};
///
/// let rt = fiber::Builder::new().worker_threads(1).start_paused(true).build().unwrap();
/// rt.block_on(async {
///     let start = now();
///     advance(Duration::from_secs(5)).await;
///     assert_eq!(now() - start, Duration::from_secs(5));
/// });
/// ```
pub fn now() -> Instant {
    current_virtual().map_or_else(Instant::now, |clock| clock.now())
}
