// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the Rust KASAN quarantine (CONFIG_KASAN_RUST_QUARANTINE)
 * that need kernel threads and private slab caches; the Rust suite rkasan
 * (rkasan_test.rs) has the simple cases. No test triggers a KASAN report.
 */

#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/irqflags.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "../slab.h"
#include "kasan.h"
#include "rkasan.h"

/* Rust (kernel_quarantine.rs), for this suite only. */
unsigned long rkasan_quarantine_evictions(void);

#define QUARANTINE_PERCPU_SIZE SZ_1M
#define RKASAN_QSIZE_BYTES 1

/* The quarantine's bound during the stress test: eviction on the hot path. */
#define STRESS_QUARANTINE_SIZE SZ_16M
#define STRESS_OPS 200000
#define STRESS_SLOTS 64
#define STRESS_MAX_SIZE SZ_64K
#define STRESS_CACHE_SIZE 192

static bool slab_counts_slabs(void)
{
	/* kmem_cache_shrink() can only tell that all slabs went away with this. */
	return IS_ENABLED(CONFIG_SLUB_DEBUG);
}

struct quarantine_size {
	int kind;
	unsigned long value;
};

static void restore_quarantine_size(void *data)
{
	struct quarantine_size *old = data;

	rkasan_quarantine_set_size(old->kind, old->value);
}

/*
 * Sets kasan.quarantine_size (as bytes) for the rest of the case: the old
 * setting comes back when the case ends, also when an assertion aborts it.
 * Returns the old setting.
 */
static struct quarantine_size *set_quarantine_bytes(struct kunit *test,
						    unsigned long bytes)
{
	struct quarantine_size *old;
	int err;

	old = kunit_kzalloc(test, sizeof(*old), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, old);
	rkasan_quarantine_get_size(&old->kind, &old->value);
	err = kunit_add_action_or_reset(test, restore_quarantine_size, old);
	KUNIT_ASSERT_EQ(test, err, 0);
	rkasan_quarantine_set_size(RKASAN_QSIZE_BYTES, bytes);
	return old;
}

/* A bound no ring reaches: nothing is evicted while it is set. */
#define UNREACHABLE_QUARANTINE_SIZE (ULONG_MAX / 4)

#define REMOVE_OBJECTS 64

/*
 * What the slab allocator itself counts for @cache (CONFIG_SLUB_DEBUG):
 * the objects its slabs have room for. Objects in per-CPU slabs and sheaves
 * count as in use until a flush, so only "none at all" is exact.
 */
static unsigned long slab_objects(struct kmem_cache *cache)
{
	struct slabinfo sinfo = {};

	if (!slab_counts_slabs())
		return 0;
	get_slabinfo(cache, &sinfo);
	return sinfo.num_objs;
}

/*
 * The quarantine holds freed objects of a private cache: the slab allocator
 * does not hand them out again, and keeps their slabs. A cache removal
 * (kmem_cache_shrink()) takes them out of the quarantine and gives them
 * back: all of the cache's slabs can be released. The quarantine's bound is
 * set out of reach for the case, so no eviction can free an object early;
 * the counts come from the test and from the slab allocator, not from the
 * quarantine's own ledger.
 */
