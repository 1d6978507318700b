/* SPDX-License-Identifier: MIT */
#include "hypercall.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <string.h>
#include <limits.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "fault_report.h"
#include "guest_pagewalk.h"
#include "host_signals.h"
#include "log.h"
#include "run_deadline.h"

/* Returns the value for req->ret; a handler that stops the VM sets
 * ctx->stop instead. */
typedef int64_t (*hypercall_fn)(struct hypercall_context *ctx, const struct lispvm_hypercall *req);

struct hypercall_entry {
	const char *name;
	hypercall_fn fn;
};

static void stop_guest_crash(struct hypercall_context *ctx)
{
	ctx->stop =
		(struct vm_stop){.kind = VM_STOP_GUEST_CRASH, .status = LISPVM_EXIT_GUEST_CRASH};
}

/* The guest buffer [gpa, gpa + len), or NULL after stopping the VM: a
 * buffer outside guest memory is a broken guest. */
static uint8_t *guest_buffer(struct hypercall_context *ctx, const char *what, uint64_t gpa,
			     uint64_t len, enum guest_access access)
{
	uint8_t *buf = guest_memory_access(ctx->mem, gpa, len, access);

	if (buf == NULL) {
		log_error("guest error: %s buffer [0x%" PRIx64 ", +0x%" PRIx64
			  ") is outside %sguest RAM",
			  what, gpa, len, access == GUEST_WRITE ? "writable " : "");
		stop_guest_crash(ctx);
	}
	return buf;
}

static int64_t write_all(int fd, const uint8_t *buf, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		ssize_t n = write(fd, buf + done, len - done);

		/* A reader that stops reading must not outlast --timeout. */
		if (n < 0 && errno == EINTR && !run_deadline_expired())
			continue;
		if (n < 0)
			return done ? (int64_t)done : -errno;
		if (n == 0)
			return done ? (int64_t)done : -EIO;
		done += (uint64_t)n;
	}
	return (int64_t)len;
}

static int64_t hc_console_write(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	const uint8_t *buf;

	if (req->args[1] == 0)
		return 0;
	buf = guest_buffer(ctx, "console_write", req->args[0], req->args[1], GUEST_READ);
	if (buf == NULL)
		return -EFAULT;
	write_all(ctx->console_fd, buf, req->args[1]);
	return (int64_t)req->args[1];
}

static int64_t hc_stdio_write(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	uint64_t fd = req->args[0];
	const uint8_t *buf;

	if (fd != STDOUT_FILENO && fd != STDERR_FILENO)
		return -EBADF;
	if (req->args[2] == 0)
		return 0;
	buf = guest_buffer(ctx, "stdio_write", req->args[1], req->args[2], GUEST_READ);
	if (buf == NULL)
		return -EFAULT;
	if (fd == STDOUT_FILENO)
		fflush(stdout);
	return write_all((int)fd, buf, req->args[2]);
}

static int64_t hc_stdio_read(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	uint8_t *buf;
	ssize_t n;

	if (req->args[0] != STDIN_FILENO)
		return -EBADF;
	if (req->args[2] == 0)
		return 0;
	buf = guest_buffer(ctx, "stdio_read", req->args[1], req->args[2], GUEST_WRITE);
	if (buf == NULL)
		return -EFAULT;
	do
		n = read(STDIN_FILENO, buf, req->args[2] > SSIZE_MAX ? SSIZE_MAX : req->args[2]);
	while (n < 0 && errno == EINTR && !run_deadline_expired());
	return n < 0 ? -errno : n;
}

static int64_t hc_getrandom(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	uint64_t len = req->args[1];
	uint8_t *buf;

	if (len == 0)
		return 0;
	if (len > LISPVM_RANDOM_MAX)
		return -EINVAL;
	buf = guest_buffer(ctx, "getrandom", req->args[0], len, GUEST_WRITE);
	if (buf == NULL)
		return -EFAULT;
	/* Up to 256 bytes from the urandom source never come back short. */
	if (getrandom(buf, len, 0) != (ssize_t)len)
		return -EIO;
	return (int64_t)len;
}

/* Copies a request's array of `count` (args[1]) entries of `size` bytes at
 * args[0] out of guest memory, so the guest cannot change it while it is
 * used.  0, or -errno after stopping the VM (more than `max` entries) or
 * with the accessor's report (the array is not in guest memory). */
static int64_t read_guest_list(struct hypercall_context *ctx, const struct lispvm_hypercall *req,
			       const char *what, uint64_t max, size_t size, void *out)
{
	uint64_t count = req->args[1];
	uint8_t *list;

	if (count > max) {
		log_error("guest error: %s of %" PRIu64 " entries (at most %" PRIu64 ")", what,
			  count, max);
		stop_guest_crash(ctx);
		return -EINVAL;
	}
	list = guest_buffer(ctx, what, req->args[0], count * size, GUEST_READ);
	if (list == NULL)
		return -EFAULT;
	memcpy(out, list, count * size);
	return 0;
}

