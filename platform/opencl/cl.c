// SPDX-License-Identifier: MIT
/*
 * DOC: OpenCL platform - the OpenCL device, its buffers, and what is measured
 *
 * Opens the platform and device the configuration names, builds
 * kernels.cl, makes the tables the kernels read (AES's Te0/Td0 and
 * S-boxes, CRC-32C's), and allocates the device's own buffers: two staging
 * buffers of SIMCP_MAX_LEN (inputs, results), the AES batch descriptors
 * and decryption schedules, and the live scratch and key slots of copied
 * contexts.  Then it measures, on this device: a command's overhead, the
 * rate of each command kind, COMPUTE's chain rate (so that a COMPUTE of
 * a ns runs about a ns), and the cost of a switch, copied and resident.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sched.h>
#include <string.h>

#include "kernels_cl.h"
#include "oclcp_priv.h"

const char *oclcp_cl_strerror(cl_int e)
{
	switch (e) {
	case CL_DEVICE_NOT_FOUND: return "device not found";
	case CL_OUT_OF_RESOURCES: return "out of resources";
	case CL_OUT_OF_HOST_MEMORY: return "out of host memory";
	case CL_MEM_OBJECT_ALLOCATION_FAILURE: return "cannot allocate a buffer";
	case CL_BUILD_PROGRAM_FAILURE: return "kernels do not build";
	case CL_INVALID_VALUE: return "invalid value";
	default: return "OpenCL error";
	}
}

static void tables(uint32_t *tab, uint32_t *crc)
{
	uint8_t sbox[256], inv[256], p = 1, q = 1;

	/* The S-box from the multiplicative inverse in GF(2^8) and the affine map. */
	do {
		uint8_t x;

		p = p ^ (uint8_t)(p << 1) ^ (p & 0x80 ? 0x1b : 0);
		q ^= q << 1;
		q ^= q << 2;
		q ^= q << 4;
		q ^= q & 0x80 ? 0x09 : 0;
		x = q ^ (uint8_t)(q << 1 | q >> 7) ^ (uint8_t)(q << 2 | q >> 6) ^
		    (uint8_t)(q << 3 | q >> 5) ^ (uint8_t)(q << 4 | q >> 4);
		sbox[p] = x ^ 0x63;
	} while (p != 1);
	sbox[0] = 0x63;
	for (int i = 0; i < 256; i++)
		inv[sbox[i]] = (uint8_t)i;
	for (int i = 0; i < 256; i++) {
		uint32_t s = sbox[i], s2 = (s << 1) ^ (s & 0x80 ? 0x11b : 0), s3 = s2 ^ s;
		uint32_t v = inv[i], m[4];

		tab[i] = s2 << 24 | s << 16 | s << 8 | s3;
		/* v times 0e, 09, 0d, 0b */
		for (int k = 0; k < 4; k++) {
			static const uint8_t f[4] = { 0x0e, 0x09, 0x0d, 0x0b };
			uint32_t a = v, r = 0;

			for (uint8_t b = f[k]; b; b >>= 1) {
				if (b & 1)
					r ^= a;
				a = (a << 1) ^ (a & 0x80 ? 0x11b : 0);
			}
			m[k] = r;
		}
		tab[256 + i] = m[0] << 24 | m[1] << 16 | m[2] << 8 | m[3];
		tab[512 + i] = sbox[i];
		tab[768 + i] = inv[i];
	}
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc[i] = c;
	}
}

static int pick(struct oclcp *s, const struct oclcp_config *cfg)
{
	cl_platform_id plats[16];
	cl_uint np = 0;

	if (clGetPlatformIDs(16, plats, &np) || !np)
		return -VC_ENODEV;
	for (cl_uint p = 0; p < np && p < 16; p++) {
		cl_device_id devs[16];
		cl_uint nd = 0;

		if (!cfg->device_name && p != cfg->platform_index)
			continue;
		if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 16, devs, &nd) || !nd)
			continue;
		for (cl_uint d = 0; d < nd && d < 16; d++) {
			char name[128] = "";

			clGetDeviceInfo(devs[d], CL_DEVICE_NAME, sizeof(name) - 1, name, NULL);
			if (cfg->device_name ? !strstr(name, cfg->device_name)
					     : d != cfg->device_index)
				continue;
			s->plat = plats[p];
			s->dev = devs[d];
			return 0;
		}
	}
	return -VC_ENODEV;
}

