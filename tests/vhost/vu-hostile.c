// SPDX-License-Identifier: MIT
/*
 * vu-hostile: a hostile vhost-user frontend against the backend library
 * over a real listening socket, across processes.
 *
 *   vu-hostile [ROUNDS [SEED]]
 *
 * A child process serves the library on a Unix socket from a poll() loop,
 * as an owner would, with a device that pops every chain and pushes it
 * back.  The parent connects ROUNDS times (default 400) and each time
 * misbehaves differently, from a seeded PRNG: random bytes; well-framed
 * headers with random requests, flags, sizes and payloads, with random fds
 * (eventfds, memfds, /dev/null, none, too many); QEMU 7.2's sequence with
 * one byte flipped; half a message and a close; a correct set-up followed
 * by random descriptor tables and kicks.  Then it connects once more and
 * must find the backend whole: QEMU's sequence answered, a request
 * completed.  Finally the child destroys the device and must find every fd
 * it received closed.  Exit status 0 when all held.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>

#include "vhost_user.h"
#include "wire.h"

#define MEM_SIZE 0x10000
#define MAX_WATCH 32

static void die(const char *what)
{
	fprintf(stderr, "vu-hostile: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- the child: an owner with a poll() loop -------------------------------------- */

static struct { int fd; vu_watch_cb *cb; void *data; } watches[MAX_WATCH];
static unsigned int nwatches;

static int w_set(void *wo, int fd, unsigned int ev, vu_watch_cb *cb, void *data)
{
	for (unsigned int i = 0; i < nwatches; i++) {
		if (watches[i].fd == fd) {
			watches[i].cb = cb;
			watches[i].data = data;
			return 0;
		}
	}
	if (nwatches == MAX_WATCH)
		return -ENOMEM;
	watches[nwatches].fd = fd;
	watches[nwatches].cb = cb;
	watches[nwatches++].data = data;
	return 0;
}

static void w_remove(void *wo, int fd)
{
	for (unsigned int i = 0; i < nwatches; i++)
		if (watches[i].fd == fd)
			watches[i] = watches[--nwatches];
}

static void d_kick(void *opaque, struct vu_virtq *vq)
{
	struct vu_seg segs[64];
	struct vu_elem e = { .segs = segs, .max_segs = 64 };
	int r;

	while ((r = vu_virtq_pop(vq, &e)) != 0 && r != -EIO) {
		if (r == 1 && e.n_in && segs[e.n_out + e.n_in - 1].len)
			((uint8_t *)segs[e.n_out + e.n_in - 1].host)[0] = 0x5a;
		vu_virtq_push(vq, &e, r == 1 ? e.in_len : 0);
	}
	vu_virtq_notify(vq);
}

static int d_create(void *opaque, const struct vu_crypto_session_req *req, int64_t *id)
{
	*id = 7;
	return 0;
}

static int d_close(void *opaque, uint64_t id)
{
	return 0;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static int child(const char *path, int quit_fd)
{
	static const struct vu_dev_ops ops = {
		.queue_kick = d_kick, .create_session = d_create, .close_session = d_close,
	};
	static const struct vu_watch_ops wops = { w_set, w_remove };
	static struct vu_dev dev;
	int fds_before = count_fds();

	if (vu_init(&dev, 1, &ops, NULL, &wops, NULL) || vu_listen(&dev, path))
		return 2;
	for (;;) {
		struct pollfd p[MAX_WATCH + 1];
		unsigned int n = nwatches;
		int fds[MAX_WATCH];

		for (unsigned int i = 0; i < n; i++) {
			fds[i] = watches[i].fd;
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		}
		p[n] = (struct pollfd){ .fd = quit_fd, .events = POLLIN };
		if (poll(p, n + 1, -1) < 0 && errno != EINTR)
			return 2;
		if (p[n].revents)
			break;
		for (unsigned int i = 0; i < n; i++) {
			if (!p[i].revents)
				continue;
			for (unsigned int k = 0; k < nwatches; k++) {
				if (watches[k].fd == fds[i]) {
					watches[k].cb(watches[k].data, fds[i], VU_WATCH_IN);
					break;
				}
			}
		}
	}
	vu_destroy(&dev);
	if (nwatches || count_fds() != fds_before) {
		fprintf(stderr, "vu-hostile: %u watches and %d fds left (%d before)\n", nwatches,
			count_fds(), fds_before);
		return 3;
	}
	return 0;
}

/* ---- the parent: the hostile frontend -------------------------------------------- */

static uint64_t rng;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

static int memfd[2], efd, nullfd;
static uint8_t *guest; /* memfd 1: gpa 0x100000 .. */

static int conn(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0)
		die("socket");
	for (int i = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)); i++) {
		if (i == 500 || (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN))
			die("connect");
		usleep(10000); /* the backend is starting */
	}
	return fd;
}

