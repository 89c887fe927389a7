// SPDX-License-Identifier: MIT
/*
 * DOC: crypto-hostile - vcoprocd's virtio-crypto backend against hostile
 * vhost-user frontends, beside a well-behaved one
 *
 *   crypto-hostile VCOPROCD CLI CRYPTO.DTB [SECONDS [SEED]]
 *
 * Starts a real vcoprocd (--dtb CRYPTO.DTB) and creates three vhost-user
 * domains through the CLI, each with one vcoproc on crypto0 at weight 256.
 * The test is each domain's frontend itself (no QEMU, no KVM): it speaks
 * vhost-user on the domain's socket and writes the rings in guest memory
 * (one memfd, two regions as QEMU 7.2 lays them out) as Linux's
 * virtio_crypto driver would.
 *
 *   - "good" plays QEMU 7.2's sequence, creates sessions (random keys,
 *     both directions) and keeps a stream of AES-CBC requests in flight for
 *     SECONDS (default 20) - random IVs, lengths and segmentations, direct
 *     and indirect chains - checking every result against OpenSSL's EVP.
 *   - "evil1" and "evil2" meanwhile go through rounds (a seeded PRNG
 *     picks them): framing violations (must close the connection), bad
 *     memory tables and ring set-ups (refused with a non-zero ack, the
 *     connection kept), bad chains (used.len 0, nothing written), a broken
 *     queue (the err eventfd), malformed crypto requests (the exact status
 *     byte: BADMSG 2, NOTSUPP 3, INVSESS 4), unknown, closed and foreign
 *     session ids (a live session of the other evil domain: INVSESS),
 *     sessions closed with requests in flight (OK with the right data, or
 *     INVSESS), disconnects in mid-request and an immediate reconnect, a
 *     request into guest memory the device cannot reach (a region at the
 *     address of the backend's own memory: ERR, then the next request
 *     succeeds), and bursts of valid work checked like good's.
 *
 * Throughout, the control socket must answer (vcoproc-list every 250 ms);
 * at the end good must have had every request verified, none lost, and at
 * least 20% of the device's run time over the window (weights 1:1:1);
 * destroying the domains must leave vcoproc-list empty and vcoprocd must
 * exit 0 on SIGTERM.  Exit status 0 when all held, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "virtq.h"
#include "wire.h"

/* vhost-user requests and flags. */
enum {
	R_GET_FEATURES = 1, R_SET_FEATURES, R_SET_OWNER, R_RESET_OWNER, R_SET_MEM_TABLE,
	R_SET_LOG_BASE, R_SET_LOG_FD, R_SET_VRING_NUM, R_SET_VRING_ADDR, R_SET_VRING_BASE,
	R_GET_VRING_BASE, R_SET_VRING_KICK, R_SET_VRING_CALL, R_SET_VRING_ERR,
	R_GET_PROTOCOL_FEATURES, R_SET_PROTOCOL_FEATURES, R_GET_QUEUE_NUM, R_SET_VRING_ENABLE,
	R_GET_CONFIG = 24, R_CREATE_CRYPTO_SESSION = 26, R_CLOSE_CRYPTO_SESSION,
};
#define F_V1         0x1u
#define F_REPLY      0x4u
#define F_NEED_REPLY 0x8u
#define SESSION_LEN  632u

/* virtio-crypto. */
#define ST_OK      0
#define ST_ERR     1
#define ST_BADMSG  2
#define ST_NOTSUPP 3
#define ST_INVSESS 4
#define HDR_LEN    72u
#define SENTINEL   0xeeu

/*
 * Guest memory, as QEMU 7.2 lays out a small machine: one memfd, region 0
 * gpa 0 .. 0xf0000 at offset 0, region 1 from gpa 0x100000 at offset
 * 0x100000 (each region sent with its own fd); the frontend's address of
 * gpa g is base + g.  Region 1 is 3 GiB, sparse: two of its descriptors
 * can add up past UINT32_MAX.
 */
#define R0_SIZE   0xf0000ull
#define R1_GPA    0x100000ull
#define R1_SIZE   0xc0000000ull
#define MEM_SIZE  (R1_GPA + R1_SIZE)
#define NUM       256u
#define SLOTS     32u
#define SLOT_DESC (NUM / SLOTS)       /* direct descriptors a slot owns */
#define DESC_GPA  0x100000ull
#define AVAIL_GPA 0x101000ull
#define USED_GPA  0x102000ull
#define IND_GPA   0x110000ull         /* + slot * 0x1000: 256 entries */
#define HDR_GPA   0x130000ull         /* + slot * 0x100: header, IV at 0x80, status 0xc0 */
#define HDR0_GPA  0x10000ull          /* the same in region 0 */
#define DATA_GPA  0x200000ull         /* + slot * 0x40000: source, destination at + 0x20000 */
#define AREA      0x20000u
#define MAX_LEN   0x10000u            /* the longest request this test sends */
#define MAX_SEGS  240u
#define DRV_GPA   (1ull << 56)        /* the backend's own memory in the device's view */
#define XSIZE     0x1000000ull        /* a guest region there */

#define NS(s)     ((uint64_t)(s) * 1000000000ull)

/* ---- common ----------------------------------------------------------------------- */

static atomic_bool stop;
static atomic_int failures;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char dir[64], ctl_path[128];
static const char *cli_path;
static bool cli_quiet;
static bool verbose;          /* $CRYPTO_HOSTILE_VERBOSE: each round said */      /* the CLI's errors not shown (the daemon is starting) */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void say(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const char *who, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&log_lock);
	printf("crypto-hostile: %s: ", who);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&log_lock);
}

/* A failed expectation; returns -1 so a round can `return failf(...)`. */
static int failf(const char *who, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(const char *who, const char *fmt, ...)
{
	va_list ap;
	int n = atomic_fetch_add(&failures, 1);

	if (n < 40) {
		pthread_mutex_lock(&log_lock);
		printf("crypto-hostile: %s: FAIL: ", who);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		putchar('\n');
		fflush(stdout);
		pthread_mutex_unlock(&log_lock);
	}
	return -1;
}

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

static void rnd_fill(uint64_t *s, void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd(s);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);  /* little-endian hosts only (x86-64, as vcoprocd) */
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* AES-CBC of @len bytes (a multiple of 16), no padding; 0 or -1. */
static int aes_cbc(const uint8_t *key, uint32_t klen, const uint8_t *iv, bool dec,
		   const uint8_t *in, uint8_t *out, uint32_t len)
{
	const EVP_CIPHER *c = klen == 16 ? EVP_aes_128_cbc() :
			      klen == 24 ? EVP_aes_192_cbc() : EVP_aes_256_cbc();
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int n = 0, m = 0, r = -1;

	if (!x)
		return -1;
	if (EVP_CipherInit_ex(x, c, NULL, key, iv, dec ? 0 : 1) == 1 &&
	    EVP_CIPHER_CTX_set_padding(x, 0) == 1 &&
	    EVP_CipherUpdate(x, out, &n, in, (int)len) == 1 &&
	    EVP_CipherFinal_ex(x, out + n, &m) == 1 && (uint32_t)(n + m) == len)
		r = 0;
	EVP_CIPHER_CTX_free(x);
	return r;
}

/* ---- the control side: the CLI -------------------------------------------------- */

/*
 * Run the CLI with @args (NULL-terminated, after "-S SOCKET"), its
 * standard output in @out; its exit status, or -1 when it could not run
 * or took more than 10 s (then it is killed).
 */
static int cli(char *out, size_t outlen, const char *const *args)
{
	const char *argv[16] = { cli_path, "-S", ctl_path };
	unsigned int n = 3;
	size_t got = 0;
	uint64_t deadline = now_ns() + NS(10);
	int p[2], status;
	pid_t pid;

	for (unsigned int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!pid) {
		dup2(p[1], 1);
		if (cli_quiet) {
			int null = open("/dev/null", O_WRONLY);

			if (null >= 0)
				dup2(null, 2);
		}
		execv(cli_path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ssize_t r;
		char sink[4096];

		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (out && got + 1 < outlen)
			r = read(p[0], out + got, outlen - 1 - got);
		else
			r = read(p[0], sink, sizeof(sink));
		if (r <= 0)
			break;
		if (out && got + 1 < outlen)
			got += (size_t)r;
	}
	close(p[0]);
	if (out && outlen)
		out[got] = 0;
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (now_ns() > deadline)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct listing {
	unsigned int n;
	char name[8][32];
	uint64_t run_ns[8];
};

/* vcoproc-list --json; 0 with @l filled, or -1. */
static int vcoproc_list(struct listing *l)
{
	static char out[1 << 16];
	static const char *const args[] = { "vcoproc-list", "--json", NULL };
	struct json_object *j;
	int r = -1;

	memset(l, 0, sizeof(*l));
	if (cli(out, sizeof(out), args) != 0)
		return -1;
	j = json_tokener_parse(out);
	if (!j)
		return -1;
	if (json_object_is_type(j, json_type_array)) {
		size_t n = json_object_array_length(j);

		for (size_t i = 0; i < n && l->n < 8; i++) {
			struct json_object *v = json_object_array_get_idx(j, i), *d, *s, *rn;

			if (!json_object_object_get_ex(v, "domain", &d) ||
			    !json_object_object_get_ex(v, "stats", &s) ||
			    !json_object_object_get_ex(s, "run_ns", &rn))
				continue;
			snprintf(l->name[l->n], sizeof(l->name[0]), "%s", json_object_get_string(d));
			l->run_ns[l->n++] = json_object_get_uint64(rn);
		}
		r = 0;
	}
	json_object_put(j);
	return r;
}

static uint64_t run_ns_of(const struct listing *l, const char *name)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (!strcmp(l->name[i], name))
			return l->run_ns[i];
	return 0;
}

/* ---- a frontend: the socket, guest memory, the driver's side of the ring ---------- */

struct req {
	bool busy, done;
	uint32_t used_len;
	uint64_t t;               /* when posted */
	/* a valid request to check */
	bool check;
	int sess;                 /* index into fe->sess, -1 none */
	uint32_t len;
	uint8_t *expect;          /* MAX_LEN */
	unsigned int nd;
	uint64_t dst_gpa[MAX_SEGS];
	uint32_t dst_len[MAX_SEGS];
	uint64_t status_gpa;
};

struct session {
	bool live;
	int64_t id;
	bool dec;
	uint8_t key[32];
	uint32_t klen;
	unsigned int busy;
};

struct fe {
	const char *name;
	char path[108];
	uint64_t rng;
	int sock;
	int memfd;
	uint8_t *base;            /* gpa g at base + g */
	int kick, call, err;
	struct vu_desc *desc;
	struct vu_avail *avail;
	struct vu_used *used;
	uint16_t avail_idx, used_seen;
	struct req req[SLOTS];
	struct session sess[8];
	/* counters */
	uint64_t verified, posted, rounds, reconnects;
	uint64_t status_seen[8];
};

static uint8_t *gpa(struct fe *f, uint64_t g)
{
	return f->base + g;
}

static uint64_t uva(struct fe *f, uint64_t g)
{
	return (uint64_t)(uintptr_t)(f->base + g);
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (int i = 0; i < 500; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		close(fd);
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
			return -errno;
		sleep_ms(10);
	}
	return -ETIMEDOUT;
}

static int sendm(int s, uint32_t req, uint32_t flags, const void *p, uint32_t size,
		 const int *fds, unsigned int nfds)
{
	uint32_t hdr[3] = { req, flags, size };
	/* A size over the payload limit is sent as a header alone (framing tests). */
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)p, size > 4096 ? 0 : size } };

	return wire_send(s, iov, p && size && size <= 4096 ? 2 : 1, fds, nfds, 0);
}