static cl_mem buf(struct oclcp *s, cl_mem_flags fl, size_t size, void *host)
{
	cl_int e;

	return clCreateBuffer(s->clctx, fl, size, host, &e);
}

int oclcp_cl_zero(struct oclcp *s, cl_mem m, size_t off, size_t len)
{
	static const cl_uchar zero;
	cl_int e = clEnqueueFillBuffer(s->q, m, &zero, 1, off, len, 0, NULL, NULL);

	return e || clFinish(s->q) ? -VC_EIO : 0;
}

int oclcp_cl_alloc_ctx_bufs(struct oclcp *s, cl_mem *scratch, cl_mem *keys)
{
	*scratch = buf(s, CL_MEM_READ_WRITE, s->ctx_size, NULL);
	*keys = buf(s, CL_MEM_READ_WRITE, OCLCP_KEYS_BYTES, NULL);
	if (!*scratch || !*keys ||
	    oclcp_cl_zero(s, *scratch, 0, s->ctx_size) ||
	    oclcp_cl_zero(s, *keys, 0, OCLCP_KEYS_BYTES)) {
		if (*scratch)
			clReleaseMemObject(*scratch);
		if (*keys)
			clReleaseMemObject(*keys);
		return -VC_ENOMEM;
	}
	return 0;
}

static void bury_oldest(struct oclcp *s)
{
	clFinish(s->grave[0].q);
	clReleaseCommandQueue(s->grave[0].q);
	for (int i = 0; i < 5; i++)
		if (s->grave[0].m[i])
			clReleaseMemObject(s->grave[0].m[i]);
	memmove(&s->grave[0], &s->grave[1], (s->nr_grave - 1) * sizeof(s->grave[0]));
	s->nr_grave--;
}

int oclcp_cl_renew(struct oclcp *s, cl_mem *scratch)
{
	cl_command_queue q;
	cl_mem m[5] = { 0 };
	cl_int e;

	if (s->nr_grave == OCLCP_GRAVE)
		bury_oldest(s);
	q = clCreateCommandQueue(s->clctx, s->dev, 0, &e);
	m[0] = buf(s, CL_MEM_READ_WRITE, OCLCP_STAGE_BYTES, NULL);
	m[1] = buf(s, CL_MEM_READ_WRITE, OCLCP_STAGE_BYTES, NULL);
	m[2] = buf(s, CL_MEM_READ_WRITE, OCLCP_BATCH_MAX * 32, NULL);
	m[3] = buf(s, CL_MEM_READ_WRITE, OCLCP_BATCH_MAX * OCLCP_RK_STRIDE * 4, NULL);
	m[4] = scratch ? buf(s, CL_MEM_READ_WRITE, s->ctx_size, NULL) : NULL;
	if (!q || !m[0] || !m[1] || !m[2] || !m[3] || (scratch && !m[4]))
		goto out_release;
	s->grave[s->nr_grave].q = s->q;
	s->grave[s->nr_grave].m[0] = s->stage_in;
	s->grave[s->nr_grave].m[1] = s->stage_out;
	s->grave[s->nr_grave].m[2] = s->reqbuf;
	s->grave[s->nr_grave].m[3] = s->sched;
	s->grave[s->nr_grave].m[4] = scratch ? *scratch : NULL;
	s->nr_grave++;
	s->q = q;
	s->stage_in = m[0];
	s->stage_out = m[1];
	s->reqbuf = m[2];
	s->sched = m[3];
	if (scratch) {
		*scratch = m[4];
		(void)oclcp_cl_zero(s, m[4], 0, s->ctx_size);
	}
	return 0;

out_release:
	for (int i = 0; i < 5; i++)
		if (m[i])
			clReleaseMemObject(m[i]);
	if (q)
		clReleaseCommandQueue(q);
	return -VC_ENOMEM;
}

static vc_time_t time_finish(struct oclcp *s, vc_time_t t0)
{
	clFinish(s->q);
	return oclcp_now() - t0;
}

static cl_int go(struct oclcp *s, cl_kernel k, size_t n)
{
	return clEnqueueNDRangeKernel(s->q, k, 1, NULL, &n, NULL, 0, NULL, NULL);
}

/* Picoseconds per byte of @ns for @bytes, at least 1. */
static uint64_t ps_per(vc_time_t ns, uint64_t bytes)
{
	uint64_t ps = ns * 1000 / bytes;

	return ps ? ps : 1;
}

#define SETA(k, i, v) clSetKernelArg((k), (i), sizeof(v), &(v))

