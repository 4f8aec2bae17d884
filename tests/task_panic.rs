//! Panics inside tasks are caught: the worker lives on and the handle reports the panic.

mod common;

use std::future::Future;

use common::on_each_runtime;

#[test]
fn a_str_panic_becomes_a_join_error_with_its_message() {
    on_each_runtime(|rt| {
        let error = rt
            .block_on(rt.spawn(async { panic!("static message") }))
            .unwrap_err();
        assert!(error.is_panic());
        assert!(!error.is_cancelled());
        assert!(error.to_string().contains("static message"), "{error}");
        assert!(format!("{error:?}").contains("static message"));
    });
}

#[test]
fn a_string_panic_becomes_a_join_error_with_its_message() {
    on_each_runtime(|rt| {
        let code = 7;
        let error = rt
            .block_on(rt.spawn(async move { panic!("formatted {code}") }))
            .unwrap_err();
        assert!(error.to_string().contains("formatted 7"), "{error}");
        let payload = error.into_panic();
        assert_eq!(payload.downcast_ref::<String>().unwrap(), "formatted 7");
    });
}

#[test]
fn a_panic_with_another_payload_is_reported_without_a_message() {
    on_each_runtime(|rt| {
        let error = rt
            .block_on(rt.spawn(async { std::panic::panic_any(42u32) }))
            .unwrap_err();
        assert_eq!(error.to_string(), "task panicked");
        let payload = error.try_into_panic().unwrap();
        assert_eq!(payload.downcast_ref::<u32>(), Some(&42));
    });
}

#[test]
#[should_panic(expected = "not a panic")]
fn into_panic_on_a_cancellation_panics_clearly() {
    let rt = fiber::Runtime::new().unwrap();
    let handle = rt.spawn(std::future::pending::<()>());
    handle.abort();
    let error = rt.block_on(handle).unwrap_err();
    let _ = error.into_panic();
}

#[test]
fn workers_survive_many_panicking_tasks() {
    on_each_runtime(|rt| {
        let handles: Vec<_> = (0..1000)
            .map(|i| {
                rt.spawn(async move {
                    if i % 2 == 0 {
                        panic!("task {i}");
                    }
                    i
                })
            })
            .collect();
        let mut panics = 0;
        for (i, handle) in handles.into_iter().enumerate() {
            match rt.block_on(handle) {
                Ok(value) => assert_eq!(value, i),
                Err(error) => {
                    assert!(error.is_panic());
                    panics += 1;
                }
            }
        }
        assert_eq!(panics, 500);
        assert_eq!(
            rt.block_on(rt.spawn(async { "still alive" })).unwrap(),
            "still alive"
        );
    });
}

#[test]
fn a_panicking_output_destructor_of_a_detached_task_does_not_kill_the_worker() {
    on_each_runtime(|rt| {
        struct PanicOnDrop;
        impl Drop for PanicOnDrop {
            fn drop(&mut self) {
                panic!("output destructor");
            }
        }
        for _ in 0..8 {
            drop(rt.spawn(async { PanicOnDrop }));
        }
        for i in 0..8 {
            assert_eq!(rt.block_on(rt.spawn(async move { i })).unwrap(), i);
        }
    });
}

#[test]
fn join_error_is_send_sync_and_an_error() {
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<fiber::JoinError>();
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<fiber::Runtime>();
    assert_send_sync::<fiber::Handle>();
    assert_send_sync::<fiber::JoinHandle<String>>();
    assert_send_sync::<fiber::AbortHandle>();
    assert_send_sync::<fiber::RuntimeMetrics>();
}

#[test]
fn a_panicking_join_waker_does_not_kill_the_worker() {
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    struct PanickingWaker;
    impl Wake for PanickingWaker {
        fn wake(self: Arc<Self>) {
            panic!("join waker panicked");
        }
    }

    common::watchdog(|| {
        let rt = fiber::Builder::new().worker_threads(1).build().unwrap();
        let (release, wait) = futures::channel::oneshot::channel::<()>();
        let mut handle = rt.spawn(async move { wait.await.unwrap() });
        let waker = Waker::from(Arc::new(PanickingWaker));
        let polled = std::pin::Pin::new(&mut handle).poll(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        release.send(()).unwrap();
        // The completing worker wakes the panicking waker, and carries on.
        for i in 0..10 {
            assert_eq!(rt.block_on(rt.spawn(async move { i })).unwrap(), i);
        }
        rt.block_on(handle).unwrap();
    });
}
