//! The readiness of one registered source: one atomic word written by the driver and read
//! by the tasks that use the source, and the wakers of the tasks waiting on it.
//!
//! # The readiness word
//!
//! ```text
//!   bits 0..6   readiness: READABLE, WRITABLE, READ_CLOSED, WRITE_CLOSED, ERROR, SHUTDOWN
//!   bits 8..24  tick: bumped by the driver on every event it delivers for this source
//! ```
//!
//! Sources are registered edge-triggered: the OS reports a change once, and the word
//! remembers it until a task proves it stale by getting `WouldBlock`. The race to avoid is a
//! task that reads "readable", calls `read`, gets `WouldBlock`, and clears "readable" just
//! after the driver stored a new edge that arrived after the `read`: that edge would be lost
//! and the task would wait for ever. So a task clears readiness only with the tick it read:
//! if the driver delivered an event since, the tick differs and the clear is skipped (the
//! task then retries its syscall, at worst once in vain).
//!
//! Only the driver sets readiness bits and bumps the tick; tasks only clear the bits they
//! observed (never the closed, error or shutdown bits, which are final). `SHUTDOWN` is set
//! once, when the runtime that owns the driver shuts down.

use std::task::{Context, Poll, Waker};

use crate::loom::sync::atomic::{AtomicUsize, Ordering};
use crate::loom::sync::Mutex;

/// A readiness bit set, as stored in the low bits of the word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ready(usize);

impl Ready {
    pub(crate) const EMPTY: Ready = Ready(0);
    pub(crate) const READABLE: Ready = Ready(1 << 0);
    pub(crate) const WRITABLE: Ready = Ready(1 << 1);
    pub(crate) const READ_CLOSED: Ready = Ready(1 << 2);
    pub(crate) const WRITE_CLOSED: Ready = Ready(1 << 3);
    pub(crate) const ERROR: Ready = Ready(1 << 4);
    /// The driver is gone: every wait ends with an error.
    pub(crate) const SHUTDOWN: Ready = Ready(1 << 5);

    /// The bits that stay once set: a stale `WouldBlock` cannot make them untrue.
    const FINAL: Ready = Ready(Self::READ_CLOSED.0 | Self::WRITE_CLOSED.0 | Self::ERROR.0);

    pub(crate) const fn union(self, other: Ready) -> Ready {
        Ready(self.0 | other.0)
    }

    pub(crate) const fn intersection(self, other: Ready) -> Ready {
        Ready(self.0 & other.0)
    }

    pub(crate) const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(crate) const fn contains(self, other: Ready) -> bool {
        self.0 & other.0 == other.0
    }

    /// The readiness that a mio event reports.
    pub(crate) fn from_event(event: &mio::event::Event) -> Ready {
        let mut ready = Ready::EMPTY;
        if event.is_readable() {
            ready = ready.union(Ready::READABLE);
        }
        if event.is_writable() {
            ready = ready.union(Ready::WRITABLE);
        }
        if event.is_read_closed() {
            ready = ready.union(Ready::READ_CLOSED);
        }
        if event.is_write_closed() {
            ready = ready.union(Ready::WRITE_CLOSED);
        }
        if event.is_error() {
            ready = ready.union(Ready::ERROR);
        }
        ready
    }
}

/// Which way a task wants to use a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness that lets an operation in this direction make progress (or fail, which
    /// is progress too: the task learns the error from its syscall).
    fn mask(self) -> Ready {
        match self {
            Direction::Read => Ready::READABLE.union(Ready::READ_CLOSED),
            Direction::Write => Ready::WRITABLE.union(Ready::WRITE_CLOSED),
        }
        .union(Ready::ERROR)
    }
}

/// What a task saw when it found a source ready: give it back to
/// [`ScheduledIo::clear_readiness`] after a `WouldBlock`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: usize,
    pub(crate) ready: Ready,
}

#[cfg(test)]
impl ReadyEvent {
    pub(crate) fn tick(&self) -> usize {
        self.tick
    }
}

const READINESS_MASK: usize = (1 << 8) - 1;
const TICK_SHIFT: u32 = 8;
const TICK_MASK: usize = 0xffff << TICK_SHIFT;

fn tick_of(word: usize) -> usize {
    (word & TICK_MASK) >> TICK_SHIFT
}

