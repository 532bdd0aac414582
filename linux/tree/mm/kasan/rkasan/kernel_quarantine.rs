// SPDX-License-Identifier: GPL-2.0

//! The quarantine of Generic KASAN (`CONFIG_KASAN_RUST_QUARANTINE`).
//!
//! Twin of [`mm/kasan/quarantine.c`](srctree/mm/kasan/quarantine.c): freed slab objects wait in
//! per-CPU queues and a global ring of batches ([`crate::quarantine`]) before they go back to the
//! slab allocator. The locking model is upstream's:
//!
//! - each CPU's queue ([`CpuSlot`]) is used only on its CPU with interrupts disabled (the C
//!   `kasan_quarantine_put()`, the IPIs of `on_each_cpu()`, the hotplug callbacks);
//! - one raw spinlock, `quarantine_lock`, serializes the global ring ([`RingGuard`]); a queue
//!   spills into it with interrupts still disabled, so `on_each_cpu()` in
//!   [`kasan_quarantine_remove_cache`] finds each object either in a queue or in the ring;
//! - [`kasan_quarantine_reduce`] frees what it evicted inside an SRCU read-side section, and
//!   [`kasan_quarantine_remove_cache`] waits for those sections before it returns;
//! - the ring scan of a cache removal drops the lock for `cond_resched()` after each non-empty
//!   batch.
//!
//! What only C can do is in `mm/kasan/rkasan_quarantine.c`: the per-CPU storage, the locks, SRCU,
//! interrupt masking, IPIs, hotplug registration, debugfs, and the slab internals (free metadata,
//! the cache of an object, `___cache_free()`).
//!
//! Beyond upstream: `kasan.quarantine_size=<size>|<percent>%` replaces the `1/32` of memory the
//! quarantine may use, and [`rkasan_quarantine_stats`] feeds the debugfs file `kasan/quarantine`
//! with sizes and counters. Each CPU keeps a ledger of where the objects it accepted went; the
//! statistics check it and the ring's (`consistent`).
//!
//! C source: [`mm/kasan/rkasan_quarantine.c`](srctree/mm/kasan/rkasan_quarantine.c).

use crate::kernel_cstr;
use crate::params;
use crate::quarantine::{
    quarantine_batches, quarantine_limits, totalram_bytes, CpuQuarantine, PutOutcome, QList, QNode,
    Quarantine, QuarantineLimits, QuarantineLocked, QuarantineSize,
};
use core::ffi::c_void;
use core::mem::{align_of, size_of};
use core::ptr;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kernel::ffi::{c_char, c_int, c_uint, c_ulong};

/// `QUARANTINE_BATCHES`: `max(1024, 4 * NR_CPUS)`.
const BATCHES: usize = quarantine_batches(kernel::bindings::NR_CPUS as usize);

/// `RKASAN_QLIST_WORDS` of `mm/kasan/rkasan.h`: the storage of a shrink list, in `long`s.
const QLIST_WORDS: usize = 4;
/// `RKASAN_CPU_QUARANTINE_WORDS` of `mm/kasan/rkasan.h`: the storage of a [`CpuSlot`].
const CPU_QUARANTINE_WORDS: usize = 9;

/// The global ring (`global_quarantine` and its sizes), protected by `quarantine_lock`.
static QUARANTINE: Quarantine<BATCHES> = Quarantine::new();

/// The `kasan.quarantine_size` setting: [`SIZE_DEFAULT`], [`SIZE_BYTES`] or [`SIZE_PERCENT`].
///
/// Written once by the early parameter, before other CPUs run, and then only under
/// `quarantine_lock` (by the KUnit tests); read under `quarantine_lock`.
static SIZE_KIND: AtomicUsize = AtomicUsize::new(0);
/// The bytes or percentage of the setting.
static SIZE_VALUE: AtomicUsize = AtomicUsize::new(0);
/// [`QuarantineSize::Default`], as `kind` at the C interface.
const SIZE_DEFAULT: c_int = 0;
/// [`QuarantineSize::Bytes`].
const SIZE_BYTES: c_int = 1;
/// [`QuarantineSize::Percent`].
const SIZE_PERCENT: c_int = 2;

