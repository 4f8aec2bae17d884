//! `select!`: winners, drops before the handler, disabled branches, fairness and syntax.

mod common;

use std::cell::{Cell, RefCell};
use std::future::{pending, ready};
use std::rc::Rc;

use common::{must_not_be_polled, recorded, run, yield_now, DropFlag};
use fiber::select;
use futures::channel::mpsc;
use futures::StreamExt;

#[test]
fn select_drops_the_losing_future_before_the_handler_runs() {
    run(|| async {
        let flag = DropFlag::new();
        let guard = flag.guard();
        let loser = async move {
            let _guard = guard;
            pending::<u8>().await
        };
        let output = select! {
            n = loser => n,
            n = async { yield_now().await; 7 } => {
                assert!(flag.is_set(), "the losing future was still alive in the handler");
                n
            }
        };
        assert_eq!(output, 7);
    });
}

#[test]
fn select_with_both_branches_ready_runs_exactly_one_handler() {
    for _ in 0..4 {
        let handlers_run = run(|| async {
            let runs = Cell::new(0);
            select! {
                () = ready(()) => runs.set(runs.get() + 1),
                () = ready(()) => runs.set(runs.get() + 1),
            }
            runs.get()
        });
        assert_eq!(handlers_run, 1);
    }
}

#[test]
fn select_biased_prefers_the_first_ready_branch_written() {
    for _ in 0..4 {
        let winner = run(|| async {
            select! {
                biased;
                () = yield_now() => "pending at first",
                n = ready(1) => if n == 1 { "first ready" } else { "?" },
                _ = ready(2) => "second ready",
            }
        });
        assert_eq!(winner, "first ready");
    }
}

#[test]
fn select_rotates_the_branch_polled_first_at_each_poll() {
    let log = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        select! {
            _ = recorded(0, log.clone(), 3) => {}
            _ = recorded(1, log.clone(), 3) => {}
            _ = recorded(2, log.clone(), 3) => {}
        }
        log.take()
    });
    let polls: Vec<&[usize]> = log.chunks(3).take(3).collect();
    let start = polls[0][0];
    for (poll, order) in polls.iter().enumerate() {
        let first = (start + poll) % 3;
        assert_eq!(
            *order,
            [first, (first + 1) % 3, (first + 2) % 3],
            "log: {log:?}"
        );
    }
}

#[test]
fn select_in_a_loop_does_not_let_one_ready_branch_win_every_time() {
    let wins = run(|| async {
        let mut wins = [0; 2];
        for _ in 0..10 {
            select! {
                () = ready(()) => wins[0] += 1,
                () = ready(()) => wins[1] += 1,
            }
        }
        wins
    });
    assert_eq!(wins, [5, 5]);
}

#[test]
fn select_biased_polls_in_written_order() {
    let log = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        select! {
            biased;
            _ = recorded(0, log.clone(), 2) => {}
            _ = recorded(1, log.clone(), 2) => {}
            _ = recorded(2, log.clone(), 2) => {}
        }
        log.take()
    });
    assert_eq!(log, [0, 1, 2, 0, 1, 2, 0]);
}

#[test]
fn select_disables_a_branch_whose_output_does_not_match() {
    let (output, polls) = run(|| async {
        let polls = Cell::new(0);
        let counted = async {
            polls.set(polls.get() + 1);
            None::<u8>
        };
        let output = select! {
            biased;
            Some(n) = counted => n,
            n = async {
                for _ in 0..3 {
                    yield_now().await;
                }
                10
            } => n,
        };
        (output, polls.get())
    });
    assert_eq!(output, 10);
    assert_eq!(polls, 1, "a disabled branch was polled again");
}

#[test]
fn select_never_polls_a_branch_whose_condition_is_false() {
    let output = run(|| async {
        let enabled = false;
        select! {
            n = must_not_be_polled::<u8>("the disabled branch"), if enabled => n,
            n = async { yield_now().await; 3 }, if !enabled => n,
        }
    });
    assert_eq!(output, 3);
}

#[test]
fn select_runs_else_when_every_branch_is_disabled() {
    let output = run(|| async {
        select! {
            Some(n) = ready(None::<u8>) => n,
            n = must_not_be_polled::<u8>("the disabled branch"), if false => n,
            else => 99,
        }
    });
    assert_eq!(output, 99);
}

#[test]
fn select_with_only_else_runs_it() {
    let output = run(|| async {
        select! { else => "nothing to wait for" }
    });
    assert_eq!(output, "nothing to wait for");
}

