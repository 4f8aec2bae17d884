//! `map`, `inspect`, `map_ok` and `map_err`: what they compute, when they run, how they end.

mod common;

use std::cell::Cell;
use std::future::{ready, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use common::{poll_once, run, yield_now};
use fiber::combinators::FiberFutureExt;
use futures::future::FusedFuture;

#[test]
fn map_applies_the_function_to_the_output() {
    assert_eq!(run(|| async { 20 }.map(|n| n + 1).map(|n| n * 2)), 42);
}

#[test]
fn map_runs_neither_future_nor_function_before_the_first_poll() {
    run(|| async {
        let future_ran = Rc::new(Cell::new(false));
        let function_ran = Rc::new(Cell::new(false));
        let mapped = {
            let (future_ran, function_ran) = (future_ran.clone(), function_ran.clone());
            async move { future_ran.set(true) }.map(move |()| function_ran.set(true))
        };
        assert!(!future_ran.get() && !function_ran.get());
        mapped.await;
        assert!(future_ran.get() && function_ran.get());
    });
}

#[test]
fn map_waits_for_a_pending_future() {
    let output = run(|| async {
        async {
            yield_now().await;
            "late"
        }
        .map(str::len)
        .await
    });
    assert_eq!(output, 4);
}

#[test]
#[should_panic(expected = "`Map` polled after completion")]
fn map_panics_when_polled_after_completion() {
    let mut future = pin!(ready(1).map(|n| n + 1));
    assert_eq!(poll_once(future.as_mut()), Poll::Ready(2));
    let _ = poll_once(future.as_mut());
}

#[test]
fn map_is_terminated_once_complete() {
    let mut future = pin!(ready(1).map(|n| n + 1));
    assert!(!future.is_terminated());
    let _ = poll_once(future.as_mut());
    assert!(future.is_terminated());
}

#[test]
fn inspect_shows_the_output_and_passes_it_on() {
    let seen = run(|| async {
        let mut seen = None;
        let output = async { String::from("fiber") }
            .inspect(|text| seen = Some(text.len()))
            .await;
        assert_eq!(output, "fiber");
        seen
    });
    assert_eq!(seen, Some(5));
}

#[test]
#[should_panic(expected = "`Inspect` polled after completion")]
fn inspect_panics_when_polled_after_completion() {
    let mut future = pin!(ready(1).inspect(|_| {}));
    let _ = poll_once(future.as_mut());
    let _ = poll_once(future.as_mut());
}

#[test]
fn map_ok_maps_the_ok_value() {
    let output = run(|| async { Ok::<u8, String>(2) }.map_ok(|n| n * 3));
    assert_eq!(output, Ok(6));
}

#[test]
fn map_ok_passes_an_err_through_without_calling_the_function() {
    let output = run(|| {
        async { Err::<u8, String>("bad".into()) }
            .map_ok(|_: u8| -> u8 { panic!("map_ok ran its function on an Err") })
    });
    assert_eq!(output, Err("bad".into()));
}

#[test]
fn map_err_maps_the_err_value() {
    let output = run(|| async { Err::<(), u16>(500) }.map_err(|code| code.to_string()));
    assert_eq!(output, Err("500".to_string()));
}

#[test]
fn map_err_passes_an_ok_through_without_calling_the_function() {
    let output = run(|| {
        async { Ok::<u8, u16>(1) }.map_err(|_| -> String { panic!("map_err ran on an Ok") })
    });
    assert_eq!(output, Ok(1));
}

#[test]
#[should_panic(expected = "`MapOk` polled after completion")]
fn map_ok_panics_when_polled_after_completion() {
    let mut future = pin!(ready(Ok::<u8, ()>(1)).map_ok(|n| n));
    let _ = poll_once(future.as_mut());
    let _ = poll_once(future.as_mut());
}

#[test]
#[should_panic(expected = "`MapErr` polled after completion")]
fn map_err_panics_when_polled_after_completion() {
    let mut future = pin!(ready(Err::<(), u8>(1)).map_err(|n| n));
    let _ = poll_once(future.as_mut());
    let _ = poll_once(future.as_mut());
}

#[test]
fn map_drops_the_future_before_the_function_runs() {
    run(|| async {
        let flag = common::DropFlag::new();
        let guard = flag.guard();
        let checked = flag.clone();
        async move {
            let _guard = guard;
        }
        .map(move |()| assert!(checked.is_set(), "the future was still alive"))
        .await;
    });
}

#[test]
fn debug_shows_the_future_but_not_the_function() {
    let mapped = ready(7).map(|n| n + 1);
    let text = format!("{mapped:?}");
    assert!(text.starts_with("Map"), "{text}");
    assert!(text.contains("Ready(Some(7))"), "{text}");

    let inspected = ready(Ok::<u8, ()>(1)).map_ok(|n| n).map_err(|e| e);
    let text = format!("{inspected:?}");
    assert!(
        text.starts_with("MapErr") && text.contains("MapOk"),
        "{text}"
    );
}

#[test]
fn combinators_are_send_when_their_parts_are() {
    fn assert_send<T: Send>(_: &T) {}
    let future = ready(1)
        .map(|n| n + 1)
        .inspect(|_| {})
        .map(Ok::<_, ()>)
        .map_ok(|n| n)
        .map_err(|e| e);
    assert_send(&future);
    let _ = Box::pin(future)
        .as_mut()
        .poll(&mut std::task::Context::from_waker(
            futures::task::noop_waker_ref(),
        ));
}
