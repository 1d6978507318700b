/* SPDX-License-Identifier: MIT */
#include "device_thread.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <semaphore.h>
#include <sys/prctl.h>
#include <time.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "guest_memory.h"

int device_eventfds(int *const *fds, unsigned int n, const char *what, char *err, size_t err_size)
{
	for (unsigned int i = 0; i < n; i++) {
		*fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (*fds[i] < 0) {
			snprintf(err, err_size, "eventfd for the %s: %s", what, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* What a new thread needs to sandbox itself before it runs fn; it lives
 * on its creator's stack until `ready` is posted. */
struct thread_start {
	void *(*fn)(void *);
	void *arg;
	enum sandbox_role role;
	const char *creator_role; /* SANDBOX_SAME_AS_CREATOR */
	sem_t ready;
	int rc;
	char err[256];
};

static void *sandboxed_thread(void *p)
{
	struct thread_start *start = p;
	void *(*fn)(void *) = start->fn;
	void *arg = start->arg;
	bool entered;

	if (start->role == SANDBOX_SAME_AS_CREATOR) {
		sandbox_take_thread_role(start->creator_role); /* its filter came along */
		start->rc = 0;
	} else {
		prctl(PR_SET_NAME, sandbox_role_name(start->role)); /* ps, top -H, audit */
		start->rc = sandbox_enter(start->role, NULL, start->err, sizeof(start->err));
	}
	entered = start->rc == 0;
	sem_post(&start->ready);
	return entered ? fn(arg) : NULL;
}

/* Waits until the thread has its filter, so a failure is the caller's. */
static int start_sandboxed(pthread_t *thread, struct thread_start *start, char *err,
			   size_t err_size)
{
	int rc;

	sem_init(&start->ready, 0, 0);
	rc = pthread_create(thread, NULL, sandboxed_thread, start);
	if (rc == 0) {
		while (sem_wait(&start->ready) < 0 && errno == EINTR)
			;
		if (start->rc < 0) {
			pthread_join(*thread, NULL);
			snprintf(err, err_size, "%s", start->err);
		}
	}
	sem_destroy(&start->ready);
	return rc != 0 ? rc : start->rc < 0 ? -1 : 0;
}

int device_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg, enum sandbox_role role,
			char *err, size_t err_size)
{
	struct thread_start start = {
		.fn = fn, .arg = arg, .role = role, .creator_role = sandbox_thread_role()};
	sigset_t blocked, old;
	int rc;

	/* SIGSYS stays open: a blocked one would kill without its line. */
	sigfillset(&blocked);
	sigdelset(&blocked, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &blocked, &old);
	rc = start_sandboxed(thread, &start, err, err_size);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc > 0)
		snprintf(err, err_size, "cannot start the %s thread: %s",
			 role == SANDBOX_SAME_AS_CREATOR ? start.creator_role
							 : sandbox_role_name(role),
			 strerror(rc));
	return rc == 0 ? 0 : -1;
}

void device_interrupt(struct virtio_mmio *m, int irq_fd)
{
	uint64_t one = 1;

	virtio_mmio_note_used(m);
	if (write(irq_fd, &one, sizeof(one)) < 0)
		return; /* counter full: an interrupt is pending anyway */
}

void device_drain_eventfd(int fd)
{
	uint64_t count;

	if (read(fd, &count, sizeof(count)) < 0)
		return; /* nothing pending (EAGAIN) */
}

void *device_access_guest(void *ctx, uint64_t addr, uint64_t len, bool write)
{
	return guest_memory_access(ctx, addr, len, write ? GUEST_WRITE : GUEST_READ);
}

void monotonic_cond_init(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

struct timespec monotonic_deadline(unsigned int ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

void device_pause_init(struct device_pause *p)
{
	*p = (struct device_pause){0};
	pthread_mutex_init(&p->lock, NULL);
	monotonic_cond_init(&p->cond);
}

void device_pause_destroy(struct device_pause *p)
{
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

void device_pause_point(struct device_pause *p)
{
	pthread_mutex_lock(&p->lock);
	if (p->requested) {
		p->paused = true;
		pthread_cond_broadcast(&p->cond);
		while (p->requested)
			pthread_cond_wait(&p->cond, &p->lock);
		p->paused = false;
	}
	pthread_mutex_unlock(&p->lock);
}

int device_pause(struct device_pause *p, int wake_fd, unsigned int timeout_ms)
{
	struct timespec deadline = monotonic_deadline(timeout_ms);
	uint64_t one = 1;
	int rc = 0;

	pthread_mutex_lock(&p->lock);
	p->requested = true;
	if (write(wake_fd, &one, sizeof(one)) < 0) {
		/* counter full: the thread is awake anyway */
	}
	while (!p->paused && rc == 0)
		rc = pthread_cond_timedwait(&p->cond, &p->lock, &deadline);
	if (!p->paused) {
		p->requested = false;
		pthread_cond_broadcast(&p->cond);
	}
	rc = p->paused ? 0 : -1;
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void device_resume(struct device_pause *p)
{
	pthread_mutex_lock(&p->lock);
	p->requested = false;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}
