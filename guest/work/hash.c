// SPDX-License-Identifier: MIT
/*
 * DOC: hash - stream buffers through the coprocessor's HASH command
 *
 * Keeps @bufs jobs in flight on simcp.  A job is one HASH command (CRC-32C
 * or SHA-256) over a buffer of @size bytes in guest RAM, closed by a FENCE
 * that interrupts; the guest sleeps (hlt) until its interrupt handler sees
 * the fence, then checks the device's result against its own software
 * hash (softhash.c).  Every result is checked; a wrong or missing one
 * fails the run.
 *
 * Checking must cost the CPU little next to what the device does (on a
 * software KVM the guest's instructions may be emulated, a thousand times
 * slower than native), so every buffer starts with the same @size - 64
 * random bytes and each job writes only the last 64: a sequence number,
 * the domain and random bits.  The guest hashes the common prefix once at
 * start-up and keeps both hashes' state after it; a check finishes that
 * state over the 64 new bytes.  The prefix is copied into each buffer by
 * the device (COPY), so a faulty copy shows as a wrong hash too.
 *
 * compute=DUR adds a COMPUTE of that long to every job: device work that
 * costs the guest nothing, for runs where the device must be the
 * bottleneck (shares under a scheduler) however slow the guest is.
 * chunk=DUR splits it into COMPUTE commands of at most that long, each a
 * point where the device can be preempted (it is between commands only),
 * so long jobs - few interrupts and checks for the guest - still let the
 * scheduler switch at a fine grain.
 *
 * fault=N makes every Nth job's HASH write its result just past the end of
 * the domain's RAM: the device must refuse it (SIMCP_FAULT_DMA at that
 * address, IRQ_ERROR) without writing anywhere; the guest checks the
 * fault, resumes the ring and goes on.  Isolation: an address outside a
 * domain's memory reaches nothing, whatever lies next to it on the host.
 *
 * canary=GPA keeps 4 KiB of random bytes at that guest-physical address
 * and checks their CRC-32C at the end: with canary=16M in a 32 MiB domain
 * next to a 16 MiB one running fault=N, a device that wrote the faulting
 * jobs' results with the wrong domain's IOMMU context would hit it.
 *
 * canaries=1 covers the rest of the domain's memory with canaries: the
 * free low memory (0x30000 to the image) and, once the buffers are set up,
 * every free byte of the heap, in chunks of at most 1 MiB, each filled
 * with its own random 32-bit pattern by the device (FILL) and hashed by it
 * (CRC-32C).  The CPU checks the pattern at random words of every page
 * after the fill and at the end, and the device hashes every chunk again
 * at the end: any byte that changed - a write by another domain's DMA or
 * by the host - fails the run.  Filling and hashing by the device costs
 * the guest's (possibly emulated) CPU nothing.  canaries=2 does the same
 * and then changes one byte of one chunk itself: a test of the check (the
 * run must fail).
 *
 * Command line (key=value): seconds=DUR (default: the host's --seconds),
 * size=BYTES (16K), bufs=N (8, at most 64), algo=crc32c|sha256|mix (mix:
 * every 8th job SHA-256), compute=DUR (0), chunk=DUR (= compute),
 * fault=N (0: none), canary=GPA, canaries=0|1|2.
 *
 * Marks (board.h): BUSY once the first jobs are queued, DONE when the run
 * time is up and it stops submitting.
 *
 * The interrupt handler also checks that every fence value the device
 * reports is one this domain emitted (values start at domid << 40): a
 * completion routed to the wrong domain fails the run, and so does an
 * interrupt on a vector nobody asked for (unknown=).
 *
 * Prints "result: hash ok jobs=... KB/s=..." and passes, or
 * "result: hash FAIL ..." and fails.
 */
#include "cp.h"
#include "rt.h"
#include "softhash.h"

#define TAIL 64
#define MAX_BUFS 64
#define CANARY_SIZE 4096
#define WAIT_NS 5000000000ull /* a job not done after 5 s is lost */
#define CHUNK_MAX (1u << 20)
#define MAX_CHUNKS 128
#define LOW_FREE_START 0x30000ull /* above the APs' stacks (board.h) */