static void remove_cache_returns_objects(struct kunit *test)
{
	struct rkasan_quarantine_stats before, after;
	void *objs[REMOVE_OBJECTS], *again[REMOVE_OBJECTS];
	struct qlist_node *qlink[REMOVE_OBJECTS];
	unsigned long evictions;
	struct kmem_cache *cache;
	int i, j, reused = 0;

	cache = kmem_cache_create("rkasan_q_test", 200, 0, SLAB_NO_MERGE, NULL);
	KUNIT_ASSERT_NOT_NULL(test, cache);
	for (i = 0; i < REMOVE_OBJECTS; i++) {
		objs[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
		qlink[i] = rkasan_quarantine_object_qlink(objs[i]);
		KUNIT_ASSERT_NOT_NULL(test, qlink[i]);
	}

	set_quarantine_bytes(test, UNREACHABLE_QUARANTINE_SIZE);
	evictions = rkasan_quarantine_evictions();
	rkasan_quarantine_stats(&before);

	for (i = 0; i < REMOVE_OBJECTS; i++)
		kmem_cache_free(cache, objs[i]);
	for (i = 0; i < REMOVE_OBJECTS; i++) {
		KUNIT_EXPECT_TRUE(test, rkasan_is_poisoned(objs[i], 1));
		KUNIT_EXPECT_TRUE(test, rkasan_quarantine_holds(qlink[i]));
	}

	/* The slab allocator does not see them as free: it hands out others. */
	for (i = 0; i < REMOVE_OBJECTS; i++) {
		again[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, again[i]);
		for (j = 0; j < REMOVE_OBJECTS; j++)
			reused += again[i] == objs[j];
	}
	KUNIT_EXPECT_EQ(test, reused, 0);
	for (i = 0; i < REMOVE_OBJECTS; i++)
		kmem_cache_free(cache, again[i]);
	if (slab_counts_slabs())
		KUNIT_EXPECT_GE(test, slab_objects(cache), 2 * REMOVE_OBJECTS);

	if (slab_counts_slabs())
		KUNIT_EXPECT_EQ(test, kmem_cache_shrink(cache), 0);
	else
		kmem_cache_shrink(cache);
	rkasan_quarantine_stats(&after);
	for (i = 0; i < REMOVE_OBJECTS; i++)
		KUNIT_EXPECT_FALSE(test, rkasan_quarantine_holds(qlink[i]));
	if (slab_counts_slabs())
		KUNIT_EXPECT_EQ(test, slab_objects(cache), 0);
	/* Others may free and shrink at the same time: at least ours. */
	KUNIT_EXPECT_GE(test, after.puts - before.puts, 2 * REMOVE_OBJECTS);
	KUNIT_EXPECT_GE(test, after.removed - before.removed,
			2 * REMOVE_OBJECTS);
	KUNIT_EXPECT_GE(test, after.freed - before.freed, 2 * REMOVE_OBJECTS);
	KUNIT_EXPECT_EQ(test, rkasan_quarantine_evictions(), evictions);
	kmem_cache_destroy(cache);
}

/* The text of the debugfs file kasan/quarantine. */
static void quarantine_stats_text(struct kunit *test)
{
	static const char * const keys[] = {
		"bytes_held:", "bytes_bound:", "batches_in_use:", "objects_put:",
		"objects_evicted:", "cache_removals:", "consistent:       1\n",
	};
	struct seq_file m = { .size = PAGE_SIZE };
	int i;

	m.buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m.buf);
	KUNIT_EXPECT_EQ(test, rkasan_quarantine_show(&m, NULL), 0);
	KUNIT_EXPECT_FALSE(test, seq_has_overflowed(&m));
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(m.buf, keys[i]), "%s", keys[i]);
}

/* The debugfs file kasan/quarantine exists. */
static void debugfs_stats_file(struct kunit *test)
{
	struct dentry *dir, *file;

	if (!IS_ENABLED(CONFIG_DEBUG_FS))
		kunit_skip(test, "no CONFIG_DEBUG_FS");
	dir = debugfs_lookup("kasan", NULL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dir);
	file = debugfs_lookup("quarantine", dir);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, file);
	if (!IS_ERR_OR_NULL(file))
		dput(file);
	dput(dir);
}

