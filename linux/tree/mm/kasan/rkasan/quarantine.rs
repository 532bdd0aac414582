// SPDX-License-Identifier: GPL-2.0

//! The quarantine of generic KASAN: freed slab objects are held back in FIFO order before they
//! are really freed, so that use-after-free accesses hit poisoned memory for longer.
//!
//! This is the logic of `mm/kasan/quarantine.c` without its locking and without the slab
//! allocator: the kernel glue provides the per-CPU queues ([`CpuQuarantine`], used with
//! interrupts disabled), the raw spinlock `quarantine_lock` around the global ring
//! ([`Quarantine`] / [`QuarantineLocked`]), the per-CPU `shrink_qlist` lists and SRCU, and frees
//! the objects it gets back ([`QList::drain`]; `qlink_free()` needs the object's cache).
//!
//! Freed objects are linked through a [`QNode`] (`struct qlist_node`) embedded in their free
//! metadata (`struct kasan_free_meta`); a [`QList`] (`struct qlist_head`) is an intrusive singly
//! linked FIFO of them that also counts their bytes.
//!
//! C source: [`mm/kasan/quarantine.c`](srctree/mm/kasan/quarantine.c).

use core::cell::UnsafeCell;
use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

/// `QUARANTINE_PERCPU_SIZE`: a per-CPU queue holding more bytes than this (1 MiB) is moved into
/// the global ring as one batch.
pub const QUARANTINE_PERCPU_SIZE: usize = 1 << 20;

/// `QUARANTINE_FRACTION`: by default the quarantine may hold `1 / 32` of the installed memory.
pub const QUARANTINE_FRACTION: usize = 32;

/// `QUARANTINE_BATCHES`: the number of batches in the global ring for `nr_cpus`
/// (`CONFIG_NR_CPUS`), `max(1024, 4 * nr_cpus)`. Use it as the `N` of [`Quarantine`].
pub const fn quarantine_batches(nr_cpus: usize) -> usize {
    let four = nr_cpus.saturating_mul(4);
    if 1024 > four {
        1024
    } else {
        four
    }
}

/// `struct qlist_node` (`mm/kasan/kasan.h`): the link embedded in a quarantined object's free
/// metadata.
///
/// While the node is in a [`QList`], the list owns it (see the invariants of [`QList`]); outside
/// of a list its content is meaningless.
#[repr(C)]
pub struct QNode {
    next: *mut QNode,
}

impl QNode {
    /// A node that is in no list.
    pub const fn new() -> Self {
        Self {
            next: ptr::null_mut(),
        }
    }
}

impl Default for QNode {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: A `QNode` is plain memory without thread affinity; its only field is private and is
// read or written only by the `QList` that owns the node, which is itself `Send` (see below).
unsafe impl Send for QNode {}
// SAFETY: A shared reference to a `QNode` gives access to nothing (the field is private), so it
// can be shared between threads.
unsafe impl Sync for QNode {}

/// `struct qlist_head` (`mm/kasan/quarantine.c`): an intrusive singly linked FIFO of [`QNode`]s
/// with the total size of their objects.
///
/// Upstream's `offline` flag lives in [`CpuQuarantine`], the only user of it. The object count
/// `len` is an addition for statistics; it does not influence any decision.
///
/// # Invariants
///
/// 1. `head` is null if and only if `tail` is null, and then `len == 0` and `bytes == 0`.
/// 2. Otherwise, following `next` from `head` visits exactly `len` distinct nodes and ends at
///    `tail`, whose `next` is null.
/// 3. Every node in the list is valid for reads and writes, does not move, and its `next` field
///    is read and written only through this list, for as long as it is in the list.
/// 4. `bytes` is the wrapping sum of the sizes the nodes were put (or re-put) with.
///
/// All-zero bytes are a valid `QList`, equal to [`QList::new()`]: every field is a raw pointer
/// or an integer. The kernel glue keeps lists in zero-initialised per-CPU storage.
pub struct QList {
    head: *mut QNode,
    tail: *mut QNode,
    bytes: usize,
    len: usize,
}

// SAFETY: A `QList` owns its nodes exclusively (invariant 3) and they are plain memory without
// thread affinity, so the list (and with it the ownership of the nodes) may move between threads.
unsafe impl Send for QList {}
// SAFETY: Through a shared reference the list's nodes are only read (`iter()`), and nobody
// writes them while that reference exists (invariant 3), so sharing it between threads is fine.
unsafe impl Sync for QList {}

impl Default for QList {
    fn default() -> Self {
        Self::new()
    }
}

impl QList {
    /// `QLIST_INIT` / `qlist_init()`: an empty list.
    pub const fn new() -> Self {
        // INVARIANT: Empty: both ends null, no objects, no bytes.
        Self {
            head: ptr::null_mut(),
            tail: ptr::null_mut(),
            bytes: 0,
            len: 0,
        }
    }

