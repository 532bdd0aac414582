/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The functions of the Rust KASAN runtime (mm/kasan/rkasan.rs) that its C
 * side calls (the entry layer and the C files whose parts it replaces), and
 * the C helpers it calls back. The Rust side exports or imports each of them
 * as `extern "C"`; the contract of each is documented there.
 */
#ifndef __MM_KASAN_RKASAN_H
#define __MM_KASAN_RKASAN_H

#include <linux/types.h>

/* Shadow poisoning and access checks (CONFIG_KASAN_RUST_SHADOW). */
bool rkasan_check_range(const void *addr, size_t size, bool write,
			unsigned long ret_ip);
/*
 * __asan_load<N>() / __asan_store<N>(): under ARCH_DEFER_KASAN, C's entry
 * tests kasan_enabled() and calls rkasan_<load|store><N>(), the whole check.
 * Otherwise Rust defines the entries; their fast path tail-calls
 * rkasan_<load|store><N>_caller(), which passes _RET_IP_ to
 * rkasan_<load|store><N>_slow(), the full check.
 */
#define RKASAN_DECLARE_LOAD_STORE(size)					\
	void rkasan_load##size(const void *addr, unsigned long ret_ip);	\
	void rkasan_store##size(const void *addr, unsigned long ret_ip);	\
	void rkasan_load##size##_caller(const void *addr);		\
	void rkasan_store##size##_caller(const void *addr);		\
	void rkasan_load##size##_slow(const void *addr, unsigned long ret_ip); \
	void rkasan_store##size##_slow(const void *addr, unsigned long ret_ip)
RKASAN_DECLARE_LOAD_STORE(1);
RKASAN_DECLARE_LOAD_STORE(2);
RKASAN_DECLARE_LOAD_STORE(4);
RKASAN_DECLARE_LOAD_STORE(8);
RKASAN_DECLARE_LOAD_STORE(16);
bool rkasan_poison(const void *addr, size_t size, u8 value);
bool rkasan_unpoison(const void *addr, size_t size);
void rkasan_poison_last_granule(const void *addr, size_t size);
bool rkasan_byte_accessible(const void *addr);
void rkasan_register_globals(const void *globals, size_t count, size_t stride,
			     bool enabled);
void rkasan_replay_deferred_globals(void);
bool rkasan_alloca_poison(const void *addr, size_t size);
void rkasan_allocas_unpoison(const void *stack_top, const void *stack_bottom);
void rkasan_set_shadow(void *shadow, u8 value, size_t size);

/* Boot parameters (CONFIG_KASAN_RUST_PARAMS). */
int rkasan_parse_fault(const char *arg, int *mode);
bool rkasan_parse_multi_shot(const char *arg);

/* Reports (CONFIG_KASAN_RUST_REPORT). */

/* Room for sprint_symbol(): report.c asserts KSYM_SYMBOL_LEN fits. */
#define RKASAN_KSYM_SYMBOL_LEN 768

/* struct kasan_track, flattened for Rust. */
struct rkasan_track {
	u32 pid;
	u32 stack;
	bool has_extra;		/* cpu and timestamp are set (CONFIG_KASAN_EXTRA_INFO) */
	u32 cpu;
	u64 timestamp;
};

/* The slab object a bad address belongs to, and its tracks. */
struct rkasan_report_object {
	const void *object;
	const char *cache_name;
	unsigned int object_size;
	struct rkasan_track alloc;
	struct rkasan_track free;
	u32 aux_stack[2];
};

bool rkasan_report(const void *addr, size_t size, bool is_write,
		   unsigned long ip, int type);
bool rkasan_report_start(bool access, unsigned long *flags);
void rkasan_report_end(unsigned long *flags, const void *addr, bool is_write);
bool rkasan_report_find_object(const void *addr,
			       struct rkasan_report_object *obj);
void rkasan_report_dump_stack(void);
void rkasan_report_describe_address(const void *addr);
void rkasan_report_task(const char **comm, int *pid);
int rkasan_report_symbol(char *buf, unsigned long ip);

/* Queries that make no report, for the KUnit tests (CONFIG_KASAN_RUST_KUNIT_TEST). */
bool rkasan_is_poisoned(const void *addr, size_t size);
size_t rkasan_bug_type(const void *addr, size_t size, char *buf, size_t len);
bool rkasan_test_kasan_enabled(void);
int rkasan_test_slow_path_caller(void *p, size_t size, bool write);
unsigned long rkasan_task_size(void);

#endif /* __MM_KASAN_RKASAN_H */