void oclcp_cl_measure(struct oclcp *s)
{
	const cl_ulong mib = 1 << 20, zero = 0, one = 1;
	uint32_t desc[8] = { 0, 0, 1 << 20, 0, 1, 2, 3, 4 };
	uint8_t slot[OCLCP_KEY_STRIDE] = { 1, 2, 3 };
	cl_uint nreq = 1, blocks = (1 << 20) / 16, pat = 0;
	vc_time_t t0, best = VC_TIME_INF, t;
	cl_ulong spins = 1 << 22;
	uint8_t *host = malloc(mib);

	if (!host)
		return;
	memset(host, 0x5a, mib);
	/* Warm up every kernel once (a first run may compile or page in). */
	SETA(s->k_fill, 0, s->stage_out); SETA(s->k_fill, 1, one); SETA(s->k_fill, 2, pat);
	for (int i = 0; i < 30; i++) {
		t0 = oclcp_now();
		go(s, s->k_fill, 64);
		t = time_finish(s, t0);
		if (i >= 5 && t < best)
			best = t;
	}
	s->overhead_ns = best;

	t0 = oclcp_now();
	clEnqueueWriteBuffer(s->q, s->stage_in, CL_TRUE, 0, mib, host, 0, NULL, NULL);
	clEnqueueReadBuffer(s->q, s->stage_in, CL_TRUE, 0, mib, host, 0, NULL, NULL);
	s->ps_xfer = ps_per(time_finish(s, t0) / 2, mib);

	SETA(s->k_move, 0, s->stage_in); SETA(s->k_move, 1, zero); SETA(s->k_move, 2, s->stage_out);
	SETA(s->k_move, 3, zero); SETA(s->k_move, 4, mib);
	go(s, s->k_move, mib / 16);
	t0 = oclcp_now();
	go(s, s->k_move, mib / 16);
	s->ps_move = ps_per(time_finish(s, t0), mib);

	{
		cl_ulong words = mib / 4;

		SETA(s->k_fill, 1, words);
		t0 = oclcp_now();
		go(s, s->k_fill, words);
		s->ps_fill = ps_per(time_finish(s, t0), mib);
	}
	SETA(s->k_crc, 0, s->stage_in); SETA(s->k_crc, 1, mib); SETA(s->k_crc, 2, s->stage_out);
	SETA(s->k_crc, 3, s->crc_tab);
	go(s, s->k_crc, 1);
	t0 = oclcp_now();
	go(s, s->k_crc, 1);
	s->ps_crc = ps_per(time_finish(s, t0), mib);
	SETA(s->k_sha, 0, s->stage_in); SETA(s->k_sha, 1, mib); SETA(s->k_sha, 2, s->stage_out);
	go(s, s->k_sha, 1);
	t0 = oclcp_now();
	go(s, s->k_sha, 1);
	s->ps_sha = ps_per(time_finish(s, t0), mib);

	slot[32] = 16;
	clEnqueueWriteBuffer(s->q, s->live_keys, CL_TRUE, 0, sizeof(slot), slot, 0, NULL, NULL);
	clEnqueueWriteBuffer(s->q, s->reqbuf, CL_TRUE, 0, sizeof(desc), desc, 0, NULL, NULL);
	SETA(s->k_enc, 0, s->reqbuf); SETA(s->k_enc, 1, s->live_keys); SETA(s->k_enc, 2, s->stage_in);
	SETA(s->k_enc, 3, s->stage_out); SETA(s->k_enc, 4, s->tab);
	go(s, s->k_enc, 1);
	t0 = oclcp_now();
	go(s, s->k_enc, 1);
	s->ps_aes_enc = ps_per(time_finish(s, t0), mib);
	SETA(s->k_dkey, 0, s->reqbuf); SETA(s->k_dkey, 1, s->live_keys); SETA(s->k_dkey, 2, s->sched);
	SETA(s->k_dkey, 3, s->tab);
	SETA(s->k_dec, 0, s->reqbuf); SETA(s->k_dec, 1, nreq); SETA(s->k_dec, 2, s->sched);
	SETA(s->k_dec, 3, s->stage_in); SETA(s->k_dec, 4, s->stage_out); SETA(s->k_dec, 5, s->tab);
	SETA(s->k_dec, 6, blocks);
	go(s, s->k_dkey, 1);
	go(s, s->k_dec, blocks);
	t0 = oclcp_now();
	go(s, s->k_dkey, 1);
	go(s, s->k_dec, blocks);
	s->ps_aes_dec = ps_per(time_finish(s, t0), mib);
	(void)oclcp_cl_zero(s, s->live_keys, 0, OCLCP_KEYS_BYTES);

	/* COMPUTE's chain: long enough to be measured well (>= 20 ms). */
	SETA(s->k_compute, 0, s->live_scratch); SETA(s->k_compute, 1, zero);
	SETA(s->k_compute, 3, s->sink);
	for (;;) {
		SETA(s->k_compute, 2, spins);
		t0 = oclcp_now();
		go(s, s->k_compute, 1);
		t = time_finish(s, t0);
		if (t >= VC_MSEC(20) || spins >= (1ull << 40))
			break;
		spins *= t < VC_MSEC(1) ? 16 : 2;
	}
	t = t > s->overhead_ns ? t - s->overhead_ns : 1;
	s->spin_per_us = spins * 1000 / t;
	if (!s->spin_per_us)
		s->spin_per_us = 1;

	/* A copied switch of a whole context: every page and the key slots, both ways. */
	{
		struct oclcp_ctx x = { .dev = s, .shadow = NULL };
		uint8_t *shadow = calloc(1, (size_t)s->ctx_size + OCLCP_KEYS_BYTES);

		if (shadow) {
			x.shadow = shadow;
			memset(s->live.dirty, 0xff, (s->nr_pages + 7) / 8);
			memset(x.st.dirty, 0xff, (s->nr_pages + 7) / 8);
			for (unsigned int p = s->nr_pages; p < OCLCP_DIRTY_WORDS * 64; p++) {
				s->live.dirty[p / 64] &= ~(1ull << (p % 64));
				x.st.dirty[p / 64] &= ~(1ull << (p % 64));
			}
			best = VC_TIME_INF;
			for (int i = 0; i < 5; i++) {
				t0 = oclcp_now();
				oclcp_move_out(s, &x);
				oclcp_move_in(s, &x);
				t = time_finish(s, t0);
				best = t < best ? t : best;
			}
			s->info.switch_copied_ns = best;
			memset(&s->live, 0, sizeof(s->live));
			memset(s->livebuf_dirty, 0, sizeof(s->livebuf_dirty));
			s->livebuf_owner = NULL;
			(void)oclcp_cl_zero(s, s->live_scratch, 0, s->ctx_size);
			free(shadow);
		}
		/* Resident: the host-side state both ways, and the queue kept in order. */
		best = VC_TIME_INF;
		for (int i = 0; i < 5; i++) {
			t0 = oclcp_now();
			x.st = s->live;
			s->live = x.st;
			t = time_finish(s, t0);
			best = t < best ? t : best;
		}
		s->info.switch_resident_ns = best ? best : 1;
	}
	free(host);
}

