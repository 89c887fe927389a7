/* SPDX-License-Identifier: MIT */
/*
 * DOC: the OpenCL platform's kernels
 *
 * simcp's command set (include/hw/simcp_hw.h) as OpenCL C 1.2 kernels.
 * The engine (engine.c) moves guest data into the device's staging
 * buffers, runs one of these, and moves the result back.  Byte order is
 * little endian as in simcp's command format; the device must be little
 * endian (checked at creation).
 *
 *   oclcp_move       bytes src[soff..] -> dst[doff..]: COPY, LOAD, STORE
 *   oclcp_fill       the 32-bit pattern over dst[0, len): FILL
 *   oclcp_crc32c     one work-item: CRC-32C (table in tab)
 *   oclcp_sha256     one work-item: SHA-256
 *   oclcp_compute    one work-item: simcp's mix over scratch[0, len), then
 *                    spins iterations of a dependent chain (the time)
 *   oclcp_aes_enc    one work-item per request: AES-CBC encryption
 *   oclcp_aes_dkey   one work-item per request: decryption key schedule
 *   oclcp_aes_dec    one work-item per block: AES-CBC decryption
 *
 * AES tables (tab, OCLCP_TAB_*): Te0, Td0, the S-box and its inverse, one
 * uint per entry, made by the host (cl.c).  A request descriptor is eight
 * uints: slot, offset of its data in the staging buffers, length, the
 * index of its first block, and the IV (four big-endian words).  Key
 * slots are OCLCP_KEY_STRIDE bytes: the key, then its length (uint).
 */
#define OCLCP_TAB_TE0   0
#define OCLCP_TAB_TD0   256
#define OCLCP_TAB_SBOX  512
#define OCLCP_TAB_ISBOX 768
#define OCLCP_KEY_STRIDE 48
#define OCLCP_RK_WORDS 60

__kernel void oclcp_move(__global const uchar *src, ulong soff, __global uchar *dst,
			 ulong doff, ulong len)
{
	ulong i = get_global_id(0) * 16;

	for (ulong k = i; k < i + 16 && k < len; k++)
		dst[doff + k] = src[soff + k];
}

__kernel void oclcp_fill(__global uint *dst, ulong words, uint pattern)
{
	ulong i = get_global_id(0);

	if (i < words)
		dst[i] = pattern;
}

__kernel void oclcp_crc32c(__global const uchar *src, ulong len, __global uint *out,
			   __constant uint *tab)
{
	uint crc = 0xffffffffu;

	for (ulong i = 0; i < len; i++)
		crc = tab[(crc ^ src[i]) & 0xff] ^ (crc >> 8);
	out[0] = ~crc;
}

__constant uint sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) rotate((uint)(x), (uint)(32 - (n)))

static void sha_block(uint *h, const uchar *p)
{
	uint w[64], a, b, c, d, e, f, g, hh;

	for (int i = 0; i < 16; i++)
		w[i] = (uint)p[4 * i] << 24 | (uint)p[4 * i + 1] << 16 |
		       (uint)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			  sha_k[i] + w[i];
		uint t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));

		hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

__kernel void oclcp_sha256(__global const uchar *src, ulong len, __global uchar *out)
{
	uint h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	uchar blk[64];
	ulong i = 0, bits = len * 8;
	uint n;

	for (; i + 64 <= len; i += 64) {
		for (int k = 0; k < 64; k++)
			blk[k] = src[i + k];
		sha_block(h, blk);
	}
	n = (uint)(len - i);
	for (uint k = 0; k < n; k++)
		blk[k] = src[i + k];
	blk[n++] = 0x80;
	if (n > 56) {
		while (n < 64)
			blk[n++] = 0;
		sha_block(h, blk);
		n = 0;
	}
	while (n < 56)
		blk[n++] = 0;
	for (int k = 0; k < 8; k++)
		blk[56 + k] = (uchar)(bits >> (56 - 8 * k));
	sha_block(h, blk);
	for (int k = 0; k < 32; k++)
		out[k] = (uchar)(h[k / 4] >> (24 - 8 * (k % 4)));
}

