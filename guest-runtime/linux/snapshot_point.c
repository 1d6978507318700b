/* SPDX-License-Identifier: MIT */
#include "linux/snapshot_point.h"

#include <errno.h>
#include <lispvm/abi.h>
#include <linux/fcntl.h>
#include <linux/limits.h>
#include <linux/stat.h>
#include <stdio.h>
#include <string.h>

#include "fs/console.h"
#include "fs/vfs.h"
#include "kernel/clock.h"
#include "kernel/hypercall.h"
#include "kernel/kheap.h"
#include "kernel/pmem.h"
#include "kernel/printk.h"
#include "linux/process.h"
#include "linux/scheduler.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

static struct {
	uint64_t start_info_paddr;
	/* The restoring command's boot data; the program's strings point
	 * into its device tree, which stays in reserved low memory. */
	struct boot_info restored;
	char *invocation; /* NULL until restored */
	uint64_t invocation_len;
} point;

void snapshot_point_init(const struct boot_info *bi)
{
	point.start_info_paddr = bi->start_info_paddr;
}

static int count_strings(const char *block, int len)
{
	int n = 0;

	for (int i = 0; i < len; i++)
		n += block[i] == '\0';
	return n;
}

/* ARGC NUL ARGV... ENVC NUL ENV... CWD NUL (snapshot_point.h). */
static int build_invocation(const struct boot_program *prog, const char *cwd)
{
	size_t cwd_len = strlen(cwd) + 1;
	size_t size = 2 * 24 + (size_t)prog->argv_len + (size_t)prog->envp_len + cwd_len;
	char *out = kmalloc(size), *p = out;

	if (out == NULL)
		return -ENOMEM;
	kfree(point.invocation); /* the one an earlier restore returned */
	p += snprintf(p, 24, "%d", count_strings(prog->argv, prog->argv_len)) + 1;
	memcpy(p, prog->argv, (size_t)prog->argv_len);
	p += prog->argv_len;
	p += snprintf(p, 24, "%d", count_strings(prog->envp, prog->envp_len)) + 1;
	memcpy(p, prog->envp, (size_t)prog->envp_len);
	p += prog->envp_len;
	memcpy(p, cwd, cwd_len);
	p += cwd_len;
	point.invocation = out;
	point.invocation_len = (uint64_t)(p - out);
	return 0;
}

/* The restoring command's cwd, where it resolves to a directory. */
static void enter_cwd(struct process *p, const char *cwd)
{
	static char canon[PATH_MAX];
	struct vnode node;

	if (cwd == NULL || vfs_resolve(AT_FDCWD, cwd, true, &node, canon) < 0 ||
	    !S_ISDIR(node.mode)) {
		printk("lispvm: restored: no directory %s in the guest; cwd stays %s\n",
		       cwd ? cwd : "(none)", p->cwd);
		return;
	}
	memcpy(p->cwd, canon, strlen(canon) + 1);
}

static bool restored;

bool snapshot_point_was_restored(void)
{
	return restored;
}

/* In a restored VM: the boot data are the restoring command's. */
static int resume(void)
{
	struct boot_info *bi = &point.restored;
	const struct boot_program *prog = &bi->program;
	struct process *p = current_process();
	int rc;

	restored = true;
	boot_info_parse(point.start_info_paddr, bi);
	clock_resume();
	if (!prog->present)
		return -EPROTO;
	console_configure(prog->tty_mask, prog->rows, prog->cols);
	syscall_set_trace(prog->strace);
	rc = vfs_remount_hosts(bi);
	if (rc < 0)
		return rc;
	enter_cwd(p, prog->cwd);
	p->cmdline = prog->argv;
	p->cmdline_len = (uint64_t)prog->argv_len;
	return build_invocation(prog, p->cwd);
}

static int take_snapshot(void)
{
	int64_t rc;

	/* Free pages go back to the host first: they are holes in the file. */
	pmem_return_all();
	rc = hypercall(LISPVM_HC_SNAPSHOT, 0, 0);
	if (rc < 0)
		return (int)rc;
	return rc == LISPVM_SNAPSHOT_RESTORED ? resume() : -EPROTO;
}

int64_t snapshot_point_read(void *buf, uint64_t len, uint64_t off)
{
	uint64_t n;
	int rc;

	/* Each read from the start takes a snapshot: a VM restored from one
	 * can take another (a diff over it). */
	if (off == 0 && len > 0 && (rc = take_snapshot()) < 0)
		return rc;
	if (off >= point.invocation_len)
		return 0;
	n = point.invocation_len - off < len ? point.invocation_len - off : len;
	if (uaccess_copy(buf, point.invocation + off, n) != 0)
		return -EFAULT;
	return (int64_t)n;
}

/* ---- resumes of a running VM's snapshot: /dev/lispvm-resumed ---- */

static uint64_t resumes;
static const char resumed_chan;

void snapshot_point_resumed(void)
{
	restored = true;
	resumes++;
	sched_wake_all(&resumed_chan);
	sched_wake_all(&sched_poll_chan);
}

bool snapshot_point_resumed_past(uint64_t off)
{
	return resumes > off;
}

int64_t snapshot_point_resumed_read(void *buf, uint64_t len, uint64_t off, bool nonblock)
{
	static const char marks[64] = {[0 ... 63] = '\n'};
	uint64_t n;

	/* The kernel runs with interrupts off: no resume slips in between
	 * the test and the wait. */
	while (resumes <= off && len > 0) {
		int64_t rc;

		if (nonblock)
			return -EAGAIN;
		rc = sched_wait_on(&resumed_chan);
		if (rc < 0)
			return rc == -EINTR ? -ERESTARTSYS : rc;
	}
	n = resumes - off < len ? resumes - off : len;
	n = n < sizeof(marks) ? n : sizeof(marks);
	if (uaccess_copy(buf, marks, n) != 0)
		return -EFAULT;
	return (int64_t)n;
}