/// Bytes taken out of the ring by cache removals. `quarantine_size` keeps counting them (as
/// upstream), so the ring holds `quarantine_size - REMOVED_BYTES`. Written under
/// `quarantine_lock`.
static REMOVED_BYTES: AtomicUsize = AtomicUsize::new(0);
/// The most bytes the ring has held. Written under `quarantine_lock`.
static PEAK_BYTES: AtomicUsize = AtomicUsize::new(0);
/// Objects returned to the slab allocator.
static FREED: AtomicUsize = AtomicUsize::new(0);

/// The ledgers of CPUs that went offline (their [`CpuSlot`]s restart from zero).
static RETIRED_PUTS: AtomicUsize = AtomicUsize::new(0);
/// See [`RETIRED_PUTS`].
static RETIRED_SPILLED: AtomicUsize = AtomicUsize::new(0);
/// See [`RETIRED_PUTS`].
static RETIRED_REMOVED: AtomicUsize = AtomicUsize::new(0);
/// See [`RETIRED_PUTS`].
static RETIRED_OFFLINED: AtomicUsize = AtomicUsize::new(0);

/// One CPU's queue (`cpu_quarantine`) with its ledger, in the per-CPU
/// `struct rkasan_cpu_quarantine` of `rkasan_quarantine.c`.
///
/// Every object the queue accepted (`q.puts()`) is still in it, or was spilled into the ring,
/// moved to a shrink list by a cache removal, or freed when the CPU went offline.
///
/// # Invariants
///
/// All-zero bytes are a valid `CpuSlot`, the empty online queue with a zero ledger, as every
/// field is (transitively) a raw pointer, an integer or a `bool`: the C storage is zeroed
/// per-CPU data.
pub struct CpuSlot {
    q: CpuQuarantine,
    spilled: usize,
    removed: usize,
    offlined: usize,
}

// The C storage must hold the Rust types.
const _: () = {
    assert!(size_of::<CpuSlot>() <= CPU_QUARANTINE_WORDS * size_of::<c_ulong>());
    assert!(align_of::<CpuSlot>() <= align_of::<c_ulong>());
    assert!(size_of::<QList>() <= QLIST_WORDS * size_of::<c_ulong>());
    assert!(align_of::<QList>() <= align_of::<c_ulong>());
};

impl CpuSlot {
    /// Whether the ledger adds up.
    fn balanced(&self) -> bool {
        let out = self
            .spilled
            .wrapping_add(self.removed)
            .wrapping_add(self.offlined)
            .wrapping_add(self.q.list().len());
        self.q.puts() == out
    }
}

/// `struct rkasan_quarantine_stats` of `mm/kasan/rkasan.h`.
#[repr(C)]
pub struct RawStats {
    held_bytes: c_ulong,
    held_objects: c_ulong,
    percpu_bytes: c_ulong,
    percpu_objects: c_ulong,
    size: c_ulong,
    max_size: c_ulong,
    batch_size: c_ulong,
    batches: c_ulong,
    batches_in_use: c_ulong,
    peak_bytes: c_ulong,
    puts: c_ulong,
    spilled: c_ulong,
    evicted: c_ulong,
    removed: c_ulong,
    offlined: c_ulong,
    freed: c_ulong,
    cache_removals: c_ulong,
    ring_full: c_ulong,
    consistent: bool,
}

extern "C" {
    fn rkasan_quarantine_this_cpu() -> *mut c_void;
    fn rkasan_quarantine_irq_save() -> c_ulong;
    fn rkasan_quarantine_irq_restore(flags: c_ulong);
    fn rkasan_quarantine_lock() -> c_ulong;
    fn rkasan_quarantine_unlock(flags: c_ulong);
    fn rkasan_quarantine_shrink_lock(cpu: c_int, flags: *mut c_ulong) -> *mut c_void;
    fn rkasan_quarantine_shrink_unlock(cpu: c_int, flags: c_ulong);
    fn rkasan_quarantine_this_cpu_id() -> c_int;
    fn rkasan_quarantine_next_cpu(cpu: c_int) -> c_int;
    fn rkasan_quarantine_on_each_cpu(func: unsafe extern "C" fn(*mut c_void), info: *mut c_void);
    fn rkasan_quarantine_srcu_read_lock() -> c_int;
    fn rkasan_quarantine_srcu_read_unlock(idx: c_int);
    fn rkasan_quarantine_synchronize_srcu();
    fn rkasan_quarantine_cond_resched();
    fn rkasan_quarantine_totalram_pages() -> c_ulong;
    fn rkasan_quarantine_online_cpus() -> c_uint;
    fn rkasan_qlink_to_cache(qlink: *mut QNode, size: *mut usize) -> *mut c_void;
    fn rkasan_qlink_free(qlink: *mut QNode, cache: *mut c_void);
}

