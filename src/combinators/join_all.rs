//! [`join_all`] and [`try_join_all`]: wait for a whole collection of futures at once.
//!
//! Each child future gets a waker of its own, which marks the child in a bit set and wakes
//! the parent once. A poll of the parent then polls only the children marked since the last
//! one (every child starts marked), so a child that wakes costs a poll of that child and a
//! scan of the bit set 64 children at a time, not a poll of the whole collection; and no
//! child needs an allocation of its own: the bit set and one 8-byte entry per child (what a
//! child's waker points at) are allocated once, with the children.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use futures_core::FusedFuture;
use pin_project_lite::pin_project;

/// Waits for every future in `futures` and returns their outputs, in the order of the
/// collection.
///
/// Meant for [`block_on`](crate::block_on) and for tasks that combine many futures into
/// one: a child's wake-up costs a poll of that child (and a scan of one bit per child, 64 at
/// a time), and there is no allocation per child (unlike spawning each one, or
/// `futures::future::join_all` on large collections).
/// The futures run concurrently on the task that polls the `JoinAll`, not in parallel; use
/// [`spawn`](crate::spawn) for parallelism.
///
/// Every future is polled once on the first poll, in order; after that, only those whose
/// waker was used. The unfinished futures are dropped when the `JoinAll` is dropped; each
/// finished one is dropped as soon as it completes, and its output is kept until all are done.
///
/// # Examples
///
/// ```
/// use fiber::join_all;
///
/// let squares = fiber::block_on(join_all((1..=4u64).map(|n| async move {
///     fiber::yield_now().await;
///     n * n
/// })));
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture,
{
    JoinAll {
        set: FutureSet::new(futures),
    }
}

/// Waits for every future in `futures` to produce `Ok`, and returns their values in the
/// order of the collection; or returns the first `Err`, as soon as it comes.
///
/// Works like [`join_all`]. At the first `Err`, every other future (finished or not) is
/// dropped **before** `try_join_all` returns the error, so none of them runs any further.
///
/// # Examples
///
/// ```
/// use fiber::try_join_all;
///
/// let parsed = fiber::block_on(try_join_all(["1", "2", "3"].map(|text| async move {
///     text.parse::<u32>()
/// })));
/// assert_eq!(parsed, Ok(vec![1, 2, 3]));
///
/// let failed = fiber::block_on(try_join_all(["1", "two", "3"].map(|text| async move {
///     text.parse::<u32>()
/// })));
/// assert!(failed.is_err());
/// ```
pub fn try_join_all<I, T, E>(futures: I) -> TryJoinAll<<I::Item as IntoFuture>::IntoFuture>
where
    I: IntoIterator,
    I::Item: IntoFuture<Output = Result<T, E>>,
{
    TryJoinAll {
        set: FutureSet::new(futures),
    }
}

/// Future for [`join_all`]: resolves to a `Vec` of the outputs, in order.
///
/// It is `Unpin` whatever the futures are: they live pinned in a heap allocation of their own.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct JoinAll<F: Future> {
    set: FutureSet<F>,
}

/// Future for [`try_join_all`]: resolves to a `Vec` of the values, in order, or to the first
/// error.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct TryJoinAll<F: Future> {
    set: FutureSet<F>,
}

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Vec<F::Output>> {
        match self.set.poll(cx, "JoinAll", |_| false) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(self.set.take_outputs().collect()),
            Poll::Ready(Err(_)) => unreachable!("`join_all` stops at no output"),
        }
    }
}

impl<F, T, E> Future for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<Vec<T>, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<Vec<T>, E>> {
        match self.set.poll(cx, "TryJoinAll", Result::is_err) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(Ok(self
                .set
                .take_outputs()
                .map(|output| match output {
                    Ok(value) => value,
                    Err(_) => unreachable!("an error ends `try_join_all` at once"),
                })
                .collect())),
            Poll::Ready(Err(output)) => {
                self.set.drop_children();
                match output {
                    Err(error) => Poll::Ready(Err(error)),
                    Ok(_) => unreachable!("`try_join_all` stops at errors only"),
                }
            }
        }
    }
}

impl<F: Future> FusedFuture for JoinAll<F> {
    fn is_terminated(&self) -> bool {
        self.set.finished
    }
}

impl<F, T, E> FusedFuture for TryJoinAll<F>
where
    F: Future<Output = Result<T, E>>,
{
    fn is_terminated(&self) -> bool {
        self.set.finished
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.set.debug("JoinAll", f)
    }
}

impl<F: Future> fmt::Debug for TryJoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.set.debug("TryJoinAll", f)
    }
}