static int build(struct oclcp *s)
{
	const char *src = oclcp_kernels_cl;
	size_t len = strlen(src);
	cl_int e;

	s->prog = clCreateProgramWithSource(s->clctx, 1, &src, &len, &e);
	if (!s->prog)
		return -VC_ENOMEM;
	e = clBuildProgram(s->prog, 1, &s->dev, "-cl-std=CL1.2", NULL, NULL);
	if (e) {
		char log[2048] = "";

		clGetProgramBuildInfo(s->prog, s->dev, CL_PROGRAM_BUILD_LOG, sizeof(log) - 1, log,
				      NULL);
		vc_log(VC_LOG_ERR, "opencl: kernels do not build on %s: %s", s->info.device, log);
		return -VC_EIO;
	}
#define K(f, n) do { s->f = clCreateKernel(s->prog, n, &e); if (!s->f) return -VC_EIO; } while (0)
	K(k_move, "oclcp_move");
	K(k_fill, "oclcp_fill");
	K(k_crc, "oclcp_crc32c");
	K(k_sha, "oclcp_sha256");
	K(k_compute, "oclcp_compute");
	K(k_enc, "oclcp_aes_enc");
	K(k_dkey, "oclcp_aes_dkey");
	K(k_dec, "oclcp_aes_dec");
#undef K
	return 0;
}

