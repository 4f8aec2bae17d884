//! `then`, `and_then` and `or_else`: chaining, short-circuits, and eager drop.

mod common;

use std::cell::Cell;
use std::future::ready;
use std::pin::pin;
use std::rc::Rc;

use common::{must_not_be_polled, poll_once, run, yield_now, DropFlag};
use fiber::combinators::FiberFutureExt;
use futures::future::FusedFuture;

#[test]
fn then_runs_the_second_future_on_the_first_output() {
    let output = run(|| {
        async { 6 }.then(|n| async move {
            yield_now().await;
            n * 7
        })
    });
    assert_eq!(output, 42);
}

#[test]
fn then_is_lazy() {
    run(|| async {
        let ran = Rc::new(Cell::new(0));
        let chained = {
            let (first, second) = (ran.clone(), ran.clone());
            async move { first.set(first.get() + 1) }.then(move |()| async move {
                second.set(second.get() + 1);
            })
        };
        assert_eq!(ran.get(), 0);
        chained.await;
        assert_eq!(ran.get(), 2);
    });
}

#[test]
fn then_drops_the_first_future_before_calling_the_closure() {
    run(|| async {
        let flag = DropFlag::new();
        let guard = flag.guard();
        let checked = flag.clone();
        async move {
            let _guard = guard;
        }
        .then(move |()| {
            assert!(checked.is_set(), "the first future was still alive");
            ready(())
        })
        .await;
    });
}

#[test]
#[should_panic(expected = "`Then` polled after completion")]
fn then_panics_when_polled_after_completion() {
    let mut future = pin!(ready(1).then(ready));
    let _ = poll_once(future.as_mut());
    assert!(future.is_terminated());
    let _ = poll_once(future.as_mut());
}

#[test]
fn and_then_chains_on_ok() {
    let output = run(|| async { Ok::<_, String>(2) }.and_then(|n| async move { Ok(n + 1) }));
    assert_eq!(output, Ok(3));
}

#[test]
fn and_then_returns_the_second_future_error() {
    let output = run(|| async { Ok::<u8, &str>(2) }.and_then(|_| async { Err::<u8, _>("second") }));
    assert_eq!(output, Err("second"));
}

#[test]
fn and_then_short_circuits_on_err_without_calling_the_closure() {
    let output = run(|| {
        async { Err::<u8, &str>("first") }
            .and_then(|_| must_not_be_polled::<Result<u8, &str>>("and_then's future"))
            .and_then(|_| -> std::future::Ready<Result<u8, &str>> {
                panic!("the second and_then ran after an Err")
            })
    });
    assert_eq!(output, Err("first"));
}

#[test]
fn and_then_drops_the_first_future_before_calling_the_closure() {
    run(|| async {
        let flag = DropFlag::new();
        let guard = flag.guard();
        let checked = flag.clone();
        let output = async move {
            let _guard = guard;
            Ok::<_, ()>(1)
        }
        .and_then(move |n| {
            assert!(checked.is_set(), "the first future was still alive");
            ready(Ok(n))
        })
        .await;
        assert_eq!(output, Ok(1));
    });
}

#[test]
#[should_panic(expected = "`AndThen` polled after completion")]
fn and_then_panics_when_polled_after_completion() {
    let mut future = pin!(ready(Ok::<u8, ()>(1)).and_then(|n| ready(Ok(n))));
    let _ = poll_once(future.as_mut());
    let _ = poll_once(future.as_mut());
}

#[test]
fn or_else_recovers_from_err() {
    let output = run(|| async { Err::<u8, u8>(1) }.or_else(|e| async move { Ok::<_, ()>(e + 1) }));
    assert_eq!(output, Ok(2));
}

#[test]
fn or_else_passes_ok_through_without_calling_the_closure() {
    let output = run(|| {
        async { Ok::<u8, u8>(5) }
            .or_else(|_| must_not_be_polled::<Result<u8, String>>("or_else's future"))
    });
    assert_eq!(output, Ok(5));
}

#[test]
fn or_else_drops_the_first_future_before_calling_the_closure() {
    run(|| async {
        let flag = DropFlag::new();
        let guard = flag.guard();
        let checked = flag.clone();
        let output = async move {
            let _guard = guard;
            Err::<u8, u8>(9)
        }
        .or_else(move |e| {
            assert!(checked.is_set(), "the first future was still alive");
            ready(Err::<u8, u16>(u16::from(e)))
        })
        .await;
        assert_eq!(output, Err(9));
    });
}

#[test]
#[should_panic(expected = "`OrElse` polled after completion")]
fn or_else_panics_when_polled_after_completion() {
    let mut future = pin!(ready(Err::<u8, u8>(1)).or_else(|e| ready(Ok::<u8, u8>(e))));
    let _ = poll_once(future.as_mut());
    let _ = poll_once(future.as_mut());
}

#[test]
fn a_chain_runs_only_the_steps_its_results_call_for() {
    let output = run(|| {
        async { Ok::<u32, String>(1) }
            .map_ok(|n| n + 1)
            .and_then(|n| async move { Err::<u32, String>(format!("failed at {n}")) })
            .map_ok(|_| -> u32 { panic!("map_ok ran after an Err") })
            .and_then(|_| must_not_be_polled::<Result<u32, String>>("and_then after an Err"))
            .or_else(|message| async move { Ok::<u32, String>(message.len() as u32) })
            .or_else(|_| must_not_be_polled::<Result<u32, String>>("or_else after an Ok"))
            .then(|result| async move { result.map(|n| n * 10) })
    });
    assert_eq!(output, Ok(110));
}