struct stress_ctx {
	struct kmem_cache *cache;	/* shared by the workers */
	atomic_t running;		/* workers not done yet */
	struct completion workers_done;
	struct completion churn_done;
	bool stop_churn;
	atomic_long_t ops;
	atomic_long_t frees;
	atomic_long_t slab_frees;	/* frees of slab objects: quarantined */
	atomic_long_t bytes_freed;
	atomic_long_t not_poisoned;	/* quarantined objects found accessible */
	atomic_long_t evicted_early;	/* freed objects evicted before the check */
	atomic_long_t alloc_failures;	/* allocations that may not fail */
	atomic_long_t costly_failures;	/* above PAGE_ALLOC_COSTLY_ORDER */
	atomic_long_t churn_caches;
	atomic_long_t churn_objects;
	atomic_long_t churn_leaks;	/* kmem_cache_shrink() kept slabs */
};

struct stress_worker {
	struct stress_ctx *ctx;
	struct task_struct *task;
};

static size_t stress_size(struct rnd_state *rs)
{
	/* Log-uniform from 8 bytes to 64 KiB. */
	unsigned int shift = prandom_u32_state(rs) % 13;
	size_t base = 8UL << shift;

	return min_t(size_t, base + prandom_u32_state(rs) % base,
		     STRESS_MAX_SIZE);
}

/*
 * Whether kmalloc(@size, GFP_KERNEL) may fail: above KMALLOC_MAX_CACHE_SIZE
 * it asks the page allocator for 2^get_order(size) pages, which may fail
 * above PAGE_ALLOC_COSTLY_ORDER (fragmentation, and the memory the other
 * CPUs' quarantines hold until they evict it). Slab objects and smaller
 * page allocations are "too small to fail": GFP_KERNEL retries them.
 */
static bool stress_alloc_may_fail(size_t size)
{
	return size > KMALLOC_MAX_CACHE_SIZE &&
	       get_order(size) > PAGE_ALLOC_COSTLY_ORDER;
}

static void stress_free(struct stress_ctx *ctx, void *p, size_t size)
{
	/* Large kmalloc objects go back to the page allocator at once. */
	bool slab = size <= KMALLOC_MAX_CACHE_SIZE;
	/* Its last byte: the first granule also holds the free track mark. */
	const char *last = (const char *)p + (size ? size : STRESS_CACHE_SIZE) - 1;
	unsigned long evictions = 0;

	if (slab)
		evictions = rkasan_quarantine_evictions();
	if (size)
		kfree(p);
	else
		kmem_cache_free(ctx->cache, p);

	/*
	 * A freed slab object is poisoned, first to last byte, and quarantined. It leaves the
	 * quarantine only when an eviction takes its batch (no cache removal
	 * touches these caches, and no CPU goes offline), which another CPU
	 * may do at any time, after which the object may be handed out and
	 * unpoisoned again before the check below. So an accessible object is
	 * a failure only if no eviction happened since before the free: an
	 * eviction counts itself under the quarantine lock before it frees
	 * anything, and the read barrier keeps the shadow read before the
	 * second count, so an object reused in between shows a new count.
	 */
	if (slab) {
		atomic_long_inc(&ctx->slab_frees);
		if (!rkasan_is_poisoned(p, 1) || !rkasan_is_poisoned(last, 1)) {
			/* The shadow read before the count: see above. */
			smp_rmb();
			if (rkasan_quarantine_evictions() == evictions)
				atomic_long_inc(&ctx->not_poisoned);
			else
				atomic_long_inc(&ctx->evicted_early);
		}
	}
	atomic_long_inc(&ctx->frees);
	atomic_long_add(size ? size : STRESS_CACHE_SIZE, &ctx->bytes_freed);
}

