// SPDX-License-Identifier: MIT
/*
 * DOC: mixed - long non-preemptible commands among short ones
 *
 * Keeps @bufs jobs in flight on simcp, each closed by a FENCE that
 * interrupts.  Every @ratio-th job is long: LOAD 64 random bytes into the
 * device's scratch memory, a COMPUTE of @long flagged SIMCP_F_NOPREEMPT
 * over them (the device refuses to be stopped during it: the scheduler
 * must cope with refusals), and STORE the 64 bytes back.  The others are
 * short: a CRC-32C HASH of 256 random bytes.
 *
 * Every result is checked in the guest: a short one with the software
 * CRC-32C, a long one by redoing COMPUTE's mixing on the 64 input bytes
 * (docs/simcp.md) - which also proves the scratch memory was this
 * domain's own through every context switch between the LOAD and the
 * STORE.  The time from queuing a short job to seeing it complete is kept,
 * and its percentiles printed: how long short work waits behind long
 * non-preemptible work, this domain's and others'.
 *
 * Command line: seconds=DUR (default: the host's --seconds), long=DUR
 * (1ms; keep it within vcoprocd's --max-nonpreempt), ratio=N (4), bufs=N
 * (8, at most 32).  Marks BUSY once jobs are queued and DONE when it
 * stops submitting.
 *
 * Prints "result: mixed ok jobs=N long=N short=N short_p50=..us ..." and
 * passes, or "result: mixed FAIL ..." and fails.
 */
#include "cp.h"
#include "rt.h"
#include "softhash.h"

#define MAX_BUFS 32
#define LONG_LEN 64
#define SHORT_LEN 256
#define MAX_SAMPLES 65536ull
#define WAIT_NS 5000000000ull

struct job {
	uint8_t *in;              /* SHORT_LEN bytes (a long job uses LONG_LEN) */
	uint8_t *out;             /* LONG_LEN bytes the device writes */
	uint64_t fence;
	uint64_t t_submit;
	bool is_long;
};

static struct {
	struct cp cp;
	struct job job[MAX_BUFS];
	uint64_t long_ns, ratio, bufs, rng, seq;
	uint64_t jobs, nlong, nshort, bad, printed;
	uint64_t *lat, nlat;
} M;

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* COMPUTE's transformation of @len (a multiple of 8) bytes, in place. */
static void compute_ref(uint8_t *p, uint32_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;

	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = mix64(h ^ w);
		memcpy(p + i, &h, 8);
	}
}

static void fill_random(uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i += 8) {
		uint64_t v = rand__next(&M.rng);

		memcpy(p + i, &v, MIN((uint64_t)8, len - i));
	}
}

/* Queue job @j (interrupts off: all or nothing).  0 or a SIMCP_DRV_E* code. */
static int job_submit(struct job *j)
{
	uint64_t deadline = clock__ns() + WAIT_NS;
	struct simcp_cmd cmd[3];
	unsigned int n = 0;
	bool irqs;
	int r = 0;

	j->is_long = ++M.seq % M.ratio == 0;
	fill_random(j->in, j->is_long ? LONG_LEN : SHORT_LEN);
	memset(j->out, 0, LONG_LEN);
	if (j->is_long) {
		cmd[n++] = (struct simcp_cmd){ .op = SIMCP_OP_LOAD, .len = LONG_LEN,
					       .a = virt_to_phys(j->in), .b = 0 };
		cmd[n++] = (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE, .flags = SIMCP_F_NOPREEMPT,
					       .len = LONG_LEN, .a = M.long_ns };
		cmd[n++] = (struct simcp_cmd){ .op = SIMCP_OP_STORE, .len = LONG_LEN, .a = 0,
					       .b = virt_to_phys(j->out) };
	} else {
		cmd[n++] = (struct simcp_cmd){ .op = SIMCP_OP_HASH, .arg = SIMCP_HASH_CRC32C,
					       .len = SHORT_LEN, .a = virt_to_phys(j->in),
					       .b = virt_to_phys(j->out) };
	}
	irqs = irq_save();
	for (unsigned int i = 0; i < n && !r; i++)
		r = cp__submit(&M.cp, &cmd[i], deadline);
	if (!r)
		r = cp__fence(&M.cp, true, &j->fence, deadline);
	irq_restore(irqs);
	j->t_submit = clock__ns();
	return r;
}