    /// `qlist_empty()`.
    pub fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// `q->bytes`: the total size of the objects in the list.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The number of objects in the list.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Takes all nodes out of `self`, leaving it empty (`*to = *from; qlist_init(from);`).
    pub fn take(&mut self) -> QList {
        core::mem::take(self)
    }

    /// `qlist_put()`: appends `node` for an object of `size` bytes.
    ///
    /// # Safety
    ///
    /// `node` must be valid for reads and writes, must not be in any list, and must neither move
    /// nor be accessed other than through the list it is in, until it is returned by
    /// [`QList::drain`] (or its list is leaked).
    pub unsafe fn put(&mut self, node: NonNull<QNode>, size: usize) {
        let node = node.as_ptr();
        if self.head.is_null() {
            self.head = node;
        } else {
            // SAFETY: The list is not empty, so `tail` is a node of the list, valid for writes
            // (invariants 1 and 3).
            // INVARIANT: `node` becomes the successor of the old tail.
            unsafe { (*self.tail).next = node };
        }
        self.tail = node;
        // SAFETY: The caller guarantees that `node` is valid for writes and owned by us from now.
        // INVARIANT: The new tail ends the chain.
        unsafe { (*node).next = ptr::null_mut() };
        // INVARIANT: One more node, `size` more bytes.
        self.bytes = self.bytes.wrapping_add(size);
        self.len = self.len.wrapping_add(1);
    }

    /// `qlist_move_all()`: appends all nodes of `from` to `to`, keeping their order, and leaves
    /// `from` empty.
    pub fn move_all(from: &mut QList, to: &mut QList) {
        if from.is_empty() {
            return;
        }
        if to.is_empty() {
            *to = from.take();
            return;
        }
        // SAFETY: `to` is not empty, so its tail is a valid node that it owns (invariants 1, 3).
        // INVARIANT: `from`'s chain now follows `to`'s; `from` is reset below so each node is in
        // one list only.
        unsafe { (*to.tail).next = from.head };
        to.tail = from.tail;
        to.bytes = to.bytes.wrapping_add(from.bytes);
        to.len = to.len.wrapping_add(from.len);
        // INVARIANT: `from`'s nodes now belong to `to`.
        *from = QList::new();
    }

    /// `qlist_move_cache()`: moves the nodes whose object belongs to `cache` from `from` to the
    /// end of `to`, keeping the order of both the moved and the remaining nodes.
    ///
    /// `qlink_to_cache` returns the cache of a node's object and the object size
    /// (`qlink_to_cache(curr)` and `obj_cache->size` upstream); as upstream, both lists count the
    /// nodes with these sizes. It must not access the `QNode` it is given (only the object
    /// around it).
    pub fn move_cache<C: PartialEq>(
        from: &mut QList,
        to: &mut QList,
        cache: &C,
        mut qlink_to_cache: impl FnMut(NonNull<QNode>) -> (C, usize),
    ) {
        if from.is_empty() {
            return;
        }
        let mut curr = from.head;
        *from = QList::new();
        while let Some(node) = NonNull::new(curr) {
            // SAFETY: `node` was in `from`, so it is valid (invariant 3); we own it now.
            curr = unsafe { (*node.as_ptr()).next };
            let (obj_cache, size) = qlink_to_cache(node);
            let dest = if obj_cache == *cache {
                &mut *to
            } else {
                &mut *from
            };
            // SAFETY: `node` is valid and was unlinked from the old chain: its successor has been
            // read above and it is not in `to` or in the rebuilt `from`.
            unsafe { dest.put(node, size) };
        }
    }

    /// The nodes in order, without removing them.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            next: self.head,
            remaining: self.len,
            _list: PhantomData,
        }
    }

    /// Takes all nodes out of the list, in FIFO order, for the caller to free (the loop of
    /// `qlist_free_all()`); the list is left empty.
    ///
    /// The successor of each node is read before the node is yielded, so the caller may free or
    /// reuse each node as soon as it gets it. Nodes not yet yielded when the iterator is dropped
    /// are leaked.
    pub fn drain(&mut self) -> Drain {
        self.take().into_iter()
    }
}

