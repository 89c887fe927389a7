// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the vhost-user backend's message reader and handlers,
 * fed a stream of frames from a hostile frontend over a real socketpair.
 *
 * The input is a sequence of frames, each a 12-byte header (request,
 * flags, size) and up to size bytes of payload, sent as they are.  Bits
 * 16-19 of flags (which the backend ignores) say how many fds go with the
 * frame (more than 8 is the too-many-fds case): the eventfd, or with bit
 * 20 or for SET_MEM_TABLE the two memfds of guest memory in turn.  Two requests are the frontend's own and are
 * not sent: FE_WRITE (0x80000001: u32 which memfd, u32 offset, then bytes
 * written into guest memory, as a guest driver writes its rings) and
 * FE_KICK (0x80000002: the eventfd is signalled).  The device pops every
 * chain on a kick and pushes it back, so a frontend that sets the rings up
 * reaches the virtqueue code too.  When the backend breaks the
 * connection, the next frame goes to a fresh one (reconnecting).
 *
 * Any input must leave the process whole: no crash, leak, hang or fd
 * leak; replies are read and dropped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost_user.h"
#include "wire.h"

#define FE_WRITE   0x80000001u
#define FE_KICK    0x80000002u
#define MEM_SIZE   0x10000
#define MAX_WATCH  32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct watch {
	int fd;
	vu_watch_cb *cb;
	void *data;
} watches[MAX_WATCH];
static unsigned int nwatches;

static int w_set(void *wo, int fd, unsigned int events, vu_watch_cb *cb, void *data)
{
	for (unsigned int i = 0; i < nwatches; i++) {
		if (watches[i].fd == fd) {
			watches[i] = (struct watch){ fd, cb, data };
			return 0;
		}
	}
	if (nwatches == MAX_WATCH)
		return -ENOMEM;
	watches[nwatches++] = (struct watch){ fd, cb, data };
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

static const struct vu_watch_ops watch_ops = { w_set, w_remove };

static void pump(void)
{
	for (int turn = 0; turn < 256; turn++) {
		struct pollfd p[MAX_WATCH];
		struct watch w[MAX_WATCH];
		unsigned int n = nwatches;

		memcpy(w, watches, sizeof(w[0]) * n);
		for (unsigned int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = w[i].fd, .events = POLLIN };
		if (poll(p, n, 0) <= 0)
			return;
		for (unsigned int i = 0; i < n; i++) {
			bool still = false;

			for (unsigned int k = 0; k < nwatches; k++)
				still |= watches[k].fd == w[i].fd && watches[k].cb == w[i].cb;
			if (p[i].revents && still)
				w[i].cb(w[i].data, w[i].fd, VU_WATCH_IN);
		}
	}
	abort(); /* the backend's fds never went quiet */
}

static int d_get_config(void *opaque, uint32_t offset, uint8_t *buf, uint32_t len)
{
	memset(buf, (int)offset, len);
	return offset & 1 ? -EINVAL : 0;
}

static int d_create(void *opaque, const struct vu_crypto_session_req *req, int64_t *id)
{
	uint8_t sum = 0;

	if (req->key_len > VU_CRYPTO_MAX_KEY || req->auth_key_len > VU_CRYPTO_MAX_AUTH_KEY)
		abort();
	for (uint32_t i = 0; i < req->key_len; i++)
		sum += req->key[i];
	*id = sum;
	return req->cipher_alg == 3 ? 0 : -ENOTSUP;
}

static int d_close(void *opaque, uint64_t id)
{
	return id & 1 ? -ENOENT : 0;
}

static void d_kick(void *opaque, struct vu_virtq *vq)
{
	struct vu_seg segs[64];
	struct vu_elem e = { .segs = segs, .max_segs = 64 };
	int r;

	for (int i = 0; i < 256; i++) {
		r = vu_virtq_pop(vq, &e);
		if (r == 0 || r == -EIO)
			break;
		if (r == 1) {
			for (unsigned int k = 0; k < e.n_out + e.n_in; k++) {
				if (segs[k].len && !segs[k].host)
					abort();
			}
			if (e.n_in) { /* a status byte at the end, as a crypto device writes */
				struct vu_seg *st = &segs[e.n_out + e.n_in - 1];

				if (st->len)
					((uint8_t *)st->host)[st->len - 1] = 0;
			}
		}
		vu_virtq_push(vq, &e, r == 1 ? e.in_len : 0);
	}
	vu_virtq_notify(vq);
}

static void d_mem_changed(void *opaque)
{
	unsigned int n;
	const struct vu_mem_region *r = vu_mem_regions(opaque, &n);

	for (unsigned int i = 0; i < n; i++) {
		if (!r[i].size || !r[i].host)
			abort();
		(void)*(volatile uint8_t *)(r[i].host + r[i].size - 1);
	}
}

static const struct vu_dev_ops dev_ops = {
	.get_config = d_get_config,
	.create_session = d_create,
	.close_session = d_close,
	.queue_kick = d_kick,
	.mem_changed = d_mem_changed,
};

static int memfd[2] = { -1, -1 }, efd = -1;

static void fds_init(void)
{
	if (efd >= 0)
		return;
	for (int i = 0; i < 2; i++) {
		memfd[i] = -1;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0)
		abort();
}

static int connect_dev(struct vu_dev *dev)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (vu_accept_fd(dev, sv[0]))
		abort();
	return sv[1];
}

