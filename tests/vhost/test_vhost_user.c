// SPDX-License-Identifier: MIT
/*
 * vhost-user backend against a fake frontend in this process (frontend.h):
 * QEMU 7.2's exact sequence, every kind of bad message and what it ends
 * in, ring set-up errors, direct and indirect chains and every kind of
 * bad chain, EVENT_IDX, crypto sessions and their reply rules, a new
 * memory table with requests in flight, and reconnecting.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "frontend.h"

#define SESS_SIZE 632

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static int fds_before;

static int setup(void **state)
{
	struct fe *fe = calloc(1, sizeof(*fe));

	if (!fe)
		return -1;
	fds_before = open_fds();
	fe_init(fe);
	*state = fe;
	return 0;
}

static int teardown(void **state)
{
	fe_fini(*state);
	free(*state);
	assert_int_equal(open_fds(), fds_before); /* every fd received was closed */
	return 0;
}

static bool alive(struct fe *fe)
{
	return vu_connected(&fe->dev) && fe_get_u64(fe, R_GET_QUEUE_NUM) == 1;
}

static void assert_broken(struct fe *fe, const char *why_part)
{
	fe_pump();
	assert_false(vu_connected(&fe->dev));
	assert_int_equal(fe->disconnects, 1);
	if (!strstr(fe->why, why_part))
		fail_msg("why '%s' lacks '%s'", fe->why, why_part);
	assert_int_equal(fe_recv(fe->sock, 0, NULL, 0), -2); /* closed */
}

static void session_msg(uint8_t *p, uint32_t key_len, uint8_t direction)
{
	memset(p, 0, SESS_SIZE);
	*(uint32_t *)(p + 8) = 3;       /* AES-CBC */
	*(uint32_t *)(p + 12) = key_len;
	p[32] = 1;                      /* cipher */
	p[33] = direction;
	for (unsigned int i = 0; i < 64; i++)
		p[56 + i] = (uint8_t)(0xa0 + i);
}

/* ---- negotiation ----------------------------------------------------------------- */

/* Exactly what QEMU 7.2's cryptodev-vhost-user sends, in its order. */
static void test_qemu72_sequence(void **state)
{
	struct fe *fe = *state;
	uint8_t sess[SESS_SIZE], rep[SESS_SIZE];
	uint32_t st[2];
	uint64_t v, addr[5];
	const struct vu_mem_region *r;
	unsigned int n;

	v = fe_get_u64(fe, R_GET_FEATURES);
	assert_int_equal(v, (1ull << 32) | (1ull << 30) | (1ull << 28) | (1ull << 29));
	/* MQ, REPLY_ACK, CRYPTO_SESSION, and CONFIG because the device has get_config */
	assert_int_equal(fe_get_u64(fe, R_GET_PROTOCOL_FEATURES), 0x289);
	v = 0x89;
	fe_send(fe->sock, R_SET_PROTOCOL_FEATURES, 1, &v, 8, NULL, 0);
	assert_int_equal(fe_get_u64(fe, R_GET_QUEUE_NUM), 1);
	fe_send(fe->sock, R_SET_OWNER, 1, NULL, 0, NULL, 0);
	assert_int_equal(fe_get_u64(fe, R_GET_FEATURES), 0x170000000ull);
	v = 0;
	fe_send(fe->sock, R_SET_VRING_CALL, 1, &v, 8, &fe->call, 1);
	fe_send(fe->sock, R_SET_VRING_ERR, 1, &v, 8, &fe->err, 1);
	/* the driver loads */
	v = 1ull << 30; /* VERSION_1 not passed through */
	fe_send(fe->sock, R_SET_FEATURES, 1, &v, 8, NULL, 0);
	assert_int_equal(fe_mem_table(fe), 0); /* flags 0x9: the only ack asked for */
	assert_int_equal(fe->mem_changes, 1);
	r = vu_mem_regions(&fe->dev, &n);
	assert_int_equal(n, 2);
	assert_int_equal(r[1].gpa, FE_R1_GPA);
	assert_int_equal(r[1].size, FE_R1_SIZE);
	assert_true(r[1].writable);
	st[0] = 0;
	st[1] = 1024;
	fe_send(fe->sock, R_SET_VRING_NUM, 1, st, 8, NULL, 0);
	st[1] = 0;
	fe_send(fe->sock, R_SET_VRING_BASE, 1, st, 8, NULL, 0);
	addr[0] = 0;
	addr[1] = fe_uva(fe, FE_DESC_GPA);
	addr[2] = fe_uva(fe, FE_USED_GPA);
	addr[3] = fe_uva(fe, FE_AVAIL_GPA);
	addr[4] = 0;
	fe_send(fe->sock, R_SET_VRING_ADDR, 1, addr, 40, NULL, 0);
	v = 0;
	fe_send(fe->sock, R_SET_VRING_KICK, 1, &v, 8, &fe->kick, 1);
	fe_send(fe->sock, R_SET_VRING_CALL, 1, &v, 8, &fe->call, 1);
	fe_pump();
	assert_int_equal(fe_recv(fe->sock, 0, NULL, 0), -1); /* no reply asked, none sent */
	assert_true(vu_queue(&fe->dev, 0)->started); /* without SET_VRING_ENABLE */
	assert_int_equal(fe->kicks, 1);              /* a look at the ring when it starts */
	assert_true(vu_queue(&fe->dev, 0)->event_idx); /* assumed: QEMU does not say */

	for (uint8_t dir = 1; dir <= 2; dir++) {
		session_msg(sess, 16, dir);
		assert_int_equal(fe_call(fe, R_CREATE_CRYPTO_SESSION, 1, sess, SESS_SIZE, NULL, 0,
					 rep, sizeof(rep)), SESS_SIZE);
		assert_int_equal(*(int64_t *)rep, 100 + dir - 1);
		assert_memory_equal(rep + 8, sess + 8, SESS_SIZE - 8); /* the rest echoed */
		assert_int_equal(fe->last_req.cipher_alg, 3);
		assert_int_equal(fe->last_req.key_len, 16);
		assert_int_equal(fe->last_req.direction, dir);
		assert_int_equal(fe->last_req.op_type, 1);
		assert_memory_equal(fe->last_key, sess + 56, 16);
	}

	/* shutdown: GET_VRING_BASE, then the socket closes */
	st[1] = 77;
	assert_int_equal(fe_call(fe, R_GET_VRING_BASE, 1, st, 8, NULL, 0, st, 8), 8);
	assert_int_equal(st[0], 0);
	assert_int_equal(st[1], 0);
	assert_int_equal(fe->stops, 1);
	assert_false(vu_queue(&fe->dev, 0)->started);
	close(fe->sock);
	fe->sock = -1;
	fe_pump();
	assert_int_equal(fe->disconnects, 1);
	assert_string_equal(fe->why, "frontend closed the connection");
	r = vu_mem_regions(&fe->dev, &n);
	assert_int_equal(n, 0);
}

