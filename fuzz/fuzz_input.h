/* SPDX-License-Identifier: MIT */
/*
 * Reading a fuzzer's input as a stream of fields.  Past the end every
 * field reads as zero, so a harness never has to check the length: a
 * short input is just an input whose last fields are zero.  Header-only
 * and free of host headers beyond <stdint.h>/<stddef.h>/<string.h>, so the
 * guest-side harnesses (compiled with the guest runtime's headers) use it
 * too.
 */
#ifndef LISPVM_FUZZ_INPUT_H
#define LISPVM_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fuzz_input {
	const uint8_t *data;
	size_t size;
};

/* A check of the harness failed: prints what, then aborts (a crash, for
 * libFuzzer).  In fuzz_fail.c, which every fuzzer links. */
_Noreturn void fuzz_fail(const char *what);

static inline bool fuzz_done(const struct fuzz_input *in)
{
	return in->size == 0;
}

/* Up to max bytes into out (the rest of out is zeroed); how many were there. */
static inline size_t fuzz_bytes(struct fuzz_input *in, void *out, size_t max)
{
	size_t n = in->size < max ? in->size : max;

	memcpy(out, in->data, n);
	memset((uint8_t *)out + n, 0, max - n);
	in->data += n;
	in->size -= n;
	return n;
}

/* Points *p at the next n bytes (fewer at the end); how many there are. */
static inline size_t fuzz_take(struct fuzz_input *in, size_t n, const uint8_t **p)
{
	if (n > in->size)
		n = in->size;
	*p = in->data;
	in->data += n;
	in->size -= n;
	return n;
}

static inline uint64_t fuzz_uint(struct fuzz_input *in, size_t bytes)
{
	uint8_t b[8];
	uint64_t v = 0;

	fuzz_bytes(in, b, bytes);
	for (size_t i = bytes; i > 0; i--)
		v = v << 8 | b[i - 1];
	return v;
}

static inline uint8_t fuzz_u8(struct fuzz_input *in)
{
	return (uint8_t)fuzz_uint(in, 1);
}

static inline uint16_t fuzz_u16(struct fuzz_input *in)
{
	return (uint16_t)fuzz_uint(in, 2);
}

static inline uint32_t fuzz_u32(struct fuzz_input *in)
{
	return (uint32_t)fuzz_uint(in, 4);
}

static inline uint64_t fuzz_u64(struct fuzz_input *in)
{
	return fuzz_uint(in, 8);
}

#endif