impl IntoIterator for QList {
    type Item = NonNull<QNode>;
    type IntoIter = Drain;

    fn into_iter(self) -> Drain {
        Drain {
            next: self.head,
            remaining: self.len,
        }
    }
}

impl<'a> IntoIterator for &'a QList {
    type Item = NonNull<QNode>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// An iterator over the nodes of a [`QList`], from [`QList::iter`].
///
/// # Invariants
///
/// `next` is null or a node of the borrowed list, and `remaining` nodes follow from it.
pub struct Iter<'a> {
    next: *mut QNode,
    remaining: usize,
    _list: PhantomData<&'a QList>,
}

impl Iterator for Iter<'_> {
    type Item = NonNull<QNode>;

    fn next(&mut self) -> Option<NonNull<QNode>> {
        let node = NonNull::new(self.next)?;
        // SAFETY: `node` is in the list, which is borrowed, so it is valid and its link is not
        // written while we read it.
        // INVARIANT: Advance to the successor in the same list.
        self.next = unsafe { (*node.as_ptr()).next };
        self.remaining = self.remaining.saturating_sub(1);
        Some(node)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl FusedIterator for Iter<'_> {}

/// The nodes taken out of a [`QList`], from [`QList::drain`] or `into_iter()`.
///
/// # Invariants
///
/// `next` is null or the first of `remaining` nodes chained as in a [`QList`], owned by the
/// iterator.
pub struct Drain {
    next: *mut QNode,
    remaining: usize,
}

// SAFETY: The iterator owns the nodes not yet yielded, like a `QList`.
unsafe impl Send for Drain {}
// SAFETY: A shared reference to a `Drain` gives access to nothing.
unsafe impl Sync for Drain {}

impl Iterator for Drain {
    type Item = NonNull<QNode>;

    fn next(&mut self) -> Option<NonNull<QNode>> {
        let node = NonNull::new(self.next)?;
        // SAFETY: `node` is owned by the iterator and valid (type invariant); its successor is
        // read before the caller gets the node and may free it.
        // INVARIANT: The rest of the chain stays owned by the iterator.
        self.next = unsafe { (*node.as_ptr()).next };
        self.remaining = self.remaining.saturating_sub(1);
        Some(node)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl FusedIterator for Drain {}

/// The result of [`CpuQuarantine::put`].
#[must_use]
pub enum PutOutcome {
    /// The CPU's queue is offline: the object was not quarantined and must be freed at once
    /// (`kasan_quarantine_put()` returns false).
    Offline,
    /// The object was queued on the CPU.
    Queued,
    /// The object was queued and the CPU's queue went above [`QUARANTINE_PERCPU_SIZE`]: the whole
    /// queue was taken out (the `temp` list upstream) and must be handed to
    /// [`QuarantineLocked::put_batch`] under the quarantine lock, before interrupts are enabled
    /// again (otherwise `kasan_quarantine_remove_cache()` could miss its objects).
    Spill(QList),
}

/// A per-CPU queue (`cpu_quarantine`, a `struct qlist_head` with its `offline` flag) of
/// `mm/kasan/quarantine.c`.
///
/// The glue keeps one per CPU and uses it with interrupts disabled, as upstream.
///
/// All-zero bytes are a valid `CpuQuarantine`, equal to [`CpuQuarantine::new()`] (empty, online,
/// no puts): every field is a [`QList`], an integer or a `bool`. The kernel glue keeps the queues
/// in zero-initialised per-CPU storage.
pub struct CpuQuarantine {
    q: QList,
    offline: bool,
    puts: usize,
}

impl Default for CpuQuarantine {
    fn default() -> Self {
        Self::new()
    }
}

impl CpuQuarantine {
    /// An empty, online queue.
    pub const fn new() -> Self {
        Self {
            q: QList::new(),
            offline: false,
            puts: 0,
        }
    }

    /// The per-CPU part of `kasan_quarantine_put()`: queues `node` (an object of `size` =
    /// `cache->size` bytes) unless the CPU is offline, and takes the whole queue out as a batch
    /// once it holds more than [`QUARANTINE_PERCPU_SIZE`] bytes.
    ///
    /// # Safety
    ///
    /// As for [`QList::put`].
    pub unsafe fn put(&mut self, node: NonNull<QNode>, size: usize) -> PutOutcome {
        if self.offline {
            return PutOutcome::Offline;
        }
        // SAFETY: Guaranteed by the caller.
        unsafe { self.q.put(node, size) };
        self.puts = self.puts.wrapping_add(1);
        if self.q.bytes() > QUARANTINE_PERCPU_SIZE {
            return PutOutcome::Spill(self.q.take());
        }
        PutOutcome::Queued
    }

    /// The queued objects.
    pub fn list(&self) -> &QList {
        &self.q
    }

    /// Whether the queue is offline (`q->offline`).
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The number of objects this queue accepted so far (statistics).
    pub fn puts(&self) -> usize {
        self.puts
    }

    /// `kasan_cpu_online()`: accept objects again.
    pub fn set_online(&mut self) {
        self.offline = false;
    }

    /// `kasan_cpu_offline()`: stop accepting objects and take out all queued ones, which the
    /// caller frees (`qlist_free_all(q, NULL)`).
    ///
    /// Upstream orders `WRITE_ONCE(q->offline, true)` before emptying the queue with `barrier()`
    /// against the `per_cpu_remove_cache()` IPI; in Rust the glue holds `&mut self` and therefore
    /// calls this with interrupts disabled. Taking the list out is O(1); the objects can be freed
    /// after interrupts are enabled again.
    pub fn set_offline(&mut self) -> QList {
        self.offline = true;
        self.q.take()
    }

    /// `per_cpu_remove_cache()` / `__per_cpu_remove_cache()`: unless the queue is offline, moves
    /// the objects of `cache` to `to` (the CPU's `shrink_qlist`, under its lock), see
    /// [`QList::move_cache`].
    pub fn remove_cache<C: PartialEq>(
        &mut self,
        to: &mut QList,
        cache: &C,
        qlink_to_cache: impl FnMut(NonNull<QNode>) -> (C, usize),
    ) {
        if self.offline {
            return;
        }
        QList::move_cache(&mut self.q, to, cache, qlink_to_cache);
    }
}

/// The limits `kasan_quarantine_reduce()` computes: `quarantine_max_size` and
/// `quarantine_batch_size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuarantineLimits {
    /// `quarantine_max_size`: the global ring is reduced while it holds more bytes.
    pub max_size: usize,
    /// `quarantine_batch_size`: the ring's tail batch is closed once it holds this many bytes.
    pub batch_size: usize,
}

/// The `kasan.quarantine_size=` setting (rkasan; parsed by
/// [`crate::params::early_kasan_quarantine_size`]): how much memory the quarantine may use in
/// total, per-CPU queues included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuarantineSize {
    /// Upstream: `totalram / QUARANTINE_FRACTION`.
    #[default]
    Default,
    /// A number of bytes.
    Bytes(usize),
    /// A percentage (0..=100) of the installed memory.
    Percent(u8),
}

/// Which [`QuarantineSize`] a setting is, as the C interface passes it: a `kind` with the
/// value beside it (`rkasan_parse_quarantine_size()` and the KUnit hooks of `rkasan.h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum QuarantineSizeKind {
    /// [`QuarantineSize::Default`], value 0.
    Default = 0,
    /// [`QuarantineSize::Bytes`], value the bytes.
    Bytes = 1,
    /// [`QuarantineSize::Percent`], value the percentage.
    Percent = 2,
}

