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
//! Each slot is a vector of entries (a timer's tick and its value). Inserting pushes onto
//! the slot's vector; firing a slot walks its vector front to back, so both touch memory in
//! order instead of chasing one node per timer. A timer's [`Key`] says which vector and
//! where; the wheel tells the value its key whenever it moves ([`Timer::set_key`]), which
//! makes removal O(1): the last entry of the vector takes the removed one's place. A slot
//! keeps its vector's capacity when it fires, so a warm wheel allocates nothing; its memory
//! stays at 16 bytes per timer for the most timers each slot has held at once.

use std::fmt;

/// Bits of a tick consumed by one level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// Levels of the wheel.
pub(super) const LEVELS: usize = 6;

/// Where a timer sits in a [`Wheel`]: valid until the timer is removed, fires, or moves
/// (the wheel then hands its value a new key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Key(u64);

impl Key {
    fn new(list: usize, index: usize) -> Key {
        let index = u32::try_from(index)
            .expect("fiber's timer wheel cannot hold more than 4 billion timers in one slot");
        Key((list as u64) << 32 | u64::from(index))
    }

    fn list(self) -> usize {
        (self.0 >> 32) as usize
    }

    fn index(self) -> usize {
        (self.0 & u64::from(u32::MAX)) as usize
    }

    /// The key as a plain number, to store it in an atomic.
    pub(super) fn to_raw(self) -> u64 {
        self.0
    }

    /// The key that [`to_raw`](Key::to_raw) turned into `raw`.
    pub(super) fn from_raw(raw: u64) -> Key {
        Key(raw)
    }
}

/// What a wheel stores: a small handle that remembers where the wheel put it.
pub(super) trait Timer {
    /// The timer now sits at `key`.
    fn set_key(&self, key: Key);

    /// A hint that the timer will be handed out or moved soon: start loading its memory.
    fn prefetch(&self) {}
}

/// How many entries ahead of the one being handed out `advance` prefetches.
const PREFETCH_AHEAD: usize = 4;

/// A timing wheel holding values of type `T`, each due at a tick.
pub(super) struct Wheel<T> {
    /// The tick up to which the wheel has been advanced: every timer due at or before it has
    /// been handed out.
    elapsed: u64,
    levels: [Level<T>; LEVELS],
    len: usize,
}

struct Level<T> {
    /// Bit `s` is set when slot `s` holds at least one timer.
    occupied: u64,
    slots: [Vec<Entry<T>>; SLOTS],
}

struct Entry<T> {
    when: u64,
    value: T,
}

/// The next slot to process: when it is due and where it is.
struct NextSlot {
    tick: u64,
    level: usize,
    slot: usize,
}

