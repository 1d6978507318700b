/* SPDX-License-Identifier: MIT */
#include "kernel/selftest.h"
#include "kernel/selftest_hostile.h"

#include <stdint.h>
#include <string.h>

#include <lispvm/abi.h>

#include "arch/x86/cpu.h"
#include "arch/x86/descriptors.h"
#include "kernel/clock.h"
#include "kernel/hypercall.h"
#include "kernel/kheap.h"
#include "kernel/memory.h"
#include "kernel/platform.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "kernel/paging.h"
#include "kernel/percpu.h"
#include "arch/x86/user_mode.h"
#include "linux/mm.h"
#include "linux/process.h"
#include "linux/uaccess.h"
#include <linux/mman.h>

/* An address in the (empty) lower half. */
#define UNMAPPED_ADDRESS 0xdead000ull
/* Far beyond any guest RAM. */
#define BAD_GUEST_PHYS 0x7ffffffff000ull

extern const char probe_user_start[], probe_user_end[];

static void check(int ok, const char *what);
static const struct boot_info *selftest_boot_info;

/* Runs probe_user.S as a process: system calls, demand paging, and death
 * by SIGSEGV. */
static void ring3(void)
{
	struct mm_backing anon = {.kind = VMA_ANON};
	struct process *p = process_create("/probe");
	struct thread *t = thread_create(p, 1);
	uint64_t size = (uint64_t)(probe_user_end - probe_user_start);
	int64_t code, stack;
	struct trap_frame *f;

	check(t != NULL, "thread made");
	thread_switch_to(t);
	check(process_open_stdio(p) == 0, "stdio opened");
	code = mm_map(&p->mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, &anon);
	stack = mm_map(&p->mm, 0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, &anon);
	check(code > 0 && stack > 0, "mappings made");
	check(copy_to_user((uint64_t)code, probe_user_start, size) == 0, "code copied");
	check(mm_protect(&p->mm, (uint64_t)code, PAGE_SIZE, PROT_READ | PROT_EXEC) == 0,
	      "code protected");
	f = (struct trap_frame *)t->kstack_top - 1;
	memset(f, 0, sizeof(*f));
	f->rip = (uint64_t)code;
	f->cs = USER_CS;
	f->ss = USER_SS;
	f->rsp = (uint64_t)stack + 16 * PAGE_SIZE;
	f->rflags = USER_RFLAGS_INITIAL;
	user_mode_init();
	user_mode_enter(f);
}

static void divide_error(void)
{
	/* Inline asm: a C division by zero is undefined and GCC folds it away. */
	uint32_t eax = 1, edx = 0, zero = 0;

	__asm__ volatile("divl %2" : "+a"(eax), "+d"(edx) : "r"(zero));
}

static void page_fault(void)
{
	(void)*(volatile uint64_t *)UNMAPPED_ADDRESS;
}

static void triple_fault(void)
{
	idt_load_empty();
	__asm__ volatile("int3");
}

/* Never finishes: the VMM's --timeout has to stop it. */
static void hang(void)
{
	for (;;)
		__asm__ volatile("pause");
}

static void bad_hypercall_buffer(void)
{
	hypercall(LISPVM_HC_CONSOLE_WRITE, BAD_GUEST_PHYS, 64);
}

static void bad_hypercall_request(void)
{
	outl(LISPVM_HYPERCALL_PORT, 0xfffffff0u);
}

static void check(int ok, const char *what)
{
	if (!ok)
		panic("selftest failed: %s", what);
}