static ulong mix64(ulong z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ul;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebul;
	return z ^ (z >> 31);
}

/*
 * simcp's COMPUTE on scratch[0, len) (docs/simcp.md), then @spins rounds
 * of a dependent multiply-add chain: the duration the host asked for, at
 * the rate it measured.  The chain's value is stored only in a case that
 * cannot be known at compile time, so the loop is not removed.
 */
__kernel void oclcp_compute(__global uchar *p, ulong len, ulong spins, __global ulong *sink)
{
	ulong h = 0x9e3779b97f4a7c15ul ^ len, x = len + 1;

	for (ulong i = 0; i < len; i += 8) {
		uint n = len - i < 8 ? (uint)(len - i) : 8;
		ulong w = 0;

		for (uint k = 0; k < n; k++)
			w |= (ulong)p[i + k] << (8 * k);
		h = mix64(h ^ w);
		for (uint k = 0; k < n; k++)
			p[i + k] = (uchar)(h >> (8 * k));
	}
	for (ulong i = 0; i < spins; i++)
		x = x * 6364136223846793005ul + 1442695040888963407ul;
	if (x == 0)
		sink[0] = x;
}

/* ---- AES ---- */

#define TE(n, x) rotate(tab[OCLCP_TAB_TE0 + (x)], (uint)(32 - 8 * (n)))
#define TD(n, x) rotate(tab[OCLCP_TAB_TD0 + (x)], (uint)(32 - 8 * (n)))
#define SB(x)  tab[OCLCP_TAB_SBOX + (x)]
#define ISB(x) tab[OCLCP_TAB_ISBOX + (x)]

static uint get32(__global const uchar *p)
{
	return (uint)p[0] << 24 | (uint)p[1] << 16 | (uint)p[2] << 8 | p[3];
}

static void put32(__global uchar *p, uint v)
{
	p[0] = (uchar)(v >> 24); p[1] = (uchar)(v >> 16); p[2] = (uchar)(v >> 8); p[3] = (uchar)v;
}

/* The encryption key schedule of slot @slot; returns the number of rounds. */
static int key_expand(__global const uchar *keys, uint slot, __constant uint *tab, uint *w)
{
	__global const uchar *k = keys + slot * OCLCP_KEY_STRIDE;
	uint klen = (uint)k[32] | (uint)k[33] << 8, nk = klen / 4, nr = nk + 6, rcon = 1;

	for (uint i = 0; i < nk; i++)
		w[i] = get32(k + 4 * i);
	for (uint i = nk; i < 4 * (nr + 1); i++) {
		uint t = w[i - 1];

		if (i % nk == 0) {
			t = t << 8 | t >> 24;
			t = SB(t >> 24) << 24 | SB((t >> 16) & 0xff) << 16 |
			    SB((t >> 8) & 0xff) << 8 | SB(t & 0xff);
			t ^= rcon << 24;
			rcon = (rcon << 1) ^ ((rcon & 0x80) ? 0x11b : 0);
		} else if (nk > 6 && i % nk == 4) {
			t = SB(t >> 24) << 24 | SB((t >> 16) & 0xff) << 16 |
			    SB((t >> 8) & 0xff) << 8 | SB(t & 0xff);
		}
		w[i] = w[i - nk] ^ t;
	}
	return (int)nr;
}

