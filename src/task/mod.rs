//! Tasks: opting a future out of the cooperative budget.

mod unconstrained;

pub use unconstrained::{unconstrained, Unconstrained};
