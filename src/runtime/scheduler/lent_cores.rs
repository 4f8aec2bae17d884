//! The cores lent right now (`block_in_place`, see [`lend`](super::lend)), for the lenders,
//! the borrowers and a shutdown with a timeout.
//!
//! Every lend is recorded here from the moment it is made until its lender takes the core
//! back; the borrower marks it returned when it stops using the core. One mutex guards it
//! all; a lender waits for its borrower on a condition variable of its own lend (so that
//! one give-back wakes one lender, however many lends there are), and only a shutdown
//! waiting for the workers is told of every change. Lends are rare, and the worker's hot
//! path never comes here.
//!
//! # What a shutdown with a timeout reads here
//!
//! A worker whose core is lent runs the task's blocking closure, which may never return. A
//! shutdown with a timeout ([`wait_for_workers`](LentCores::wait_for_workers)) waits for
//! every worker loop to end, but once the time is up it settles for less: every worker loop
//! still running belongs to a worker whose core is lent, and every lent core has stopped
//! being used. Those workers are then abandoned, as blocking jobs are.
//!
//! A core is used by the borrower of its newest lend, as long as that lend is not returned:
//! lends of one core nest (a borrower that lends it again is a lender in its own closure
//! until it takes the core back), so they are recorded in the order they were made, and the
//! newest one of each core is the one whose borrower holds it. A lender does not touch its
//! core between the lend and its own taking back, and after it, on a runtime shutting down,
//! only to leave its loop; so once every newest lend is returned, no thread runs tasks or
//! queues work on a lent core any more, and the shutdown may cancel the tasks and reclaim
//! the queues.
//!
//! Every transition that may make the condition true wakes that waiter: a lend made (a core
//! now counts as lent), a lend returned, a lend taken back (an older lend becomes the
//! newest), and a worker loop that ends.

use std::time::Instant;

use crate::loom::sync::{Condvar, Mutex, MutexGuard};

/// What the borrower hands back with the core.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Returned {
    /// The borrower took the worker's `Shutdown` message: the worker must stop.
    pub(crate) stopping: bool,
}

/// The lends of one scheduler; see the module docs.
pub(crate) struct LentCores {
    state: Mutex<State>,
    /// Wakes the shutdown waiting in `wait_for_workers`.
    changed: Condvar,
}

struct State {
    /// The lends not yet taken back, oldest first.
    lends: Vec<Entry>,
    next_id: u64,
    /// Worker loops (one per worker thread) that have not ended yet.
    loops_running: usize,
    /// A shutdown waits in `wait_for_workers`, to be told of every change.
    shutdown_waiting: bool,
}

struct Entry {
    id: u64,
    /// The lent core's worker index.
    core: usize,
    /// The address of the task whose poll lent the core: compared, never followed.
    task: usize,
    /// Set by the borrower when it starts, before it first uses the core. A lender that
    /// wants its core back before then takes it at once, and the borrower, finding its
    /// lend gone, never touches the core: a short blocking closure then costs no
    /// hand-over at all.
    claimed: bool,
    /// Set by the borrower once it no longer uses the core.
    returned: Option<Returned>,
}

impl State {
    fn entry(&mut self, id: u64) -> Option<usize> {
        self.lends.iter().position(|entry| entry.id == id)
    }

    /// The workers whose cores are lent (each once).
    fn lent_cores(&self) -> Vec<usize> {
        let mut cores: Vec<usize> = self.lends.iter().map(|entry| entry.core).collect();
        cores.sort_unstable();
        cores.dedup();
        cores
    }

    /// Whether every worker loop still running is blocked in place, and no lent core is in
    /// use: the newest lend of each core is returned.
    fn only_lenders_left(&self) -> Option<Vec<usize>> {
        let cores = self.lent_cores();
        if cores.len() != self.loops_running {
            return None;
        }
        let all_returned = cores.iter().all(|&core| {
            self.lends
                .iter()
                .rev()
                .find(|entry| entry.core == core)
                .is_some_and(|newest| newest.returned.is_some())
        });
        all_returned.then_some(cores)
    }
}

/// The workers a shutdown leaves behind, blocked in place: see
/// [`LentCores::wait_for_workers`].
#[derive(Debug, Default)]
pub(crate) struct Abandoned {
    /// Their worker indices.
    pub(crate) workers: Vec<usize>,
    /// The addresses of the tasks their lenders (the worker and any borrower that lent the
    /// core again) are polling.
    pub(crate) tasks: Vec<usize>,
}