impl<T: Timer> Wheel<T> {
    /// Creates an empty wheel whose current tick is 0.
    pub(super) fn new() -> Self {
        Wheel {
            elapsed: 0,
            levels: std::array::from_fn(|_| Level {
                occupied: 0,
                slots: std::array::from_fn(|_| Vec::new()),
            }),
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

    /// Stores `value` to be handed out at tick `when`, telling it its key. A timer that is
    /// already due is not stored: `Err(value)` gives it back.
    pub(super) fn insert(&mut self, when: u64, value: T) -> Result<(), T> {
        if when <= self.elapsed {
            return Err(value);
        }
        self.link(Entry { when, value });
        self.len += 1;
        Ok(())
    }

    /// Removes a stored timer and returns its value.
    pub(super) fn remove(&mut self, key: Key) -> T {
        self.len -= 1;
        self.unlink(key).value
    }

    /// Moves a stored timer to tick `when`. If it is already due, the timer is removed and
    /// `Err` gives its value back.
    pub(super) fn reschedule(&mut self, key: Key, when: u64) -> Result<(), T> {
        let mut entry = self.unlink(key);
        if when <= self.elapsed {
            self.len -= 1;
            return Err(entry.value);
        }
        entry.when = when;
        self.link(entry);
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
            let mut entries = std::mem::take(&mut level.slots[next.slot]);
            level.occupied &= !(1 << next.slot);
            // Handed out from the back, in the order they were added, each a few entries
            // after its prefetch: a wheel with many timers pending rarely has theirs cached.
            entries.reverse();
            for ahead in entries.iter().rev().take(PREFETCH_AHEAD) {
                ahead.value.prefetch();
            }
            while let Some(entry) = entries.pop() {
                if let Some(ahead) = entries.len().checked_sub(PREFETCH_AHEAD) {
                    entries[ahead].value.prefetch();
                }
                if entry.when <= self.elapsed {
                    self.len -= 1;
                    on_due(entry.value);
                } else {
                    // A slot above level 0 reached: its timers move to lower levels (or, past
                    // the wheel's span, back to this very slot).
                    self.link(entry);
                }
            }
            // The slot keeps its vector's capacity for the next time it fills, so a wheel
            // that fires many timers per slot stops allocating once warm.
            let slot = &mut self.levels[next.level].slots[next.slot];
            if slot.is_empty() {
                *slot = entries;
            }
        }
        self.elapsed = self.elapsed.max(now);
    }

    /// Frees the vectors of the empty slots, which keep the capacity of the most timers
    /// they ever held; called after a burst of timers.
    pub(super) fn shrink(&mut self) {
        for level in &mut self.levels {
            for entries in &mut level.slots {
                if entries.is_empty() {
                    *entries = Vec::new();
                }
            }
        }
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

    /// Appends `entry` to the slot its `when` belongs to.
    fn link(&mut self, entry: Entry<T>) {
        let when = entry.when;
        let differing = (self.elapsed ^ when) | (SLOTS as u64 - 1);
        let level = ((63 - differing.leading_zeros()) / SLOT_BITS) as usize;
        let level = level.min(LEVELS - 1);
        let slot = ((when >> (level as u32 * SLOT_BITS)) as usize) % SLOTS;
        let entries = &mut self.levels[level].slots[slot];
        entry
            .value
            .set_key(Key::new(level * SLOTS + slot, entries.len()));
        entries.push(entry);
        self.levels[level].occupied |= 1 << slot;
    }

    /// Takes the entry at `key` out of its slot; the slot's last entry takes its place.
    fn unlink(&mut self, key: Key) -> Entry<T> {
        let (level, slot) = (key.list() / SLOTS, key.list() % SLOTS);
        let entries = &mut self.levels[level].slots[slot];
        assert!(
            key.index() < entries.len(),
            "timer wheel key used after its timer was removed"
        );
        let entry = entries.swap_remove(key.index());
        if let Some(moved) = entries.get(key.index()) {
            moved.value.set_key(key);
        }
        if entries.is_empty() {
            self.levels[level].occupied &= !(1 << slot);
        }
        entry
    }
}

impl<T: Timer> fmt::Debug for Wheel<T> {
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
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;

    /// A test timer: a value, and the key the wheel last gave it.
    #[derive(Debug)]
    struct TestTimer {
        value: u64,
        key: Cell<Option<Key>>,
        /// How many times the wheel said it would soon hand this timer out or move it.
        prefetched: Cell<u32>,
    }

    type Handle = Rc<TestTimer>;

    impl Timer for Handle {
        fn set_key(&self, key: Key) {
            self.key.set(Some(key));
        }

        fn prefetch(&self) {
            self.prefetched.set(self.prefetched.get() + 1);
        }
    }

    /// A timer carrying `value`.
    fn timer(value: u64) -> Handle {
        Rc::new(TestTimer {
            value,
            key: Cell::new(None),
            prefetched: Cell::new(0),
        })
    }

    /// Inserts a new timer carrying `value` at `when`; returns it.
    fn insert(wheel: &mut Wheel<Handle>, when: u64, value: u64) -> Handle {
        let handle = timer(value);
        wheel.insert(when, handle.clone()).expect("not due yet");
        handle
    }

    fn key(handle: &Handle) -> Key {
        handle.key.get().expect("the wheel gave the timer a key")
    }

    /// Advances one tick at a time and records at which tick each value came out.
    fn drain_tick_by_tick(wheel: &mut Wheel<Handle>, until: u64) -> Vec<(u64, u64)> {
        let mut fired = Vec::new();
        for now in wheel.elapsed() + 1..=until {
            wheel.advance(now, |handle| fired.push((now, handle.value)));
        }
        fired
    }

    #[test]
    fn due_timers_are_refused() {
        let mut wheel = Wheel::new();
        wheel.advance(10, |_: Handle| unreachable!());
        let (one, two) = (timer(1), timer(2));
        assert!(matches!(wheel.insert(10, one.clone()), Err(back) if Rc::ptr_eq(&back, &one)));
        assert!(matches!(wheel.insert(3, two.clone()), Err(back) if Rc::ptr_eq(&back, &two)));
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn timers_fire_exactly_at_their_tick_on_every_level() {
        let mut wheel = Wheel::new();
        let whens = [1, 2, 63, 64, 65, 100, 4095, 4096, 4097, 70_000, 300_000];
        for &when in &whens {
            insert(&mut wheel, when, when);
        }
        let fired = drain_tick_by_tick(&mut wheel, 300_001);
        let expected: Vec<_> = whens.iter().map(|&when| (when, when)).collect();
        assert_eq!(fired, expected);
        assert_eq!(wheel.len(), 0);
    }

    #[test]
    fn timers_of_one_tick_come_out_in_the_order_they_went_in_each_prefetched_first() {
        let mut wheel = Wheel::new();
        // More timers per slot than the wheel prefetches ahead, on level 0 (tick 5) and on
        // level 1 (tick 100, moved down to level 0 before it fires).
        let count = 3 * PREFETCH_AHEAD as u64;
        let handles: Vec<Handle> = [5, 100]
            .iter()
            .flat_map(|&when| (0..count).map(move |value| (when, when * 1000 + value)))
            .map(|(when, value)| insert(&mut wheel, when, value))
            .collect();
        let mut fired = Vec::new();
        wheel.advance(200, |handle| {
            assert!(
                handle.prefetched.get() > 0,
                "{} came out unprefetched",
                handle.value
            );
            fired.push(handle.value);
        });
        let expected: Vec<u64> = handles.iter().map(|handle| handle.value).collect();
        assert_eq!(fired, expected);
    }

    #[test]
    fn a_big_jump_hands_out_everything_due_in_order() {
        let mut wheel = Wheel::new();
        for when in [5_000_000, 7, 64 * 64 * 64 + 3, 1] {
            insert(&mut wheel, when, when);
        }
        let mut fired = Vec::new();
        wheel.advance(6_000_000, |handle| fired.push(handle.value));
        assert_eq!(fired, [1, 7, 64 * 64 * 64 + 3, 5_000_000]);
        assert_eq!(wheel.elapsed(), 6_000_000);
    }

    #[test]
    fn next_expiration_is_never_after_the_earliest_timer() {
        let mut wheel = Wheel::new();
        assert_eq!(wheel.next_expiration(), None);
        insert(&mut wheel, 5000, 0);
        // 5000 lives on level 2; its slot starts at 4096, where it cascades.
        assert_eq!(wheel.next_expiration(), Some(4096));
        insert(&mut wheel, 17, 1);
        assert_eq!(wheel.next_expiration(), Some(17));
    }

    #[test]
    fn removed_timers_never_fire_and_moved_timers_keep_valid_keys() {
        let mut wheel = Wheel::new();
        let a = insert(&mut wheel, 10, 1);
        let b = insert(&mut wheel, 10, 2);
        let c = insert(&mut wheel, 10, 3);
        let b_key = key(&b);
        assert_eq!(wheel.remove(b_key).value, 2);
        // The slot's last timer took the removed one's place, and was told so.
        assert_eq!(key(&c), b_key);
        assert_eq!(wheel.len(), 2);
        let d = insert(&mut wheel, 20, 4);
        assert_eq!(wheel.remove(key(&a)).value, 1);
        assert_eq!(wheel.remove(key(&c)).value, 3);
        assert_eq!(wheel.next_expiration(), Some(20));
        let fired = drain_tick_by_tick(&mut wheel, 30);
        assert_eq!(fired, [(20, 4)]);
        assert!(d.key.get().is_some());
    }

    #[test]
    fn rescheduling_moves_a_timer_earlier_or_later() {
        let mut wheel = Wheel::new();
        let early = insert(&mut wheel, 100_000, 1);
        let late = insert(&mut wheel, 3, 2);
        wheel.reschedule(key(&early), 2).unwrap();
        wheel.reschedule(key(&late), 9000).unwrap();
        let fired = drain_tick_by_tick(&mut wheel, 10_000);
        assert_eq!(fired, [(2, 1), (9000, 2)]);
    }

    #[test]
    fn rescheduling_into_the_past_gives_the_value_back() {
        let mut wheel = Wheel::new();
        let handle = insert(&mut wheel, 50, 7);
        wheel.advance(20, |_| unreachable!());
        assert!(matches!(wheel.reschedule(key(&handle), 20), Err(back) if back.value == 7));
        assert_eq!(wheel.len(), 0);
        assert_eq!(wheel.next_expiration(), None);
    }

    #[test]
    fn timers_beyond_the_span_wait_without_busy_work() {
        let mut wheel = Wheel::new();
        insert(&mut wheel, u64::MAX, 0);
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
        insert(&mut wheel, when, 1);
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
        let mut model: Vec<(Handle, u64, u64)> = Vec::new(); // timer, when, value
        let mut now = 0;
        for value in 0..20_000u64 {
            match random(4) {
                0 | 1 => {
                    let range = if random(8) == 0 { 1 << 26 } else { 5000 };
                    let when = now + 1 + random(range);
                    model.push((insert(&mut wheel, when, value), when, value));
                }
                2 if !model.is_empty() => {
                    let (handle, _, value) = model.swap_remove(random(model.len() as u64) as usize);
                    assert_eq!(wheel.remove(key(&handle)).value, value);
                }
                _ => {
                    now += random(300);
                    let mut fired = Vec::new();
                    wheel.advance(now, |handle| fired.push(handle.value));
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
