/* SPDX-License-Identifier: MIT */
/*
 * The vsock device's queues for the socket layer (net/vsock.c): packets
 * out through the transmit queue, packets in through the receive queue,
 * handed to vsock_receive from the device's interrupt.  The device is
 * brought up by the first vsock socket, so programs that never make one
 * pay nothing at boot.
 */
#ifndef GUEST_DRIVERS_VIRTIO_VSOCK_H
#define GUEST_DRIVERS_VIRTIO_VSOCK_H

#include <linux/virtio_vsock.h>
#include <stdbool.h>
#include <stdint.h>

#include "kernel/boot_info.h"

/* A data packet's buffer, header and payload.  Every packet costs the
 * guest's kernel the same few hundred instructions whatever its size,
 * which where ring 0 is emulated is most of a transfer's cost: so packets
 * are as large as the device takes (64 KiB of payload). */
#define VVSOCK_BUFFER_SIZE (64 * 1024 + 4096)
#define VVSOCK_MAX_PAYLOAD (64 * 1024)

/* Remembers the vsock device the device tree lists, if any. */
void vvsock_configure(const struct boot_info *bi);

/* Brings the device up if need be: 0, -ENODEV (no device: lispvm ran
 * without --vsock) or -EIO (the device would not start). */
int vvsock_start(void);

/* The guest's CID (from the device); valid after vvsock_start. */
uint32_t vvsock_guest_cid(void);

/* Queues a packet: the header (src_cid, type and len are filled in here)
 * and up to VVSOCK_MAX_PAYLOAD bytes of payload from data (a user or
 * kernel address).  0, -EAGAIN when no transmit buffer is free (wait on
 * vvsock_tx_chan), -EFAULT. */
int vvsock_send(struct virtio_vsock_hdr *h, const void *data, uint32_t len);

/* Whether a data packet would find a transmit buffer now. */
bool vvsock_can_send_data(void);

/* Woken when transmit buffers free up. */
extern const char vvsock_tx_chan;

/* The device's interrupt: finished sends, received packets. */
void vvsock_interrupt(void);

/* For the idle loop, as the console's vconsole_recheck: whether the
 * device is up, and a look at its used rings in case an interrupt was
 * lost (seen under nested KVM on QEMU TCG). */
bool vvsock_live(void);
void vvsock_recheck(void);

#endif