/* Every free page can be allocated exactly once and freed again. */
static void pmem_exhaust(void)
{
	size_t free_before = pmem_free_count(), n = 0;
	uint64_t first = 0, prev = 0, page;

	/* Chain the pages through their first word: no side storage needed,
	 * and it proves each page is writable through the direct map. */
	while ((page = pmem_alloc_pages(1)) != 0) {
		*(uint64_t *)phys_to_virt(page) = prev;
		prev = page;
		if (first == 0)
			first = page;
		n++;
	}
	check(n == free_before, "allocated page count equals free count");
	check(pmem_free_count() == 0, "nothing left after exhaustion");
	while (prev != 0) {
		uint64_t next = *(uint64_t *)phys_to_virt(prev);

		pmem_free_pages(prev, 1);
		prev = next;
	}
	check(pmem_free_count() == free_before, "all pages back after freeing");
	/* Most of them went back to the host and must come back zero without
	 * the guest clearing them; dirty ones are cleared.  Both ends of each
	 * page were written above (the link) or by the last word here. */
	if (platform_kind() == PLATFORM_LISPVM) {
		struct lispvm_memory_stats st;

		pmem_return_to_host();
		pmem_stats(&st);
		check(st.discarded_total + 1024 >= n, "pages beyond the reserve went to the host");
	}
	prev = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t *words;

		page = pmem_alloc_zeroed_page();
		check(page != 0, "freed pages can be allocated again");
		words = phys_to_virt(page);
		check(words[0] == 0 && words[PAGE_SIZE / 8 - 1] == 0, "reallocated page is zero");
		words[0] = prev;
		words[PAGE_SIZE / 8 - 1] = 1;
		prev = page;
	}
	check(pmem_alloc_pages(1) == 0, "nothing left after the second pass");
	while (prev != 0) {
		uint64_t next = *(uint64_t *)phys_to_virt(prev);

		pmem_free_pages(prev, 1);
		prev = next;
	}
	pmem_return_to_host();
	check(pmem_free_count() == free_before, "all pages back after the second pass");
	printk("selftest pmem: %zu pages allocated and freed twice\n", n);
}

static void heap_patterns(void)
{
	enum { N = 512 };
	static uint8_t *blocks[N];
	size_t free_before = pmem_free_count();

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			size_t size = (size_t)(i * 37 % 5000) + 1;

			blocks[i] = kmalloc(size);
			check(blocks[i] != NULL, "kmalloc");
			check(((uint64_t)blocks[i] & 15) == 0, "16-byte alignment");
			memset(blocks[i], (uint8_t)i, size);
		}
		for (int i = 0; i < N; i++) {
			size_t size = (size_t)(i * 37 % 5000) + 1;

			check(blocks[i][0] == (uint8_t)i && blocks[i][size - 1] == (uint8_t)i,
			      "heap blocks do not overlap");
			kfree(blocks[i]);
		}
	}
	check(pmem_free_count() <= free_before, "heap takes pages from pmem");
	printk("selftest heap: ok\n");
}

/* Busy-waits 100 ms by the guest clock; the host checks that at least that
 * much wall time passed. */
static void clock_wait(void)
{
	uint64_t start = clock_monotonic_ns(), last = start, now;

	do {
		now = clock_monotonic_ns();
		check(now >= last, "clock is monotonic");
		last = now;
	} while (now - start < 100000000ull);
	printk("selftest clock: %s waited %lu ns\n", clock_source_name(), now - start);
}

/* A buggy or hostile guest kernel writing to an image through a writable
 * alias of its own making: the read-only memory slot must stop the VM
 * (KVM reports the write as MMIO) and leave the image file unchanged. */
static void image_write(void)
{
	const struct boot_info *bi = selftest_boot_info;
	uint64_t alias = DIRECT_MAP_BASE + DIRECT_MAP_SIZE; /* above the direct map */

	check(bi->nr_images > 0, "an image to write to (--image)");
	check(paging_map(paging_kernel_pml4(), alias, bi->images[0].gpa, PAGE_SIZE,
			 PTE_WRITE | PTE_NX) == 0,
	      "alias mapped");
	*(volatile uint8_t *)alias = 0x5a;
	panic("a write to a read-only image went through");
}

struct selftest {
	const char *name;
	void (*fn)(void);
};

static const struct selftest selftests[] = {
	{"divide-error", divide_error},
	{"page-fault", page_fault},
	{"triple-fault", triple_fault},
	{"hang", hang},
	{"bad-hypercall-buffer", bad_hypercall_buffer},
	{"bad-hypercall-request", bad_hypercall_request},
	{"pmem", pmem_exhaust},
	{"heap", heap_patterns},
	{"clock", clock_wait},
	{"ring3", ring3},
	{"image-write", image_write},
};

void selftest_run(const char *name, const struct boot_info *bi)
{
	selftest_boot_info = bi;
	for (size_t i = 0; i < sizeof(selftests) / sizeof(selftests[0]); i++) {
		if (strcmp(selftests[i].name, name) == 0) {
			selftests[i].fn();
			return;
		}
	}
	if (selftest_hostile_run(name, bi))
		return;
	panic("unknown selftest '%s'", name);
}
