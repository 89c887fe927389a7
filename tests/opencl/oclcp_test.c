// SPDX-License-Identifier: MIT
/* Helpers of the OpenCL platform's tests; see oclcp_test.h. */
#include <stdlib.h>
#include <time.h>

#include "oclcp_test.h"

uint32_t ord(struct oclcp_ctx *x, uint64_t off)
{
	uint64_t v = 0;

	assert_int_equal(oclcp_mmio(x, off, 4, false, &v), VC_IO_OK);
	return (uint32_t)v;
}

void owr(struct oclcp_ctx *x, uint64_t off, uint32_t v)
{
	uint64_t val = v;

	assert_int_not_equal(oclcp_mmio(x, off, 4, true, &val), VC_IO_BAD);
}

void oring_init(struct guest *g, struct oclcp_ctx *x)
{
	g->ring_gpa = g->gpa + GUEST_RING_OFF;
	g->ring_size = GUEST_RING_SIZE;
	g->tail = 0;
	owr(x, SIMCP_REG_RING_BASE_LO, (uint32_t)g->ring_gpa);
	owr(x, SIMCP_REG_RING_BASE_HI, (uint32_t)(g->ring_gpa >> 32));
	owr(x, SIMCP_REG_RING_SIZE, g->ring_size);
	owr(x, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	owr(x, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
}

void odoorbell(struct guest *g, struct oclcp_ctx *x)
{
	uint64_t v = g->tail;

	assert_int_equal(oclcp_mmio(x, SIMCP_REG_RING_TAIL, 4, true, &v), VC_IO_WORK);
}

static void nap(void)
{
	struct timespec ts = { 0, 200000 };

	nanosleep(&ts, NULL);
}

bool owait_done(struct guest *g, struct oclcp_ctx *x, unsigned int ms)
{
	for (unsigned int i = 0; i < ms * 5; i++) {
		if (ord(x, SIMCP_REG_STATUS) & SIMCP_STATUS_HALTED)
			return true;
		if (ord(x, SIMCP_REG_RING_HEAD) == g->tail &&
		    !(ord(x, SIMCP_REG_STATUS) & SIMCP_STATUS_BUSY))
			return true;
		nap();
	}
	return false;
}

bool swait_done(struct guest *g, unsigned int ms)
{
	for (unsigned int i = 0; i < ms * 5; i++) {
		if (rd(g->x, SIMCP_REG_STATUS) & SIMCP_STATUS_HALTED)
			return true;
		if (rd(g->x, SIMCP_REG_RING_HEAD) == g->tail &&
		    !(rd(g->x, SIMCP_REG_STATUS) & SIMCP_STATUS_BUSY))
			return true;
		nap();
	}
	return false;
}

struct oclcp *ocl_open(enum oclcp_residency res, struct ev_log *log)
{
	struct oclcp_config cfg = {
		.residency = res, .event = log ? ev_sink : NULL, .event_opaque = log,
		.device_name = getenv("VCOPROC_OPENCL_DEVICE"),
	};
	struct oclcp *s = NULL;

	assert_int_equal(oclcp_create(&cfg, &s), 0);
	return s;
}
