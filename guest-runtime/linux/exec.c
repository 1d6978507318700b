/* SPDX-License-Identifier: MIT */
#include "linux/exec.h"
#include "linux/snapshot_point.h"

#include <errno.h>
#include <linux/auxvec.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/mman.h>
#include <linux/stat.h>
#include <lispvm/abi.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "arch/x86/cpu_features.h"
#include "arch/x86/user_mode.h"
#include "drivers/virtio_console.h"
#include "drivers/virtio_vsock.h"
#include "fs/console.h"
#include "linux/host_copy.h"
#include "fs/file.h"
#include "fs/vfs.h"
#include "kernel/clock.h"
#include "kernel/entropy.h"
#include "kernel/kheap.h"
#include "kernel/lapic_timer.h"
#include "kernel/platform.h"
#include "kernel/printk.h"
#include "linux/elf_load.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/signal_frame.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

/* Where Linux puts the top of the stack (TASK_SIZE - one page) and a
 * PIE executable (ELF_ET_DYN_BASE), without randomization. */
#define STACK_TOP	0x7ffffffff000ull
#define PIE_BASE	0x555555554000ull
#define STACK_GAP	(128ull << 20) /* between the stack and mmap, as Linux's minimum */
#define HWCAP2_FSGSBASE (1u << 1)
#define AUXV_MAX	24
#define EXIT_NOT_FOUND	127
#define EXIT_CANNOT_RUN 126

struct exec_args {
	const char *argv, *envp; /* NUL-separated */
	int argv_len, envp_len;
	const char *path;
};

static int count_strings(const char *blob, int len)
{
	int n = 0;

	for (int i = 0; i < len; i++)
		n += blob[i] == '\0';
	return n;
}

struct stack_builder {
	uint8_t *buf; /* kernel copy of the top of the stack */
	uint64_t size;
	uint64_t top;  /* user address of buf + size */
	uint64_t used; /* bytes from the top */
};

/* Pushes bytes downwards; returns their user address. */
static uint64_t push_bytes(struct stack_builder *sb, const void *data, uint64_t len)
{
	sb->used += len;
	memcpy(sb->buf + sb->size - sb->used, data, len);
	return sb->top - sb->used;
}

static void push_string_table(struct stack_builder *sb, const char *blob, int len, uint64_t *addrs)
{
	uint64_t base = push_bytes(sb, blob, (uint64_t)len);
	int n = 0;

	for (int i = 0; i < len; i += (int)strlen(blob + i) + 1)
		addrs[n++] = base + (uint64_t)i;
}

