/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), for checking test transfers against Python's
 * hashlib on the host. */
#ifndef LISPVM_TESTS_SHA256_H
#define LISPVM_TESTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t state[8];
	uint64_t bytes;
	uint8_t block[64];
	size_t fill;
};

void sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
void sha256_final(struct sha256 *h, uint8_t out[32]);

#endif