impl QuarantineSize {
    /// The setting as `(kind, value)`.
    pub const fn encode(self) -> (QuarantineSizeKind, usize) {
        match self {
            QuarantineSize::Default => (QuarantineSizeKind::Default, 0),
            QuarantineSize::Bytes(bytes) => (QuarantineSizeKind::Bytes, bytes),
            QuarantineSize::Percent(p) => (QuarantineSizeKind::Percent, p as usize),
        }
    }

    /// The setting [`QuarantineSize::encode`] gave as `(kind, value)`; `None` for a kind that
    /// is none of [`QuarantineSizeKind`]'s or a percentage above 100.
    pub const fn decode(kind: i32, value: usize) -> Option<Self> {
        const DEFAULT: i32 = QuarantineSizeKind::Default as i32;
        const BYTES: i32 = QuarantineSizeKind::Bytes as i32;
        const PERCENT: i32 = QuarantineSizeKind::Percent as i32;
        match kind {
            DEFAULT => Some(QuarantineSize::Default),
            BYTES => Some(QuarantineSize::Bytes(value)),
            PERCENT if value <= 100 => Some(QuarantineSize::Percent(value as u8)),
            _ => None,
        }
    }

    /// `total_size` of `kasan_quarantine_reduce()` for `totalram_bytes` of installed memory.
    ///
    /// Percentages above 100 (which the parser rejects) count as 100.
    pub const fn total_size(self, totalram_bytes: usize) -> usize {
        match self {
            QuarantineSize::Default => totalram_bytes / QUARANTINE_FRACTION,
            QuarantineSize::Bytes(bytes) => bytes,
            QuarantineSize::Percent(p) => {
                let p = if p > 100 { 100 } else { p as usize };
                // `totalram * p / 100` without overflow: with `totalram = 100 * q + r`, this is
                // `q * p + r * p / 100`, where `q * p <= totalram` and `r * p < 10000`.
                let whole = (totalram_bytes / 100).wrapping_mul(p);
                whole.wrapping_add((totalram_bytes % 100).wrapping_mul(p) / 100)
            }
        }
    }
}

