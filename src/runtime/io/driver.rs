//! The I/O driver: one `mio::Poll` per runtime, the table of registered sources, and the
//! `mio::Waker` that pulls a worker out of `Poll::poll`.
//!
//! The driver has no thread of its own. Whoever holds the poll lock polls: a worker about to
//! park blocks in [`Driver::park`] instead of its channel, and busy workers poll now and then
//! with a zero timeout ([`Driver::poll_now`]). Either way the readiness wakes run on a worker,
//! so the woken tasks go to that worker's own queues.
//!
//! # Tokens
//!
//! A source's mio token is its slot in the table plus the slot's generation. Deregistering
//! frees the slot and bumps its generation, so an event already in flight for a dropped
//! source (read from the OS before the drop, dispatched after) names a generation that no
//! longer matches and is ignored, even if a new source took the slot.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;
use std::time::Duration;

use mio::{Events, Interest, Poll, Registry, Token};

use super::scheduled_io::{Ready, ScheduledIo};

/// The token of the driver's own waker; never a table slot (see [`token_of`]).
const WAKER_TOKEN: Token = Token(usize::MAX);
/// Events read from the OS per poll.
const EVENTS_CAPACITY: usize = 1024;
/// The low bits of a token are the slot, the high bits the slot's generation.
const SLOT_BITS: u32 = usize::BITS / 2;
const SLOT_MASK: usize = (1 << SLOT_BITS) - 1;

fn token_of(slot: usize, generation: usize) -> Token {
    Token((generation << SLOT_BITS) | slot)
}

/// What only the poller touches: the OS poll and its scratch space.
struct Poller {
    poll: Poll,
    events: Events,
    wake: Vec<Waker>,
}

struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

/// The registered sources, by slot.
#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

/// The I/O driver of one runtime.
pub(crate) struct Driver {
    /// Held by the worker that polls the OS; others `try_lock` and go their way.
    poller: Mutex<Poller>,
    registry: Registry,
    waker: mio::Waker,
    table: Mutex<Table>,
    /// Live registrations (also `RuntimeMetrics::io_registrations`). While it is zero no
    /// worker parks in the driver: a runtime without sockets parks exactly as before.
    registrations: AtomicUsize,
    /// A worker is blocked (or about to block) in `Poll::poll` with no timeout.
    parked: AtomicBool,
    /// The waker was fired and the poller has not woken since: firing it again is wasted.
    woken: AtomicBool,
    shutdown: AtomicBool,
}

impl Driver {
    pub(crate) fn new() -> io::Result<Driver> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        Ok(Driver {
            poller: Mutex::new(Poller {
                poll,
                events: Events::with_capacity(EVENTS_CAPACITY),
                wake: Vec::new(),
            }),
            registry,
            waker,
            table: Mutex::new(Table::default()),
            registrations: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            woken: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
        })
    }

    /// Live registrations. Sequentially consistent: a parking worker reads it after it
    /// counts itself parked, and a first registration counts itself before it looks for
    /// parked workers, so either the worker parks in the driver or it is woken.
    pub(crate) fn registrations(&self) -> usize {
        self.registrations.load(Ordering::SeqCst)
    }

    /// Registers `source` for both directions, edge-triggered, for as long as it lives.
    /// Returns its token and readiness, and whether it is the first live registration (the
    /// caller must then wake a parked worker, so that one parks in the driver).
    pub(crate) fn register(
        &self,
        source: &mut impl mio::event::Source,
    ) -> io::Result<(Token, Arc<ScheduledIo>, bool)> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
            // Checked under the table's lock, which `shutdown` holds while it sets the flag
            // and marks every source: a source is either marked or never registered.
            if self.shutdown.load(Ordering::Acquire) {
                return Err(shut_down_error());
            }
            let slot = match table.free.pop() {
                Some(slot) => slot,
                None if table.slots.len() < SLOT_MASK => {
                    table.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    table.slots.len() - 1
                }
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::OutOfMemory,
                        "fiber's I/O driver has no free registration slot left",
                    ))
                }
            };
            let entry = &mut table.slots[slot];
            entry.io = Some(io.clone());
            token_of(slot, entry.generation)
        };
        if let Err(error) =
            self.registry
                .register(source, token, Interest::READABLE | Interest::WRITABLE)
        {
            self.release(token);
            return Err(error);
        }
        let first = self.registrations.fetch_add(1, Ordering::SeqCst) == 0;
        Ok((token, io, first))
    }

    /// Removes `source` from the poll and frees its slot.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, token: Token) {
        // An error here means the source is gone from the poll already (closed elsewhere);
        // either way no event for it can be dispatched once the slot's generation moves on.
        let _ = self.registry.deregister(source);
        self.release(token);
        self.registrations.fetch_sub(1, Ordering::SeqCst);
    }

    fn release(&self, token: Token) {
        let slot = token.0 & SLOT_MASK;
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = &mut table.slots[slot];
        entry.io = None;
        entry.generation = (entry.generation + 1) & (usize::MAX >> SLOT_BITS >> 1);
        table.free.push(slot);
    }

    /// Whether a worker is blocked in `Poll::poll` (see [`park`](Driver::park)).
    pub(crate) fn is_parked(&self) -> bool {
        self.parked.load(Ordering::SeqCst)
    }

    /// Pulls the parked poller out of `Poll::poll`, once per poll cycle.
    pub(crate) fn unpark(&self) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            // An error means the eventfd's counter is full: the poller wakes anyway.
            let _ = self.waker.wake();
        }
    }

    /// Blocks in the OS poll until an event or a wake, if no other worker holds the driver,
    /// then dispatches the events. `before_block` runs with the driver held and the poller
    /// announced (`is_parked`): it returns false to skip the wait (it found work).
    /// `after_wake` runs once the wait is over, before the wakes (which may queue work and
    /// want to wake a parked worker: this one no longer is). Returns whether this worker held
    /// the driver; if not, neither closure ran.
    pub(crate) fn park(
        &self,
        before_block: impl FnOnce() -> bool,
        after_wake: impl FnOnce(),
    ) -> bool {
        let Ok(mut poller) = self.poller.try_lock() else {
            return false;
        };
        self.parked.store(true, Ordering::SeqCst);
        // The announce before the look: pairs with the fence of a thread that queues work and
        // then looks for a poller (`Scheduler::wake_io_poller_if_alone`).
        std::sync::atomic::fence(Ordering::SeqCst);
        let block = before_block();
        if block {
            self.poll(&mut poller, None);
        }
        self.parked.store(false, Ordering::SeqCst);
        after_wake();
        if block {
            self.dispatch(&mut poller);
        }
        true
    }

    /// Dispatches whatever is ready now, without blocking, unless another worker holds
    /// the driver or nothing is registered.
    pub(crate) fn poll_now(&self) {
        if self.registrations.load(Ordering::Relaxed) == 0 {
            return;
        }
        if let Ok(mut poller) = self.poller.try_lock() {
            self.poll(&mut poller, Some(Duration::ZERO));
            self.dispatch(&mut poller);
        }
    }

    fn poll(&self, poller: &mut Poller, timeout: Option<Duration>) {
        if poller.poll.poll(&mut poller.events, timeout).is_err() {
            // A signal, or an error on the epoll descriptor itself that retrying cannot
            // fix: either way the worker goes back to its loop and parks again later.
            poller.events.clear();
        }
        // From here on a new wake must fire the waker again.
        self.woken.store(false, Ordering::SeqCst);
    }

    /// Stores the readiness the last poll reported and wakes the tasks waiting for it.
    fn dispatch(&self, poller: &mut Poller) {
        let Poller { events, wake, .. } = poller;
        {
            let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
            for event in events.iter() {
                let token = event.token();
                if token == WAKER_TOKEN {
                    continue;
                }
                let entry = table.slots.get(token.0 & SLOT_MASK);
                let Some(Slot {
                    generation,
                    io: Some(io),
                }) = entry
                else {
                    continue;
                };
                if token_of(token.0 & SLOT_MASK, *generation) == token {
                    io.set_readiness(Ready::from_event(event), wake);
                }
            }
        }
        for waker in wake.drain(..) {
            waker.wake();
        }
    }

    /// Marks every registration shut down and wakes its waiters; registering fails from now
    /// on. Called once the runtime's workers have stopped.
    pub(crate) fn shutdown(&self) {
        let mut wake = Vec::new();
        {
            let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
            self.shutdown.store(true, Ordering::Release);
            for io in table.slots.iter().filter_map(|slot| slot.io.as_ref()) {
                io.shutdown(&mut wake);
            }
        }
        for waker in wake {
            waker.wake();
        }
    }
}