/* A canary chunk: its pattern and the device's CRC-32C of it after the fill. */
struct chunk {
	uint8_t *p;
	uint32_t len;
	uint32_t pattern;
	uint32_t crc;
};

struct slot {
	uint8_t *buf;             /* the common prefix, then this job's tail */
	uint8_t *result;          /* 32 bytes the device writes */
	uint64_t fence;
	uint64_t seq;
	uint16_t algo;
	bool bad;                 /* its HASH targets memory outside RAM */
	uint64_t fault_seen;      /* seq of the job whose DMA fault was taken */
};

static struct {
	struct cp cp;
	struct slot slot[MAX_BUFS];
	uint64_t size, bufs, mix, compute_ns, chunk_ns, fault_every;
	uint8_t *canary;          /* canary=: CANARY_SIZE bytes there, or NULL */
	uint32_t canary_crc;
	uint32_t crc_prefix;      /* CRC-32C state after the prefix */
	struct sha256 sha_prefix; /* SHA-256 state after the prefix */
	uint64_t rng, seq;
	uint64_t jobs, bytes, crc_jobs, sha_jobs, bad, printed, faults;
	struct chunk chunk[MAX_CHUNKS];  /* canaries=1 */
	uint32_t *chunk_crc;             /* the device's CRCs, MAX_CHUNKS of them */
	unsigned int nr_chunks;
	bool poke;                       /* canaries=2 */
	uint64_t canary_bytes;
} H;

static void fill_random(uint8_t *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i += 8) {
		uint64_t v = rand__next(&H.rng);

		memcpy(p + i, &v, MIN((uint64_t)8, len - i));
	}
}

/* The common prefix: random, hashed once, copied into every buffer by the device. */
static int setup_buffers(void)
{
	uint64_t prefix = H.size - TAIL, fence;
	uint8_t *src = mem__alloc(prefix, 4096);
	struct simcp_cmd cmd;
	int r;

	if (!src)
		return -1;
	fill_random(src, prefix);
	H.crc_prefix = crc32c(0, src, prefix);
	sha256_init(&H.sha_prefix);
	sha256_update(&H.sha_prefix, src, prefix);
	for (uint64_t i = 0; i < H.bufs; i++) {
		cmd = (struct simcp_cmd){
			.op = SIMCP_OP_COPY,
			.len = (uint32_t)prefix,
			.a = virt_to_phys(src),
			.b = virt_to_phys(H.slot[i].buf),
		};
		r = cp__submit(&H.cp, &cmd, clock__ns() + WAIT_NS);
		if (r) {
			printf("hash: copy: %s\n", simcp_drv_strerror(r));
			return -1;
		}
	}
	r = cp__fence(&H.cp, true, &fence, clock__ns() + WAIT_NS);
	if (r) {
		printf("hash: fence: %s\n", simcp_drv_strerror(r));
		return -1;
	}
	cp__kick(&H.cp);
	r = cp__wait(&H.cp, fence, clock__ns() + WAIT_NS);
	if (r) {
		printf("hash: setting up the buffers: %s\n",
		       r == -1 ? "no completion within 5 s" : "device fault");
		return -1;
	}
	mem__free(src);
	return 0;
}

static void chunk_add(uint8_t *p, uint64_t len)
{
	struct chunk *c = &H.chunk[H.nr_chunks++];

	c->p = p;
	c->len = (uint32_t)len;
	c->pattern = (uint32_t)rand__next(&H.rng);
	H.canary_bytes += len;
}

