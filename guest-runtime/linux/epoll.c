/* SPDX-License-Identifier: MIT */
/*
 * epoll over the same readiness that poll(2) scans: an epoll file keeps
 * its interest list, and epoll_wait scans it, waiting on the scheduler's
 * poll channel while nothing is ready.  A program has few descriptors,
 * so a scan per wake costs less than callbacks from every file would.
 *
 * An entry names a descriptor and the file it referred to when added.
 * A file's release removes its entries from every set (as on Linux); an
 * entry whose descriptor was closed or now names another file, while a
 * duplicate keeps the file open, is dropped at the next scan (Linux would
 * go on reporting it).
 * EPOLLONESHOT disables the entry after a report until EPOLL_CTL_MOD.
 * EPOLLET is served level-triggered: without a callback from each file a
 * scan cannot tell a new edge from a lasting condition, and reporting a
 * lasting one again only costs an edge-triggered program (which reads
 * until EAGAIN anyway) a wakeup, where missing an edge would hang it.
 */
#include <errno.h>
#include <linux/eventpoll.h>
#include <linux/fcntl.h>
#include <linux/poll.h>
#include <linux/stat.h>
#include <string.h>

#include "fs/file.h"
#include "kernel/kheap.h"
#include "linux/epoll.h"
#include "linux/fd.h"
#include "linux/poll_wait.h"
#include "linux/scheduler.h"
#include "linux/signal_frame.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"

#define EPOLL_DEV	0x000d
#define EP_MAX_NESTS	4
#define EP_MAX_EVENTS	(INT32_MAX / (int)sizeof(struct epoll_event))
#define ALWAYS_REPORTED (EPOLLERR | EPOLLHUP)
#define EVENT_BITS                                                                                 \
	(EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND |         \
	 EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP)

struct epitem {
	struct epitem *next;
	int fd;
	const struct file *file; /* identity only: no reference is held */
	uint32_t events;	 /* what was asked, flags included */
	uint64_t data;
	bool disabled; /* EPOLLONESHOT after its report */
};

struct epoll {
	struct epoll *next; /* every set, for epoll_file_released */
	struct epitem *items;
	uint64_t ino;
};

static const struct file_ops epoll_ops;
static unsigned int scan_ready(struct epoll *ep, struct file *f);
static struct epoll *sets;
static uint64_t next_epoll_ino = 1;

static struct epoll *epoll_of(struct file *f)
{
	return f->ops == &epoll_ops ? f->priv : NULL;
}

static struct epitem *find_item(struct epoll *ep, int fd, const struct file *file)
{
	for (struct epitem *it = ep->items; it; it = it->next)
		if (it->fd == fd && it->file == file)
			return it;
	return NULL;
}

static void drop_item(struct epoll *ep, struct epitem *item)
{
	for (struct epitem **p = &ep->items; *p; p = &(*p)->next)
		if (*p == item) {
			*p = item->next;
			kfree(item);
			return;
		}
}

/* What item reports now (0: nothing); drops it when its file is gone. */
static uint32_t item_ready(struct epoll *ep, struct epitem *item, bool *dropped)
{
	struct file *f = fd_get(item->fd);
	uint32_t now;

	*dropped = false;
	if (f != item->file) {
		if (f != NULL)
			file_put(f);
		drop_item(ep, item);
		*dropped = true;
		return 0;
	}
	now = poll_file_ready(f) & ((item->events & EVENT_BITS) | ALWAYS_REPORTED);
	file_put(f);
	if (item->disabled)
		return 0;
	if (now != 0 && (item->events & EPOLLONESHOT))
		item->disabled = true;
	return now;
}

/* Up to max ready events into out; their count. */
static int scan(struct epoll *ep, struct epoll_event *out, int max)
{
	int n = 0;

	for (struct epitem *it = ep->items, *next; it && n < max; it = next) {
		bool dropped;
		uint32_t ready;

		next = it->next;
		ready = item_ready(ep, it, &dropped);
		if (ready != 0)
			out[n++] = (struct epoll_event){.events = ready, .data = it->data};
	}
	return n;
}

/* An epoll file is readable when one of its entries is ready (nested
 * epoll and poll on an epoll descriptor); asking does not use up a
 * one-shot. */
static unsigned int epoll_poll(struct file *f)
{
	struct epoll *ep = epoll_of(f);
	static unsigned int depth;
	unsigned int ready = 0;

	/* Sets inside sets: Linux allows 4 levels and refuses loops (ELOOP);
	 * deeper nesting, or a loop, reads as not ready instead of
	 * recursing without end. */
	if (depth >= EP_MAX_NESTS)
		return 0;
	depth++;
	ready = scan_ready(ep, f);
	depth--;
	return ready;
}

static unsigned int scan_ready(struct epoll *ep, struct file *f)
{

	for (struct epitem *it = ep->items; it; it = it->next) {
		struct file *g = fd_get(it->fd);
		uint32_t now;

		if (g == NULL)
			continue;
		now = g == it->file && g != f
			      ? poll_file_ready(g) & ((it->events & EVENT_BITS) | ALWAYS_REPORTED)
			      : 0;
		file_put(g);
		if (now != 0 && !it->disabled)
			return POLLIN | POLLRDNORM;
	}
	return 0;
}

static int epoll_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = EPOLL_DEV;
	st->st_ino = epoll_of(f)->ino;
	st->st_mode = 0600;
	st->st_nlink = 1;
	return 0;
}

