// SPDX-License-Identifier: MIT
/*
 * afalg_test - AES-CBC through the Linux kernel's AF_ALG skcipher interface,
 * run inside a Linux guest whose virtio-crypto device serves the requests
 * (tools/linux-guest/, docs/linux-guest.md).  A static Linux user program.
 *
 *   afalg_test [--driver NAME] [--ref NAME] [--seed N] STEP|OPTION...
 *
 * Steps, run in order:
 *   check-driver      /proc/crypto lists the driver with "selftest : passed",
 *                     and the virtio interrupt count grew by at least the
 *                     number of requests made to it (so the device served
 *                     them, not software)
 *   nist              NIST SP 800-38A F.2.1-F.2.6 (CBC-AES128/192/256,
 *                     encrypt and decrypt)
 *   random N          N round trips with random key size, IV and length
 *                     (16 B to 64 KiB): encrypt with the driver, compare with
 *                     the reference (software) driver, decrypt back
 *   bench SECONDS SIZE   throughput with SIZE-byte encrypt requests (MB/s)
 *   loop SECONDS [SIZE [JOBS]]  encrypt and decrypt-verify continuously, a
 *                     progress line every second with the bytes done; JOBS
 *                     processes at once (default 1) keep that many requests
 *                     queued, so the device always has the next one
 *
 * The driver is bound by its driver name (default virtio_crypto_aes_cbc),
 * the reference by "cbc(aes-generic)"; --driver and --ref may come again
 * between steps (e.g. "bench 5 4096 --driver cbc(aes-generic) bench 5 4096"
 * measures the device, then software).  Every step ends with one line
 * "result: ok STEP ..." or "result: FAIL STEP ...".  Exit status: 0 when
 * every step passed, 1 when one failed, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <unistd.h>

#include <linux/if_alg.h>

#ifndef SOL_ALG
#define SOL_ALG 279
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

#define MAX_LEN (64 * 1024)
#define CHECK_REQUESTS 64

static const char *drv_name = "virtio_crypto_aes_cbc";
static const char *ref_name = "cbc(aes-generic)";
static uint64_t dev_requests;  /* requests made to a virtio driver so far */
static uint64_t irq_start;     /* virtio interrupts when the program started */
static uint64_t rng_state;

/* ---- small helpers ------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible from --seed. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static void rnd_fill(uint8_t *p, size_t n)
{
	while (n) {
		uint64_t r = rnd();
		size_t k = n < 8 ? n : 8;

		memcpy(p, &r, k);
		p += k;
		n -= k;
	}
}

static int result(int ok, const char *step, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int result(int ok, const char *step, const char *fmt, ...)
{
	va_list ap;

	printf("result: %s %s ", ok ? "ok" : "FAIL", step);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return ok ? 0 : 1;
}

/* The sum over CPUs of every /proc/interrupts line whose name says virtio. */
static int virtio_irqs(uint64_t *count)
{
	FILE *f = fopen("/proc/interrupts", "r");
	char line[1024];
	uint64_t sum = 0;
	int found = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');
		uint64_t n = 0;

		if (!p || !strstr(line, "virtio"))
			continue;
		p++;
		for (;;) {
			char *end;
			unsigned long long v;

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p < '0' || *p > '9')
				break;
			v = strtoull(p, &end, 10);
			if (end == p || (*end != ' ' && *end != '\t' && *end != '\n'))
				break;
			n += v;
			p = end;
		}
		sum += n;
		found = 1;
	}
	fclose(f);
	*count = sum;
	return found ? 0 : -1;
}

/* ---- AF_ALG -------------------------------------------------------------------------- */

struct cipher {
	const char *name;
	int tfm;  /* the bound socket: holds the key */
	int op;   /* the accepted operation socket, -1 until a key is set */
	int dev;  /* requests count as device requests */
};