/// `totalram_pages() << PAGE_SHIFT` as computed in `kasan_quarantine_reduce()` (an
/// `unsigned long` shift: bits shifted out are lost, as in C).
pub const fn totalram_bytes(totalram_pages: usize, page_shift: u32) -> usize {
    totalram_pages.wrapping_shl(page_shift)
}

/// The sizing of `kasan_quarantine_reduce()`, as a pure function of the installed memory
/// (`totalram_bytes`, see [`totalram_bytes`]), `num_online_cpus()`, the number of batches `N` of
/// the ring and the `kasan.quarantine_size` setting:
///
/// ```text
/// total_size = totalram / QUARANTINE_FRACTION      (or the kasan.quarantine_size setting)
/// percpu_quarantines = QUARANTINE_PERCPU_SIZE * num_online_cpus()
/// max_size = total_size < percpu_quarantines ? 0 : total_size - percpu_quarantines
/// batch_size = max(QUARANTINE_PERCPU_SIZE, 2 * total_size / QUARANTINE_BATCHES)
/// ```
///
/// The batch size aims at using at most half of the ring's slots. As upstream,
/// `QUARANTINE_PERCPU_SIZE * num_online_cpus()` is computed in `unsigned int` (`int` times
/// `unsigned int`) and so wraps modulo 2^32 from 4096 online CPUs on; `2 * total_size` wraps as
/// the C `size_t` product.
pub const fn quarantine_limits(
    totalram_bytes: usize,
    online_cpus: u32,
    batches: usize,
    size: QuarantineSize,
) -> QuarantineLimits {
    let total_size = size.total_size(totalram_bytes);
    let percpu_quarantines = (QUARANTINE_PERCPU_SIZE as u32).wrapping_mul(online_cpus) as usize;
    // `total_size < percpu_quarantines ? 0 : total_size - percpu_quarantines`
    let max_size = total_size.saturating_sub(percpu_quarantines);
    let per_batch = match total_size.wrapping_mul(2).checked_div(batches) {
        Some(b) => b,
        None => 0,
    };
    let batch_size = if per_batch > QUARANTINE_PERCPU_SIZE {
        per_batch
    } else {
        QUARANTINE_PERCPU_SIZE
    };
    QuarantineLimits {
        max_size,
        batch_size,
    }
}

/// The global ring and its indices, protected by `quarantine_lock`.
///
/// # Invariants
///
/// 1. `head < N` and `tail < N`.
/// 2. Each node is in at most one batch.
struct Ring<const N: usize> {
    /// `global_quarantine`: the round-robin FIFO array of batches.
    batches: [QList; N],
    /// `quarantine_head`: the oldest batch, next to be evicted.
    head: usize,
    /// `quarantine_tail`: the batch being filled.
    tail: usize,
    queued_objects: usize,
    evicted_objects: usize,
    evicted_batches: usize,
    removed_objects: usize,
    cache_removals: usize,
    ring_full: usize,
}

/// The global quarantine of `mm/kasan/quarantine.c`: a ring of `N` batches of objects
/// (`global_quarantine[QUARANTINE_BATCHES]`, see [`quarantine_batches`]) with its sizes.
///
/// `quarantine_size`, `quarantine_max_size` and `quarantine_batch_size` are atomics (the
/// `READ_ONCE()` / `WRITE_ONCE()` of upstream) and can be read without the lock, e.g. for the
/// early exit of `kasan_quarantine_reduce()` ([`Quarantine::needs_reduce`]). Everything else is
/// reached through a [`QuarantineLocked`]: [`Quarantine::get_mut`] with exclusive access, or
/// [`Quarantine::assume_locked`] while holding the lock that the glue associates with this
/// quarantine (upstream's `quarantine_lock`).
///
/// All sizes start at 0, as upstream before the first `kasan_quarantine_reduce()`: until then
/// every spilled batch closes the tail batch at once, and the first reduction evicts.
///
/// # Invariants
///
/// 1. `ring` is only accessed through a [`QuarantineLocked`], and at most one exists at a time.
/// 2. `size` is at least the sum of the bytes of the batches: it grows by what
///    [`QuarantineLocked::put_batch`] adds and shrinks by what [`QuarantineLocked::reduce`]
///    evicts (objects removed by [`QuarantineLocked::remove_cache`] stay counted, as upstream).
pub struct Quarantine<const N: usize> {
    ring: UnsafeCell<Ring<N>>,
    /// `quarantine_size`.
    size: AtomicUsize,
    /// `quarantine_max_size`.
    max_size: AtomicUsize,
    /// `quarantine_batch_size`.
    batch_size: AtomicUsize,
}

