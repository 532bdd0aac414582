// SPDX-License-Identifier: GPL-2.0
/*
 * Microbenchmarks of the KASAN runtime, to compare a kernel without KASAN,
 * KASAN with the C runtime and KASAN with the Rust runtime (CONFIG_KASAN_RUST)
 * built from one tree. Not a test: every case passes and prints its median
 * cost as a KTAP diagnostic line
 *
 *     # <case>: bench <name> <ns per op>
 *
 * This file is built with the kernel's normal KASAN instrumentation (mm/ is
 * instrumented), so its loads, stores and mem*() calls go through the runtime
 * when KASAN is on; it also builds with KASAN off. The report case needs the
 * kasan_multi_shot boot parameter and silences the console while it runs:
 * printk still formats and stores every line of a report, no console prints
 * them.
 */

#include <kunit/test.h>
#include <linux/bits.h>
#include <linux/compiler.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#define BENCH_BUF_SIZE SZ_1M
/* One sample lasts at least this long; a case takes BENCH_SAMPLES of them. */
#define BENCH_SAMPLE_NS (2 * NSEC_PER_MSEC)
#define BENCH_SAMPLES 9
#define BENCH_MAX_ITERS BIT(32)

struct bench_arg {
	u8 *buf;
	u8 *dst;
	size_t size;
	struct kmem_cache *cache;
	bool store;
	bool rand;
};

typedef void (*bench_fn)(struct bench_arg *a, unsigned long iters);

static int bench_cmp(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Runs fn(a, iters) BENCH_SAMPLES times and prints the median in ns per op
 * (3 decimals).
 */
static void bench_samples(struct kunit *test, const char *name, bench_fn fn,
			  struct bench_arg *a, unsigned long iters,
			  unsigned long ops_per_iter)
{
	u64 samples[BENCH_SAMPLES];
	u64 t0, t, ps;
	int i;

	for (i = 0; i < BENCH_SAMPLES; i++) {
		t0 = ktime_get_ns();
		fn(a, iters);
		t = ktime_get_ns() - t0;
		/* picoseconds per op */
		samples[i] = div64_u64(t * 1000, (u64)iters * ops_per_iter);
		cond_resched();
	}
	sort(samples, BENCH_SAMPLES, sizeof(samples[0]), bench_cmp, NULL);
	ps = samples[BENCH_SAMPLES / 2];
	kunit_info(test, "bench %s %llu.%03llu\n", name, ps / 1000, ps % 1000);
}

/*
 * Runs fn with an iteration count that takes at least BENCH_SAMPLE_NS, then
 * BENCH_SAMPLES times more, and prints the median in ns per op (3 decimals).
 */
static void bench_run(struct kunit *test, const char *name, bench_fn fn,
		      struct bench_arg *a, unsigned long ops_per_iter)
{
	unsigned long iters = 1;
	u64 t0, t;

	for (;;) {
		t0 = ktime_get_ns();
		fn(a, iters);
		t = ktime_get_ns() - t0;
		if (t >= BENCH_SAMPLE_NS || iters >= BENCH_MAX_ITERS)
			break;
		iters *= 2;
	}
	bench_samples(test, name, fn, a, iters, ops_per_iter);
}

/* Ops per iteration of the access loops. */
#define BENCH_ACCESSES 256

/* A cheap generator kept in registers: the random loops touch no other memory. */
static __always_inline u32 bench_next(u32 x)
{
	return x * 1664525 + 1013904223;
}

/* One instrumented access of size bytes at p; size is a constant. */
static __always_inline u64 bench_access_one(u8 *p, size_t size, bool store,
					    u64 v)
{
	switch (size) {
	case 1:
		if (store)
			__WRITE_ONCE(*(u8 *)p, v);
		else
			v = __READ_ONCE(*(u8 *)p);
		break;
	case 2:
		if (store)
			__WRITE_ONCE(*(u16 *)p, v);
		else
			v = __READ_ONCE(*(u16 *)p);
		break;
	case 4:
		if (store)
			__WRITE_ONCE(*(u32 *)p, v);
		else
			v = __READ_ONCE(*(u32 *)p);
		break;
	case 8:
		if (store)
			__WRITE_ONCE(*(u64 *)p, v);
		else
			v = __READ_ONCE(*(u64 *)p);
		break;
	default:
		if (store)
			__WRITE_ONCE(*(unsigned __int128 *)p, v);
		else
			v = __READ_ONCE(*(unsigned __int128 *)p);
		break;
	}
	return v;
}

static __always_inline void bench_access_loop(struct bench_arg *a,
					      unsigned long iters, size_t size,
					      bool store, bool rand)
{
	unsigned long off = 0, n, i;
	u64 sum = 0;
	u32 x = 1;

	for (n = 0; n < iters; n++) {
		for (i = 0; i < BENCH_ACCESSES; i++) {
			if (rand) {
				x = bench_next(x);
				off = (x >> 8) & (BENCH_BUF_SIZE - size);
			}
			sum += bench_access_one(a->buf + off, size, store, i);
			if (!rand)
				off = (off + size) & (BENCH_BUF_SIZE - 1);
		}
	}
	OPTIMIZER_HIDE_VAR(sum);
}

static __always_inline void bench_access_size(struct bench_arg *a,
					      unsigned long iters, size_t size)
{
	if (a->store && a->rand)
		bench_access_loop(a, iters, size, true, true);
	else if (a->store)
		bench_access_loop(a, iters, size, true, false);
	else if (a->rand)
		bench_access_loop(a, iters, size, false, true);
	else
		bench_access_loop(a, iters, size, false, false);
}

static void bench_access(struct bench_arg *a, unsigned long iters)
{
	switch (a->size) {
	case 1:
		bench_access_size(a, iters, 1);
		break;
	case 2:
		bench_access_size(a, iters, 2);
		break;
	case 4:
		bench_access_size(a, iters, 4);
		break;
	case 8:
		bench_access_size(a, iters, 8);
		break;
	default:
		bench_access_size(a, iters, 16);
		break;
	}
}

/* Instrumented loads and stores of 1..16 bytes over a 1 MiB kmalloc() buffer. */
static void rkasan_bench_access(struct kunit *test)
{
	static const size_t sizes[] = { 1, 2, 4, 8, 16 };
	struct bench_arg a = {};
	char name[32];
	int i, kind;

	a.buf = kunit_kzalloc(test, BENCH_BUF_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a.buf);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (kind = 0; kind < 4; kind++) {
			a.size = sizes[i];
			a.store = kind & 1;
			a.rand = kind & 2;
			snprintf(name, sizeof(name), "%s%zu_%s",
				 a.store ? "store" : "load", a.size,
				 a.rand ? "rand" : "seq");
			bench_run(test, name, bench_access, &a, BENCH_ACCESSES);
		}
	}
}