static int stress_worker_fn(void *arg)
{
	struct stress_worker *w = arg;
	struct stress_ctx *ctx = w->ctx;
	void *slot[STRESS_SLOTS] = {};
	size_t size[STRESS_SLOTS] = {};	/* 0: an object of ctx->cache */
	struct rnd_state rs;
	int i;

	prandom_seed_state(&rs, get_random_u64());
	for (i = 0; i < STRESS_OPS; i++) {
		unsigned int s = prandom_u32_state(&rs) % STRESS_SLOTS;
		bool may_fail = false;

		if (slot[s]) {
			stress_free(ctx, slot[s], size[s]);
			slot[s] = NULL;
		} else {
			if (prandom_u32_state(&rs) % 4 == 0) {
				size[s] = 0;
				slot[s] = kmem_cache_alloc(ctx->cache, GFP_KERNEL);
			} else {
				size[s] = stress_size(&rs);
				may_fail = stress_alloc_may_fail(size[s]);
				slot[s] = kmalloc(size[s], may_fail ?
						  GFP_KERNEL | __GFP_NOWARN :
						  GFP_KERNEL);
			}
			if (slot[s])
				memset(slot[s], 0x5a,
				       size[s] ? min_t(size_t, size[s], 64) : 64);
			else if (may_fail)
				atomic_long_inc(&ctx->costly_failures);
			else
				atomic_long_inc(&ctx->alloc_failures);
		}
		if (i % 256 == 0)
			cond_resched();
	}
	for (i = 0; i < STRESS_SLOTS; i++)
		if (slot[i])
			stress_free(ctx, slot[i], size[i]);
	atomic_long_add(STRESS_OPS, &ctx->ops);

	if (atomic_dec_and_test(&ctx->running))
		complete(&ctx->workers_done);
	return 0;
}

/* Creates and destroys caches whose objects are in the quarantine. */
static int stress_churn_fn(void *arg)
{
	struct stress_ctx *ctx = arg;
	struct rnd_state rs;
	void *objs[128];

	prandom_seed_state(&rs, get_random_u64());
	while (!READ_ONCE(ctx->stop_churn)) {
		unsigned int size = 16 + prandom_u32_state(&rs) % 1024;
		unsigned int n = 16 + prandom_u32_state(&rs) % 112;
		struct kmem_cache *cache;
		unsigned int i, got = 0;

		cache = kmem_cache_create("rkasan_q_churn", size, 0,
					  SLAB_NO_MERGE, NULL);
		if (!cache) {
			atomic_long_inc(&ctx->alloc_failures);
			continue;
		}
		for (i = 0; i < n; i++) {
			objs[got] = kmem_cache_alloc(cache, GFP_KERNEL);
			if (objs[got])
				got++;
		}
		for (i = 0; i < got; i++)
			kmem_cache_free(cache, objs[i]);
		atomic_long_add(got, &ctx->churn_objects);

		/* Every other cache is destroyed with its objects quarantined. */
		if (atomic_long_inc_return(&ctx->churn_caches) % 2 &&
		    kmem_cache_shrink(cache) && slab_counts_slabs())
			atomic_long_inc(&ctx->churn_leaks);
		kmem_cache_destroy(cache);
		cond_resched();
	}
	complete(&ctx->churn_done);
	return 0;
}

/*
 * One worker per online CPU frees and allocates kmalloc objects of 8 B to
 * 64 KiB and objects of a shared cache in random order, under a 16 MiB
 * quarantine, while a thread creates and destroys caches with objects in
 * the quarantine. Checks: the setting gives the bound upstream's formula
 * does, the ring never holds much more than its bound (by at most what the
 * CPUs can spill before a reduction), each per-CPU queue stays under 1 MiB
 * plus an object, the ledgers add up, every slab free the test made was
 * taken in, freed slab objects stay poisoned until evicted, and every
 * object comes back: the shared cache and every churned cache can release
 * all of their slabs afterwards.
 */
