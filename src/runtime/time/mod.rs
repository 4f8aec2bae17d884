//! Timers: `sleep`, `timeout` and `interval`.
mod wheel;