static void sendm(int s, uint32_t req, uint32_t flags, const void *p, uint32_t size,
		  const int *fds, unsigned int nfds)
{
	uint32_t hdr[3] = { req, flags, size };
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)p, size } };

	(void)wire_send(s, iov, size ? 2 : 1, fds, nfds, 0);
}

/* A reply's payload size (payload in @buf), or -1. */
static int recvm(int s, uint32_t req, void *buf, uint32_t len)
{
	uint32_t h[3];
	struct pollfd p = { .fd = s, .events = POLLIN };

	if (poll(&p, 1, 2000) != 1 || recv(s, h, 12, MSG_WAITALL) != 12 || h[0] != req ||
	    h[1] != 5 || h[2] > len)
		return -1;
	if (h[2] && recv(s, buf, h[2], MSG_WAITALL) != (ssize_t)h[2])
		return -1;
	return (int)h[2];
}

/* QEMU 7.2's sequence into @out (frames back to back); returns its length. */
static size_t qemu_sequence(uint8_t *out)
{
	size_t n = 0;
	uint64_t v;
	uint32_t st[2];
	uint64_t mt[9] = { 2, 0, MEM_SIZE, 0x400000, 0, 0x100000, MEM_SIZE, 0x500000, 0 };
	uint64_t addr[5] = { 0, 0x500000, 0x500200, 0x500100, 0 };
#define FRAME(r, f, p, s) do { uint32_t h_[3] = { r, f, s }; memcpy(out + n, h_, 12); \
	memcpy(out + n + 12, p, s); n += 12 + s; } while (0)

	v = 0x89;
	FRAME(16, 1, &v, 8);
	FRAME(3, 1, &v, 0);
	v = 1ull << 30;
	FRAME(2, 1, &v, 8);
	FRAME(5, 9, mt, sizeof(mt));
	st[0] = 0;
	st[1] = 16;
	FRAME(8, 1, st, 8);
	st[1] = 0;
	FRAME(10, 1, st, 8);
	FRAME(9, 1, addr, 40);
	v = 0;
	FRAME(12, 1, &v, 8);
	FRAME(13, 1, &v, 8);
	return n;
#undef FRAME
}

/* Send the sequence's frames one by one, with the fds each takes. */
static void send_sequence(int s, const uint8_t *seq, size_t len)
{
	for (size_t at = 0; at + 12 <= len;) {
		uint32_t h[3];
		int fds[2] = { memfd[0], memfd[1] };
		unsigned int nfds = 0;

		memcpy(h, seq + at, 12);
		if (h[2] > len - at - 12)
			h[2] = (uint32_t)(len - at - 12);
		if (h[0] == 5)
			nfds = 2;
		else if (h[0] == 12 || h[0] == 13) {
			fds[0] = efd;
			nfds = 1;
		}
		sendm(s, h[0], h[1], seq + at + 12, h[2], fds, nfds);
		at += 12 + h[2];
	}
}

