//! `join!` and `try_join!`: outputs, order, fairness, short-circuits and drops.

mod common;

use std::cell::RefCell;
use std::future::{ready, IntoFuture};
use std::rc::Rc;

use common::{must_not_be_polled, recorded, run, yield_now, DropFlag};
use fiber::{join, try_join};

/// Groups a poll log into one chunk per poll of a macro over `count` branches that all
/// stay pending.
fn polls(log: &[usize], count: usize) -> Vec<Vec<usize>> {
    log.chunks(count).map(<[usize]>::to_vec).collect()
}

#[test]
fn join_of_nothing_is_unit() {
    run(|| async {
        let () = join!();
        let () = join!(biased;);
    });
}

#[test]
fn try_join_of_nothing_is_ok_unit() {
    let result: Result<(), String> = run(|| async { try_join!() });
    assert_eq!(result, Ok(()));
}

#[test]
fn join_returns_outputs_in_argument_order_when_they_complete_in_reverse() {
    let (outputs, log) = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let outputs = join!(
            recorded(0, log.clone(), 3),
            recorded(1, log.clone(), 2),
            recorded(2, log.clone(), 1),
            recorded(3, log.clone(), 0),
        );
        (outputs, log.take())
    });
    assert_eq!(outputs, (0, 1, 2, 3));
    // The last future finished first.
    let first_done = log.iter().position(|&id| id == 3).unwrap();
    assert!(log[first_done + 1..].contains(&0));
}

#[test]
fn join_rotates_the_branch_polled_first_at_each_poll() {
    let log = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        join!(
            recorded(0, log.clone(), 3),
            recorded(1, log.clone(), 3),
            recorded(2, log.clone(), 3),
        );
        log.take()
    });
    assert_eq!(
        polls(&log, 3),
        [[0, 1, 2], [1, 2, 0], [2, 0, 1], [0, 1, 2]],
        "poll order was {log:?}"
    );
}

#[test]
fn join_biased_polls_in_written_order() {
    let log = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        join!(
            biased;
            recorded(0, log.clone(), 2),
            recorded(1, log.clone(), 2),
            recorded(2, log.clone(), 2),
        );
        log.take()
    });
    assert_eq!(polls(&log, 3), [[0, 1, 2], [0, 1, 2], [0, 1, 2]]);
}

#[test]
fn join_drops_each_future_as_soon_as_it_completes() {
    run(|| async {
        let flag = DropFlag::new();
        let guard = flag.guard();
        let quick = async move {
            let _guard = guard;
        };
        let slow = async {
            yield_now().await;
            yield_now().await;
            flag.is_set()
        };
        let ((), quick_was_dropped) = join!(quick, slow);
        assert!(quick_was_dropped);
    });
}

struct Doubler(u32);

impl IntoFuture for Doubler {
    type Output = u32;
    type IntoFuture = std::future::Ready<u32>;

    fn into_future(self) -> Self::IntoFuture {
        ready(self.0 * 2)
    }
}

#[test]
fn join_and_try_join_take_anything_into_future() {
    let (joined, tried) = run(|| async {
        let joined = join!(Doubler(1), Doubler(2));
        let tried = try_join!(async { Ok::<_, ()>(Doubler(3).await) }, ready(Ok(4)));
        (joined, tried)
    });
    assert_eq!(joined, (2, 4));
    assert_eq!(tried, Ok((6, 4)));
}