/* A reply to @req: its payload size (payload in @buf), -1 none in time, -2 closed, -3 bad. */
static int recvm(int s, uint32_t req, void *buf, uint32_t len, int timeout_ms)
{
	uint32_t h[3];
	struct pollfd p = { .fd = s, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return -1;
	n = recv(s, h, 12, MSG_WAITALL);
	if (n <= 0)
		return -2;
	if (n != 12 || h[0] != req || h[1] != (F_V1 | F_REPLY) || h[2] > len)
		return -3;
	if (h[2] && recv(s, buf, h[2], MSG_WAITALL) != (ssize_t)h[2])
		return -3;
	return (int)h[2];
}

/* Did the backend close @s within @ms?  (What it sent before is read and dropped.) */
static bool closed_by_peer(int s, int ms)
{
	uint64_t deadline = now_ns() + (uint64_t)ms * 1000000ull;
	char b[4096];

	while (now_ns() < deadline) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 50) != 1)
			continue;
		n = recv(s, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
	}
	return false;
}

static int get_u64(struct fe *f, uint32_t req, uint64_t *v)
{
	if (sendm(f->sock, req, F_V1, NULL, 0, NULL, 0) ||
	    recvm(f->sock, req, v, 8, 5000) != 8)
		return -1;
	return 0;
}

/* Send with NEED_REPLY; the ack (0 success), or UINT64_MAX when none came. */
static uint64_t ack(struct fe *f, uint32_t req, const void *p, uint32_t size, const int *fds,
		    unsigned int nfds)
{
	uint64_t v;

	if (sendm(f->sock, req, F_V1 | F_NEED_REPLY, p, size, fds, nfds) ||
	    recvm(f->sock, req, &v, 8, 5000) != 8)
		return UINT64_MAX;
	return v;
}

/* Is the connection alive and in step?  (GET_FEATURES answered.) */
static bool alive(struct fe *f)
{
	uint64_t v = 0;

	return !get_u64(f, R_GET_FEATURES, &v) && (v & (1ull << 30));
}

static __thread uint64_t mt_default[9];

static const uint64_t *mem_table(struct fe *f)
{
	uint64_t m[9] = {
		2, 0, R0_SIZE, uva(f, 0), 0,
		R1_GPA, R1_SIZE, uva(f, R1_GPA), R1_GPA,
	};

	memcpy(mt_default, m, sizeof(m));
	return mt_default;
}

/* The ring's state in guest memory, fresh. */
static void ring_reset(struct fe *f)
{
	memset(gpa(f, DESC_GPA), 0, 0x3000);
	f->desc = (struct vu_desc *)gpa(f, DESC_GPA);
	f->avail = (struct vu_avail *)gpa(f, AVAIL_GPA);
	f->used = (struct vu_used *)gpa(f, USED_GPA);
	f->avail_idx = 0;
	f->used_seen = 0;
	for (unsigned int i = 0; i < SLOTS; i++) {
		f->req[i].busy = false;
		f->req[i].done = false;
	}
	for (unsigned int i = 0; i < 8; i++)
		f->sess[i].live = false;
	/* EVENT_IDX: a notification for every used entry */
	f->avail->ring[NUM] = 0;
}

static int ring_addr(struct fe *f, uint32_t flags_extra, uint64_t d, uint64_t u, uint64_t a)
{
	uint64_t addr[5] = { 0, d, u, a, 0 };

	return sendm(f->sock, R_SET_VRING_ADDR, F_V1 | flags_extra, addr, 40, NULL, 0);
}

/*
 * A new connection to f->path (an older one closed first) that answers
 * GET_FEATURES.  A connection closed at once is retried: the backend
 * serves one frontend at a time, and the old socket may live on for a
 * moment in a CLI child forked by another thread before its exec.
 * 0, or -1 with the reason said.
 */
static int fe_connect(struct fe *f)
{
	uint64_t v = 0;
	int r = -1;

	for (int i = 0; i < 50; i++) {
		if (f->sock >= 0)
			close(f->sock);
		f->sock = connect_to(f->path);
		if (f->sock < 0)
			return failf(f->name, "cannot connect to %s: %s", f->path,
				     strerror(-f->sock));
		if (sendm(f->sock, R_GET_FEATURES, F_V1, NULL, 0, NULL, 0))
			r = -2;
		else
			r = recvm(f->sock, R_GET_FEATURES, &v, 8, 5000);
		if (r != -2)
			break;
		sleep_ms(20);
	}
	if (r != 8)
		return failf(f->name, "GET_FEATURES unanswered (%d)", r);
	/*
	 * Answered: the backend is done with the last connection (its close
	 * was handled first, requests in flight finished or failed, writing
	 * into the ring): the ring may be laid out afresh.
	 */
	ring_reset(f);
	return 0;
}

/*
 * GET_CONFIG: the virtio-crypto config space (virtio 1.2, 5.9.4) says what
 * the device offers: ready, one data queue, the cipher service with
 * AES-CBC, 32-byte keys, 16 MiB per request.  0 or -1.
 */
static int check_config(struct fe *f)
{
	uint8_t msg[12 + 56] = { 0 }, rep[12 + 56];
	uint32_t want[] = { 1, 1, 1u << 0, 1u << 3, 0, 0, 0, 0, 0, 32 }, got;
	uint64_t max;

	put32(msg + 4, 56);
	if (sendm(f->sock, R_GET_CONFIG, F_V1, msg, sizeof(msg), NULL, 0) ||
	    recvm(f->sock, R_GET_CONFIG, rep, sizeof(rep), 5000) != (int)sizeof(rep))
		return failf(f->name, "GET_CONFIG unanswered");
	for (unsigned int i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		memcpy(&got, rep + 12 + 4 * i, 4);
		if (got != want[i])
			return failf(f->name, "config word %u: %u, expected %u", i, got, want[i]);
	}
	memcpy(&max, rep + 12 + 48, 8);
	if (max != 16u << 20)
		return failf(f->name, "config max_size %llu", (unsigned long long)max);
	return 0;
}

/* QEMU 7.2's sequence, start-up and driver load, on a new connection.  0 or -1. */
static int fe_open(struct fe *f)
{
	uint64_t v;
	uint32_t st[2];
	int fds[2];

	if (fe_connect(f))
		return -1;
	if (get_u64(f, R_GET_PROTOCOL_FEATURES, &v) || (v & 0x289) != 0x289)
		return failf(f->name, "GET_PROTOCOL_FEATURES: %#llx", (unsigned long long)v);
	if (check_config(f))
		return -1;
	v = 0x89;
	sendm(f->sock, R_SET_PROTOCOL_FEATURES, F_V1, &v, 8, NULL, 0);
	if (get_u64(f, R_GET_QUEUE_NUM, &v) || v != 1)
		return failf(f->name, "GET_QUEUE_NUM");
	sendm(f->sock, R_SET_OWNER, F_V1, NULL, 0, NULL, 0);
	if (get_u64(f, R_GET_FEATURES, &v))
		return failf(f->name, "GET_FEATURES (2) unanswered");
	v = 0;
	sendm(f->sock, R_SET_VRING_CALL, F_V1, &v, 8, &f->call, 1);
	sendm(f->sock, R_SET_VRING_ERR, F_V1, &v, 8, &f->err, 1);
	v = 1ull << 30;
	sendm(f->sock, R_SET_FEATURES, F_V1, &v, 8, NULL, 0);
	fds[0] = fds[1] = f->memfd;
	if (ack(f, R_SET_MEM_TABLE, mem_table(f), 72, fds, 2) != 0)
		return failf(f->name, "SET_MEM_TABLE refused");
	st[0] = 0;
	st[1] = NUM;
	sendm(f->sock, R_SET_VRING_NUM, F_V1, st, 8, NULL, 0);
	st[1] = 0;
	sendm(f->sock, R_SET_VRING_BASE, F_V1, st, 8, NULL, 0);
	ring_addr(f, 0, uva(f, DESC_GPA), uva(f, USED_GPA), uva(f, AVAIL_GPA));
	v = 0;
	sendm(f->sock, R_SET_VRING_KICK, F_V1, &v, 8, &f->kick, 1);
	sendm(f->sock, R_SET_VRING_CALL, F_V1, &v, 8, &f->call, 1);
	if (!alive(f))
		return failf(f->name, "the connection did not survive QEMU's sequence");
	return 0;
}

