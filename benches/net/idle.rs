//! The idle check: a fiber runtime holding open, silent connections should cost no CPU. Its
//! workers must sleep in the I/O driver or on their parkers, not poll in a loop.

use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use futures::StreamExt;

use crate::executors::{Executor, Fiber};
use crate::sockets::{FiberNet, Sockets};

/// CPU time the whole process used so far, user and system, from `getrusage`.
fn process_cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: `getrusage` writes a whole `rusage` through the pointer, which points to memory
    // of that size and alignment that outlives the call; RUSAGE_SELF is a valid `who`.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(
        status,
        0,
        "getrusage failed: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `getrusage` returned 0, so it filled `usage` in.
    let usage = unsafe { usage.assume_init() };
    let time = |value: libc::timeval| {
        Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Opens `connections` loopback connections on a fiber runtime of `workers` workers, both ends
/// waiting in a read, and returns the CPU the process used over `window` while they idle, as a
/// fraction of one core. Run it before any other runtime starts: the measure is the whole
/// process's.
pub fn idle_cpu(workers: usize, connections: usize, window: Duration) -> f64 {
    let fiber = Arc::new(Fiber::new(workers));
    let spawner = fiber.clone();
    fiber.run(async move {
        let listener = FiberNet::bind().await;
        let address = FiberNet::address(&listener);
        let (opened, mut open) = mpsc::unbounded::<()>();
        // Each end waits for a byte that never comes, until the runtime is dropped.
        let wait_for_ever = |mut stream, opened: mpsc::UnboundedSender<()>| async move {
            opened.unbounded_send(()).expect("the counter listens");
            drop(opened);
            FiberNet::read(&mut stream, &mut [0]).await;
            unreachable!("an idle connection received data or closed");
        };
        let server_spawner = spawner.clone();
        let server_opened = opened.clone();
        drop(spawner.spawn(async move {
            for _ in 0..connections {
                let stream = FiberNet::accept(&listener).await;
                drop(server_spawner.spawn(wait_for_ever(stream, server_opened.clone())));
            }
        }));
        for _ in 0..connections {
            let opened = opened.clone();
            drop(spawner.spawn(async move {
                wait_for_ever(FiberNet::connect(address).await, opened).await
            }));
        }
        drop(opened);
        // Both ends of every connection are open once 2 x `connections` signals arrived.
        for _ in 0..2 * connections {
            open.next().await.expect("every end signals");
        }
    });
    // Let the last wakes settle before the measure starts.
    std::thread::sleep(Duration::from_millis(100));
    let before = process_cpu_time();
    std::thread::sleep(window);
    let used = process_cpu_time() - before;
    drop(fiber);
    used.as_secs_f64() / window.as_secs_f64()
}