static int cipher_open(struct cipher *c, const char *name)
{
	struct sockaddr_alg sa;

	memset(&sa, 0, sizeof(sa));
	sa.salg_family = AF_ALG;
	strcpy((char *)sa.salg_type, "skcipher");
	if (strlen(name) >= sizeof(sa.salg_name)) {
		fprintf(stderr, "afalg_test: %s: name too long\n", name);
		return -1;
	}
	strcpy((char *)sa.salg_name, name);
	c->name = name;
	c->op = -1;
	c->dev = strncmp(name, "virtio", 6) == 0;  /* served by a virtio device */
	c->tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->tfm < 0) {
		fprintf(stderr, "afalg_test: socket(AF_ALG): %s\n", strerror(errno));
		return -1;
	}
	if (bind(c->tfm, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "afalg_test: bind skcipher %s: %s\n", name, strerror(errno));
		close(c->tfm);
		c->tfm = -1;
		return -1;
	}
	return 0;
}

static void cipher_close(struct cipher *c)
{
	if (c->op >= 0)
		close(c->op);
	if (c->tfm >= 0)
		close(c->tfm);
	c->op = c->tfm = -1;
}

/* A key can change only while no operation socket exists. */
static int cipher_setkey(struct cipher *c, const uint8_t *key, size_t len)
{
	if (c->op >= 0) {
		close(c->op);
		c->op = -1;
	}
	if (setsockopt(c->tfm, SOL_ALG, ALG_SET_KEY, key, (socklen_t)len) < 0) {
		fprintf(stderr, "afalg_test: %s: ALG_SET_KEY (%zu bytes): %s\n", c->name, len,
			strerror(errno));
		return -1;
	}
	do
		c->op = accept4(c->tfm, NULL, NULL, SOCK_CLOEXEC);
	while (c->op < 0 && errno == EINTR);
	if (c->op < 0) {
		fprintf(stderr, "afalg_test: %s: accept: %s\n", c->name, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * One request: LEN bytes from IN through the cipher into OUT.  The data
 * goes with MSG_MORE (a send cut short by a signal continues where it
 * stopped), and an empty send without it ends the request; then the
 * result is read until all of it came.
 */
static int cipher_do(struct cipher *c, int enc, const uint8_t iv[16], const uint8_t *in,
		     uint8_t *out, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct af_alg_iv) + 16)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	struct af_alg_iv *aiv;
	size_t off = 0;
	int first = 1;

	memset(&ctl, 0, sizeof(ctl));
	memset(&msg, 0, sizeof(msg));
	msg.msg_control = ctl.buf;
	msg.msg_controllen = sizeof(ctl.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_ALG;
	cm->cmsg_type = ALG_SET_OP;
	cm->cmsg_len = CMSG_LEN(sizeof(uint32_t));
	*(uint32_t *)(void *)CMSG_DATA(cm) = enc ? ALG_OP_ENCRYPT : ALG_OP_DECRYPT;
	cm = CMSG_NXTHDR(&msg, cm);
	cm->cmsg_level = SOL_ALG;
	cm->cmsg_type = ALG_SET_IV;
	cm->cmsg_len = CMSG_LEN(sizeof(struct af_alg_iv) + 16);
	aiv = (struct af_alg_iv *)(void *)CMSG_DATA(cm);
	aiv->ivlen = 16;
	memcpy(aiv->iv, iv, 16);

	while (off < len || first) {
		ssize_t n;

		iov.iov_base = (void *)(in + off);
		iov.iov_len = len - off;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (!first) {
			msg.msg_control = NULL;
			msg.msg_controllen = 0;
		}
		n = sendmsg(c->op, &msg, MSG_MORE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "afalg_test: %s: sendmsg: %s\n", c->name, strerror(errno));
			return -1;
		}
		first = 0;
		off += (size_t)n;
	}
	while (send(c->op, NULL, 0, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "afalg_test: %s: send: %s\n", c->name, strerror(errno));
			return -1;
		}
	}
	off = 0;
	while (off < len) {
		ssize_t n = read(c->op, out + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "afalg_test: %s: read: %s\n", c->name, strerror(errno));
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "afalg_test: %s: read: end of data after %zu of %zu bytes\n",
				c->name, off, len);
			return -1;
		}
		off += (size_t)n;
	}
	if (c->dev)
		dev_requests++;
	return 0;
}

