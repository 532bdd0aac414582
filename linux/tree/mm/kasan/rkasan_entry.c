// SPDX-License-Identifier: GPL-2.0
/*
 * The C entry layer of the Rust KASAN runtime.
 *
 * Only what C alone can do lives here: the ABI entry points that the compiler
 * and the rest of the kernel call, their exports, the kasan_enabled() gate
 * (a static key under ARCH_DEFER_KASAN, kept a patched branch instead of a
 * call) and _RET_IP_. Each function tail-calls its Rust twin in rkasan.rs,
 * where all of the logic is.
 */

#include <kunit/visibility.h>
#include <linux/bug.h>
#include <linux/export.h>
#include <linux/init.h>
#include <linux/kallsyms.h>
#include <linux/kasan.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/types.h>

#include "kasan.h"
#include "rkasan.h"

/* TASK_SIZE is a run-time value on UML: Rust asks for it. */
unsigned long rkasan_task_size(void)
{
	return TASK_SIZE;
}

#ifdef CONFIG_KASAN_RUST_SHADOW

void __init kasan_init_generic(void)
{
	kasan_enable();
	/* Poison the redzones of globals registered before KASAN was enabled. */
	rkasan_replay_deferred_globals();

	pr_info("KernelAddressSanitizer initialized (generic)\n");
}

bool kasan_check_range(const void *addr, size_t size, bool write,
		       unsigned long ret_ip)
{
	if (!kasan_enabled())
		return true;
	return rkasan_check_range(addr, size, write, ret_ip);
}

bool __kasan_check_read(const volatile void *p, unsigned int size)
{
	return kasan_check_range((void *)p, size, false, _RET_IP_);
}
EXPORT_SYMBOL(__kasan_check_read);

bool __kasan_check_write(const volatile void *p, unsigned int size)
{
	return kasan_check_range((void *)p, size, true, _RET_IP_);
}
EXPORT_SYMBOL(__kasan_check_write);

bool kasan_byte_accessible(const void *addr)
{
	if (!kasan_enabled())
		return true;
	return rkasan_byte_accessible(addr);
}

void kasan_poison(const void *addr, size_t size, u8 value, bool init)
{
	if (!kasan_enabled())
		return;
	WARN_ON(!rkasan_poison(addr, size, value));
}
EXPORT_SYMBOL_GPL(kasan_poison);

void kasan_poison_last_granule(const void *addr, size_t size)
{
	if (!kasan_enabled())
		return;
	rkasan_poison_last_granule(addr, size);
}

void kasan_unpoison(const void *addr, size_t size, bool init)
{
	if (!kasan_enabled())
		return;
	WARN_ON(!rkasan_unpoison(addr, size));
}

#ifdef CONFIG_ARCH_DEFER_KASAN
/*
 * kasan_enabled() is a static key here: test it in C, then tail-call the
 * Rust check with _RET_IP_.
 */
