/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The functions of the Rust KASAN runtime (mm/kasan/rkasan.rs) that the C
 * entry layer (mm/kasan/rkasan_entry.c) calls. The Rust side exports each of
 * them as `extern "C"`; the contract of each is documented there.
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

/* The quarantine (CONFIG_KASAN_RUST_QUARANTINE), rkasan_quarantine.c. */

struct kmem_cache;
struct qlist_node;

/*
 * Storage for the Rust types QList (a list of quarantined objects) and
 * CpuSlot (a CPU's queue with its counters). kernel_quarantine.rs checks at
 * build time that they fit; all-zero bytes are their empty state.
 */
#define RKASAN_QLIST_WORDS 4
#define RKASAN_CPU_QUARANTINE_WORDS 9

struct rkasan_qlist {
	unsigned long opaque[RKASAN_QLIST_WORDS];
};

struct rkasan_cpu_quarantine {
	unsigned long opaque[RKASAN_CPU_QUARANTINE_WORDS];
};

/* What the debugfs file kasan/quarantine shows. */
struct rkasan_quarantine_stats {
	unsigned long held_bytes;	/* in the global ring */
	unsigned long held_objects;
	unsigned long percpu_bytes;	/* in the per-CPU queues */
	unsigned long percpu_objects;
	unsigned long size;		/* quarantine_size: ring bytes as counted */
	unsigned long max_size;		/* the bound reduction keeps size under */
	unsigned long batch_size;
	unsigned long batches;
	unsigned long batches_in_use;
	unsigned long peak_bytes;	/* highest held_bytes so far */
	unsigned long puts;		/* objects taken into the quarantine */
	unsigned long spilled;		/* moved from per-CPU queues to the ring */
	unsigned long evicted;		/* evicted from the ring by reduction */
	unsigned long removed;		/* taken out by cache removals */
	unsigned long offlined;		/* freed when their CPU went offline */
	unsigned long freed;		/* returned to the slab allocator */
	unsigned long cache_removals;
	unsigned long ring_full;
	bool consistent;		/* the per-CPU and ring counters add up */
};

/* Rust: the logic. */
bool rkasan_quarantine_put(struct rkasan_cpu_quarantine *q,
			   struct qlist_node *qlink, size_t size);
int rkasan_cpu_online(unsigned int cpu);
int rkasan_cpu_offline(unsigned int cpu);
int rkasan_quarantine_size_param(const char *arg);
int rkasan_parse_quarantine_size(const char *arg, int *kind,
				 unsigned long *value);
void rkasan_quarantine_stats(struct rkasan_quarantine_stats *stats);

/* Rust, for the KUnit tests. kind: 0 default, 1 bytes, 2 percent. */
bool rkasan_quarantine_holds(const struct qlist_node *qlink);
void rkasan_quarantine_get_size(int *kind, unsigned long *value);
void rkasan_quarantine_set_size(int kind, unsigned long value);
void rkasan_quarantine_reset_peak(void);

/* C: what only C can do, for the Rust side. */
struct rkasan_cpu_quarantine *rkasan_quarantine_this_cpu(void);
unsigned long rkasan_quarantine_irq_save(void);
void rkasan_quarantine_irq_restore(unsigned long flags);
unsigned long rkasan_quarantine_lock(void);
void rkasan_quarantine_unlock(unsigned long flags);
struct rkasan_qlist *rkasan_quarantine_shrink_lock(int cpu,
						   unsigned long *flags);
void rkasan_quarantine_shrink_unlock(int cpu, unsigned long flags);
int rkasan_quarantine_this_cpu_id(void);
int rkasan_quarantine_next_cpu(int cpu);
void rkasan_quarantine_on_each_cpu(void (*func)(void *info), void *info);
int rkasan_quarantine_srcu_read_lock(void);
void rkasan_quarantine_srcu_read_unlock(int idx);
void rkasan_quarantine_synchronize_srcu(void);
void rkasan_quarantine_cond_resched(void);
unsigned long rkasan_quarantine_totalram_pages(void);
unsigned int rkasan_quarantine_online_cpus(void);
struct kmem_cache *rkasan_qlink_to_cache(struct qlist_node *qlink,
					 size_t *size);
void rkasan_qlink_free(struct qlist_node *qlink, struct kmem_cache *cache);
struct qlist_node *rkasan_quarantine_object_qlink(const void *object);
struct seq_file;
int rkasan_quarantine_show(struct seq_file *m, void *v);

/* Tag-based modes: tag generation (CONFIG_KASAN_RUST_TAGS). */
u8 rkasan_sw_random_tag(u32 *prng_state);
u8 rkasan_hw_random_tag(void);

/*
 * The stack ring of the tag-based modes (CONFIG_KASAN_RUST_STACK_RING). The
 * Rust side mirrors struct kasan_track and struct kasan_stack_ring_entry;
 * tags.c checks their layouts against these sizes.
 */
struct kasan_track;
struct kasan_stack_ring_entry;

#ifdef CONFIG_KASAN_EXTRA_INFO
#define RKASAN_TRACK_SIZE 16
#else
#define RKASAN_TRACK_SIZE 8
#endif
#define RKASAN_STACK_RING_ENTRY_SIZE (16 + RKASAN_TRACK_SIZE + 8)