static void test_features_refused(void **state)
{
	struct fe *fe = *state;
	uint64_t v = 1ull << 26; /* LOG_ALL: not offered */

	assert_int_not_equal(fe_ack(fe, R_SET_FEATURES, &v, 8, NULL, 0), 0);
	v = 1ull << 1; /* LOG_SHMFD */
	assert_int_not_equal(fe_ack(fe, R_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0), 0);
	v = 0x89;
	assert_int_equal(fe_ack(fe, R_SET_PROTOCOL_FEATURES, &v, 8, NULL, 0), 0);
	/* a frontend that passes ring features through is believed */
	v = (1ull << 32) | (1ull << 30) | (1ull << 28);
	assert_int_equal(fe_ack(fe, R_SET_FEATURES, &v, 8, NULL, 0), 0);
	assert_int_equal(fe->dev.ring_features, (1ull << 32) | (1ull << 28));
	assert_true(alive(fe));
}

static void test_config(void **state)
{
	struct fe *fe = *state;
	uint8_t m[12 + 300] = { 0 }, rep[12 + 256];

	*(uint32_t *)m = 4;
	*(uint32_t *)(m + 4) = 16;
	assert_int_equal(fe_call(fe, R_GET_CONFIG, 1, m, 12 + 16, NULL, 0, rep, sizeof(rep)),
			 12 + 16);
	for (int i = 0; i < 16; i++)
		assert_int_equal(rep[12 + i], 4 + i);
	/* no set_config: refused, connection kept */
	assert_int_not_equal(fe_ack(fe, R_SET_CONFIG, m, 12 + 16, NULL, 0), 0);
	assert_true(alive(fe));
	/* a config larger than VHOST_USER_MAX_CONFIG_SIZE breaks the connection */
	*(uint32_t *)(m + 4) = 300;
	fe_send(fe->sock, R_GET_CONFIG, 1, m, 12 + 300, NULL, 0);
	assert_broken(fe, "CONFIG");
}

/* ---- memory table ---------------------------------------------------------------- */

static uint64_t mem2(struct fe *fe, uint64_t g0, uint64_t s0, uint64_t u0, uint64_t o0,
		     uint64_t g1, uint64_t s1, uint64_t u1, uint64_t o1)
{
	uint64_t m[9] = { 2, g0, s0, u0, o0, g1, s1, u1, o1 };

	return fe_ack(fe, R_SET_MEM_TABLE, m, sizeof(m), fe->memfd, 2);
}

static void test_mem_table_bad(void **state)
{
	struct fe *fe = *state;
	uint64_t u0 = fe_uva(fe, 0), u1 = fe_uva(fe, FE_R1_GPA);
	uint64_t m[1 + 9 * 4] = { 9 };
	int fds[8];
	unsigned int n;

	assert_int_equal(fe_mem_table(fe), 0);
	/* overlapping gpa, overlapping uva */
	assert_int_not_equal(mem2(fe, 0, 0x10000, u0, 0, 0x8000, 0x1000, u1, 0x10000), 0);
	assert_int_not_equal(mem2(fe, 0, 0x10000, u0, 0, 0x100000, 0x1000, u0 + 0x100, 0x10000),
			     0);
	/* zero size */
	assert_int_not_equal(mem2(fe, 0, 0, u0, 0, 0x100000, 0x1000, u1, 0x10000), 0);
	/* past the end of the fd; an offset that wraps; a gpa that wraps */
	assert_int_not_equal(mem2(fe, 0, 0x20000, u0, 0, 0x100000, 0x1000, u1, 0x10000), 0);
	assert_int_not_equal(mem2(fe, 0, 0x1000, u0, ~0ull - 0x10, 0x100000, 0x1000, u1,
				  0x10000), 0);
	assert_int_not_equal(mem2(fe, ~0ull - 0x10, 0x1000, u0, 0, 0x100000, 0x1000, u1,
				  0x10000), 0);
	assert_int_not_equal(mem2(fe, 0, 0x1000, u0, 0x1000000000ull, 0x100000, 0x1000, u1,
				  0x10000), 0);
	/* every refusal left the table as it was */
	vu_mem_regions(&fe->dev, &n);
	assert_int_equal(n, 2);
	assert_int_equal(fe->mem_changes, 1);
	/* not a file: an eventfd */
	{
		uint64_t one[5] = { 1, 0, 0x1000, u0, 0 };

		assert_int_not_equal(fe_ack(fe, R_SET_MEM_TABLE, one, sizeof(one), &fe->kick, 1),
				     0);
	}
	/* a memfd that could shrink under the mapping (not sealed): SIGBUS waiting */
	{
		uint64_t one[5] = { 1, 0, 0x1000, u0, 0 };
		int ufd = memfd_create("unsealed", MFD_CLOEXEC);

		assert_true(ufd >= 0);
		assert_int_equal(ftruncate(ufd, 0x1000), 0);
		assert_int_not_equal(fe_ack(fe, R_SET_MEM_TABLE, one, sizeof(one), &ufd, 1), 0);
		close(ufd);
		vu_mem_regions(&fe->dev, &n);
		assert_int_equal(n, 2);
	}
	/* too many regions */
	for (int i = 0; i < 8; i++)
		fds[i] = fe->memfd[0];
	for (int i = 0; i < 9; i++) {
		m[1 + 4 * i] = (uint64_t)i << 20;
		m[2 + 4 * i] = 0x1000;
		m[3 + 4 * i] = u0 + ((uint64_t)i << 20);
	}
	assert_int_not_equal(fe_ack(fe, R_SET_MEM_TABLE, m, sizeof(m), fds, 8), 0);
	assert_true(alive(fe));
	/* the fd count does not match the region count: the connection is broken */
	{
		uint64_t two[9] = { 2, 0, 0x1000, u0, 0, 0x100000, 0x1000, u1, 0x10000 };

		fe_send(fe->sock, R_SET_MEM_TABLE, 1 | F_NEED_REPLY, two, sizeof(two), fds, 1);
		assert_broken(fe, "1 fds for 2 regions");
	}
}

