//! `fuse` and `boxed`.

mod common;

use std::future::{ready, Future};
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use common::{poll_once, run, untouchable_waker, yield_now, DropFlag};
use fiber::combinators::FiberFutureExt;
use futures::future::FusedFuture;

#[test]
fn fuse_returns_the_output_once_then_pending() {
    let mut future = pin!(ready("once").fuse());
    assert_eq!(poll_once(future.as_mut()), Poll::Ready("once"));
    assert_eq!(poll_once(future.as_mut()), Poll::Pending);
    assert_eq!(poll_once(future.as_mut()), Poll::Pending);
}

#[test]
fn fuse_leaves_the_waker_alone_after_completion() {
    let mut future = pin!(ready(1).fuse());
    assert_eq!(poll_once(future.as_mut()), Poll::Ready(1));
    let waker = untouchable_waker();
    let mut cx = Context::from_waker(&waker);
    for _ in 0..3 {
        assert_eq!(future.as_mut().poll(&mut cx), Poll::Pending);
    }
}

#[test]
fn fuse_is_terminated_only_after_completion() {
    let mut future = pin!(async {
        yield_now().await;
    }
    .fuse());
    assert!(!future.is_terminated());
    assert_eq!(poll_once(future.as_mut()), Poll::Pending);
    assert!(!future.is_terminated());
    assert_eq!(poll_once(future.as_mut()), Poll::Ready(()));
    assert!(future.is_terminated());
}

#[test]
fn fuse_drops_the_inner_future_when_it_completes() {
    let flag = DropFlag::new();
    let guard = flag.guard();
    let mut future = pin!(async move {
        let _guard = guard;
    }
    .fuse());
    assert!(!flag.is_set());
    assert_eq!(poll_once(future.as_mut()), Poll::Ready(()));
    assert!(flag.is_set());
}

#[test]
fn fuse_is_lazy() {
    let flag = DropFlag::new();
    let guard = flag.guard();
    let future = async move { drop(guard) }.fuse();
    assert!(!flag.is_set());
    drop(future);
    assert!(flag.is_set());
}

#[test]
fn boxed_erases_the_type_of_send_futures() {
    fn pick(which: u8) -> Pin<Box<dyn Future<Output = u8> + Send>> {
        match which {
            0 => ready(0).boxed(),
            1 => async { 1 }.boxed(),
            _ => ready(1).map(|n| n + 1).boxed(),
        }
    }
    let outputs = run(|| async { [pick(0).await, pick(1).await, pick(2).await] });
    assert_eq!(outputs, [0, 1, 2]);
}

#[test]
fn boxed_futures_can_borrow() {
    let text = String::from("borrowed");
    let length = futures::executor::block_on(async { text.len() }.boxed());
    assert_eq!(length, 8);
}