// SAFETY: The ring is only accessed through a `QuarantineLocked`, of which at most one exists at a
// time (invariant 1): `get_mut()` borrows the quarantine exclusively and `assume_locked()`
// requires the caller to hold the lock serializing them. The other fields are atomics. The nodes
// owned by the ring are `Send` (see `QList`).
unsafe impl<const N: usize> Sync for Quarantine<N> {}

impl<const N: usize> Default for Quarantine<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Quarantine<N> {
    /// `QUARANTINE_BATCHES`: the number of batches of the ring.
    pub const BATCHES: usize = N;

    /// An empty quarantine, with all sizes 0 (the static initial state upstream).
    pub const fn new() -> Self {
        const { assert!(N > 0, "the quarantine needs at least one batch") };
        const EMPTY: QList = QList::new();
        // INVARIANT: No `QuarantineLocked` exists yet; empty ring, size 0.
        Self {
            ring: UnsafeCell::new(Ring {
                batches: [EMPTY; N],
                head: 0,
                tail: 0,
                queued_objects: 0,
                evicted_objects: 0,
                evicted_batches: 0,
                removed_objects: 0,
                cache_removals: 0,
                ring_full: 0,
            }),
            size: AtomicUsize::new(0),
            max_size: AtomicUsize::new(0),
            batch_size: AtomicUsize::new(0),
        }
    }

    /// `READ_ONCE(quarantine_size)`: the bytes the ring holds, as upstream counts them.
    pub fn size(&self) -> usize {
        self.size.load(Ordering::Relaxed)
    }

    /// `READ_ONCE(quarantine_max_size)`.
    pub fn max_size(&self) -> usize {
        self.max_size.load(Ordering::Relaxed)
    }

    /// `READ_ONCE(quarantine_batch_size)`.
    pub fn batch_size(&self) -> usize {
        self.batch_size.load(Ordering::Relaxed)
    }

    /// The lockless early exit of `kasan_quarantine_reduce()`: false if
    /// `READ_ONCE(quarantine_size) <= READ_ONCE(quarantine_max_size)`, in which case the glue
    /// returns without taking the lock.
    pub fn needs_reduce(&self) -> bool {
        self.size() > self.max_size()
    }

    /// The locked operations, with exclusive access.
    pub fn get_mut(&mut self) -> QuarantineLocked<'_, N> {
        // SAFETY: `&mut self` excludes any other `QuarantineLocked` for the lifetime of the
        // returned value, as if the lock were held.
        unsafe { self.assume_locked() }
    }

    /// The locked operations, for the holder of the quarantine's lock.
    ///
    /// # Safety
    ///
    /// For the whole lifetime of the returned value, the caller must hold the lock that
    /// serializes all [`QuarantineLocked`]s of this quarantine (upstream's `quarantine_lock`),
    /// so that no other [`QuarantineLocked`] for it exists.
    pub unsafe fn assume_locked(&self) -> QuarantineLocked<'_, N> {
        // INVARIANT: The caller guarantees that this is the only `QuarantineLocked`.
        QuarantineLocked {
            // SAFETY: Per the safety requirements, nobody else accesses the ring while the
            // returned value exists.
            ring: unsafe { &mut *self.ring.get() },
            q: self,
        }
    }
}