static void test_mem_table_size(void **state)
{
	struct fe *fe = *state;
	uint64_t m[5] = { 2, 0, 0x1000, fe_uva(fe, 0), 0 }; /* says 2, carries 1 */

	fe_send(fe->sock, R_SET_MEM_TABLE, 1, m, sizeof(m), fe->memfd, 1);
	assert_broken(fe, "SET_MEM_TABLE");
}

/* ---- rings ----------------------------------------------------------------------- */

static uint64_t vring(struct fe *fe, uint32_t req, uint32_t index, uint32_t num)
{
	uint32_t st[2] = { index, num };

	return fe_ack(fe, req, st, 8, NULL, 0);
}

static uint64_t vring_addr(struct fe *fe, uint32_t index, uint64_t d, uint64_t a, uint64_t u)
{
	uint64_t addr[5] = { index, d, u, a, 0 };

	return fe_ack(fe, R_SET_VRING_ADDR, addr, 40, NULL, 0);
}

static void test_ring_setup_errors(void **state)
{
	struct fe *fe = *state;
	uint64_t d = fe_uva(fe, FE_DESC_GPA), a = fe_uva(fe, FE_AVAIL_GPA);
	uint64_t u = fe_uva(fe, FE_USED_GPA), v;

	/* sizes: zero, not a power of two, too large; an index out of range */
	assert_int_not_equal(vring(fe, R_SET_VRING_NUM, 0, 0), 0);
	assert_int_not_equal(vring(fe, R_SET_VRING_NUM, 0, 1000), 0);
	assert_int_not_equal(vring(fe, R_SET_VRING_NUM, 0, 65536), 0);
	assert_int_not_equal(vring(fe, R_SET_VRING_NUM, 1, 256), 0);
	assert_int_not_equal(vring(fe, R_SET_VRING_BASE, 0, 0x10000), 0);
	assert_int_not_equal(vring(fe, R_SET_VRING_ENABLE, 0, 2), 0);
	assert_int_equal(vring(fe, R_SET_VRING_NUM, 0, 256), 0);
	/* addresses before a memory table */
	assert_int_not_equal(vring_addr(fe, 0, d, a, u), 0);
	assert_int_equal(fe_mem_table(fe), 0);
	/* misaligned, outside memory, straddling a region's end, bad index */
	assert_int_not_equal(vring_addr(fe, 0, d + 8, a, u), 0);
	assert_int_not_equal(vring_addr(fe, 0, d, a + 1, u), 0);
	assert_int_not_equal(vring_addr(fe, 0, d, a, u + 2), 0);
	assert_int_not_equal(vring_addr(fe, 0, 0x1000, a, u), 0);
	assert_int_not_equal(vring_addr(fe, 0, fe_uva(fe, FE_R1_GPA + FE_R1_SIZE - 16 * 128),
					 a, u), 0);
	assert_int_not_equal(vring_addr(fe, 3, d, a, u), 0);
	/* a kick before the addresses: the ring cannot start */
	v = 0;
	assert_int_not_equal(fe_ack(fe, R_SET_VRING_KICK, &v, 8, &fe->kick, 1), 0);
	assert_false(vu_queue(&fe->dev, 0)->started);
	assert_int_equal(vring_addr(fe, 0, d, a, u), 0);
	/* polling mode (no kick fd) is not offered */
	v = 0x100;
	assert_int_not_equal(fe_ack(fe, R_SET_VRING_KICK, &v, 8, NULL, 0), 0);
	v = 0;
	assert_int_equal(fe_ack(fe, R_SET_VRING_KICK, &v, 8, &fe->kick, 1), 0);
	assert_true(vu_queue(&fe->dev, 0)->started);
	/* no changes under a started ring */
	assert_int_not_equal(vring(fe, R_SET_VRING_NUM, 0, 128), 0);
	assert_int_not_equal(vring(fe, R_SET_VRING_BASE, 0, 3), 0);
	assert_int_not_equal(vring_addr(fe, 0, d, a, u), 0);
	/* a kick fd of another queue, or reserved bits */
	v = 5;
	assert_int_not_equal(fe_ack(fe, R_SET_VRING_CALL, &v, 8, &fe->call, 1), 0);
	v = 0x200;
	assert_int_not_equal(fe_ack(fe, R_SET_VRING_CALL, &v, 8, &fe->call, 1), 0);
	/* a kick or call fd that is a file or a device: it would spin the loop */
	v = 0;
	assert_int_not_equal(fe_ack(fe, R_SET_VRING_CALL, &v, 8, &fe->memfd[0], 1), 0);
	{
		int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);

		assert_int_not_equal(fe_ack(fe, R_SET_VRING_ERR, &v, 8, &zero, 1), 0);
		close(zero);
	}
	/* a KICK with NOFD but an fd, or without NOFD and no fd: broken framing */
	v = 0x100;
	fe_send(fe->sock, R_SET_VRING_CALL, 1, &v, 8, &fe->call, 1);
	assert_broken(fe, "fds");
}