/* CREATE_CRYPTO_SESSION: the id (>= 0), or -1. */
static int64_t create_session(struct fe *f, const uint8_t *key, uint32_t klen, bool dec,
			      uint32_t alg)
{
	uint8_t p[SESSION_LEN] = { 0 }, r[SESSION_LEN];
	int64_t id;

	put64(p, UINT64_MAX);
	put32(p + 8, alg);
	put32(p + 12, klen);
	p[32] = 1;                /* cipher */
	p[33] = dec ? 2 : 1;
	memcpy(p + 56, key, klen);
	if (sendm(f->sock, R_CREATE_CRYPTO_SESSION, F_V1, p, SESSION_LEN, NULL, 0) ||
	    recvm(f->sock, R_CREATE_CRYPTO_SESSION, r, sizeof(r), 5000) != (int)SESSION_LEN)
		return INT64_MIN;
	memcpy(&id, r, 8);
	return id;
}

static void close_session(struct fe *f, int64_t id)
{
	sendm(f->sock, R_CLOSE_CRYPTO_SESSION, F_V1, &id, 8, NULL, 0);
}

/* A session into f->sess[i] with a random key; 0 or -1. */
static int new_session(struct fe *f, unsigned int i, bool dec)
{
	struct session *s = &f->sess[i];
	static const uint32_t klens[3] = { 16, 24, 32 };

	s->klen = klens[rnd(&f->rng) % 3];
	rnd_fill(&f->rng, s->key, s->klen);
	s->dec = dec;
	s->busy = 0;
	s->id = create_session(f, s->key, s->klen, dec, 3);
	if (s->id < 0)
		return failf(f->name, "CREATE_CRYPTO_SESSION: %lld", (long long)s->id);
	s->live = true;
	return 0;
}

static void kick(struct fe *f)
{
	uint64_t one = 1;

	if (write(f->kick, &one, 8) != 8)
		failf(f->name, "kick: %s", strerror(errno));
}

static void post(struct fe *f, uint16_t head)
{
	f->avail->ring[f->avail_idx % NUM] = head;
	f->avail_idx++;
	__atomic_store_n(&f->avail->idx, f->avail_idx, __ATOMIC_RELEASE);
}

/* Take the new used entries; each marks its slot done. */
static void reap(struct fe *f)
{
	uint16_t idx = __atomic_load_n(&f->used->idx, __ATOMIC_ACQUIRE);

	while (f->used_seen != idx) {
		struct vu_used_elem u = f->used->ring[f->used_seen % NUM];
		unsigned int slot = u.id / SLOT_DESC;

		if (u.id >= NUM || u.id % SLOT_DESC || slot >= SLOTS || !f->req[slot].busy ||
		    f->req[slot].done)
			failf(f->name, "a used entry for no request in flight: id %u len %u",
			      u.id, u.len);
		else {
			f->req[slot].done = true;
			f->req[slot].used_len = u.len;
		}
		f->used_seen++;
	}
	f->avail->ring[NUM] = f->used_seen;  /* used_event: tell me about the next */
}

/* Wait until slot @s is done (or @ms pass); true if done. */
static bool wait_slot(struct fe *f, unsigned int s, int ms)
{
	uint64_t deadline = now_ns() + (uint64_t)ms * 1000000ull;

	for (;;) {
		struct pollfd p = { .fd = f->call, .events = POLLIN };
		uint64_t v;

		reap(f);
		if (f->req[s].done)
			return true;
		if (now_ns() > deadline)
			return false;
		if (poll(&p, 1, 20) == 1)
			(void)!read(f->call, &v, 8);
	}
}

static int free_slot(struct fe *f)
{
	for (unsigned int i = 0; i < SLOTS; i++)
		if (!f->req[i].busy)
			return (int)i;
	return -1;
}

/* ---- requests --------------------------------------------------------------------- */

/* A chain as descriptors; written direct (at most SLOT_DESC) or as an indirect table. */
struct chain {
	unsigned int n;
	uint64_t addr[MAX_SEGS + 8];
	uint32_t len[MAX_SEGS + 8];
	uint16_t flags[MAX_SEGS + 8];
};

static void chain_add(struct chain *c, uint64_t a, uint32_t len, bool w)
{
	if (c->n < MAX_SEGS + 8) {
		c->addr[c->n] = a;
		c->len[c->n] = len;
		c->flags[c->n++] = w ? VU_DESC_F_WRITE : 0;
	}
}

/* Write @c for slot @s and make it available; direct when @direct and it fits. */
static void chain_post(struct fe *f, unsigned int s, const struct chain *c, bool direct)
{
	uint16_t head = (uint16_t)(s * SLOT_DESC);

	if (direct && c->n <= SLOT_DESC) {
		for (unsigned int i = 0; i < c->n; i++)
			f->desc[head + i] = (struct vu_desc){
				c->addr[i], c->len[i],
				(uint16_t)(c->flags[i] | (i + 1 < c->n ? VU_DESC_F_NEXT : 0)),
				(uint16_t)(i + 1 < c->n ? head + i + 1 : 0),
			};
	} else {
		struct vu_desc *t = (struct vu_desc *)gpa(f, IND_GPA + s * 0x1000ull);

		for (unsigned int i = 0; i < c->n; i++)
			t[i] = (struct vu_desc){
				c->addr[i], c->len[i],
				(uint16_t)(c->flags[i] | (i + 1 < c->n ? VU_DESC_F_NEXT : 0)),
				(uint16_t)(i + 1 < c->n ? i + 1 : 0),
			};
		f->desc[head] = (struct vu_desc){ IND_GPA + s * 0x1000ull, c->n * 16u,
						  VU_DESC_F_INDIRECT, 0 };
	}
	/* the slot's buffer for the expected result is kept for its next request */
	f->req[s] = (struct req){ .busy = true, .t = now_ns(), .sess = -1,
				  .expect = f->req[s].expect };
	f->posted++;
	post(f, head);
}

/* Split [@a, @a + @len) into at most @max random pieces added to @c; gaps when @gaps. */
static uint64_t add_pieces(struct fe *f, struct chain *c, uint64_t a, uint32_t len,
			   unsigned int max, bool w, bool gaps, struct req *r)
{
	unsigned int pieces = 1 + rnd(&f->rng) % max;

	while (len) {
		uint32_t take = pieces <= 1 ? len : 1 + rnd(&f->rng) % len;

		if (pieces > 1 && rnd(&f->rng) % 2)
			take = (take + 15) / 16 * 16 > len ? take : (take + 15) / 16 * 16;
		chain_add(c, a, take, w);
		if (r && r->nd < MAX_SEGS) {
			r->dst_gpa[r->nd] = a;
			r->dst_len[r->nd++] = take;
		}
		a += take + (gaps ? rnd(&f->rng) % 48 : 0);
		len -= take;
		if (pieces > 1)
			pieces--;
	}
	return a;
}

/* What a crypto request says and how it is laid out. */
struct creq {
	uint32_t opcode, algo, op_type, iv_len, src_len, dst_len;
	uint64_t sid;
	uint32_t hdr_len;         /* readable header bytes (72) */
	uint32_t data_len;        /* source bytes in the chain */
	uint32_t dst_space;       /* writable bytes before the status byte */
	bool status;              /* a status byte at all */
	unsigned int pieces;      /* at most this many pieces of source and of destination */
	bool direct;
	uint64_t dst_at;          /* destination elsewhere (0: the slot's) */
};

static void creq_valid(struct fe *f, struct creq *q, const struct session *s, uint32_t len)
{
	*q = (struct creq){
		.opcode = s->dec ? 1 : 0, .op_type = 1, .iv_len = 16, .src_len = len,
		.dst_len = len, .sid = (uint64_t)s->id, .hdr_len = HDR_LEN, .data_len = len,
		.dst_space = len, .status = true, .pieces = 1 + rnd(&f->rng) % 8,
		.direct = rnd(&f->rng) % 4 == 0,
	};
}

/*
 * Lay @q out in slot @s's areas and post it.  With @sess >= 0 the request
 * is one to check: its expected result is computed now.  Returns the
 * writable length (what a refused request's used.len is).
 */