/* Queue FILL (when @fill) and HASH of every chunk, then wait for them. */
static int chunks_device(bool fill)
{
	struct simcp_cmd cmd;
	uint64_t fence;
	int r = 0;

	for (unsigned int i = 0; i < H.nr_chunks && !r; i++) {
		const struct chunk *c = &H.chunk[i];

		if (fill) {
			cmd = (struct simcp_cmd){ .op = SIMCP_OP_FILL, .len = c->len,
						  .b = virt_to_phys(c->p), .c = c->pattern };
			r = cp__submit(&H.cp, &cmd, clock__ns() + WAIT_NS);
		}
		cmd = (struct simcp_cmd){ .op = SIMCP_OP_HASH, .arg = SIMCP_HASH_CRC32C,
					  .len = c->len, .a = virt_to_phys(c->p),
					  .b = virt_to_phys(&H.chunk_crc[i]) };
		if (!r)
			r = cp__submit(&H.cp, &cmd, clock__ns() + WAIT_NS);
	}
	if (!r)
		r = cp__fence(&H.cp, true, &fence, clock__ns() + WAIT_NS);
	if (r) {
		printf("hash: canaries: %s\n", simcp_drv_strerror(r));
		return -1;
	}
	cp__kick(&H.cp);
	if (cp__wait(&H.cp, fence, clock__ns() + WAIT_NS)) {
		printf("hash: canaries: no completion or a fault\n");
		return -1;
	}
	return 0;
}

/*
 * The CPU's look: one word of every page, at an offset that moves from page
 * to page and from call to call (cheap: the CPU may be emulated).
 */
static bool chunks_spot_check(void)
{
	uint32_t at = (uint32_t)rand__next(&H.rng);
	bool ok = true;

	for (unsigned int i = 0; i < H.nr_chunks; i++) {
		const struct chunk *c = &H.chunk[i];

		for (uint64_t pg = 0; pg < c->len; pg += 4096) {
			const uint32_t *w = (const uint32_t *)(c->p + pg);

			at = (at + 0x9e3779b1u) & 1023;
			if (w[at] == c->pattern)
				continue;
			if (ok)
				printf("hash: canary word at %p is %#x, not %#x\n",
				       (const void *)&w[at], w[at], c->pattern);
			ok = false;
		}
	}
	return ok;
}

/*
 * canaries=1: the free low memory and every free byte of the heap become
 * chunks, filled and hashed by the device.  Returns 0 or -1.
 */
static int canaries_setup(void)
{
	uint64_t low_end = BOARD_KERNEL_GPA;
	uint8_t *p;

	H.chunk_crc = mem__alloc(MAX_CHUNKS * sizeof(uint32_t), 64);
	if (!H.chunk_crc)
		return -1;
	for (uint64_t a = LOW_FREE_START; a < low_end; a += CHUNK_MAX)
		chunk_add((uint8_t *)(uintptr_t)a, MIN((uint64_t)CHUNK_MAX, low_end - a));
	for (uint32_t len = CHUNK_MAX; len >= 4096 && H.nr_chunks < MAX_CHUNKS; )
		if ((p = mem__alloc(len, 4096)))
			chunk_add(p, len);
		else
			len /= 2;
	if (chunks_device(true))
		return -1;
	for (unsigned int i = 0; i < H.nr_chunks; i++)
		H.chunk[i].crc = H.chunk_crc[i];
	if (!chunks_spot_check())
		return -1;
	printf("hash: canaries: %u chunks, %llu KiB, %llu KiB of heap left\n", H.nr_chunks,
	       (unsigned long long)(H.canary_bytes >> 10),
	       (unsigned long long)(mem__free_bytes() >> 10));
	if (H.poke) {
		const struct chunk *c = &H.chunk[rand__next(&H.rng) % H.nr_chunks];
		uint8_t *b = c->p + rand__next(&H.rng) % c->len;

		printf("hash: canaries=2: changing the byte at %p\n", (void *)b);
		*(volatile uint8_t *)b ^= 0x5a;
	}
	return 0;
}

/* Every canary as it was: the CPU's spot checks and the device's CRCs. */
static bool canaries_intact(void)
{
	bool ok = chunks_spot_check();

	if (chunks_device(false))
		return false;
	for (unsigned int i = 0; i < H.nr_chunks; i++) {
		if (H.chunk_crc[i] == H.chunk[i].crc)
			continue;
		printf("hash: canary chunk %u (%u bytes at %p) changed: crc %#x, was %#x\n", i,
		       H.chunk[i].len, (void *)H.chunk[i].p, H.chunk_crc[i], H.chunk[i].crc);
		ok = false;
	}
	return ok;
}

/*
 * Write @s's tail and queue HASH (+ COMPUTE) + FENCE, with interrupts off
 * so that a fault reported meanwhile cannot leave a job half queued (the
 * ring is far larger than what is in flight: cp__submit() never waits).
 * Returns 0, 1 when a fault is pending (nothing queued: take it first), or
 * a negative SIMCP_DRV_E* code.
 */
