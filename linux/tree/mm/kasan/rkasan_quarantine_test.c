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

#include "kasan.h"
#include "rkasan.h"

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

/*
 * A cache removal (kmem_cache_shrink()) takes the objects of a private
 * cache out of the quarantine and gives them back to the slab allocator:
 * all of its slabs can be released.
 */
static void remove_cache_returns_objects(struct kunit *test)
{
	struct kmem_cache *cache;
	struct qlist_node *first;
	void *objs[64];
	int i;

	cache = kmem_cache_create("rkasan_q_test", 200, 0, SLAB_NO_MERGE, NULL);
	KUNIT_ASSERT_NOT_NULL(test, cache);
	for (i = 0; i < ARRAY_SIZE(objs); i++) {
		objs[i] = kmem_cache_alloc(cache, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, objs[i]);
	}
	first = rkasan_quarantine_object_qlink(objs[0]);
	KUNIT_ASSERT_NOT_NULL(test, first);

	for (i = 0; i < ARRAY_SIZE(objs); i++)
		kmem_cache_free(cache, objs[i]);
	KUNIT_EXPECT_TRUE(test, rkasan_is_poisoned(objs[0], 1));
	KUNIT_EXPECT_TRUE(test, rkasan_quarantine_holds(first));

	if (slab_counts_slabs())
		KUNIT_EXPECT_EQ(test, kmem_cache_shrink(cache), 0);
	else
		kmem_cache_shrink(cache);
	KUNIT_EXPECT_FALSE(test, rkasan_quarantine_holds(first));
	kmem_cache_destroy(cache);
}

/* The text of the debugfs file kasan/quarantine, and the file itself. */
static void debugfs_stats_file(struct kunit *test)
{
	static const char * const keys[] = {
		"bytes_held:", "bytes_bound:", "batches_in_use:", "objects_put:",
		"objects_evicted:", "cache_removals:", "consistent:       1\n",
	};
	struct seq_file m = { .size = PAGE_SIZE };
	struct dentry *dir, *file;
	int i;

	m.buf = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m.buf);
	KUNIT_EXPECT_EQ(test, rkasan_quarantine_show(&m, NULL), 0);
	KUNIT_EXPECT_FALSE(test, seq_has_overflowed(&m));
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		KUNIT_EXPECT_NOT_NULL_MSG(test, strstr(m.buf, keys[i]), "%s", keys[i]);

	if (!IS_ENABLED(CONFIG_DEBUG_FS))
		return;
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
	atomic_long_t bytes_freed;
	atomic_long_t not_poisoned;	/* freed slab objects found accessible */
	atomic_long_t alloc_failures;
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

static void stress_free(struct stress_ctx *ctx, void *p, size_t size)
{
	if (size)
		kfree(p);
	else
		kmem_cache_free(ctx->cache, p);

	/*
	 * A freed slab object is poisoned and, in the quarantine, not reused
	 * soon: a use-after-free would be caught. Large kmalloc objects go
	 * back to the page allocator at once and may be reused.
	 */
	if (size <= KMALLOC_MAX_CACHE_SIZE && !rkasan_is_poisoned(p, 1))
		atomic_long_inc(&ctx->not_poisoned);
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

		if (slot[s]) {
			stress_free(ctx, slot[s], size[s]);
			slot[s] = NULL;
		} else {
			if (prandom_u32_state(&rs) % 4 == 0) {
				size[s] = 0;
				slot[s] = kmem_cache_alloc(ctx->cache, GFP_KERNEL);
			} else {
				size[s] = stress_size(&rs);
				slot[s] = kmalloc(size[s], GFP_KERNEL);
			}
			if (slot[s])
				memset(slot[s], 0x5a,
				       size[s] ? min_t(size_t, size[s], 64) : 64);
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
 * the quarantine. Checks: the ring never holds much more than its bound
 * (by at most what the CPUs can spill before a reduction), each per-CPU
 * queue stays under 1 MiB plus an object, the ledgers add up, freed slab
 * objects stay poisoned, and every object comes back: the shared cache and
 * every churned cache can release all of their slabs afterwards.
 */
static void rkasan_quarantine_stress(struct kunit *test)
{
	struct rkasan_quarantine_stats before, st, after;
	unsigned long max_held = 0, max_percpu = 0, max_total = 0, samples = 0;
	unsigned long slack, percpu_slack, old_value, elapsed_us, bound;
	unsigned int online = num_online_cpus();
	struct task_struct *churn;
	struct stress_worker *workers;
	struct stress_ctx *ctx;
	int old_kind, cpu, n = 0, i;
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

	rkasan_quarantine_get_size(&old_kind, &old_value);
	rkasan_quarantine_stats(&st);
	kunit_info(test, "kasan.quarantine_size: kind %d value %lu, bound %lu KiB\n",
		   old_kind, old_value, st.max_size >> 10);
	rkasan_quarantine_set_size(RKASAN_QSIZE_BYTES, STRESS_QUARANTINE_SIZE);
	/* Evict what earlier tests left beyond the new bound. */
	rkasan_quarantine_stats(&before);
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
	KUNIT_EXPECT_GE(test, after.puts - before.puts,
			(unsigned long)atomic_long_read(&ctx->frees) / 2);
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
	if (slab_counts_slabs())
		KUNIT_EXPECT_EQ(test, kmem_cache_shrink(ctx->cache), 0);
	kmem_cache_destroy(ctx->cache);

	rkasan_quarantine_set_size(old_kind, old_value);

	kunit_info(test,
		   "%d workers x %d ops in %lu ms: %llu ops/s; %ld frees (%ld MiB), %ld churned caches (%ld objects)\n",
		   n, STRESS_OPS, elapsed_us / 1000,
		   div64_u64((u64)atomic_long_read(&ctx->ops) * USEC_PER_SEC,
			     max(elapsed_us, 1UL)),
		   atomic_long_read(&ctx->frees),
		   atomic_long_read(&ctx->bytes_freed) >> 20,
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
	KUNIT_CASE(debugfs_stats_file),
	KUNIT_CASE_SLOW(rkasan_quarantine_stress),
	{}
};

static struct kunit_suite rkasan_quarantine_test_suite = {
	.name = "rkasan_quarantine",
	.test_cases = rkasan_quarantine_test_cases,
};

kunit_test_suite(rkasan_quarantine_test_suite);