static uint32_t creq_post(struct fe *f, unsigned int s, const struct creq *q, int sess)
{
	bool low = rnd(&f->rng) % 4 == 0, merged = rnd(&f->rng) % 3 == 0;
	uint64_t hdr = (low ? HDR0_GPA : HDR_GPA) + s * 0x100ull;
	uint64_t iv = merged ? hdr + HDR_LEN : hdr + 0x80;
	uint64_t src = DATA_GPA + s * 0x40000ull, dst = q->dst_at ? q->dst_at : src + AREA;
	uint64_t status_gpa = hdr + 0xc0;
	uint8_t *h = gpa(f, hdr), ivb[16];
	static __thread struct chain c;
	static __thread uint8_t plain[MAX_LEN];
	struct req *r;
	uint32_t in_len = 0;
	uint64_t end;

	memset(h, 0, 0xc1);
	put32(h, q->opcode);
	put32(h + 4, q->algo);
	put64(h + 8, q->sid);
	put32(h + 24, q->iv_len);
	put32(h + 28, q->src_len);
	put32(h + 32, q->dst_len);
	put32(h + 64, q->op_type);
	rnd_fill(&f->rng, ivb, 16);
	memcpy(gpa(f, iv), ivb, 16);
	c.n = 0;
	if (merged)
		chain_add(&c, hdr, q->hdr_len + 16, false);
	else {
		chain_add(&c, hdr, q->hdr_len, false);
		chain_add(&c, iv, 16, false);
	}
	end = add_pieces(f, &c, src, q->data_len, q->pieces, false, true, NULL);
	(void)end;
	/* the source bytes, in stream order, from their pieces */
	{
		uint32_t got = 0;

		for (unsigned int i = merged ? 1 : 2; i < c.n; i++) {
			rnd_fill(&f->rng, gpa(f, c.addr[i]), c.len[i]);
			if (got + c.len[i] <= MAX_LEN)
				memcpy(plain + got, gpa(f, c.addr[i]), c.len[i]);
			got += c.len[i];
		}
	}
	r = &f->req[s];
	r->nd = 0;
	if (q->dst_space) {
		/* the destination, plus sometimes the status right after it */
		uint64_t e = add_pieces(f, &c, dst, q->dst_space, q->pieces, true, true, r);

		if (!q->dst_at)
			memset(gpa(f, dst), 0x5c, AREA);
		in_len += q->dst_space;
		if (q->status && !q->dst_at && rnd(&f->rng) % 3 == 0 && c.len[c.n - 1] < 0x10000) {
			status_gpa = c.addr[c.n - 1] + c.len[c.n - 1];
			(void)e;
			c.len[c.n - 1]++;
			in_len++;
		} else if (q->status) {
			chain_add(&c, status_gpa, 1, true);
			in_len++;
		}
	} else if (q->status) {
		chain_add(&c, status_gpa, 1, true);
		in_len++;
	}
	*gpa(f, status_gpa) = SENTINEL;
	chain_post(f, s, &c, q->direct);
	r->status_gpa = q->status ? status_gpa : 0;
	r->sess = sess;
	if (sess >= 0) {
		struct session *ss = &f->sess[sess];

		r->check = true;
		r->len = q->src_len;
		if (!r->expect)
			r->expect = malloc(MAX_LEN);
		if (!r->expect || aes_cbc(ss->key, ss->klen, ivb, ss->dec, plain, r->expect, q->src_len))
			failf(f->name, "EVP failed");
		ss->busy++;
	}
	return in_len;
}

/* The status byte of a done slot. */
static uint8_t slot_status(struct fe *f, unsigned int s)
{
	return f->req[s].status_gpa ? *gpa(f, f->req[s].status_gpa) : SENTINEL;
}

/* Check a done request posted with a session: OK, the right length and bytes.  0 or -1. */
static int verify(struct fe *f, unsigned int s)
{
	struct req *r = &f->req[s];
	uint8_t st = slot_status(f, s);
	uint32_t off = 0;

	if (r->sess >= 0 && f->sess[r->sess].busy)
		f->sess[r->sess].busy--;
	if (st != ST_OK || r->used_len != r->len + 1)
		return failf(f->name, "a valid request of %u bytes: status %u used.len %u", r->len,
			     st, r->used_len);
	for (unsigned int i = 0; i < r->nd && off < r->len; i++) {
		uint32_t n = r->dst_len[i] < r->len - off ? r->dst_len[i] : r->len - off;

		if (memcmp(gpa(f, r->dst_gpa[i]), r->expect + off, n))
			return failf(f->name, "a request of %u bytes: wrong result at byte %u", r->len,
				     off);
		off += n;
	}
	f->verified++;
	return 0;
}

static void release(struct fe *f, unsigned int s)
{
	f->req[s].busy = false;
	f->req[s].done = false;
}

/* ---- good: a well-behaved frontend for the whole test ---------------------------- */

static uint32_t rnd_len(struct fe *f)
{
	switch (rnd(&f->rng) % 4) {
	case 0:
		return 16u * (1 + rnd(&f->rng) % 16);
	case 1:
		return 16u * (1 + rnd(&f->rng) % 256);
	default:
		return 16u * (1 + rnd(&f->rng) % (MAX_LEN / 16));
	}
}

struct good_result {
	uint64_t verified, posted, lost, sessions;
	uint64_t max_wait_ns;
};

static struct fe good_fe, evil_fe[2];
static struct good_result good_res;

static void *good_main(void *arg)
{
	struct fe *f = &good_fe;
	unsigned int inflight = 0;
	uint64_t last_done = now_ns(), rotate = 0;

	(void)arg;
	if (fe_open(f))
		return NULL;
	for (unsigned int i = 0; i < 4; i++)
		if (new_session(f, i, i % 2))
			return NULL;
	good_res.sessions = 4;
	while (!atomic_load(&stop)) {
		struct pollfd p = { .fd = f->call, .events = POLLIN };
		bool posted = false;
		uint64_t v;

		while (inflight < 16) {
			int s = free_slot(f);
			unsigned int k = rnd(&f->rng) % 4;
			struct creq q;

			if (s < 0 || !f->sess[k].live)
				break;
			creq_valid(f, &q, &f->sess[k], rnd_len(f));
			if (rnd(&f->rng) % 8 == 0)
				q.dst_space += 16u * (1 + rnd(&f->rng) % 4);  /* a longer destination */
			creq_post(f, (unsigned int)s, &q, (int)k);
			inflight++;
			posted = true;
		}
		if (posted)
			kick(f);
		if (poll(&p, 1, 20) == 1)
			(void)!read(f->call, &v, 8);
		reap(f);
		for (unsigned int s = 0; s < SLOTS; s++) {
			if (!f->req[s].busy || !f->req[s].done)
				continue;
			verify(f, s);
			release(f, s);
			inflight--;
			last_done = now_ns();
		}
		if (inflight && now_ns() - last_done > good_res.max_wait_ns)
			good_res.max_wait_ns = now_ns() - last_done;
		if (inflight && now_ns() - last_done > NS(15)) {
			failf(f->name, "no completion for 15 s with %u requests in flight", inflight);
			break;
		}
		/* now and then a session goes and another comes, as Linux does */
		if (++rotate % 64 == 0) {
			unsigned int k = rnd(&f->rng) % 4;

			if (f->sess[k].live && !f->sess[k].busy) {
				close_session(f, f->sess[k].id);
				f->sess[k].live = false;
				if (new_session(f, k, k % 2))
					break;
				good_res.sessions++;
			}
		}
	}
	/* what is in flight must come back */
	for (unsigned int s = 0; s < SLOTS; s++) {
		if (!f->req[s].busy)
			continue;
		if (!wait_slot(f, s, 10000)) {
			good_res.lost++;
			failf(f->name, "a request was never completed");
			continue;
		}
		verify(f, s);
		release(f, s);
	}
	good_res.verified = f->verified;
	good_res.posted = f->posted;
	return NULL;
}

/* ---- evil: the rounds ------------------------------------------------------------- */

/* Foreign sessions: what each evil domain has live (id), for the other to try. */
static pthread_mutex_t foreign_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t foreign_id[2] = { -1, -1 };

struct round_stats {
	uint64_t n[32];
	uint64_t status[8];       /* status bytes observed on refused requests */
	uint64_t bad_chains, framing, refused, faults, foreign, closed_in_flight, reconnects;
	uint64_t valid;
};

static struct round_stats evil_stats[2];

/* Post @q on slot 0 and wait: status byte and used.len; -1 when it did not come back. */
static int one(struct fe *f, const struct creq *q, uint8_t *st, uint32_t *used_len,
	       uint32_t *in_len)
{
	uint32_t il = creq_post(f, 0, q, -1);

	kick(f);
	if (!wait_slot(f, 0, 10000))
		return failf(f->name, "a request never came back");
	*st = slot_status(f, 0);
	*used_len = f->req[0].used_len;
	if (in_len)
		*in_len = il;
	release(f, 0);
	return 0;
}

/* A malformed but well-framed request must come back with @want and used.len = writable. */
static int expect_status(struct fe *f, struct round_stats *rs, const struct creq *q,
			 uint8_t want, const char *what)
{
	uint8_t st;
	uint32_t ul, il;

	if (one(f, q, &st, &ul, &il))
		return -1;
	if (st < 8)
		rs->status[st]++;
	if (st != want || ul != il)
		return failf(f->name, "%s: status %u used.len %u, expected status %u used.len %u",
			     what, st, ul, want, il);
	return 0;
}

/* A valid request on slot 0, checked. */
static int expect_ok(struct fe *f, int sess, uint32_t len, const char *what)
{
	struct creq q;

	creq_valid(f, &q, &f->sess[sess], len);
	creq_post(f, 0, &q, sess);
	kick(f);
	if (!wait_slot(f, 0, 10000))
		return failf(f->name, "%s: a valid request never came back", what);
	if (verify(f, 0))
		return failf(f->name, "%s: the valid request failed", what);
	release(f, 0);
	return 0;
}

