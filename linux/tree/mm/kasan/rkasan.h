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
void rkasan_load1(const void *addr, unsigned long ret_ip);
void rkasan_load2(const void *addr, unsigned long ret_ip);
void rkasan_load4(const void *addr, unsigned long ret_ip);
void rkasan_load8(const void *addr, unsigned long ret_ip);
void rkasan_load16(const void *addr, unsigned long ret_ip);
void rkasan_store1(const void *addr, unsigned long ret_ip);
void rkasan_store2(const void *addr, unsigned long ret_ip);
void rkasan_store4(const void *addr, unsigned long ret_ip);
void rkasan_store8(const void *addr, unsigned long ret_ip);
void rkasan_store16(const void *addr, unsigned long ret_ip);
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

/* Queries that make no report, for the KUnit tests (CONFIG_KASAN_RUST_KUNIT_TEST). */
bool rkasan_is_poisoned(const void *addr, size_t size);
size_t rkasan_bug_type(const void *addr, size_t size, char *buf, size_t len);
bool rkasan_test_kasan_enabled(void);
unsigned long rkasan_task_size(void);

#endif /* __MM_KASAN_RKASAN_H */
