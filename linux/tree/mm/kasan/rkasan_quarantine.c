// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of the Rust KASAN quarantine (CONFIG_KASAN_RUST_QUARANTINE).
 *
 * rkasan/kernel_quarantine.rs holds the logic of mm/kasan/quarantine.c:
 * which queue an object goes to, when a queue spills into the global ring,
 * when and what the ring evicts, what a cache removal moves, the sizing and
 * the statistics. This file keeps what only C can do: the per-CPU storage,
 * the raw spinlocks, SRCU, interrupt masking, IPIs, CPU hotplug, debugfs
 * and the slab internals (free metadata, object to cache, ___cache_free()).
 *
 * Each CPU's queue lives in a struct rkasan_cpu_quarantine and each CPU's
 * cache-removal list in a struct rkasan_shrink_qlist: storage sized for the
 * Rust types (which check at build time that they fit), zero-initialised,
 * which for them is the empty state.
 */

#define pr_fmt(fmt) "kasan: " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/string.h>

#include "../slab.h"
#include "kasan.h"
#include "rkasan.h"

static DEFINE_PER_CPU(struct rkasan_cpu_quarantine, cpu_quarantine);

/* Protects the global ring of batches (QuarantineLocked in Rust). */
static DEFINE_RAW_SPINLOCK(quarantine_lock);

/* Lets kasan_quarantine_remove_cache() wait for objects being evicted. */
DEFINE_STATIC_SRCU(remove_cache_srcu);

struct rkasan_shrink_qlist {
	raw_spinlock_t lock;
	struct rkasan_qlist qlist;
};

static DEFINE_PER_CPU(struct rkasan_shrink_qlist, shrink_qlist) = {
	.lock = __RAW_SPIN_LOCK_UNLOCKED(shrink_qlist.lock),
};

bool kasan_quarantine_put(struct kmem_cache *cache, void *object)
{
	struct kasan_free_meta *meta = kasan_get_free_meta(cache, object);
	unsigned long flags;
	bool ret;

	/* No metadata for this object: no quarantine. */
	if (!meta)
		return false;

	/*
	 * Interrupts stay off until a spilled batch is in the global ring, so
	 * that the on_each_cpu() of kasan_quarantine_remove_cache() sees the
	 * objects either in this CPU's queue or in the ring.
	 */
	local_irq_save(flags);
	ret = rkasan_quarantine_put(this_cpu_ptr(&cpu_quarantine),
				    &meta->quarantine_link, cache->size);
	local_irq_restore(flags);
	return ret;
}

/* Only with interrupts disabled, which make the queue ours. */
struct rkasan_cpu_quarantine *rkasan_quarantine_this_cpu(void)
{
	lockdep_assert_irqs_disabled();
	return this_cpu_ptr(&cpu_quarantine);
}

unsigned long rkasan_quarantine_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void rkasan_quarantine_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

unsigned long rkasan_quarantine_lock(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&quarantine_lock, flags);
	return flags;
}

void rkasan_quarantine_unlock(unsigned long flags)
{
	raw_spin_unlock_irqrestore(&quarantine_lock, flags);
}

struct rkasan_qlist *rkasan_quarantine_shrink_lock(int cpu,
						   unsigned long *flags)
{
	struct rkasan_shrink_qlist *sq = per_cpu_ptr(&shrink_qlist, cpu);

	raw_spin_lock_irqsave(&sq->lock, *flags);
	return &sq->qlist;
}

void rkasan_quarantine_shrink_unlock(int cpu, unsigned long flags)
{
	raw_spin_unlock_irqrestore(&per_cpu_ptr(&shrink_qlist, cpu)->lock,
				   flags);
}

int rkasan_quarantine_this_cpu_id(void)
{
	return smp_processor_id();
}

/* The possible CPU after @cpu (-1 for the first one), or -1 after the last. */
int rkasan_quarantine_next_cpu(int cpu)
{
	unsigned int next = cpumask_next(cpu, cpu_possible_mask);

	return next < nr_cpu_ids ? next : -1;
}

void rkasan_quarantine_on_each_cpu(void (*func)(void *info), void *info)
{
	on_each_cpu(func, info, 1);
}

int rkasan_quarantine_srcu_read_lock(void)
{
	return srcu_read_lock(&remove_cache_srcu);
}

void rkasan_quarantine_srcu_read_unlock(int idx)
{
	srcu_read_unlock(&remove_cache_srcu, idx);
}

void rkasan_quarantine_synchronize_srcu(void)
{
	synchronize_srcu(&remove_cache_srcu);
}

