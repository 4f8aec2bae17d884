//! `fiber_main!`: the `fn main` it writes, with and without its optional `worker_threads`
//! and return type lines. Each expansion sits in a module of its own, where a test can
//! call the generated (private) `main` under the watchdog.

mod common;

use common::watchdog;

fn current_workers() -> usize {
    fiber::Handle::current().metrics().num_workers()
}

mod plain {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static WORKERS: AtomicUsize = AtomicUsize::new(0);

    fiber::fiber_main! {
        let task = fiber::spawn(async { 40 + 2 });
        assert_eq!(task.await.unwrap(), 42);
        WORKERS.store(super::current_workers(), Ordering::SeqCst);
        // A trailing value is discarded, as it always was.
        "ignored"
    }

    #[test]
    fn statements_run_on_a_runtime_with_one_worker_per_cpu() {
        super::watchdog(main);
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(WORKERS.load(Ordering::SeqCst), cpus);
    }
}

mod empty {
    fiber::fiber_main! {}

    #[test]
    fn an_empty_body_runs() {
        super::watchdog(main);
    }
}

mod workers {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static WORKERS: AtomicUsize = AtomicUsize::new(0);

    fiber::fiber_main! {
        worker_threads = 3;
        WORKERS.store(super::current_workers(), Ordering::SeqCst);
    }

    #[test]
    fn worker_threads_starts_that_many_workers() {
        super::watchdog(main);
        assert_eq!(WORKERS.load(Ordering::SeqCst), 3);
    }
}

mod returns {
    use std::num::ParseIntError;

    fiber::fiber_main! {
        -> Result<u32, ParseIntError>;
        let n: u32 = "21".parse()?;
        Ok(fiber::spawn(async move { n * 2 }).await.unwrap())
    }

    #[test]
    fn main_returns_the_value_of_the_statements() {
        assert_eq!(super::watchdog(main), Ok(42));
    }
}

mod returns_early {
    use std::num::ParseIntError;

    fiber::fiber_main! {
        worker_threads = 1;
        -> Result<u32, ParseIntError>;
        let n: u32 = "forty-two".parse()?;
        Ok(n)
    }

    #[test]
    fn question_mark_returns_the_error_from_main() {
        let error = super::watchdog(main).unwrap_err();
        assert_eq!(error, "x".parse::<u32>().unwrap_err());
    }
}

mod zero_workers {
    fiber::fiber_main! {
        worker_threads = 0;
        unreachable!("a runtime without workers started");
    }

    #[test]
    #[should_panic(expected = "at least one worker thread")]
    fn zero_worker_threads_panics_with_a_clear_message() {
        super::watchdog(main);
    }
}