/// This CPU's [`CpuSlot`].
///
/// # Safety
///
/// Interrupts must stay disabled while the result is used, and the caller must hold no other
/// reference to this CPU's slot.
unsafe fn this_cpu_slot<'a>() -> &'a mut CpuSlot {
    // SAFETY: The C storage is valid, aligned and zero-initialised for a `CpuSlot` (see the
    // build-time checks and the invariants of `CpuSlot`); it is only used on its own CPU with
    // interrupts disabled, which per the caller excludes every other user while the result lives.
    unsafe { &mut *rkasan_quarantine_this_cpu().cast::<CpuSlot>() }
}

/// `quarantine_lock`, held with interrupts disabled; gives access to the ring.
struct RingGuard {
    flags: c_ulong,
}

impl RingGuard {
    /// `raw_spin_lock_irqsave(&quarantine_lock, flags)`.
    fn lock() -> Self {
        // SAFETY: Takes the lock; `drop()` releases it.
        let flags = unsafe { rkasan_quarantine_lock() };
        Self { flags }
    }

    /// The ring, for as long as the lock is held.
    fn ring(&mut self) -> QuarantineLocked<'_, BATCHES> {
        // SAFETY: `self` holds `quarantine_lock`, which every `QuarantineLocked` of `QUARANTINE`
        // is made under; the result borrows `self` exclusively, so it is dropped before the
        // lock is released and no second one comes from this guard.
        unsafe { QUARANTINE.assume_locked() }
    }
}

impl Drop for RingGuard {
    fn drop(&mut self) {
        // SAFETY: `self` holds the lock, taken with these flags.
        unsafe { rkasan_quarantine_unlock(self.flags) };
    }
}

/// A CPU's `shrink_qlist`, locked.
struct ShrinkGuard {
    cpu: c_int,
    flags: c_ulong,
    list: *mut QList,
}

impl ShrinkGuard {
    /// `raw_spin_lock_irqsave(&per_cpu_ptr(&shrink_qlist, cpu)->lock, flags)`.
    ///
    /// # Safety
    ///
    /// `cpu` is a possible CPU.
    unsafe fn lock(cpu: c_int) -> Self {
        let mut flags = 0;
        // SAFETY: `cpu` is a possible CPU per the caller; `drop()` releases the lock.
        let list = unsafe { rkasan_quarantine_shrink_lock(cpu, &mut flags) }.cast::<QList>();
        Self { cpu, flags, list }
    }

    /// The list, for as long as its lock is held.
    fn list(&mut self) -> &mut QList {
        // SAFETY: `list` points into the per-CPU C storage, valid, aligned and zero-initialised
        // for a `QList` (build-time checks; all-zero is the empty list). Its lock is held, and
        // the reference borrows `self`.
        unsafe { &mut *self.list }
    }
}

impl Drop for ShrinkGuard {
    fn drop(&mut self) {
        // SAFETY: `self` holds the lock of `cpu`'s list, taken with these flags.
        unsafe { rkasan_quarantine_shrink_unlock(self.cpu, self.flags) };
    }
}

/// The possible CPUs (`for_each_possible_cpu()`).
fn possible_cpus() -> impl Iterator<Item = c_int> {
    // SAFETY: Walks `cpu_possible_mask`.
    let first = unsafe { rkasan_quarantine_next_cpu(-1) };
    core::iter::successors((first >= 0).then_some(first), |&cpu| {
        // SAFETY: As above.
        let next = unsafe { rkasan_quarantine_next_cpu(cpu) };
        (next >= 0).then_some(next)
    })
}