pin_project! {
    /// One future of the collection, and then its output.
    #[project = ChildProj]
    #[project_replace = ChildReplace]
    enum Child<F: Future> {
        Running { #[pin] future: F },
        Done { output: F::Output },
        Gone,
    }
}

/// The children and the bookkeeping of which ones to poll.
struct FutureSet<F: Future> {
    children: Pin<Box<[Child<F>]>>,
    /// Children still running.
    running: usize,
    /// Whether the outputs have been handed out (or the error returned).
    finished: bool,
    wakes: Arc<WakeSet>,
}

impl<F: Future> FutureSet<F> {
    fn new<I>(futures: I) -> Self
    where
        I: IntoIterator,
        I::Item: IntoFuture<IntoFuture = F>,
    {
        let children: Box<[Child<F>]> = futures
            .into_iter()
            .map(|future| Child::Running {
                future: future.into_future(),
            })
            .collect();
        let running = children.len();
        FutureSet {
            wakes: WakeSet::new(running),
            children: Box::into_pin(children),
            running,
            finished: false,
        }
    }

    fn child(children: &mut Pin<Box<[Child<F>]>>, index: usize) -> Pin<&mut Child<F>> {
        // SAFETY: the elements of a pinned slice are pinned too; this hands out a pinned
        // reference to one of them and moves nothing. Children are only ever replaced in
        // place (`Pin::set`, `project_replace`), which drops the old value where it lies.
        unsafe {
            children
                .as_mut()
                .map_unchecked_mut(|children| &mut children[index])
        }
    }

    /// Polls the children that may have progressed. Returns `Ready(Ok(()))` once all are
    /// done, or `Ready(Err(output))` with the first output for which `stop` is true.
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        name: &str,
        mut stop: impl FnMut(&F::Output) -> bool,
    ) -> Poll<Result<(), F::Output>> {
        assert!(!self.finished, "`{name}` polled after completion");
        let wakes = Arc::clone(&self.wakes);
        wakes.set_parent(cx.waker());
        // Cleared before the marks are read: a child woken after its mark was read sees the
        // flag clear and wakes the parent again (see `WakeSet::wake_child`).
        wakes.parent_woken.swap(false, Ordering::AcqRel);
        for (word_index, word) in wakes.woken.iter().enumerate() {
            if word.load(Ordering::Relaxed) == 0 {
                continue;
            }
            // Marks taken but not yet handled go back if a child's poll panics, so that a
            // caller who catches the panic and polls again loses no wake-up.
            let mut marks = PendingMarks {
                word,
                marks: word.swap(0, Ordering::AcqRel),
            };
            while marks.marks != 0 {
                let index = word_index * 64 + marks.marks.trailing_zeros() as usize;
                marks.marks &= marks.marks - 1;
                if let Some(output) = self.poll_child(index, &wakes, &mut stop) {
                    return Poll::Ready(Err(output));
                }
            }
        }
        if self.running == 0 {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    /// Polls child `index` if it still runs; returns its output if `stop` says so.
    fn poll_child(
        &mut self,
        index: usize,
        wakes: &WakeSet,
        stop: &mut impl FnMut(&F::Output) -> bool,
    ) -> Option<F::Output> {
        let mut child = Self::child(&mut self.children, index);
        let ChildProj::Running { future } = child.as_mut().project() else {
            // Finished; its mark came from a waker it had left behind.
            return None;
        };
        let waker = wakes.child_waker(index);
        let output = match future.poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(output) => output,
            Poll::Pending => return None,
        };
        self.running -= 1;
        if stop(&output) {
            return Some(output);
        }
        // Drops the finished future in place, now.
        child.set(Child::Done { output });
        None
    }

    /// Takes the outputs once every child is done.
    fn take_outputs(&mut self) -> impl Iterator<Item = F::Output> + '_ {
        self.finish();
        (0..self.children.len()).map(|index| {
            match Self::child(&mut self.children, index).project_replace(Child::Gone) {
                ChildReplace::Done { output } => output,
                _ => unreachable!("every child is done"),
            }
        })
    }

    /// Drops every child, finished or not, and marks the set finished.
    fn drop_children(&mut self) {
        self.finish();
        self.children = Box::into_pin(Box::new([]));
    }

    /// Marks the set finished and lets go of the parent's waker: a child's waker kept
    /// somewhere must not keep the parent task alive.
    fn finish(&mut self) {
        self.finished = true;
        let parent = self
            .wakes
            .parent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(parent);
    }

    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("len", &self.children.len())
            .field("running", &self.running)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

/// Marks taken out of a word of [`WakeSet::woken`] and not handled yet; put back on drop.
struct PendingMarks<'a> {
    word: &'a AtomicU64,
    marks: u64,
}

impl Drop for PendingMarks<'_> {
    fn drop(&mut self) {
        if self.marks != 0 {
            self.word.fetch_or(self.marks, Ordering::AcqRel);
        }
    }
}

