//! The hierarchical timing wheel that stores pending timers.
//!
//! Time is counted in ticks of one millisecond since the driver started. The wheel has
//! [`LEVELS`] levels of [`SLOTS`] slots each: a slot at level 0 covers one tick, a slot at
//! level 1 covers 64 ticks, and so on, so six levels cover 2^36 ms (about two years).
//!
//! A timer due at tick `when` lives at the level of the highest base-64 digit in which `when`
//! differs from the wheel's current tick, in the slot named by that digit of `when`. So the
//! timers of level 0 fall inside the current 64-tick block, those of level 1 inside later
//! 64-tick blocks of the current 4096-tick block, and so on: the first non-empty level always
//! holds the earliest slot. When time reaches the start of a slot above level 0, the slot's
//! timers are re-inserted ("cascaded") relative to the new time and land on a lower level.
//! Timers beyond the wheel's span wait in the top level and are cascaded once per rotation of
//! it, which costs nothing meanwhile.
//!
//! Each slot is a doubly linked list threaded through a slab of nodes by index, so inserting,
//! removing and rescheduling a timer are O(1) and need no `unsafe` code. A freed node goes to
//! a free list and is reused by the next insertion.

use std::fmt;

/// Bits of a tick consumed by one level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// Levels of the wheel.
pub(super) const LEVELS: usize = 6;
/// The end of a list, or of the free list.
const NIL: u32 = u32::MAX;

/// Identifies a timer stored in a [`Wheel`]; valid until the timer is removed or fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key(u32);

impl Key {
    /// The key as a plain number, to store it in an atomic.
    pub(super) fn to_raw(self) -> u32 {
        self.0
    }

    /// The key that [`to_raw`](Key::to_raw) turned into `raw`.
    pub(super) fn from_raw(raw: u32) -> Key {
        Key(raw)
    }
}

/// A timing wheel holding values of type `T`, each due at a tick.
pub(super) struct Wheel<T> {
    /// The tick up to which the wheel has been advanced: every timer due at or before it has
    /// been handed out.
    elapsed: u64,
    levels: [Level; LEVELS],
    nodes: Vec<Node<T>>,
    /// Head of the list of unused nodes, linked through `Node::next`.
    free_head: u32,
    len: usize,
}

struct Level {
    /// Bit `s` is set when slot `s` holds at least one timer.
    occupied: u64,
    heads: [u32; SLOTS],
}

struct Node<T> {
    /// `None` while the node sits on the free list.
    value: Option<T>,
    when: u64,
    prev: u32,
    next: u32,
    /// `level * SLOTS + slot` of the list holding this node.
    list: u16,
}

/// The next slot to process: when it is due and where it is.
struct NextSlot {
    tick: u64,
    level: usize,
    slot: usize,
}

