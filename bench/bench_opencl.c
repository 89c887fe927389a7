// SPDX-License-Identifier: MIT
/*
 * bench-opencl: the OpenCL platform measured in one run, on the OpenCL
 * device it opens (platform 0, device 0, or VCOPROC_OPENCL_DEVICE by name):
 *
 *   1. per-command throughput on the device against the CPU reference
 *      (simcp's own code: memcpy, CRC-32C, SHA-256, OpenSSL's AES-CBC),
 *      each through the native ring, 1 MiB per command;
 *   2. the measured cost of a switch (save + load, enqueued and finished)
 *      against the context size, copied and resident;
 *   3. four domains sharing the device under credit against one alone, at
 *      2 ms and 10 ms slices (COMPUTE commands of 1 ms): the device time
 *      the four keep, as a ratio.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include <vcoproc/posix.h>
#include <vcoproc/sched.h>

#include "crc32c.h"
#include "oclcp.h"
#include "sha256.h"

#define BASE 0x80000000ull
#define MEM (8u << 20)
#define RING 4096u
#define MIB (1u << 20)

struct g {
	uint8_t *mem;
	struct vc_iommu_region reg;
	struct vc_iommu io;
	uint32_t tail;
};

static vc_time_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (vc_time_t)ts.tv_sec * 1000000000ull + (vc_time_t)ts.tv_nsec;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static void push(struct g *g, struct simcp_cmd c)
{
	uint8_t *p = g->mem + g->tail;

	p[0] = c.op;
	p[1] = c.flags;
	put_le(p + 2, c.arg, 2);
	put_le(p + 4, c.len, 4);
	put_le(p + 8, c.a, 8);
	put_le(p + 16, c.b, 8);
	put_le(p + 24, c.c, 8);
	g->tail = (g->tail + SIMCP_CMD_SIZE) % RING;
}

static uint32_t reg(struct oclcp_ctx *x, uint64_t off)
{
	uint64_t v = 0;

	(void)oclcp_mmio(x, off, 4, false, &v);
	return (uint32_t)v;
}

static void wreg(struct oclcp_ctx *x, uint64_t off, uint32_t v)
{
	uint64_t val = v;

	(void)oclcp_mmio(x, off, 4, true, &val);
}

static void g_init(struct g *g)
{
	g->mem = calloc(1, MEM);
	if (!g->mem)
		exit(1);
	for (size_t i = RING; i < MEM; i++)
		g->mem[i] = (uint8_t)(i * 2654435761u >> 13);
	g->reg = (struct vc_iommu_region){ .gpa = BASE, .size = MEM, .hva = g->mem, .writable = true };
	g->io.regions = &g->reg;
	g->io.nr_regions = 1;
	g->tail = 0;
}

static void run(struct g *g, struct oclcp_ctx *x)
{
	wreg(x, SIMCP_REG_RING_TAIL, g->tail);
	while (reg(x, SIMCP_REG_RING_HEAD) != g->tail && !(reg(x, SIMCP_REG_STATUS) & SIMCP_STATUS_HALTED))
		;
	if (reg(x, SIMCP_REG_FAULT_CODE))
		fprintf(stderr, "bench-opencl: fault %u\n", reg(x, SIMCP_REG_FAULT_CODE));
}

/* 1 MiB commands of @c, @n of them: MB/s on the device. */
static double dev_rate(struct g *g, struct oclcp_ctx *x, struct simcp_cmd c, int n)
{
	vc_time_t t0;

	push(g, c);
	run(g, x);  /* warm */
	t0 = now_ns();
	for (int i = 0; i < n; i++)
		push(g, c);
	run(g, x);
	return (double)n * c.len / ((double)(now_ns() - t0) / 1e9) / 1e6;
}

