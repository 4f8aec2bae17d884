//! The timer driver: one global thread that fires due timers.
//!
//! The driver is started by the first timer that needs it. Timers live in a few shards, each
//! a [`Wheel`] behind a mutex of its own; a thread registers its timers in the shard it was
//! given on first use (threads are dealt out round-robin), so fiber's workers, which
//! register and fire most timers, rarely meet on a lock or write each other's cache lines.
//! The driver thread, `fiber-timer`, owns nothing but a loop: for each shard, lock it,
//! advance it to the current tick, collect the wakers of the timers that fell due, release
//! the lock and wake them; then park until the earliest expiration of all shards.
//! Registering a timer earlier than the one the driver parks for unparks it. With no timers
//! pending it parks without a timeout and costs no CPU.
//!
//! A timer's shared part, its `Slot` (the waker and a generation counter), comes from the
//! shard's free list, refilled from a process-wide pool (see `slots.rs`), so registering a
//! timer allocates nothing once the pool has grown to the number of timers pending at once.
//! A slot is reused by later timers; its generation, bumped each time a timer leaves it
//! (fired or cancelled), tells a `Registration` whether the slot still holds its own timer.
//! The driver thread also trims the pool after a burst of timers, so that the memory of
//! slots no longer needed goes back to the allocator.
//!
//! Locking rules, which keep a waker that drops timers from deadlocking:
//!
//! - a shard lock (`TimerShard::state`, "the driver lock" below) is taken by the driver thread, by
//!   a worker firing its shard's timers, and by `Registration` (register, reschedule,
//!   cancel); it may be followed by a slot lock, never the reverse, and no thread holds two;
//! - the shared slot pool's lock (`POOL`) may be taken under a shard lock (to refill or
//!   spill its free list), or alone (to trim the pool), never the other way round;
//! - a slot lock (`Slot::waker`) guards one timer's waker and is held only to swap it;
//!   a slot's generation changes only while both locks are held;
//! - no waker is cloned, woken or dropped while either lock is held: wakers are cloned
//!   before, fired ones are collected and woken after the driver lock is released, and
//!   replaced or cancelled ones are dropped after it too.

use std::cell::Cell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::task::Waker;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use super::slots::{Slot, SlotPool, SlotRef, SHARD_FREE_MAX, TRIM_INTERVAL};
use crossbeam_utils::CachePadded;

use super::wheel::{Key, Timer, Wheel};

/// The global driver, started on first use.
static DRIVER: OnceLock<Driver> = OnceLock::new();

/// The free slots that no shard keeps; lock it after a shard's lock, never before.
static POOL: Mutex<SlotPool> = Mutex::new(SlotPool::new());

/// The driver's planned wake-up while it scans the shards or parks without a timeout: any
/// registration is earlier, so it lowers the value (which makes a scan start over) and
/// unparks the thread.
const AWAKE_OR_IDLE: u64 = u64::MAX;

struct Driver {
    core: &'static Core,
    /// The `fiber-timer` thread, to unpark it.
    thread: Thread,
}

struct Core {
    /// Tick 0 of the wheels: ticks count whole milliseconds since this instant.
    start: Instant,
    /// Each on cache lines of its own, so that two shards never share one.
    shards: Box<[CachePadded<TimerShard>]>,
    /// The tick the driver thread parks until, or [`AWAKE_OR_IDLE`]. A registration earlier
    /// than this lowers it and unparks the thread.
    parked_until: AtomicU64,
    /// Deals shards out to threads.
    next_shard: AtomicUsize,
}

/// One wheel and its slots.
struct TimerShard {
    state: Mutex<WheelState>,
    /// No timer of this shard is due before this tick (`u64::MAX`: none pending). Lowered by
    /// every registration and reset to the wheel's next expiration by every advance, both
    /// under the lock; read without it by workers deciding whether to fire.
    next_due: AtomicU64,
}

struct WheelState {
    wheel: Wheel<SlotRef>,
    /// Slots holding no timer, the most recently freed last (it is the most likely to be in
    /// cache); at most `SHARD_FREE_MAX`, the rest go to the shared pool.
    free_slots: Vec<SlotRef>,
    /// This shard's index in `Core::shards`.
    index: u32,
}

/// A timer registered with the driver: what a `Sleep` holds once it has been polled.
pub(super) struct Registration {
    /// Held (`Slot::hold`) until this registration is dropped.
    slot: SlotRef,
    /// The slot's generation when this timer took it.
    generation: u64,
}

