// SPDX-License-Identifier: GPL-2.0

//! Host tests of `rkasan::quarantine`: the intrusive lists, the sizing, and random sequences of
//! put / reduce / remove-cache / CPU hotplug against a model written after
//! `mm/kasan/quarantine.c`.

use std::collections::VecDeque;
use std::ptr::NonNull;

use rkasan::quarantine::*;

mod common;
use common::Rng;

const MIB: usize = 1 << 20;

/// Object sizes (`cache->size`) of the test caches.
const CACHE_SIZES: [usize; 8] = [16, 64, 192, 1024, 4096, 16384, 65536, 262_144];

/// A quarantined object: the link first, as in `struct kasan_free_meta` at offset 0.
#[repr(C)]
struct Obj {
    link: QNode,
    id: usize,
    cache: usize,
}

/// A test-owned arena of objects, accessed only through raw pointers while nodes are linked.
struct Arena {
    base: *mut Obj,
    len: usize,
}

impl Arena {
    fn new(len: usize) -> Self {
        let objs: Vec<Obj> = (0..len)
            .map(|id| Obj {
                link: QNode::new(),
                id,
                cache: 0,
            })
            .collect();
        let base = Box::into_raw(objs.into_boxed_slice()).cast::<Obj>();
        Self { base, len }
    }

    fn obj(&self, id: usize) -> *mut Obj {
        assert!(id < self.len);
        // SAFETY: `id` is in bounds of the arena allocation.
        unsafe { self.base.add(id) }
    }

    fn node(&self, id: usize) -> NonNull<QNode> {
        // SAFETY: `obj(id)` is in bounds; `link` is a field of it, so the pointer is non-null.
        unsafe { NonNull::new_unchecked(&raw mut (*self.obj(id)).link) }
    }

    fn set_cache(&self, id: usize, cache: usize) {
        // SAFETY: In bounds; the `cache` field is never accessed by the lists.
        unsafe { (*self.obj(id)).cache = cache };
    }

    fn cache(&self, id: usize) -> usize {
        // SAFETY: As above.
        unsafe { (*self.obj(id)).cache }
    }

    /// `qlink_to_object()` and the id stored in the object.
    fn id_of(&self, node: NonNull<QNode>) -> usize {
        let obj = node.as_ptr().cast::<Obj>();
        let offset = obj.addr().wrapping_sub(self.base.addr()) / std::mem::size_of::<Obj>();
        assert!(offset < self.len);
        // SAFETY: The link is the first field of a `repr(C)` `Obj` in the arena.
        let id = unsafe { (*obj).id };
        assert_eq!(id, offset);
        id
    }

    /// `qlink_to_cache()` and `cache->size`.
    fn qlink_to_cache(&self, node: NonNull<QNode>) -> (usize, usize) {
        let c = self.cache(self.id_of(node));
        (c, CACHE_SIZES[c])
    }

    fn ids(&self, list: &QList) -> Vec<usize> {
        let ids: Vec<usize> = list.iter().map(|n| self.id_of(n)).collect();
        assert_eq!(ids.len(), list.len());
        assert_eq!(list.is_empty(), ids.is_empty());
        ids
    }

