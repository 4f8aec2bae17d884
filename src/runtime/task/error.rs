//! [`JoinError`]: why a task produced no value.

use std::any::Any;
use std::fmt;
use std::ptr::NonNull;

/// The error a [`JoinHandle`](crate::JoinHandle) resolves to when its task did not finish
/// normally: it was cancelled (by [`abort`](crate::JoinHandle::abort) or a runtime shutdown),
/// or it panicked.
///
/// # Examples
///
/// ```
/// let rt = fiber::Runtime::new().unwrap();
/// let handle = rt.spawn(async { panic!("boom") });
/// let error = rt.block_on(handle).unwrap_err();
/// assert!(error.is_panic());
/// assert!(error.to_string().contains("boom"));
/// ```
pub struct JoinError {
    /// The boxed panic, or one of the [`MARKERS`]' addresses. One non-null pointer, so that
    /// a finished task's `Result<(), JoinError>` is one word as well: it shares the task's
    /// allocation with the future, and every byte it saves is saved on every task. Panics
    /// are rare enough to pay the extra allocation; cancellations pay none.
    repr: NonNull<SyncPanic>,
}

/// Two bytes whose addresses stand for "cancelled" and for "output taken". No allocation
/// can have the address of a static, so neither is ever mistaken for a boxed panic.
static MARKERS: [u8; 2] = [0; 2];
const CANCELLED: usize = 0;
const TAKEN: usize = 1;

#[inline]
fn marker(which: usize) -> NonNull<SyncPanic> {
    // Never dereferenced as a `SyncPanic`: only compared with `repr`.
    NonNull::from(&MARKERS[which]).cast()
}

/// A panic payload that can be shared between threads because nothing ever looks at it
/// through a shared reference except to read a message string.
struct SyncPanic(Box<dyn Any + Send + 'static>);

// SAFETY: a `JoinError` owns its boxed payload (or points at a static that is never read),
// and the payload is `Send`.
unsafe impl Send for JoinError {}
// SAFETY: the payload is only reached through `&JoinError` to downcast it to `&str` or
// `String`, both `Sync`; every other access takes the payload by value.
unsafe impl Sync for JoinError {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: marker(CANCELLED),
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: NonNull::from(Box::leak(Box::new(SyncPanic(payload)))),
        }
    }

    /// What a finished task's stage holds once its output was taken (by the `JoinHandle`)
    /// or dropped: a value that needs no drop and that no user ever sees.
    #[inline]
    pub(crate) fn taken() -> JoinError {
        JoinError {
            repr: marker(TAKEN),
        }
    }

    #[inline]
    pub(crate) fn is_taken(&self) -> bool {
        self.repr == marker(TAKEN)
    }

    /// The boxed panic, if this is one.
    #[inline]
    fn payload(&self) -> Option<&SyncPanic> {
        if self.repr == marker(CANCELLED) || self.is_taken() {
            return None;
        }
        // SAFETY: any other `repr` came from `Box::leak` in `panic` and is owned by `self`.
        Some(unsafe { self.repr.as_ref() })
    }

    /// Returns true if the task was cancelled, by `abort` or by the runtime shutting down.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// assert!(rt.block_on(handle).unwrap_err().is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.repr == marker(CANCELLED)
    }

    /// Returns true if the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let error = rt.block_on(rt.spawn(async { panic!("oops") })).unwrap_err();
    /// assert!(error.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        self.payload().is_some()
    }

    /// Returns the panic payload, to resume the panic with [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// Panics if the task was cancelled rather than panicking; see
    /// [`try_into_panic`](JoinError::try_into_panic).
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let error = rt.block_on(rt.spawn(async { panic!("oops") })).unwrap_err();
    /// let payload = error.into_panic();
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"oops"));
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancellation, not a panic")
    }

    /// Returns the panic payload, or the error itself if the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = fiber::Runtime::new().unwrap();
    /// let handle = rt.spawn(std::future::pending::<()>());
    /// handle.abort();
    /// let error = rt.block_on(handle).unwrap_err();
    /// assert!(error.try_into_panic().unwrap_err().is_cancelled());
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        if self.payload().is_none() {
            return Err(self);
        }
        let repr = std::mem::ManuallyDrop::new(self).repr;
        // SAFETY: a panic's `repr` came from `Box::leak`; `self` is forgotten, so the box is
        // rebuilt exactly once.
        let panic = unsafe { Box::from_raw(repr.as_ptr()) };
        Ok(panic.0)
    }

    /// The panic message, when the payload is a `&str` or a `String`.
    fn panic_message(&self) -> Option<&str> {
        let payload = &self.payload()?.0;
        payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_panic(), self.panic_message()) {
            (false, _) => f.write_str("task was cancelled"),
            (true, Some(message)) => write!(f, "task panicked with message {message:?}"),
            (true, None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_panic(), self.panic_message()) {
            (false, _) => f.write_str("JoinError::Cancelled"),
            (true, Some(message)) => write!(f, "JoinError::Panic({message:?})"),
            (true, None) => f.write_str("JoinError::Panic(..)"),
        }
    }
}

impl std::error::Error for JoinError {}

impl Drop for JoinError {
    #[inline]
    fn drop(&mut self) {
        if self.payload().is_some() {
            // SAFETY: a panic's `repr` came from `Box::leak` and is dropped once, here.
            drop(unsafe { Box::from_raw(self.repr.as_ptr()) });
        }
    }
}

impl From<JoinError> for std::io::Error {
    fn from(error: JoinError) -> std::io::Error {
        std::io::Error::other(error.to_string())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::JoinError;

    #[test]
    fn a_join_error_is_one_word_and_leaves_a_niche_for_the_output() {
        let word = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<JoinError>(), word);
        assert_eq!(std::mem::size_of::<Result<(), JoinError>>(), word);
    }

    #[test]
    fn each_kind_of_join_error_says_what_it_is_and_frees_what_it_owns() {
        let cancelled = JoinError::cancelled();
        assert!(cancelled.is_cancelled() && !cancelled.is_panic() && !cancelled.is_taken());
        let cancelled = cancelled.try_into_panic().unwrap_err();
        assert_eq!(cancelled.to_string(), "task was cancelled");

        let taken = JoinError::taken();
        assert!(taken.is_taken() && !taken.is_cancelled() && !taken.is_panic());
        drop(taken);

        let panic = JoinError::panic(Box::new(String::from("boom")));
        assert!(panic.is_panic() && !panic.is_cancelled() && !panic.is_taken());
        assert_eq!(format!("{panic:?}"), "JoinError::Panic(\"boom\")");
        let payload = panic.into_panic();
        assert_eq!(payload.downcast_ref::<String>().unwrap(), "boom");

        // Dropped without being taken apart: the box is freed (Miri checks for leaks).
        drop(JoinError::panic(Box::new(7_u32)));
    }
}