static void test_kick_dispatch(void **state)
{
	struct fe *fe = *state;
	uint64_t one = 1;
	uint32_t st[2] = { 0, 1 };

	fe_negotiate(fe, 16);
	fe->kicks = 0;
	assert_int_equal(write(fe->kick, &one, 8), 8);
	fe_pump();
	assert_int_equal(fe->kicks, 1);
	/* disabled: kicks are read but not passed on; enabling looks at the ring */
	st[1] = 0;
	fe_send(fe->sock, R_SET_VRING_ENABLE, 1, st, 8, NULL, 0);
	fe_pump();
	assert_int_equal(write(fe->kick, &one, 8), 8);
	fe_pump();
	assert_int_equal(fe->kicks, 1);
	st[1] = 1;
	fe_send(fe->sock, R_SET_VRING_ENABLE, 1, st, 8, NULL, 0);
	fe_pump();
	assert_int_equal(fe->kicks, 2);
}

/* ---- chains ---------------------------------------------------------------------- */

static void test_direct_and_indirect(void **state)
{
	struct fe *fe = *state;
	struct vu_virtq *vq;
	struct vu_seg segs[16];
	struct vu_elem e = { .segs = segs, .max_segs = 16 };
	uint8_t *hdr = fe_gpa(fe, FE_DATA_GPA);

	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	assert_int_equal(vu_virtq_pop(vq, &e), 0);

	/* direct: a 72-byte header, 16 bytes of source; 16 bytes out and a status */
	memset(hdr, 0x5a, 72);
	fe_desc(fe, 3, FE_DATA_GPA, 72, VU_DESC_F_NEXT, 7);
	fe_desc(fe, 7, FE_DATA_GPA + 0x100, 16, VU_DESC_F_NEXT, 1);
	fe_desc(fe, 1, FE_DATA_GPA + 0x200, 16, VU_DESC_F_WRITE | VU_DESC_F_NEXT, 2);
	fe_desc(fe, 2, FE_DATA_GPA + 0x300, 1, VU_DESC_F_WRITE, 0);
	fe_avail(fe, 3);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(e.head, 3);
	assert_int_equal(e.n_out, 2);
	assert_int_equal(e.n_in, 2);
	assert_int_equal(e.out_len, 88);
	assert_int_equal(e.in_len, 17);
	assert_int_equal(segs[0].gpa, FE_DATA_GPA);
	assert_int_equal(segs[0].len, 72);
	assert_memory_equal(segs[0].host, hdr, 72); /* the same memory, mapped again */
	assert_int_equal(segs[3].gpa, FE_DATA_GPA + 0x300);
	*(uint8_t *)segs[3].host = 0x42;
	assert_int_equal(*(uint8_t *)fe_gpa(fe, FE_DATA_GPA + 0x300), 0x42);
	assert_int_equal(vu_virtq_push(vq, &e, 17), 0);
	assert_int_equal(fe->used->idx, 1);
	assert_int_equal(fe->used->ring[0].id, 3);
	assert_int_equal(fe->used->ring[0].len, 17);
	assert_true(vu_virtq_notify(vq));
	assert_true(fe_signalled(fe->call));

	/* indirect: one descriptor naming a table of three; a length over in_len is clamped */
	fe_ind(fe, FE_IND_GPA, 0, FE_DATA_GPA, 72, VU_DESC_F_NEXT, 2);
	fe_ind(fe, FE_IND_GPA, 2, FE_DATA_GPA + 0x100, 32, VU_DESC_F_NEXT, 1);
	fe_ind(fe, FE_IND_GPA, 1, FE_DATA_GPA + 0x200, 33, VU_DESC_F_WRITE, 0);
	fe_desc(fe, 5, FE_IND_GPA, 3 * 16, VU_DESC_F_INDIRECT, 0);
	fe_avail(fe, 5);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(e.head, 5);
	assert_int_equal(e.n_out, 2);
	assert_int_equal(e.n_in, 1);
	assert_int_equal(segs[1].len, 32);
	assert_int_equal(segs[2].gpa, FE_DATA_GPA + 0x200);
	assert_int_equal(vu_virtq_push(vq, &e, 1000), 0);
	assert_int_equal(fe->used->ring[1].id, 5);
	assert_int_equal(fe->used->ring[1].len, 33);
	assert_int_equal(vu_virtq_pop(vq, &e), 0);

	/* a segment in region 0, the other fd */
	fe_desc(fe, 0, 0x2000, 64, 0, 0);
	fe_avail(fe, 0);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_ptr_equal(segs[0].host, vu_gpa_to_host(&fe->dev, 0x2000, 64, false));
}

struct bad_case {
	const char *what;
	int err;
};