#[test]
#[should_panic(expected = "all branches of `select!` are disabled and there is no `else` branch")]
fn select_without_else_panics_when_every_branch_is_disabled() {
    run(|| async {
        select! {
            Ok(n) = ready(Err::<u8, ()>(())) => n,
            Some(n) = ready(None::<u8>) => n,
        }
    });
}

#[test]
fn select_loop_receives_everything_from_two_channels() {
    let (numbers, words) = watched_channels();
    assert_eq!(numbers, (0..20).collect::<Vec<_>>());
    assert_eq!(words, (0..20).map(|n| n.to_string()).collect::<Vec<_>>());
}

fn watched_channels() -> (Vec<u32>, Vec<String>) {
    common::watchdog(|| {
        let (number_tx, mut number_rx) = mpsc::channel(2);
        let (word_tx, mut word_rx) = mpsc::channel(2);
        let sender = std::thread::spawn(move || {
            futures::executor::block_on(async move {
                let (mut number_tx, mut word_tx) = (number_tx, word_tx);
                for n in 0..20u32 {
                    futures::SinkExt::send(&mut number_tx, n).await.unwrap();
                    futures::SinkExt::send(&mut word_tx, n.to_string())
                        .await
                        .unwrap();
                }
            })
        });
        let received = futures::executor::block_on(async {
            let (mut numbers, mut words) = (Vec::new(), Vec::new());
            loop {
                select! {
                    Some(n) = number_rx.next() => numbers.push(n),
                    Some(word) = word_rx.next() => words.push(word),
                    else => break,
                }
            }
            (numbers, words)
        });
        sender.join().unwrap();
        received
    })
}

#[test]
fn select_handler_may_use_a_local_that_a_branch_borrowed_mutably() {
    let output = run(|| async {
        let mut buffer = vec![1, 2];
        let output = select! {
            len = async { buffer.push(3); buffer.len() } => {
                buffer.push(len);
                buffer.len()
            }
            () = pending::<()>() => 0,
        };
        (output, buffer)
    });
    assert_eq!(output, (4, vec![1, 2, 3, 3]));
}

#[test]
fn select_handlers_can_break_continue_and_await() {
    let total = run(|| async {
        let mut total = 0;
        for round in 0..6 {
            select! {
                n = ready(round) => {
                    if n == 1 {
                        continue;
                    }
                    if n == 4 {
                        break;
                    }
                    yield_now().await;
                    total += n;
                }
            }
        }
        total
    });
    assert_eq!(total, 2 + 3);
}

#[test]
fn select_accepts_mut_ref_and_or_patterns() {
    let output = run(|| async {
        let first = select! {
            Some(mut text) = ready(Some(String::from("a"))) => {
                text.push('b');
                text
            }
        };
        let second = select! {
            Ok(n) | Err(n) = ready(Err::<u8, u8>(4)) => n,
        };
        let third = select! {
            (ref a, _) = ready((String::from("kept"), 1)) => a.clone(),
        };
        (first, second, third)
    });
    assert_eq!(output, ("ab".to_string(), 4, "kept".to_string()));
}

#[test]
fn select_takes_anything_into_future() {
    struct Ready(u8);
    impl std::future::IntoFuture for Ready {
        type Output = u8;
        type IntoFuture = std::future::Ready<u8>;
        fn into_future(self) -> Self::IntoFuture {
            ready(self.0)
        }
    }
    let output = run(|| async {
        select! { n = Ready(5) => n }
    });
    assert_eq!(output, 5);
}

#[test]
fn select_waits_on_64_branches() {
    let output = run(|| async {
        select! {
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { 41u32 } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
            n = async { yield_now().await; std::future::pending::<u32>().await } => n,
        }
    });
    assert_eq!(output, 41);
}

#[test]
// `_0` and `_1` are the names the macros give their branches: the clash is the point.
#[allow(clippy::just_underscores_and_digits)]
fn select_names_do_not_clash_with_the_caller() {
    let output = run(|| async {
        let output = 1;
        let disabled = 2;
        let rotation = 3;
        let cx = 4;
        let branch = 5;
        let poll = 6;
        let value = 7;
        let matched = 8;
        let _0 = 9;
        let _1 = 10;
        select! {
            n = async { output + disabled + rotation } => n + cx + branch + _0,
            n = pending::<i32>() => n + poll + value + matched + _1,
        }
    });
    assert_eq!(output, 1 + 2 + 3 + 4 + 5 + 9);
}

#[test]
fn select_futures_are_send_when_their_branches_are() {
    fn assert_send<T: Send>(_: T) {}
    assert_send(async {
        select! {
            n = async { 1 } => n,
            n = ready(2), if true => n,
            else => 0,
        }
    });
}
