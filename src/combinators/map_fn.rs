//! The functions that the mapping combinators feed an output through.
//!
//! [`Mapping`](super::map::Mapping) runs any [`MapFn`]. Plain closures are `MapFn`s
//! already; the small adapters below turn a closure over a part of the output (the `Ok`
//! value, the `Err` value, a reference) into a function of the whole output, so that
//! `map_ok`, `map_err` and `inspect` need no state machine of their own.
//!
//! The chaining adapters ([`ThenFn`], [`AndThenFn`], [`OrElseFn`]) turn the first
//! future's output into `Ok(next_future)` or `Err(final_output)`, the one shape that
//! [`Flatten`](super::flatten::Flatten) understands, so `then`, `and_then` and `or_else`
//! share one state machine.

use core::future::Future;

/// A function applied once to a future's output.
pub(crate) trait MapFn<Input> {
    /// What the function returns.
    type Output;

    /// Applies the function.
    fn call(self, input: Input) -> Self::Output;
}

impl<F, Input, Output> MapFn<Input> for F
where
    F: FnOnce(Input) -> Output,
{
    type Output = Output;

    fn call(self, input: Input) -> Output {
        self(input)
    }
}

/// Applies the closure to the `Ok` value of a `Result`, passing an `Err` through.
pub(crate) struct OkFn<F>(pub(crate) F);

impl<F, T, E, U> MapFn<Result<T, E>> for OkFn<F>
where
    F: FnOnce(T) -> U,
{
    type Output = Result<U, E>;

    fn call(self, input: Result<T, E>) -> Result<U, E> {
        input.map(self.0)
    }
}

/// Applies the closure to the `Err` value of a `Result`, passing an `Ok` through.
pub(crate) struct ErrFn<F>(pub(crate) F);

impl<F, T, E, E2> MapFn<Result<T, E>> for ErrFn<F>
where
    F: FnOnce(E) -> E2,
{
    type Output = Result<T, E2>;

    fn call(self, input: Result<T, E>) -> Result<T, E2> {
        input.map_err(self.0)
    }
}

/// Shows the output to the closure, then passes it on unchanged.
pub(crate) struct InspectFn<F>(pub(crate) F);

impl<F, T> MapFn<T> for InspectFn<F>
where
    F: FnOnce(&T),
{
    type Output = T;

    fn call(self, input: T) -> T {
        (self.0)(&input);
        input
    }
}

/// `then`: always goes on to the future the closure makes.
pub(crate) struct ThenFn<F>(pub(crate) F);

impl<F, Input, Next> MapFn<Input> for ThenFn<F>
where
    F: FnOnce(Input) -> Next,
    Next: Future,
{
    type Output = Result<Next, Next::Output>;

    fn call(self, input: Input) -> Self::Output {
        Ok((self.0)(input))
    }
}

/// `and_then`: goes on with the future made from the `Ok` value; an `Err` is the result.
pub(crate) struct AndThenFn<F>(pub(crate) F);

impl<F, T, E, U, Next> MapFn<Result<T, E>> for AndThenFn<F>
where
    F: FnOnce(T) -> Next,
    Next: Future<Output = Result<U, E>>,
{
    type Output = Result<Next, Result<U, E>>;

    fn call(self, input: Result<T, E>) -> Self::Output {
        match input {
            Ok(value) => Ok((self.0)(value)),
            Err(error) => Err(Err(error)),
        }
    }
}

/// `or_else`: goes on with the future made from the `Err` value; an `Ok` is the result.
pub(crate) struct OrElseFn<F>(pub(crate) F);

impl<F, T, E, E2, Next> MapFn<Result<T, E>> for OrElseFn<F>
where
    F: FnOnce(E) -> Next,
    Next: Future<Output = Result<T, E2>>,
{
    type Output = Result<Next, Result<T, E2>>;

    fn call(self, input: Result<T, E>) -> Self::Output {
        match input {
            Ok(value) => Err(Ok(value)),
            Err(error) => Ok((self.0)(error)),
        }
    }
}