#[test]
fn join_awaits_64_futures() {
    let total = run(|| async {
        let outputs = join!(
            async {
                yield_now().await;
                0u32
            },
            async {
                yield_now().await;
                1u32
            },
            async {
                yield_now().await;
                2u32
            },
            async {
                yield_now().await;
                3u32
            },
            async {
                yield_now().await;
                4u32
            },
            async {
                yield_now().await;
                5u32
            },
            async {
                yield_now().await;
                6u32
            },
            async {
                yield_now().await;
                7u32
            },
            async {
                yield_now().await;
                8u32
            },
            async {
                yield_now().await;
                9u32
            },
            async {
                yield_now().await;
                10u32
            },
            async {
                yield_now().await;
                11u32
            },
            async {
                yield_now().await;
                12u32
            },
            async {
                yield_now().await;
                13u32
            },
            async {
                yield_now().await;
                14u32
            },
            async {
                yield_now().await;
                15u32
            },
            async {
                yield_now().await;
                16u32
            },
            async {
                yield_now().await;
                17u32
            },
            async {
                yield_now().await;
                18u32
            },
            async {
                yield_now().await;
                19u32
            },
            async {
                yield_now().await;
                20u32
            },
            async {
                yield_now().await;
                21u32
            },
            async {
                yield_now().await;
                22u32
            },
            async {
                yield_now().await;
                23u32
            },
            async {
                yield_now().await;
                24u32
            },
            async {
                yield_now().await;
                25u32
            },
            async {
                yield_now().await;
                26u32
            },
            async {
                yield_now().await;
                27u32
            },
            async {
                yield_now().await;
                28u32
            },
            async {
                yield_now().await;
                29u32
            },
            async {
                yield_now().await;
                30u32
            },
            async {
                yield_now().await;
                31u32
            },
            async {
                yield_now().await;
                32u32
            },
            async {
                yield_now().await;
                33u32
            },
            async {
                yield_now().await;
                34u32
            },
            async {
                yield_now().await;
                35u32
            },
            async {
                yield_now().await;
                36u32
            },
            async {
                yield_now().await;
                37u32
            },
            async {
                yield_now().await;
                38u32
            },
            async {
                yield_now().await;
                39u32
            },
            async {
                yield_now().await;
                40u32
            },
            async {
                yield_now().await;
                41u32
            },
            async {
                yield_now().await;
                42u32
            },
            async {
                yield_now().await;
                43u32
            },
            async {
                yield_now().await;
                44u32
            },
            async {
                yield_now().await;
                45u32
            },
            async {
                yield_now().await;
                46u32
            },
            async {
                yield_now().await;
                47u32
            },
            async {
                yield_now().await;
                48u32
            },
            async {
                yield_now().await;
                49u32
            },
            async {
                yield_now().await;
                50u32
            },
            async {
                yield_now().await;
                51u32
            },
            async {
                yield_now().await;
                52u32
            },
            async {
                yield_now().await;
                53u32
            },
            async {
                yield_now().await;
                54u32
            },
            async {
                yield_now().await;
                55u32
            },
            async {
                yield_now().await;
                56u32
            },
            async {
                yield_now().await;
                57u32
            },
            async {
                yield_now().await;
                58u32
            },
            async {
                yield_now().await;
                59u32
            },
            async {
                yield_now().await;
                60u32
            },
            async {
                yield_now().await;
                61u32
            },
            async {
                yield_now().await;
                62u32
            },
            async {
                yield_now().await;
                63u32
            }
        );
        outputs.0
            + outputs.1
            + outputs.2
            + outputs.3
            + outputs.4
            + outputs.5
            + outputs.6
            + outputs.7
            + outputs.8
            + outputs.9
            + outputs.10
            + outputs.11
            + outputs.12
            + outputs.13
            + outputs.14
            + outputs.15
            + outputs.16
            + outputs.17
            + outputs.18
            + outputs.19
            + outputs.20
            + outputs.21
            + outputs.22
            + outputs.23
            + outputs.24
            + outputs.25
            + outputs.26
            + outputs.27
            + outputs.28
            + outputs.29
            + outputs.30
            + outputs.31
            + outputs.32
            + outputs.33
            + outputs.34
            + outputs.35
            + outputs.36
            + outputs.37
            + outputs.38
            + outputs.39
            + outputs.40
            + outputs.41
            + outputs.42
            + outputs.43
            + outputs.44
            + outputs.45
            + outputs.46
            + outputs.47
            + outputs.48
            + outputs.49
            + outputs.50
            + outputs.51
            + outputs.52
            + outputs.53
            + outputs.54
            + outputs.55
            + outputs.56
            + outputs.57
            + outputs.58
            + outputs.59
            + outputs.60
            + outputs.61
            + outputs.62
            + outputs.63
    });
    assert_eq!(total, (0..64).sum::<u32>());
}

