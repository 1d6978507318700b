/* SPDX-License-Identifier: MIT */
/* What the Linux x86-64 socket ABI has that the UAPI headers leave to
 * libc (values from the kernel's include/linux/socket.h and
 * include/linux/net.h); linux/vm_sockets.h wants struct sockaddr from
 * here. */
#ifndef GUEST_LIBC_SYS_SOCKET_H
#define GUEST_LIBC_SYS_SOCKET_H

#include <asm/socket.h>
#include <linux/fcntl.h>

typedef unsigned short sa_family_t;

struct sockaddr {
	sa_family_t sa_family;
	char sa_data[14];
};

#define AF_UNIX	 1
#define AF_VSOCK 40

#define SOCK_STREAM    1
#define SOCK_DGRAM     2
#define SOCK_SEQPACKET 5
#define SOCK_TYPE_MASK 0xf
#define SOCK_NONBLOCK  O_NONBLOCK
#define SOCK_CLOEXEC   O_CLOEXEC

#define MSG_PEEK     0x2
#define MSG_DONTWAIT 0x40
#define MSG_WAITALL  0x100
#define MSG_NOSIGNAL 0x4000

#define SHUT_RD	  0
#define SHUT_WR	  1
#define SHUT_RDWR 2

#endif
