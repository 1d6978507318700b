/* SPDX-License-Identifier: MIT */
/*
 * The socket system calls.  Only AF_VSOCK stream sockets exist; socket()
 * for any other family fails with EAFNOSUPPORT, as on a Linux built
 * without it, and programs fall back as they do there.
 */
#include "net/socket.h"

#include <asm/siginfo.h>
#include <asm/signal.h>
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/stat.h>
#include <linux/uio.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fs/file.h"
#include "linux/fd.h"
#include "linux/process.h"
#include "linux/signal_frame.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"
#include "net/vsock.h"

#define SOCKET_DEV 0x0008

/* The userspace ABI's struct msghdr (linux/socket.h has only the
 * kernel's). */
struct user_msghdr {
	uint64_t msg_name;
	int32_t msg_namelen;
	uint64_t msg_iov;
	uint64_t msg_iovlen;
	uint64_t msg_control;
	uint64_t msg_controllen;
	int32_t msg_flags;
};

static uint64_t next_socket_ino = 1;

static struct socket *socket_of(struct file *f);

static int64_t socket_read(struct file *f, void *buf, uint64_t len, uint64_t off)
{
	struct socket *s = socket_of(f);

	(void)off;
	return s->ops->recv(s, buf, len, (f->flags & O_NONBLOCK) ? MSG_DONTWAIT : 0);
}

/* A write to a stream the peer no longer reads raises SIGPIPE, unless the
 * caller asked not to (MSG_NOSIGNAL). */
static int64_t send_and_signal(struct socket *s, const void *buf, uint64_t len, int flags)
{
	int64_t n = s->ops->send(s, buf, len, flags);

	if (n == -EPIPE && !(flags & MSG_NOSIGNAL)) {
		siginfo_t info = {.si_signo = SIGPIPE, .si_code = SI_USER};

		signal_send_info(current_thread(), &info);
	}
	return n;
}

static int64_t socket_write(struct file *f, const void *buf, uint64_t len, uint64_t off)
{
	(void)off;
	return send_and_signal(socket_of(f), buf, len, (f->flags & O_NONBLOCK) ? MSG_DONTWAIT : 0);
}

static int socket_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = SOCKET_DEV;
	st->st_ino = socket_of(f)->ino;
	st->st_mode = S_IFSOCK | 0777;
	st->st_nlink = 1;
	st->st_blksize = 4096;
	return 0;
}

static unsigned int socket_poll(struct file *f)
{
	struct socket *s = socket_of(f);

	return s->ops->poll(s);
}

static int64_t socket_ioctl(struct file *f, unsigned int cmd, uint64_t arg)
{
	struct socket *s = socket_of(f);

	return s->ops->ioctl(s, cmd, arg);
}

static void socket_release(struct file *f)
{
	struct socket *s = socket_of(f);

	s->ops->release(s);
}

static const struct file_ops socket_file_ops = {
	.read = socket_read,
	.write = socket_write,
	.stat = socket_stat,
	.poll = socket_poll,
	.ioctl = socket_ioctl,
	.release = socket_release,
};

static struct socket *socket_of(struct file *f)
{
	return f->ops == &socket_file_ops ? f->priv : NULL;
}

int socket_install(struct socket *s, int flags)
{
	char name[32];
	struct file *f;
	int fd;

	s->ino = next_socket_ino++;
	snprintf(name, sizeof(name), "socket:[%lu]", s->ino);
	f = file_alloc(&socket_file_ops, O_RDWR | (flags & SOCK_NONBLOCK ? O_NONBLOCK : 0), name);
	if (f == NULL) {
		s->ops->release(s);
		return -ENOMEM;
	}
	f->priv = s;
	f->stream = true;
	fd = fd_install(f, 0, (flags & SOCK_CLOEXEC) != 0);
	if (fd < 0)
		file_put(f);
	return fd;
}

/* The socket behind fd, its file held in *held (file_put it); NULL with
 * *err EBADF or ENOTSOCK. */
static struct socket *socket_get(int fd, struct file **held, int64_t *err)
{
	struct file *f = fd_get(fd);

	*held = f;
	if (f == NULL) {
		*err = -EBADF;
		return NULL;
	}
	if (socket_of(f) == NULL) {
		file_put(f);
		*held = NULL;
		*err = -ENOTSOCK;
		return NULL;
	}
	return socket_of(f);
}

static int dontwait(const struct file *f, int flags)
{
	return (f->flags & O_NONBLOCK) ? flags | MSG_DONTWAIT : flags;
}

/* A user's sockaddr into a kernel copy. */
static int copy_addr_in(uint64_t uaddr, uint64_t len, void *addr)
{
	if (len > SOCKET_ADDR_MAX)
		return -EINVAL;
	return copy_from_user(addr, uaddr, len) < 0 ? -EFAULT : 0;
}