void rkasan_quarantine_cond_resched(void)
{
	cond_resched();
}

unsigned long rkasan_quarantine_totalram_pages(void)
{
	return totalram_pages();
}

unsigned int rkasan_quarantine_online_cpus(void)
{
	return num_online_cpus();
}

struct kmem_cache *rkasan_qlink_to_cache(struct qlist_node *qlink,
					 size_t *size)
{
	struct kmem_cache *cache = virt_to_slab(qlink)->slab_cache;

	*size = cache->size;
	return cache;
}

/* qlink_free() of quarantine.c; @cache may be NULL. */
void rkasan_qlink_free(struct qlist_node *qlink, struct kmem_cache *cache)
{
	struct kasan_free_meta *free_meta;
	void *object;

	if (!cache)
		cache = virt_to_slab(qlink)->slab_cache;
	free_meta = container_of(qlink, struct kasan_free_meta, quarantine_link);
	object = (void *)free_meta - cache->kasan_info.free_meta_offset;

	/*
	 * Keep the metadata for use-after-free-before-realloc reports, but
	 * zero it under init_on_free when it lives in the object: the slab
	 * allocator zeroed the object before KASAN saved it there.
	 */
	if (slab_want_init_on_free(cache) &&
	    cache->kasan_info.free_meta_offset == 0)
		memzero_explicit(free_meta, sizeof(*free_meta));

	___cache_free(cache, object, _THIS_IP_);
}

/* kasan.quarantine_size=<size>|<percent>%, parsed and stored in Rust. */
static int __init early_kasan_quarantine_size(char *arg)
{
	return rkasan_quarantine_size_param(arg);
}
early_param("kasan.quarantine_size", early_kasan_quarantine_size);

/* The debugfs file kasan/quarantine. */
int rkasan_quarantine_show(struct seq_file *m, void *v)
{
	struct rkasan_quarantine_stats st;

	rkasan_quarantine_stats(&st);
	seq_printf(m, "bytes_held:       %lu\n", st.held_bytes + st.percpu_bytes);
	seq_printf(m, "bytes_ring:       %lu\n", st.held_bytes);
	seq_printf(m, "bytes_percpu:     %lu\n", st.percpu_bytes);
	seq_printf(m, "bytes_counted:    %lu\n", st.size);
	seq_printf(m, "bytes_bound:      %lu\n", st.max_size);
	seq_printf(m, "bytes_ring_peak:  %lu\n", st.peak_bytes);
	seq_printf(m, "batch_size:       %lu\n", st.batch_size);
	seq_printf(m, "batches_in_use:   %lu\n", st.batches_in_use);
	seq_printf(m, "batches:          %lu\n", st.batches);
	seq_printf(m, "objects_held:     %lu\n",
		   st.held_objects + st.percpu_objects);
	seq_printf(m, "objects_put:      %lu\n", st.puts);
	seq_printf(m, "objects_evicted:  %lu\n", st.evicted);
	seq_printf(m, "objects_removed:  %lu\n", st.removed);
	seq_printf(m, "objects_offlined: %lu\n", st.offlined);
	seq_printf(m, "objects_freed:    %lu\n", st.freed);
	seq_printf(m, "cache_removals:   %lu\n", st.cache_removals);
	seq_printf(m, "ring_full:        %lu\n", st.ring_full);
	seq_printf(m, "consistent:       %d\n", st.consistent);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(rkasan_quarantine);

static int __init kasan_cpu_quarantine_init(void)
{
	struct dentry *dir;
	int ret;

	ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "mm/kasan:online",
				rkasan_cpu_online, rkasan_cpu_offline);
	if (ret < 0) {
		pr_err("cpu quarantine register failed [%d]\n", ret);
		return ret;
	}

	dir = debugfs_create_dir("kasan", NULL);
	debugfs_create_file("quarantine", 0444, dir, NULL,
			    &rkasan_quarantine_fops);
	return 0;
}
late_initcall(kasan_cpu_quarantine_init);

#if IS_ENABLED(CONFIG_KASAN_RUST_KUNIT_TEST)
/*
 * For the KUnit tests (built in): the quarantine link of a slab object, or
 * NULL if it has no free metadata.
 */
struct qlist_node *rkasan_quarantine_object_qlink(const void *object)
{
	struct slab *slab = virt_to_slab(object);
	struct kasan_free_meta *meta;

	if (!slab)
		return NULL;
	meta = kasan_get_free_meta(slab->slab_cache, object);
	return meta ? &meta->quarantine_link : NULL;
}
#endif