#define DEFINE_ASAN_LOAD_STORE(size)					\
	void __asan_load##size(void *addr)				\
	{								\
		if (kasan_enabled())					\
			rkasan_load##size(addr, _RET_IP_);		\
	}								\
	EXPORT_SYMBOL(__asan_load##size);				\
	__alias(__asan_load##size)					\
	void __asan_load##size##_noabort(void *);			\
	EXPORT_SYMBOL(__asan_load##size##_noabort);			\
	void __asan_store##size(void *addr)				\
	{								\
		if (kasan_enabled())					\
			rkasan_store##size(addr, _RET_IP_);		\
	}								\
	EXPORT_SYMBOL(__asan_store##size);				\
	__alias(__asan_store##size)					\
	void __asan_store##size##_noabort(void *);			\
	EXPORT_SYMBOL(__asan_store##size##_noabort)
#else
/*
 * kasan_enabled() is constant true here, so rkasan.rs defines
 * __asan_load<N>() and __asan_store<N>() (and their _noabort twins) itself:
 * a C entry would add a jump to every instrumented access. Their fast path
 * tail-calls the functions below for an access it cannot settle, so
 * _RET_IP_ in them is still the instrumented caller; the lab checks the tail
 * calls in the object code, and the rkasan KUnit suite checks the address.
 */
#if IS_ENABLED(CONFIG_KASAN_RUST_KUNIT_TEST)
/*
 * The _RET_IP_ the slow path saw, recorded only for the task the KUnit case
 * names: other CPUs' slow paths neither write this cache line nor race with
 * the case.
 */
static struct task_struct *rkasan_test_task;
static unsigned long rkasan_test_slow_ip;
#define RECORD_SLOW_IP(ip)						\
	do {								\
		if (unlikely(READ_ONCE(rkasan_test_task) == current))	\
			WRITE_ONCE(rkasan_test_slow_ip, ip);		\
	} while (0)
#else
#define RECORD_SLOW_IP(ip) ((void)(ip))
#endif

#define DEFINE_ASAN_LOAD_STORE(size)					\
	void rkasan_load##size##_caller(const void *addr)		\
	{								\
		RECORD_SLOW_IP(_RET_IP_);				\
		rkasan_load##size##_slow(addr, _RET_IP_);		\
	}								\
	EXPORT_SYMBOL(__asan_load##size);				\
	EXPORT_SYMBOL(__asan_load##size##_noabort);			\
	void rkasan_store##size##_caller(const void *addr)		\
	{								\
		RECORD_SLOW_IP(_RET_IP_);				\
		rkasan_store##size##_slow(addr, _RET_IP_);		\
	}								\
	EXPORT_SYMBOL(__asan_store##size);				\
	EXPORT_SYMBOL(__asan_store##size##_noabort)
#endif

DEFINE_ASAN_LOAD_STORE(1);
DEFINE_ASAN_LOAD_STORE(2);
DEFINE_ASAN_LOAD_STORE(4);
DEFINE_ASAN_LOAD_STORE(8);
DEFINE_ASAN_LOAD_STORE(16);

void __asan_loadN(void *addr, ssize_t size)
{
	kasan_check_range(addr, size, false, _RET_IP_);
}
EXPORT_SYMBOL(__asan_loadN);

__alias(__asan_loadN)
void __asan_loadN_noabort(void *, ssize_t);
EXPORT_SYMBOL(__asan_loadN_noabort);

void __asan_storeN(void *addr, ssize_t size)
{
	kasan_check_range(addr, size, true, _RET_IP_);
}
EXPORT_SYMBOL(__asan_storeN);

__alias(__asan_storeN)
void __asan_storeN_noabort(void *, ssize_t);
EXPORT_SYMBOL(__asan_storeN_noabort);

/* to shut up compiler complaints */
void __asan_handle_no_return(void) {}
EXPORT_SYMBOL(__asan_handle_no_return);

#if !defined(CONFIG_CC_HAS_KASAN_MEMINTRINSIC_PREFIX) && !defined(CONFIG_GENERIC_ENTRY)
/* See the comment in shadow.c: uninstrumented files rely on these. */
#undef memset
void *memset(void *addr, int c, size_t len)
{
	if (!kasan_check_range(addr, len, true, _RET_IP_))
		return NULL;

	return __memset(addr, c, len);
}

#ifdef __HAVE_ARCH_MEMMOVE
#undef memmove
void *memmove(void *dest, const void *src, size_t len)
{
	if (!kasan_check_range(src, len, false, _RET_IP_) ||
	    !kasan_check_range(dest, len, true, _RET_IP_))
		return NULL;

	return __memmove(dest, src, len);
}
#endif

#undef memcpy
void *memcpy(void *dest, const void *src, size_t len)
{
	if (!kasan_check_range(src, len, false, _RET_IP_) ||
	    !kasan_check_range(dest, len, true, _RET_IP_))
		return NULL;

	return __memcpy(dest, src, len);
}
#endif

void *__asan_memset(void *addr, int c, ssize_t len)
{
	if (!kasan_check_range(addr, len, true, _RET_IP_))
		return NULL;

	return __memset(addr, c, len);
}
EXPORT_SYMBOL(__asan_memset);

#ifdef __HAVE_ARCH_MEMMOVE
void *__asan_memmove(void *dest, const void *src, ssize_t len)
{
	if (!kasan_check_range(src, len, false, _RET_IP_) ||
	    !kasan_check_range(dest, len, true, _RET_IP_))
		return NULL;

	return __memmove(dest, src, len);
}
EXPORT_SYMBOL(__asan_memmove);
#endif

void *__asan_memcpy(void *dest, const void *src, ssize_t len)
{
	if (!kasan_check_range(src, len, false, _RET_IP_) ||
	    !kasan_check_range(dest, len, true, _RET_IP_))
		return NULL;

	return __memcpy(dest, src, len);
}
EXPORT_SYMBOL(__asan_memcpy);

void __asan_register_globals(void *ptr, ssize_t size)
{
	/*
	 * Under ARCH_DEFER_KASAN, constructors register globals before KASAN
	 * is enabled: Rust records them and kasan_init_generic() replays them.
	 */
	rkasan_register_globals(ptr, size, sizeof(struct kasan_global),
				kasan_enabled());
}
EXPORT_SYMBOL(__asan_register_globals);

void __asan_unregister_globals(void *ptr, ssize_t size)
{
}
EXPORT_SYMBOL(__asan_unregister_globals);

/* Emitted by compiler to poison alloca()ed objects. */
void __asan_alloca_poison(void *addr, ssize_t size)
{
	if (!kasan_enabled())
		return;
	WARN_ON(!rkasan_alloca_poison(addr, size));
}
EXPORT_SYMBOL(__asan_alloca_poison);

/* Emitted by compiler to unpoison alloca()ed areas when the stack unwinds. */
void __asan_allocas_unpoison(void *stack_top, ssize_t stack_bottom)
{
	if (!kasan_enabled())
		return;
	rkasan_allocas_unpoison(stack_top, (void *)stack_bottom);
}
EXPORT_SYMBOL(__asan_allocas_unpoison);

/* Emitted by the compiler to [un]poison local variables. */
#define DEFINE_ASAN_SET_SHADOW(byte) \
	void __asan_set_shadow_##byte(const void *addr, ssize_t size)	\
	{								\
		rkasan_set_shadow((void *)addr, 0x##byte, size);	\
	}								\
	EXPORT_SYMBOL(__asan_set_shadow_##byte)

DEFINE_ASAN_SET_SHADOW(00);
DEFINE_ASAN_SET_SHADOW(f1);
DEFINE_ASAN_SET_SHADOW(f2);
DEFINE_ASAN_SET_SHADOW(f3);
DEFINE_ASAN_SET_SHADOW(f5);
DEFINE_ASAN_SET_SHADOW(f8);

#endif /* CONFIG_KASAN_RUST_SHADOW */

#if IS_ENABLED(CONFIG_KASAN_RUST_KUNIT_TEST)
/* The runtime as the Rust KUnit suite (rkasan_test.rs) reaches it. */
bool rkasan_test_kasan_enabled(void)
{
	return kasan_enabled();
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_kasan_enabled);
EXPORT_SYMBOL_IF_KUNIT(rkasan_is_poisoned);
EXPORT_SYMBOL_IF_KUNIT(rkasan_bug_type);
EXPORT_SYMBOL_IF_KUNIT(rkasan_poison);
EXPORT_SYMBOL_IF_KUNIT(rkasan_unpoison);
EXPORT_SYMBOL_IF_KUNIT(rkasan_parse_fault);
EXPORT_SYMBOL_IF_KUNIT(rkasan_parse_multi_shot);

#if defined(CONFIG_KASAN_RUST_SHADOW) && !defined(CONFIG_ARCH_DEFER_KASAN)
static noinline void rkasan_test_call(void (*check)(void *), void *p)
{
	check(p);
	/* Not a tail call: the check returns here. */
	barrier();
}

/*
 * Checks size bytes at p, a good access that the fast path of Rust's
 * __asan_load<size>() (or store) cannot settle, and returns 0 if the slow path
 * saw rkasan_test_call() as the caller: the address a report would name.
 */
int rkasan_test_slow_path_caller(void *p, size_t size, bool write)
{
	static void (*const checks[][2])(void *) = {
		{ __asan_load1_noabort, __asan_store1_noabort },
		{ __asan_load2_noabort, __asan_store2_noabort },
		{ __asan_load4_noabort, __asan_store4_noabort },
		{ __asan_load8_noabort, __asan_store8_noabort },
		{ __asan_load16_noabort, __asan_store16_noabort },
	};
	unsigned long ip, symsize, offset;
	void (*check)(void *);

	if (!is_power_of_2(size) || size > 16)
		return -EINVAL;
	check = checks[ilog2(size)][write];
	WRITE_ONCE(rkasan_test_slow_ip, 0);
	WRITE_ONCE(rkasan_test_task, current);
	rkasan_test_call(check, p);
	WRITE_ONCE(rkasan_test_task, NULL);
	ip = READ_ONCE(rkasan_test_slow_ip);
	if (!ip)
		return -ENOENT;
	if (!kallsyms_lookup_size_offset(ip, &symsize, &offset))
		return -ENXIO;
	return ip - offset == (unsigned long)rkasan_test_call ? 0 : -EFAULT;
}
EXPORT_SYMBOL_IF_KUNIT(rkasan_test_slow_path_caller);
#endif
#endif
