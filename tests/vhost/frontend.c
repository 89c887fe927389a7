// SPDX-License-Identifier: MIT
/*
 * DOC: a fake vhost-user frontend for the backend's tests
 *
 * See frontend.h.  Failures are cmocka assertions.
 */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend.h"
#include "wire.h"

/* ---- the owner's loop ------------------------------------------------------------ */

#define MAX_WATCH 64

static struct watch {
	int fd;
	unsigned int events;
	vu_watch_cb *cb;
	void *data;
} watches[MAX_WATCH];
static unsigned int nwatches;

static int w_set(void *wo, int fd, unsigned int events, vu_watch_cb *cb, void *data)
{
	for (unsigned int i = 0; i < nwatches; i++) {
		if (watches[i].fd == fd) {
			watches[i] = (struct watch){ fd, events, cb, data };
			return 0;
		}
	}
	if (nwatches == MAX_WATCH)
		return -ENOMEM;
	watches[nwatches++] = (struct watch){ fd, events, cb, data };
	return 0;
}

static void w_remove(void *wo, int fd)
{
	for (unsigned int i = 0; i < nwatches; i++) {
		if (watches[i].fd == fd) {
			watches[i] = watches[--nwatches];
			return;
		}
	}
}

const struct vu_watch_ops fe_watch_ops = { w_set, w_remove };

void fe_pump(void)
{
	for (int turn = 0; turn < 1000; turn++) {
		struct pollfd p[MAX_WATCH];
		struct watch w[MAX_WATCH];
		unsigned int n = nwatches;
		int ready;

		memcpy(w, watches, sizeof(w[0]) * n);
		for (unsigned int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = w[i].fd, .events = POLLIN };
		ready = poll(p, n, 0);
		assert_true(ready >= 0);
		if (!ready)
			return;
		for (unsigned int i = 0; i < n; i++) {
			bool still = false;

			if (!p[i].revents)
				continue;
			for (unsigned int k = 0; k < nwatches; k++)
				still |= watches[k].fd == w[i].fd && watches[k].cb == w[i].cb;
			if (still)
				w[i].cb(w[i].data, w[i].fd, p[i].revents & POLLIN ? VU_WATCH_IN :
					VU_WATCH_ERR);
		}
	}
	fail_msg("the backend's fds never went quiet");
}

/* ---- the device ------------------------------------------------------------------ */

static int d_get_config(void *opaque, uint32_t offset, uint8_t *buf, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(offset + i);
	return 0;
}

static int d_create(void *opaque, const struct vu_crypto_session_req *req, int64_t *id)
{
	struct fe *fe = opaque;

	fe->creates++;
	fe->last_req = *req;
	memcpy(fe->last_key, req->key, req->key_len);
	if (fe->create_result)
		return fe->create_result;
	*id = fe->next_id++;
	return 0;
}

static int d_close(void *opaque, uint64_t id)
{
	struct fe *fe = opaque;

	fe->closes++;
	fe->last_closed = id;
	return fe->close_result;
}

static void d_kick(void *opaque, struct vu_virtq *vq)
{
	((struct fe *)opaque)->kicks++;
}

static void d_stop(void *opaque, struct vu_virtq *vq)
{
	((struct fe *)opaque)->stops++;
}

static void d_connected(void *opaque)
{
	((struct fe *)opaque)->connects++;
}

static void d_disconnected(void *opaque, const char *why)
{
	struct fe *fe = opaque;

	fe->disconnects++;
	snprintf(fe->why, sizeof(fe->why), "%s", why);
}

static void d_mem_changed(void *opaque)
{
	struct fe *fe = opaque;

	fe->mem_changes++;
	if (fe->on_mem_changed)
		fe->on_mem_changed(fe);
}

const struct vu_dev_ops fe_dev_ops = {
	.get_config = d_get_config,
	.create_session = d_create,
	.close_session = d_close,
	.queue_kick = d_kick,
	.queue_stop = d_stop,
	.connected = d_connected,
	.disconnected = d_disconnected,
	.mem_changed = d_mem_changed,
};

/* ---- set-up ---------------------------------------------------------------------- */