static void test_bad_chains(void **state)
{
	struct fe *fe = *state;
	struct vu_virtq *vq;
	struct vu_seg segs[32];
	struct vu_elem e = { .segs = segs };
	static const struct bad_case cases[] = {
		{ "loop", -ELOOP },
		{ "indirect in indirect", -EINVAL },
		{ "outside memory", -EFAULT },
		{ "across a region's end", -EFAULT },
		{ "length overflow", -EOVERFLOW },
		{ "next out of range", -EINVAL },
		{ "indirect length not a multiple of 16", -EINVAL },
		{ "indirect table outside memory", -EFAULT },
		{ "indirect with next", -EINVAL },
		{ "readable after writable", -EINVAL },
		{ "too many segments", -E2BIG },
		{ "loop in an indirect table", -ELOOP },
		{ "indirect after a direct descriptor", -EINVAL },
		{ "indirect next out of its table", -EINVAL },
		{ "zero-length indirect table", -EINVAL },
	};

	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	for (unsigned int c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		e.max_segs = c == 10 ? 8 : 32;
		memset(fe->desc, 0, 16 * 16);
		memset(fe_gpa(fe, FE_IND_GPA), 0, 4096);
		switch (c) {
		case 0:
			fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 1);
			fe_desc(fe, 1, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 0);
			break;
		case 1:
			fe_ind(fe, FE_IND_GPA, 0, FE_IND_GPA + 64, 16, VU_DESC_F_INDIRECT, 0);
			fe_desc(fe, 0, FE_IND_GPA, 32, VU_DESC_F_INDIRECT, 0);
			break;
		case 2:
			fe_desc(fe, 0, 0x50000000, 8, 0, 0);
			break;
		case 3:
			fe_desc(fe, 0, FE_R1_GPA + FE_R1_SIZE - 4, 8, 0, 0);
			break;
		case 4:
			fe_desc(fe, 0, FE_DATA_GPA, 1, VU_DESC_F_NEXT, 1);
			fe_desc(fe, 1, FE_DATA_GPA, 0xffffffffu, 0, 0);
			break;
		case 5:
			fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 16);
			break;
		case 6:
			fe_desc(fe, 0, FE_IND_GPA, 24, VU_DESC_F_INDIRECT, 0);
			break;
		case 7:
			fe_desc(fe, 0, 0x40000000, 32, VU_DESC_F_INDIRECT, 0);
			break;
		case 8:
			fe_desc(fe, 0, FE_IND_GPA, 32, VU_DESC_F_INDIRECT | VU_DESC_F_NEXT, 1);
			break;
		case 9:
			fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_WRITE | VU_DESC_F_NEXT, 1);
			fe_desc(fe, 1, FE_DATA_GPA, 8, 0, 0);
			break;
		case 10:
			for (int i = 0; i < 9; i++)
				fe_desc(fe, i, FE_DATA_GPA, 8, VU_DESC_F_NEXT, i + 1);
			break;
		case 11:
			fe_ind(fe, FE_IND_GPA, 0, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 1);
			fe_ind(fe, FE_IND_GPA, 1, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 0);
			fe_desc(fe, 0, FE_IND_GPA, 32, VU_DESC_F_INDIRECT, 0);
			break;
		case 12:
			fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 1);
			fe_desc(fe, 1, FE_IND_GPA, 32, VU_DESC_F_INDIRECT, 0);
			break;
		case 13:
			fe_ind(fe, FE_IND_GPA, 0, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 2);
			fe_desc(fe, 0, FE_IND_GPA, 32, VU_DESC_F_INDIRECT, 0);
			break;
		case 14:
			fe_desc(fe, 0, FE_IND_GPA, 0, VU_DESC_F_INDIRECT, 0);
			break;
		}
		fe_avail(fe, 0);
		if (vu_virtq_pop(vq, &e) != cases[c].err)
			fail_msg("%s: not %d", cases[c].what, cases[c].err);
		/* the head is still the driver's to get back, with nothing written */
		assert_int_equal(e.head, 0);
		assert_int_equal(vu_virtq_push(vq, &e, 0), 0);
		assert_int_equal(fe->used->ring[c].id, 0);
		assert_int_equal(fe->used->ring[c].len, 0);
		assert_false(vu_virtq_is_broken(vq));
	}
	assert_int_equal(vu_virtq_pop(vq, &e), 0);
	assert_false(fe_signalled(fe->err));

	/* a head out of range: the queue is broken, the err eventfd told */
	fe_avail(fe, 16);
	assert_int_equal(vu_virtq_pop(vq, &e), -EIO);
	assert_true(vu_virtq_is_broken(vq));
	assert_true(fe_signalled(fe->err));
	assert_int_equal(vu_virtq_pop(vq, &e), -EIO);
	assert_int_equal(vu_virtq_push(vq, &e, 0), -EIO);
	assert_false(vu_virtq_notify(vq));
}

static void test_avail_runaway(void **state)
{
	struct fe *fe = *state;
	struct vu_seg segs[4];
	struct vu_elem e = { .segs = segs, .max_segs = 4 };
	struct vu_virtq *vq;

	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	fe->avail->idx = 17; /* more than the ring holds */
	assert_int_equal(vu_virtq_pop(vq, &e), -EIO);
	assert_true(vu_virtq_is_broken(vq));
	/* a restart (GET_VRING_BASE, BASE, KICK) mends it */
	{
		uint32_t st[2] = { 0, 0 };
		uint64_t v = 0;

		assert_int_equal(fe_call(fe, R_GET_VRING_BASE, 1, st, 8, NULL, 0, st, 8), 8);
		fe->avail->idx = 0;
		st[1] = 0;
		fe_send(fe->sock, R_SET_VRING_BASE, 1, st, 8, NULL, 0);
		fe_send(fe->sock, R_SET_VRING_KICK, 1, &v, 8, &fe->kick, 1);
		fe_pump();
		assert_false(vu_virtq_is_broken(vq));
		assert_int_equal(vu_virtq_pop(vq, &e), 0);
	}
}

/* ---- notifications --------------------------------------------------------------- */

static bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static void test_event_idx(void **state)
{
	struct fe *fe = *state;
	struct vu_seg segs[4];
	struct vu_elem e = { .segs = segs, .max_segs = 4 };
	struct vu_virtq *vq;
	uint16_t *used_event, *avail_event;

	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	used_event = &fe->avail->ring[16];
	avail_event = (uint16_t *)&fe->used->ring[16];
	for (int i = 0; i < 16; i++)
		fe_desc(fe, i, FE_DATA_GPA + 64 * i, 8, VU_DESC_F_WRITE, 0);

	/* an empty pop publishes avail_event: the driver will kick for the next */
	*avail_event = 0xffff;
	assert_int_equal(vu_virtq_pop(vq, &e), 0);
	assert_int_equal(*avail_event, 0);
	fe_avail(fe, 0);
	assert_true(vring_need_event(*avail_event, fe->avail_idx, fe->avail_idx - 1));
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(*avail_event, 1);

	/* the first notification always goes */
	assert_int_equal(vu_virtq_push(vq, &e, 8), 0);
	assert_true(vu_virtq_notify(vq));
	assert_true(fe_signalled(fe->call));

	/* used_event = 5: no call until the used index passes it */
	*used_event = 5;
	for (uint16_t i = 1; i <= 4; i++) {
		fe_avail(fe, i);
		assert_int_equal(vu_virtq_pop(vq, &e), 1);
		assert_int_equal(vu_virtq_push(vq, &e, 8), 0);
		assert_false(vu_virtq_notify(vq));
		assert_false(fe_signalled(fe->call));
	}
	fe_avail(fe, 5);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(vu_virtq_push(vq, &e, 8), 0); /* used idx 5 -> 6 crosses 5 */
	assert_true(vu_virtq_notify(vq));
	assert_true(fe_signalled(fe->call));
	/* a batch: two pushes, one call */
	*used_event = 6;
	for (uint16_t i = 7; i <= 8; i++) {
		fe_avail(fe, i);
		assert_int_equal(vu_virtq_pop(vq, &e), 1);
		assert_int_equal(vu_virtq_push(vq, &e, 8), 0);
	}
	assert_true(vu_virtq_notify(vq));
	assert_false(vu_virtq_notify(vq)); /* nothing new */
}

