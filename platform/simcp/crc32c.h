/* SPDX-License-Identifier: MIT */
/*
 * DOC: CRC-32C
 *
 * CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) as simcp's HASH
 * command computes it: initial value ~0, final xor ~0.  Chain calls by
 * passing the previous result as @crc (start with 0).
 */
#ifndef SIMCP_CRC32C_H
#define SIMCP_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/** simcp_crc32c() - CRC-32C of @len bytes at @buf continuing @crc; fastest path. */
uint32_t simcp_crc32c(uint32_t crc, const void *buf, size_t len);

/** simcp_crc32c_sw() - the same, always the portable table-driven code. */
uint32_t simcp_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif /* SIMCP_CRC32C_H */
