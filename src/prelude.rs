//! The items most async code wants: `use fiber::prelude::*;`.

pub use crate::combinators::FiberFutureExt;
pub use crate::{join, select, try_join};
