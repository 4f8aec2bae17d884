//! Who drives timers: the `fiber-timer` thread, or a runtime's I/O poller.
//!
//! A worker that blocks in its runtime's OS poll can bound that wait by the earliest timer
//! deadline and fire the due timers itself when it wakes; while it does, the timer thread
//! has nothing to do for those timers. One such poller at a time, process-wide, holds the
//! role (the "holder"). This file is the word that says whether a holder exists and until
//! which tick it sleeps, and the protocol on it that keeps a timer from being missed by
//! both: the rest of the hand-off (whose timers the holder covers, when it gives the role
//! back) is in `poller.rs`.
//!
//! The word is three fields:
//!
//! - [`HELD`]: a poller holds the role. Set by a claim and cleared by a release, both under
//!   the holder's mutex, so the word never changes hands without it.
//! - [`AWAKE`]: the holder is not blocked in the OS poll: it is scanning the shards or
//!   running tasks, and scans every shard again before it blocks. Set by the holder when it
//!   starts a scan (before blocking and after waking), cleared by its `try_sleep`.
//! - the low bits: the tick the holder sleeps until ([`NO_TICK`]: no timer pending). A
//!   registration lowers it to the new timer's tick if that is earlier. Lowering while the
//!   holder is awake makes the `try_sleep` after its scan fail (it scans again: the new
//!   timer may be in a shard already scanned); lowering while it sleeps means the caller
//!   must wake it, so that it recomputes its timeout.
//!
//! A registration puts its timer in its shard first and lowers the word second, and the
//! holder announces a scan first and reads the shards second (sequentially consistent):
//! so either the scan finds the timer or the lowering comes after the announce and the
//! holder learns of it, by a failed `try_sleep` or by a wake.

#[cfg(loom)]
use loom::sync::atomic::{AtomicU64, Ordering};
#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64, Ordering};

/// A poller holds the role.
const HELD: u64 = 1 << 63;
/// The holder is not blocked in the OS poll.
const AWAKE: u64 = 1 << 62;
/// The tick field's "no timer": the holder sleeps without a timeout.
pub(super) const NO_TICK: u64 = AWAKE - 1;
/// No poller holds the role: the timer thread drives every timer.
const THREAD_DRIVES: u64 = 0;

/// What a registration has to do after lowering the word.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lowered {
    /// No poller holds the role: the timer thread must cover the timer.
    NotHeld,
    /// The holder will see the timer without being woken: it sleeps until this tick or
    /// earlier, or it is awake and scans again before it sleeps.
    Covered,
    /// The holder sleeps until a later tick: wake it.
    WakeHolder,
}

pub(super) struct Handoff {
    word: AtomicU64,
}

fn tick_of(word: u64) -> u64 {
    word & NO_TICK
}

impl Handoff {
    pub(super) fn new() -> Handoff {
        Handoff {
            word: AtomicU64::new(THREAD_DRIVES),
        }
    }

    /// Whether a poller holds the role.
    pub(super) fn is_held(&self) -> bool {
        self.word.load(Ordering::SeqCst) & HELD != 0
    }

    /// Takes the role for a poller, awake; false if another poller holds it. Called under
    /// the holder's mutex.
    pub(super) fn claim(&self) -> bool {
        self.word
            .compare_exchange(
                THREAD_DRIVES,
                HELD | AWAKE | NO_TICK,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
    }

    /// Gives the role back to the timer thread. Called by the holder, under its mutex; the
    /// caller then makes the timer thread cover what is pending.
    pub(super) fn release(&self) {
        self.word.store(THREAD_DRIVES, Ordering::SeqCst);
    }

    /// The holder is about to scan every shard (before it blocks, or after it woke). A swap,
    /// not a store: reading the last registration's lowering makes what that registration
    /// wrote before (its shard's `next_due`) visible to the scan.
    pub(super) fn begin_scan(&self) {
        self.word.swap(HELD | AWAKE | NO_TICK, Ordering::SeqCst);
    }

    /// The holder scanned every shard and found `next` the earliest tick (`None`: no timer
    /// pending); it may block until then if no registration came in since `begin_scan`.
    /// False: one did, scan again.
    pub(super) fn try_sleep(&self, next: Option<u64>) -> bool {
        let next = next.map_or(NO_TICK, |tick| tick.min(NO_TICK));
        self.word
            .compare_exchange(
                HELD | AWAKE | NO_TICK,
                HELD | next,
                Ordering::SeqCst,
                Ordering::SeqCst,
            )
            .is_ok()
    }

    /// A timer due at tick `when` is in its shard now; lowers the holder's tick to it.
    pub(super) fn lower(&self, when: u64) -> Lowered {
        let when = when.min(NO_TICK);
        let lowered = self
            .word
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |word| {
                (word & HELD != 0 && tick_of(word) > when).then_some((word & !NO_TICK) | when)
            });
        match lowered {
            Err(word) if word & HELD == 0 => Lowered::NotHeld,
            Err(_) => Lowered::Covered,
            Ok(word) if word & AWAKE != 0 => Lowered::Covered,
            Ok(_) => Lowered::WakeHolder,
        }
    }
}