impl<T> Wheel<T> {
    /// Creates an empty wheel whose current tick is 0.
    pub(super) fn new() -> Self {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                heads: [NIL; SLOTS],
            }),
            nodes: Vec::new(),
            free_head: NIL,
            len: 0,
        }
    }

    /// The tick up to which the wheel has been advanced.
    #[cfg(test)]
    pub(super) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// How many timers are stored.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Stores `value` to be handed out at tick `when`. A timer that is already due is not
    /// stored: `Err(value)` gives it back.
    pub(super) fn insert(&mut self, when: u64, value: T) -> Result<Key, T> {
        if when <= self.elapsed {
            return Err(value);
        }
        let node = Node {
            value: Some(value),
            when,
            prev: NIL,
            next: NIL,
            list: 0,
        };
        let index = if self.free_head == NIL {
            let index = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&index| index != NIL)
                .expect("fiber's timer wheel cannot hold more than 4 billion pending timers");
            self.nodes.push(node);
            index
        } else {
            let index = self.free_head;
            self.free_head = self.nodes[index as usize].next;
            self.nodes[index as usize] = node;
            index
        };
        self.link(index);
        self.len += 1;
        Ok(Key(index))
    }

    /// Removes a stored timer and returns its value.
    pub(super) fn remove(&mut self, key: Key) -> T {
        self.unlink(key.0);
        self.free(key.0)
    }

    /// Moves a stored timer to tick `when`. If it is already due, the timer is removed and
    /// `Err` gives its value back.
    pub(super) fn reschedule(&mut self, key: Key, when: u64) -> Result<(), T> {
        self.unlink(key.0);
        if when <= self.elapsed {
            return Err(self.free(key.0));
        }
        self.nodes[key.0 as usize].when = when;
        self.link(key.0);
        Ok(())
    }

    /// The tick at which the wheel next has work to do (a timer to hand out or a slot to
    /// cascade), or `None` when it is empty. Never earlier than a stored timer's own tick
    /// would warrant, never later than the earliest one.
    pub(super) fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|next| next.tick)
    }

    /// Advances the wheel to tick `now`, handing every timer due at or before it to `on_due`,
    /// earliest slot first.
    pub(super) fn advance(&mut self, now: u64, mut on_due: impl FnMut(T)) {
        while let Some(next) = self.next_slot() {
            if next.tick > now {
                break;
            }
            self.elapsed = next.tick;
            let level = &mut self.levels[next.level];
            let mut index = std::mem::replace(&mut level.heads[next.slot], NIL);
            level.occupied &= !(1 << next.slot);
            while index != NIL {
                let node = &self.nodes[index as usize];
                let following = node.next;
                if node.when <= self.elapsed {
                    self.len -= 1;
                    on_due(self.free_unlinked(index));
                } else {
                    self.link(index);
                }
                index = following;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    fn next_slot(&self) -> Option<NextSlot> {
        // The first non-empty level holds the earliest slot (see the module docs).
        let (level, occupied) = self
            .levels
            .iter()
            .enumerate()
            .find(|(_, level)| level.occupied != 0)
            .map(|(index, level)| (index, level.occupied))?;
        let shift = level as u32 * SLOT_BITS;
        let slot_span = 1u64 << shift;
        let level_span = slot_span << SLOT_BITS;
        let current = ((self.elapsed >> shift) as usize) % SLOTS;
        // The first occupied slot strictly after the current one, wrapping around.
        let start = (current + 1) % SLOTS;
        let slot = (start + occupied.rotate_right(start as u32).trailing_zeros() as usize) % SLOTS;
        let level_start = self.elapsed & !(level_span - 1);
        let mut tick = level_start + slot as u64 * slot_span;
        if slot <= current {
            // Only timers beyond the wheel's span, in the top level, wrap: their slot comes
            // round in the next rotation.
            tick += level_span;
        }
        Some(NextSlot { tick, level, slot })
    }

    /// Puts node `index` at the front of the list its `when` belongs to.
    fn link(&mut self, index: u32) {
        let when = self.nodes[index as usize].when;
        let differing = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        let level = ((63 - differing.leading_zeros()) / SLOT_BITS) as usize;
        let level = level.min(LEVELS - 1);
        let slot = ((when >> (level as u32 * SLOT_BITS)) as usize) % SLOTS;
        let old_head = self.levels[level].heads[slot];
        if old_head != NIL {
            self.nodes[old_head as usize].prev = index;
        }
        let node = &mut self.nodes[index as usize];
        node.prev = NIL;
        node.next = old_head;
        node.list = (level * SLOTS + slot) as u16;
        self.levels[level].heads[slot] = index;
        self.levels[level].occupied |= 1 << slot;
    }

    /// Takes node `index` out of its list.
    fn unlink(&mut self, index: u32) {
        let node = &self.nodes[index as usize];
        assert!(
            node.value.is_some(),
            "timer wheel key used after its timer was removed"
        );
        let (prev, next) = (node.prev, node.next);
        let (level, slot) = (node.list as usize / SLOTS, node.list as usize % SLOTS);
        if prev == NIL {
            self.levels[level].heads[slot] = next;
            if next == NIL {
                self.levels[level].occupied &= !(1 << slot);
            }
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
    }

    /// Returns an unlinked node to the free list and hands back its value.
    fn free(&mut self, index: u32) -> T {
        self.len -= 1;
        self.free_unlinked(index)
    }

    fn free_unlinked(&mut self, index: u32) -> T {
        let node = &mut self.nodes[index as usize];
        node.next = self.free_head;
        self.free_head = index;
        node.value
            .take()
            .expect("a linked timer node holds a value")
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len)
            .field("next_expiration", &self.next_expiration())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Advances one tick at a time and records at which tick each value came out.
    fn drain_tick_by_tick(wheel: &mut Wheel<u64>, until: u64) -> Vec<(u64, u64)> {
        let mut fired = Vec::new();
        for now in wheel.elapsed() + 1..=until {
            wheel.advance(now, |value| fired.push((now, value)));
        }
        fired
    }

    #[test]
    fn due_timers_are_refused() {
        let mut wheel = Wheel::new();
        wheel.advance(10, |_: u64| unreachable!());
        assert_eq!(wheel.insert(10, 1), Err(1));
        assert_eq!(wheel.insert(3, 2), Err(2));
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn timers_fire_exactly_at_their_tick_on_every_level() {
        let mut wheel = Wheel::new();
        let whens = [1, 2, 63, 64, 65, 100, 4095, 4096, 4097, 70_000, 300_000];
        for &when in &whens {
            wheel.insert(when, when).unwrap();
        }
        let fired = drain_tick_by_tick(&mut wheel, 300_001);
        let expected: Vec<_> = whens.iter().map(|&when| (when, when)).collect();
        assert_eq!(fired, expected);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn a_big_jump_hands_out_everything_due_in_order() {
        let mut wheel = Wheel::new();
        for when in [5_000_000, 7, 64 * 64 * 64 + 3, 1] {
            wheel.insert(when, when).unwrap();
        }
        let mut fired = Vec::new();
        wheel.advance(6_000_000, |value| fired.push(value));
        assert_eq!(fired, [1, 7, 64 * 64 * 64 + 3, 5_000_000]);
        assert_eq!(wheel.elapsed(), 6_000_000);
    }

    #[test]
    fn next_expiration_is_never_after_the_earliest_timer() {
        let mut wheel = Wheel::new();
        assert_eq!(wheel.next_expiration(), None);
        wheel.insert(5000, 0).unwrap();
        // 5000 lives on level 2; its slot starts at 4096, where it cascades.
        assert_eq!(wheel.next_expiration(), Some(4096));
        wheel.insert(17, 1).unwrap();
        assert_eq!(wheel.next_expiration(), Some(17));
    }

    #[test]
    fn removed_timers_never_fire_and_their_nodes_are_reused() {
        let mut wheel = Wheel::new();
        let a = wheel.insert(10, 1).unwrap();
        let b = wheel.insert(10, 2).unwrap();
        let c = wheel.insert(10, 3).unwrap();
        assert_eq!(wheel.remove(b), 2);
        assert_eq!(wheel.len(), 2);
        let d = wheel.insert(20, 4).unwrap();
        assert_eq!(d, b, "the freed node is reused");
        assert_eq!(wheel.remove(a), 1);
        assert_eq!(wheel.remove(c), 3);
        assert_eq!(wheel.next_expiration(), Some(20));
        let fired = drain_tick_by_tick(&mut wheel, 30);
        assert_eq!(fired, [(20, 4)]);
    }

    #[test]
    fn rescheduling_moves_a_timer_earlier_or_later() {
        let mut wheel = Wheel::new();
        let early = wheel.insert(100_000, 1).unwrap();
        let late = wheel.insert(3, 2).unwrap();
        wheel.reschedule(early, 2).unwrap();
        wheel.reschedule(late, 9000).unwrap();
        let fired = drain_tick_by_tick(&mut wheel, 10_000);
        assert_eq!(fired, [(2, 1), (9000, 2)]);
    }

    #[test]
    fn rescheduling_into_the_past_gives_the_value_back() {
        let mut wheel = Wheel::new();
        let key = wheel.insert(50, 7).unwrap();
        wheel.advance(20, |_| unreachable!());
        assert_eq!(wheel.reschedule(key, 20), Err(7));
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_expiration(), None);
    }

    #[test]
    fn timers_beyond_the_span_wait_without_busy_work() {
        let mut wheel = Wheel::new();
        wheel.insert(u64::MAX, 0).unwrap();
        let first = wheel.next_expiration().unwrap();
        assert!(
            first >= 1 << 30,
            "a far timer must not wake the driver soon: {first}"
        );
        let mut cascades = 0;
        // Follow the far timer through a few top-level rotations.
        for _ in 0..4 {
            let next = wheel.next_expiration().unwrap();
            wheel.advance(next, |_| panic!("a never-due timer fired"));
            cascades += 1;
        }
        assert_eq!(wheel.len(), 1);
        assert!(wheel.elapsed() >= 1 << 36, "{cascades} cascades");
    }

    #[test]
    fn a_timer_past_the_span_fires_at_its_tick() {
        let mut wheel = Wheel::new();
        let when = (1u64 << 36) * 3 + 12_345;
        wheel.insert(when, 1).unwrap();
        let mut fired_at = None;
        while let Some(next) = wheel.next_expiration() {
            wheel.advance(next, |_| fired_at = Some(next));
        }
        assert_eq!(fired_at, Some(when));
    }

    #[test]
    fn random_operations_match_a_simple_model() {
        // A small linear congruential generator keeps the test deterministic and dependency
        // free.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = move |bound: u64| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) % bound
        };
        let mut wheel = Wheel::new();
        let mut model: Vec<(Key, u64, u64)> = Vec::new(); // key, when, value
        let mut now = 0;
        for value in 0..20_000u64 {
            match random(4) {
                0 | 1 => {
                    let range = if random(8) == 0 { 1 << 26 } else { 5000 };
                    let when = now + 1 + random(range);
                    model.push((wheel.insert(when, value).unwrap(), when, value));
                }
                2 if !model.is_empty() => {
                    let (key, _, value) = model.swap_remove(random(model.len() as u64) as usize);
                    assert_eq!(wheel.remove(key), value);
                }
                _ => {
                    now += random(300);
                    let mut fired = Vec::new();
                    wheel.advance(now, |value| fired.push(value));
                    let mut expected: Vec<_> = model
                        .iter()
                        .filter(|(_, when, _)| *when <= now)
                        .map(|&(_, _, value)| value)
                        .collect();
                    model.retain(|(_, when, _)| *when > now);
                    fired.sort_unstable();
                    expected.sort_unstable();
                    assert_eq!(fired, expected, "at tick {now}");
                }
            }
            assert_eq!(wheel.len(), model.len());
            if let (Some(next), Some(earliest)) = (
                wheel.next_expiration(),
                model.iter().map(|(_, when, _)| *when).min(),
            ) {
                assert!(next <= earliest && next > now);
            }
        }
    }
}
