// SPDX-License-Identifier: MIT
/*
 * DOC: string and memory functions
 *
 * The four functions GCC may call in any freestanding program (memcpy,
 * memmove, memset, memcmp), a few string helpers, and an in-place sort.
 * Simple loops: guests move bulk data with the coprocessor, not the CPU.
 */
#include "rt.h"

/* A word that may alias anything (the C rules allow only char for that). */
typedef uint64_t __attribute__((may_alias)) word_t;

/*
 * Word at a time when both are 8-byte aligned (commands into the ring,
 * 32-byte structures: guest instructions may cost a microsecond each),
 * bytes otherwise.  Forward only: memmove relies on that when d <= s.
 */
void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (!(((uintptr_t)dp | (uintptr_t)sp) & 7)) {
		for (; n >= 8; n -= 8, dp += 8, sp += 8)
			*(word_t *)dp = *(const word_t *)sp;
	}
	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp <= sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *dp = d;

	while (n--)
		*dp++ = (unsigned char)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *ap = a, *bp = b;

	for (; n; n--, ap++, bp++)
		if (*ap != *bp)
			return *ap - *bp;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

static void sift(uint64_t *v, size_t i, size_t n)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		uint64_t t;

		if (l < n && v[l] > v[m])
			m = l;
		if (l + 1 < n && v[l + 1] > v[m])
			m = l + 1;
		if (m == i)
			return;
		t = v[i];
		v[i] = v[m];
		v[m] = t;
		i = m;
	}
}

void sort__u64(uint64_t *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (size_t end = n; end > 1; end--) {
		uint64_t t = v[0];

		v[0] = v[end - 1];
		v[end - 1] = t;
		sift(v, 0, end - 1);
	}
}