u32 rkasan_stack_ring_save(struct kasan_stack_ring_entry *entries, size_t size,
			   atomic64_t *pos, const void *object,
			   size_t object_size, bool is_free,
			   const struct kasan_track *track);
const char *rkasan_stack_ring_find(struct kasan_stack_ring_entry *entries,
				   size_t size, u64 pos, const void *object,
				   u8 tag, size_t object_size,
				   const void *access_addr, size_t access_size,
				   struct kasan_track *alloc,
				   struct kasan_track *free);
const char *rkasan_tags_common_bug_type(const void *access_addr,
					size_t access_size);

/* What a tag-mode report reads from memory tags (CONFIG_KASAN_RUST_TAGS_REPORT). */
const void *rkasan_tags_find_first_bad_addr(const void *addr, size_t size);
size_t rkasan_tags_get_alloc_size(const void *object, size_t object_size);
void rkasan_tags_fetch_row(char *buffer, const void *row);
void rkasan_tags_print_tags(u8 addr_tag, const void *addr);

/* Software tag checks and poisoning (CONFIG_KASAN_RUST_SW_TAGS). */
bool rkasan_sw_check_range(const void *addr, size_t size, bool write,
			   unsigned long ret_ip);
bool rkasan_sw_byte_accessible(const void *addr);
bool rkasan_sw_poison(const void *addr, size_t size, u8 value);
bool rkasan_sw_unpoison(const void *addr, size_t size);
void rkasan_sw_load1(const void *addr, unsigned long ret_ip);
void rkasan_sw_load2(const void *addr, unsigned long ret_ip);
void rkasan_sw_load4(const void *addr, unsigned long ret_ip);
void rkasan_sw_load8(const void *addr, unsigned long ret_ip);
void rkasan_sw_load16(const void *addr, unsigned long ret_ip);
void rkasan_sw_store1(const void *addr, unsigned long ret_ip);
void rkasan_sw_store2(const void *addr, unsigned long ret_ip);
void rkasan_sw_store4(const void *addr, unsigned long ret_ip);
void rkasan_sw_store8(const void *addr, unsigned long ret_ip);
void rkasan_sw_store16(const void *addr, unsigned long ret_ip);

/*
 * Boot parameters of the tag-based modes (CONFIG_KASAN_RUST_PARAMS), for the
 * handlers in hw_tags.c and tags.c. Each returns what the C handler returns;
 * the enum values they store are checked there with static_assert().
 */
int rkasan_parse_kasan(const char *arg, int *value);
int rkasan_parse_kasan_mode(const char *arg, int *value);
int rkasan_parse_kasan_vmalloc(const char *arg, int *value);
int rkasan_parse_write_only(const char *arg, bool *value);
int rkasan_parse_page_alloc_sample(const char *arg, unsigned long *value);
int rkasan_parse_page_alloc_sample_order(const char *arg,
					 unsigned int *value);
int rkasan_parse_stacktrace(const char *arg, int *value);
int rkasan_parse_stack_ring_size(const char *arg, unsigned long *value);

/*
 * The tag-mode boot parameters a command line sets, as Rust parses it, for
 * the KUnit tests: the kasan_arg* enum values, 0 being the default.
 */
struct rkasan_boot_args {
	int kasan;
	int mode;
	int vmalloc;
	int stacktrace;
	bool write_only;
	unsigned int page_alloc_sample_order;
	unsigned long page_alloc_sample;
	unsigned long stack_ring_size;	/* 0: the default size */
};

int rkasan_parse_command_line(const char *cmdline,
			      struct rkasan_boot_args *args);

/* Tag helpers of the Rust core, for the KUnit tests. */
u8 rkasan_tag_get(const void *addr);
void *rkasan_tag_set(const void *addr, u8 tag);
void *rkasan_tag_reset(const void *addr);
void *rkasan_sw_mem_to_shadow(const void *addr);
bool rkasan_sw_has_metadata(const void *addr);

/* What the tag-mode boot parameters left behind, for the KUnit tests. */
struct rkasan_boot_state {
	const char *cmdline;		/* saved_command_line */
	bool enabled;			/* kasan_enabled() */
	bool stacktrace;		/* kasan_stack_collection_enabled() */
	bool vmalloc;			/* kasan_vmalloc_enabled() (HW_TAGS) */
	bool write_only;		/* kasan_write_only_enabled() (HW_TAGS) */
	int mode;			/* enum kasan_mode (HW_TAGS) */
	unsigned int page_alloc_sample_order;
	unsigned long page_alloc_sample;
	unsigned long stack_ring_size;	/* stack_ring.size */
};

u8 rkasan_test_random_tag(void);
void *rkasan_test_reset_tag(const void *addr);
void *rkasan_test_set_tag(const void *addr, u8 tag);
u8 rkasan_test_get_tag(const void *addr);
bool rkasan_test_kasan_enabled(void);
void rkasan_test_boot_state(struct rkasan_boot_state *state);
const char *rkasan_test_stack_ring_lookup(const void *addr,
					  struct kasan_track *alloc,
					  struct kasan_track *free);
u32 rkasan_test_current_pid(void);
void *rkasan_test_mem_to_shadow(const void *addr);
bool rkasan_test_addr_has_metadata(const void *addr);
bool rkasan_sw_is_poisoned(const void *addr, size_t size);

#endif /* __MM_KASAN_RKASAN_H */
