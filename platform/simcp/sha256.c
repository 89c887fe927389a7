// SPDX-License-Identifier: MIT
/*
 * DOC: SHA-256 for the HASH command
 *
 * FIPS 180-4 SHA-256, incremental so a caller can hash a range in pieces.
 * The block function comes in two versions with one result: a plain one
 * (big-endian words, the message schedule in a 16-word rolling window) and,
 * on x86-64 hosts with the SHA extensions, one on the sha256rnds2 /
 * sha256msg1 / sha256msg2 instructions, several times faster.  The choice
 * is made once, on first use.
 */
#include <pthread.h>
#include <string.h>

#include "sha256.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define SHA256_HAVE_NI 1
#endif

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned int n)
{
	return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Compress @nblocks 64-byte blocks at @p into @h. */
static void sha256_blocks_sw(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	while (nblocks--) {
		uint32_t w[16];
		uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
		uint32_t e = h[4], f = h[5], g = h[6], hh = h[7];

		for (int i = 0; i < 64; i++) {
			uint32_t t1, t2;

			if (i < 16) {
				w[i] = load_be32(p + 4 * i);
			} else {
				uint32_t w15 = w[(i - 15) & 15], w2 = w[(i - 2) & 15];
				uint32_t s0 = ror32(w15, 7) ^ ror32(w15, 18) ^ (w15 >> 3);
				uint32_t s1 = ror32(w2, 17) ^ ror32(w2, 19) ^ (w2 >> 10);

				w[i & 15] += s0 + w[(i - 7) & 15] + s1;
			}
			t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
			     ((e & f) ^ (~e & g)) + sha256_k[i] + w[i & 15];
			t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) +
			     ((a & b) ^ (a & c) ^ (b & c));
			hh = g;
			g = f;
			f = e;
			e = d + t1;
			d = c;
			c = b;
			b = a;
			a = t1 + t2;
		}
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
		h[4] += e;
		h[5] += f;
		h[6] += g;
		h[7] += hh;
		p += 64;
	}
}

#ifdef SHA256_HAVE_NI
/*
 * The same with the SHA extensions.  The state lives in two registers as
 * ABEF and CDGH; each sha256rnds2 does two rounds, so a group of four
 * rounds is two of them, and the schedule for four rounds ahead is made
 * with sha256msg1/msg2 from the four message registers in rotation.
 */
__attribute__((target("sha,sse4.1")))
static void sha256_blocks_ni(uint32_t h[8], const uint8_t *p, size_t nblocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bll, 0x0405060700010203ll);
	__m128i abef, cdgh, tmp, msg, w[4];

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[0]), 0xb1);
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&h[4]), 0x1b);
	abef = _mm_alignr_epi8(tmp, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, tmp, 0xf0);

	for (; nblocks; nblocks--, p += 64) {
		__m128i abef_in = abef, cdgh_in = cdgh;

		for (int g = 0; g < 16; g++) {
			if (g < 4)
				w[g] = _mm_shuffle_epi8(_mm_loadu_si128(
						(const __m128i *)(const void *)(p + 16 * g)), bswap);
			msg = _mm_add_epi32(w[g & 3], _mm_loadu_si128(
					(const __m128i *)(const void *)&sha256_k[4 * g]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
			if (g >= 3 && g <= 14) {
				tmp = _mm_alignr_epi8(w[g & 3], w[(g - 1) & 3], 4);
				w[(g + 1) & 3] = _mm_sha256msg2_epu32(
					_mm_add_epi32(w[(g + 1) & 3], tmp), w[g & 3]);
			}
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(msg, 0x0e));
			if (g >= 1 && g <= 12)
				w[(g - 1) & 3] = _mm_sha256msg1_epu32(w[(g - 1) & 3], w[g & 3]);
		}
		abef = _mm_add_epi32(abef, abef_in);
		cdgh = _mm_add_epi32(cdgh, cdgh_in);
	}

	tmp = _mm_shuffle_epi32(abef, 0x1b);
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
	abef = _mm_blend_epi16(tmp, cdgh, 0xf0);
	cdgh = _mm_alignr_epi8(cdgh, tmp, 8);
	_mm_storeu_si128((__m128i *)(void *)&h[0], abef);
	_mm_storeu_si128((__m128i *)(void *)&h[4], cdgh);
}

static bool sha256_cpu_has_ni(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return false;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#endif

typedef void (*sha256_blocks_fn)(uint32_t h[8], const uint8_t *p, size_t nblocks);

static sha256_blocks_fn sha256_best = sha256_blocks_sw;
static pthread_once_t sha256_best_once = PTHREAD_ONCE_INIT;

static void sha256_pick(void)
{
#ifdef SHA256_HAVE_NI
	if (sha256_cpu_has_ni())
		sha256_best = sha256_blocks_ni;
#endif
}

static void sha256_blocks(const struct simcp_sha256 *c, uint32_t h[8],
			  const uint8_t *p, size_t nblocks)
{
	if (!nblocks)
		return;
	if (c->portable)
		sha256_blocks_sw(h, p, nblocks);
	else
		sha256_best(h, p, nblocks);
}

bool simcp_sha256_accelerated(void)
{
	pthread_once(&sha256_best_once, sha256_pick);
	return sha256_best != sha256_blocks_sw;
}

void simcp_sha256_init(struct simcp_sha256 *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	pthread_once(&sha256_best_once, sha256_pick);
	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->portable = false;
}

void simcp_sha256_update(struct simcp_sha256 *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t used = c->bytes % 64;

	c->bytes += len;
	if (used) {
		size_t n = 64 - used < len ? 64 - used : len;

		memcpy(c->buf + used, p, n);
		p += n;
		len -= n;
		if (used + n < 64)
			return;
		sha256_blocks(c, c->h, c->buf, 1);
	}
	sha256_blocks(c, c->h, p, len / 64);
	p += len - len % 64;
	memcpy(c->buf, p, len % 64);
}

void simcp_sha256_final(struct simcp_sha256 *c, uint8_t out[SIMCP_SHA256_DIGEST])
{
	uint64_t bits = c->bytes * 8;
	size_t used = c->bytes % 64;

	c->buf[used++] = 0x80;
	if (used > 56) {
		memset(c->buf + used, 0, 64 - used);
		sha256_blocks(c, c->h, c->buf, 1);
		used = 0;
	}
	memset(c->buf + used, 0, 56 - used);
	for (int i = 0; i < 8; i++)
		c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	sha256_blocks(c, c->h, c->buf, 1);
	for (int i = 0; i < 8; i++)
		store_be32(out + 4 * i, c->h[i]);
}

void simcp_sha256(const void *data, size_t len, uint8_t out[SIMCP_SHA256_DIGEST])
{
	struct simcp_sha256 c;

	simcp_sha256_init(&c);
	simcp_sha256_update(&c, data, len);
	simcp_sha256_final(&c, out);
}

void simcp_sha256_sw(const void *data, size_t len, uint8_t out[SIMCP_SHA256_DIGEST])
{
	struct simcp_sha256 c;

	simcp_sha256_init(&c);
	c.portable = true;
	simcp_sha256_update(&c, data, len);
	simcp_sha256_final(&c, out);
}