/* Without EVENT_IDX (a frontend that says so): VRING_AVAIL_F_NO_INTERRUPT rules. */
static void test_no_interrupt(void **state)
{
	struct fe *fe = *state;
	struct vu_seg segs[4];
	struct vu_elem e = { .segs = segs, .max_segs = 4 };
	struct vu_virtq *vq;
	uint16_t *avail_event;

	vu_set_assumed_ring_features(&fe->dev, 1ull << VU_F_INDIRECT_DESC);
	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	assert_false(vq->event_idx);
	avail_event = (uint16_t *)&fe->used->ring[16];
	*avail_event = 0x1234;
	fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_WRITE, 0);
	fe_avail(fe, 0);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(vu_virtq_pop(vq, &e), 0);
	assert_int_equal(*avail_event, 0x1234); /* untouched */
	assert_int_equal(vu_virtq_push(vq, &e, 8), 0);
	fe->avail->flags = VU_AVAIL_F_NO_INTERRUPT;
	assert_false(vu_virtq_notify(vq));
	assert_false(fe_signalled(fe->call));
	/* the driver takes interrupts again: the next used entry is signalled */
	fe->avail->flags = 0;
	assert_false(vu_virtq_notify(vq)); /* nothing new since */
	fe_avail(fe, 0);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(vu_virtq_push(vq, &e, 8), 0);
	assert_true(vu_virtq_notify(vq));
	assert_true(fe_signalled(fe->call));
}

/* One eventfd as both kick and call: notifying cannot make the device kick itself. */
static void test_kick_is_call(void **state)
{
	struct fe *fe = *state;
	struct vu_seg segs[4];
	struct vu_elem e = { .segs = segs, .max_segs = 4 };
	struct vu_virtq *vq;
	uint64_t v = 0;

	vu_set_assumed_ring_features(&fe->dev, 0);
	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	fe_send(fe->sock, R_SET_VRING_CALL, 1, &v, 8, &fe->kick, 1);
	fe_pump();
	fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_WRITE, 0);
	fe_avail(fe, 0);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(vu_virtq_push(vq, &e, 8), 0);
	assert_true(vu_virtq_notify(vq));
	fe->kicks = 0;
	fe_pump(); /* the "kick" the call made */
	assert_int_equal(fe->kicks, 1);
	assert_false(vu_virtq_notify(vq));
	fe_pump();
	assert_int_equal(fe->kicks, 1);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("the backend blocked on a frontend's eventfd");
}

/*
 * A frontend's call fd that cannot take another signal (a blocking eventfd
 * at its maximum count) must not block the backend: its owner's loop
 * serves every other domain too.
 */
static void test_call_fd_full_does_not_block(void **state)
{
	struct fe *fe = *state;
	struct vu_seg segs[4];
	struct vu_elem e = { .segs = segs, .max_segs = 4 };
	struct vu_virtq *vq;
	uint64_t v = 0, full = 0xfffffffffffffffeull;
	int efd = eventfd(0, EFD_CLOEXEC);   /* blocking, as a hostile frontend makes it */

	assert_true(efd >= 0);
	assert_int_equal(write(efd, &full, 8), 8);
	vu_set_assumed_ring_features(&fe->dev, 0);
	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	fe_send(fe->sock, R_SET_VRING_CALL, 1, &v, 8, &efd, 1);
	fe_pump();
	fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_WRITE, 0);
	fe_avail(fe, 0);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(vu_virtq_push(vq, &e, 8), 0);
	signal(SIGALRM, on_alarm);
	alarm(5);
	(void)vu_virtq_notify(vq);          /* EAGAIN, not a hang */
	alarm(0);
	close(efd);
}

/* ---- sessions -------------------------------------------------------------------- */

static void test_sessions(void **state)
{
	struct fe *fe = *state;
	uint8_t sess[SESS_SIZE], rep[SESS_SIZE];
	uint64_t id;

	session_msg(sess, 32, 1);
	assert_int_equal(fe_call(fe, R_CREATE_CRYPTO_SESSION, 1, sess, SESS_SIZE, NULL, 0, rep,
				 sizeof(rep)), SESS_SIZE);
	assert_int_equal(*(int64_t *)rep, 100);
	/* a key longer than the layout holds: id -1, the device not asked */
	session_msg(sess, 65, 1);
	assert_int_equal(fe_call(fe, R_CREATE_CRYPTO_SESSION, 1, sess, SESS_SIZE, NULL, 0, rep,
				 sizeof(rep)), SESS_SIZE);
	assert_int_equal(*(int64_t *)rep, -1);
	assert_int_equal(fe->creates, 1);
	/* the device refuses: id -1 */
	fe->create_result = -ENOTSUP;
	session_msg(sess, 16, 2);
	assert_int_equal(fe_call(fe, R_CREATE_CRYPTO_SESSION, 1, sess, SESS_SIZE, NULL, 0, rep,
				 sizeof(rep)), SESS_SIZE);
	assert_int_equal(*(int64_t *)rep, -1);
	/* close: no reply (QEMU 7.2 reads none); the next reply is the next request's */
	id = 100;
	fe_send(fe->sock, R_CLOSE_CRYPTO_SESSION, 1, &id, 8, NULL, 0);
	fe_pump();
	assert_int_equal(fe->closes, 1);
	assert_int_equal(fe->last_closed, 100);
	assert_int_equal(fe_recv(fe->sock, 0, NULL, 0), -1);
	assert_true(alive(fe));
	/* a close that asks for an ack gets one, failure included */
	assert_int_equal(fe_ack(fe, R_CLOSE_CRYPTO_SESSION, &id, 8, NULL, 0), 0);
	fe->close_result = -ENOENT;
	assert_int_equal(fe_ack(fe, R_CLOSE_CRYPTO_SESSION, &id, 8, NULL, 0), ENOENT);
	/* a session message of another size breaks the connection */
	fe_send(fe->sock, R_CREATE_CRYPTO_SESSION, 1, sess, SESS_SIZE - 8, NULL, 0);
	assert_broken(fe, "CREATE_CRYPTO_SESSION");
}