static int build_stack(struct mm *mm, const struct exec_args *a, const struct elf_image *exe,
		       uint64_t interp_base, uint64_t *rsp)
{
	int argc = count_strings(a->argv, a->argv_len), envc = count_strings(a->envp, a->envp_len);
	uint64_t strings = (uint64_t)a->argv_len + (uint64_t)a->envp_len + strlen(a->path) + 64;
	uint64_t vectors = ((uint64_t)argc + (uint64_t)envc + 3 + 2 * AUXV_MAX) * 8;
	uint64_t *argv_addr, *envp_addr, *vec, execfn, random_addr, platform;
	struct stack_builder sb;
	uint8_t random_bytes[16];
	int n = 0;

	sb.size = (strings + vectors + 15) & ~15ull;
	sb.size += 64;
	sb.buf = kzalloc(sb.size);
	argv_addr = kmalloc(((uint64_t)argc + 1) * 8);
	envp_addr = kmalloc(((uint64_t)envc + 1) * 8);
	if (sb.buf == NULL || argv_addr == NULL || envp_addr == NULL)
		return -ENOMEM;
	sb.top = STACK_TOP;
	sb.used = 0;
	execfn = push_bytes(&sb, a->path, strlen(a->path) + 1);
	push_string_table(&sb, a->envp, a->envp_len, envp_addr);
	push_string_table(&sb, a->argv, a->argv_len, argv_addr);
	platform = push_bytes(&sb, "x86_64", 7);
	if (entropy_fill(random_bytes, sizeof(random_bytes)) < 0)
		return -EIO;
	random_addr = push_bytes(&sb, random_bytes, sizeof(random_bytes));
	/* From here down: argc, argv[], NULL, envp[], NULL, auxv; argc must
	 * land on a 16-byte boundary. */
	vec = kzalloc(vectors);
	if (vec == NULL)
		return -ENOMEM;
	vec[n++] = (uint64_t)argc;
	for (int i = 0; i < argc; i++)
		vec[n++] = argv_addr[i];
	vec[n++] = 0;
	for (int i = 0; i < envc; i++)
		vec[n++] = envp_addr[i];
	vec[n++] = 0;
#define AUX(type, value)                                                                           \
	do {                                                                                       \
		vec[n++] = (type);                                                                 \
		vec[n++] = (value);                                                                \
	} while (0)
	AUX(AT_HWCAP, cpuid(1, 0).edx);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_CLKTCK, 100);
	AUX(AT_PHDR, exe->phdr_addr);
	AUX(AT_PHENT, sizeof(Elf64_Phdr));
	AUX(AT_PHNUM, exe->ehdr.e_phnum);
	AUX(AT_BASE, interp_base);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, exe->entry);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, random_addr);
	AUX(AT_HWCAP2, cpu_features.fsgsbase ? HWCAP2_FSGSBASE : 0);
	AUX(AT_EXECFN, execfn);
	AUX(AT_PLATFORM, platform);
	AUX(AT_NULL, 0);
#undef AUX
	sb.used = (sb.used + (uint64_t)n * 8 + 15) & ~15ull;
	memcpy(sb.buf + sb.size - sb.used, vec, (uint64_t)n * 8);
	*rsp = sb.top - sb.used;
	(void)mm;
	if (copy_to_user(*rsp, sb.buf + sb.size - sb.used, sb.used) < 0)
		return -EFAULT;
	kfree(vec);
	kfree(argv_addr);
	kfree(envp_addr);
	kfree(sb.buf);
	return 0;
}

static int map_stack(struct process *p)
{
	struct mm_backing anon = {.kind = VMA_ANON};
	uint64_t size = p->rlimits[RLIMIT_STACK].rlim_cur;
	int64_t rc;

	rc = mm_map(&p->mm, STACK_TOP - size, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_FIXED | MAP_GROWSDOWN, &anon);
	if (rc < 0)
		return (int)rc;
	p->mm.stack_top = STACK_TOP;
	p->mm.mmap_top = STACK_TOP - size - STACK_GAP;
	return 0;
}

static _Noreturn void fail(const char *path, const char *what, int err)
{
	printk("lispvm: %s: %s (errno %d)\n", path, what, -err);
	platform_exit(err == -ENOENT || err == -ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN);
}

static int open_executable(const char *path, struct file **f)
{
	return vfs_open(AT_FDCWD, path, O_RDONLY, 0, f);
}

/* Maps the executable and its interpreter; returns the entry point. */
static uint64_t load_program(struct process *p, const char *path, struct elf_image *exe,
			     uint64_t *interp_base)
{
	static struct elf_image interp;
	struct file *f, *fi;
	int rc;

	rc = open_executable(path, &f);
	if (rc < 0)
		fail(path, rc == -ENOENT ? "no such file in the images" : "cannot open", rc);
	rc = elf_read_headers(f, exe);
	if (rc < 0)
		fail(path, "not an x86-64 Linux executable", rc);
	rc = elf_map(&p->mm, f, exe, exe->ehdr.e_type == ET_DYN ? PIE_BASE : 0);
	if (rc < 0)
		fail(path, "cannot map the executable", rc);
	p->mm.brk_start = p->mm.brk = exe->end;
	*interp_base = 0;
	if (exe->interp[0] == '\0')
		return exe->entry;
	rc = open_executable(exe->interp, &fi);
	if (rc < 0)
		fail(exe->interp, "interpreter not found", rc);
	rc = elf_read_headers(fi, &interp);
	if (rc < 0 || interp.interp[0] != '\0' || interp.ehdr.e_type != ET_DYN)
		fail(exe->interp, "bad ELF interpreter", rc < 0 ? rc : -ENOEXEC);
	rc = elf_map(&p->mm, fi, &interp, 0);
	if (rc < 0)
		fail(exe->interp, "cannot map the interpreter", rc);
	*interp_base = interp.bias;
	file_put(fi);
	file_put(f);
	return interp.entry;
}