__kernel void oclcp_aes_enc(__global const uint *req, __global const uchar *keys,
			    __global const uchar *in, __global uchar *out, __constant uint *tab)
{
	__global const uint *d = req + 8 * get_global_id(0);
	uint rk[OCLCP_RK_WORDS], c0 = d[4], c1 = d[5], c2 = d[6], c3 = d[7];
	int nr = key_expand(keys, d[0], tab, rk);
	ulong off = d[1], len = d[2];

	for (ulong b = 0; b < len; b += 16) {
		uint s0 = get32(in + off + b) ^ c0 ^ rk[0], s1 = get32(in + off + b + 4) ^ c1 ^ rk[1];
		uint s2 = get32(in + off + b + 8) ^ c2 ^ rk[2], s3 = get32(in + off + b + 12) ^ c3 ^ rk[3];
		uint t0, t1, t2, t3;
		int r = 1;

		for (;; r++) {
			t0 = TE(0, s0 >> 24) ^ TE(1, (s1 >> 16) & 0xff) ^ TE(2, (s2 >> 8) & 0xff) ^ TE(3, s3 & 0xff) ^ rk[4 * r];
			t1 = TE(0, s1 >> 24) ^ TE(1, (s2 >> 16) & 0xff) ^ TE(2, (s3 >> 8) & 0xff) ^ TE(3, s0 & 0xff) ^ rk[4 * r + 1];
			t2 = TE(0, s2 >> 24) ^ TE(1, (s3 >> 16) & 0xff) ^ TE(2, (s0 >> 8) & 0xff) ^ TE(3, s1 & 0xff) ^ rk[4 * r + 2];
			t3 = TE(0, s3 >> 24) ^ TE(1, (s0 >> 16) & 0xff) ^ TE(2, (s1 >> 8) & 0xff) ^ TE(3, s2 & 0xff) ^ rk[4 * r + 3];
			if (r == nr - 1)
				break;
			s0 = t0; s1 = t1; s2 = t2; s3 = t3;
		}
		r = 4 * nr;
		c0 = SB(t0 >> 24) << 24 ^ SB((t1 >> 16) & 0xff) << 16 ^ SB((t2 >> 8) & 0xff) << 8 ^ SB(t3 & 0xff) ^ rk[r];
		c1 = SB(t1 >> 24) << 24 ^ SB((t2 >> 16) & 0xff) << 16 ^ SB((t3 >> 8) & 0xff) << 8 ^ SB(t0 & 0xff) ^ rk[r + 1];
		c2 = SB(t2 >> 24) << 24 ^ SB((t3 >> 16) & 0xff) << 16 ^ SB((t0 >> 8) & 0xff) << 8 ^ SB(t1 & 0xff) ^ rk[r + 2];
		c3 = SB(t3 >> 24) << 24 ^ SB((t0 >> 16) & 0xff) << 16 ^ SB((t1 >> 8) & 0xff) << 8 ^ SB(t2 & 0xff) ^ rk[r + 3];
		put32(out + off + b, c0); put32(out + off + b + 4, c1);
		put32(out + off + b + 8, c2); put32(out + off + b + 12, c3);
	}
}

/* Decryption round keys of each request: reversed, InvMixColumns inside. */
__kernel void oclcp_aes_dkey(__global const uint *req, __global const uchar *keys,
			     __global uint *sched, __constant uint *tab)
{
	uint i = get_global_id(0), w[OCLCP_RK_WORDS];
	__global uint *o = sched + (ulong)i * (OCLCP_RK_WORDS + 4);
	int nr = key_expand(keys, req[8 * i], tab, w);

	o[OCLCP_RK_WORDS] = (uint)nr;
	for (int r = 0; r <= nr; r++)
		for (int k = 0; k < 4; k++) {
			uint v = w[4 * (nr - r) + k];

			if (r > 0 && r < nr)
				v = TD(0, SB(v >> 24)) ^ TD(1, SB((v >> 16) & 0xff)) ^
				    TD(2, SB((v >> 8) & 0xff)) ^ TD(3, SB(v & 0xff));
			o[4 * r + k] = v;
		}
}

/*
 * One block per work-item: P[i] = D(C[i]) ^ C[i-1] (the IV for the first
 * block), independent of every other block.  @blocks_of[r] is request r's
 * first block (req[3]); the work-item finds its request by bisection.
 */