static void rkasan_quarantine_stress(struct kunit *test)
{
	struct rkasan_quarantine_stats before, st, after;
	unsigned long max_held = 0, max_percpu = 0, max_total = 0, samples = 0;
	unsigned long slack, percpu_slack, elapsed_us, bound, old_bound;
	unsigned int online = num_online_cpus();
	struct quarantine_size *old;
	struct task_struct *churn;
	struct stress_worker *workers;
	struct stress_ctx *ctx;
	int kind, cpu, n = 0, i;
	unsigned long value;
	ktime_t start;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	workers = kunit_kcalloc(test, nr_cpu_ids, sizeof(*workers), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	KUNIT_ASSERT_NOT_NULL(test, workers);
	init_completion(&ctx->workers_done);
	init_completion(&ctx->churn_done);
	ctx->cache = kmem_cache_create("rkasan_q_stress", STRESS_CACHE_SIZE, 0,
				       SLAB_NO_MERGE, NULL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->cache);

	rkasan_quarantine_stats(&st);
	old_bound = st.max_size;
	old = set_quarantine_bytes(test, STRESS_QUARANTINE_SIZE);
	kunit_info(test, "kasan.quarantine_size: kind %d value %lu, bound %lu KiB\n",
		   old->kind, old->value, old_bound >> 10);
	rkasan_quarantine_get_size(&kind, &value);
	KUNIT_EXPECT_EQ(test, kind, RKASAN_QSIZE_BYTES);
	KUNIT_EXPECT_EQ(test, value, STRESS_QUARANTINE_SIZE);
	/*
	 * quarantine.c's kasan_quarantine_reduce(): the per-CPU queues' share,
	 * QUARANTINE_PERCPU_SIZE per online CPU, comes off the total; a batch
	 * is 2 * total / QUARANTINE_BATCHES, at least QUARANTINE_PERCPU_SIZE.
	 */
	rkasan_quarantine_stats(&before);
	KUNIT_EXPECT_EQ(test, before.max_size,
			STRESS_QUARANTINE_SIZE - online * QUARANTINE_PERCPU_SIZE);
	KUNIT_EXPECT_EQ(test, before.batch_size,
			max(2UL * STRESS_QUARANTINE_SIZE / before.batches,
			    (unsigned long)QUARANTINE_PERCPU_SIZE));
	/* Evict what earlier tests left beyond the new bound. */
	for (i = 0; i < 4096 && before.held_bytes > before.max_size; i++) {
		kasan_quarantine_reduce();
		rkasan_quarantine_stats(&before);
	}
	rkasan_quarantine_reset_peak();
	rkasan_quarantine_stats(&before);

	/* A spill is at most 1 MiB plus one object; one per CPU may be in flight. */
	percpu_slack = QUARANTINE_PERCPU_SIZE + 2 * KMALLOC_MAX_CACHE_SIZE;
	slack = 2 * online * percpu_slack;

	churn = kthread_run(stress_churn_fn, ctx, "rkasan_q_churn");
	KUNIT_ASSERT_FALSE(test, IS_ERR(churn));

	atomic_set(&ctx->running, 1);
	start = ktime_get();
	for_each_online_cpu(cpu) {
		struct task_struct *t;

		workers[n].ctx = ctx;
		t = kthread_create_on_cpu(stress_worker_fn, &workers[n], cpu,
					  "rkasan_q_stress/%u");
		if (IS_ERR(t))
			continue;
		atomic_inc(&ctx->running);
		workers[n].task = t;
		wake_up_process(t);
		n++;
	}
	if (atomic_dec_and_test(&ctx->running))
		complete(&ctx->workers_done);

	while (!wait_for_completion_timeout(&ctx->workers_done, 1)) {
		unsigned long total;

		rkasan_quarantine_stats(&st);
		total = st.held_bytes + st.percpu_bytes;
		max_held = max(max_held, st.held_bytes);
		max_percpu = max(max_percpu, st.percpu_bytes);
		max_total = max(max_total, total);
		samples++;
		KUNIT_EXPECT_TRUE(test, st.consistent);
		KUNIT_EXPECT_LE(test, st.held_bytes, st.max_size + slack);
		KUNIT_EXPECT_LE(test, st.percpu_bytes, online * percpu_slack);
	}
	elapsed_us = ktime_us_delta(ktime_get(), start);

	WRITE_ONCE(ctx->stop_churn, true);
	wait_for_completion(&ctx->churn_done);

	rkasan_quarantine_stats(&after);
	bound = after.max_size;
	KUNIT_EXPECT_GT(test, n, 0);
	KUNIT_EXPECT_TRUE(test, after.consistent);
	KUNIT_EXPECT_LE(test, after.peak_bytes, bound + slack);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->not_poisoned), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->alloc_failures), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->churn_leaks), 0);
	/* Every slab free of the test was taken in (others put more). */
	KUNIT_EXPECT_GE(test, after.puts - before.puts,
			(unsigned long)atomic_long_read(&ctx->slab_frees) +
			atomic_long_read(&ctx->churn_objects));
	KUNIT_EXPECT_GT(test, after.evicted, before.evicted);
	KUNIT_EXPECT_GE(test, after.cache_removals - before.cache_removals,
			(unsigned long)atomic_long_read(&ctx->churn_caches) / 2);

	/* Reduction brings the ring under its bound again. */
	for (i = 0; i < 4096 && after.held_bytes > after.max_size; i++) {
		kasan_quarantine_reduce();
		rkasan_quarantine_stats(&after);
	}
	KUNIT_EXPECT_LE(test, after.held_bytes, after.max_size);

	/* Nothing is lost: every object of the shared cache comes back. */
	if (slab_counts_slabs()) {
		KUNIT_EXPECT_EQ(test, kmem_cache_shrink(ctx->cache), 0);
		KUNIT_EXPECT_EQ(test, slab_objects(ctx->cache), 0);
	}
	kmem_cache_destroy(ctx->cache);

	/* The old setting gives the old bound again. */
	kunit_release_action(test, restore_quarantine_size, old);
	rkasan_quarantine_stats(&st);
	KUNIT_EXPECT_EQ(test, st.max_size, old_bound);

	kunit_info(test,
		   "%d workers x %d ops in %lu ms: %llu ops/s; %ld frees (%ld MiB, %ld evicted before their check), %ld failed costly allocations, %ld churned caches (%ld objects)\n",
		   n, STRESS_OPS, elapsed_us / 1000,
		   div64_u64((u64)atomic_long_read(&ctx->ops) * USEC_PER_SEC,
			     max(elapsed_us, 1UL)),
		   atomic_long_read(&ctx->frees),
		   atomic_long_read(&ctx->bytes_freed) >> 20,
		   atomic_long_read(&ctx->evicted_early),
		   atomic_long_read(&ctx->costly_failures),
		   atomic_long_read(&ctx->churn_caches),
		   atomic_long_read(&ctx->churn_objects));
	kunit_info(test,
		   "bound %lu KiB (+ slack %lu KiB); peak ring %lu KiB, sampled (%lu): ring %lu KiB, per-CPU %lu KiB, total %lu KiB\n",
		   bound >> 10, slack >> 10, after.peak_bytes >> 10, samples,
		   max_held >> 10, max_percpu >> 10, max_total >> 10);
	kunit_info(test,
		   "objects: %lu put, %lu spilled, %lu evicted, %lu removed, %lu freed; %lu cache removals\n",
		   after.puts - before.puts, after.spilled - before.spilled,
		   after.evicted - before.evicted,
		   after.removed - before.removed, after.freed - before.freed,
		   after.cache_removals - before.cache_removals);
}

static struct kunit_case rkasan_quarantine_test_cases[] = {
	KUNIT_CASE(remove_cache_returns_objects),
	KUNIT_CASE(quarantine_stats_text),
	KUNIT_CASE(debugfs_stats_file),
	KUNIT_CASE_SLOW(rkasan_quarantine_stress),
	{}
};

static struct kunit_suite rkasan_quarantine_test_suite = {
	.name = "rkasan_quarantine",
	.test_cases = rkasan_quarantine_test_cases,
};

kunit_test_suite(rkasan_quarantine_test_suite);