impl LentCores {
    pub(crate) fn new(workers: usize) -> LentCores {
        LentCores {
            state: Mutex::new(State {
                lends: Vec::new(),
                next_id: 0,
                loops_running: workers,
                shutdown_waiting: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing under the lock panics but an allocation, which leaves the state
        // consistent.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait<'a>(signal: &Condvar, state: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        signal
            .wait(state)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Tells a waiting shutdown that the state changed; `state` is released first.
    fn changed(&self, state: MutexGuard<'_, State>) {
        let waiting = state.shutdown_waiting;
        drop(state);
        if waiting {
            self.changed.notify_all();
        }
    }

    /// Records a lend of worker `core`'s core, made by the poll of the task at `task`;
    /// returns its id.
    pub(crate) fn lent(&self, core: usize, task: usize) -> u64 {
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.lends.push(Entry {
            id,
            core,
            task,
            claimed: false,
            returned: None,
        });
        self.changed(state);
        id
    }

    /// Forgets lend `id`, which no borrower ever saw.
    pub(crate) fn forget(&self, id: u64) {
        let mut state = self.lock();
        if let Some(index) = state.entry(id) {
            state.lends.remove(index);
        }
        self.changed(state);
    }

    /// The borrower of lend `id` starts: returns whether the core is still lent to it, and
    /// if so, it is the borrower's until it gives it back; if not, the lender took it back
    /// first, and the borrower must not touch it.
    pub(crate) fn claim(&self, id: u64) -> bool {
        let mut state = self.lock();
        match state.entry(id) {
            Some(index) => {
                state.lends[index].claimed = true;
                true
            }
            None => false,
        }
    }

    /// The borrower of lend `id` has stopped using the core; `returned_signal` is the
    /// lend's own, which its lender waits on. The lock orders the borrower's last use of the
    /// core before the lender's next one (in [`take_back`](LentCores::take_back)).
    pub(crate) fn give_back(&self, id: u64, returned: Returned, returned_signal: &Condvar) {
        let mut state = self.lock();
        if let Some(index) = state.entry(id) {
            state.lends[index].returned = Some(returned);
        }
        self.changed(state);
        // After the lock is released, so that the lender it wakes does not block on it.
        returned_signal.notify_one();
    }

    /// The lender of lend `id` takes the core back: at once if the borrower has not
    /// started, else once it has given the core back (waiting on `returned_signal`).
    pub(crate) fn take_back(&self, id: u64, returned_signal: &Condvar) -> Returned {
        let mut state = self.lock();
        loop {
            let index = state
                .entry(id)
                .expect("a lend stays recorded until its lender takes it back");
            let entry = &state.lends[index];
            if let Some(returned) = entry.returned {
                state.lends.remove(index);
                self.changed(state);
                return returned;
            }
            if !entry.claimed {
                state.lends.remove(index);
                self.changed(state);
                // The borrower never ran, so it took no shutdown message either.
                return Returned { stopping: false };
            }
            state = Self::wait(returned_signal, state);
        }
    }

    /// A worker loop has ended; returns true for the last one.
    pub(crate) fn worker_loop_ended(&self) -> bool {
        let mut state = self.lock();
        state.loops_running -= 1;
        let last = state.loops_running == 0;
        self.changed(state);
        last
    }

    /// The shutdown's wait for the workers: until every worker loop has ended, or, once
    /// `deadline` has passed, until only workers blocked in place are left and nobody uses
    /// their cores (see the module docs). Returns those workers, left behind; none if every
    /// loop ended.
    ///
    /// A worker still in an ordinary poll is waited for however long it takes, as the
    /// shutdown without a timeout does.
    pub(crate) fn wait_for_workers(&self, deadline: Instant) -> Abandoned {
        let mut state = self.lock();
        state.shutdown_waiting = true;
        loop {
            if state.loops_running == 0 {
                return Abandoned::default();
            }
            let now = Instant::now();
            if now < deadline {
                state = self
                    .changed
                    .wait_timeout(state, deadline - now)
                    .map(|(state, _)| state)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
                continue;
            }
            if let Some(workers) = state.only_lenders_left() {
                let tasks = state.lends.iter().map(|entry| entry.task).collect();
                return Abandoned { workers, tasks };
            }
            state = Self::wait(&self.changed, state);
        }
    }
}

#[cfg(all(test, loom))]
mod tests {
    use super::{LentCores, Returned};
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::Arc;
    use loom::sync::Condvar;
    use loom::thread;
    use std::time::Instant;

    /// The one worker's core, which the lender and its borrowers use in turn: loom reports a
    /// data race if two uses are not ordered.
    struct Core(UnsafeCell<usize>);

    // SAFETY: the model's threads only touch the cell through loom, which checks them.
    unsafe impl Sync for Core {}

    impl Core {
        fn use_it(&self) {
            // SAFETY: loom checks that no other access races with this one.
            self.0.with_mut(|value| unsafe { *value += 1 });
        }
    }

    const RETURNED: Returned = Returned { stopping: true };

    /// A worker lends its core and its closure returns just as a shutdown with no time left
    /// decides: either the shutdown waits for the worker's loop to end, or it leaves the
    /// worker behind, and then only after the borrower stopped using the core.
    #[test]
    fn a_lender_returning_as_the_time_runs_out() {
        loom::model(|| {
            let lent = Arc::new(LentCores::new(1));
            let core = Arc::new(Core(UnsafeCell::new(0)));
            let borrower_done = Arc::new(AtomicBool::new(false));
            let id = lent.lent(0, 1);
            let signal = Arc::new(Condvar::new());
            let borrower = {
                let (lent, core, done) = (lent.clone(), core.clone(), borrower_done.clone());
                let signal = signal.clone();
                thread::spawn(move || {
                    if lent.claim(id) {
                        core.use_it();
                        done.store(true, Ordering::Relaxed);
                        lent.give_back(id, RETURNED, &signal);
                    }
                })
            };
            let lender = {
                let (lent, core) = (lent.clone(), core.clone());
                thread::spawn(move || {
                    // The closure returns; the poll ends.
                    let _ = lent.take_back(id, &signal);
                    core.use_it();
                    lent.worker_loop_ended();
                })
            };
            let abandoned = lent.wait_for_workers(Instant::now());
            if abandoned.workers.is_empty() {
                // Every use of the core is over: the shutdown may reclaim its queues.
                core.use_it();
            } else {
                assert_eq!(abandoned.workers, [0]);
                assert_eq!(abandoned.tasks, [1]);
                assert!(borrower_done.load(Ordering::Relaxed));
            }
            borrower.join().unwrap();
            lender.join().unwrap();
        });
    }

    /// The lender wants its core back while the borrower starts: exactly one of them uses
    /// the core at a time, and a borrower that finds its lend taken back never touches it.
    #[test]
    fn a_lender_taking_back_before_the_borrower_starts_never_shares_the_core() {
        loom::model(|| {
            let lent = Arc::new(LentCores::new(1));
            let core = Arc::new(Core(UnsafeCell::new(0)));
            let id = lent.lent(0, 1);
            let signal = Arc::new(Condvar::new());
            let borrower = {
                let (lent, core, signal) = (lent.clone(), core.clone(), signal.clone());
                thread::spawn(move || {
                    if lent.claim(id) {
                        core.use_it();
                        lent.give_back(id, RETURNED, &signal);
                    }
                })
            };
            let returned = lent.take_back(id, &signal);
            core.use_it();
            borrower.join().unwrap();
            // Only a borrower that ran can have taken the worker's shutdown message.
            let _ = returned.stopping;
        });
    }

    /// A borrower lends the core again, and both closures block: the shutdown leaves the
    /// worker behind once the newest borrower has given the core back, never before, and
    /// names both tasks in progress.
    #[test]
    fn nested_lends_are_left_behind_once_the_innermost_borrower_stops() {
        loom::model(|| {
            let lent = Arc::new(LentCores::new(1));
            let core = Arc::new(Core(UnsafeCell::new(0)));
            let outer = lent.lent(0, 1);
            let first_borrower = {
                let (lent, core) = (lent.clone(), core.clone());
                thread::spawn(move || {
                    assert!(lent.claim(outer), "nobody takes the outer lend back");
                    core.use_it();
                    let inner = lent.lent(0, 2);
                    let second_borrower = {
                        let (lent, core) = (lent.clone(), core.clone());
                        thread::spawn(move || {
                            assert!(lent.claim(inner), "nobody takes the inner lend back");
                            core.use_it();
                            lent.give_back(inner, RETURNED, &Condvar::new());
                        })
                    };
                    // Its closure blocks; the second borrower runs on its own.
                    second_borrower.join().unwrap();
                })
            };
            let abandoned = lent.wait_for_workers(Instant::now());
            assert_eq!(abandoned.workers, [0]);
            assert_eq!(abandoned.tasks, [1, 2]);
            // The shutdown reclaims the core's queues now: no borrower may still use it.
            core.use_it();
            first_borrower.join().unwrap();
            lent.give_back(outer, RETURNED, &Condvar::new());
        });
    }
}