/// What the children's wakers share with the parent.
struct WakeSet {
    /// Bit `i % 64` of word `i / 64` is set when child `i` was woken since the parent last
    /// looked, and at first, so that the first poll polls every child.
    woken: Box<[AtomicU64]>,
    /// Whether the parent has been woken since it last cleared this flag: the first child
    /// wake after a clear wakes the parent, the others need not.
    parent_woken: AtomicBool,
    parent: Mutex<Option<Waker>>,
    /// One entry per child. Child `i`'s waker points at `entries[i]`: the entry leads back to
    /// this set, and its position in the slice is the child's index.
    entries: Box<[Entry]>,
}

/// The back-reference from a child's waker to its [`WakeSet`].
struct Entry {
    set: *const WakeSet,
}

// SAFETY: an `Entry` is only a pointer to the `WakeSet` that owns it, which is `Send` and
// `Sync`; it is dereferenced only by the waker functions below, while a reference count keeps
// that set alive.
unsafe impl Send for Entry {}
// SAFETY: as above; the pointer is never written after the set is made.
unsafe impl Sync for Entry {}

static CHILD_WAKER: RawWakerVTable = RawWakerVTable::new(
    clone_child_waker,
    wake_child,
    wake_child_by_ref,
    drop_child_waker,
);

impl WakeSet {
    fn new(children: usize) -> Arc<WakeSet> {
        Arc::new_cyclic(|set| WakeSet {
            woken: (0..children.div_ceil(64))
                .map(|word| {
                    let in_word = (children - word * 64).min(64);
                    AtomicU64::new(u64::MAX >> (64 - in_word))
                })
                .collect(),
            parent_woken: AtomicBool::new(false),
            parent: Mutex::new(None),
            entries: (0..children).map(|_| Entry { set: set.as_ptr() }).collect(),
        })
    }

    /// Child `index`'s waker, borrowing the caller's reference to the set: the caller keeps
    /// its `Arc` for longer than the waker lives, and clones of it count references of
    /// their own.
    fn child_waker(&self, index: usize) -> ManuallyDrop<Waker> {
        let data: *const Entry = &self.entries[index];
        let raw = RawWaker::new(data.cast(), &CHILD_WAKER);
        // SAFETY: the vtable's functions uphold the `RawWaker` contract for this data
        // pointer (see them), and `ManuallyDrop` keeps this borrowed waker from dropping a
        // reference it does not own.
        ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
    }

    fn set_parent(&self, waker: &Waker) {
        let replaced = {
            let mut parent = self.parent.lock().unwrap_or_else(PoisonError::into_inner);
            match &mut *parent {
                Some(parent) if parent.will_wake(waker) => None,
                parent => parent.replace(waker.clone()),
            }
        };
        // Dropped outside the lock: a waker's destructor may run arbitrary code.
        drop(replaced);
    }

    fn wake_parent(&self) {
        let parent = self
            .parent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(parent) = parent {
            parent.wake();
        }
    }

    /// Marks child `index` woken and wakes the parent unless it already is.
    fn wake_child(&self, index: usize) {
        self.woken[index / 64].fetch_or(1 << (index % 64), Ordering::AcqRel);
        if !self.parent_woken.swap(true, Ordering::AcqRel) {
            self.wake_parent();
        }
    }
}

/// The set and child index behind a child waker's data pointer.
///
/// # Safety
///
/// `data` must come from [`WakeSet::child_waker`] (or a clone of such a waker) and the set
/// must still be alive, which every caller's waker guarantees by the reference it holds.
unsafe fn resolve(data: *const ()) -> (*const WakeSet, usize) {
    let entry = data.cast::<Entry>();
    // SAFETY: `entry` points into the live set's `entries` (see above).
    let set = unsafe { (*entry).set };
    // SAFETY: both pointers are into the same `entries` slice.
    let offset = unsafe { entry.offset_from((*set).entries.as_ptr()) };
    (set, offset as usize)
}

unsafe fn clone_child_waker(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned is alive, so its set is (see `resolve`).
    let (set, _) = unsafe { resolve(data) };
    // SAFETY: `set` came from the `Arc` that owns the set; the new waker owns the count.
    unsafe { Arc::increment_strong_count(set) };
    RawWaker::new(data, &CHILD_WAKER)
}

unsafe fn wake_child(data: *const ()) {
    // SAFETY: called on a live waker that owns a reference, released just after.
    unsafe {
        wake_child_by_ref(data);
        drop_child_waker(data);
    }
}

unsafe fn wake_child_by_ref(data: *const ()) {
    // SAFETY: called on a live waker, so its set is alive for the whole call.
    unsafe {
        let (set, index) = resolve(data);
        (*set).wake_child(index);
    }
}

