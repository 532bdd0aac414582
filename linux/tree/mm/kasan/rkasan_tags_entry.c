// SPDX-License-Identifier: GPL-2.0
/*
 * The C entry layer of the Rust KASAN runtime for the tag-based modes.
 *
 * As rkasan_entry.c does for Generic KASAN, this keeps only what C alone can
 * do: the __hwasan_* ABI entry points the compiler calls and their exports,
 * the kasan_enabled() gate, _RET_IP_, the per-CPU PRNG state and the access
 * to kernel state the Rust KUnit suite reads back. Each entry point tail-calls
 * its Rust twin in rkasan/kernel_tags.rs or kernel_sw_tags.rs, where the
 * logic is.
 */

#include <kunit/visibility.h>
#include <linux/bug.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/kasan.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/types.h>

#include "kasan.h"
#include "rkasan.h"
#include "../slab.h"

#ifdef CONFIG_KASAN_RUST_SW_TAGS

bool kasan_check_range(const void *addr, size_t size, bool write,
		       unsigned long ret_ip)
{
	if (!kasan_enabled())
		return true;
	return rkasan_sw_check_range(addr, size, write, ret_ip);
}

bool kasan_byte_accessible(const void *addr)
{
	if (!kasan_enabled())
		return true;
	return rkasan_sw_byte_accessible(addr);
}

void kasan_poison(const void *addr, size_t size, u8 value, bool init)
{
	if (!kasan_enabled())
		return;
	WARN_ON(!rkasan_sw_poison(addr, size, value));
}
EXPORT_SYMBOL_GPL(kasan_poison);

void kasan_unpoison(const void *addr, size_t size, bool init)
{
	if (!kasan_enabled())
		return;
	WARN_ON(!rkasan_sw_unpoison(addr, size));
}

#define DEFINE_HWASAN_LOAD_STORE(size)					\
	void __hwasan_load##size##_noabort(void *addr)			\
	{								\
		if (kasan_enabled())					\
			rkasan_sw_load##size(addr, _RET_IP_);		\
	}								\
	EXPORT_SYMBOL(__hwasan_load##size##_noabort);			\
	void __hwasan_store##size##_noabort(void *addr)			\
	{								\
		if (kasan_enabled())					\
			rkasan_sw_store##size(addr, _RET_IP_);		\
	}								\
	EXPORT_SYMBOL(__hwasan_store##size##_noabort)

DEFINE_HWASAN_LOAD_STORE(1);
DEFINE_HWASAN_LOAD_STORE(2);
DEFINE_HWASAN_LOAD_STORE(4);
DEFINE_HWASAN_LOAD_STORE(8);
DEFINE_HWASAN_LOAD_STORE(16);

#endif /* CONFIG_KASAN_RUST_SW_TAGS */

#ifdef CONFIG_KASAN_RUST_TAGS_REPORT
/* What a report reads from memory tags (report_sw_tags.c, report_hw_tags.c). */

const void *kasan_find_first_bad_addr(const void *addr, size_t size)
{
	return rkasan_tags_find_first_bad_addr(addr, size);
}

size_t kasan_get_alloc_size(void *object, struct kmem_cache *cache)
{
	return rkasan_tags_get_alloc_size(object, cache->object_size);
}

void kasan_metadata_fetch_row(char *buffer, void *row)
{
	BUILD_BUG_ON(META_BYTES_PER_ROW != 16);
	rkasan_tags_fetch_row(buffer, row);
}

void kasan_print_tags(u8 addr_tag, const void *addr)
{
	rkasan_tags_print_tags(addr_tag, addr);
}

#endif /* CONFIG_KASAN_RUST_TAGS_REPORT */

#if IS_ENABLED(CONFIG_KASAN_RUST_KUNIT_TEST)
/* Kernel state the Rust KUnit suite (rkasan_test.rs) compares with Rust's. */

extern struct kasan_stack_ring stack_ring;

u8 rkasan_test_random_tag(void)
{
	return kasan_random_tag();
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_random_tag);

void *rkasan_test_reset_tag(const void *addr)
{
	return kasan_reset_tag(addr);
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_reset_tag);

void *rkasan_test_set_tag(const void *addr, u8 tag)
{
	return set_tag(addr, tag);
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_set_tag);

u8 rkasan_test_get_tag(const void *addr)
{
	return get_tag(addr);
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_get_tag);

bool rkasan_test_kasan_enabled(void)
{
	return kasan_enabled();
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_kasan_enabled);

void rkasan_test_boot_state(struct rkasan_boot_state *state)
{
	state->enabled = kasan_enabled();
	state->stacktrace = kasan_stack_collection_enabled();
	state->stack_ring_size = stack_ring.size;
#ifdef CONFIG_KASAN_HW_TAGS
	state->mode = kasan_mode;
	state->vmalloc = kasan_vmalloc_enabled();
	state->write_only = kasan_write_only_enabled();
	state->page_alloc_sample = kasan_page_alloc_sample;
	state->page_alloc_sample_order = kasan_page_alloc_sample_order;
#endif
	state->cmdline = saved_command_line;
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_boot_state);
EXPORT_SYMBOL_IF_KUNIT(rkasan_parse_command_line);
EXPORT_SYMBOL_IF_KUNIT(rkasan_tag_get);
EXPORT_SYMBOL_IF_KUNIT(rkasan_tag_set);
EXPORT_SYMBOL_IF_KUNIT(rkasan_tag_reset);

#ifdef CONFIG_KASAN_SW_TAGS
void *rkasan_test_mem_to_shadow(const void *addr)
{
	return kasan_mem_to_shadow(addr);
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_mem_to_shadow);

bool rkasan_test_addr_has_metadata(const void *addr)
{
	return addr_has_metadata(addr);
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_addr_has_metadata);

EXPORT_SYMBOL_IF_KUNIT(rkasan_sw_is_poisoned);
EXPORT_SYMBOL_IF_KUNIT(rkasan_sw_mem_to_shadow);
EXPORT_SYMBOL_IF_KUNIT(rkasan_sw_has_metadata);
#endif

#ifdef CONFIG_KASAN_RUST_STACK_RING
/*
 * What a report finds in the stack ring for a 1-byte access to the slab
 * object at addr: kasan_complete_mode_report_info(), as report.c calls it.
 */
const char *rkasan_test_stack_ring_lookup(const void *addr,
					  struct kasan_track *alloc,
					  struct kasan_track *free)
{
	struct kasan_report_info info = {
		.type = KASAN_REPORT_ACCESS,
		.access_addr = addr,
		.access_size = 1,
		.object = kasan_reset_tag(addr),
	};

	info.cache = virt_to_slab(info.object)->slab_cache;
	kasan_complete_mode_report_info(&info);
	*alloc = info.alloc_track;
	*free = info.free_track;
	return info.bug_type;
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_stack_ring_lookup);

u32 rkasan_test_current_pid(void)
{
	return current->pid;
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_current_pid);
#endif

#ifdef CONFIG_KASAN_RUST_TAGS_REPORT
EXPORT_SYMBOL_IF_KUNIT(rkasan_tags_find_first_bad_addr);
EXPORT_SYMBOL_IF_KUNIT(rkasan_tags_get_alloc_size);
EXPORT_SYMBOL_IF_KUNIT(rkasan_tags_fetch_row);
#endif

#endif /* CONFIG_KASAN_RUST_KUNIT_TEST */