/// `qlink_to_cache()`: the cache of a quarantined object and its `size`.
fn qlink_to_cache(node: NonNull<QNode>) -> (*mut c_void, usize) {
    let mut size = 0;
    // SAFETY: `node` is the link of a quarantined slab object: its slab and cache stay alive
    // while it is quarantined. Only the slab of the address is read, not the node.
    let cache = unsafe { rkasan_qlink_to_cache(node.as_ptr(), &mut size) };
    (cache, size)
}

/// `qlist_free_all()`: returns the objects of `list` to the slab allocator; `cache` is the cache
/// of all of them, or null to look up each one's.
fn free_all(list: QList, cache: *mut c_void) {
    if list.is_empty() {
        return;
    }
    let n = list.len();
    for node in list {
        // SAFETY: The quarantine owned `node`, the link of an object the slab allocator still
        // counts as allocated; the iterator read its successor already, so the object may be
        // freed. `cache` is null or the object's cache.
        unsafe { rkasan_qlink_free(node.as_ptr(), cache) };
    }
    FREED.fetch_add(n, Ordering::Relaxed);
}

/// The `kasan.quarantine_size` setting.
fn setting() -> QuarantineSize {
    let value = SIZE_VALUE.load(Ordering::Relaxed);
    match SIZE_KIND.load(Ordering::Relaxed) {
        1 => QuarantineSize::Bytes(value),
        2 => QuarantineSize::Percent(u8::try_from(value).unwrap_or(100)),
        _ => QuarantineSize::Default,
    }
}

/// Stores the `kasan.quarantine_size` setting; see [`SIZE_KIND`] for when this may be called.
fn store_setting(size: QuarantineSize) {
    let (kind, value) = encode(size);
    SIZE_VALUE.store(value, Ordering::Relaxed);
    SIZE_KIND.store(kind as usize, Ordering::Relaxed);
}

/// A setting as `(kind, value)` at the C interface.
fn encode(size: QuarantineSize) -> (c_int, c_ulong) {
    match size {
        QuarantineSize::Default => (SIZE_DEFAULT, 0),
        QuarantineSize::Bytes(bytes) => (SIZE_BYTES, bytes),
        QuarantineSize::Percent(p) => (SIZE_PERCENT, c_ulong::from(p)),
    }
}

/// The limits of `kasan_quarantine_reduce()` for the memory and CPUs online now.
fn limits() -> QuarantineLimits {
    // SAFETY: Reads a counter.
    let pages = unsafe { rkasan_quarantine_totalram_pages() };
    // SAFETY: Reads a counter.
    let online = unsafe { rkasan_quarantine_online_cpus() };
    let bytes = totalram_bytes(pages, kernel::page::PAGE_SHIFT as u32);
    quarantine_limits(bytes, online, BATCHES, setting())
}

/// Records the bytes the ring holds as the peak if they are more. `_guard` holds the lock.
fn note_peak(_guard: &RingGuard) {
    let held = QUARANTINE
        .size()
        .wrapping_sub(REMOVED_BYTES.load(Ordering::Relaxed));
    if held > PEAK_BYTES.load(Ordering::Relaxed) {
        PEAK_BYTES.store(held, Ordering::Relaxed);
    }
}

/// `kasan_quarantine_put()` after the free metadata was found, with interrupts disabled: queues
/// `qlink` (an object of `size` = `cache->size` bytes) on this CPU's queue `slot`, and moves the
/// queue into the ring once it holds more than 1 MiB. Returns false if the CPU is offline and
/// the object must be freed at once.
///
/// # Safety
///
/// `slot` is this CPU's queue and interrupts stay disabled during the call. `qlink` is the
/// quarantine link in the free metadata of a slab object being freed, which the quarantine owns
/// from now on if this returns true.
#[no_mangle]
pub unsafe extern "C" fn rkasan_quarantine_put(
    slot: *mut CpuSlot,
    qlink: *mut QNode,
    size: usize,
) -> bool {
    let Some(node) = NonNull::new(qlink) else {
        return false;
    };
    // SAFETY: Per the caller, `slot` is this CPU's slot and interrupts are disabled, so nothing
    // else uses it during the call.
    let slot = unsafe { &mut *slot };
    // SAFETY: Per the caller, the quarantine owns `node` until it frees the object; the slab
    // allocator neither moves nor touches a quarantined object.
    match unsafe { slot.q.put(node, size) } {
        PutOutcome::Offline => false,
        PutOutcome::Queued => true,
        PutOutcome::Spill(batch) => {
            slot.spilled = slot.spilled.wrapping_add(batch.len());
            // Interrupts are still disabled: the batch reaches the ring before an IPI of
            // `kasan_quarantine_remove_cache()` can look for it.
            let mut guard = RingGuard::lock();
            guard.ring().put_batch(batch);
            note_peak(&guard);
            true
        }
    }
}