static int round_framing(struct fe *f, struct round_stats *rs)
{
	int s, efd = f->kick, fds[9];
	uint64_t v = 0, big[9] = { 2 };
	uint32_t which = rnd(&f->rng) % 10;
	static const char *const what[] = {
		"version 2", "the REPLY flag", "a 5000-byte payload", "GET_FEATURES with 8 bytes",
		"SET_MEM_TABLE with 1 fd for 2 regions", "SET_OWNER with an fd", "9 fds",
		"KICK with an fd and NOFD", "CREATE_CRYPTO_SESSION of 100 bytes",
		"GET_VRING_BASE of queue 9",
	};

	/* alone: a second frontend would be closed for being second */
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	s = connect_to(f->path);

	if (s < 0)
		return failf(f->name, "connect: %s", strerror(-s));
	for (int i = 0; i < 9; i++)
		fds[i] = efd;
	switch (which) {
	case 0: sendm(s, R_GET_FEATURES, 0x2, NULL, 0, NULL, 0); break;
	case 1: sendm(s, R_GET_FEATURES, F_V1 | F_REPLY, NULL, 0, NULL, 0); break;
	case 2: sendm(s, R_SET_FEATURES, F_V1, NULL, 5000, NULL, 0); break;
	case 3: sendm(s, R_GET_FEATURES, F_V1, &v, 8, NULL, 0); break;
	case 4: sendm(s, R_SET_MEM_TABLE, F_V1, big, 72, &f->memfd, 1); break;
	case 5: sendm(s, R_SET_OWNER, F_V1, NULL, 0, &efd, 1); break;
	case 6: sendm(s, R_SET_VRING_CALL, F_V1, &v, 8, fds, 9); break;
	case 7: v = 0x100; sendm(s, R_SET_VRING_KICK, F_V1, &v, 8, &efd, 1); break;
	case 8: sendm(s, R_CREATE_CRYPTO_SESSION, F_V1, big, 72, NULL, 0); break;
	case 9: { uint32_t st[2] = { 9, 0 }; sendm(s, R_GET_VRING_BASE, F_V1, st, 8, NULL, 0); } break;
	}
	if (!closed_by_peer(s, 3000)) {
		close(s);
		return failf(f->name, "framing violation (%s): the connection stayed", what[which]);
	}
	close(s);
	rs->framing++;
	/* half a message, then a close: only the next frontend must be served */
	s = connect_to(f->path);
	if (s >= 0) {
		uint32_t h[3] = { R_SET_MEM_TABLE, F_V1 | F_NEED_REPLY, 72 };

		(void)!send(s, h, 12, MSG_NOSIGNAL);
		(void)!send(s, big, rnd(&f->rng) % 72, MSG_NOSIGNAL);
		close(s);
	}
	return 0;
}

static int round_memtable(struct fe *f, struct round_stats *rs)
{
	int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC), p[2] = { -1, -1 }, r = 0;
	int fds[2] = { f->memfd, f->memfd };
	const uint64_t *ok;
	uint64_t m[9];

	if (fe_open(f))
		goto out;
	ok = mem_table(f);
	if (nullfd < 0 || pipe2(p, O_CLOEXEC)) {
		r = failf(f->name, "set-up: %s", strerror(errno));
		goto out;
	}
	for (unsigned int k = 0; k < 9; k++) {
		static const char *const what[] = {
			"regions overlapping in gpa", "regions overlapping in uva", "a zero-size region",
			"a huge mmap_offset", "mmap_offset + size past the file", "a gpa that wraps",
			"an eventfd", "/dev/null", "a pipe",
		};
		int bad[2] = { f->memfd, f->memfd };
		uint64_t a;

		memcpy(m, ok, sizeof(m));
		switch (k) {
		case 0: m[5] = 0x80000; break;
		case 1: m[7] = uva(f, 0x80000); break;
		case 2: m[6] = 0; break;
		case 3: m[8] = 1ull << 62; break;
		case 4: m[8] = R1_GPA + 0x1000; break;
		case 5: m[5] = UINT64_MAX - 0x1000; break;
		case 6: bad[1] = f->kick; break;
		case 7: bad[1] = nullfd; break;
		case 8: bad[1] = p[0]; break;
		}
		a = ack(f, R_SET_MEM_TABLE, m, 72, bad, 2);
		if (a == 0 || a == UINT64_MAX) {
			r = failf(f->name, "SET_MEM_TABLE with %s: ack %#llx", what[k],
				  (unsigned long long)a);
			goto out;
		}
		rs->refused++;
	}
	/* the old table stayed: a valid request still works */
	if (new_session(f, 0, rnd(&f->rng) % 2) || expect_ok(f, 0, rnd_len(f), "after bad tables"))
		r = -1;
	(void)fds;
out:
	if (nullfd >= 0)
		close(nullfd);
	if (p[0] >= 0) {
		close(p[0]);
		close(p[1]);
	}
	return r;
}

static int round_ringsetup(struct fe *f, struct round_stats *rs)
{
	uint64_t v = 0;
	uint32_t st[2];
	int fds[2] = { f->memfd, f->memfd };

	if (fe_connect(f))
		return -1;
	if (ack(f, R_SET_MEM_TABLE, mem_table(f), 72, fds, 2) != 0)
		return failf(f->name, "SET_MEM_TABLE refused");
	for (unsigned int k = 0; k < 10; k++) {
		static const char *const what[] = {
			"NUM 0", "NUM 3", "NUM 65536", "NUM of queue 7", "BASE 0x10000",
			"ADDR misaligned", "ADDR outside memory", "KICK with a memfd",
			"KICK before the ring has an address", "ADDR with a read-only... used in region 0 end",
		};
		uint64_t a = UINT64_MAX;

		st[0] = 0;
		switch (k) {
		case 0: st[1] = 0; a = ack(f, R_SET_VRING_NUM, st, 8, NULL, 0); break;
		case 1: st[1] = 3; a = ack(f, R_SET_VRING_NUM, st, 8, NULL, 0); break;
		case 2: st[1] = 65536; a = ack(f, R_SET_VRING_NUM, st, 8, NULL, 0); break;
		case 3: st[0] = 7; st[1] = 16; a = ack(f, R_SET_VRING_NUM, st, 8, NULL, 0); break;
		case 4: st[1] = 0x10000; a = ack(f, R_SET_VRING_BASE, st, 8, NULL, 0); break;
		case 5:
			st[1] = NUM;
			sendm(f->sock, R_SET_VRING_NUM, F_V1, st, 8, NULL, 0);
			ring_addr(f, F_NEED_REPLY, uva(f, DESC_GPA) + 8, uva(f, USED_GPA),
				  uva(f, AVAIL_GPA));
			a = recvm(f->sock, R_SET_VRING_ADDR, &v, 8, 5000) == 8 ? v : UINT64_MAX;
			break;
		case 6:
			ring_addr(f, F_NEED_REPLY, 0x10000000000ull, uva(f, USED_GPA),
				  uva(f, AVAIL_GPA));
			a = recvm(f->sock, R_SET_VRING_ADDR, &v, 8, 5000) == 8 ? v : UINT64_MAX;
			break;
		case 7:
			ring_addr(f, 0, uva(f, DESC_GPA), uva(f, USED_GPA), uva(f, AVAIL_GPA));
			v = 0;
			a = ack(f, R_SET_VRING_KICK, &v, 8, &f->memfd, 1);
			break;
		case 8:
			/* the used ring straddling the end of region 0 */
			ring_addr(f, F_NEED_REPLY, uva(f, DESC_GPA), uva(f, R0_SIZE - 0x800),
				  uva(f, AVAIL_GPA));
			a = recvm(f->sock, R_SET_VRING_ADDR, &v, 8, 5000) == 8 ? v : UINT64_MAX;
			break;
		case 9:
			v = 0x300;  /* NOFD and a reserved bit */
			a = ack(f, R_SET_VRING_CALL, &v, 8, NULL, 0);
			break;
		}
		(void)what;
		if (a == 0 || a == UINT64_MAX)
			return failf(f->name, "ring set-up %u: ack %#llx", k, (unsigned long long)a);
		rs->refused++;
	}
	if (!alive(f))
		return failf(f->name, "the connection went after refused ring set-ups");
	/* then a correct set-up on a fresh connection serves */
	if (fe_open(f) || new_session(f, 0, false) || expect_ok(f, 0, 64, "after bad ring set-ups"))
		return -1;
	return 0;
}

