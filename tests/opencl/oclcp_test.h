/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the OpenCL platform's tests: the same guest (memory, IOMMU
 * context, ring) driven on an OpenCL coprocessor and on simcp, and
 * waiting on real time for either to finish.  The guest, the command
 * builders and OpenSSL's reference AES are tests/simcp/simcp_test.c's.
 */
#ifndef OCLCP_TEST_H
#define OCLCP_TEST_H

#include "oclcp.h"
#include "simcp_test.h"

uint32_t ord(struct oclcp_ctx *x, uint64_t off);
void owr(struct oclcp_ctx *x, uint64_t off, uint32_t v);
/* RING_BASE/SIZE at the guest's ring, IRQ_MASK, ENABLE, on @x. */
void oring_init(struct guest *g, struct oclcp_ctx *x);
void odoorbell(struct guest *g, struct oclcp_ctx *x);
/* Wait (real time, at most @ms) until @x's HEAD reaches the driver's tail or it halts. */
bool owait_done(struct guest *g, struct oclcp_ctx *x, unsigned int ms);
/* The same for simcp. */
bool swait_done(struct guest *g, unsigned int ms);
/* An oclcp device on PoCL's (or the first) OpenCL device, with @res. */
struct oclcp *ocl_open(enum oclcp_residency res, struct ev_log *log);

#endif /* OCLCP_TEST_H */
