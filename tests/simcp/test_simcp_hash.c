// SPDX-License-Identifier: MIT
/*
 * The hash engines of simcp's HASH command against published vectors:
 * CRC-32C (RFC 3720 appendix B.4) and SHA-256 (FIPS 180-4 examples).
 */
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "sha256.h"
#include "simcp_test.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = 0;
}

static void test_crc32c_vectors(void **state)
{
	uint8_t buf[32];

	assert_int_equal(simcp_crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(simcp_crc32c(0, "", 0), 0);

	memset(buf, 0, sizeof(buf));
	assert_int_equal(simcp_crc32c(0, buf, 32), 0x8a9136aa);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(simcp_crc32c(0, buf, 32), 0x62a8ab43);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(simcp_crc32c(0, buf, 32), 0x46dd794e);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(simcp_crc32c(0, buf, 32), 0x113fdb5c);

	/* The same through the portable path. */
	assert_int_equal(simcp_crc32c_sw(0, "123456789", 9), 0xe3069283);
	assert_int_equal(simcp_crc32c_sw(0, buf, 32), 0x113fdb5c);
}

/* Both paths agree at every length and alignment, and chain. */
static void test_crc32c_paths_agree(void **state)
{
	size_t n = 4096 + 64;
	uint8_t *buf = malloc(n);
	uint32_t seed = 12345;

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 300; len += 7)
			assert_int_equal(simcp_crc32c(0, buf + off, len),
					 simcp_crc32c_sw(0, buf + off, len));
	assert_int_equal(simcp_crc32c(simcp_crc32c(0, buf, 1000), buf + 1000, 3000),
			 simcp_crc32c(0, buf, 4000));
	assert_int_equal(simcp_crc32c_sw(simcp_crc32c_sw(0, buf, 13), buf + 13, 3987),
			 simcp_crc32c(0, buf, 4000));
	free(buf);
}

/* Both the fastest path and the portable one give @want. */
static void check_sha(const void *msg, size_t len, const char *want)
{
	uint8_t d[SIMCP_SHA256_DIGEST];
	char got[2 * SIMCP_SHA256_DIGEST + 1];

	simcp_sha256(msg, len, d);
	hex(d, sizeof(d), got);
	assert_string_equal(got, want);
	simcp_sha256_sw(msg, len, d);
	hex(d, sizeof(d), got);
	assert_string_equal(got, want);
}

static void test_sha256_vectors(void **state)
{
	check_sha("", 0,
		  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha("abc", 3,
		  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		  "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* Both block functions agree on every length around the padding edges. */
static void test_sha256_paths_agree(void **state)
{
	size_t n = 1000;
	uint8_t *buf = malloc(n), a[32], b[32];
	uint32_t seed = 99;

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (size_t len = 0; len <= n; len += len < 200 ? 1 : 37) {
		simcp_sha256(buf, len, a);
		simcp_sha256_sw(buf, len, b);
		assert_memory_equal(a, b, 32);
	}
	print_message("# SHA-256 with CPU instructions: %s\n",
		      simcp_sha256_accelerated() ? "yes" : "no");
	free(buf);
}

/* One million 'a', whole and in irregular pieces. */
static void test_sha256_million_a(void **state)
{
	static const char want[] =
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	size_t n = 1000000, done = 0, piece = 1;
	char *msg = malloc(n);
	struct simcp_sha256 c;
	uint8_t d[SIMCP_SHA256_DIGEST];
	char got[2 * SIMCP_SHA256_DIGEST + 1];

	assert_non_null(msg);
	memset(msg, 'a', n);
	check_sha(msg, n, want);

	simcp_sha256_init(&c);
	while (done < n) {
		size_t k = piece < n - done ? piece : n - done;

		simcp_sha256_update(&c, msg + done, k);
		done += k;
		piece = piece * 3 % 1021 + 1; /* 1..1021, crossing block edges */
	}
	simcp_sha256_final(&c, d);
	hex(d, sizeof(d), got);
	assert_string_equal(got, want);
	free(msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_crc32c_paths_agree),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_paths_agree),
		cmocka_unit_test(test_sha256_million_a),
	};

	return cmocka_run_group_tests_name("simcp-hash", tests, NULL, NULL);
}
