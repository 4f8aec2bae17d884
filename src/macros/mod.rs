//! The `join!`, `try_join!`, `select!` and `fiber_main!` macros.

mod fiber_main;