__kernel void oclcp_aes_dec(__global const uint *req, uint nreq, __global const uint *sched,
			    __global const uchar *in, __global uchar *out, __constant uint *tab,
			    uint total)
{
	uint g = get_global_id(0), lo = 0, hi = nreq;
	__global const uint *d, *rk;
	uint s0, s1, s2, s3, t0, t1, t2, t3, p0, p1, p2, p3;
	ulong at;
	int nr, r;

	if (g >= total)
		return;
	while (hi - lo > 1) {
		uint mid = (lo + hi) / 2;

		if (req[8 * mid + 3] <= g)
			lo = mid;
		else
			hi = mid;
	}
	d = req + 8 * lo;
	rk = sched + (ulong)lo * (OCLCP_RK_WORDS + 4);
	nr = (int)rk[OCLCP_RK_WORDS];
	at = d[1] + (ulong)(g - d[3]) * 16;
	if (g == d[3]) {
		p0 = d[4]; p1 = d[5]; p2 = d[6]; p3 = d[7];
	} else {
		p0 = get32(in + at - 16); p1 = get32(in + at - 12);
		p2 = get32(in + at - 8); p3 = get32(in + at - 4);
	}
	s0 = get32(in + at) ^ rk[0]; s1 = get32(in + at + 4) ^ rk[1];
	s2 = get32(in + at + 8) ^ rk[2]; s3 = get32(in + at + 12) ^ rk[3];
	for (r = 1;; r++) {
		t0 = TD(0, s0 >> 24) ^ TD(1, (s3 >> 16) & 0xff) ^ TD(2, (s2 >> 8) & 0xff) ^ TD(3, s1 & 0xff) ^ rk[4 * r];
		t1 = TD(0, s1 >> 24) ^ TD(1, (s0 >> 16) & 0xff) ^ TD(2, (s3 >> 8) & 0xff) ^ TD(3, s2 & 0xff) ^ rk[4 * r + 1];
		t2 = TD(0, s2 >> 24) ^ TD(1, (s1 >> 16) & 0xff) ^ TD(2, (s0 >> 8) & 0xff) ^ TD(3, s3 & 0xff) ^ rk[4 * r + 2];
		t3 = TD(0, s3 >> 24) ^ TD(1, (s2 >> 16) & 0xff) ^ TD(2, (s1 >> 8) & 0xff) ^ TD(3, s0 & 0xff) ^ rk[4 * r + 3];
		if (r == nr - 1)
			break;
		s0 = t0; s1 = t1; s2 = t2; s3 = t3;
	}
	r = 4 * nr;
	s0 = ISB(t0 >> 24) << 24 ^ ISB((t3 >> 16) & 0xff) << 16 ^ ISB((t2 >> 8) & 0xff) << 8 ^ ISB(t1 & 0xff) ^ rk[r];
	s1 = ISB(t1 >> 24) << 24 ^ ISB((t0 >> 16) & 0xff) << 16 ^ ISB((t3 >> 8) & 0xff) << 8 ^ ISB(t2 & 0xff) ^ rk[r + 1];
	s2 = ISB(t2 >> 24) << 24 ^ ISB((t1 >> 16) & 0xff) << 16 ^ ISB((t0 >> 8) & 0xff) << 8 ^ ISB(t3 & 0xff) ^ rk[r + 2];
	s3 = ISB(t3 >> 24) << 24 ^ ISB((t2 >> 16) & 0xff) << 16 ^ ISB((t1 >> 8) & 0xff) << 8 ^ ISB(t0 & 0xff) ^ rk[r + 3];
	put32(out + at, s0 ^ p0); put32(out + at + 4, s1 ^ p1);
	put32(out + at + 8, s2 ^ p2); put32(out + at + 12, s3 ^ p3);
}