void fe_init_nosock(struct fe *fe)
{
	size_t len[2] = { FE_R0_SIZE, FE_R1_OFF + FE_R1_SIZE };

	memset(fe, 0, sizeof(*fe));
	nwatches = 0;
	fe->sock = -1;
	fe->next_id = 100;
	for (int i = 0; i < 2; i++) {
		fe->memfd[i] = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		assert_true(fe->memfd[i] >= 0);
		assert_int_equal(ftruncate(fe->memfd[i], (off_t)len[i]), 0);
		/* As QEMU's memory-backend-memfd: it cannot shrink under the backend. */
		assert_int_equal(fcntl(fe->memfd[i], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
		fe->map[i] = mmap(NULL, len[i], PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd[i], 0);
		assert_true(fe->map[i] != MAP_FAILED);
	}
	fe->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fe->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	fe->err = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(fe->kick >= 0 && fe->call >= 0 && fe->err >= 0);
	assert_int_equal(vu_init(&fe->dev, 1, &fe_dev_ops, fe, &fe_watch_ops, NULL), 0);
}

void fe_init(struct fe *fe)
{
	int sv[2];

	fe_init_nosock(fe);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe->sock = sv[1];
	assert_int_equal(vu_accept_fd(&fe->dev, sv[0]), 0);
	assert_int_equal(fe->connects, 1);
}

void fe_fini(struct fe *fe)
{
	size_t len[2] = { FE_R0_SIZE, FE_R1_OFF + FE_R1_SIZE };

	vu_destroy(&fe->dev);
	assert_int_equal(nwatches, 0); /* every watch was removed */
	if (fe->sock >= 0)
		close(fe->sock);
	for (int i = 0; i < 2; i++) {
		munmap(fe->map[i], len[i]);
		close(fe->memfd[i]);
	}
	close(fe->kick);
	close(fe->call);
	close(fe->err);
}

void *fe_gpa(struct fe *fe, uint64_t gpa)
{
	if (gpa < FE_R0_GPA + FE_R0_SIZE)
		return fe->map[0] + gpa;
	assert_true(gpa >= FE_R1_GPA && gpa < FE_R1_GPA + FE_R1_SIZE);
	return fe->map[1] + FE_R1_OFF + (gpa - FE_R1_GPA);
}

uint64_t fe_uva(struct fe *fe, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)fe_gpa(fe, gpa);
}

/* ---- messages -------------------------------------------------------------------- */

int fe_send(int sock, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
	    const int *fds, unsigned int nfds)
{
	uint32_t hdr[3] = { req, flags, size };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, size } };

	assert_true(nfds <= WIRE_MAX_FDS);
	return wire_send(sock, iov, payload && size ? 2 : 1, fds, nfds, 0);
}

int fe_recv(int sock, uint32_t req, void *buf, uint32_t buflen)
{
	uint32_t hdr[3];
	ssize_t n = recv(sock, hdr, sizeof(hdr), MSG_DONTWAIT);

	if (n == 0)
		return -2;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -1;
	if (n < 0 && errno == ECONNRESET)
		return -2;
	assert_int_equal(n, sizeof(hdr));
	assert_int_equal(hdr[0], req);
	assert_int_equal(hdr[1], 0x5); /* version 1, reply */
	assert_true(hdr[2] <= buflen);
	if (hdr[2]) {
		n = recv(sock, buf, hdr[2], MSG_DONTWAIT);
		assert_int_equal(n, hdr[2]);
	}
	return (int)hdr[2];
}

int fe_call(struct fe *fe, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
	    const int *fds, unsigned int nfds, void *buf, uint32_t buflen)
{
	assert_int_equal(fe_send(fe->sock, req, flags, payload, size, fds, nfds), 0);
	fe_pump();
	return fe_recv(fe->sock, req, buf, buflen);
}

uint64_t fe_get_u64(struct fe *fe, uint32_t req)
{
	uint64_t v = ~0ull;

	assert_int_equal(fe_call(fe, req, 1, NULL, 0, NULL, 0, &v, sizeof(v)), 8);
	return v;
}

uint64_t fe_ack(struct fe *fe, uint32_t req, const void *payload, uint32_t size,
		const int *fds, unsigned int nfds)
{
	uint64_t v = ~0ull;

	assert_int_equal(fe_call(fe, req, 1 | F_NEED_REPLY, payload, size, fds, nfds, &v,
				 sizeof(v)), 8);
	return v;
}