/* Each segment is checked as a whole before a byte moves: a source in
 * guest RAM or an image, a destination in writable guest RAM. */
static int64_t hc_copy(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	struct lispvm_copy_segment seg[LISPVM_COPY_MAX_SEGMENTS];
	uint64_t count = req->args[1];
	int64_t rc;

	if (count == 0)
		return 0;
	rc = read_guest_list(ctx, req, "copy list", LISPVM_COPY_MAX_SEGMENTS, sizeof(seg[0]), seg);
	if (rc < 0)
		return rc;
	for (uint64_t i = 0; i < count; i++) {
		uint8_t *dst, *src;

		if (seg[i].len == 0)
			continue;
		dst = guest_buffer(ctx, "copy destination", seg[i].dst, seg[i].len, GUEST_WRITE);
		src = dst ? guest_buffer(ctx, "copy source", seg[i].src, seg[i].len, GUEST_READ)
			  : NULL;
		if (src == NULL)
			return -EFAULT;
		memmove(dst, src, seg[i].len);
	}
	return 0;
}

/* Page by page, each side translated through the guest's tables and the
 * result through the checked accessor; it stops, without an error, at the
 * first page the guest itself must handle. */
static int64_t hc_copy_virtual(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	uint64_t dst = req->args[0], src = req->args[1], len = req->args[2], pml4 = req->args[3];
	bool dst_user = req->args[4] & LISPVM_COPY_DST_USER,
	     src_user = req->args[4] & LISPVM_COPY_SRC_USER;
	uint64_t done = 0;

	if (len > LISPVM_COPY_VIRTUAL_MAX)
		len = LISPVM_COPY_VIRTUAL_MAX; /* bounds the time this exit takes */
	while (done < len) {
		uint64_t dgpa, sgpa, dleft, sleft, chunk = len - done;
		uint8_t *d, *s;

		if (guest_translate(ctx->mem, pml4, dst + done, true, dst_user, &dgpa, &dleft) <
			    0 ||
		    guest_translate(ctx->mem, pml4, src + done, false, src_user, &sgpa, &sleft) < 0)
			break;
		if (chunk > dleft)
			chunk = dleft;
		if (chunk > sleft)
			chunk = sleft;
		d = guest_memory_access(ctx->mem, dgpa, chunk, GUEST_WRITE);
		s = guest_memory_access(ctx->mem, sgpa, chunk, GUEST_READ);
		if (d == NULL || s == NULL)
			break; /* an image's page as dst, or no memory: the guest's CPU copy says */
		memmove(d, s, chunk);
		done += chunk;
	}
	return (int64_t)done;
}

/* Each range is checked as a whole, then dropped: the next guest access
 * finds a fresh zero page (MAP_PRIVATE anonymous memory) and KVM's MMU
 * notifier has already unmapped the old one from the guest. */
static int64_t hc_discard(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	struct lispvm_range range[LISPVM_DISCARD_MAX_RANGES];
	uint64_t count = req->args[1];
	int64_t rc;

	if (count == 0)
		return 0;
	rc = read_guest_list(ctx, req, "discard list", LISPVM_DISCARD_MAX_RANGES, sizeof(range[0]),
			     range);
	if (rc < 0)
		return rc;
	for (uint64_t i = 0; i < count; i++) {
		if (range[i].gpa % LISPVM_PAGE_SIZE || range[i].len % LISPVM_PAGE_SIZE ||
		    guest_memory_access(ctx->mem, range[i].gpa, range[i].len, GUEST_WRITE) ==
			    NULL) {
			log_error("guest error: discard range [0x%" PRIx64 ", +0x%" PRIx64
				  ") is not page-aligned guest RAM",
				  range[i].gpa, range[i].len);
			stop_guest_crash(ctx);
			return -EINVAL;
		}
		/* The host's own refusal (locked memory, say): the guest keeps
		 * its pages. */
		if (guest_memory_discard(ctx->mem, range[i].gpa, range[i].len) < 0)
			return -errno;
	}
	return 0;
}

/* The memory figures are optional and only ever printed (--stats), so a
 * bad pointer loses them rather than the exit status. */
static int64_t hc_exit(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	if (req->args[2] == sizeof(ctx->guest_stats) &&
	    guest_memory_read(ctx->mem, &ctx->guest_stats, req->args[1],
			      sizeof(ctx->guest_stats)) == 0)
		ctx->have_guest_stats = true;
	ctx->stop = (struct vm_stop){.kind = VM_STOP_EXIT, .status = (int)(req->args[0] & 0xff)};
	return 0;
}