thread_local! {
    /// The shard this thread registers its timers in, dealt on first use.
    static HOME_SHARD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Locks a mutex, ignoring poisoning: the driver's critical sections leave the state
/// consistent even if a panic unwinds through them (they call no user code).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn driver() -> &'static Driver {
    DRIVER.get_or_init(|| {
        // Twice the cores, so that the workers of a runtime sized to the machine, and the
        // threads around them, mostly get shards of their own.
        let shards = thread::available_parallelism()
            .map_or(4, |cores| cores.get() * 2)
            .clamp(2, 128);
        // The driver lives as long as the process; leaking its core lets the thread and every
        // `Registration` refer to it (and to its slots) without reference counting.
        let core: &'static Core = Box::leak(Box::new(Core {
            start: Instant::now(),
            shards: (0..shards)
                .map(|index| {
                    CachePadded::new(TimerShard {
                        state: Mutex::new(WheelState {
                            wheel: Wheel::new(),
                            free_slots: Vec::new(),
                            index: u32::try_from(index).expect("at most 128 shards"),
                        }),
                        next_due: AtomicU64::new(u64::MAX),
                    })
                })
                .collect(),
            parked_until: AtomicU64::new(AWAKE_OR_IDLE),
            next_shard: AtomicUsize::new(0),
        }));
        let handle = thread::Builder::new()
            .name("fiber-timer".into())
            .spawn(move || core.run())
            .unwrap_or_else(|error| {
                panic!("fiber could not start its timer thread `fiber-timer`: {error}")
            });
        Driver {
            core,
            thread: handle.thread().clone(),
        }
    })
}

