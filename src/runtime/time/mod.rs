//! Timers: `sleep`, `timeout` and `interval`.