/// Counters of a [`Quarantine`], for statistics (debugfs); see [`QuarantineLocked::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuarantineStats {
    /// `quarantine_size`: the bytes the ring holds as upstream counts them. It exceeds
    /// `held_bytes` by the objects removed with their cache, which upstream never subtracts.
    pub size: usize,
    /// The bytes the ring actually holds (sum over its batches).
    pub held_bytes: usize,
    /// The objects the ring holds.
    pub held_objects: usize,
    /// `quarantine_max_size`: the bound on `size` that reduction enforces.
    pub max_size: usize,
    /// `quarantine_batch_size`.
    pub batch_size: usize,
    /// `QUARANTINE_BATCHES`.
    pub batches: usize,
    /// The batches that hold objects.
    pub batches_in_use: usize,
    /// `quarantine_head`.
    pub head: usize,
    /// `quarantine_tail`.
    pub tail: usize,
    /// The objects moved into the ring from per-CPU queues.
    pub queued_objects: usize,
    /// The objects evicted by reduction (returned for freeing).
    pub evicted_objects: usize,
    /// The evictions (one batch each, possibly empty).
    pub evicted_batches: usize,
    /// The objects taken out of the ring by cache removal.
    pub removed_objects: usize,
    /// The cache removals (`kasan_quarantine_remove_cache()` calls) that scanned the ring.
    pub cache_removals: usize,
    /// The times a full tail batch could not be closed because the next slot was the head.
    pub ring_full: usize,
}

/// Access to the ring of a [`Quarantine`] under its lock (`quarantine_lock`).
///
/// # Invariants
///
/// `ring` is the ring of `q`, and this is the only `QuarantineLocked` of `q`.
pub struct QuarantineLocked<'a, const N: usize> {
    ring: &'a mut Ring<N>,
    q: &'a Quarantine<N>,
}