    fn drain_ids(&self, list: &mut QList) -> Vec<usize> {
        let len = list.len();
        let it = list.drain();
        assert_eq!(it.size_hint(), (len, Some(len)));
        let ids: Vec<usize> = it.map(|n| self.id_of(n)).collect();
        assert!(list.is_empty());
        assert_eq!(list.bytes(), 0);
        assert_eq!(ids.len(), len);
        ids
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` come from `Box::into_raw` of a boxed slice of that length.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(self.base, self.len)) });
    }
}

fn bytes_of(arena: &Arena, ids: &[usize]) -> usize {
    ids.iter().map(|&id| CACHE_SIZES[arena.cache(id)]).sum()
}

#[test]
fn constants_and_batches() {
    assert_eq!(QUARANTINE_PERCPU_SIZE, 1 << 20);
    assert_eq!(QUARANTINE_FRACTION, 32);
    assert_eq!(quarantine_batches(1), 1024);
    assert_eq!(quarantine_batches(256), 1024);
    assert_eq!(quarantine_batches(257), 1028);
    assert_eq!(quarantine_batches(8192), 32768);
    assert_eq!(quarantine_batches(usize::MAX), usize::MAX);
    assert_eq!(Quarantine::<1024>::BATCHES, 1024);
}

#[test]
fn qlist_basics() {
    let arena = Arena::new(16);
    let mut a = QList::new();
    assert!(a.is_empty());
    assert_eq!((a.len(), a.bytes()), (0, 0));
    for (id, &size) in CACHE_SIZES.iter().enumerate().take(5) {
        arena.set_cache(id, id);
        // SAFETY: Arena nodes are valid, in no list, and stay put.
        unsafe { a.put(arena.node(id), size) };
    }
    assert_eq!(arena.ids(&a), [0, 1, 2, 3, 4]);
    assert_eq!(a.bytes(), 16 + 64 + 192 + 1024 + 4096);

    // move_all into an empty list, from an empty list, and between non-empty lists.
    let mut b = QList::new();
    QList::move_all(&mut a, &mut b);
    assert!(a.is_empty());
    assert_eq!(arena.ids(&b), [0, 1, 2, 3, 4]);
    QList::move_all(&mut a, &mut b);
    assert_eq!(arena.ids(&b), [0, 1, 2, 3, 4]);
    for id in 5..8 {
        arena.set_cache(id, 1);
        // SAFETY: As above.
        unsafe { a.put(arena.node(id), 64) };
    }
    QList::move_all(&mut b, &mut a);
    assert_eq!(arena.ids(&a), [5, 6, 7, 0, 1, 2, 3, 4]);
    assert_eq!(a.bytes(), 3 * 64 + 16 + 64 + 192 + 1024 + 4096);
    assert_eq!(a.len(), 8);

    // move_cache keeps the order of both parts and recounts the bytes.
    let mut to = QList::new();
    QList::move_cache(&mut a, &mut to, &1usize, |n| arena.qlink_to_cache(n));
    assert_eq!(arena.ids(&to), [5, 6, 7, 1]);
    assert_eq!(to.bytes(), 4 * 64);
    assert_eq!(arena.ids(&a), [0, 2, 3, 4]);
    assert_eq!(a.bytes(), 16 + 192 + 1024 + 4096);
    // Nothing matches: unchanged.
    QList::move_cache(&mut a, &mut to, &7usize, |n| arena.qlink_to_cache(n));
    assert_eq!(arena.ids(&a), [0, 2, 3, 4]);
    // Everything matches.
    let mut all = a.take();
    assert!(a.is_empty());
    for id in arena.ids(&all) {
        arena.set_cache(id, 2);
    }
    QList::move_cache(&mut all, &mut a, &2usize, |n| arena.qlink_to_cache(n));
    assert!(all.is_empty());
    assert_eq!(arena.ids(&a), [0, 2, 3, 4]);
    assert_eq!(a.bytes(), 4 * 192);

    // Drain yields FIFO order; the nodes can be reused at once.
    let mut c = QList::new();
    for n in a.drain() {
        // SAFETY: The node was just taken out of `a`; it is valid and in no list.
        unsafe { c.put(n, 1) };
    }
    assert_eq!(arena.ids(&c), [0, 2, 3, 4]);
    assert_eq!(c.bytes(), 4);
    assert_eq!(arena.drain_ids(&mut to), [5, 6, 7, 1]);
    let ids: Vec<usize> = c.into_iter().map(|n| arena.id_of(n)).collect();
    assert_eq!(ids, [0, 2, 3, 4]);
}

#[test]
fn qlist_random_ops_against_vecdeque() {
    const LISTS: usize = 4;
    let arena = Arena::new(512);
    let mut rng = Rng(1);
    let mut lists: Vec<QList> = (0..LISTS).map(|_| QList::new()).collect();
    let mut model: Vec<VecDeque<usize>> = vec![VecDeque::new(); LISTS];
    let mut free: Vec<usize> = (0..arena.len).collect();
    for step in 0..20_000 {
        let i = rng.below(LISTS);
        let j = rng.below(LISTS);
        match rng.below(10) {
            0..=4 => {
                if free.is_empty() {
                    continue;
                }
                let id = free.swap_remove(rng.below(free.len()));
                arena.set_cache(id, rng.below(CACHE_SIZES.len()));
                // SAFETY: A free arena node is valid and in no list.
                unsafe { lists[i].put(arena.node(id), CACHE_SIZES[arena.cache(id)]) };
                model[i].push_back(id);
            }
            5 if i != j => {
                let (a, b) = two_mut(&mut lists, i, j);
                QList::move_all(a, b);
                let moved: Vec<usize> = model[i].drain(..).collect();
                model[j].extend(moved);
            }
            6 | 7 if i != j => {
                let cache = rng.below(CACHE_SIZES.len());
                let (a, b) = two_mut(&mut lists, i, j);
                QList::move_cache(a, b, &cache, |n| arena.qlink_to_cache(n));
                let (moved, kept): (Vec<usize>, Vec<usize>) =
                    model[i].drain(..).partition(|&id| arena.cache(id) == cache);
                model[i] = kept.into();
                model[j].extend(moved);
            }
            8 => {
                let ids = arena.drain_ids(&mut lists[i]);
                assert_eq!(ids, Vec::from(std::mem::take(&mut model[i])));
                free.extend(ids);
            }
            _ => {}
        }
        if step % 16 == 0 {
            for k in 0..LISTS {
                let ids = arena.ids(&lists[k]);
                assert_eq!(ids, Vec::from(model[k].clone()));
                assert_eq!(lists[k].bytes(), bytes_of(&arena, &ids));
            }
        }
    }
    for k in 0..LISTS {
        let ids = arena.drain_ids(&mut lists[k]);
        assert_eq!(ids, Vec::from(std::mem::take(&mut model[k])));
        free.extend(ids);
    }
    free.sort_unstable();
    assert_eq!(free, (0..arena.len).collect::<Vec<_>>());
}

fn two_mut<T>(v: &mut [T], i: usize, j: usize) -> (&mut T, &mut T) {
    assert_ne!(i, j);
    if i < j {
        let (a, b) = v.split_at_mut(j);
        (&mut a[i], &mut b[0])
    } else {
        let (a, b) = v.split_at_mut(i);
        (&mut b[0], &mut a[j])
    }
}

#[test]
fn limits_follow_kasan_quarantine_reduce() {
    const GIB: usize = 1 << 30;
    let d = QuarantineSize::Default;
    // 8 GiB, 8 CPUs, 1024 batches: total 256 MiB, max 248 MiB, batch max(1 MiB, 0.5 MiB).
    assert_eq!(
        quarantine_limits(8 * GIB, 8, 1024, d),
        QuarantineLimits {
            max_size: 248 * MIB,
            batch_size: MIB
        }
    );
    // 64 GiB: total 2 GiB, batch 2 * 2 GiB / 1024 = 4 MiB.
    assert_eq!(
        quarantine_limits(64 * GIB, 4, 1024, d),
        QuarantineLimits {
            max_size: 2 * GIB - 4 * MIB,
            batch_size: 4 * MIB
        }
    );
    // Per-CPU queues use up the budget: max 0.
    assert_eq!(quarantine_limits(64 * MIB, 4, 1024, d).max_size, 0);
    assert_eq!(quarantine_limits(128 * MIB, 4, 1024, d).max_size, 0);
    assert_eq!(quarantine_limits(160 * MIB, 4, 1024, d).max_size, MIB);
    assert_eq!(quarantine_limits(0, 0, 1024, d).max_size, 0);
    assert_eq!(quarantine_limits(0, 0, 1024, d).batch_size, MIB);
    // `QUARANTINE_PERCPU_SIZE * num_online_cpus()` is an unsigned int product: 4096 CPUs wrap
    // it to 0, as upstream.
    assert_eq!(
        quarantine_limits(GIB << 8, 4096, 16384, d).max_size,
        8 * GIB
    );
    assert_eq!(
        quarantine_limits(GIB << 8, 4097, 16384, d).max_size,
        8 * GIB - MIB
    );
    // Overrides replace totalram / 32.
    assert_eq!(
        quarantine_limits(8 * GIB, 8, 1024, QuarantineSize::Bytes(64 * MIB)),
        QuarantineLimits {
            max_size: 56 * MIB,
            batch_size: MIB
        }
    );
    assert_eq!(
        quarantine_limits(8 * GIB, 8, 1024, QuarantineSize::Percent(25)),
        QuarantineLimits {
            max_size: 2 * GIB - 8 * MIB,
            batch_size: 4 * MIB
        }
    );
    assert_eq!(
        quarantine_limits(8 * GIB, 8, 1024, QuarantineSize::Bytes(0)).max_size,
        0
    );
    assert_eq!(QuarantineSize::Percent(0).total_size(usize::MAX), 0);
    assert_eq!(
        QuarantineSize::Percent(100).total_size(usize::MAX),
        usize::MAX
    );
    assert_eq!(QuarantineSize::Percent(200).total_size(1000), 1000);
    assert_eq!(
        QuarantineSize::Percent(50).total_size(usize::MAX),
        usize::MAX / 2
    );
    assert_eq!(QuarantineSize::Percent(33).total_size(999), 329);
    assert_eq!(QuarantineSize::Default.total_size(32 * MIB), MIB);
    // Exactness of the percentage against 128-bit arithmetic.
    let mut rng = Rng(11);
    for _ in 0..10_000 {
        let ram = rng.next() as usize;
        let p = rng.below(101) as u8;
        let exact = (ram as u128 * u128::from(p) / 100) as usize;
        assert_eq!(QuarantineSize::Percent(p).total_size(ram), exact);
    }
    // Huge overrides do not overflow.
    let l = quarantine_limits(GIB, 1, 1024, QuarantineSize::Bytes(usize::MAX));
    assert_eq!(l.max_size, usize::MAX - MIB);
    assert_eq!(totalram_bytes(1 << 21, 12), 8 * GIB);
    assert_eq!(totalram_bytes(usize::MAX, 12), usize::MAX << 12);
}

/// The kernel keeps queues and lists in zero-initialised per-CPU storage: zero is `new()`.
#[test]
fn zeroed_is_new() {
    // SAFETY: Documented: all-zero bytes are a valid `QList` and `CpuQuarantine`.
    let (mut l, mut c): (QList, CpuQuarantine) = unsafe { std::mem::zeroed() };
    assert!(l.is_empty());
    assert_eq!((l.len(), l.bytes()), (0, 0));
    assert!(!c.is_offline() && c.list().is_empty());
    assert_eq!(c.puts(), 0);
    let arena = Arena::new(2);
    // SAFETY: Arena nodes are valid, in no list, and stay put.
    let outcome = unsafe { c.put(arena.node(0), 64) };
    assert!(matches!(outcome, PutOutcome::Queued));
    assert_eq!((c.puts(), c.list().len(), c.list().bytes()), (1, 1, 64));
    // SAFETY: As above; node 1 is in no list.
    unsafe { l.put(arena.node(1), 8) };
    assert_eq!((l.len(), l.bytes()), (1, 8));
    assert_eq!(c.set_offline().len(), 1);
    assert_eq!(l.drain().count(), 1);
}

#[test]
fn fresh_quarantine_state() {
    let mut q = Quarantine::<4>::new();
    assert_eq!((q.size(), q.max_size(), q.batch_size()), (0, 0, 0));
    assert!(!q.needs_reduce());
    let mut l = q.get_mut();
    assert_eq!((l.head(), l.tail()), (0, 0));
    assert!(l.batch(3).is_some_and(|b| b.is_empty()));
    assert!(l.batch(4).is_none());
    assert_eq!(
        l.stats(),
        QuarantineStats {
            batches: 4,
            ..Default::default()
        }
    );
    // Reducing an empty quarantine only stores the limits.
    let limits = QuarantineLimits {
        max_size: 10,
        batch_size: 20,
    };
    assert!(l.reduce(limits).is_empty());
    assert_eq!((l.head(), l.tail()), (0, 0));
    assert_eq!((q.max_size(), q.batch_size()), (10, 20));
}

/// The outcome of a put in the model.
#[derive(Debug, PartialEq)]
enum ModelPut {
    Offline,
    Queued,
    Spilled,
}

/// `mm/kasan/quarantine.c`, transcribed with `VecDeque`s.
struct Model {
    n: usize,
    cpus: Vec<(VecDeque<usize>, usize, bool)>,
    ring: Vec<(VecDeque<usize>, usize)>,
    head: usize,
    tail: usize,
    size: usize,
    max_size: usize,
    batch_size: usize,
}

impl Model {
    fn new(n: usize, ncpus: usize) -> Self {
        Self {
            n,
            cpus: vec![(VecDeque::new(), 0, false); ncpus],
            ring: vec![(VecDeque::new(), 0); n],
            head: 0,
            tail: 0,
            size: 0,
            max_size: 0,
            batch_size: 0,
        }
    }

    fn put(&mut self, cpu: usize, id: usize, size: usize) -> ModelPut {
        let q = &mut self.cpus[cpu];
        if q.2 {
            return ModelPut::Offline;
        }
        q.0.push_back(id);
        q.1 += size;
        if q.1 <= MIB {
            return ModelPut::Queued;
        }
        let temp: Vec<usize> = q.0.drain(..).collect();
        let temp_bytes = std::mem::take(&mut q.1);
        self.size += temp_bytes;
        let batch = &mut self.ring[self.tail];
        batch.0.extend(temp);
        batch.1 += temp_bytes;
        if batch.1 >= self.batch_size {
            let new_tail = (self.tail + 1) % self.n;
            if new_tail != self.head {
                self.tail = new_tail;
            }
        }
        ModelPut::Spilled
    }

    fn reduce(&mut self, totalram: usize, online: usize) -> Vec<usize> {
        if self.size <= self.max_size {
            return Vec::new();
        }
        let total = totalram / 32;
        let percpu = ((1u64 << 20) * online as u64) as u32 as usize;
        self.max_size = total.saturating_sub(percpu);
        self.batch_size = std::cmp::max(MIB, 2 * total / self.n);
        if self.size <= self.max_size {
            return Vec::new();
        }
        let batch = std::mem::take(&mut self.ring[self.head]);
        self.size -= batch.1;
        self.head = (self.head + 1) % self.n;
        batch.0.into()
    }

    fn remove_cache(&mut self, arena: &Arena, cache: usize) -> Vec<usize> {
        let matches = |id: &usize| arena.cache(*id) == cache;
        let mut shrink: Vec<Vec<usize>> = vec![Vec::new(); self.cpus.len()];
        for (cpu, q) in self.cpus.iter_mut().enumerate() {
            if q.2 {
                continue;
            }
            let (moved, kept): (Vec<usize>, Vec<usize>) = q.0.drain(..).partition(matches);
            q.1 = kept.iter().map(|&id| CACHE_SIZES[arena.cache(id)]).sum();
            q.0 = kept.into();
            shrink[cpu] = moved;
        }
        let mut freed: Vec<usize> = shrink.concat();
        for batch in self.ring.iter_mut() {
            let (moved, kept): (Vec<usize>, Vec<usize>) = batch.0.drain(..).partition(matches);
            batch.1 = kept.iter().map(|&id| CACHE_SIZES[arena.cache(id)]).sum();
            batch.0 = kept.into();
            freed.extend(moved);
        }
        // `quarantine_size` is left alone.
        freed
    }

    fn offline(&mut self, cpu: usize) -> Vec<usize> {
        let q = &mut self.cpus[cpu];
        q.2 = true;
        q.1 = 0;
        q.0.drain(..).collect()
    }

    fn held_bytes(&self) -> usize {
        self.ring.iter().map(|b| b.1).sum()
    }
}

/// The kernel glue around `rkasan::quarantine`, single-threaded.
struct Glue<const N: usize> {
    q: Box<Quarantine<N>>,
    cpus: Vec<CpuQuarantine>,
    shrink: Vec<QList>,
}

impl<const N: usize> Glue<N> {
    fn new(ncpus: usize) -> Self {
        Self {
            q: Box::new(Quarantine::new()),
            cpus: (0..ncpus).map(|_| CpuQuarantine::new()).collect(),
            shrink: (0..ncpus).map(|_| QList::new()).collect(),
        }
    }

    /// `kasan_quarantine_put()`.
    fn put(&mut self, arena: &Arena, cpu: usize, id: usize) -> ModelPut {
        let size = CACHE_SIZES[arena.cache(id)];
        // SAFETY: The caller passes a free arena object, valid and in no list.
        match unsafe { self.cpus[cpu].put(arena.node(id), size) } {
            PutOutcome::Offline => ModelPut::Offline,
            PutOutcome::Queued => ModelPut::Queued,
            PutOutcome::Spill(temp) => {
                // SAFETY: Single-threaded: no other `QuarantineLocked` exists.
                let mut locked = unsafe { self.q.assume_locked() };
                locked.put_batch(temp);
                ModelPut::Spilled
            }
        }
    }

    /// `kasan_quarantine_reduce()`, returning the freed objects.
    fn reduce(&mut self, arena: &Arena, totalram: usize) -> Vec<usize> {
        if !self.q.needs_reduce() {
            return Vec::new();
        }
        let online = self.cpus.iter().filter(|c| !c.is_offline()).count() as u32;
        let limits = quarantine_limits(totalram, online, N, QuarantineSize::Default);
        let mut to_free = self.q.get_mut().reduce(limits);
        arena.drain_ids(&mut to_free)
    }

    /// `kasan_quarantine_remove_cache()`, returning the freed objects.
    fn remove_cache(&mut self, arena: &Arena, cache: usize) -> Vec<usize> {
        let f = |n| arena.qlink_to_cache(n);
        for (cpu, sq) in self.cpus.iter_mut().zip(self.shrink.iter_mut()) {
            cpu.remove_cache(sq, &cache, f);
        }
        let mut to_free = QList::new();
        for sq in self.shrink.iter_mut() {
            QList::move_cache(sq, &mut to_free, &cache, f);
        }
        let mut freed = arena.drain_ids(&mut to_free);
        let mut locked = self.q.get_mut();
        for i in 0..N {
            let before = to_free.len();
            let scanned = locked.remove_cache_batch(i, &mut to_free, &cache, f);
            if !scanned {
                assert_eq!(to_free.len(), before);
            }
        }
        assert!(!locked.remove_cache_batch(N, &mut to_free, &cache, f));
        locked.count_cache_removal();
        freed.extend(arena.drain_ids(&mut to_free));
        freed
    }

    fn check_against(&mut self, arena: &Arena, m: &Model) {
        for (cpu, mc) in self.cpus.iter().zip(m.cpus.iter()) {
            assert_eq!(arena.ids(cpu.list()), Vec::from(mc.0.clone()));
            assert_eq!(cpu.list().bytes(), mc.1);
            assert_eq!(cpu.is_offline(), mc.2);
        }
        let l = self.q.get_mut();
        assert_eq!((l.head(), l.tail()), (m.head, m.tail));
        for i in 0..N {
            let b = l.batch(i).unwrap();
            assert_eq!(arena.ids(b), Vec::from(m.ring[i].0.clone()), "batch {i}");
            assert_eq!(b.bytes(), m.ring[i].1);
        }
        let s = l.stats();
        assert_eq!(s.held_bytes, m.held_bytes());
        assert_eq!(s.size, m.size);
        assert_eq!(s.max_size, m.max_size);
        assert_eq!(s.batch_size, m.batch_size);
        assert_eq!(
            s.batches_in_use,
            m.ring.iter().filter(|b| !b.0.is_empty()).count()
        );
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Loc {
    Free,
    Held,
}

/// Random operations on a quarantine of `N` batches and its model.
fn run_random<const N: usize>(seed: u64, ops: usize, ncpus: usize, rams: &[usize]) {
    let arena = Arena::new(6000);
    let mut rng = Rng(seed);
    let mut glue = Glue::<N>::new(ncpus);
    let mut model = Model::new(N, ncpus);
    let mut loc = vec![Loc::Free; arena.len];
    let mut free: Vec<usize> = (0..arena.len).collect();
    let mut removed_bytes_drift = 0usize;
    let (mut puts, mut evicted, mut removed, mut offline_freed) = (0usize, 0, 0, 0);
    let mut ring_full_seen = false;

    let release = |ids: &[usize], loc: &mut Vec<Loc>, free: &mut Vec<usize>| {
        for &id in ids {
            assert_eq!(loc[id], Loc::Held, "object {id} freed twice or never put");
            loc[id] = Loc::Free;
            free.push(id);
        }
    };

    for step in 0..ops {
        let ram = rams[rng.below(rams.len())];
        let mut op = rng.below(1000);
        // Every fourth phase has no reductions, as with a burst of frees: the ring fills up.
        if (step / 1000) % 4 == 3 && (760..950).contains(&op) {
            op = 0;
        }
        if op < 760 && !free.is_empty() {
            let cpu = rng.below(ncpus);
            let id = free.swap_remove(rng.below(free.len()));
            // Mostly small objects, some big ones.
            let cache = if rng.below(4) == 0 {
                rng.below(CACHE_SIZES.len())
            } else {
                rng.below(6)
            };
            arena.set_cache(id, cache);
            let got = glue.put(&arena, cpu, id);
            let expected = model.put(cpu, id, CACHE_SIZES[cache]);
            assert_eq!(got, expected);
            if got == ModelPut::Offline {
                free.push(id);
            } else {
                loc[id] = Loc::Held;
                puts += 1;
            }
            // The per-CPU bound: a queue above 1 MiB is always spilled.
            assert!(glue.cpus[cpu].list().bytes() <= QUARANTINE_PERCPU_SIZE);
        } else if op < 920 {
            // Like an allocation: one reduction.
            let got = glue.reduce(&arena, ram);
            let expected = model.reduce(ram, model.cpus.iter().filter(|c| !c.2).count());
            assert_eq!(got, expected);
            evicted += got.len();
            release(&got, &mut loc, &mut free);
        } else if op < 940 {
            // Reduce until the quarantine is within its bound (or empty).
            for _ in 0..=N {
                let got = glue.reduce(&arena, ram);
                let expected = model.reduce(ram, model.cpus.iter().filter(|c| !c.2).count());
                assert_eq!(got, expected);
                evicted += got.len();
                release(&got, &mut loc, &mut free);
            }
            let s = glue.q.get_mut().stats();
            assert!(
                glue.q.size() <= glue.q.max_size() || s.held_bytes == 0,
                "size {} max {} held {}",
                glue.q.size(),
                glue.q.max_size(),
                s.held_bytes
            );
        } else if op < 950 {
            let cache = rng.below(CACHE_SIZES.len());
            let ring_before = model.held_bytes();
            let got = glue.remove_cache(&arena, cache);
            let expected = model.remove_cache(&arena, cache);
            assert_eq!(got, expected);
            removed_bytes_drift += ring_before - model.held_bytes();
            for &id in &got {
                assert_eq!(arena.cache(id), cache);
            }
            removed += got.len();
            release(&got, &mut loc, &mut free);
        } else if op < 952 {
            let cpu = rng.below(ncpus);
            let mut list = glue.cpus[cpu].set_offline();
            let got = arena.drain_ids(&mut list);
            assert_eq!(got, model.offline(cpu));
            offline_freed += got.len();
            release(&got, &mut loc, &mut free);
        } else {
            let cpu = rng.below(ncpus);
            glue.cpus[cpu].set_online();
            model.cpus[cpu].2 = false;
        }

        // Cheap invariants every step.
        assert_eq!(glue.q.size(), model.size);
        assert_eq!(glue.q.size(), model.held_bytes() + removed_bytes_drift);
        if step % 64 == 0 || step + 1 == ops {
            glue.check_against(&arena, &model);
            let s = glue.q.get_mut().stats();
            ring_full_seen |= s.ring_full > 0;
            assert_eq!(s.evicted_objects, evicted);
            let held_objects = loc.iter().filter(|&&l| l == Loc::Held).count();
            let percpu_objects: usize = glue.cpus.iter().map(|c| c.list().len()).sum();
            assert_eq!(held_objects, s.held_objects + percpu_objects);
        }
    }

    // Account for every object: what is still held comes out exactly once.
    let mut rest = Vec::new();
    for cpu in glue.cpus.iter_mut() {
        let mut l = cpu.set_offline();
        rest.extend(arena.drain_ids(&mut l));
    }
    let mut l = glue.q.get_mut().drain_all();
    rest.extend(arena.drain_ids(&mut l));
    release(&rest, &mut loc, &mut free);
    assert!(loc.iter().all(|&l| l == Loc::Free));
    let total_puts: usize = glue.cpus.iter().map(|c| c.puts()).sum();
    assert_eq!(total_puts, puts);
    assert_eq!(puts, evicted + removed + offline_freed + rest.len());
    let s = glue.q.get_mut().stats();
    assert_eq!(s.held_bytes, 0);
    assert_eq!(s.size, 0);
    assert!(s.cache_removals > 0);
    assert!(
        evicted > 0 && removed > 0 && offline_freed > 0,
        "{evicted} {removed} {offline_freed}"
    );
    if N <= 4 {
        assert!(ring_full_seen, "the full-ring path was not exercised");
    }
}

const RAMS: [usize; 4] = [64 * MIB, 256 * MIB, 512 * MIB, 1 << 30];

#[test]
fn random_ops_small_ring() {
    for seed in 0..3 {
        let small = [64 * MIB, 128 * MIB, 256 * MIB];
        run_random::<2>(seed, 10_000, 2, &small);
        run_random::<4>(100 + seed, 10_000, 3, &small);
    }
}

#[test]
fn random_ops_medium_ring() {
    for seed in 0..3 {
        run_random::<16>(200 + seed, 15_000, 4, &RAMS);
        run_random::<64>(300 + seed, 15_000, 4, &[256 * MIB, 1 << 30]);
    }
}

#[test]
fn random_ops_kernel_ring() {
    run_random::<1024>(400, 20_000, 4, &RAMS);
}

/// Puts and single reductions alternating, as frees and allocations do: with nothing removed,
/// the ring never exceeds its bound by more than one spilled batch.
#[test]
fn alternating_put_reduce_stays_bounded() {
    const N: usize = 1024;
    let arena = Arena::new(4096);
    let mut glue = Glue::<N>::new(2);
    let mut rng = Rng(5);
    let mut free: Vec<usize> = (0..arena.len).collect();
    let ram = 256 * MIB; // total 8 MiB, max 6 MiB, batch 1 MiB.
    let max_obj = CACHE_SIZES[5];
    let mut spills = 0;
    for _ in 0..30_000 {
        let id = free.swap_remove(rng.below(free.len()));
        arena.set_cache(id, rng.below(6));
        if glue.put(&arena, rng.below(2), id) == ModelPut::Spilled {
            spills += 1;
        }
        free.extend(glue.reduce(&arena, ram));
        let limits = quarantine_limits(ram, 2, N, QuarantineSize::Default);
        assert!(glue.q.max_size() == 0 || glue.q.max_size() == limits.max_size);
        assert!(
            glue.q.size() <= limits.max_size + QUARANTINE_PERCPU_SIZE + max_obj,
            "{} > {}",
            glue.q.size(),
            limits.max_size
        );
        // Everything held is in the ring or a per-CPU queue.
        let s = glue.q.get_mut().stats();
        let percpu: usize = glue.cpus.iter().map(|c| c.list().len()).sum();
        assert_eq!(s.held_objects + percpu + free.len(), arena.len);
    }
    assert!(spills > 100);
    let s = glue.q.get_mut().stats();
    assert!(s.evicted_batches > 0);
    assert!(s.held_bytes > 4 * MIB, "{s:?}");
    let mut rest = glue.q.get_mut().drain_all();
    arena.drain_ids(&mut rest);
    for c in glue.cpus.iter_mut() {
        let mut l = c.set_offline();
        arena.drain_ids(&mut l);
    }
}

/// Upstream quirks kept on purpose.
#[test]
fn upstream_quirks() {
    let arena = Arena::new(64);
    let mut glue = Glue::<4>::new(1);

    // Before the first reduction the batch size is 0: every spill closes the tail batch.
    for id in 0..3 {
        arena.set_cache(id, 7); // 256 KiB
    }
    arena.set_cache(3, 7);
    arena.set_cache(4, 7);
    let outcomes: Vec<ModelPut> = (0..5).map(|id| glue.put(&arena, 0, id)).collect();
    assert_eq!(outcomes[4], ModelPut::Spilled);
    {
        let l = glue.q.get_mut();
        assert_eq!((l.head(), l.tail()), (0, 1));
        assert_eq!(l.batch(0).unwrap().len(), 5);
    }
    assert_eq!(glue.q.size(), 5 * 262_144);

    // Cache removal does not decrease quarantine_size.
    let freed = glue.remove_cache(&arena, 7);
    assert_eq!(freed, [0, 1, 2, 3, 4]);
    assert_eq!(glue.q.size(), 5 * 262_144);
    let s = glue.q.get_mut().stats();
    assert_eq!(
        (s.held_bytes, s.removed_objects, s.cache_removals),
        (0, 5, 1)
    );

    // With max 0 every reduction evicts a batch, even an empty one, and the head moves on,
    // passing the tail.
    for expected_head in [1, 2, 3, 0, 1] {
        assert!(glue.q.needs_reduce());
        assert!(glue.reduce(&arena, 0).is_empty());
        assert_eq!(glue.q.get_mut().head(), expected_head);
    }
    assert_eq!(glue.q.get_mut().tail(), 1);
    assert_eq!(glue.q.size(), 5 * 262_144);
    assert_eq!(glue.q.get_mut().stats().evicted_batches, 5);

    // An offline CPU refuses objects; back online it accepts them again.
    let mut l = glue.cpus[0].set_offline();
    assert!(l.drain().next().is_none());
    assert_eq!(glue.put(&arena, 0, 10), ModelPut::Offline);
    glue.cpus[0].set_online();
    assert_eq!(glue.put(&arena, 0, 10), ModelPut::Queued);
    let mut l = glue.cpus[0].set_offline();
    assert_eq!(arena.drain_ids(&mut l), [10]);
}