#[test]
fn try_join_returns_every_ok_value_in_order() {
    let result = run(|| async {
        try_join!(
            async {
                yield_now().await;
                Ok::<_, String>("a")
            },
            async { Ok(1) },
            ready(Ok(2.5)),
        )
    });
    assert_eq!(result, Ok(("a", 1, 2.5)));
}

#[test]
fn try_join_short_circuits_on_the_first_err_and_drops_the_rest() {
    run(|| async {
        let flag = DropFlag::new();
        let guard = flag.guard();
        let never = async move {
            let _guard = guard;
            std::future::pending::<Result<u8, &str>>().await
        };
        let fails = async {
            yield_now().await;
            Err::<u8, _>("broken")
        };
        let result = try_join!(never, fails, async { Ok(0u8) });
        assert_eq!(result, Err("broken"));
        assert!(flag.is_set(), "the unfinished future outlived try_join!");
    });
}

#[test]
fn try_join_stops_polling_after_an_err() {
    let result = run(|| async {
        try_join!(
            biased;
            async { Err::<(), _>("first") },
            must_not_be_polled::<Result<(), &str>>("a future after the Err"),
        )
    });
    assert_eq!(result, Err("first"));
}

#[test]
fn try_join_rotates_unless_biased() {
    let (rotated, biased) = run(|| async {
        let log = Rc::new(RefCell::new(Vec::new()));
        let ok = |id| {
            let log = log.clone();
            async move { Ok::<_, ()>(recorded(id, log, 2).await) }
        };
        try_join!(ok(0), ok(1)).unwrap();
        let rotated = log.take();
        try_join!(biased; ok(0), ok(1)).unwrap();
        (rotated, log.take())
    });
    assert_eq!(polls(&rotated, 2), [[0, 1], [1, 0], [0, 1]]);
    assert_eq!(polls(&biased, 2), [[0, 1], [0, 1], [0, 1]]);
}

#[test]
// `_0` and `_1` are the names the macros give their branches: the clash is the point.
#[allow(clippy::just_underscores_and_digits)]
fn join_and_try_join_names_do_not_clash_with_the_caller() {
    let outputs = run(|| async {
        let rotation = 1;
        let cx = 2;
        let all_done = 3;
        let outputs = 4;
        let result = 5;
        let branch = 6;
        let poll = 7;
        let _0 = 8;
        let joined = join!(async { rotation + cx }, async { all_done + outputs + _0 });
        let tried = try_join!(async { Ok::<_, ()>(result) }, async { Ok(branch + poll) });
        (joined, tried)
    });
    assert_eq!(outputs, ((3, 15), Ok((5, 13))));
}

#[test]
fn join_and_try_join_futures_are_send_when_their_branches_are() {
    fn assert_send<T: Send>(_: T) {}
    assert_send(async {
        let _ = join!(async { 1 }, ready(2));
        let _: Result<(u8, u8), ()> = try_join!(async { Ok(1) }, ready(Ok(2)));
    });
}

#[test]
fn the_prelude_brings_the_trait_and_the_macros() {
    use fiber::prelude::*;

    let output = run(|| async {
        let (a, b) = join!(async { 1 }.map(|n| n + 1), ready(3));
        let c = try_join!(ready(Ok::<_, ()>(4))).unwrap().0;
        select! { n = ready(a + b + c) => n }
    });
    assert_eq!(output, 9);
}