/* The working directory must exist: resolved once, it becomes canonical
 * (what getcwd returns on Linux).  Exit status 125, as env -C gives. */
static void enter_cwd(struct process *p)
{
	static char canon[PATH_MAX];
	struct vnode node;
	int rc = vfs_resolve(AT_FDCWD, p->cwd, true, &node, canon);

	if (rc == 0 && !S_ISDIR(node.mode))
		rc = -ENOTDIR;
	if (rc < 0) {
		printk("lispvm: --cwd %s: no such directory in the guest (errno %d)\n", p->cwd,
		       -rc);
		platform_exit(LISPVM_EXIT_HOST_ERROR);
	}
	memcpy(p->cwd, canon, strlen(canon) + 1);
}

/* The value of NAME in a NUL-separated environment block, or NULL. */
static const char *env_value(const char *envp, int len, const char *name)
{
	size_t n = strlen(name);

	for (const char *e = envp; e && e < envp + len; e += strlen(e) + 1)
		if (strncmp(e, name, n) == 0 && e[n] == '=')
			return e + n + 1;
	return NULL;
}

_Noreturn void exec_boot_program(const struct boot_info *bi)
{
	static struct elf_image exe;
	const struct boot_program *prog = &bi->program;
	struct exec_args args = {.argv = prog->argv,
				 .argv_len = prog->argv_len,
				 .envp = prog->envp,
				 .envp_len = prog->envp_len,
				 .path = prog->exec_path ? prog->exec_path : prog->argv};
	struct process *p = process_create(args.path);
	struct thread *t = thread_create(p, p->pid);
	struct trap_frame *frame;
	uint64_t entry, interp_base, rsp;
	int rc;

	if (t == NULL)
		panic("out of memory starting the program");
	thread_switch_to(t);
	sched_start(t);
	host_copy_init();
	snapshot_point_init(bi);
	syscall_set_trace(prog->strace);
	console_configure(prog->tty_mask, prog->rows, prog->cols);
	if (process_open_stdio(p) < 0)
		panic("out of memory opening stdio");
	memcpy(p->cwd, prog->cwd, strnlen(prog->cwd, sizeof(p->cwd) - 1));
	p->start_ns = clock_monotonic_ns();
	p->cmdline = prog->argv;
	p->cmdline_len = (uint64_t)prog->argv_len;
	rc = vfs_init(bi, env_value(prog->envp, prog->envp_len, "HOME"));
	if (rc < 0)
		platform_exit(EXIT_CANNOT_RUN);
	enter_cwd(p);
	if ((rc = map_stack(p)) < 0)
		fail(args.path, "cannot map the stack", rc);
	entry = load_program(p, args.path, &exe, &interp_base);
	if ((rc = build_stack(&p->mm, &args, &exe, interp_base, &rsp)) < 0)
		fail(args.path, "cannot build the initial stack", rc);
	frame = (struct trap_frame *)t->kstack_top - 1;
	memset(frame, 0, sizeof(*frame));
	frame->rip = entry;
	frame->cs = USER_CS;
	frame->ss = USER_SS;
	frame->rsp = rsp;
	frame->rflags = USER_RFLAGS_INITIAL;
	user_mode_init();
	/* Without the timer, threads switch only when they block, and
	 * signals sent to lispvm end it (the VMM cannot interrupt us); with
	 * no LAPIC to take its interrupt, stdin stays the hypercall. */
	if (lapic_timer_start()) {
		signal_accept_host_signals();
		vconsole_configure(bi);
		vvsock_configure(bi);
	}
	user_mode_enter(frame);
}