/// The locked part of `kasan_quarantine_reduce()` and the freeing of what it evicts, inside an
/// SRCU read-side section so that `kasan_quarantine_remove_cache()` waits for it. Stores
/// `new_size` as the setting first if given.
fn reduce(new_size: Option<QuarantineSize>) {
    // SAFETY: Paired with the unlock below.
    let idx = unsafe { rkasan_quarantine_srcu_read_lock() };
    let to_free = {
        let mut guard = RingGuard::lock();
        if let Some(size) = new_size {
            store_setting(size);
        }
        // Sized again every time, for memory and CPU hotplug.
        guard.ring().reduce(limits())
    };
    free_all(to_free, ptr::null_mut());
    // SAFETY: Ends the section begun above.
    unsafe { rkasan_quarantine_srcu_read_unlock(idx) };
}

/// `kasan_quarantine_reduce()`: if the ring holds more than `quarantine_max_size`, evicts its
/// oldest batch and frees the objects.
#[no_mangle]
pub extern "C" fn kasan_quarantine_reduce() {
    if QUARANTINE.needs_reduce() {
        reduce(None);
    }
}

/// `per_cpu_remove_cache()`: on each CPU, with interrupts disabled, moves the objects of the
/// cache `info` from the CPU's queue to its shrink list.
///
/// # Safety
///
/// Called by `on_each_cpu()`; `info` is a cache.
unsafe extern "C" fn per_cpu_remove_cache(info: *mut c_void) {
    // SAFETY: IPIs run with interrupts disabled, and this is the only reference to the slot.
    let slot = unsafe { this_cpu_slot() };
    if slot.q.is_offline() {
        return;
    }
    // SAFETY: The current CPU is possible.
    let mut shrink = unsafe { ShrinkGuard::lock(rkasan_quarantine_this_cpu_id()) };
    let list = shrink.list();
    let before = list.len();
    slot.q.remove_cache(list, &info, qlink_to_cache);
    let moved = list.len().wrapping_sub(before);
    slot.removed = slot.removed.wrapping_add(moved);
}

/// `kasan_quarantine_remove_cache()`: frees all quarantined objects of `cache`, which is being
/// shrunk or destroyed.
///
/// # Safety
///
/// `cache` is a live slab cache; the caller may sleep.
#[no_mangle]
pub unsafe extern "C" fn kasan_quarantine_remove_cache(cache: *mut c_void) {
    // The IPIs find every object either in a queue or in the ring (`rkasan_quarantine_put()`
    // spills with interrupts disabled); the SRCU wait at the end covers evicted objects that
    // are being freed.
    // SAFETY: `per_cpu_remove_cache` is an IPI callback taking a cache.
    unsafe { rkasan_quarantine_on_each_cpu(per_cpu_remove_cache, cache) };

    // A CPU may have gone offline after its IPI, leaving objects on its shrink list: drain the
    // lists of all possible CPUs.
    let mut to_free = QList::new();
    for cpu in possible_cpus() {
        // SAFETY: `cpu` is possible.
        let mut shrink = unsafe { ShrinkGuard::lock(cpu) };
        QList::move_cache(shrink.list(), &mut to_free, &cache, qlink_to_cache);
    }
    free_all(to_free.take(), cache);

    let mut guard = RingGuard::lock();
    for i in 0..BATCHES {
        let before = to_free.bytes();
        if !guard
            .ring()
            .remove_cache_batch(i, &mut to_free, &cache, qlink_to_cache)
        {
            continue;
        }
        let moved = to_free.bytes().wrapping_sub(before);
        REMOVED_BYTES.store(
            REMOVED_BYTES.load(Ordering::Relaxed).wrapping_add(moved),
            Ordering::Relaxed,
        );
        // Scanning the whole ring can take a while.
        drop(guard);
        // SAFETY: The caller may sleep, and no lock is held.
        unsafe { rkasan_quarantine_cond_resched() };
        guard = RingGuard::lock();
    }
    guard.ring().count_cache_removal();
    drop(guard);

    free_all(to_free, cache);

    // SAFETY: The caller may sleep.
    unsafe { rkasan_quarantine_synchronize_srcu() };
}