/* A raw chain in slot 0's descriptors/table; it must come back with used.len 0. */
static int round_badchains(struct fe *f, struct round_stats *rs)
{
	uint8_t *stb = gpa(f, HDR_GPA + 0xc0);
	struct vu_desc *t = (struct vu_desc *)gpa(f, IND_GPA);
	struct vu_desc *t2 = (struct vu_desc *)gpa(f, IND_GPA + 0x800);

	if (fe_open(f) || new_session(f, 0, false))
		return -1;
	for (unsigned int k = 0; k < 9; k++) {
		static const char *const what[] = {
			"a descriptor loop", "indirect in indirect", "a buffer outside memory",
			"lengths over UINT32_MAX", "readable after writable", "next out of range",
			"an indirect table of 20 bytes", "INDIRECT with NEXT",
			"a buffer past the end of region 0",
		};
		struct vu_desc *d = f->desc;
		uint64_t h = HDR_GPA;

		*stb = SENTINEL;
		memset(t, 0, 0x1000);
		switch (k) {
		case 0:
			d[0] = (struct vu_desc){ h, 72, VU_DESC_F_NEXT, 1 };
			d[1] = (struct vu_desc){ h + 0x80, 16, VU_DESC_F_NEXT, 0 };
			break;
		case 1:
			d[0] = (struct vu_desc){ IND_GPA, 32, VU_DESC_F_INDIRECT, 0 };
			t[0] = (struct vu_desc){ h, 72, VU_DESC_F_NEXT, 1 };
			t[1] = (struct vu_desc){ IND_GPA + 0x800, 32, VU_DESC_F_INDIRECT, 0 };
			t2[0] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE, 0 };
			break;
		case 2:
			d[0] = (struct vu_desc){ 0x7f0000000000ull, 4096, VU_DESC_F_NEXT, 1 };
			d[1] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE, 0 };
			break;
		case 3:
			d[0] = (struct vu_desc){ h, 72, VU_DESC_F_NEXT, 1 };
			d[1] = (struct vu_desc){ R1_GPA + 0x10000000, 0xb0000000u, VU_DESC_F_NEXT, 2 };
			d[2] = (struct vu_desc){ R1_GPA + 0x10000000, 0xb0000000u, VU_DESC_F_NEXT, 3 };
			d[3] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE, 0 };
			break;
		case 4:
			d[0] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE | VU_DESC_F_NEXT, 1 };
			d[1] = (struct vu_desc){ h, 72, 0, 0 };
			break;
		case 5:
			d[0] = (struct vu_desc){ h, 72, VU_DESC_F_NEXT, 300 };
			break;
		case 6:
			d[0] = (struct vu_desc){ IND_GPA, 20, VU_DESC_F_INDIRECT, 0 };
			t[0] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE, 0 };
			break;
		case 7:
			d[0] = (struct vu_desc){ IND_GPA, 16, VU_DESC_F_INDIRECT | VU_DESC_F_NEXT, 1 };
			t[0] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE, 0 };
			d[1] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE, 0 };
			break;
		case 8:
			d[0] = (struct vu_desc){ R0_SIZE - 0x10, 0x20, VU_DESC_F_NEXT, 1 };
			d[1] = (struct vu_desc){ h + 0xc0, 1, VU_DESC_F_WRITE, 0 };
			break;
		}
		f->req[0] = (struct req){ .busy = true, .sess = -1, .expect = f->req[0].expect };
		post(f, 0);
		kick(f);
		if (!wait_slot(f, 0, 5000))
			return failf(f->name, "bad chain (%s): never came back", what[k]);
		if (f->req[0].used_len != 0 || *stb != SENTINEL)
			return failf(f->name, "bad chain (%s): used.len %u, status byte %#x",
				     what[k], f->req[0].used_len, *stb);
		release(f, 0);
		rs->bad_chains++;
	}
	/* the queue goes on */
	return expect_ok(f, 0, 16u * (1 + rnd(&f->rng) % 64), "after bad chains");
}

static int round_broken(struct fe *f, struct round_stats *rs)
{
	uint64_t v;
	struct pollfd p = { .fd = f->err, .events = POLLIN };

	if (fe_open(f))
		return -1;
	while (read(f->err, &v, 8) == 8)
		;
	f->avail->ring[f->avail_idx % NUM] = 999;  /* no such head */
	f->avail_idx++;
	__atomic_store_n(&f->avail->idx, f->avail_idx, __ATOMIC_RELEASE);
	kick(f);
	if (poll(&p, 1, 3000) != 1)
		return failf(f->name, "a head index >= the ring size: the err eventfd stayed quiet");
	(void)!read(f->err, &v, 8);
	if (__atomic_load_n(&f->used->idx, __ATOMIC_ACQUIRE) != 0)
		return failf(f->name, "a broken queue wrote a used entry");
	rs->bad_chains++;
	/* a reconnect mends it */
	if (fe_open(f) || new_session(f, 0, true) || expect_ok(f, 0, 4096, "after a broken queue"))
		return -1;
	rs->reconnects++;
	return 0;
}

/*
 * A flood of bad chains for 3 s: the ring kept full of the same bad head
 * (INDIRECT with NEXT) the moment the backend gives entries back.  The
 * daemon must keep serving everyone else meanwhile (the control socket's
 * answers are timed throughout) and this connection afterwards.
 */
static int round_flood(struct fe *f, struct round_stats *rs)
{
	uint64_t end = now_ns() + 3000000000ull;

	if (fe_open(f))
		return -1;
	f->desc[0] = (struct vu_desc){ HDR_GPA, 72, VU_DESC_F_INDIRECT | VU_DESC_F_NEXT, 1 };
	while (now_ns() < end) {
		uint16_t used = __atomic_load_n(&f->used->idx, __ATOMIC_ACQUIRE);

		while ((uint16_t)(f->avail_idx - used) < NUM) {
			f->avail->ring[f->avail_idx % NUM] = 0;
			f->avail_idx++;
		}
		__atomic_store_n(&f->avail->idx, f->avail_idx, __ATOMIC_RELEASE);
		kick(f);
		rs->bad_chains++;
	}
	if (fe_open(f) || new_session(f, 0, true) || expect_ok(f, 0, 4096, "after a flood"))
		return -1;
	rs->reconnects++;
	return 0;
}

static int round_malformed(struct fe *f, struct round_stats *rs)
{
	struct creq q;
	int64_t dead;

	if (fe_open(f) || new_session(f, 0, false) || new_session(f, 1, true))
		return -1;
	for (unsigned int k = 0; k < 14; k++) {
		const struct session *s = &f->sess[k % 2];
		uint8_t want = ST_BADMSG;
		const char *what = "";

		creq_valid(f, &q, s, 16u * (1 + rnd(&f->rng) % 64));
		switch (k) {
		case 0: q.hdr_len = 40; q.data_len = 0; q.pieces = 1; what = "a short header"; break;
		case 1: q.opcode = 0x0102; want = ST_NOTSUPP; what = "a hash opcode"; break;
		case 2: q.opcode = 7; want = ST_NOTSUPP; what = "opcode 7"; break;
		case 3: q.algo = 5; want = ST_NOTSUPP; what = "algorithm 5"; break;
		case 4: q.op_type = 2; want = ST_NOTSUPP; what = "an algorithm chain"; break;
		case 5: q.dst_len = q.src_len + 16; q.dst_space = q.dst_len; what = "src != dst"; break;
		case 6:
			q.src_len = q.dst_len = q.src_len + 8;
			q.data_len = q.dst_space = q.src_len;
			what = "a length not a multiple of 16";
			break;
		case 7: q.iv_len = 8; what = "iv_len 8"; break;
		case 8: q.iv_len = 32; what = "iv_len 32"; break;
		case 9: q.data_len = q.src_len - 16; what = "src_len beyond the chain"; break;
		case 10: q.dst_space = q.dst_len - 16; what = "a destination shorter than dst_len"; break;
		case 11:
			q.sid = 0x7fffffff00ull + (rnd(&f->rng) % 100);
			want = ST_INVSESS;
			what = "an unknown session";
			break;
		case 12:
			q.src_len = q.dst_len = 0x1000010;
			want = ST_BADMSG;
			what = "src_len over the device's maximum";
			break;
		case 13: {
			/* no status byte at all: given back with nothing written */
			uint8_t st;
			uint32_t ul;

			q.dst_space = 0;
			q.status = false;
			if (one(f, &q, &st, &ul, NULL))
				return -1;
			if (ul != 0)
				return failf(f->name, "a request without a status byte: used.len %u", ul);
			rs->bad_chains++;
			continue;
		}
		}
		if (expect_status(f, rs, &q, want, what))
			return -1;
	}
	/* a closed session is unknown from then on */
	dead = f->sess[1].id;
	close_session(f, dead);
	f->sess[1].live = false;
	creq_valid(f, &q, &f->sess[1], 32);
	q.sid = (uint64_t)dead;
	if (!alive(f) || expect_status(f, rs, &q, ST_INVSESS, "a closed session"))
		return -1;
	/* a session that is not AES-CBC is refused (id -1) */
	{
		uint8_t key[16] = { 0 };

		if (create_session(f, key, 16, false, 4) != -1)
			return failf(f->name, "a session for cipher 4 was not refused");
	}
	return expect_ok(f, 0, 16u * (1 + rnd(&f->rng) % 256), "after malformed requests");
}

/* The other evil domain's live session ids must mean nothing here. */
static int round_foreign(struct fe *f, struct round_stats *rs, unsigned int me)
{
	struct creq q;
	int64_t other, mine[6];
	bool collide = false;

	if (fe_open(f))
		return -1;
	for (unsigned int i = 0; i < 6; i++) {
		if (new_session(f, i, i % 2))
			return -1;
		mine[i] = f->sess[i].id;
	}
	pthread_mutex_lock(&foreign_lock);
	foreign_id[me] = mine[5];
	other = foreign_id[!me];
	pthread_mutex_unlock(&foreign_lock);
	if (other < 0)
		return 0;
	for (unsigned int i = 0; i < 6; i++)
		collide |= mine[i] == other;
	if (!collide) {
		creq_valid(f, &q, &f->sess[0], 16u * (1 + rnd(&f->rng) % 64));
		q.sid = (uint64_t)other;
		if (expect_status(f, rs, &q, ST_INVSESS, "a foreign session"))
			return -1;
		rs->foreign++;
	}
	/* keep these live a while, for the other to try */
	for (int i = 0; i < 10 && !atomic_load(&stop); i++) {
		if (expect_ok(f, i % 6, 16u * (1 + rnd(&f->rng) % 64), "beside foreign ids"))
			return -1;
	}
	return 0;
}