impl<const N: usize> QuarantineLocked<'_, N> {
    /// The batch at index `i` (`global_quarantine[i]`), if `i < N`.
    pub fn batch(&self, i: usize) -> Option<&QList> {
        self.ring.batches.get(i)
    }

    /// `quarantine_head`: the index of the oldest batch.
    pub fn head(&self) -> usize {
        self.ring.head
    }

    /// `quarantine_tail`: the index of the batch being filled.
    pub fn tail(&self) -> usize {
        self.ring.tail
    }

    /// The locked part of `kasan_quarantine_put()`: adds a batch spilled by
    /// [`CpuQuarantine::put`] to `quarantine_size` and to the tail batch; once the tail batch
    /// holds at least `quarantine_batch_size` bytes, the tail moves to the next slot, unless that
    /// slot is the head (the ring is full and the tail batch keeps growing).
    pub fn put_batch(&mut self, mut temp: QList) {
        let q = self.q;
        let ring = &mut *self.ring;
        let size = q.size.load(Ordering::Relaxed);
        q.size
            .store(size.wrapping_add(temp.bytes()), Ordering::Relaxed);
        ring.queued_objects = ring.queued_objects.wrapping_add(temp.len());
        let tail = ring.tail;
        let Some(batch) = ring.batches.get_mut(tail) else {
            // Unreachable (invariant 1 of `Ring`); keep the objects rather than lose them.
            return Self::put_back(ring, temp);
        };
        QList::move_all(&mut temp, batch);
        if batch.bytes() >= q.batch_size.load(Ordering::Relaxed) {
            let new_tail = Self::next_index(tail);
            if new_tail != ring.head {
                // INVARIANT: `next_index` stays below `N`.
                ring.tail = new_tail;
            } else {
                ring.ring_full = ring.ring_full.wrapping_add(1);
            }
        }
    }

    /// Fallback of [`Self::put_batch`] if the tail were out of range: append to batch 0.
    fn put_back(ring: &mut Ring<N>, mut temp: QList) {
        ring.tail = 0;
        ring.head = 0;
        if let Some(batch) = ring.batches.first_mut() {
            QList::move_all(&mut temp, batch);
        }
    }

    /// `i + 1` modulo `N`.
    fn next_index(i: usize) -> usize {
        let next = i.wrapping_add(1);
        if next >= N {
            0
        } else {
            next
        }
    }

    /// The locked part of `kasan_quarantine_reduce()`: stores the new `limits` (see
    /// [`quarantine_limits`]) and, if `quarantine_size` still exceeds `quarantine_max_size`,
    /// takes out the head batch and advances the head. Returns the evicted objects (possibly
    /// none), which the caller frees after dropping the lock (`qlist_free_all(&to_free, NULL)`)
    /// and before leaving its SRCU read-side section.
    ///
    /// As upstream, one call evicts at most one batch, the head advances even if its batch was
    /// empty, and it may pass the tail (which then stays where it is until the head moves on).
    pub fn reduce(&mut self, limits: QuarantineLimits) -> QList {
        let q = self.q;
        let ring = &mut *self.ring;
        q.max_size.store(limits.max_size, Ordering::Relaxed);
        q.batch_size.store(limits.batch_size, Ordering::Relaxed);

        let size = q.size.load(Ordering::Relaxed);
        if size <= limits.max_size {
            return QList::new();
        }
        let to_free = match ring.batches.get_mut(ring.head) {
            Some(batch) => batch.take(),
            None => QList::new(),
        };
        q.size
            .store(size.wrapping_sub(to_free.bytes()), Ordering::Relaxed);
        // INVARIANT: `next_index` stays below `N`.
        ring.head = Self::next_index(ring.head);
        ring.evicted_batches = ring.evicted_batches.wrapping_add(1);
        ring.evicted_objects = ring.evicted_objects.wrapping_add(to_free.len());
        to_free
    }

    /// One step of the ring scan of `kasan_quarantine_remove_cache()`: moves the objects of
    /// `cache` in batch `i` to `to` (see [`QList::move_cache`]). Returns false, doing nothing,
    /// if the batch is empty or `i >= N`; upstream skips empty batches, and after a non-empty
    /// one drops the lock for `cond_resched()`, which the glue does when this returns true.
    ///
    /// As upstream, `quarantine_size` is not decreased by the removed objects. Call
    /// [`Self::count_cache_removal`] once per scan for the statistics.
    pub fn remove_cache_batch<C: PartialEq>(
        &mut self,
        i: usize,
        to: &mut QList,
        cache: &C,
        qlink_to_cache: impl FnMut(NonNull<QNode>) -> (C, usize),
    ) -> bool {
        let Some(batch) = self.ring.batches.get_mut(i) else {
            return false;
        };
        if batch.is_empty() {
            return false;
        }
        let before = to.len();
        QList::move_cache(batch, to, cache, qlink_to_cache);
        let moved = to.len().wrapping_sub(before);
        self.ring.removed_objects = self.ring.removed_objects.wrapping_add(moved);
        true
    }

    /// Counts one cache removal in the statistics.
    pub fn count_cache_removal(&mut self) {
        self.ring.cache_removals = self.ring.cache_removals.wrapping_add(1);
    }

    /// The whole ring scan of `kasan_quarantine_remove_cache()` at once (without dropping the
    /// lock between batches): [`Self::remove_cache_batch`] for every batch, then
    /// [`Self::count_cache_removal`].
    pub fn remove_cache<C: PartialEq>(
        &mut self,
        to: &mut QList,
        cache: &C,
        mut qlink_to_cache: impl FnMut(NonNull<QNode>) -> (C, usize),
    ) {
        for i in 0..N {
            self.remove_cache_batch(i, to, cache, &mut qlink_to_cache);
        }
        self.count_cache_removal();
    }

    /// A snapshot of the counters. Sums over the `N` batches.
    pub fn stats(&self) -> QuarantineStats {
        let ring = &*self.ring;
        let mut held_bytes = 0usize;
        let mut held_objects = 0usize;
        let mut batches_in_use = 0usize;
        for batch in ring.batches.iter() {
            held_bytes = held_bytes.wrapping_add(batch.bytes());
            held_objects = held_objects.wrapping_add(batch.len());
            if !batch.is_empty() {
                batches_in_use = batches_in_use.wrapping_add(1);
            }
        }
        QuarantineStats {
            size: self.q.size(),
            held_bytes,
            held_objects,
            max_size: self.q.max_size(),
            batch_size: self.q.batch_size(),
            batches: N,
            batches_in_use,
            head: ring.head,
            tail: ring.tail,
            queued_objects: ring.queued_objects,
            evicted_objects: ring.evicted_objects,
            evicted_batches: ring.evicted_batches,
            removed_objects: ring.removed_objects,
            cache_removals: ring.cache_removals,
            ring_full: ring.ring_full,
        }
    }

    /// Takes all objects out of the ring, resetting it to its initial state (indices and
    /// `quarantine_size` 0, limits kept), e.g. for teardown in tests. Upstream has no
    /// counterpart: the quarantine lives forever.
    pub fn drain_all(&mut self) -> QList {
        let mut all = QList::new();
        let ring = &mut *self.ring;
        let mut i = ring.head;
        for _ in 0..N {
            if let Some(batch) = ring.batches.get_mut(i) {
                QList::move_all(batch, &mut all);
            }
            i = Self::next_index(i);
        }
        ring.head = 0;
        ring.tail = 0;
        self.q.size.store(0, Ordering::Relaxed);
        all
    }
}