/// The tasks waiting for each direction. A list rather than one slot: several tasks may wait
/// on a shared source (`&TcpStream`, a `UdpSocket` in an `Arc`).
#[derive(Default)]
struct Waiters {
    readers: Vec<Waker>,
    writers: Vec<Waker>,
}

/// One registered source's readiness and waiters, shared by the driver (through its
/// registration table) and the socket that owns the registration.
pub(crate) struct ScheduledIo {
    readiness: AtomicUsize,
    waiters: Mutex<Waiters>,
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            readiness: AtomicUsize::new(0),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Records an event from the OS, bumps the tick, and moves the wakers of the tasks it
    /// concerns into `wake` (the caller wakes them once it holds no lock).
    pub(crate) fn set_readiness(&self, ready: Ready, wake: &mut Vec<Waker>) {
        let mut current = self.readiness.load(Ordering::Acquire);
        loop {
            let tick = (tick_of(current) + 1) << TICK_SHIFT & TICK_MASK;
            let next = tick | (current & READINESS_MASK) | ready.0;
            match self.readiness.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
        self.take_wakers(ready, wake);
    }

    /// The driver is shutting down: every current and future wait ends with an error.
    pub(crate) fn shutdown(&self, wake: &mut Vec<Waker>) {
        self.readiness.fetch_or(Ready::SHUTDOWN.0, Ordering::AcqRel);
        self.take_wakers(Direction::Read.mask().union(Direction::Write.mask()), wake);
    }

    fn take_wakers(&self, ready: Ready, wake: &mut Vec<Waker>) {
        let mut waiters = lock(&self.waiters);
        if !ready.intersection(Direction::Read.mask()).is_empty() {
            wake.append(&mut waiters.readers);
        }
        if !ready.intersection(Direction::Write.mask()).is_empty() {
            wake.append(&mut waiters.writers);
        }
    }

    /// The current readiness for `direction`, without waiting: `None` if not ready.
    /// `Err(())` once the driver has shut down.
    pub(crate) fn ready_now(&self, direction: Direction) -> Result<Option<ReadyEvent>, ()> {
        let word = self.readiness.load(Ordering::Acquire);
        if Ready(word).contains(Ready::SHUTDOWN) {
            return Err(());
        }
        let ready = Ready(word & READINESS_MASK).intersection(direction.mask());
        Ok((!ready.is_empty()).then_some(ReadyEvent {
            tick: tick_of(word),
            ready,
        }))
    }

    /// Ready when the source is ready for `direction`; otherwise stores the task's waker to
    /// be woken by the next event for that direction.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        direction: Direction,
    ) -> Poll<Result<ReadyEvent, ()>> {
        if let Some(event) = self.ready_now(direction)? {
            return Poll::Ready(Ok(event));
        }
        {
            let mut waiters = lock(&self.waiters);
            let list = match direction {
                Direction::Read => &mut waiters.readers,
                Direction::Write => &mut waiters.writers,
            };
            if !list.iter().any(|waker| waker.will_wake(cx.waker())) {
                list.push(cx.waker().clone());
            }
        }
        // The driver stores readiness before it takes the wakers (under the same lock as
        // ours): if it did both before our waker went in, we see its readiness here.
        match self.ready_now(direction)? {
            Some(event) => Poll::Ready(Ok(event)),
            None => Poll::Pending,
        }
    }

    /// The current tick, for the model tests.
    #[cfg(test)]
    pub(crate) fn tick(&self) -> usize {
        tick_of(self.readiness.load(Ordering::Acquire))
    }

    /// A task got `WouldBlock` after seeing `event`: forget the readiness it saw, unless the
    /// driver delivered a newer event since.
    pub(crate) fn clear_readiness(&self, event: ReadyEvent) {
        let clear = event.ready.0 & !Ready::FINAL.0;
        let mut current = self.readiness.load(Ordering::Acquire);
        while tick_of(current) == event.tick {
            let next = current & !clear;
            if next == current {
                return;
            }
            match self.readiness.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

/// Locks a waiter list. A panic while it is held cannot leave the lists inconsistent (they
/// are only pushed to and drained), so a poisoned lock is used as it is.
fn lock(waiters: &Mutex<Waiters>) -> crate::loom::sync::MutexGuard<'_, Waiters> {
    waiters
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