static double cpu_rate(int kind, uint8_t *src, uint8_t *dst, int n)
{
	uint8_t key[16] = { 1 }, iv[16] = { 2 }, d[32];
	EVP_CIPHER_CTX *e = EVP_CIPHER_CTX_new();
	vc_time_t t0 = now_ns();
	int out;

	for (int i = 0; i < n; i++) {
		switch (kind) {
		case 0: memcpy(dst, src, MIB); break;
		case 1: put_le(dst, simcp_crc32c(0, src, MIB), 4); break;
		case 2: simcp_sha256(src, MIB, d); memcpy(dst, d, 32); break;
		default:
			EVP_CipherInit_ex(e, EVP_aes_128_cbc(), NULL, key, iv, kind == 3);
			EVP_CIPHER_CTX_set_padding(e, 0);
			EVP_CipherUpdate(e, dst, &out, src, MIB);
			break;
		}
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	EVP_CIPHER_CTX_free(e);
	return (double)n * MIB / ((double)(now_ns() - t0) / 1e9) / 1e6;
}

static struct oclcp *open_dev(uint32_t ctx_size, enum oclcp_residency res)
{
	struct oclcp_config cfg = { .ctx_size = ctx_size, .residency = res,
				    .device_name = getenv("VCOPROC_OPENCL_DEVICE") };
	struct oclcp *s;
	int r = oclcp_create(&cfg, &s);

	if (r) {
		fprintf(stderr, "bench-opencl: no OpenCL device: %s\n", vc_strerror(r));
		exit(77);
	}
	return s;
}

static void throughput(void)
{
	static const char *const names[] = { "copy", "crc32c", "sha256", "aes-cbc enc", "aes-cbc dec" };
	struct oclcp *s = open_dev(0, OCLCP_RES_AUTO);
	struct oclcp_info info;
	struct oclcp_ctx *x;
	struct g g;

	g_init(&g);
	oclcp_info(s, &info);
	printf("device: %s (%s; %s; driver %s)\n", info.device, info.platform, info.version,
	       info.driver);
	printf("measured at creation: command overhead %llu us, COMPUTE chain %llu rounds/us\n",
	       (unsigned long long)info.cmd_overhead_ns / 1000,
	       (unsigned long long)info.spin_per_us);
	if (oclcp_ctx_alloc(s, 1, &x) || oclcp_set_iommu(s, &g.io) || oclcp_load(x) ||
	    oclcp_start(x))
		exit(1);
	wreg(x, SIMCP_REG_RING_BASE_LO, (uint32_t)BASE);
	wreg(x, SIMCP_REG_RING_BASE_HI, (uint32_t)(BASE >> 32));
	wreg(x, SIMCP_REG_RING_SIZE, RING);
	wreg(x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
	push(&g, (struct simcp_cmd){ .op = SIMCP_OP_KEY, .arg = 1, .len = 16, .a = BASE + 0x1000 });
	run(&g, x);
	printf("\n1. throughput, 1 MiB per command      device MB/s    CPU MB/s   device/CPU\n");
	for (int k = 0; k < 5; k++) {
		struct simcp_cmd c = { .len = MIB, .a = BASE + MIB, .b = BASE + 3 * MIB,
				       .c = BASE + 0x2000 };
		double d, cpu;
		int n = k == 2 ? 4 : 16;

		if (k == 0)
			c.op = SIMCP_OP_COPY;
		else if (k < 3)
			c.op = SIMCP_OP_HASH, c.arg = k == 1 ? SIMCP_HASH_CRC32C : SIMCP_HASH_SHA256;
		else
			c.op = SIMCP_OP_AES_CBC, c.arg = 1 | (k == 4 ? SIMCP_AES_DECRYPT : 0);
		d = dev_rate(&g, x, c, n);
		cpu = cpu_rate(k, g.mem + MIB, g.mem + 3 * MIB, n);
		printf("   %-14s %26.1f %11.1f %12.3f\n", names[k], d, cpu, d / cpu);
	}
	oclcp_stop(x, &(vc_time_t){ 0 });
	oclcp_ctx_free(x);
	oclcp_destroy(s);
	free(g.mem);
}

static void switch_cost(void)
{
	static const uint32_t sizes[] = { 4096, 65536, 1u << 20, 16u << 20 };

	printf("\n2. switch (save + load of a whole context, measured)\n");
	printf("   context size     copied us    resident us   copied/resident\n");
	for (size_t i = 0; i < VC_ARRAY_SIZE(sizes); i++) {
		struct oclcp *s = open_dev(sizes[i], OCLCP_RES_AUTO);
		struct oclcp_info info;

		oclcp_info(s, &info);
		printf("   %9u B %13.1f %14.2f %17.0f\n", sizes[i], info.switch_copied_ns / 1e3,
		       info.switch_resident_ns / 1e3,
		       (double)info.switch_copied_ns / (double)info.switch_resident_ns);
		oclcp_destroy(s);
	}
}

struct dom {
	struct g g;
	struct vc_domain *d;
	struct vc_vcoproc *v;
};

static void host_irq(void *host_dom, uint32_t irq)
{
}

static const struct vc_host_ops hops = { .irq_raise = host_irq };

static void dwr(struct dom *d, uint64_t off, uint32_t val)
{
	uint64_t v = val;

	(void)vc_domain_mmio(d->d, 0x40000000ull + off, 4, true, &v);
}

static uint32_t drd(struct dom *d, uint64_t off)
{
	uint64_t v = 0;

	(void)vc_domain_mmio(d->d, 0x40000000ull + off, 4, false, &v);
	return (uint32_t)v;
}

/* Device time the @n domains got in 2 s, busy with 1 ms COMPUTEs, under credit at @slice. */
static double shared_run(unsigned int n, const char *slice)
{
	struct oclcp *s = open_dev(0, OCLCP_RES_AUTO);
	struct vc_coproc_desc desc;
	struct vc_coproc *c;
	struct vc_fw *fw;
	struct dom dom[4];
	vc_time_t t0, run = 0;

	if (vc_fw_create(&hops, &fw))
		exit(1);
	oclcp_coproc_desc(s, "ocl0", 0x40000000ull, 9, &desc);
	desc.sched = "credit";
	if (vc_coproc_register(fw, &desc, &c))
		exit(1);
	oclcp_attach(s, c);
	(void)vc_coproc_param_set(c, "slice", slice);
	for (unsigned int i = 0; i < n; i++) {
		struct dom *d = &dom[i];

		g_init(&d->g);
		free(d->g.mem);
		d->g.mem = calloc(1, 1u << 16);
		d->g.reg.size = 1u << 16;
		d->g.reg.hva = d->g.mem;
		if (vc_domain_create(fw, i + 1, NULL, &d->g.io, d, &d->d) ||
		    vc_vcoproc_create(d->d, c, NULL, 0, &d->v, NULL))
			exit(1);
		dwr(d, SIMCP_REG_RING_BASE_LO, (uint32_t)BASE);
		dwr(d, SIMCP_REG_RING_BASE_HI, (uint32_t)(BASE >> 32));
		dwr(d, SIMCP_REG_RING_SIZE, RING);
		dwr(d, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
	}
	t0 = now_ns();
	while (now_ns() - t0 < VC_SEC(2)) {
		for (unsigned int i = 0; i < n; i++) {
			struct dom *d = &dom[i];
			uint32_t q = ((d->g.tail - drd(d, SIMCP_REG_RING_HEAD)) & (RING - 1)) / 32;

			if (q < 8) {
				for (int k = 0; k < 16; k++)
					push(&d->g, (struct simcp_cmd){ .op = SIMCP_OP_COMPUTE,
									.a = VC_MSEC(1) });
				dwr(d, SIMCP_REG_RING_TAIL, d->g.tail);
			}
		}
		struct timespec ts = { 0, 2000000 };
		nanosleep(&ts, NULL);
	}
	for (unsigned int i = 0; i < n; i++) {
		struct vc_vcoproc_stats vs;

		vc_vcoproc_stats(dom[i].v, &vs);
		run += vs.jobs * VC_MSEC(1);
	}
	for (unsigned int i = 0; i < n; i++)
		vc_domain_destroy(dom[i].d);
	oclcp_attach(s, NULL);
	(void)vc_coproc_unregister(c);
	vc_fw_destroy(fw);
	oclcp_destroy(s);
	for (unsigned int i = 0; i < n; i++)
		free(dom[i].g.mem);
	return (double)run / (double)(now_ns() - t0);
}

int main(void)
{
	printf("bench-opencl\n");
	throughput();
	switch_cost();
	printf("\n3. useful device time (COMPUTE work done / wall time), credit, 1 ms commands\n");
	printf("   slice    one alone   4 sharing   4/1\n");
	for (int i = 0; i < 2; i++) {
		const char *slice = i ? "10ms" : "2ms";
		double one = shared_run(1, slice), four = shared_run(4, slice);

		printf("   %-6s %10.3f %11.3f %7.3f\n", slice, one, four, four / one);
	}
	return 0;
}