static int hexval(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (s[0] && s[1]) {
		unsigned v;

		if (n == max || sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return (int)n;
}

static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

/* ---- steps --------------------------------------------------------------------------- */

/* The /proc/crypto entry whose driver is NAME: its selftest and priority. */
static int proc_crypto(const char *name, char *selftest, size_t st_len, int *priority)
{
	FILE *f = fopen("/proc/crypto", "r");
	char line[256], st[64] = "", drv[128] = "";
	int prio = -1, found = 0;

	if (!f)
		return -1;
	for (;;) {
		char *r = fgets(line, sizeof(line), f);
		char *v;

		if (!r || line[0] == '\n') {
			if (strcmp(drv, name) == 0) {
				found = 1;
				break;
			}
			drv[0] = st[0] = 0;
			prio = -1;
			if (!r)
				break;
			continue;
		}
		line[strcspn(line, "\n")] = 0;
		v = strchr(line, ':');
		if (!v)
			continue;
		for (v++; *v == ' '; v++)
			;
		if (strncmp(line, "driver", 6) == 0)
			snprintf(drv, sizeof(drv), "%s", v);
		else if (strncmp(line, "selftest", 8) == 0)
			snprintf(st, sizeof(st), "%s", v);
		else if (strncmp(line, "priority", 8) == 0)
			prio = atoi(v);
	}
	fclose(f);
	if (!found)
		return -1;
	snprintf(selftest, st_len, "%s", st);
	*priority = prio;
	return 0;
}

static int step_check_driver(void)
{
	static uint8_t buf[4096], out[4096];
	uint8_t key[16], iv[16];
	char selftest[64];
	int prio, i;
	uint64_t before, after;
	struct cipher c;

	if (proc_crypto(drv_name, selftest, sizeof(selftest), &prio) < 0)
		return result(0, "check-driver", "driver=%s not in /proc/crypto", drv_name);
	printf("check-driver: /proc/crypto: driver %s priority %d selftest %s\n", drv_name, prio,
	       selftest);
	if (strcmp(selftest, "passed") != 0)
		return result(0, "check-driver", "driver=%s selftest=%s", drv_name, selftest);
	if (virtio_irqs(&before) < 0)
		return result(0, "check-driver", "no virtio line in /proc/interrupts");
	if (cipher_open(&c, drv_name) < 0)
		return result(0, "check-driver", "cannot bind %s", drv_name);
	rnd_fill(key, sizeof(key));
	rnd_fill(iv, sizeof(iv));
	rnd_fill(buf, sizeof(buf));
	if (cipher_setkey(&c, key, sizeof(key)) < 0) {
		cipher_close(&c);
		return result(0, "check-driver", "setkey failed");
	}
	for (i = 0; i < CHECK_REQUESTS; i++) {
		if (cipher_do(&c, 1, iv, buf, out, sizeof(buf)) < 0) {
			cipher_close(&c);
			return result(0, "check-driver", "request %d failed", i);
		}
	}
	cipher_close(&c);
	if (virtio_irqs(&after) < 0)
		return result(0, "check-driver", "no virtio line in /proc/interrupts");
	printf("check-driver: %d requests: virtio interrupts %" PRIu64 " -> %" PRIu64
	       "; since start %" PRIu64 " interrupts for %" PRIu64 " requests\n",
	       CHECK_REQUESTS, before, after, after - irq_start, dev_requests);
	if (after - before < CHECK_REQUESTS || after - irq_start < dev_requests)
		return result(0, "check-driver",
			      "driver=%s interrupts=%" PRIu64 " requests=%d (total %" PRIu64
			      " for %" PRIu64 "): the device did not serve them",
			      drv_name, after - before, CHECK_REQUESTS, after - irq_start,
			      dev_requests);
	return result(1, "check-driver", "driver=%s priority=%d selftest=passed interrupts=%" PRIu64
		      " requests=%" PRIu64, drv_name, prio, after - irq_start, dev_requests);
}

/* NIST SP 800-38A, F.2.1 to F.2.6. */
static const char nist_iv[] = "000102030405060708090a0b0c0d0e0f";
static const char nist_pt[] =
	"6bc1bee22e409f96e93d7e117393172a" "ae2d8a571e03ac9c9eb76fac45af8e51"
	"30c81c46a35ce411e5fbc1191a0a52ef" "f69f2445df4f9b17ad2b417be66c3710";
static const struct {
	const char *name, *key, *ct;
} nist_vec[] = {
	{ "CBC-AES128", "2b7e151628aed2a6abf7158809cf4f3c",
	  "7649abac8119b246cee98e9b12e9197d" "5086cb9b507219ee95db113a917678b2"
	  "73bed6b8e3c1743b7116e69e22229516" "3ff1caa1681fac09120eca307586e1a7" },
	{ "CBC-AES192", "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
	  "4f021db243bc633d7178183a9fa071e8" "b4d9ada9ad7dedf4e5e738763f69145a"
	  "571b242012fb7ae07fa9baac3df102e0" "08b0e27988598881d920a9e64f5615cd" },
	{ "CBC-AES256", "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	  "f58c4c04d6e5f1ba779eabfb5f7bfbd6" "9cfc4e967edb808d679f777bc6702c7d"
	  "39f23369a9d9bacfa530e26304231461" "b2eb05e2c39be9fcda6c19078c6a9d1b" },
};

static int step_nist(void)
{
	uint8_t key[32], iv[16], pt[64], ct[64], out[64];
	struct cipher c;
	unsigned i;
	int passed = 0, failed = 0, klen;

	if (cipher_open(&c, drv_name) < 0)
		return result(0, "nist", "cannot bind %s", drv_name);
	hexval(nist_iv, iv, sizeof(iv));
	hexval(nist_pt, pt, sizeof(pt));
	for (i = 0; i < sizeof(nist_vec) / sizeof(nist_vec[0]); i++) {
		int dir;

		klen = hexval(nist_vec[i].key, key, sizeof(key));
		hexval(nist_vec[i].ct, ct, sizeof(ct));
		if (cipher_setkey(&c, key, (size_t)klen) < 0) {
			failed += 2;
			continue;
		}
		for (dir = 1; dir >= 0; dir--) {
			const uint8_t *in = dir ? pt : ct, *want = dir ? ct : pt;
			int ok = cipher_do(&c, dir, iv, in, out, sizeof(out)) == 0 &&
				 memcmp(out, want, sizeof(out)) == 0;

			printf("nist: F.2.%u %s.%s: %s\n", 2 * i + 2 - (unsigned)dir, nist_vec[i].name,
			       dir ? "Encrypt" : "Decrypt", ok ? "ok" : "FAIL");
			if (!ok && memcmp(out, want, sizeof(out)) != 0)
				printf("nist: first difference at byte %zu\n",
				       first_diff(out, want, sizeof(out)));
			if (ok)
				passed++;
			else
				failed++;
		}
	}
	cipher_close(&c);
	return result(!failed, "nist", "driver=%s passed=%d failed=%d", drv_name, passed, failed);
}

static int step_random(long n)
{
	static uint8_t pt[MAX_LEN], ct[MAX_LEN], ref[MAX_LEN], back[MAX_LEN];
	static const int klens[] = { 16, 24, 32 };
	struct cipher c, r;
	uint8_t key[32], iv[16];
	uint64_t irq0, irq1, req0 = dev_requests, bytes = 0;
	long i;
	int irq_ok;
	double t0;

	if (cipher_open(&c, drv_name) < 0)
		return result(0, "random", "cannot bind %s", drv_name);
	if (cipher_open(&r, ref_name) < 0) {
		cipher_close(&c);
		return result(0, "random", "cannot bind %s", ref_name);
	}
	irq_ok = virtio_irqs(&irq0) == 0;
	t0 = now();
	for (i = 0; i < n; i++) {
		int klen = klens[rnd() % 3];
		size_t len = 16 * (1 + (size_t)(rnd() % (MAX_LEN / 16)));
		const char *what = NULL;

		rnd_fill(key, (size_t)klen);
		rnd_fill(iv, sizeof(iv));
		rnd_fill(pt, len);
		if (cipher_setkey(&c, key, (size_t)klen) < 0 || cipher_setkey(&r, key, (size_t)klen) < 0)
			what = "setkey failed";
		else if (cipher_do(&c, 1, iv, pt, ct, len) < 0)
			what = "encrypt failed";
		else if (cipher_do(&r, 1, iv, pt, ref, len) < 0)
			what = "reference encrypt failed";
		else if (memcmp(ct, ref, len) != 0)
			what = "ciphertext differs from the reference";
		else if (cipher_do(&c, 0, iv, ct, back, len) < 0)
			what = "decrypt failed";
		else if (memcmp(back, pt, len) != 0)
			what = "decrypted text differs from the plaintext";
		if (what) {
			printf("random: round %ld (key %d bytes, %zu bytes): %s", i, klen * 8, len, what);
			if (strstr(what, "differs"))
				printf(" at byte %zu", strstr(what, "cipher") ?
				       first_diff(ct, ref, len) : first_diff(back, pt, len));
			printf("\n");
			cipher_close(&c);
			cipher_close(&r);
			return result(0, "random", "driver=%s round=%ld of %ld: %s", drv_name, i, n,
				      what);
		}
		bytes += len;
		if ((i + 1) % 500 == 0) {
			printf("random: %ld rounds, %" PRIu64 " bytes, %.1f s\n", i + 1, bytes,
			       now() - t0);
			fflush(stdout);
		}
	}
	cipher_close(&c);
	cipher_close(&r);
	irq_ok = irq_ok && virtio_irqs(&irq1) == 0;
	return result(1, "random", "driver=%s ref=%s rounds=%ld bytes=%" PRIu64
		      " seconds=%.1f requests=%" PRIu64 " interrupts=%" PRIu64,
		      drv_name, ref_name, n, bytes, now() - t0, dev_requests - req0,
		      irq_ok ? irq1 - irq0 : 0);
}

static int step_bench(double seconds, size_t size)
{
	static uint8_t in[MAX_LEN], out[MAX_LEN], ref[MAX_LEN];
	struct cipher c, r;
	uint8_t key[16], iv[16];
	uint64_t bytes = 0, reqs = 0;
	double t0, t;

	if (size == 0 || size > MAX_LEN || size % 16)
		return result(0, "bench", "size=%zu: must be a multiple of 16 up to %d", size,
			      MAX_LEN);
	if (cipher_open(&c, drv_name) < 0)
		return result(0, "bench", "cannot bind %s", drv_name);
	rnd_fill(key, sizeof(key));
	rnd_fill(iv, sizeof(iv));
	rnd_fill(in, size);
	if (cipher_setkey(&c, key, sizeof(key)) < 0) {
		cipher_close(&c);
		return result(0, "bench", "setkey failed");
	}
	/* The first result is checked against the reference. */
	if (strcmp(drv_name, ref_name) != 0) {
		int bad = cipher_open(&r, ref_name) < 0 || cipher_setkey(&r, key, sizeof(key)) < 0 ||
			  cipher_do(&r, 1, iv, in, ref, size) < 0 ||
			  cipher_do(&c, 1, iv, in, out, size) < 0 || memcmp(out, ref, size) != 0;

		cipher_close(&r);
		if (bad) {
			cipher_close(&c);
			return result(0, "bench", "driver=%s: result differs from %s", drv_name,
				      ref_name);
		}
	}
	t0 = now();
	do {
		if (cipher_do(&c, 1, iv, in, out, size) < 0) {
			cipher_close(&c);
			return result(0, "bench", "driver=%s: request failed", drv_name);
		}
		bytes += size;
		reqs++;
		t = now() - t0;
	} while (t < seconds);
	cipher_close(&c);
	printf("bench: %s %zu-byte requests: %" PRIu64 " requests, %" PRIu64 " bytes in %.2f s, "
	       "%.1f us per request\n", drv_name, size, reqs, bytes, t, t * 1e6 / (double)reqs);
	return result(1, "bench", "driver=%s size=%zu seconds=%.2f requests=%" PRIu64
		      " MB/s=%.1f", drv_name, size, t, reqs, (double)bytes / 1e6 / t);
}

/*
 * One loop; @progress: a line a second; @report: the result line on
 * success (failures always say so); *@done: the bytes done.
 */
static int loop_one(double seconds, size_t size, bool progress, bool report, uint64_t *done)
{
	static uint8_t in[MAX_LEN], out[MAX_LEN], back[MAX_LEN];
	struct cipher c;
	uint8_t key[16], iv[16];
	uint64_t bytes = 0, last_bytes = 0;
	double t0, t, next = 1;

	*done = 0;

	if (size == 0 || size > MAX_LEN || size % 16)
		return result(0, "loop", "size=%zu: must be a multiple of 16 up to %d", size,
			      MAX_LEN);
	if (cipher_open(&c, drv_name) < 0)
		return result(0, "loop", "cannot bind %s", drv_name);
	rnd_fill(key, sizeof(key));
	if (cipher_setkey(&c, key, sizeof(key)) < 0) {
		cipher_close(&c);
		return result(0, "loop", "setkey failed");
	}
	t0 = now();
	for (;;) {
		rnd_fill(iv, sizeof(iv));
		rnd_fill(in, 16);  /* a fresh first block: no two requests alike */
		if (cipher_do(&c, 1, iv, in, out, size) < 0 ||
		    cipher_do(&c, 0, iv, out, back, size) < 0) {
			cipher_close(&c);
			return result(0, "loop", "driver=%s: request failed after %" PRIu64 " bytes",
				      drv_name, bytes);
		}
		if (memcmp(back, in, size) != 0) {
			cipher_close(&c);
			return result(0, "loop", "driver=%s: round trip differs after %" PRIu64
				      " bytes", drv_name, bytes);
		}
		bytes += 2 * size;
		*done = bytes;
		t = now() - t0;
		if (t >= next && progress) {
			printf("loop: %.0f s %" PRIu64 " bytes (%.1f MB/s)\n", next, bytes,
			       (double)(bytes - last_bytes) / 1e6 / (t - next + 1));
			fflush(stdout);
			last_bytes = bytes;
			next += 1;
		}
		if (t >= seconds)
			break;
	}
	cipher_close(&c);
	if (!report)
		return 0;
	return result(1, "loop", "driver=%s size=%zu seconds=%.2f bytes=%" PRIu64 " MB/s=%.1f",
		      drv_name, size, t, bytes, (double)bytes / 1e6 / t);
}

/*
 * loop with @jobs processes: the first prints progress, every one verifies
 * its own round trips; the result adds up their bytes.
 */
static int step_loop(double seconds, size_t size, unsigned int jobs)
{
	int fds[2], status, failed = 0;
	uint64_t bytes = 0, b;
	double t0 = now();

	if (jobs <= 1)
		return loop_one(seconds, size, true, true, &b);
	if (jobs > 64 || pipe(fds))
		return result(0, "loop", "jobs=%u: 1 to 64 processes", jobs);
	fflush(stdout);  /* nothing buffered is printed twice */
	for (unsigned int j = 1; j < jobs; j++) {
		pid_t pid = fork();

		if (pid == 0) {
			int r = loop_one(seconds, size, false, false, &b);

			if (write(fds[1], &b, sizeof(b)) != sizeof(b))
				r = 1;
			_exit(r ? 1 : 0);
		}
		if (pid < 0)
			failed++;
	}
	failed += loop_one(seconds, size, true, false, &b) != 0;
	bytes += b;
	close(fds[1]);
	while (read(fds[0], &b, sizeof(b)) == sizeof(b))
		bytes += b;
	close(fds[0]);
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	if (failed)
		return result(0, "loop", "driver=%s jobs=%u: %d of them failed", drv_name, jobs,
			      failed);
	return result(1, "loop", "driver=%s size=%zu jobs=%u seconds=%.2f bytes=%" PRIu64
		      " MB/s=%.1f", drv_name, size, jobs, now() - t0, bytes,
		      (double)bytes / 1e6 / (now() - t0));
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: afalg_test [--driver NAME] [--ref NAME] [--seed N] STEP|OPTION...\n"
		"steps: check-driver | nist | random N | bench SECONDS SIZE | loop SECONDS [SIZE]\n");
}

static int number(const char *s, double *v)
{
	char *end;
	double d;

	if (!s)
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || d < 0)
		return -1;
	*v = d;
	return 0;
}