/// The error of every operation on a source whose runtime has shut down.
pub(crate) fn shut_down_error() -> io::Error {
    io::Error::other(
        "the fiber runtime that drives this I/O source has shut down: create sockets inside \
         a runtime that outlives them",
    )
}

#[cfg(all(test, not(loom), not(miri)))]
mod tests {
    use super::super::scheduled_io::Direction;
    use super::*;

    fn socket() -> mio::net::UdpSocket {
        mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap()
    }

    #[test]
    fn a_freed_slot_comes_back_with_a_new_token() {
        let driver = Driver::new().unwrap();
        let mut first = socket();
        let (old_token, _, was_first) = driver.register(&mut first).unwrap();
        assert!(was_first);
        driver.deregister(&mut first, old_token);
        assert_eq!(driver.registrations(), 0);
        let mut second = socket();
        let (new_token, _, _) = driver.register(&mut second).unwrap();
        assert_eq!(new_token.0 & SLOT_MASK, old_token.0 & SLOT_MASK);
        assert_ne!(new_token, old_token);
        driver.deregister(&mut second, new_token);
    }

    #[test]
    fn an_event_for_a_deregistered_source_is_ignored() {
        let driver = Driver::new().unwrap();
        let mut old = socket();
        let (old_token, old_io, _) = driver.register(&mut old).unwrap();
        let mut new = socket();
        // The old source becomes readable, and its event is read from the OS...
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender.send_to(b"x", old.local_addr().unwrap()).unwrap();
        let mut poller = driver.poller.lock().unwrap();
        driver.poll(&mut poller, Some(Duration::from_secs(5)));
        assert!(poller
            .events
            .iter()
            .any(|event| event.token() == old_token && event.is_readable()));
        // ... but the source is dropped, and a new one takes its slot, before dispatch.
        driver.deregister(&mut old, old_token);
        let (new_token, new_io, _) = driver.register(&mut new).unwrap();
        assert_eq!(new_token.0 & SLOT_MASK, old_token.0 & SLOT_MASK);
        driver.dispatch(&mut poller);
        assert_eq!(
            new_io.ready_now(Direction::Read).unwrap().map(|e| e.ready),
            None
        );
        drop(old_io);
        driver.deregister(&mut new, new_token);
    }

    #[test]
    fn registering_after_shutdown_fails() {
        let driver = Driver::new().unwrap();
        let mut live = socket();
        let (token, io, _) = driver.register(&mut live).unwrap();
        driver.shutdown();
        assert!(io.ready_now(Direction::Read).is_err());
        let error = driver.register(&mut socket()).map(drop).unwrap_err();
        assert!(error.to_string().contains("shut down"));
        driver.deregister(&mut live, token);
    }
}
