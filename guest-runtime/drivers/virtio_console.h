/* SPDX-License-Identifier: MIT */
/*
 * lispvm's stdin through the virtio console's receive queue.  A reader
 * offers one buffer of at most what it asked for and waits on the
 * scheduler; the device's interrupt wakes it.  Other threads run
 * meanwhile.  The device is brought up on first use, so programs that
 * never read stdin pay nothing at boot.
 */
#ifndef GUEST_DRIVERS_VIRTIO_CONSOLE_H
#define GUEST_DRIVERS_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel/boot_info.h"

/* Remembers the console device the device tree lists, if any. */
void vconsole_configure(const struct boot_info *bi);

/* Whether stdin goes through the device (else the STDIO_READ hypercall). */
bool vconsole_present(void);

/* read(2) on stdin: bytes copied to the user buffer, 0 at end of input,
 * -EAGAIN (nonblock and nothing yet), -ERESTARTSYS (a signal came while
 * waiting), -EFAULT, or -EIO when the device cannot be brought up. */
int64_t vconsole_read(void *buf, uint64_t len, bool nonblock);

/* POLLIN | POLLRDNORM when a read would not wait; else 0, and input is
 * asked for so a later poll can say so. */
unsigned int vconsole_poll(void);

/* The device's interrupt: wake the readers and pollers. */
void vconsole_interrupt(void);

/* Whether a receive request is with the device, and what an idle CPU
 * does about it: under nested KVM on QEMU TCG an interrupt announcing a
 * completion was seen lost (bench/exec.py with 20 MB of stdin hung with
 * the request done), so the idle loop looks at the used ring itself
 * every VCONSOLE_RECHECK_NS while a reader waits. */
#define VCONSOLE_RECHECK_NS (50ull * 1000 * 1000)
bool vconsole_awaits_device(void);
void vconsole_recheck(void);

#endif