static void drain(int s)
{
	uint8_t b[4096];

	while (recv(s, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
}

static void hostile_round(const char *path)
{
	int s = conn(path);
	uint8_t buf[8192], seq[1024];
	int fds[12];
	size_t n;

	switch (rnd() % 5) {
	case 0: /* random bytes */
		n = rnd() % sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd();
		(void)send(s, buf, n, MSG_NOSIGNAL);
		break;
	case 1: /* framed, random contents and fds */
		for (int k = 0; k < 16; k++) {
			uint32_t req = rnd() % 32, size = rnd() % 700, nfds = rnd() % 11;

			for (uint32_t i = 0; i < size; i++)
				buf[i] = (uint8_t)rnd();
			for (uint32_t i = 0; i < nfds; i++) {
				int pick[4] = { efd, memfd[0], memfd[1], nullfd };

				fds[i] = pick[rnd() % 4];
			}
			sendm(s, req, 1 | (rnd() % 2 ? 8 : 0), buf, size, fds, nfds);
		}
		break;
	case 2: /* QEMU's sequence with one byte flipped */
		n = qemu_sequence(seq);
		seq[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8));
		send_sequence(s, seq, n);
		break;
	case 3: { /* half a message */
		uint32_t h[3] = { 5, 9, 72 };

		(void)send(s, h, 12, MSG_NOSIGNAL);
		(void)send(s, buf, rnd() % 72, MSG_NOSIGNAL);
		break;
	}
	case 4: /* a correct set-up, then random rings and kicks */
		n = qemu_sequence(seq);
		send_sequence(s, seq, n);
		for (int k = 0; k < 8; k++) {
			for (int i = 0; i < 0x300; i++)
				guest[rnd() % 0x1000] = (uint8_t)rnd();
			if (write(efd, &(uint64_t){ 1 }, 8) != 8)
				die("kick");
			usleep(200);
		}
		break;
	}
	usleep(rnd() % 500);
	drain(s);
	close(s);
}

static int final_check(const char *path)
{
	int s = conn(path);
	uint8_t seq[1024];
	uint64_t v = 0;
	struct vu_desc *d = (struct vu_desc *)guest;
	uint16_t *avail = (uint16_t *)(guest + 0x100);
	uint16_t *used = (uint16_t *)(guest + 0x200);
	size_t n;

	memset(guest, 0, MEM_SIZE);
	sendm(s, 1, 1, NULL, 0, NULL, 0);
	if (recvm(s, 1, &v, 8) != 8 || v != 0x170000000ull)
		return fprintf(stderr, "vu-hostile: GET_FEATURES after the rounds\n"), 1;
	n = qemu_sequence(seq);
	send_sequence(s, seq, n);
	if (recvm(s, 5, &v, 8) != 8 || v != 0)
		return fprintf(stderr, "vu-hostile: SET_MEM_TABLE after the rounds\n"), 1;
	d[0] = (struct vu_desc){ 0x101000, 72, VU_DESC_F_NEXT, 1 };
	d[1] = (struct vu_desc){ 0x101100, 1, VU_DESC_F_WRITE, 0 };
	avail[2] = 0;
	__atomic_store_n(&avail[1], 1, __ATOMIC_RELEASE);
	if (write(efd, &(uint64_t){ 1 }, 8) != 8)
		die("kick");
	for (int i = 0; i < 200 && __atomic_load_n(&used[1], __ATOMIC_ACQUIRE) != 1; i++)
		usleep(10000);
	if (used[1] != 1 || guest[0x1100] != 0x5a)
		return fprintf(stderr, "vu-hostile: the request was not completed\n"), 1;
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 400;
	char path[108];
	int qp[2], status, r;
	pid_t pid;

	rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x9e3779b97f4a7c15ull;
	if (!rng)
		rng = 1;
	snprintf(path, sizeof(path), "/tmp/vu-hostile-%d.sock", (int)getpid());
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < 2; i++) {
		memfd[i] = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (memfd[i] < 0 || ftruncate(memfd[i], MEM_SIZE) ||
		    fcntl(memfd[i], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
			die("memfd");
	}
	guest = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd[1], 0);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (guest == MAP_FAILED || efd < 0 || nullfd < 0 || pipe2(qp, O_CLOEXEC))
		die("set-up");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		close(qp[1]);
		_exit(child(path, qp[0]));
	}
	close(qp[0]);
	for (int i = 0; i < rounds; i++)
		hostile_round(path);
	r = final_check(path);
	close(qp[1]); /* the child's loop ends */
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	unlink(path);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "vu-hostile: the backend %s %d\n",
			WIFEXITED(status) ? "exited with" : "died of signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return 1;
	}
	if (!r)
		printf("vu-hostile: %d hostile connections, the backend whole after them\n", rounds);
	return r;
}