/// `kasan_cpu_online()`: the CPU's queue accepts objects again.
#[no_mangle]
pub extern "C" fn rkasan_cpu_online(_cpu: c_uint) -> c_int {
    // SAFETY: Restored below.
    let flags = unsafe { rkasan_quarantine_irq_save() };
    // SAFETY: Interrupts are disabled until the restore, and no other reference exists.
    unsafe { this_cpu_slot() }.q.set_online();
    // SAFETY: Restores what was saved above.
    unsafe { rkasan_quarantine_irq_restore(flags) };
    0
}

/// `kasan_cpu_offline()`: the CPU's queue refuses objects from now on and its objects are freed.
/// Its ledger moves to the retired counters and restarts from zero.
#[no_mangle]
pub extern "C" fn rkasan_cpu_offline(_cpu: c_uint) -> c_int {
    // SAFETY: Restored below.
    let flags = unsafe { rkasan_quarantine_irq_save() };
    // SAFETY: Interrupts are disabled until the restore, and no other reference exists.
    let slot = unsafe { this_cpu_slot() };
    let list = slot.q.set_offline();
    RETIRED_PUTS.fetch_add(slot.q.puts(), Ordering::Relaxed);
    RETIRED_SPILLED.fetch_add(slot.spilled, Ordering::Relaxed);
    RETIRED_REMOVED.fetch_add(slot.removed, Ordering::Relaxed);
    RETIRED_OFFLINED.fetch_add(slot.offlined.wrapping_add(list.len()), Ordering::Relaxed);
    slot.q = CpuQuarantine::new();
    // The new queue is empty: nothing to free.
    let _ = slot.q.set_offline();
    slot.spilled = 0;
    slot.removed = 0;
    slot.offlined = 0;
    // SAFETY: Restores what was saved above.
    unsafe { rkasan_quarantine_irq_restore(flags) };
    free_all(list, ptr::null_mut());
    0
}

/// The sums over the online CPUs' queues, gathered by IPI.
#[derive(Default)]
struct Gather {
    bytes: AtomicUsize,
    objects: AtomicUsize,
    puts: AtomicUsize,
    spilled: AtomicUsize,
    removed: AtomicUsize,
    offlined: AtomicUsize,
    unbalanced: AtomicBool,
    /// A node to look for ([`rkasan_quarantine_holds`]), or null.
    node: AtomicUsize,
    found: AtomicBool,
}

/// Adds this CPU's queue to the [`Gather`] at `info`.
///
/// # Safety
///
/// Called by `on_each_cpu()` with a `Gather` that outlives the call.
unsafe extern "C" fn gather_cpu(info: *mut c_void) {
    // SAFETY: Per the caller; it is only accessed through atomics.
    let g = unsafe { &*info.cast::<Gather>() };
    // SAFETY: IPIs run with interrupts disabled, and this is the only reference to the slot.
    let slot = unsafe { this_cpu_slot() };
    let list = slot.q.list();
    g.bytes.fetch_add(list.bytes(), Ordering::Relaxed);
    g.objects.fetch_add(list.len(), Ordering::Relaxed);
    g.puts.fetch_add(slot.q.puts(), Ordering::Relaxed);
    g.spilled.fetch_add(slot.spilled, Ordering::Relaxed);
    g.removed.fetch_add(slot.removed, Ordering::Relaxed);
    g.offlined.fetch_add(slot.offlined, Ordering::Relaxed);
    if !slot.balanced() {
        g.unbalanced.store(true, Ordering::Relaxed);
    }
    let node = g.node.load(Ordering::Relaxed);
    if node != 0 && list.iter().any(|n| n.as_ptr() as usize == node) {
        g.found.store(true, Ordering::Relaxed);
    }
}

