/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xen/elfnote.h>

#include <lispvm/abi.h>

#include "check.h"
#include "elf_loader.h"

/* A synthetic PVH kernel: two PT_LOAD segments and a PT_NOTE. */
#define RAM_GPA	   0x100000ULL
#define RAM_SIZE   0x100000ULL
#define NOTE_OFF   0x200
#define TEXT_OFF   0x1000
#define TEXT_SIZE  0x100
#define TEXT_GPA   RAM_GPA
#define TEXT_MEMSZ 0x2000 /* the rest is .bss, zero-filled */
#define DATA_OFF   (TEXT_OFF + TEXT_SIZE)
#define DATA_SIZE  0x10
#define DATA_GPA   (RAM_GPA + 0x2000)
#define FILE_SIZE  (DATA_OFF + DATA_SIZE)
#define ENTRY_GPA  (TEXT_GPA + 0x10)
#define RAM_FILL   0xaa

/* ELF notes pad the name to 4 bytes: "Xen\0" takes 4, "lispvm\0" takes 8. */
struct xen_note {
	Elf64_Nhdr nh;
	char name[4];
	uint32_t desc;
};

struct lispvm_note {
	Elf64_Nhdr nh;
	char name[8];
	uint32_t desc;
};

struct notes {
	struct xen_note xen;
	struct lispvm_note lispvm;
};

struct test_elf {
	_Alignas(4096) uint8_t bytes[FILE_SIZE];
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	struct notes *notes;
};

static uint8_t *ram;
static struct guest_memory mem;
static char err[256];

static Elf64_Nhdr note_header(const char *name, uint32_t type)
{
	return (Elf64_Nhdr){.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = 4, .n_type = type};
}

static void make_elf(struct test_elf *t)
{
	memset(t->bytes, 0, sizeof(t->bytes));
	t->eh = (Elf64_Ehdr *)t->bytes;
	t->ph = (Elf64_Phdr *)(t->bytes + sizeof(Elf64_Ehdr));
	t->notes = (struct notes *)(t->bytes + NOTE_OFF);

	memcpy(t->eh->e_ident, ELFMAG, SELFMAG);
	t->eh->e_ident[EI_CLASS] = ELFCLASS64;
	t->eh->e_ident[EI_DATA] = ELFDATA2LSB;
	t->eh->e_ident[EI_VERSION] = EV_CURRENT;
	t->eh->e_type = ET_EXEC;
	t->eh->e_machine = EM_X86_64;
	t->eh->e_version = EV_CURRENT;
	t->eh->e_entry = 0xffffffff80000000ULL + ENTRY_GPA;
	t->eh->e_phoff = sizeof(Elf64_Ehdr);
	t->eh->e_ehsize = sizeof(Elf64_Ehdr);
	t->eh->e_phentsize = sizeof(Elf64_Phdr);
	t->eh->e_phnum = 3;

	t->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
				.p_flags = PF_R | PF_X,
				.p_offset = TEXT_OFF,
				.p_paddr = TEXT_GPA,
				.p_filesz = TEXT_SIZE,
				.p_memsz = TEXT_MEMSZ};
	t->ph[1] = (Elf64_Phdr){.p_type = PT_LOAD,
				.p_flags = PF_R | PF_W,
				.p_offset = DATA_OFF,
				.p_paddr = DATA_GPA,
				.p_filesz = DATA_SIZE,
				.p_memsz = DATA_SIZE};
	t->ph[2] = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = NOTE_OFF, .p_filesz = sizeof(struct notes)};
	t->notes->xen.nh = note_header("Xen", XEN_ELFNOTE_PHYS32_ENTRY);
	strcpy(t->notes->xen.name, "Xen");
	t->notes->xen.desc = ENTRY_GPA;
	t->notes->lispvm.nh = note_header(LISPVM_ELFNOTE_NAME, LISPVM_ELFNOTE_ABI_VERSION);
	strcpy(t->notes->lispvm.name, LISPVM_ELFNOTE_NAME);
	t->notes->lispvm.desc = LISPVM_ABI_VERSION;
	memset(t->bytes + TEXT_OFF, 0x90, TEXT_SIZE);
	memset(t->bytes + DATA_OFF, 0x5a, DATA_SIZE);
}

static int load(const struct test_elf *t, size_t size, struct elf_kernel *k)
{
	memset(ram, RAM_FILL, RAM_SIZE);
	err[0] = '\0';
	return elf_load_kernel(t->bytes, size, &mem, k, err, sizeof(err));
}

static bool ram_untouched(void)
{
	for (size_t i = 0; i < RAM_SIZE; i++)
		if (ram[i] != RAM_FILL)
			return false;
	return true;
}

/* Loads a modified ELF and expects it to be refused with `reason`, leaving
 * guest memory exactly as it was. */