static void drain(int sock)
{
	uint8_t buf[4096];

	while (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void send_frame(int sock, const uint8_t *frame, size_t len, unsigned int nfds,
		       bool mem)
{
	struct iovec iov = { (void *)frame, len };
	int fds[WIRE_MAX_FDS];

	for (unsigned int i = 0; i < nfds && i < WIRE_MAX_FDS; i++)
		fds[i] = mem ? memfd[i & 1] : efd;
	(void)wire_send(sock, &iov, 1, fds, nfds, MSG_DONTWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vu_dev dev;
	uint64_t one = 1;
	size_t at = 0;
	int sock;

	fds_init();
	/* fresh, zeroed guest memory every run, sealed as QEMU's */
	for (int i = 0; i < 2; i++) {
		if (memfd[i] >= 0)
			close(memfd[i]);
		memfd[i] = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (memfd[i] < 0 || ftruncate(memfd[i], MEM_SIZE) ||
		    fcntl(memfd[i], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
			abort();
	}
	if (vu_init(&dev, 2, &dev_ops, &dev, &watch_ops, NULL))
		abort();
	sock = connect_dev(&dev);
	while (size - at >= 12) {
		uint32_t hdr[3], len;

		memcpy(hdr, data + at, 12);
		len = hdr[2] < size - at - 12 ? hdr[2] : (uint32_t)(size - at - 12);
		if (hdr[0] == FE_WRITE && len >= 8) {
			uint32_t which, off;

			memcpy(&which, data + at + 12, 4);
			memcpy(&off, data + at + 16, 4);
			off %= MEM_SIZE;
			if (len - 8 > MEM_SIZE - off)
				len = 8 + (MEM_SIZE - off);
			if (pwrite(memfd[which & 1], data + at + 20, len - 8, off) < 0)
				abort();
		} else if (hdr[0] == FE_KICK) {
			if (write(efd, &one, sizeof(one)) < 0) {
				/* saturated */
			}
		} else {
			if (!vu_connected(&dev)) {
				close(sock);
				sock = connect_dev(&dev);
			}
			send_frame(sock, data + at, 12 + len, (hdr[1] >> 16) & 0xf,
				   hdr[0] == 5 || (hdr[1] & (1u << 20)));
		}
		at += 12 + len;
		pump();
		drain(sock);
	}
	close(sock);
	pump();
	if (vu_connected(&dev))
		abort(); /* the frontend's close was noticed */
	vu_destroy(&dev);
	if (nwatches)
		abort();
	{
		uint64_t v;

		(void)read(efd, &v, sizeof(v));
	}
	return 0;
}