/* Requests in flight when their session closes: OK with the right bytes, or INVSESS. */
static int round_close_in_flight(struct fe *f, struct round_stats *rs)
{
	unsigned int n = 8 + rnd(&f->rng) % 8, ok = 0, inv = 0;

	if (fe_open(f) || new_session(f, 0, rnd(&f->rng) % 2))
		return -1;
	for (unsigned int s = 0; s < n; s++) {
		struct creq q;

		creq_valid(f, &q, &f->sess[0], 16u * (256 + rnd(&f->rng) % 768));
		creq_post(f, s, &q, 0);
	}
	kick(f);
	close_session(f, f->sess[0].id);
	for (unsigned int s = 0; s < n; s++) {
		uint8_t st;

		if (!wait_slot(f, s, 15000))
			return failf(f->name, "closing a session in flight: a request never came back");
		st = slot_status(f, s);
		if (st == ST_INVSESS && f->req[s].used_len == f->req[s].len + 1)
			inv++;
		else if (verify(f, s))
			return failf(f->name, "closing a session in flight: status %u", st);
		else
			ok++;
		release(f, s);
	}
	rs->closed_in_flight++;
	rs->status[ST_INVSESS] += inv;
	/* and the id is gone */
	{
		struct creq q;

		creq_valid(f, &q, &f->sess[0], 16);
		if (expect_status(f, rs, &q, ST_INVSESS, "a session closed in flight, used after"))
			return -1;
	}
	(void)ok;
	return 0;
}

/* Requests in flight, the socket closed, a new connection at once. */
static int round_disconnect(struct fe *f, struct round_stats *rs)
{
	unsigned int n = 4 + rnd(&f->rng) % 12;
	int64_t old;

	if (fe_open(f) || new_session(f, 0, false))
		return -1;
	old = f->sess[0].id;
	for (unsigned int s = 0; s < n; s++) {
		struct creq q;

		creq_valid(f, &q, &f->sess[0], 16u * (256 + rnd(&f->rng) % 3840));
		creq_post(f, s, &q, 0);
	}
	kick(f);
	if (rnd(&f->rng) % 2)
		sleep_ms(rnd(&f->rng) % 5);
	if (fe_open(f) || new_session(f, 0, true))
		return -1;
	rs->reconnects++;
	if (f->sess[0].id == old)
		return failf(f->name, "a session id came back after a reconnect");
	{
		struct creq q;

		creq_valid(f, &q, &f->sess[0], 32);
		q.sid = (uint64_t)old;
		if (expect_status(f, rs, &q, ST_INVSESS, "a session of the old connection"))
			return -1;
	}
	return expect_ok(f, 0, 16u * (1 + rnd(&f->rng) % 1024), "after a reconnect");
}

/*
 * A third region at the address of the backend's own memory in the
 * device's view: the chain is fine (it lies in guest memory), the device
 * must not reach it - a DMA fault, ERR, the context reset - and the next
 * request must succeed.
 */