static void expect_reject(const struct test_elf *t, size_t size, const char *reason)
{
	struct elf_kernel k;

	CHECK(load(t, size, &k) < 0);
	CHECK_CONTAINS(err, reason);
	CHECK(ram_untouched());
}

static void test_good(void)
{
	static struct test_elf t;
	struct elf_kernel k;

	make_elf(&t);
	CHECK(load(&t, FILE_SIZE, &k) == 0);
	CHECK(k.pvh_entry == ENTRY_GPA);
	CHECK(k.abi_version == LISPVM_ABI_VERSION);
	CHECK(k.load_start == TEXT_GPA);
	CHECK(k.load_end == DATA_GPA + DATA_SIZE);
	CHECK(ram[0] == 0x90 && ram[TEXT_SIZE - 1] == 0x90);
	CHECK(ram[TEXT_SIZE] == 0 && ram[TEXT_MEMSZ - 1] == 0); /* .bss zeroed */
	CHECK(ram[DATA_GPA - RAM_GPA] == 0x5a);
	CHECK(ram[DATA_GPA - RAM_GPA + DATA_SIZE] == RAM_FILL); /* nothing beyond */
}

static void test_truncated(void)
{
	static struct test_elf t;

	make_elf(&t);
	expect_reject(&t, 0, "truncated ELF header");
	expect_reject(&t, sizeof(Elf64_Ehdr) - 1, "truncated ELF header");
	expect_reject(&t, sizeof(Elf64_Ehdr) + 8, "program headers lie outside the file");
	expect_reject(&t, FILE_SIZE - 1, "segment 1: data lies outside the file");
	expect_reject(&t, TEXT_OFF, "segment 0: data lies outside the file");
	t.ph[2].p_filesz = sizeof(struct xen_note) + sizeof(Elf64_Nhdr) + 4;
	expect_reject(&t, FILE_SIZE, "truncated ELF note");
}

static void test_bad_header(void)
{
	static struct test_elf t;

	make_elf(&t);
	t.eh->e_machine = EM_AARCH64;
	expect_reject(&t, FILE_SIZE, "wrong machine");
	make_elf(&t);
	t.eh->e_ident[EI_MAG1] = 'X';
	expect_reject(&t, FILE_SIZE, "bad magic");
	make_elf(&t);
	t.eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_reject(&t, FILE_SIZE, "not a little-endian ELF64");
	make_elf(&t);
	t.eh->e_type = ET_DYN;
	expect_reject(&t, FILE_SIZE, "not an executable");
	make_elf(&t);
	t.eh->e_phnum = 0;
	expect_reject(&t, FILE_SIZE, "bad program header count");
	make_elf(&t);
	t.eh->e_phnum = 0xffff;
	expect_reject(&t, FILE_SIZE, "bad program header count");
	make_elf(&t);
	t.eh->e_phentsize = 32;
	expect_reject(&t, FILE_SIZE, "program header size");
	make_elf(&t);
	t.eh->e_phoff = UINT64_MAX - 8;
	expect_reject(&t, FILE_SIZE, "program headers lie outside the file");
}

static void test_bad_segments(void)
{
	static struct test_elf t;

	make_elf(&t);
	t.ph[1].p_paddr = TEXT_GPA + TEXT_MEMSZ - 8;
	expect_reject(&t, FILE_SIZE, "segment 1 overlaps segment 0");
	make_elf(&t);
	t.ph[0].p_paddr = DATA_GPA + 8; /* now segment 1 overlaps it from below */
	expect_reject(&t, FILE_SIZE, "segment 1 overlaps segment 0");
	make_elf(&t);
	t.ph[1].p_paddr = RAM_GPA + RAM_SIZE - 8;
	expect_reject(&t, FILE_SIZE, "segment 1: [0x1ffff8, 0x200008) is outside guest RAM");
	make_elf(&t);
	t.ph[0].p_paddr = 0x10000000;
	expect_reject(&t, FILE_SIZE, "segment 0: [0x10000000, 0x10002000) is outside guest RAM");
	make_elf(&t);
	t.ph[0].p_paddr = 0x10000; /* would be overwritten by the device tree */
	expect_reject(&t, FILE_SIZE, "segment 0: loads at 0x10000, inside the boot data");
	make_elf(&t);
	t.ph[0].p_paddr = UINT64_MAX - 0xfff;
	expect_reject(&t, FILE_SIZE, "segment 0: address range wraps around");
	make_elf(&t);
	t.ph[0].p_filesz = TEXT_MEMSZ + 1;
	expect_reject(&t, FILE_SIZE, "file size exceeds memory size");
	make_elf(&t);
	t.ph[1].p_offset = UINT64_MAX;
	expect_reject(&t, FILE_SIZE, "segment 1: data lies outside the file");
	make_elf(&t);
	t.ph[0].p_type = PT_NULL;
	t.ph[1].p_type = PT_NULL;
	expect_reject(&t, FILE_SIZE, "no loadable segment");
}

