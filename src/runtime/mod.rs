//! The runtime: workers, tasks, and time.

pub mod time;