static int slot_submit(struct slot *s, uint64_t deadline)
{
	uint8_t *tail = s->buf + H.size - TAIL;
	uint32_t domid = rt_board->domid;
	struct simcp_cmd cmd;
	bool irqs;
	int r;

	irqs = irq_save();
	if (H.cp.faulted) {
		irq_restore(irqs);
		return 1;
	}
	s->seq = ++H.seq;
	memcpy(tail, &s->seq, 8);
	memcpy(tail + 8, &domid, 4);
	fill_random(tail + 16, TAIL - 16);
	memset(s->result, 0, 32);
	s->algo = H.mix && s->seq % H.mix == 0 ? SIMCP_HASH_SHA256 : SIMCP_HASH_CRC32C;
	s->bad = H.fault_every && s->seq % H.fault_every == 0;
	cmd = (struct simcp_cmd){
		.op = SIMCP_OP_HASH,
		.arg = s->algo,
		.len = (uint32_t)H.size,
		.a = virt_to_phys(s->buf),
		.b = s->bad ? rt_board->ram_size : virt_to_phys(s->result),
	};
	r = cp__submit(&H.cp, &cmd, deadline);
	for (uint64_t left = H.compute_ns; !r && left; left -= cmd.a) {
		cmd = (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE, .a = MIN(left, H.chunk_ns) };
		r = cp__submit(&H.cp, &cmd, deadline);
	}
	if (!r)
		r = cp__fence(&H.cp, true, &s->fence, deadline);
	irq_restore(irqs);
	return r;
}

/* Compare the device's result for @s with ours; true when equal. */
static bool slot_check(struct slot *s)
{
	const uint8_t *tail = s->buf + H.size - TAIL;
	uint8_t want[32];
	size_t n;

	if (s->algo == SIMCP_HASH_CRC32C) {
		uint32_t c = crc32c(H.crc_prefix, tail, TAIL);

		memcpy(want, &c, 4); /* little endian, as the device writes it */
		n = 4;
		H.crc_jobs++;
	} else {
		struct sha256 sh = H.sha_prefix;

		sha256_update(&sh, tail, TAIL);
		sha256_final(&sh, want);
		n = 32;
		H.sha_jobs++;
	}
	H.jobs++;
	H.bytes += H.size;
	if (!memcmp(want, s->result, n))
		return true;
	if (H.printed++ < 4)
		printf("hash: job %llu (%s, %llu bytes at %p): device result differs\n",
		       (unsigned long long)s->seq, s->algo == SIMCP_HASH_CRC32C ? "crc32c" : "sha256",
		       (unsigned long long)H.size, (void *)s->buf);
	return false;
}

/*
 * A fault is pending.  It must be the DMA fault of the oldest bad job not
 * yet complete, at the address that job was given; then resume the ring
 * (the device skipped the faulting command; the job's fence follows).
 * Returns false for any other fault.
 */
static bool take_fault(uint64_t tail, uint64_t head)
{
	const struct simcp_drv_fault *f = &H.cp.fault;
	struct slot *s = NULL;
	int r;

	for (uint64_t i = tail; i < head && !s; i++) {
		struct slot *c = &H.slot[i % H.bufs];

		if (c->bad && c->fault_seen != c->seq && c->fence > H.cp.fence_done)
			s = c;
	}
	if (!s || f->code != SIMCP_FAULT_DMA || f->addr != rt_board->ram_size) {
		printf("hash: unexpected fault: code %u at %#llx\n", f->code,
		       (unsigned long long)f->addr);
		return false;
	}
	r = cp__recover(&H.cp);
	if (r < 0) {
		printf("hash: recovering from the fault: %s\n", simcp_drv_strerror(r));
		return false;
	}
	s->fault_seen = s->seq;
	H.faults++;
	return true;
}