static void bench_memset(struct bench_arg *a, unsigned long iters)
{
	size_t size = a->size;
	unsigned long n;

	/* Keep the size opaque, so memset() stays a call to the runtime. */
	OPTIMIZER_HIDE_VAR(size);
	for (n = 0; n < iters; n++)
		memset(a->buf, (int)n, size);
}

static void bench_memcpy(struct bench_arg *a, unsigned long iters)
{
	size_t size = a->size;
	unsigned long n;

	OPTIMIZER_HIDE_VAR(size);
	for (n = 0; n < iters; n++)
		memcpy(a->dst, a->buf, size);
}

/* memset() and memcpy() of 64 B to 64 KiB (ns per call). */
static void rkasan_bench_mem(struct kunit *test)
{
	static const size_t sizes[] = { 64, 512, SZ_4K, SZ_64K };
	struct bench_arg a = {};
	char name[32];
	int i;

	a.buf = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	a.dst = kunit_kzalloc(test, SZ_64K, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a.buf);
	KUNIT_ASSERT_NOT_NULL(test, a.dst);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		a.size = sizes[i];
		snprintf(name, sizeof(name), "memset_%zu", sizes[i]);
		bench_run(test, name, bench_memset, &a, 1);
		snprintf(name, sizeof(name), "memcpy_%zu", sizes[i]);
		bench_run(test, name, bench_memcpy, &a, 1);
	}
}

static void bench_kmalloc(struct bench_arg *a, unsigned long iters)
{
	unsigned long n;
	void *p;

	for (n = 0; n < iters; n++) {
		p = kmalloc(a->size, GFP_KERNEL);
		OPTIMIZER_HIDE_VAR(p);
		kfree(p);
	}
}

static void bench_cache(struct bench_arg *a, unsigned long iters)
{
	unsigned long n;
	void *p;

	for (n = 0; n < iters; n++) {
		p = kmem_cache_alloc(a->cache, GFP_KERNEL);
		OPTIMIZER_HIDE_VAR(p);
		kmem_cache_free(a->cache, p);
	}
}