static int round_fault(struct fe *f, struct round_stats *rs)
{
	int xfd = memfd_create("extra", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int fds[3] = { f->memfd, f->memfd, xfd };
	uint8_t *x = MAP_FAILED;
	uint64_t m[13];
	struct creq q;
	int r = -1;

	if (xfd < 0 || ftruncate(xfd, XSIZE) ||
	    fcntl(xfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		return failf(f->name, "memfd: %s", strerror(errno));
	x = mmap(NULL, XSIZE, PROT_READ | PROT_WRITE, MAP_SHARED, xfd, 0);
	if (x == MAP_FAILED) {
		failf(f->name, "mmap: %s", strerror(errno));
		goto out;
	}
	if (fe_open(f))
		goto out;
	memcpy(m, mem_table(f), 72);
	m[0] = 3;
	m[9] = DRV_GPA;
	m[10] = XSIZE;
	m[11] = (uint64_t)(uintptr_t)x;
	m[12] = 0;
	if (ack(f, R_SET_MEM_TABLE, m, sizeof(m), fds, 3) != 0) {
		failf(f->name, "a table with a region at %#llx refused", (unsigned long long)DRV_GPA);
		goto out;
	}
	if (new_session(f, 0, false) || new_session(f, 1, true))
		goto out;
	for (unsigned int k = 0; k < 3; k++) {
		uint8_t want = ST_ERR;
		uint8_t st;
		uint32_t ul, il;

		creq_valid(f, &q, &f->sess[k % 2], 16u * (1 + rnd(&f->rng) % 64));
		q.pieces = 1;
		/* inside the backend's memory (refused), then past it (the device faults) */
		q.dst_at = DRV_GPA + (k == 0 ? 0x8000 : k == 1 ? 0x800000 : 0xfff000);
		memset(x + (q.dst_at - DRV_GPA), 0x77, 0x1000);
		if (one(f, &q, &st, &ul, &il))
			goto out;
		if (st < 8)
			rs->status[st]++;
		if (st != want || ul != il) {
			failf(f->name, "a destination the device cannot reach (%#llx): status %u "
			      "used.len %u, expected %u and %u", (unsigned long long)q.dst_at, st, ul,
			      want, il);
			goto out;
		}
		rs->faults++;
		if (expect_ok(f, k % 2, 16u * (1 + rnd(&f->rng) % 256), "after a device fault"))
			goto out;
	}
	r = 0;
out:
	if (x != MAP_FAILED)
		munmap(x, XSIZE);
	close(xfd);
	return r;
}

/* Valid work: 16 requests kept in flight for a while, every result checked. */
static int round_valid(struct fe *f, struct round_stats *rs)
{
	uint64_t until = now_ns() + NS(1) + rnd(&f->rng) % 1000000000u, drain = until + NS(20);
	unsigned int inflight = 0;

	if (fe_open(f))
		return -1;
	for (unsigned int i = 0; i < 4; i++)
		if (new_session(f, i, i % 2))
			return -1;
	while (now_ns() < until || inflight) {
		struct pollfd p = { .fd = f->call, .events = POLLIN };
		uint64_t v;

		while (now_ns() < until && inflight < 16 && !atomic_load(&stop)) {
			int s = free_slot(f);
			unsigned int k = rnd(&f->rng) % 4;
			struct creq q;

			if (s < 0)
				break;
			creq_valid(f, &q, &f->sess[k], rnd_len(f));
			creq_post(f, (unsigned int)s, &q, (int)k);
			inflight++;
			kick(f);
		}
		if (poll(&p, 1, 50) == 1)
			(void)!read(f->call, &v, 8);
		reap(f);
		for (unsigned int s = 0; s < SLOTS; s++) {
			if (!f->req[s].busy || !f->req[s].done)
				continue;
			if (verify(f, s))
				return -1;
			release(f, s);
			inflight--;
			rs->valid++;
		}
		if (now_ns() > drain)
			return failf(f->name, "valid work never finished");
		if (atomic_load(&stop))
			until = 0;
	}
	return 0;
}

enum { RD_FRAMING, RD_MEMTABLE, RD_RINGSETUP, RD_BADCHAINS, RD_BROKEN, RD_MALFORMED,
       RD_FOREIGN, RD_CLOSE, RD_DISCONNECT, RD_FAULT, RD_VALID, RD_FLOOD, RD_N };
static const char *const round_names[RD_N] = {
	"framing", "memory tables", "ring set-ups", "bad chains", "broken queue",
	"malformed requests", "foreign sessions", "close in flight", "disconnect",
	"device fault", "valid work", "flood",
};

static void *evil_main(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	struct fe *f = &evil_fe[me];
	struct round_stats *rs = &evil_stats[me];

	for (unsigned int i = 0; !atomic_load(&stop); i++) {
		/* every kind once first, then at random */
		unsigned int k = i < RD_N ? (i + me * 5) % RD_N : rnd(&f->rng) % RD_N;
		int r;

		if (verbose)
			say(f->name, "round %u: %s", i, round_names[k]);
		switch (k) {
		case RD_FRAMING: r = round_framing(f, rs); break;
		case RD_MEMTABLE: r = round_memtable(f, rs); break;
		case RD_RINGSETUP: r = round_ringsetup(f, rs); break;
		case RD_BADCHAINS: r = round_badchains(f, rs); break;
		case RD_BROKEN: r = round_broken(f, rs); break;
		case RD_MALFORMED: r = round_malformed(f, rs); break;
		case RD_FOREIGN: r = round_foreign(f, rs, me); break;
		case RD_CLOSE: r = round_close_in_flight(f, rs); break;
		case RD_DISCONNECT: r = round_disconnect(f, rs); break;
		case RD_FAULT: r = round_fault(f, rs); break;
		case RD_FLOOD: r = round_flood(f, rs); break;
		default: r = round_valid(f, rs); break;
		}
		rs->n[k]++;
		if (r)
			say(f->name, "round %u (%s) failed", i, round_names[k]);
		/* now and then, a disconnect without a word */
		if (f->sock >= 0 && rnd(&f->rng) % 3 == 0) {
			close(f->sock);
			f->sock = -1;
		}
		if (atomic_load(&failures) > 40)
			break;
	}
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	return NULL;
}

/* ---- main -------------------------------------------------------------------------- */

static int fe_setup(struct fe *f, const char *name, uint64_t seed)
{
	memset(f, 0, sizeof(*f));
	f->name = name;
	f->sock = -1;
	f->rng = seed ? seed : 1;
	snprintf(f->path, sizeof(f->path), "%s/%s.sock", dir, name);
	f->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (f->memfd < 0 || ftruncate(f->memfd, (off_t)MEM_SIZE) ||
	    fcntl(f->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		return -1;
	f->base = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		       f->memfd, 0);
	f->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->err = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->base == MAP_FAILED || f->kick < 0 || f->call < 0 || f->err < 0)
		return -1;
	return 0;
}

static int write_domain(const char *name, char *path, size_t len)
{
	FILE *fp;

	snprintf(path, len, "%s/%s.cfg", dir, name);
	fp = fopen(path, "w");
	if (!fp)
		return -1;
	fprintf(fp, "name = \"%s\"\ntype = \"vhost-user\"\n"
		"virtio = [ \"type=crypto,socket=%s/%s.sock\" ]\n"
		"vcoproc = [ \"crypto0,weight=256\" ]\n", name, dir, name);
	return fclose(fp) ? -1 : 0;
}

static pid_t daemon_pid;

static void show_console(const char *name)
{
	static char out[1 << 20];
	const char *args[] = { "console", name, "--no-follow", NULL };

	if (cli(out, sizeof(out), args) == 0) {
		size_t n = strlen(out);
		const char *tail = n > 4000 ? out + n - 4000 : out;
		char path[160];
		FILE *fp;

		printf("---- console of %s (tail) ----\n%s\n", name, tail);
		snprintf(path, sizeof(path), "%s/%s.console", dir, name);
		fp = fopen(path, "w");
		if (fp) {
			fputs(out, fp);
			fclose(fp);
		}
	}
}

int main(int argc, char **argv)
{
	static const char *const names[3] = { "good", "evil1", "evil2" };
	unsigned int seconds = argc > 4 ? (unsigned int)atoi(argv[4]) : 20;
	uint64_t seed = argc > 5 ? strtoull(argv[5], NULL, 0) : 0x5eed0fc0ffeeull;
	pthread_t tg, te[2];
	struct listing l0, l1, l;
	uint64_t t0, t1, lists = 0, worst_list = 0;
	int status, rc = 1;
	double share, busy;
	pid_t parent;

	if (argc < 4) {
		fprintf(stderr, "usage: %s VCOPROCD CLI CRYPTO.DTB [SECONDS [SEED]]\n", argv[0]);
		return 2;
	}
	cli_path = argv[2];
	verbose = getenv("CRYPTO_HOSTILE_VERBOSE") != NULL;
	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof(dir), "/tmp/crypto-hostile-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(ctl_path, sizeof(ctl_path), "%s/ctl.sock", dir);
	parent = getpid();
	daemon_pid = fork();
	if (daemon_pid < 0)
		return 1;
	if (!daemon_pid) {
		char log[128];
		int fd;

		/* The daemon goes with this test whatever ends it (a crash included). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(127);
		snprintf(log, sizeof(log), "%s/vcoprocd.log", dir);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(argv[1], argv[1], "--dtb", argv[3], "--socket", ctl_path, "--no-echo",
		      (char *)NULL);
		_exit(127);
	}
	cli_quiet = true;
	for (int i = 0; i < 500 && vcoproc_list(&l); i++)
		sleep_ms(20);
	cli_quiet = false;
	if (vcoproc_list(&l)) {
		failf("main", "vcoprocd does not answer on %s", ctl_path);
		goto out_kill;
	}
	for (unsigned int i = 0; i < 3; i++) {
		char path[128];
		const char *args[] = { "create", path, NULL };

		if (write_domain(names[i], path, sizeof(path)) || cli(NULL, 0, args) != 0) {
			failf("main", "vcoproc create %s failed", path);
			goto out_kill;
		}
	}
	if (fe_setup(&good_fe, "good", seed) || fe_setup(&evil_fe[0], "evil1", seed * 3 + 1) ||
	    fe_setup(&evil_fe[1], "evil2", seed * 7 + 2)) {
		failf("main", "guest memory: %s", strerror(errno));
		goto out_kill;
	}
	say("main", "vcoprocd pid %d, domains good, evil1, evil2; %u s, seed %#llx",
	    (int)daemon_pid, seconds, (unsigned long long)seed);
	if (pthread_create(&tg, NULL, good_main, NULL))
		goto out_kill;
	sleep_ms(300);
	if (vcoproc_list(&l0)) {
		failf("main", "vcoproc-list failed");
	}
	t0 = now_ns();
	for (unsigned int i = 0; i < 2; i++)
		if (pthread_create(&te[i], NULL, evil_main, (void *)(uintptr_t)i))
			goto out_kill;
	while (now_ns() - t0 < NS(seconds) && atomic_load(&failures) <= 40) {
		uint64_t a = now_ns();

		sleep_ms(250);
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			failf("main", "vcoprocd exited during the test (status %#x)", status);
			daemon_pid = 0;
			break;
		}
		a = now_ns();
		if (vcoproc_list(&l))
			failf("main", "the control socket did not answer vcoproc-list");
		lists++;
		if (now_ns() - a > worst_list)
			worst_list = now_ns() - a;
	}
	if (vcoproc_list(&l1))
		failf("main", "vcoproc-list failed");
	t1 = now_ns();
	atomic_store(&stop, true);
	pthread_join(te[0], NULL);
	pthread_join(te[1], NULL);
	pthread_join(tg, NULL);

	/* the share of the device good had over the window */
	{
		uint64_t g = run_ns_of(&l1, "good") - run_ns_of(&l0, "good");
		uint64_t e1 = run_ns_of(&l1, "evil1") - run_ns_of(&l0, "evil1");
		uint64_t e2 = run_ns_of(&l1, "evil2") - run_ns_of(&l0, "evil2");

		share = g + e1 + e2 ? (double)g / (double)(g + e1 + e2) : 0;
		busy = (double)g / (double)(t1 - t0);
		say("main", "run time over %.1f s: good %.2f s, evil1 %.2f s, evil2 %.2f s: good's "
		    "share %.1f%% of the device's work, %.1f%% of the window",
		    (double)(t1 - t0) / 1e9, g / 1e9, e1 / 1e9, e2 / 1e9, 100 * share, 100 * busy);
		if (share <= 0.20 || busy <= 0.20)
			failf("main", "good was starved: %.1f%% of the work, %.1f%% of the window",
			      100 * share, 100 * busy);
	}
	say("good", "%llu requests verified of %llu posted, %llu lost, %llu sessions, longest "
	    "wait for a completion %.1f ms", (unsigned long long)good_res.verified,
	    (unsigned long long)good_res.posted, (unsigned long long)good_res.lost,
	    (unsigned long long)good_res.sessions, good_res.max_wait_ns / 1e6);
	if (!good_res.verified || good_res.verified != good_res.posted)
		failf("good", "%llu of %llu requests verified", (unsigned long long)good_res.verified,
		      (unsigned long long)good_res.posted);
	for (unsigned int i = 0; i < 2; i++) {
		struct round_stats *rs = &evil_stats[i];
		char line[512];
		size_t n = 0;

		for (unsigned int k = 0; k < RD_N; k++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %llu", k ? ", " : "",
					      round_names[k], (unsigned long long)rs->n[k]);
		say(evil_fe[i].name, "rounds: %s", line);
		say(evil_fe[i].name, "framing breaks %llu, refused requests %llu, bad chains %llu, "
		    "status ERR %llu BADMSG %llu NOTSUPP %llu INVSESS %llu, device faults %llu, "
		    "foreign ids %llu, closes in flight %llu, reconnects %llu, valid verified %llu",
		    (unsigned long long)rs->framing, (unsigned long long)rs->refused,
		    (unsigned long long)rs->bad_chains, (unsigned long long)rs->status[ST_ERR],
		    (unsigned long long)rs->status[ST_BADMSG],
		    (unsigned long long)rs->status[ST_NOTSUPP],
		    (unsigned long long)rs->status[ST_INVSESS], (unsigned long long)rs->faults,
		    (unsigned long long)rs->foreign, (unsigned long long)rs->closed_in_flight,
		    (unsigned long long)rs->reconnects, (unsigned long long)evil_fe[i].verified);
		for (unsigned int k = 0; k < RD_N; k++)
			if (!rs->n[k])
				failf(evil_fe[i].name, "no %s round ran", round_names[k]);
	}
	if (!evil_stats[0].foreign && !evil_stats[1].foreign)
		failf("main", "no foreign session id was tried");
	say("main", "control socket: %llu vcoproc-list calls answered, the slowest in %.1f ms",
	    (unsigned long long)lists, worst_list / 1e6);
	/* Nothing the evil frontends do holds the daemon's loop (a CLI start included). */
	if (worst_list > 1500000000.0)
		failf("main", "the control socket took %.1f ms to answer", worst_list / 1e6);
	if (atomic_load(&failures))
		for (unsigned int i = 0; i < 3; i++)
			show_console(names[i]);

	/* the end: destroy, nothing left, SIGTERM, exit 0 */
	for (unsigned int i = 0; i < 3; i++) {
		const char *args[] = { "destroy", names[i], NULL };

		if (cli(NULL, 0, args) != 0)
			failf("main", "vcoproc destroy %s failed", names[i]);
	}
	if (vcoproc_list(&l) || l.n)
		failf("main", "vcoproc-list after destroying the domains: %u left", l.n);
	if (daemon_pid > 0) {
		uint64_t deadline = now_ns() + NS(10);

		kill(daemon_pid, SIGTERM);
		while (waitpid(daemon_pid, &status, WNOHANG) != daemon_pid) {
			if (now_ns() > deadline) {
				failf("main", "vcoprocd did not exit on SIGTERM");
				kill(daemon_pid, SIGKILL);
				waitpid(daemon_pid, &status, 0);
				break;
			}
			sleep_ms(20);
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			failf("main", "vcoprocd ended with status %#x on SIGTERM", status);
		daemon_pid = 0;
	}
	rc = atomic_load(&failures) ? 1 : 0;
	say("main", "%s", rc ? "FAILED" : "passed");
	goto out;

out_kill:
	atomic_store(&stop, true);
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, &status, 0);
	}
out:
	if (!rc) {
		char p[160];

		for (unsigned int i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/%s.cfg", dir, names[i]);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/vcoprocd.log", dir);
		unlink(p);
		rmdir(dir);
	} else {
		printf("crypto-hostile: the daemon's log and the domain files are in %s\n", dir);
	}
	return rc;
}