unsafe fn drop_child_waker(data: *const ()) {
    // SAFETY: called on a live waker, which owns one reference to the set; this releases it
    // (possibly freeing the set, which nothing here touches afterwards).
    unsafe {
        let (set, _) = resolve(data);
        Arc::decrement_strong_count(set);
    }
}

#[cfg(test)]
mod tests {
    //! Waker bookkeeping, also run under Miri (`scripts/miri`).

    use super::*;
    use crate::test_support::CountWakes;
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize;

    /// A future that stores its waker on every poll and completes when told to.
    struct Remote<'a> {
        waker: &'a Mutex<Option<Waker>>,
        polls: &'a Cell<usize>,
        ready: &'a Cell<bool>,
    }

    impl Future for Remote<'_> {
        type Output = usize;

        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls.set(self.polls.get() + 1);
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.ready.get() {
                Poll::Ready(self.polls.get())
            } else {
                Poll::Pending
            }
        }
    }

    #[test]
    fn only_woken_children_are_polled_again() {
        const CHILDREN: usize = 70; // more than one word of marks
        let wakers: Vec<Mutex<Option<Waker>>> = (0..CHILDREN).map(|_| Mutex::new(None)).collect();
        let polls: Vec<Cell<usize>> = (0..CHILDREN).map(|_| Cell::new(0)).collect();
        let ready: Vec<Cell<bool>> = (0..CHILDREN).map(|_| Cell::new(false)).collect();
        let mut all = join_all((0..CHILDREN).map(|index| Remote {
            waker: &wakers[index],
            polls: &polls[index],
            ready: &ready[index],
        }));
        let parent = CountWakes::new();
        let parent_waker = Waker::from(parent.clone());
        let mut cx = Context::from_waker(&parent_waker);

        assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
        assert!(polls.iter().all(|polls| polls.get() == 1));

        // Wake two children, one twice and by a clone that outlives the set's own waker.
        let clone = wakers[65].lock().unwrap().clone().unwrap();
        wakers[3].lock().unwrap().take().unwrap().wake();
        clone.wake_by_ref();
        clone.wake_by_ref();
        assert_eq!(parent.count(), 1, "one parent wake per round");
        assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
        let polled: Vec<usize> = (0..CHILDREN).filter(|&i| polls[i].get() == 2).collect();
        assert_eq!(polled, [3, 65]);

        // Finish them all: every child is woken once more and completes.
        for (ready, waker) in ready.iter().zip(&wakers) {
            ready.set(true);
            waker.lock().unwrap().take().unwrap().wake();
        }
        assert_eq!(parent.count(), 2);
        let outputs = match Pin::new(&mut all).poll(&mut cx) {
            Poll::Ready(outputs) => outputs,
            Poll::Pending => panic!("every child was ready"),
        };
        let expected: Vec<usize> = (0..CHILDREN)
            .map(|i| if i == 3 || i == 65 { 3 } else { 2 })
            .collect();
        assert_eq!(outputs, expected);
        assert!(all.is_terminated());
        drop(all);
        // The clone still works (the set is alive through it) and changes nothing.
        clone.wake();
    }

    #[test]
    fn a_child_woken_from_another_thread_is_polled() {
        let parent = CountWakes::new();
        let parent_waker = Waker::from(parent.clone());
        let mut cx = Context::from_waker(&parent_waker);
        let (sender, receiver) = std::sync::mpsc::channel::<Waker>();
        let mut sent = false;
        let mut all = join_all([std::future::poll_fn(move |cx| {
            if sent {
                Poll::Ready(7)
            } else {
                sent = true;
                sender.send(cx.waker().clone()).unwrap();
                Poll::Pending
            }
        })]);
        assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
        let waker = receiver.recv().unwrap();
        std::thread::spawn(move || waker.wake()).join().unwrap();
        assert_eq!(parent.count(), 1);
        assert_eq!(Pin::new(&mut all).poll(&mut cx), Poll::Ready(vec![7]));
    }

    #[test]
    fn an_error_drops_every_other_child_before_it_is_returned() {
        let dropped = Arc::new(AtomicUsize::new(0));
        struct CountDrop(Arc<AtomicUsize>);
        impl Drop for CountDrop {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let children = (0..5).map(|index| {
            let guard = CountDrop(dropped.clone());
            async move {
                let _guard = guard;
                if index == 2 {
                    Err(index)
                } else {
                    crate::yield_now().await;
                    Ok(index)
                }
            }
        });
        let mut all = try_join_all(children);
        let waker = Waker::from(CountWakes::new());
        let result = Pin::new(&mut all).poll(&mut Context::from_waker(&waker));
        assert_eq!(result, Poll::Ready(Err(2)));
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            5,
            "all five dropped before returning"
        );
        assert!(all.is_terminated());
    }
}