static void test_notes(void)
{
	static struct test_elf t;
	struct elf_kernel k;

	make_elf(&t);
	t.notes->xen.nh.n_type = XEN_ELFNOTE_ENTRY;
	expect_reject(&t, FILE_SIZE, "no PVH entry note");
	make_elf(&t);
	t.ph[2].p_type = PT_NULL;
	expect_reject(&t, FILE_SIZE, "no PVH entry note");
	make_elf(&t);
	t.notes->xen.desc = 0x500000;
	expect_reject(&t, FILE_SIZE, "PVH entry 0x500000 is outside the loaded segments");
	make_elf(&t);
	t.ph[2].p_offset = FILE_SIZE;
	expect_reject(&t, FILE_SIZE, "note segment lies outside the file");

	/* Without the lispvm note the kernel loads; the VMM then refuses it
	 * for its ABI version, which is not the loader's business. */
	make_elf(&t);
	t.notes->lispvm.nh.n_type = 99;
	CHECK(load(&t, FILE_SIZE, &k) == 0);
	CHECK(k.abi_version == 0);
}

/* The built guest's code and read-only data form a span the VMM can map
 * from the file; loaded with that span already in a read-only region, the
 * loader leaves it alone and fills the rest. */
static void test_built_guest_text(const uint8_t *file, size_t size, const struct elf_kernel *k)
{
	struct elf_text_span span;
	struct guest_memory split = {0};
	struct elf_kernel again;
	uint8_t *ram2 = calloc(1, 64 << 20);

	CHECK(elf_kernel_text_span(file, size, &span));
	CHECK(span.len >= 64 * 1024 && span.len % 4096 == 0 && span.gpa % 4096 == 0);
	CHECK(span.gpa >= k->load_start && span.gpa + span.len <= k->load_end);
	CHECK(span.file_offset + span.len <= size);
	CHECK(guest_memory_add(&split, 0, span.gpa, ram2, true) == 0);
	CHECK(guest_memory_add(&split, span.gpa, span.len, (void *)(file + span.file_offset),
			       false) == 0);
	CHECK(guest_memory_add(&split, span.gpa + span.len, (64 << 20) - span.gpa - span.len,
			       ram2 + span.gpa + span.len, true) == 0);
	CHECK(elf_load_kernel(file, size, &split, &again, err, sizeof(err)) == 0);
	CHECK(again.pvh_entry == k->pvh_entry);
	/* A read-only region holding other bytes is not the kernel's. */
	uint8_t *wrong = calloc(1, span.len);
	struct guest_memory bad = {0};

	CHECK(guest_memory_add(&bad, 0, span.gpa, ram2, true) == 0);
	CHECK(guest_memory_add(&bad, span.gpa, span.len, wrong, false) == 0);
	CHECK(guest_memory_add(&bad, span.gpa + span.len, (64 << 20) - span.gpa - span.len,
			       ram2 + span.gpa + span.len, true) == 0);
	CHECK(elf_load_kernel(file, size, &bad, &again, err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "outside guest RAM");
	free(wrong);
	free(ram2);
}

/* The synthetic kernel's text has a .bss: nothing to map from the file. */
static void test_no_text_span(void)
{
	static struct test_elf t;
	struct elf_text_span span;

	make_elf(&t);
	CHECK(!elf_kernel_text_span(t.bytes, FILE_SIZE, &span));
	CHECK(!elf_kernel_text_span(t.bytes, 10, &span));
}

/* The guest runtime this build produced must pass the same validation. */
static void test_built_guest(const char *path)
{
	struct elf_kernel k;
	struct stat st;
	uint8_t *big_ram;
	struct guest_memory big = {0};
	void *file;
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(fstat(fd, &st) == 0);
	file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	CHECK(file != MAP_FAILED);
	big_ram = calloc(1, 64 << 20);
	CHECK(guest_memory_add(&big, 0, 64 << 20, big_ram, true) == 0);
	CHECK(elf_load_kernel(file, (size_t)st.st_size, &big, &k, err, sizeof(err)) == 0);
	CHECK(k.abi_version == LISPVM_ABI_VERSION);
	CHECK(k.load_start >= 1 << 20);
	CHECK(k.pvh_entry >= k.load_start && k.pvh_entry < k.load_end);
	test_built_guest_text(file, (size_t)st.st_size, &k);
	munmap(file, (size_t)st.st_size);
	free(big_ram);
}

int main(int argc, char **argv)
{
	ram = malloc(RAM_SIZE);
	CHECK(guest_memory_add(&mem, RAM_GPA, RAM_SIZE, ram, true) == 0);
	test_good();
	test_truncated();
	test_bad_header();
	test_bad_segments();
	test_notes();
	test_no_text_span();
	if (argc > 1)
		test_built_guest(argv[1]);
	free(ram);
	return check_result("elf_loader");
}