static int option(const char *opt, const char *val, uint64_t *seed)
{
	if (strcmp(opt, "--driver") == 0)
		drv_name = val;
	else if (strcmp(opt, "--ref") == 0)
		ref_name = val;
	else if (strcmp(opt, "--seed") == 0 && seed)
		*seed = strtoull(val, NULL, 0);
	else
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	int i, failed = 0;
	uint64_t seed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Options first (--driver, --ref may come again before later steps). */
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (i + 1 >= argc || option(argv[i], argv[i + 1], &seed) < 0) {
			usage();
			return 2;
		}
	}
	if (i >= argc) {
		usage();
		return 2;
	}
	/* Not for keys: GRND_INSECURE does not wait for the guest's entropy
	 * (a second or more after boot under emulation). */
	if (!seed && getrandom(&seed, sizeof(seed), GRND_INSECURE) != sizeof(seed))
		seed = (uint64_t)(now() * 1e9);
	rng_state = seed ? seed : 1;
	if (virtio_irqs(&irq_start) < 0)
		irq_start = 0;
	printf("afalg_test: driver %s, reference %s, seed %" PRIu64 "\n", drv_name, ref_name, seed);

	for (; i < argc; i++) {
		const char *s = argv[i];
		double a, b;

		if (strncmp(s, "--", 2) == 0) {
			if (i + 1 >= argc || option(s, argv[i + 1], NULL) < 0) {
				usage();
				return 2;
			}
			printf("afalg_test: driver %s, reference %s\n", drv_name, ref_name);
			i++;
			continue;
		}
		if (strcmp(s, "check-driver") == 0) {
			failed += step_check_driver();
		} else if (strcmp(s, "nist") == 0) {
			failed += step_nist();
		} else if (strcmp(s, "random") == 0 && number(argv[i + 1], &a) == 0) {
			failed += step_random((long)a);
			i++;
		} else if (strcmp(s, "bench") == 0 && number(argv[i + 1], &a) == 0 &&
			   i + 2 < argc && number(argv[i + 2], &b) == 0) {
			failed += step_bench(a, (size_t)b);
			i += 2;
		} else if (strcmp(s, "loop") == 0 && number(argv[i + 1], &a) == 0) {
			double j = 1;

			b = 4096;
			if (i + 2 < argc && number(argv[i + 2], &b) == 0) {
				i++;
				if (i + 2 < argc && number(argv[i + 2], &j) == 0)
					i++;
			}
			failed += step_loop(a, (size_t)b, (unsigned int)j);
			i++;
		} else {
			fprintf(stderr, "afalg_test: bad step at '%s'\n", s);
			usage();
			return 2;
		}
	}
	return failed ? 1 : 0;
}