static void epoll_release(struct file *f)
{
	struct epoll *ep = epoll_of(f);

	for (struct epoll **p = &sets; *p; p = &(*p)->next)
		if (*p == ep) {
			*p = ep->next;
			break;
		}
	while (ep->items)
		drop_item(ep, ep->items);
	kfree(ep);
}

void epoll_file_released(struct file *f)
{
	for (struct epoll *ep = sets; ep; ep = ep->next)
		for (struct epitem *it = ep->items, *next; it; it = next) {
			next = it->next;
			if (it->file == f)
				drop_item(ep, it);
		}
}

static const struct file_ops epoll_ops = {
	.poll = epoll_poll,
	.stat = epoll_stat,
	.release = epoll_release,
};

SYSCALL_DEFINE(epoll_create1)
{
	struct epoll *ep;
	struct file *f;
	int fd;

	if (a0 & ~(uint64_t)EPOLL_CLOEXEC)
		return -EINVAL;
	ep = kzalloc(sizeof(*ep));
	if (ep == NULL)
		return -ENOMEM;
	ep->ino = next_epoll_ino++;
	f = file_alloc(&epoll_ops, O_RDWR, "anon_inode:[eventpoll]");
	if (f == NULL) {
		kfree(ep);
		return -ENOMEM;
	}
	f->priv = ep;
	f->stream = true;
	ep->next = sets;
	sets = ep;
	fd = fd_install(f, 0, (a0 & EPOLL_CLOEXEC) != 0);
	if (fd < 0)
		file_put(f);
	return fd;
}

SYSCALL_DEFINE(epoll_create)
{
	return (int)a0 <= 0 ? -EINVAL : sys_epoll_create1(0, 0, 0, 0, 0, 0);
}

static int64_t control(struct epoll *ep, int op, int fd, struct file *target,
		       const struct epoll_event *ev)
{
	struct epitem *item = find_item(ep, fd, target);

	switch (op) {
	case EPOLL_CTL_ADD:
		if (item != NULL)
			return -EEXIST;
		item = kzalloc(sizeof(*item));
		if (item == NULL)
			return -ENOMEM;
		*item = (struct epitem){.next = ep->items, .fd = fd, .file = target};
		ep->items = item;
		target->epoll_watched = true;
		break;
	case EPOLL_CTL_MOD:
		if (item == NULL)
			return -ENOENT;
		break;
	case EPOLL_CTL_DEL:
		if (item == NULL)
			return -ENOENT;
		drop_item(ep, item);
		return 0;
	default:
		return -EINVAL;
	}
	item->events = ev->events;
	item->data = ev->data;
	item->disabled = false;
	sched_wake_all(&sched_poll_chan); /* a waiter may have this ready now */
	return 0;
}

SYSCALL_DEFINE(epoll_ctl)
{
	struct file *epf = fd_get((int)a0), *target = fd_get((int)a2);
	struct epoll_event ev = {0};
	int64_t rc;

	/* Checked in Linux's order. */
	if (epf == NULL || target == NULL)
		rc = -EBADF;
	else if (target->ops->poll == NULL)
		rc = -EPERM; /* regular files and directories, as on Linux */
	else if (epoll_of(epf) == NULL || epf == target)
		rc = -EINVAL;
	else if ((int)a1 != EPOLL_CTL_DEL && copy_from_user(&ev, a3, sizeof(ev)) < 0)
		rc = -EFAULT;
	else
		rc = control(epoll_of(epf), (int)a1, (int)a2, target, &ev);
	if (epf != NULL)
		file_put(epf);
	if (target != NULL)
		file_put(target);
	return rc;
}

static int64_t do_wait(int epfd, uint64_t uevents, int max, uint64_t timeout_ns)
{
	struct file *f = fd_get(epfd);
	uint64_t deadline = poll_deadline_after(timeout_ns);
	struct epoll_event *out;
	int64_t n, rc;

	if (f == NULL)
		return -EBADF;
	if (epoll_of(f) == NULL || max <= 0 || max > EP_MAX_EVENTS) {
		file_put(f);
		return -EINVAL;
	}
	if (max > 1024)
		max = 1024; /* the rest stay ready for the next call */
	out = kmalloc((size_t)max * sizeof(*out));
	if (out == NULL) {
		file_put(f);
		return -ENOMEM;
	}
	while ((n = scan(epoll_of(f), out, max)) == 0) {
		if ((rc = poll_wait_for_readiness(timeout_ns, deadline)) != 0) {
			n = rc > 0 ? 0 : rc;
			break;
		}
	}
	if (n > 0 && copy_to_user(uevents, out, (uint64_t)n * sizeof(*out)) < 0)
		n = -EFAULT;
	kfree(out);
	file_put(f);
	return n;
}

static uint64_t timeout_ms_ns(int ms)
{
	return ms < 0 ? NO_TIMEOUT : (uint64_t)ms * 1000000;
}

SYSCALL_DEFINE(epoll_wait)
{
	return do_wait((int)a0, a1, (int)a2, timeout_ms_ns((int)a3));
}

SYSCALL_DEFINE(epoll_pwait)
{
	int64_t rc = signal_mask_for_wait(a4, a5);

	return rc < 0 ? rc : do_wait((int)a0, a1, (int)a2, timeout_ms_ns((int)a3));
}

SYSCALL_DEFINE(epoll_pwait2)
{
	uint64_t ns;
	int64_t rc = poll_timespec_ns(a3, &ns);

	if (rc < 0 || (rc = signal_mask_for_wait(a4, a5)) < 0)
		return rc;
	return do_wait((int)a0, a1, (int)a2, ns);
}
