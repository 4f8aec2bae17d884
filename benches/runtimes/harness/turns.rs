//! The order in which the runtimes take their turns within each round.

/// The orders in which `n` runtimes take their turns, one per round, used in a cycle: `n - 1`
/// permutations whose concatenation, read as a cycle (the last turn of a round is followed
/// by the first of the next), has every runtime directly after every other runtime exactly
/// once. Whatever a turn leaves behind (caches, the allocator's state) then falls on each
/// runtime alike. Turning one fixed order (round `r` starting with runtime `r mod n`) would
/// not do that: each runtime would nearly always follow the same one.
pub(crate) fn turn_orders(n: usize) -> Vec<Vec<usize>> {
    if n < 2 {
        return vec![(0..n).collect()];
    }
    let mut sequence = vec![0];
    let mut followed = vec![vec![false; n]; n];
    assert!(
        extend_turns(n, &mut sequence, &mut followed),
        "no balanced turn order for {n} runtimes"
    );
    sequence.chunks(n).map(<[usize]>::to_vec).collect()
}

/// Depth-first search for [`turn_orders`]: extends `sequence` by one turn at a time, never
/// repeating a runtime within a round nor a pair (`followed[a][b]`: `b` has come right after
/// `a`). Finds an answer at once for the handful of runtimes compared here.
fn extend_turns(n: usize, sequence: &mut Vec<usize>, followed: &mut [Vec<bool>]) -> bool {
    let len = sequence.len();
    let last = sequence[len - 1];
    if len == n * (n - 1) {
        return last != sequence[0] && !followed[last][sequence[0]];
    }
    for next in 0..n {
        if next == last || followed[last][next] || sequence[len / n * n..].contains(&next) {
            continue;
        }
        followed[last][next] = true;
        sequence.push(next);
        if extend_turns(n, sequence, followed) {
            return true;
        }
        sequence.pop();
        followed[last][next] = false;
    }
    false
}

#[cfg(test)]
// Runs with the example's tests (`cargo test --example benchmark`); a `harness = false` bench
// has no test runner.
mod tests {
    #[test]
    fn every_runtime_follows_every_other_once_per_cycle() {
        for n in 1..=7 {
            let orders = super::turn_orders(n);
            let mut follows = vec![vec![0; n]; n];
            for order in &orders {
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "n={n}: {orders:?}");
            }
            let turns: Vec<usize> = orders.concat();
            for (index, &runtime) in turns.iter().enumerate() {
                let next = turns[(index + 1) % turns.len()];
                if turns.len() > 1 {
                    follows[next][runtime] += 1;
                }
            }
            for a in 0..n {
                for b in 0..n {
                    let expected = usize::from(a != b);
                    assert_eq!(
                        follows[a][b], expected,
                        "n={n}: {a} after {b} in {orders:?}"
                    );
                }
            }
        }
    }
}