/*
 * Pairs per sample of the slab cases. Fixed, not calibrated by time: every
 * kernel then puts the same objects through the quarantine, whose filling
 * and eviction (about 30 MB with mem=1G) would otherwise differ with the
 * speed of the kernel under test.
 */
#define BENCH_SLAB_PAIRS 2048

/* kmalloc()/kfree() of 8 B to 8 KiB and a kmem_cache (ns per pair). */
static void rkasan_bench_slab(struct kunit *test)
{
	static const size_t sizes[] = { 8, 64, 512, SZ_4K, SZ_8K };
	struct bench_arg a = {};
	char name[32];
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		a.size = sizes[i];
		snprintf(name, sizeof(name), "kmalloc_%zu", sizes[i]);
		bench_samples(test, name, bench_kmalloc, &a, BENCH_SLAB_PAIRS,
			      1);
	}
	a.cache = kmem_cache_create("rkasan_bench", 128, 0, 0, NULL);
	KUNIT_ASSERT_NOT_NULL(test, a.cache);
	bench_samples(test, "kmem_cache_128", bench_cache, &a,
		      BENCH_SLAB_PAIRS, 1);
	kmem_cache_destroy(a.cache);
}

static void bench_vmalloc(struct bench_arg *a, unsigned long iters)
{
	unsigned long n;
	void *p;

	for (n = 0; n < iters; n++) {
		p = vmalloc(a->size);
		OPTIMIZER_HIDE_VAR(p);
		vfree(p);
	}
}

/* vmalloc()/vfree() of 4 KiB to 1 MiB (ns per pair). */
static void rkasan_bench_vmalloc(struct kunit *test)
{
	static const size_t sizes[] = { SZ_4K, SZ_64K, SZ_1M };
	struct bench_arg a = {};
	char name[32];
	int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		a.size = sizes[i];
		snprintf(name, sizeof(name), "vmalloc_%zu", sizes[i]);
		bench_run(test, name, bench_vmalloc, &a, 1);
	}
}

struct bench_report {
	struct completion done;
	u8 *obj;
	u64 ns;
	unsigned long reports;
};

/*
 * Out-of-bounds reads of a kmalloc(100) object, one report each, until
 * 10 ms have passed. It runs in a kthread: a report in a KUnit test's own
 * thread fails that test.
 */
static int bench_report_thread(void *data)
{
	struct bench_report *r = data;
	u64 t0 = ktime_get_ns(), t;
	int loglevel = console_loglevel;

	console_loglevel = CONSOLE_LOGLEVEL_SILENT;
	do {
		READ_ONCE(r->obj[100]);
		r->reports++;
		t = ktime_get_ns() - t0;
	} while (t < 10 * NSEC_PER_MSEC || r->reports < 16);
	console_loglevel = loglevel;
	r->ns = t;
	complete(&r->done);
	return 0;
}

/* One KASAN report (needs kasan_multi_shot), console silenced. */
static void rkasan_bench_report(struct kunit *test)
{
	struct bench_report r = {};
	struct task_struct *task;
	u64 ps;

	if (!IS_ENABLED(CONFIG_KASAN))
		kunit_skip(test, "no KASAN: nothing reports");
	init_completion(&r.done);
	r.obj = kunit_kmalloc(test, 100, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r.obj);
	OPTIMIZER_HIDE_VAR(r.obj);
	task = kthread_run(bench_report_thread, &r, "rkasan_bench");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&r.done);
	ps = div64_u64(r.ns * 1000, r.reports);
	kunit_info(test, "bench report %llu.%03llu\n", ps / 1000, ps % 1000);
}

static struct kunit_case rkasan_bench_cases[] = {
	KUNIT_CASE_SLOW(rkasan_bench_access),
	KUNIT_CASE_SLOW(rkasan_bench_mem),
	KUNIT_CASE_SLOW(rkasan_bench_slab),
	KUNIT_CASE_SLOW(rkasan_bench_vmalloc),
	KUNIT_CASE_SLOW(rkasan_bench_report),
	{}
};

static struct kunit_suite rkasan_bench_suite = {
	.name = "rkasan_bench",
	.test_cases = rkasan_bench_cases,
};

kunit_test_suite(rkasan_bench_suite);

MODULE_DESCRIPTION("Microbenchmarks of the KASAN runtime");
MODULE_LICENSE("GPL");