#[cfg(test)]
mod tests {
    //! Under `--cfg loom` each model is explored over every interleaving (scripts/loom);
    //! otherwise each runs once on real threads.

    use super::*;

    #[cfg(loom)]
    use loom::sync::atomic::AtomicBool;
    #[cfg(loom)]
    use loom::sync::{Arc, Mutex};
    #[cfg(loom)]
    use loom::thread;
    #[cfg(not(loom))]
    use std::sync::atomic::AtomicBool;
    #[cfg(not(loom))]
    use std::sync::{Arc, Mutex};
    #[cfg(not(loom))]
    use std::thread;

    use crate::loom::model;

    /// A shard reduced to what the protocol needs: the earliest pending tick.
    struct Model {
        handoff: Handoff,
        shard: Mutex<Option<u64>>,
        /// The holder's mio waker, reduced to a flag.
        woken: AtomicBool,
        /// Set by a registration that had to hand its timer to the timer thread.
        timer_thread_covers: AtomicBool,
    }

    impl Model {
        fn new() -> Arc<Model> {
            Arc::new(Model {
                handoff: Handoff::new(),
                shard: Mutex::new(None),
                woken: AtomicBool::new(false),
                timer_thread_covers: AtomicBool::new(false),
            })
        }

        /// The holder's plan before it blocks: scan, then try to sleep until what it found.
        fn plan(&self) -> u64 {
            loop {
                self.handoff.begin_scan();
                let next = *self.shard.lock().unwrap();
                if self.handoff.try_sleep(next) {
                    return next.unwrap_or(NO_TICK);
                }
            }
        }

        fn register(&self, when: u64) {
            {
                let mut shard = self.shard.lock().unwrap();
                *shard = Some(shard.map_or(when, |tick| tick.min(when)));
            }
            match self.handoff.lower(when) {
                Lowered::NotHeld => self.timer_thread_covers.store(true, Ordering::SeqCst),
                Lowered::Covered => {}
                Lowered::WakeHolder => self.woken.store(true, Ordering::SeqCst),
            }
        }
    }

    /// A holder planning its sleep while a timer earlier than anything it knew is
    /// registered: it either plans for that timer or is woken.
    #[test]
    fn a_registration_during_the_plan_is_seen_or_wakes_the_holder() {
        model(|| {
            let model = Model::new();
            assert!(model.handoff.claim());
            *model.shard.lock().unwrap() = Some(50);
            let registrar = {
                let model = model.clone();
                thread::spawn(move || model.register(10))
            };
            let planned = model.plan();
            registrar.join().unwrap();
            assert!(planned <= 10 || model.woken.load(Ordering::SeqCst));
            assert!(!model.timer_thread_covers.load(Ordering::SeqCst));
        });
    }

    /// A registration while the holder gives the role back: either the holder still held
    /// it (and the release hands everything pending to the timer thread, which the caller
    /// does after `release`, so it sees the timer), or the registration finds no holder and
    /// hands its timer to the timer thread itself.
    #[test]
    fn a_registration_during_a_release_is_handed_to_the_timer_thread() {
        model(|| {
            let model = Model::new();
            assert!(model.handoff.claim());
            assert!(model.plan() == NO_TICK);
            let registrar = {
                let model = model.clone();
                thread::spawn(move || model.register(10))
            };
            model.handoff.release();
            // The release's hand-over: the timer thread covers what the shard holds now.
            let pending_at_release = model.shard.lock().unwrap().is_some();
            registrar.join().unwrap();
            assert!(pending_at_release || model.timer_thread_covers.load(Ordering::SeqCst));
        });
    }

    /// Two registrations racing a holder that plans: the earliest of them is honoured.
    #[test]
    fn the_earliest_of_two_racing_registrations_is_honoured() {
        model(|| {
            let model = Model::new();
            assert!(model.handoff.claim());
            let registrars: Vec<_> = [30, 20]
                .into_iter()
                .map(|when| {
                    let model = model.clone();
                    thread::spawn(move || model.register(when))
                })
                .collect();
            let planned = model.plan();
            for registrar in registrars {
                registrar.join().unwrap();
            }
            assert!(planned <= 20 || model.woken.load(Ordering::SeqCst));
        });
    }

    #[test]
    fn only_one_poller_holds_the_role() {
        model(|| {
            let handoff = Handoff::new();
            assert!(!handoff.is_held());
            assert!(handoff.claim());
            assert!(!handoff.claim());
            assert_eq!(handoff.lower(5), Lowered::Covered);
            handoff.begin_scan();
            assert!(handoff.try_sleep(Some(7)));
            assert_eq!(handoff.lower(9), Lowered::Covered);
            assert_eq!(handoff.lower(3), Lowered::WakeHolder);
            assert_eq!(handoff.lower(3), Lowered::Covered);
            handoff.release();
            assert_eq!(handoff.lower(1), Lowered::NotHeld);
        });
    }
}