static int64_t hc_fault(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	struct lispvm_fault_report report;

	if (req->args[1] != sizeof(report) ||
	    guest_memory_read(ctx->mem, &report, req->args[0], sizeof(report)) < 0) {
		log_error("guest error: fault report [0x%" PRIx64 ", +0x%" PRIx64
			  ") is outside guest RAM or has the wrong size",
			  req->args[0], req->args[1]);
	} else {
		fflush(stdout);
		fault_report_print(stderr, &report);
	}
	stop_guest_crash(ctx);
	return 0;
}

static int64_t hc_hostfs(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	bool broken = false;
	int64_t ret;

	if (ctx->hostfs == NULL)
		return -ENODEV;
	ret = hostfs_serve(ctx->hostfs, ctx->mem, req->args[0], req->args[1], &broken);
	if (broken)
		stop_guest_crash(ctx);
	return ret;
}

static int64_t hc_host_signals(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	(void)ctx;
	if (req->args[0] == 1) {
		host_signals_set_ready();
		return 0;
	}
	return req->args[0] == 0 ? (int64_t)host_signals_take() : -EINVAL;
}

/* Refused while the guest holds host files open: their descriptors live
 * in this process and could not be reopened by the one that restores. */
static int64_t hc_snapshot(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	(void)req;
	if (!ctx->takes_snapshot)
		return -ENODEV;
	if (ctx->hostfs != NULL && hostfs_open_handles(ctx->hostfs) > 0)
		return -EBUSY;
	ctx->stop = (struct vm_stop){.kind = VM_STOP_SNAPSHOT};
	return LISPVM_SNAPSHOT_RESTORED;
}

static int64_t hc_gc_done(struct hypercall_context *ctx, const struct lispvm_hypercall *req)
{
	(void)req;
	if (ctx->dirty != NULL)
		dirty_log_gc_done(ctx->dirty);
	return 0;
}

static const struct hypercall_entry hypercall_table[LISPVM_HC_COUNT] = {
	[LISPVM_HC_CONSOLE_WRITE] = {"console_write", hc_console_write},
	[LISPVM_HC_EXIT] = {"exit", hc_exit},
	[LISPVM_HC_FAULT] = {"fault", hc_fault},
	[LISPVM_HC_STDIO_WRITE] = {"stdio_write", hc_stdio_write},
	[LISPVM_HC_STDIO_READ] = {"stdio_read", hc_stdio_read},
	[LISPVM_HC_GETRANDOM] = {"getrandom", hc_getrandom},
	[LISPVM_HC_HOSTFS] = {"hostfs", hc_hostfs},
	[LISPVM_HC_HOST_SIGNALS] = {"host_signals", hc_host_signals},
	[LISPVM_HC_COPY] = {"copy", hc_copy},
	[LISPVM_HC_DISCARD] = {"discard", hc_discard},
	[LISPVM_HC_COPY_VIRTUAL] = {"copy_virtual", hc_copy_virtual},
	[LISPVM_HC_SNAPSHOT] = {"snapshot", hc_snapshot},
	[LISPVM_HC_GC_DONE] = {"gc_done", hc_gc_done},
};

void hypercall_dispatch(struct hypercall_context *ctx, uint32_t request_gpa)
{
	struct lispvm_hypercall req;

	if (guest_memory_read(ctx->mem, &req, request_gpa, sizeof(req)) < 0) {
		log_error("guest error: hypercall request at 0x%" PRIx32 " is outside guest RAM",
			  request_gpa);
		stop_guest_crash(ctx);
		return;
	}
	if (req.nr >= LISPVM_HC_COUNT || req.reserved != 0) {
		log_error("guest error: unknown hypercall %" PRIu32 " (reserved 0x%" PRIx32 ")",
			  req.nr, req.reserved);
		stop_guest_crash(ctx);
		return;
	}
	log_verbose("hypercall %s", hypercall_table[req.nr].name);
	req.ret = hypercall_table[req.nr].fn(ctx, &req);
	/* A snapshot holds the answer its restored guest will read. */
	if (ctx->stop.kind != VM_RUNNING && ctx->stop.kind != VM_STOP_SNAPSHOT)
		return;
	if (guest_memory_write(ctx->mem, request_gpa + offsetof(struct lispvm_hypercall, ret),
			       &req.ret, sizeof(req.ret)) < 0) {
		log_error("guest error: hypercall request at 0x%" PRIx32 " is read-only",
			  request_gpa);
		stop_guest_crash(ctx);
	}
}