/// Gathers the online CPUs' queues, looking for `node` if not 0.
fn gather(node: usize) -> Gather {
    let g = Gather {
        node: AtomicUsize::new(node),
        ..Gather::default()
    };
    // SAFETY: `gather_cpu` takes a `Gather`; `on_each_cpu()` waits for all calls to finish.
    unsafe { rkasan_quarantine_on_each_cpu(gather_cpu, ptr::from_ref(&g).cast_mut().cast()) };
    g
}

/// Fills the statistics of the debugfs file `kasan/quarantine`. Sends IPIs: not with interrupts
/// disabled.
///
/// # Safety
///
/// `stats` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn rkasan_quarantine_stats(stats: *mut RawStats) {
    let g = gather(0);
    let (ring, peak) = {
        let mut guard = RingGuard::lock();
        let ring = guard.ring().stats();
        (ring, PEAK_BYTES.load(Ordering::Relaxed))
    };
    let ring_balanced = ring.queued_objects
        == ring
            .held_objects
            .wrapping_add(ring.evicted_objects)
            .wrapping_add(ring.removed_objects);
    let sum = |a: &AtomicUsize, b: &AtomicUsize| {
        a.load(Ordering::Relaxed)
            .wrapping_add(b.load(Ordering::Relaxed))
    };
    let removed = sum(&g.removed, &RETIRED_REMOVED).wrapping_add(ring.removed_objects);
    let raw = RawStats {
        held_bytes: ring.held_bytes,
        held_objects: ring.held_objects,
        percpu_bytes: g.bytes.load(Ordering::Relaxed),
        percpu_objects: g.objects.load(Ordering::Relaxed),
        size: ring.size,
        max_size: ring.max_size,
        batch_size: ring.batch_size,
        batches: ring.batches,
        batches_in_use: ring.batches_in_use,
        peak_bytes: peak,
        puts: sum(&g.puts, &RETIRED_PUTS),
        spilled: sum(&g.spilled, &RETIRED_SPILLED),
        evicted: ring.evicted_objects,
        removed,
        offlined: sum(&g.offlined, &RETIRED_OFFLINED),
        freed: FREED.load(Ordering::Relaxed),
        cache_removals: ring.cache_removals,
        ring_full: ring.ring_full,
        consistent: ring_balanced && !g.unbalanced.load(Ordering::Relaxed),
    };
    // SAFETY: Per the caller.
    unsafe { stats.write(raw) };
}

/// The bytes of an early parameter's argument, `None` for no `=value`.
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string.
pub(crate) unsafe fn arg_bytes<'a>(arg: *const c_char) -> Option<&'a [u8]> {
    if arg.is_null() {
        return None;
    }
    // SAFETY: Non-null, and NUL-terminated per the caller; the command line does not change
    // while it is parsed.
    Some(unsafe { kernel_cstr::bytes(arg) })
}