int oclcp_cl_open(struct oclcp *s, const struct oclcp_config *cfg)
{
	uint32_t tab[OCLCP_TAB_WORDS], crc[256];
	cl_bool little = CL_FALSE;
	cl_int e;
	int err;

	err = pick(s, cfg);
	if (err)
		return err;
	clGetPlatformInfo(s->plat, CL_PLATFORM_NAME, sizeof(s->info.platform) - 1,
			  s->info.platform, NULL);
	clGetDeviceInfo(s->dev, CL_DEVICE_NAME, sizeof(s->info.device) - 1, s->info.device, NULL);
	clGetDeviceInfo(s->dev, CL_DEVICE_VERSION, sizeof(s->info.version) - 1, s->info.version,
			NULL);
	clGetDeviceInfo(s->dev, CL_DRIVER_VERSION, sizeof(s->info.driver) - 1, s->info.driver,
			NULL);
	clGetDeviceInfo(s->dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof(s->info.global_mem),
			&s->info.global_mem, NULL);
	clGetDeviceInfo(s->dev, CL_DEVICE_ENDIAN_LITTLE, sizeof(little), &little, NULL);
	if (!little)
		return -VC_ENODEV;
	s->info.ctx_size = s->ctx_size;
	s->info.resident_bytes = cfg->resident_bytes ? cfg->resident_bytes : s->info.global_mem / 4;
	if (s->residency == OCLCP_RES_NEVER)
		s->info.resident_bytes = 0;

	s->clctx = clCreateContext(NULL, 1, &s->dev, NULL, NULL, &e);
	if (!s->clctx)
		return -VC_ENODEV;
	err = build(s);
	if (err)
		goto out_close;
	err = -VC_ENOMEM;
	s->q = clCreateCommandQueue(s->clctx, s->dev, 0, &e);
	if (!s->q)
		goto out_close;
	tables(tab, crc);
	s->tab = buf(s, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof(tab), tab);
	s->crc_tab = buf(s, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof(crc), crc);
	s->sink = buf(s, CL_MEM_READ_WRITE, 64, NULL);
	s->stage_in = buf(s, CL_MEM_READ_WRITE, OCLCP_STAGE_BYTES, NULL);
	s->stage_out = buf(s, CL_MEM_READ_WRITE, OCLCP_STAGE_BYTES, NULL);
	s->reqbuf = buf(s, CL_MEM_READ_WRITE, OCLCP_BATCH_MAX * 32, NULL);
	s->sched = buf(s, CL_MEM_READ_WRITE, OCLCP_BATCH_MAX * OCLCP_RK_STRIDE * 4, NULL);
	if (!s->tab || !s->crc_tab || !s->sink || !s->stage_in || !s->stage_out || !s->reqbuf ||
	    !s->sched)
		goto out_close;
	if (oclcp_cl_alloc_ctx_bufs(s, &s->live_scratch, &s->live_keys))
		goto out_close;
	oclcp_cl_measure(s);
	s->info.cmd_overhead_ns = s->overhead_ns;
	s->info.spin_per_us = s->spin_per_us;
	s->info.switch_cost = s->residency == OCLCP_RES_ALWAYS ? s->info.switch_resident_ns
							       : s->info.switch_copied_ns;
	return 0;

out_close:
	oclcp_cl_close(s);
	return err;
}

void oclcp_cl_close(struct oclcp *s)
{
	cl_mem *mems[] = { &s->tab, &s->crc_tab, &s->sink, &s->stage_in, &s->stage_out,
			   &s->reqbuf, &s->sched, &s->live_scratch, &s->live_keys };
	cl_kernel *ks[] = { &s->k_move, &s->k_fill, &s->k_crc, &s->k_sha, &s->k_compute,
			    &s->k_enc, &s->k_dkey, &s->k_dec };

	while (s->nr_grave)
		bury_oldest(s);
	if (s->q) {
		if (s->live_scratch)
			(void)oclcp_cl_zero(s, s->live_scratch, 0, s->ctx_size);
		if (s->live_keys)
			(void)oclcp_cl_zero(s, s->live_keys, 0, OCLCP_KEYS_BYTES);
		clFinish(s->q);
		clReleaseCommandQueue(s->q);
		s->q = NULL;
	}
	/* Callbacks of the kernels the queues ran are all in by now. */
	while (__atomic_load_n(&s->callbacks, __ATOMIC_ACQUIRE))
		sched_yield();
	for (size_t i = 0; i < VC_ARRAY_SIZE(mems); i++)
		if (*mems[i]) {
			clReleaseMemObject(*mems[i]);
			*mems[i] = NULL;
		}
	for (size_t i = 0; i < VC_ARRAY_SIZE(ks); i++)
		if (*ks[i]) {
			clReleaseKernel(*ks[i]);
			*ks[i] = NULL;
		}
	if (s->prog)
		clReleaseProgram(s->prog);
	s->prog = NULL;
	if (s->clctx)
		clReleaseContext(s->clctx);
	s->clctx = NULL;
}
