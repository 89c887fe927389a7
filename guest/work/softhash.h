/* SPDX-License-Identifier: MIT */
/*
 * DOC: software CRC-32C and SHA-256 for checking the coprocessor
 *
 * The guest's own implementations, written apart from simcp's, so that a
 * result the device computed is compared with one it had no part in.
 * Both are streaming: CRC-32C chains (crc32c(crc32c(0, a), b) ==
 * crc32c(0, a ++ b), as the device's HASH result is defined), and a
 * struct sha256 may be copied to keep the state after a prefix.
 */
#ifndef GUEST_SOFTHASH_H
#define GUEST_SOFTHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** crc32c() - CRC-32C (Castagnoli) of @buf, continuing from @crc (0 to start). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);

struct sha256 {
	uint32_t h[8];
	uint64_t len;      /* bytes hashed */
	uint8_t buf[64];
	unsigned int n;    /* bytes in buf */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[32]);

/** softhash_selftest() - known answers of both; 0 or -1 (printed). */
int softhash_selftest(void);

#endif /* GUEST_SOFTHASH_H */
