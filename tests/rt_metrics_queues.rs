//! The queue-depth metrics, read from the runtime and from a `Handle`.

mod common;

use std::sync::mpsc;

use common::watchdog;

#[test]
fn global_queue_depth_counts_remote_spawns_waiting_for_a_busy_worker() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let (release, gate) = mpsc::channel::<()>();
        let (started, busy) = mpsc::channel();
        // Keeps the only worker busy, so remote spawns stay in the injector.
        let blocker = rt.spawn(async move {
            started.send(()).unwrap();
            gate.recv().unwrap();
        });
        busy.recv().unwrap();
        let tasks: Vec<_> = (0..5).map(|_| rt.spawn(async {})).collect();
        assert_eq!(rt.metrics().global_queue_depth(), 5);
        release.send(()).unwrap();
        rt.block_on(async {
            blocker.await.unwrap();
            for task in tasks {
                task.await.unwrap();
            }
        });
        assert_eq!(rt.metrics().global_queue_depth(), 0);
    });
}

#[test]
fn worker_local_queue_depth_counts_tasks_spawned_on_that_worker() {
    watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let depth = rt
            .block_on(rt.spawn(async {
                let tasks: Vec<_> = (0..5).map(|_| fiber::spawn(async {})).collect();
                // The last spawn waits in the next-task slot, the other four in the deque.
                let depth = fiber::Handle::current()
                    .metrics()
                    .worker_local_queue_depth(0);
                for task in tasks {
                    task.await.unwrap();
                }
                depth
            }))
            .unwrap();
        assert_eq!(depth, 4);
        assert_eq!(rt.metrics().worker_local_queue_depth(0), 0);
    });
}

#[test]
#[should_panic(expected = "worker index 3 out of range")]
fn worker_local_queue_depth_of_a_missing_worker_panics() {
    let rt = fiber::Builder::new().worker_threads(2).build().unwrap();
    rt.metrics().worker_local_queue_depth(3);
}
