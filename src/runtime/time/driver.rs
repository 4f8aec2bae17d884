//! The timer driver: one global thread that fires due timers.
//!
//! The driver is started by the first timer that needs it. Its thread, `fiber-timer`, owns
//! nothing but a loop: lock the shared [`Wheel`], advance it to the current tick, collect the
//! wakers of the timers that fell due, release the lock, wake them, and park until the next
//! expiration. Registering a timer earlier than the one the driver parks for unparks it. With
//! no timers pending it parks without a timeout and costs no CPU.
//!
//! Locking rules, which keep a waker that drops timers from deadlocking:
//!
//! - the driver lock (`Core::state`) is taken by the driver thread and by `Registration`
//!   (register, reschedule, cancel); it may be followed by an entry lock, never the reverse;
//! - an entry lock (`TimerEntry::waker`) guards one timer's waker and is held only to swap it;
//! - no waker is woken or dropped while the driver lock is held: fired wakers are collected
//!   and woken after it is released, and a cancelled entry is dropped after it too.

use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::Waker;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::wheel::{Key, Wheel};

/// The global driver, started on first use.
static DRIVER: OnceLock<Driver> = OnceLock::new();

struct Driver {
    core: Arc<Core>,
    /// The `fiber-timer` thread, to unpark it.
    thread: Thread,
}

struct Core {
    /// Tick 0 of the wheel: ticks count whole milliseconds since this instant.
    start: Instant,
    state: Mutex<State>,
}

struct State {
    wheel: Wheel<Arc<TimerEntry>>,
    /// The tick the driver thread parks until, `None` when it parks without a timeout. A
    /// registration earlier than this must unpark it.
    parked_until: Option<u64>,
}

/// The part of a timer shared between its `Sleep` and the driver.
struct TimerEntry {
    /// Set (with the waker taken) once the driver has removed the timer from the wheel because
    /// it fell due. Read without any lock on the fast path of `Sleep::poll`. Written only while
    /// the driver lock is held, so a holder of that lock who reads `false` knows the timer is
    /// still in the wheel.
    fired: AtomicBool,
    /// The waker of the last poll; the driver takes it when the timer fires.
    waker: Mutex<Option<Waker>>,
}

/// A timer registered with the driver: what a `Sleep` holds once it has been polled.
pub(super) struct Registration {
    entry: Arc<TimerEntry>,
    /// Where the entry sits in the wheel; meaningful only while `entry.fired` is false.
    key: Key,
}

/// Locks a mutex, ignoring poisoning: the driver's critical sections leave the state
/// consistent even if a panic unwinds through them (they call no user code).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        let core = Arc::new(Core {
            start: Instant::now(),
            state: Mutex::new(State {
                wheel: Wheel::new(),
                parked_until: None,
            }),
        });
        let thread_core = Arc::clone(&core);
        let handle = thread::Builder::new()
            .name("fiber-timer".into())
            .spawn(move || thread_core.run())
            .unwrap_or_else(|error| {
                panic!("fiber could not start its timer thread `fiber-timer`: {error}")
            });
        Driver {
            core,
            thread: handle.thread().clone(),
        }
    })
}

/// How many timers the driver holds; a test hook.
pub(super) fn registered_timers() -> usize {
    DRIVER
        .get()
        .map_or(0, |driver| lock(&driver.core.state).wheel.len())
}

impl Core {
    /// The first tick at or after `deadline`: rounding up means a timer never fires early.
    fn tick_at_or_after(&self, deadline: Instant) -> u64 {
        let since_start = deadline.saturating_duration_since(self.start);
        let whole_millis = since_start.as_millis();
        let ceiling = if since_start.subsec_nanos() % 1_000_000 == 0 {
            whole_millis
        } else {
            whole_millis + 1
        };
        u64::try_from(ceiling).unwrap_or(u64::MAX)
    }

    /// The last tick at or before `now`.
    fn tick_at_or_before(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.start).as_millis()).unwrap_or(u64::MAX)
    }

    /// The driver thread's loop.
    fn run(&self) {
        let mut due_wakers: Vec<Waker> = Vec::new();
        loop {
            let next_tick = {
                let mut state = lock(&self.state);
                let now = self.tick_at_or_before(Instant::now());
                state.wheel.advance(now, |entry| {
                    // The waker is taken before the driver's reference to the entry is
                    // dropped, so that drop never runs a waker's code under the lock.
                    if let Some(waker) = entry.fire() {
                        due_wakers.push(waker);
                    }
                });
                let next_tick = state.wheel.next_expiration();
                state.parked_until = next_tick;
                next_tick
            };
            for waker in due_wakers.drain(..) {
                // A panicking waker must not take every other timer down with this thread;
                // the panic hook has already reported it.
                let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
            }
            let wake_at =
                next_tick.and_then(|tick| self.start.checked_add(Duration::from_millis(tick)));
            match wake_at {
                None => thread::park(),
                Some(at) => {
                    let now = Instant::now();
                    if at > now {
                        thread::park_timeout(at - now);
                    }
                }
            }
        }
    }
}