/// `early_kasan_quarantine_size()`: parses and stores `kasan.quarantine_size=<size>` (bytes,
/// with an optional `K`/`M`/`G`/`T`/`P`/`E` suffix) or `=<percent>%`. Returns 0, or `-EINVAL`
/// (`-ERANGE` for a size that overflows) and keeps the previous setting.
///
/// # Safety
///
/// `arg` is null or a NUL-terminated string. Called before other CPUs run (early parameters).
#[no_mangle]
pub unsafe extern "C" fn rkasan_quarantine_size_param(arg: *const c_char) -> c_int {
    // SAFETY: Guaranteed by the caller.
    match params::early_kasan_quarantine_size(unsafe { arg_bytes(arg) }) {
        Ok(size) => {
            store_setting(size);
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// The KUnit hooks: parsing without storing, and the state of the quarantine.
#[cfg(CONFIG_KASAN_RUST_KUNIT_TEST)]
pub mod kunit_hooks {
    use super::*;

    /// Parses `kasan.quarantine_size=` like [`rkasan_quarantine_size_param`] but stores the
    /// result in `kind` (0 default, 1 bytes, 2 percent) and `value` instead of the setting, on
    /// success only.
    ///
    /// # Safety
    ///
    /// `arg` is null or a NUL-terminated string; `kind` and `value` are valid for writes.
    #[no_mangle]
    pub unsafe extern "C" fn rkasan_parse_quarantine_size(
        arg: *const c_char,
        kind: *mut c_int,
        value: *mut c_ulong,
    ) -> c_int {
        // SAFETY: Guaranteed by the caller.
        match params::early_kasan_quarantine_size(unsafe { arg_bytes(arg) }) {
            Ok(size) => {
                let (k, v) = encode(size);
                // SAFETY: Guaranteed by the caller.
                unsafe {
                    *kind = k;
                    *value = v;
                }
                0
            }
            Err(err) => err.to_errno(),
        }
    }

    /// Whether the quarantine holds the object with the link `qlink`, in a queue, a shrink list
    /// or the ring. Sends IPIs and holds the lock while scanning: for tests only.
    #[no_mangle]
    pub extern "C" fn rkasan_quarantine_holds(qlink: *const QNode) -> bool {
        let node = qlink as usize;
        if node == 0 {
            return false;
        }
        let is_node = |n: NonNull<QNode>| n.as_ptr() as usize == node;
        if gather(node).found.load(Ordering::Relaxed) {
            return true;
        }
        for cpu in possible_cpus() {
            // SAFETY: `cpu` is possible.
            let mut shrink = unsafe { ShrinkGuard::lock(cpu) };
            if shrink.list().iter().any(is_node) {
                return true;
            }
        }
        let mut guard = RingGuard::lock();
        let ring = guard.ring();
        (0..BATCHES).any(|i| ring.batch(i).is_some_and(|b| b.iter().any(is_node)))
    }

    /// The `kasan.quarantine_size` setting as `kind` and `value`.
    ///
    /// # Safety
    ///
    /// `kind` and `value` are valid for writes.
    #[no_mangle]
    pub unsafe extern "C" fn rkasan_quarantine_get_size(kind: *mut c_int, value: *mut c_ulong) {
        let (k, v) = {
            let _guard = RingGuard::lock();
            encode(setting())
        };
        // SAFETY: Guaranteed by the caller.
        unsafe {
            *kind = k;
            *value = v;
        }
    }

    /// Changes the `kasan.quarantine_size` setting (`kind` and `value` as from
    /// [`rkasan_parse_quarantine_size`]; an unknown kind or a percentage above 100 is ignored)
    /// and applies it at once: the limits are recomputed and one batch is evicted if the ring
    /// is above the new bound, as by `kasan_quarantine_reduce()`.
    #[no_mangle]
    pub extern "C" fn rkasan_quarantine_set_size(kind: c_int, value: c_ulong) {
        let size = match kind {
            SIZE_DEFAULT => QuarantineSize::Default,
            SIZE_BYTES => QuarantineSize::Bytes(value),
            SIZE_PERCENT => match u8::try_from(value) {
                Ok(p) if p <= 100 => QuarantineSize::Percent(p),
                _ => return,
            },
            _ => return,
        };
        reduce(Some(size));
    }

    /// The evictions from the ring so far (one per batch `kasan_quarantine_reduce()` took
    /// out). Read under the lock, which an eviction holds while it counts itself and releases
    /// before it frees any object: a count read after an object came back to the slab allocator
    /// includes its eviction.
    #[no_mangle]
    pub extern "C" fn rkasan_quarantine_evictions() -> c_ulong {
        let mut guard = RingGuard::lock();
        guard.ring().stats().evicted_batches
    }

    /// Restarts the peak of the ring's bytes from what it holds now.
    #[no_mangle]
    pub extern "C" fn rkasan_quarantine_reset_peak() {
        let guard = RingGuard::lock();
        PEAK_BYTES.store(0, Ordering::Relaxed);
        note_peak(&guard);
    }
}
