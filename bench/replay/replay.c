// SPDX-License-Identifier: GPL-2.0
/*
 * Replays a UML kernel's own benchmark loops outside UML.
 *
 *     replay LINUX ACCESS MEMSET MEMCPY
 *
 * LINUX is a UML kernel binary built with CONFIG_KASAN_RUST_BENCH; ACCESS,
 * MEMSET and MEMCPY are the hex addresses of its bench_access(),
 * bench_memset() and bench_memcpy() (mm/rkasan_bench.c). UML links the kernel
 * at fixed addresses, so its PT_LOAD segments can be mapped where they were
 * linked and its code called directly: the bench loops, the instrumented
 * accesses and whichever KASAN runtime the kernel has, byte for byte, without
 * UML's timer signals and page faults. Those loops touch nothing but their
 * buffers, their shadow (mapped here at KASAN_SHADOW_OFFSET + addr / 8, all
 * zero: every access is good) and the runtime's code.
 *
 * Prints one line per case, "name ns", the fastest of REPS samples in ns per
 * access (access cases) or per call (memset/memcpy).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* arch/um: CONFIG_KASAN_SHADOW_OFFSET on x86_64. */
#define SHADOW_OFFSET 0x100000000000UL
#define REPS 7
#define BUF_SIZE (1UL << 20)
/* BENCH_ACCESSES of mm/rkasan_bench.c: accesses per loop iteration. */
#define ACCESSES 256

/* struct bench_arg of mm/rkasan_bench.c. */
struct bench_arg {
	uint8_t *buf;
	uint8_t *dst;
	size_t size;
	void *cache;
	_Bool store;
	_Bool rand;
};

typedef void (*bench_fn)(struct bench_arg *a, unsigned long iters);

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

/* len zeroed bytes, and their shadow, all zero: accessible. */
static void *shadowed(size_t len)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uintptr_t s;

	if (p == MAP_FAILED)
		die("mmap buffer");
	s = (SHADOW_OFFSET + ((uintptr_t)p >> 3)) & ~4095UL;
	if (mmap((void *)s, len / 8 + 8192, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1,
		 0) == MAP_FAILED)
		die("mmap shadow");
	return p;
}

/* Maps the kernel's PT_LOAD segments at their link addresses. */
static void load(const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	uint8_t *f;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	int i;

	if (fd < 0 || fstat(fd, &st))
		die(path);
	f = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED)
		die(path);
	eh = (Elf64_Ehdr *)f;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_type != ET_EXEC) {
		fprintf(stderr, "%s: not an ELF executable\n", path);
		exit(1);
	}
	ph = (Elf64_Phdr *)(f + eh->e_phoff);
	for (i = 0; i < eh->e_phnum; i++) {
		uintptr_t start = ph[i].p_vaddr & ~4095UL;
		size_t len = ph[i].p_vaddr + ph[i].p_memsz - start;

		if (ph[i].p_type != PT_LOAD || !ph[i].p_filesz)
			continue;
		if (mmap((void *)start, (len + 4095) & ~4095UL,
			 PROT_READ | PROT_WRITE | PROT_EXEC,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1,
			 0) == MAP_FAILED)
			die("mmap segment");
		memcpy((void *)ph[i].p_vaddr, f + ph[i].p_offset,
		       ph[i].p_filesz);
	}
}

/* The fastest of REPS runs of fn(a, iters), in ns per op. */
static double best(bench_fn fn, struct bench_arg *a, unsigned long iters,
		   unsigned long ops)
{
	double min = 1e18;
	int r;

	for (r = 0; r < REPS; r++) {
		double t0 = now_ns(), v;

		fn(a, iters);
		v = (now_ns() - t0) / ((double)iters * ops);
		if (v < min)
			min = v;
	}
	return min;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 2, 4, 8, 16 };
	static const size_t mem_sizes[] = { 64, 512, 4096, 65536 };
	bench_fn access, memset_fn, memcpy_fn;
	struct bench_arg *a;
	unsigned int i, kind;

	if (argc != 5) {
		fprintf(stderr, "usage: %s LINUX ACCESS MEMSET MEMCPY\n",
			argv[0]);
		return 2;
	}
	load(argv[1]);
	access = (bench_fn)strtoul(argv[2], NULL, 16);
	memset_fn = (bench_fn)strtoul(argv[3], NULL, 16);
	memcpy_fn = (bench_fn)strtoul(argv[4], NULL, 16);
	a = shadowed(4096);
	a->buf = shadowed(BUF_SIZE);
	a->dst = shadowed(BUF_SIZE);

	/* The case names and order of rkasan_bench_access(). */
	for (i = 0; i < 5; i++) {
		for (kind = 0; kind < 4; kind++) {
			a->size = sizes[i];
			a->store = kind & 1;
			a->rand = kind & 2;
			printf("%s%zu_%s %.3f\n", a->store ? "store" : "load",
			       sizes[i], a->rand ? "rand" : "seq",
			       best(access, a, 20000, ACCESSES));
		}
	}
	for (i = 0; i < 4; i++) {
		unsigned long iters = 200000 / (mem_sizes[i] / 64);

		a->size = mem_sizes[i];
		printf("memset_%zu %.3f\n", mem_sizes[i],
		       best(memset_fn, a, iters, 1));
		printf("memcpy_%zu %.3f\n", mem_sizes[i],
		       best(memcpy_fn, a, iters, 1));
	}
	return 0;
}