/* Check done job @j against the guest's own computation. */
static void job_check(struct job *j, uint64_t now)
{
	bool ok;

	if (j->is_long) {
		compute_ref(j->in, LONG_LEN);
		ok = !memcmp(j->in, j->out, LONG_LEN);
		M.nlong++;
	} else {
		uint32_t c = crc32c(0, j->in, SHORT_LEN);

		ok = !memcmp(&c, j->out, 4);
		M.nshort++;
		if (M.nlat < MAX_SAMPLES)
			M.lat[M.nlat++] = now - j->t_submit;
	}
	M.jobs++;
	if (!ok) {
		M.bad++;
		if (M.printed++ < 4)
			printf("mixed: %s job (fence %#llx): device result differs\n",
			       j->is_long ? "long" : "short", (unsigned long long)j->fence);
	}
}

static uint64_t pct(uint64_t p)
{
	return M.nlat ? M.lat[(M.nlat - 1) * p / 100] / 1000 : 0;
}

int guest_main(const struct board_info *bi)
{
	uint64_t run_ns, end, head = 0, tail = 0, unknown;
	bool busy_marked = false, done_marked = false;
	int r;

	run_ns = arg__time("seconds", 1000000000ull, bi->run_ns ? bi->run_ns : 1000000000ull);
	M.long_ns = arg__time("long", 1, 1000000);
	M.ratio = arg__u64("ratio", 4);
	M.bufs = arg__u64("bufs", 8);
	if (!M.ratio || !M.bufs || M.bufs > MAX_BUFS || !M.long_ns ||
	    M.long_ns > SIMCP_MAX_COMPUTE_NS)
		panic("bad long=%llu ratio=%llu bufs=%llu", (unsigned long long)M.long_ns,
		      (unsigned long long)M.ratio, (unsigned long long)M.bufs);
	M.rng = 0x313d0000ull + bi->domid;
	M.lat = mem__alloc(MAX_SAMPLES * sizeof(*M.lat), 16);
	if (!M.lat || softhash_selftest())
		return BOARD_EXIT_FAIL;
	for (uint64_t i = 0; i < M.bufs; i++) {
		M.job[i].in = mem__alloc(SHORT_LEN, 64);
		M.job[i].out = mem__alloc(LONG_LEN, 64);
		if (!M.job[i].in || !M.job[i].out)
			panic("no memory for %llu jobs", (unsigned long long)M.bufs);
	}
	if (cp__init(&M.cp, 16 << 10))
		return BOARD_EXIT_FAIL;
	printf("mixed: every %lluth job %llu us non-preemptible, %llu in flight, %llu ms\n",
	       (unsigned long long)M.ratio, (unsigned long long)(M.long_ns / 1000),
	       (unsigned long long)M.bufs, (unsigned long long)(run_ns / 1000000));

	end = clock__ns() + run_ns;
	for (;;) {
		bool more = clock__ns() < end;

		if (!more && !done_marked) {
			board__mark(BOARD_MARK_DONE);
			done_marked = true;
		}
		while (more && head - tail < M.bufs) {
			r = job_submit(&M.job[head % M.bufs]);
			if (r) {
				printf("mixed: submit: %s\n", simcp_drv_strerror(r));
				goto fail;
			}
			head++;
		}
		cp__kick(&M.cp);
		if (head && !busy_marked) {
			board__mark(BOARD_MARK_BUSY);
			busy_marked = true;
		}
		if (tail == head)
			break;
		r = cp__wait(&M.cp, M.job[tail % M.bufs].fence, clock__ns() + WAIT_NS);
		if (r) {
			printf("mixed: job %llu: %s\n", (unsigned long long)tail,
			       r == -1 ? "no completion within 5 s" : "device fault");
			goto fail;
		}
		while (tail < head && M.job[tail % M.bufs].fence <= M.cp.fence_done)
			job_check(&M.job[tail++ % M.bufs], clock__ns());
	}
	unknown = trap__unexpected();
	if (M.bad || M.cp.foreign || unknown || M.cp.errors)
		goto fail;
	sort__u64(M.lat, M.nlat);
	printf("result: mixed ok jobs=%llu long=%llu short=%llu short_p50=%lluus short_p99=%lluus "
	       "short_max=%lluus irqs=%llu foreign=0 unknown=0\n",
	       (unsigned long long)M.jobs, (unsigned long long)M.nlong,
	       (unsigned long long)M.nshort, (unsigned long long)pct(50),
	       (unsigned long long)pct(99), (unsigned long long)pct(100),
	       (unsigned long long)M.cp.irqs);
	return BOARD_EXIT_PASS;
fail:
	printf("result: mixed FAIL jobs=%llu bad=%llu errors=%llu foreign=%llu unknown=%llu\n",
	       (unsigned long long)M.jobs, (unsigned long long)M.bad,
	       (unsigned long long)M.cp.errors, (unsigned long long)M.cp.foreign,
	       (unsigned long long)trap__unexpected());
	return BOARD_EXIT_FAIL;
}