/// How many timers the driver holds, and how many slots are allocated; a test hook.
pub(super) fn registered_timers() -> (usize, usize) {
    let timers = DRIVER.get().map_or(0, |driver| {
        driver
            .core
            .shards
            .iter()
            .map(|shard| lock(&shard.state).wheel.len())
            .sum()
    });
    (timers, lock(&POOL).allocated())
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

    /// The calling thread's shard.
    fn home_shard(&self) -> &TimerShard {
        let index = HOME_SHARD.with(|home| {
            home.get().unwrap_or_else(|| {
                let index = self.next_shard.fetch_add(1, Ordering::Relaxed) % self.shards.len();
                home.set(Some(index));
                index
            })
        });
        &self.shards[index]
    }

    /// Records that a timer now waits for tick `when` (after it was put in its shard);
    /// returns whether the driver thread must be unparked to honour it.
    fn note_new_tick(&self, shard: &TimerShard, when: u64) -> bool {
        shard.next_due.fetch_min(when, Ordering::Relaxed);
        // Pairs with the driver's store before it scans and its compare-exchange after: a
        // registration it missed in a scan either lowers the value before the exchange (the
        // scan starts over) or reads the planned tick after it.
        if when < self.parked_until.load(Ordering::SeqCst) {
            self.parked_until.fetch_min(when, Ordering::SeqCst);
            true
        } else {
            false
        }
    }

    /// The driver thread's loop.
    fn run(&self) {
        let mut due_wakers: Vec<Waker> = Vec::new();
        let mut next_trim = Instant::now() + TRIM_INTERVAL;
        loop {
            self.parked_until.store(AWAKE_OR_IDLE, Ordering::SeqCst);
            let now = self.tick_at_or_before(Instant::now());
            let mut next_tick = u64::MAX;
            for shard in self.shards.iter() {
                let next = shard.advance(&mut lock(&shard.state), now, &mut due_wakers);
                next_tick = next_tick.min(next.unwrap_or(u64::MAX));
                wake_all(&mut due_wakers);
            }
            let planned = self.parked_until.compare_exchange(
                AWAKE_OR_IDLE,
                next_tick,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            if planned.is_err() {
                // A timer was registered during the scan, maybe in a shard already scanned.
                continue;
            }
            let mut wake_at = (next_tick != u64::MAX)
                .then(|| self.start.checked_add(Duration::from_millis(next_tick)))
                .flatten();
            // After a burst of timers, give memory back every `TRIM_INTERVAL` until only a
            // reserve is left; an idle driver with nothing to give back sleeps for good.
            let has_excess = lock(&POOL).has_excess();
            if has_excess {
                let now = Instant::now();
                if now >= next_trim {
                    self.trim(&mut due_wakers);
                    next_trim = now + TRIM_INTERVAL;
                }
                wake_at = Some(wake_at.map_or(next_trim, |at| at.min(next_trim)));
            } else {
                next_trim = next_trim.max(Instant::now() + TRIM_INTERVAL);
            }
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

impl Core {
    /// Frees the slots the shared pool did not need since the last trim, and the wheels'
    /// and the driver's buffers that only a burst of timers needed.
    #[cold]
    fn trim(&self, due_wakers: &mut Vec<Waker>) {
        lock(&POOL).trim();
        for shard in self.shards.iter() {
            lock(&shard.state).wheel.shrink();
        }
        *due_wakers = Vec::new();
    }
}

impl TimerShard {
    /// Hands out every timer due at or before tick `now`, collecting their wakers into
    /// `due`. Returns the wheel's next expiration.
    fn advance(&self, state: &mut WheelState, now: u64, due: &mut Vec<Waker>) -> Option<u64> {
        let WheelState {
            wheel, free_slots, ..
        } = state;
        wheel.advance(now, |slot| {
            if let Some(waker) = slot.vacate() {
                due.push(waker);
            }
            // Back to the free list at once, though its `Sleep` may still hold it: reuse
            // is safe, the generation tells the holder that its timer fired.
            push_free(free_slots, slot);
        });
        let next_tick = wheel.next_expiration();
        self.next_due
            .store(next_tick.unwrap_or(u64::MAX), Ordering::Relaxed);
        next_tick
    }
}

/// Wakes the collected wakers, after every lock is released.
fn wake_all(wakers: &mut Vec<Waker>) {
    for waker in wakers.drain(..) {
        // A panicking waker must not take every other timer (or the worker firing them) down
        // with it; the panic hook has already reported it.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
    }
}

/// Fires the timers of the calling thread's shard that are due by `now`, if any are and no
/// other thread is firing them right now. Returns whether it woke any.
///
/// fiber's workers call this between polls (the driver thread still fires everything on its
/// own): a worker that fires a timer of one of its runtime's tasks queues that task locally,
/// which saves the hand-off from the driver thread through the runtime's channel, and keeps
/// timers on time when the driver thread waits for a CPU behind busy workers. `now` is
/// called only if the shard holds a timer (an idle worker with no timers pending reads no
/// clock here); `scratch` is the caller's buffer for the wakers, empty on return.
pub(crate) fn fire_due(now: impl FnOnce() -> Instant, scratch: &mut Vec<Waker>) -> bool {
    let Some(driver) = DRIVER.get() else {
        return false;
    };
    let core = driver.core;
    let shard = core.home_shard();
    let next_due = shard.next_due.load(Ordering::Relaxed);
    if next_due == u64::MAX {
        return false;
    }
    let now = core.tick_at_or_before(now());
    if next_due > now {
        return false;
    }
    let mut state = match shard.state.try_lock() {
        Ok(state) => state,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return false,
    };
    shard.advance(&mut state, now, scratch);
    // The driver thread may be parked until a tick that has now been handled: it wakes then,
    // finds nothing due and parks again, which is cheaper than unparking it here.
    drop(state);
    let woke = !scratch.is_empty();
    wake_all(scratch);
    woke
}

/// Starts loading a slot about to be used: the one the shard's next registration will take,
/// or one the wheel will soon fire. With many timers pending, a slot has usually left the
/// cache since it was last used (or was last written by another core): loading it ahead,
/// rather than when its waker is locked, takes that wait off the poll or the firing.
#[inline]
fn prefetch(slot: &Slot) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch is only a hint, which never faults, and SSE is part of every x86-64
    // target; `slot` is a valid reference anyway.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((slot as *const Slot).cast::<i8>());
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = slot;
}

/// Returns a slot to a shard's free list, handing a batch to the shared pool when the list
/// is too long.
fn push_free(free_slots: &mut Vec<SlotRef>, slot: SlotRef) {
    free_slots.push(slot);
    if free_slots.len() > SHARD_FREE_MAX && lock(&POOL).give_back(free_slots) {
        // The driver may be parked for long, or for good: wake it to plan the trim.
        if let Some(driver) = DRIVER.get() {
            driver.thread.unpark();
        }
    }
}

impl Timer for SlotRef {
    fn set_key(&self, key: Key) {
        self.key.store(key.to_raw(), Ordering::Relaxed);
    }

    fn prefetch(&self) {
        prefetch(self);
    }
}

impl Slot {
    /// Ends the current timer's hold on the slot (it fired or was cancelled) and takes its
    /// waker. Called with the driver lock held, after the timer left the wheel; the caller
    /// returns the slot to the pool.
    fn vacate(&self) -> Option<Waker> {
        let mut waker = lock(&self.waker);
        let generation = self.generation.load(Ordering::Relaxed);
        self.generation.store(generation + 1, Ordering::Release);
        waker.take()
    }
}

impl WheelState {
    /// Puts a timer due at tick `when` into the wheel, waking `waker` when it fires, or
    /// gives the waker back if the tick has already passed (to be dropped by the caller
    /// after the lock is released). The waker is cloned by the caller before it takes the
    /// lock: a clone runs the waker's own code, which must not run under it.
    fn insert(&mut self, when: u64, waker: Option<Waker>) -> Result<Registration, Option<Waker>> {
        if self.free_slots.is_empty() {
            lock(&POOL).take_batch(&mut self.free_slots);
        }
        let slot = self
            .free_slots
            .pop()
            .expect("a batch of slots is not empty");
        if let Some(next) = self.free_slots.last() {
            prefetch(next);
        }
        // Before the wheel links it, so that whoever finds it there finds the right shard.
        slot.shard.store(self.index, Ordering::Release);
        match self.wheel.insert(when, slot) {
            Ok(()) => {
                let stale = std::mem::replace(&mut *lock(&slot.waker), waker);
                debug_assert!(stale.is_none(), "a free timer slot held a waker");
                slot.hold();
                Ok(Registration {
                    slot,
                    generation: slot.generation.load(Ordering::Relaxed),
                })
            }
            Err(slot) => {
                self.free_slots.push(slot);
                Err(waker)
            }
        }
    }
}

impl Registration {
    /// Registers a timer due at `deadline` that wakes `waker`, or returns `None` if the
    /// deadline's tick has already passed.
    pub(super) fn new(deadline: Instant, waker: &Waker) -> Option<Registration> {
        let driver = driver();
        let when = driver.core.tick_at_or_after(deadline);
        let waker = waker.clone();
        let shard = driver.core.home_shard();
        let mut state = lock(&shard.state);
        let inserted = state.insert(when, Some(waker));
        let unpark = inserted.is_ok() && driver.core.note_new_tick(shard, when);
        drop(state);
        if unpark {
            driver.thread.unpark();
        }
        // A refused (already due) timer's waker is dropped here, after the lock is released.
        inserted.ok()
    }

    /// Whether the driver has fired this timer (or it was cancelled by a `reschedule` into
    /// the past).
    pub(super) fn is_fired(&self) -> bool {
        self.slot.generation.load(Ordering::Acquire) != self.generation
    }

    /// Returns whether the timer has fired; if not, makes sure `waker` is woken when it does.
    pub(super) fn poll_fired(&self, waker: &Waker) -> bool {
        if self.is_fired() {
            return true;
        }
        let stored_will_wake = {
            let stored = lock(&self.slot.waker);
            // The generation changes only under this lock: if it still is ours, the driver
            // has not fired the timer and will see whatever waker is stored.
            if self.is_fired() {
                return true;
            }
            matches!(&*stored, Some(stored) if stored.will_wake(waker))
        };
        if stored_will_wake {
            return false;
        }
        // Cloned, and the old waker dropped, outside the lock: both run the waker's own code,
        // which may drop other timers.
        let new = waker.clone();
        let replaced = {
            let mut stored = lock(&self.slot.waker);
            if self.is_fired() {
                None
            } else {
                Some(stored.replace(new))
            }
        };
        match replaced {
            Some(old) => {
                drop(old);
                false
            }
            None => true,
        }
    }

    /// Moves the timer to `deadline`, re-arming it if it had fired. A deadline that is
    /// already due fires the timer at once (waking its waker).
    pub(super) fn reschedule(&mut self, deadline: Instant) {
        let driver = driver();
        let core = driver.core;
        let due_now = deadline <= Instant::now();
        let when = core.tick_at_or_after(deadline);
        let shard = &core.shards[self.slot.shard.load(Ordering::Acquire) as usize];
        let mut state = lock(&shard.state);
        // Checked under the slot's shard lock: the timer cannot fire meanwhile.
        if !self.is_fired() {
            let key = Key::from_raw(self.slot.key.load(Ordering::Relaxed));
            let left_wheel = if due_now {
                state.wheel.remove(key);
                true
            } else {
                // Refused when the tick has passed meanwhile; the wheel then removed it.
                state.wheel.reschedule(key, when).is_err()
            };
            let mut fired_waker = None;
            let mut unpark = false;
            if left_wheel {
                fired_waker = self.slot.vacate();
                push_free(&mut state.free_slots, self.slot);
            } else {
                unpark = core.note_new_tick(shard, when);
            }
            drop(state);
            if unpark {
                driver.thread.unpark();
            }
            if let Some(waker) = fired_waker {
                waker.wake();
            }
            return;
        }
        drop(state);
        // Fired: the slot may already hold another timer. Take a fresh one in this thread's
        // shard; its waker is stored by the next poll.
        if due_now {
            return;
        }
        let home = core.home_shard();
        let mut state = lock(&home.state);
        let inserted = state.insert(when, None);
        let unpark = inserted.is_ok() && core.note_new_tick(home, when);
        drop(state);
        if unpark {
            driver.thread.unpark();
        }
        if let Ok(registration) = inserted {
            // The fired registration this replaces takes no lock when dropped.
            *self = registration;
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.is_fired() {
            // Its slot is back in a free list already; only the hold is left to give up.
            self.slot.release();
            return;
        }
        let shard = &driver().core.shards[self.slot.shard.load(Ordering::Acquire) as usize];
        let mut state = lock(&shard.state);
        // Re-checked under the lock: the driver may have fired it meanwhile.
        let waker = if self.is_fired() {
            None
        } else {
            state
                .wheel
                .remove(Key::from_raw(self.slot.key.load(Ordering::Relaxed)));
            let waker = self.slot.vacate();
            push_free(&mut state.free_slots, self.slot);
            waker
        };
        drop(state);
        // Last: the slot may be freed once no registration holds it.
        self.slot.release();
        // Dropped only now, after the lock is released (see the module docs).
        drop(waker);
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("fired", &self.is_fired())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::Context;

    use super::*;
    use crate::test_support::CountWakes;
    use crate::time::sleep;

    /// Workers fire their shard's due timers (`fire_due`) while the driver thread fires them
    /// too: each timer must fire once, not early, and none may be lost. Several threads each
    /// register timers in their own shard and then call `fire_due` until all have fired, so
    /// every shard has two firers at once. Independent of speed: a timer whose deadline has
    /// already passed when it is first polled (a slow machine, Miri) completes at once
    /// instead, and must then never be woken.
    #[test]
    fn timers_fired_by_two_threads_at_once_fire_exactly_once() {
        const THREADS: usize = if cfg!(miri) { 2 } else { 4 };
        const TIMERS: u64 = if cfg!(miri) { 20 } else { 1_000 };
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                thread::spawn(|| {
                    let counters: Vec<Arc<CountWakes>> =
                        (0..TIMERS).map(|_| CountWakes::new()).collect();
                    let mut sleeps: Vec<_> = (0..TIMERS)
                        .map(|index| sleep(Duration::from_millis(30 + index % 7)))
                        .collect();
                    let ready_at_once: Vec<bool> = sleeps
                        .iter_mut()
                        .zip(&counters)
                        .map(|(pause, counter)| {
                            let waker = Waker::from(counter.clone());
                            Pin::new(pause)
                                .poll(&mut Context::from_waker(&waker))
                                .is_ready()
                        })
                        .collect();
                    let deadline = Instant::now() + Duration::from_secs(60);
                    let mut scratch = Vec::new();
                    let pending = || {
                        counters
                            .iter()
                            .zip(&ready_at_once)
                            .any(|(counter, &ready)| !ready && counter.count() == 0)
                    };
                    while pending() {
                        assert!(Instant::now() < deadline, "timers were lost");
                        fire_due(Instant::now, &mut scratch);
                        thread::yield_now();
                    }
                    for ((pause, counter), ready) in
                        sleeps.iter_mut().zip(&counters).zip(ready_at_once)
                    {
                        let expected_wakes = if ready { 0 } else { 1 };
                        assert_eq!(counter.count(), expected_wakes, "each timer fires once");
                        assert!(Instant::now() >= pause.deadline());
                        assert!(pause.is_elapsed());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
}