static void parse_args(const struct board_info *bi, uint64_t *run_ns)
{
	char algo[16] = "mix";
	uint64_t canary, cmds;

	H.nr_chunks = arg__u64("canaries", 0) ? 1 : 0; /* a flag until set up */
	H.poke = arg__u64("canaries", 0) == 2;

	*run_ns = arg__time("seconds", 1000000000ull, bi->run_ns ? bi->run_ns : 1000000000ull);
	H.size = arg__u64("size", 16 << 10);
	H.bufs = arg__u64("bufs", 8);
	H.compute_ns = arg__time("compute", 1, 0);
	H.chunk_ns = arg__time("chunk", 1, H.compute_ns);
	H.fault_every = arg__u64("fault", 0);
	canary = arg__u64("canary", 0);
	if (canary) {
		if (canary % 16 || canary + CANARY_SIZE > bi->ram_size)
			panic("canary=%#llx: not 16-byte aligned in RAM", (unsigned long long)canary);
		H.canary = mem__alloc_at((uintptr_t)canary, CANARY_SIZE);
		if (!H.canary)
			panic("canary=%#llx: not free heap", (unsigned long long)canary);
	}
	arg__str("algo", algo, sizeof(algo));
	if (!strcmp(algo, "crc32c"))
		H.mix = 0;
	else if (!strcmp(algo, "sha256"))
		H.mix = 1;
	else if (!strcmp(algo, "mix"))
		H.mix = 8;
	else
		panic("algo=%s: not crc32c, sha256 or mix", algo);
	if (H.size < 2 * TAIL || H.size % 8 || H.size > SIMCP_MAX_LEN || !H.bufs ||
	    H.bufs > MAX_BUFS)
		panic("bad size=%llu bufs=%llu", (unsigned long long)H.size,
		      (unsigned long long)H.bufs);
	if (H.compute_ns && (!H.chunk_ns || H.chunk_ns > SIMCP_MAX_COMPUTE_NS ||
			     (H.compute_ns + H.chunk_ns - 1) / H.chunk_ns > 64))
		panic("bad chunk=%lluns for compute=%lluns (1 to 64 commands of at most 1 s)",
		      (unsigned long long)H.chunk_ns, (unsigned long long)H.compute_ns);
	/* Everything in flight must fit the ring (64 KiB: 2047 commands). */
	cmds = 2 + (H.compute_ns ? (H.compute_ns + H.chunk_ns - 1) / H.chunk_ns : 0);
	if (H.bufs * cmds > 2000)
		panic("bufs=%llu jobs of %llu commands do not fit the ring",
		      (unsigned long long)H.bufs, (unsigned long long)cmds);
}

