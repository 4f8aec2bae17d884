//! The functions that the mapping combinators feed an output through.
//!
//! [`Mapping`](super::map::Mapping) runs any [`MapFn`]. Plain closures are `MapFn`s
//! already; the small adapters below turn a closure over a part of the output (the `Ok`
//! value, the `Err` value, a reference) into a function of the whole output, so that
//! `map_ok`, `map_err` and `inspect` need no state machine of their own.

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
