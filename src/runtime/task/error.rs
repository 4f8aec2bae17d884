//! [`JoinError`]: why a task produced no value.

use std::any::Any;
use std::fmt;

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
    repr: Repr,
}

/// Boxed once more so that a `JoinError` is one thin pointer: it shares the task's
/// allocation with the future, so every byte it saves is saved on every task. Panics are rare
/// enough to pay the extra allocation.
enum Repr {
    Cancelled,
    Panic(Box<SyncPanic>),
}

/// A panic payload that can be shared between threads because nothing ever looks at it
/// through a shared reference except to read a message string.
struct SyncPanic(Box<dyn Any + Send + 'static>);

// SAFETY: the payload is only reached through `&JoinError` to downcast it to `&str` or
// `String`, both `Sync`; every other access takes the payload by value.
unsafe impl Sync for SyncPanic {}

impl JoinError {
    pub(crate) fn cancelled() -> JoinError {
        JoinError {
            repr: Repr::Cancelled,
        }
    }

    pub(crate) fn panic(payload: Box<dyn Any + Send + 'static>) -> JoinError {
        JoinError {
            repr: Repr::Panic(Box::new(SyncPanic(payload))),
        }
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
        matches!(self.repr, Repr::Cancelled)
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
        matches!(self.repr, Repr::Panic(_))
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
        match self.repr {
            Repr::Panic(panic) => Ok(panic.0),
            Repr::Cancelled => Err(self),
        }
    }

    /// The panic message, when the payload is a `&str` or a `String`.
    fn panic_message(&self) -> Option<&str> {
        let Repr::Panic(panic) = &self.repr else {
            return None;
        };
        let payload = &panic.0;
        payload
            .downcast_ref::<&'static str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("task was cancelled"),
            (Repr::Panic(_), Some(message)) => write!(f, "task panicked with message {message:?}"),
            (Repr::Panic(_), None) => f.write_str("task panicked"),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_message()) {
            (Repr::Cancelled, _) => f.write_str("JoinError::Cancelled"),
            (Repr::Panic(_), Some(message)) => write!(f, "JoinError::Panic({message:?})"),
            (Repr::Panic(_), None) => f.write_str("JoinError::Panic(..)"),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(error: JoinError) -> std::io::Error {
        std::io::Error::other(error.to_string())
    }
}