impl TimerEntry {
    /// Marks the entry fired and takes its waker. Called with the driver lock held.
    fn fire(&self) -> Option<Waker> {
        let mut waker = lock(&self.waker);
        self.fired.store(true, Ordering::Release);
        waker.take()
    }
}

impl Registration {
    /// Registers a timer due at `deadline` that wakes `waker`, or returns `None` if the
    /// deadline's tick has already passed.
    pub(super) fn new(deadline: Instant, waker: &Waker) -> Option<Registration> {
        let driver = driver();
        let entry = Arc::new(TimerEntry {
            fired: AtomicBool::new(false),
            waker: Mutex::new(Some(waker.clone())),
        });
        let when = driver.core.tick_at_or_after(deadline);
        let mut state = lock(&driver.core.state);
        let inserted = state.wheel.insert(when, Arc::clone(&entry));
        let unpark = inserted.is_ok() && state.note_new_tick(when);
        drop(state);
        if unpark {
            driver.thread.unpark();
        }
        // A refused (already due) entry is dropped here, after the lock is released.
        let key = inserted.ok()?;
        Some(Registration { entry, key })
    }

    /// Whether the driver has fired this timer.
    pub(super) fn is_fired(&self) -> bool {
        self.entry.fired.load(Ordering::Acquire)
    }

    /// Returns whether the timer has fired; if not, makes sure `waker` is woken when it does.
    pub(super) fn poll_fired(&self, waker: &Waker) -> bool {
        if self.is_fired() {
            return true;
        }
        {
            let mut stored = lock(&self.entry.waker);
            match &mut *stored {
                Some(stored) if stored.will_wake(waker) => {}
                // Dropping the old waker here is fine: the entry lock is a leaf lock and the
                // driver lock is not held.
                slot => *slot = Some(waker.clone()),
            }
        }
        // The driver sets `fired` under the entry lock: either it saw the new waker, or we
        // see `fired` now.
        self.is_fired()
    }

    /// Moves the timer to `deadline`, re-arming it if it had fired. A deadline that is
    /// already due fires the timer at once (waking its waker).
    pub(super) fn reschedule(&mut self, deadline: Instant) {
        let driver = driver();
        let due_now = deadline <= Instant::now();
        let when = driver.core.tick_at_or_after(deadline);
        let mut state = lock(&driver.core.state);
        let mut fired_waker = None;
        if self.is_fired() {
            // Fired means the driver has removed the entry and is done with it (it fired
            // under the lock we hold), so it may be inserted again.
            if !due_now {
                if let Ok(key) = state.wheel.insert(when, Arc::clone(&self.entry)) {
                    self.entry.fired.store(false, Ordering::Release);
                    self.key = key;
                }
            }
        } else if due_now {
            // The wheel's reference is not the last (`self` holds one), so dropping it here
            // under the lock runs no waker code.
            drop(state.wheel.remove(self.key));
            fired_waker = self.entry.fire();
        } else {
            match state.wheel.reschedule(self.key, when) {
                Ok(()) => {}
                Err(wheel_entry) => {
                    drop(wheel_entry); // not the last reference, as above
                    fired_waker = self.entry.fire();
                }
            }
        }
        let unpark = !self.is_fired() && state.note_new_tick(when);
        drop(state);
        if unpark {
            driver.thread.unpark();
        }
        if let Some(waker) = fired_waker {
            waker.wake();
        }
    }
}

impl State {
    /// Records that a timer now waits for tick `when`; returns whether the driver thread
    /// must be unparked to honour it.
    fn note_new_tick(&mut self, when: u64) -> bool {
        if self.parked_until.map_or(true, |parked| when < parked) {
            self.parked_until = Some(when);
            true
        } else {
            false
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.is_fired() {
            return;
        }
        let driver = driver();
        let mut state = lock(&driver.core.state);
        // Re-checked under the lock: the driver may have fired it meanwhile.
        let wheel_entry = (!self.is_fired()).then(|| state.wheel.remove(self.key));
        drop(state);
        // Dropped only now, after the lock is released (see the module docs).
        drop(wheel_entry);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("fired", &self.is_fired())
            .finish_non_exhaustive()
    }
}
