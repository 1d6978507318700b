/* SPDX-License-Identifier: MIT */
/*
 * AF_VSOCK stream sockets over the virtio-vsock device
 * (drivers/virtio_vsock.c): the peer is the host (CID 2), where the VMM
 * joins each stream to a Unix socket.
 */
#ifndef GUEST_NET_VSOCK_H
#define GUEST_NET_VSOCK_H

#include <linux/virtio_vsock.h>
#include <stdint.h>

struct socket;

/* socket(AF_VSOCK, type, protocol): 0 and a new socket in *out, or
 * -errno: ESOCKTNOSUPPORT for anything but streams, EAFNOSUPPORT when
 * lispvm gave the VM no vsock device (as a Linux without vsock says). */
int vsock_create(int type, int protocol, struct socket **out);

/* A packet from the device: h, then h->len bytes of payload. */
void vsock_receive(const struct virtio_vsock_hdr *h, const uint8_t *payload);

/* Transmit buffers came free: control packets that found none go now. */
void vsock_transmit_done(void);

/* The device says every stream is gone (the VM was resumed from a
 * snapshot by another VMM): streams end as if reset, connects fail with
 * ECONNRESET, listeners stay, and all take the CID given. */
void vsock_transport_reset(uint32_t guest_cid);

#endif