/* An address out to (uaddr, *ulen) as Linux does: truncated to the room
 * the caller gave, with the full length written back. */
static int copy_addr_out(const void *addr, int len, uint64_t uaddr, uint64_t ulen)
{
	int32_t room;

	if (uaddr == 0)
		return 0;
	if (copy_from_user(&room, ulen, sizeof(room)) < 0)
		return -EFAULT;
	if (room < 0)
		return -EINVAL;
	if (copy_to_user(uaddr, addr, (uint64_t)(room < len ? room : len)) < 0 ||
	    copy_to_user(ulen, &len, sizeof(len)) < 0)
		return -EFAULT;
	return 0;
}

SYSCALL_DEFINE(socket)
{
	int family = (int)a0, type = (int)a1 & SOCK_TYPE_MASK, flags = (int)a1 & ~SOCK_TYPE_MASK;
	struct socket *s;
	int rc;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	if (family != AF_VSOCK)
		return -EAFNOSUPPORT;
	rc = vsock_create(type, (int)a2, &s);
	return rc < 0 ? rc : socket_install(s, flags);
}

/* bind and connect: a socket and a user address. */
static int64_t address_call(uint64_t fd, uint64_t uaddr, uint64_t len, bool connect)
{
	char addr[SOCKET_ADDR_MAX];
	struct file *f;
	int64_t rc;
	struct socket *s = socket_get((int)fd, &f, &rc);

	if (s == NULL)
		return rc;
	rc = copy_addr_in(uaddr, len, addr);
	if (rc == 0)
		rc = connect ? s->ops->connect(s, addr, (uint32_t)len, (f->flags & O_NONBLOCK) != 0)
			     : s->ops->bind(s, addr, (uint32_t)len);
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(bind)
{
	return address_call(a0, a1, a2, false);
}

SYSCALL_DEFINE(connect)
{
	return address_call(a0, a1, a2, true);
}

SYSCALL_DEFINE(listen)
{
	struct file *f;
	int64_t rc;
	struct socket *s = socket_get((int)a0, &f, &rc);

	if (s == NULL)
		return rc;
	rc = s->ops->listen(s, (int)a1);
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(accept4)
{
	char addr[SOCKET_ADDR_MAX];
	struct socket *s, *conn;
	struct file *f;
	int64_t rc;
	int len, fd;

	if ((int)a3 & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	s = socket_get((int)a0, &f, &rc);
	if (s == NULL)
		return rc;
	rc = s->ops->accept(s, &conn, (f->flags & O_NONBLOCK) != 0);
	file_put(f);
	if (rc < 0)
		return rc;
	len = conn->ops->getname(conn, addr, true);
	fd = socket_install(conn, (int)a3);
	if (fd < 0)
		return fd;
	if ((rc = copy_addr_out(addr, len, a1, a2)) < 0) {
		fd_close(fd);
		return rc;
	}
	return fd;
}

SYSCALL_DEFINE(accept)
{
	return sys_accept4(a0, a1, a2, 0, 0, 0);
}

static int64_t getname(uint64_t fd, uint64_t uaddr, uint64_t ulen, bool peer)
{
	char addr[SOCKET_ADDR_MAX];
	struct file *f;
	int64_t rc;
	struct socket *s = socket_get((int)fd, &f, &rc);

	if (s == NULL)
		return rc;
	rc = s->ops->getname(s, addr, peer);
	file_put(f);
	if (rc < 0)
		return rc;
	if (uaddr == 0)
		return -EFAULT;
	return copy_addr_out(addr, (int)rc, uaddr, ulen);
}

SYSCALL_DEFINE(getsockname)
{
	return getname(a0, a1, a2, false);
}

SYSCALL_DEFINE(getpeername)
{
	return getname(a0, a1, a2, true);
}

SYSCALL_DEFINE(shutdown)
{
	struct file *f;
	int64_t rc;
	struct socket *s = socket_get((int)a0, &f, &rc);

	if (s == NULL)
		return rc;
	rc = (int)a1 < SHUT_RD || (int)a1 > SHUT_RDWR ? -EINVAL : s->ops->shutdown(s, (int)a1);
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(setsockopt)
{
	char val[SOCKET_ADDR_MAX];
	struct file *f;
	int64_t rc;
	struct socket *s = socket_get((int)a0, &f, &rc);

	if (s == NULL)
		return rc;
	if (a4 > sizeof(val))
		rc = -EINVAL;
	else if (copy_from_user(val, a3, a4) < 0)
		rc = -EFAULT;
	else
		rc = s->ops->setsockopt(s, (int)a1, (int)a2, val, (uint32_t)a4);
	file_put(f);
	return rc;
}

SYSCALL_DEFINE(getsockopt)
{
	char val[SOCKET_ADDR_MAX];
	uint32_t len = sizeof(val);
	int32_t room;
	struct file *f;
	int64_t rc;
	struct socket *s = socket_get((int)a0, &f, &rc);

	if (s == NULL)
		return rc;
	memset(val, 0, sizeof(val));
	rc = s->ops->getsockopt(s, (int)a1, (int)a2, val, &len);
	file_put(f);
	if (rc < 0)
		return rc;
	if (copy_from_user(&room, a4, sizeof(room)) < 0)
		return -EFAULT;
	if (room < 0)
		return -EINVAL;
	if ((uint32_t)room < len)
		len = (uint32_t)room;
	if (copy_to_user(a3, val, len) < 0 || copy_to_user(a4, &len, sizeof(len)) < 0)
		return -EFAULT;
	return 0;
}

/* The iovecs in turn.  A receive takes, after the first, only what is
 * there already (it returns once it has something); a send blocks until
 * all of it went, as Linux's does. */
static int64_t transfer_iov(struct socket *s, bool send, uint64_t uiov, uint64_t count, int flags)
{
	int64_t total = 0;

	if (count > UIO_MAXIOV)
		return -EMSGSIZE;
	for (uint64_t i = 0; i < count; i++) {
		struct iovec iov;
		int64_t n;

		if (copy_from_user(&iov, uiov + i * sizeof(iov), sizeof(iov)) < 0)
			return total ? total : -EFAULT;
		if ((int64_t)iov.iov_len < 0 || !user_range_ok((uint64_t)iov.iov_base, iov.iov_len))
			return total ? total : -EFAULT;
		if (iov.iov_len == 0)
			continue;
		n = send ? send_and_signal(s, iov.iov_base, iov.iov_len, flags)
			 : s->ops->recv(s, iov.iov_base, iov.iov_len, flags);
		if (n < 0)
			return total ? total : n;
		total += n;
		if ((uint64_t)n < iov.iov_len)
			break;
		if (!send) /* a send moves everything, as one large write would */
			flags |= MSG_DONTWAIT;
	}
	return total;
}

static int64_t sendrecv(uint64_t fd, bool send, uint64_t buf, uint64_t len, int flags,
			uint64_t uaddr, uint64_t ulen)
{
	char addr[SOCKET_ADDR_MAX];
	struct file *f;
	int64_t rc, n;
	struct socket *s = socket_get((int)fd, &f, &rc);

	if (s == NULL)
		return rc;
	flags = dontwait(f, flags);
	if (!user_range_ok(buf, len))
		n = -EFAULT;
	else
		n = send ? send_and_signal(s, (const void *)buf, len, flags)
			 : s->ops->recv(s, (void *)buf, len, flags);
	if (n >= 0 && !send && uaddr != 0) {
		rc = s->ops->getname(s, addr, true);
		if (rc >= 0 && (rc = copy_addr_out(addr, (int)rc, uaddr, ulen)) < 0)
			n = rc;
	}
	file_put(f);
	return n;
}

/* A stream socket is connected: sendto's address is ignored, as TCP and
 * vsock do. */
SYSCALL_DEFINE(sendto)
{
	return sendrecv(a0, true, a1, a2, (int)a3, 0, 0);
}

SYSCALL_DEFINE(recvfrom)
{
	return sendrecv(a0, false, a1, a2, (int)a3, a4, a5);
}

static int64_t msg(uint64_t fd, bool send, uint64_t umsg, int flags)
{
	struct user_msghdr m;
	char addr[SOCKET_ADDR_MAX];
	struct file *f;
	int64_t rc, n;
	struct socket *s;

	if (copy_from_user(&m, umsg, sizeof(m)) < 0)
		return -EFAULT;
	s = socket_get((int)fd, &f, &rc);
	if (s == NULL)
		return rc;
	n = transfer_iov(s, send, m.msg_iov, m.msg_iovlen, dontwait(f, flags));
	if (n >= 0 && !send) {
		int32_t len = 0;

		if (m.msg_name != 0 && (rc = s->ops->getname(s, addr, true)) >= 0) {
			len = (int32_t)rc < m.msg_namelen ? (int32_t)rc : m.msg_namelen;
			if (len < 0 || copy_to_user(m.msg_name, addr, (uint64_t)len) < 0)
				n = -EFAULT;
			len = (int32_t)rc;
		}
		m.msg_namelen = len;
		m.msg_controllen = 0;
		m.msg_flags = 0;
		if (copy_to_user(umsg, &m, sizeof(m)) < 0)
			n = -EFAULT;
	}
	file_put(f);
	return n;
}

SYSCALL_DEFINE(sendmsg)
{
	return msg(a0, true, a1, (int)a2);
}

SYSCALL_DEFINE(recvmsg)
{
	return msg(a0, false, a1, (int)a2);
}

/* Socket pairs are AF_UNIX, which the guest does not have. */
SYSCALL_DEFINE(socketpair)
{
	return a0 == AF_VSOCK ? -EOPNOTSUPP : -EAFNOSUPPORT;
}