int guest_main(const struct board_info *bi)
{
	uint64_t run_ns, t0, end, elapsed, head = 0, tail = 0, unknown;
	bool busy_marked = false, done_marked = false, canary_ok = true;
	char chunks[64] = "";
	int r;

	parse_args(bi, &run_ns);
	H.rng = 0x5eed0000ull + bi->domid;
	if (softhash_selftest())
		return BOARD_EXIT_FAIL;
	if (cp__init(&H.cp, 64 << 10))
		return BOARD_EXIT_FAIL;
	for (uint64_t i = 0; i < H.bufs; i++) {
		H.slot[i].buf = mem__alloc(H.size, 4096);
		H.slot[i].result = mem__alloc(32, 32);
		if (!H.slot[i].buf || !H.slot[i].result)
			panic("no memory for %llu buffers of %llu bytes",
			      (unsigned long long)H.bufs, (unsigned long long)H.size);
	}
	if (H.canary) {
		fill_random(H.canary, CANARY_SIZE);
		H.canary_crc = crc32c(0, H.canary, CANARY_SIZE);
	}
	if (setup_buffers())
		goto fail;
	if (H.nr_chunks) {
		H.nr_chunks = 0;
		if (canaries_setup())
			goto fail;
	}
	printf("hash: %llu x %llu-byte buffers, %s, compute %llu us in %llu us chunks, %llu ms\n",
	       (unsigned long long)H.bufs, (unsigned long long)H.size,
	       !H.mix ? "crc32c" : H.mix == 1 ? "sha256" : "mix",
	       (unsigned long long)(H.compute_ns / 1000), (unsigned long long)(H.chunk_ns / 1000),
	       (unsigned long long)(run_ns / 1000000));

	t0 = clock__ns();
	end = t0 + run_ns;
	/* Slots are used round-robin; jobs complete in submission order. */
	for (;;) {
		bool more = clock__ns() < end;

		if (!more && !done_marked) {
			board__mark(BOARD_MARK_DONE);
			done_marked = true;
		}

		if (H.cp.faulted && !take_fault(tail, head))
			goto fail;
		while (more && head - tail < H.bufs) {
			r = slot_submit(&H.slot[head % H.bufs], clock__ns() + WAIT_NS);
			if (r == 1)
				break; /* a fault to take first */
			if (r) {
				printf("hash: submit: %s\n", simcp_drv_strerror(r));
				goto fail;
			}
			head++;
		}
		cp__kick(&H.cp);
		if (!busy_marked && head) {
			board__mark(BOARD_MARK_BUSY);
			busy_marked = true;
		}
		if (tail == head)
			break;
		r = cp__wait(&H.cp, H.slot[tail % H.bufs].fence, clock__ns() + WAIT_NS);
		if (r == -2)
			continue; /* taken at the top */
		if (r) {
			printf("hash: job %llu: %s (fence %#llx, done %#llx)\n",
			       (unsigned long long)H.slot[tail % H.bufs].seq,
			       r == -1 ? "no completion within 5 s" : "device fault",
			       (unsigned long long)H.slot[tail % H.bufs].fence,
			       (unsigned long long)H.cp.fence_done);
			if (r == -2)
				printf("hash: fault code %u at %#llx\n", H.cp.fault.code,
				       (unsigned long long)H.cp.fault.addr);
			goto fail;
		}
		/* Check every job the interrupt reported done. */
		while (tail < head && H.slot[tail % H.bufs].fence <= H.cp.fence_done) {
			struct slot *s = &H.slot[tail % H.bufs];

			if (s->bad) {
				/* Its fault was taken (take_fault()) before its fence. */
				if (s->fault_seen != s->seq) {
					printf("hash: job %llu wrote outside RAM without a fault\n",
					       (unsigned long long)s->seq);
					H.bad++;
				}
			} else if (!slot_check(s)) {
				H.bad++;
			}
			tail++;
		}
	}
	elapsed = clock__ns() - t0;
	unknown = trap__unexpected();
	if (H.cp.foreign)
		printf("hash: %llu interrupts brought a fence this domain never emitted\n",
		       (unsigned long long)H.cp.foreign);
	if (H.canary && crc32c(0, H.canary, CANARY_SIZE) != H.canary_crc) {
		printf("hash: the canary at %p changed\n", (void *)H.canary);
		canary_ok = false;
	}
	if (H.nr_chunks && !canaries_intact()) {
		printf("hash: canaries changed\n");
		canary_ok = false;
	}
	if (H.bad || H.cp.foreign || unknown || !canary_ok)
		goto fail;
	if (H.nr_chunks)
		snprintf(chunks, sizeof(chunks), " canaries=intact canary_kib=%llu",
			 (unsigned long long)(H.canary_bytes >> 10));
	printf("result: hash ok jobs=%llu crc32c=%llu sha256=%llu bytes=%llu KB/s=%llu irqs=%llu "
	       "faults=%llu foreign=0 unknown=0 spurious=%llu%s%s\n",
	       (unsigned long long)H.jobs, (unsigned long long)H.crc_jobs,
	       (unsigned long long)H.sha_jobs, (unsigned long long)H.bytes,
	       (unsigned long long)(elapsed ? H.bytes * 1000000 / elapsed : 0),
	       (unsigned long long)H.cp.irqs, (unsigned long long)H.faults,
	       (unsigned long long)H.cp.spurious, H.canary ? " canary=intact" : "",
	       chunks);
	return BOARD_EXIT_PASS;
fail:
	printf("result: hash FAIL jobs=%llu bad=%llu errors=%llu foreign=%llu unknown=%llu%s\n",
	       (unsigned long long)H.jobs, (unsigned long long)H.bad,
	       (unsigned long long)H.cp.errors, (unsigned long long)H.cp.foreign,
	       (unsigned long long)trap__unexpected(), canary_ok ? "" : " canary=CHANGED");
	return BOARD_EXIT_FAIL;
}
