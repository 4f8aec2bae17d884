//! Wakers that point straight into the task: the waker's data pointer is the task's header
//! and each waker owns one reference. Waking needs no allocation and no lock.

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::cell::Header;
use super::harness;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker that borrows a reference held by its creator instead of owning one.
pub(crate) struct WakerRef(ManuallyDrop<Waker>);

impl Deref for WakerRef {
    type Target = Waker;

    fn deref(&self) -> &Waker {
        &self.0
    }
}

/// Makes a waker for a task without taking a reference.
///
/// # Safety
///
/// The caller holds a reference to the task for as long as the returned value is used.
/// Clones of it take references of their own and may outlive it.
pub(super) unsafe fn waker_ref(ptr: NonNull<Header>) -> WakerRef {
    let raw = RawWaker::new(ptr.as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable's functions uphold the `RawWaker` contract for a header pointer,
    // and `ManuallyDrop` keeps this waker from releasing a reference it does not own.
    WakerRef(ManuallyDrop::new(unsafe { Waker::from_raw(raw) }))
}

/// Whether `waker` is the task `ptr`'s own waker (as handed to its future by a poll), not a
/// waker of some combinator inside it. A `false` for the task's own waker is harmless: the
/// callers then take the general path.
#[inline]
pub(crate) fn is_waker_of(waker: &Waker, ptr: NonNull<Header>) -> bool {
    // SAFETY: the waker made here is only compared, never woken, cloned or dropped, so the
    // task need not even be alive.
    let own = unsafe { waker_ref(ptr) };
    waker.will_wake(&own)
}

fn header(data: *const ()) -> NonNull<Header> {
    // SAFETY: every waker with this vtable was made from a non-null header pointer.
    unsafe { NonNull::new_unchecked(data as *mut Header) }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned owns (or borrows) a reference, so the task is alive.
    unsafe { header(data).as_ref() }.state.ref_inc();
    RawWaker::new(data, &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: `wake` consumes the waker and with it the waker's reference.
    unsafe { harness::wake_by_val(header(data)) };
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker's reference keeps the task alive during the call.
    unsafe { harness::wake_by_ref(header(data)) };
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: dropping the waker releases the reference it owns.
    unsafe { harness::release(header(data)) };
}