uint64_t fe_mem_table(struct fe *fe)
{
	uint64_t m[1 + 2 * 4] = {
		2,
		FE_R0_GPA, FE_R0_SIZE, fe_uva(fe, FE_R0_GPA), 0,
		FE_R1_GPA, FE_R1_SIZE, fe_uva(fe, FE_R1_GPA), FE_R1_OFF,
	};

	return fe_ack(fe, R_SET_MEM_TABLE, m, sizeof(m), fe->memfd, 2);
}

void fe_negotiate(struct fe *fe, uint16_t num)
{
	uint64_t v;
	uint32_t state[2];
	uint64_t addr[5];

	fe_get_u64(fe, R_GET_FEATURES);
	fe_get_u64(fe, R_GET_PROTOCOL_FEATURES);
	v = 0x89;
	assert_int_equal(fe_send(fe->sock, R_SET_PROTOCOL_FEATURES, 1, &v, 8, NULL, 0), 0);
	assert_int_equal(fe_get_u64(fe, R_GET_QUEUE_NUM), 1);
	assert_int_equal(fe_send(fe->sock, R_SET_OWNER, 1, NULL, 0, NULL, 0), 0);
	v = 1ull << 30;
	assert_int_equal(fe_send(fe->sock, R_SET_FEATURES, 1, &v, 8, NULL, 0), 0);
	assert_int_equal(fe_mem_table(fe), 0);
	state[0] = 0;
	state[1] = num;
	assert_int_equal(fe_send(fe->sock, R_SET_VRING_NUM, 1, state, 8, NULL, 0), 0);
	state[1] = 0;
	assert_int_equal(fe_send(fe->sock, R_SET_VRING_BASE, 1, state, 8, NULL, 0), 0);
	addr[0] = 0;
	addr[1] = fe_uva(fe, FE_DESC_GPA);
	addr[2] = fe_uva(fe, FE_USED_GPA);
	addr[3] = fe_uva(fe, FE_AVAIL_GPA);
	addr[4] = 0;
	assert_int_equal(fe_send(fe->sock, R_SET_VRING_ADDR, 1, addr, 40, NULL, 0), 0);
	v = 0;
	assert_int_equal(fe_send(fe->sock, R_SET_VRING_KICK, 1, &v, 8, &fe->kick, 1), 0);
	assert_int_equal(fe_send(fe->sock, R_SET_VRING_CALL, 1, &v, 8, &fe->call, 1), 0);
	assert_int_equal(fe_send(fe->sock, R_SET_VRING_ERR, 1, &v, 8, &fe->err, 1), 0);
	fe_pump();
	assert_int_equal(fe_recv(fe->sock, 0, NULL, 0), -1); /* nothing unasked for */
	fe->num = num;
	fe->desc = fe_gpa(fe, FE_DESC_GPA);
	fe->avail = fe_gpa(fe, FE_AVAIL_GPA);
	fe->used = fe_gpa(fe, FE_USED_GPA);
	fe->avail_idx = 0;
	assert_true(vu_queue(&fe->dev, 0)->started);
}

/* ---- the driver ------------------------------------------------------------------ */

void fe_desc(struct fe *fe, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
	     uint16_t next)
{
	fe->desc[i] = (struct vu_desc){ addr, len, flags, next };
}

void fe_ind(struct fe *fe, uint64_t table_gpa, unsigned int i, uint64_t addr, uint32_t len,
	    uint16_t flags, uint16_t next)
{
	struct vu_desc *t = fe_gpa(fe, table_gpa);

	t[i] = (struct vu_desc){ addr, len, flags, next };
}

void fe_avail(struct fe *fe, uint16_t head)
{
	fe->avail->ring[fe->avail_idx % fe->num] = head;
	fe->avail_idx++;
	__atomic_store_n(&fe->avail->idx, fe->avail_idx, __ATOMIC_RELEASE);
}

bool fe_signalled(int efd)
{
	uint64_t v;

	return read(efd, &v, sizeof(v)) == sizeof(v);
}
