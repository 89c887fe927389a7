/* SPDX-License-Identifier: MIT */
/*
 * DOC: SHA-256
 *
 * FIPS 180-4 SHA-256 for simcp's HASH command: an incremental interface
 * and one-shot helpers.  No allocation; a context is used by one thread at
 * a time.
 */
#ifndef SIMCP_SHA256_H
#define SIMCP_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIMCP_SHA256_DIGEST 32u

struct simcp_sha256 {
	uint32_t h[8];
	uint64_t bytes;       /* message length so far */
	uint8_t buf[64];      /* partial block, bytes % 64 of it used */
	bool portable;        /* use the plain C block function */
};

void simcp_sha256_init(struct simcp_sha256 *c);
void simcp_sha256_update(struct simcp_sha256 *c, const void *data, size_t len);
/** simcp_sha256_final() - write the digest to @out; @c must be re-initialised. */
void simcp_sha256_final(struct simcp_sha256 *c, uint8_t out[SIMCP_SHA256_DIGEST]);

/** simcp_sha256() - digest of @len bytes at @data into @out; fastest path. */
void simcp_sha256(const void *data, size_t len, uint8_t out[SIMCP_SHA256_DIGEST]);

/** simcp_sha256_sw() - the same, always with the portable code. */
void simcp_sha256_sw(const void *data, size_t len, uint8_t out[SIMCP_SHA256_DIGEST]);

/** simcp_sha256_accelerated() - whether simcp_sha256() uses CPU instructions. */
bool simcp_sha256_accelerated(void);

#endif /* SIMCP_SHA256_H */