/* ---- framing --------------------------------------------------------------------- */

static void test_reply_ack(void **state)
{
	struct fe *fe = *state;
	uint8_t junk[64] = { 0 };

	assert_int_equal(vring(fe, R_SET_VRING_NUM, 0, 64), 0);
	assert_int_equal(vring(fe, R_SET_VRING_NUM, 0, 63), EINVAL);
	/* unknown requests fail: acked when asked, silent otherwise, fds closed */
	assert_int_equal(fe_ack(fe, 99, junk, sizeof(junk), NULL, 0), ENOSYS);
	assert_int_equal(fe_ack(fe, R_SET_LOG_BASE, junk, 16, &fe->kick, 1), ENOSYS);
	fe_send(fe->sock, 1000, 1, junk, sizeof(junk), &fe->call, 1);
	fe_pump();
	assert_int_equal(fe_recv(fe->sock, 0, NULL, 0), -1);
	assert_true(alive(fe));
	/* a request with a reply of its own ignores NEED_REPLY */
	assert_int_equal(fe_ack(fe, R_GET_QUEUE_NUM, NULL, 0, NULL, 0), 1);
	fe_pump();
	assert_int_equal(fe_recv(fe->sock, 0, NULL, 0), -1);
}

static void test_partial_message(void **state)
{
	struct fe *fe = *state;
	uint32_t hdr[3] = { R_GET_QUEUE_NUM, 1, 0 };
	uint64_t v;

	/* a header in two pieces: the backend waits, the loop is not blocked */
	assert_int_equal(send(fe->sock, hdr, 5, 0), 5);
	fe_pump();
	assert_int_equal(fe_recv(fe->sock, 0, NULL, 0), -1);
	assert_int_equal(send(fe->sock, (uint8_t *)hdr + 5, 7, 0), 7);
	fe_pump();
	assert_int_equal(fe_recv(fe->sock, R_GET_QUEUE_NUM, &v, 8), 8);
	assert_int_equal(v, 1);
	/* the socket closes half way through a message */
	hdr[0] = R_SET_VRING_NUM;
	hdr[2] = 8;
	assert_int_equal(send(fe->sock, hdr, 12, 0), 12);
	fe_pump();
	shutdown(fe->sock, SHUT_WR);
	assert_broken(fe, "mid-message");
}

enum { BAD_SIZE, BAD_SIZE0, BAD_BIG, BAD_VERSION, BAD_REPLY_FLAG, BAD_FDS, BAD_TOO_MANY_FDS,
	BAD_GET_VRING_BASE };

static void check_violation(int kind, const char *why)
{
	struct fe fe;
	uint8_t buf[64] = { 0 };
	int fds[12];

	fe_init(&fe);
	switch (kind) {
	case BAD_SIZE:
		fe_send(fe.sock, R_SET_VRING_NUM, 1, buf, 4, NULL, 0);
		break;
	case BAD_SIZE0:
		fe_send(fe.sock, R_GET_FEATURES, 1, buf, 8, NULL, 0);
		break;
	case BAD_BIG: {
		uint32_t hdr[3] = { R_SET_CONFIG, 1, VU_MAX_PAYLOAD + 1 };

		assert_int_equal(send(fe.sock, hdr, 12, 0), 12);
		break;
	}
	case BAD_VERSION:
		fe_send(fe.sock, R_GET_FEATURES, 2, NULL, 0, NULL, 0);
		break;
	case BAD_REPLY_FLAG:
		fe_send(fe.sock, R_GET_FEATURES, 5, NULL, 0, NULL, 0);
		break;
	case BAD_FDS:
		fe_send(fe.sock, R_SET_OWNER, 1, NULL, 0, &fe.kick, 1);
		break;
	case BAD_TOO_MANY_FDS:
		for (int i = 0; i < 12; i++)
			fds[i] = fe.kick;
		fe_send(fe.sock, R_SET_OWNER, 1, NULL, 0, fds, 12);
		break;
	case BAD_GET_VRING_BASE:
		buf[0] = 4;
		fe_send(fe.sock, R_GET_VRING_BASE, 1, buf, 8, NULL, 0);
		break;
	}
	assert_broken(&fe, why);
	fe_fini(&fe);
}

static void test_violations(void **state)
{
	check_violation(BAD_SIZE, "SET_VRING_NUM: 4 bytes");
	check_violation(BAD_SIZE0, "GET_FEATURES: 8 bytes");
	check_violation(BAD_BIG, "bytes of payload");
	check_violation(BAD_VERSION, "bad flags");
	check_violation(BAD_REPLY_FLAG, "bad flags");
	check_violation(BAD_FDS, "SET_OWNER: 1 fds");
	check_violation(BAD_TOO_MANY_FDS, "more than 8 fds");
	check_violation(BAD_GET_VRING_BASE, "GET_VRING_BASE: queue 4");
}

/* ---- memory changes with requests in flight -------------------------------------- */

static struct vu_elem inflight;
static struct vu_seg inflight_segs[4];
static int inflight_pushed;

static void finish_inflight(struct fe *fe)
{
	struct vu_virtq *vq = vu_queue(&fe->dev, 0);
	unsigned int n;

	/* the old mapping still holds; the new table is the one listed */
	assert_int_equal(*(uint8_t *)inflight_segs[0].host, 0x77);
	vu_mem_regions(&fe->dev, &n);
	assert_int_equal(n, 1);
	*(uint8_t *)inflight_segs[1].host = 0;
	assert_int_equal(vu_virtq_push(vq, &inflight, 1), 0);
	inflight_pushed++;
}

static void test_mem_change_inflight(void **state)
{
	struct fe *fe = *state;
	struct vu_virtq *vq;
	struct vu_seg segs[4];
	struct vu_elem e = { .segs = segs, .max_segs = 4 };
	uint64_t m[5] = { 1, FE_R1_GPA, FE_R1_SIZE, fe_uva(fe, FE_R1_GPA), FE_R1_OFF };

	fe_negotiate(fe, 16);
	vq = vu_queue(&fe->dev, 0);
	*(uint8_t *)fe_gpa(fe, FE_DATA_GPA) = 0x77;
	fe_desc(fe, 0, FE_DATA_GPA, 8, VU_DESC_F_NEXT, 1);
	fe_desc(fe, 1, FE_DATA_GPA + 8, 1, VU_DESC_F_WRITE, 0);
	fe_avail(fe, 0);
	inflight = (struct vu_elem){ .segs = inflight_segs, .max_segs = 4 };
	assert_int_equal(vu_virtq_pop(vq, &inflight), 1);
	fe->on_mem_changed = finish_inflight;
	/* a table of region 1 only (region 0 goes): the owner finishes first */
	assert_int_equal(fe_ack(fe, R_SET_MEM_TABLE, m, sizeof(m), &fe->memfd[1], 1), 0);
	assert_int_equal(inflight_pushed, 1);
	assert_int_equal(fe->used->idx, 1);
	assert_null(vu_gpa_to_host(&fe->dev, 0x2000, 8, false));
	/* the ring goes on through the new mapping */
	fe_desc(fe, 2, FE_DATA_GPA, 8, 0, 0);
	fe_avail(fe, 2);
	assert_int_equal(vu_virtq_pop(vq, &e), 1);
	assert_int_equal(*(uint8_t *)segs[0].host, 0x77);
	/* a table that no longer holds the rings breaks the queue */
	fe->on_mem_changed = NULL;
	{
		uint64_t m0[5] = { 1, 0, FE_R0_SIZE, fe_uva(fe, 0), 0 };

		assert_int_equal(fe_ack(fe, R_SET_MEM_TABLE, m0, sizeof(m0), &fe->memfd[0], 1), 0);
	}
	assert_true(vu_virtq_is_broken(vq));
	assert_int_equal(vu_virtq_pop(vq, &e), -EIO);
}

static void test_reset_owner(void **state)
{
	struct fe *fe = *state;
	unsigned int n;

	fe_negotiate(fe, 16);
	fe->mem_changes = 0;
	fe_send(fe->sock, R_RESET_OWNER, 1, NULL, 0, NULL, 0);
	fe_pump();
	assert_int_equal(fe->stops, 1);
	assert_int_equal(fe->mem_changes, 1);
	vu_mem_regions(&fe->dev, &n);
	assert_int_equal(n, 0);
	assert_false(vu_queue(&fe->dev, 0)->started);
	assert_true(alive(fe));
	fe_negotiate(fe, 32);
}

/* ---- reconnecting ---------------------------------------------------------------- */

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_reconnect(void **state)
{
	struct fe fe;
	struct vu_dev other;
	char path[64];
	int second;

	snprintf(path, sizeof(path), "/tmp/vu-test-%d.sock", (int)getpid());
	fe_init_nosock(&fe);
	assert_int_equal(vu_listen(&fe.dev, path), 0);
	fe.sock = connect_to(path);
	fe_pump();
	assert_int_equal(fe.connects, 1);
	fe_negotiate(&fe, 16);
	/* a live socket is not taken over (its probe is refused as a second frontend) */
	assert_int_equal(vu_init(&other, 1, &fe_dev_ops, &fe, &fe_watch_ops, NULL), 0);
	assert_int_equal(vu_listen(&other, path), -EADDRINUSE);
	fe_pump();
	assert_int_equal(fe.connects, 1);
	/* a second frontend meanwhile is closed at once */
	second = connect_to(path);
	fe_pump();
	assert_int_equal(fe_recv(second, 0, NULL, 0), -2);
	close(second);
	assert_true(alive(&fe));
	/* the first goes; the next is served from scratch */
	close(fe.sock);
	fe_pump();
	assert_int_equal(fe.disconnects, 1);
	assert_false(vu_queue(&fe.dev, 0)->started);
	fe.sock = connect_to(path);
	fe_pump();
	assert_int_equal(fe.connects, 2);
	fe_negotiate(&fe, 64);
	assert_true(alive(&fe));
	/* the owner may drop a frontend too */
	vu_disconnect(&fe.dev, "owner says so");
	assert_string_equal(fe.why, "owner says so");
	assert_int_equal(fe_recv(fe.sock, 0, NULL, 0), -2);
	close(fe.sock);
	fe.sock = -1;
	fe_fini(&fe);
	assert_int_equal(access(path, F_OK), -1); /* the socket file went with it */
	/* a stale socket file is replaced */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
		fe_init_nosock(&fe);
		assert_int_equal(vu_listen(&fe.dev, path), 0);
		fe_fini(&fe);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_qemu72_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mem_table_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_setup_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_direct_and_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_runaway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_fd_full_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kick_is_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_message, setup, teardown),
		cmocka_unit_test(test_violations),
		cmocka_unit_test_setup_teardown(test_mem_change_inflight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_owner, setup, teardown),
		cmocka_unit_test(test_reconnect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
