/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the simcp tests: a guest with its own memory and
 * IOMMU context, a command ring in that memory, register access through
 * simcp_mmio(), and a log of the device's events with their times.
 */
#ifndef SIMCP_TEST_H
#define SIMCP_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "simcp.h"

/* One guest: @size bytes of host memory at guest-physical @gpa. */
struct guest {
	uint8_t *mem;
	uint64_t gpa;
	uint64_t size;
	struct vc_iommu_region region;
	struct vc_iommu io;
	struct simcp_ctx *x;   /* its context */
	uint64_t ring_gpa;
	uint32_t ring_size;
	uint32_t tail;         /* the driver's copy */
};

#define GUEST_RING_OFF 0x0      /* ring at the start of guest memory */
#define GUEST_RING_SIZE 4096u   /* 127 commands */
#define GUEST_DATA_OFF 0x10000  /* data area */

/* Memory (zeroed) and the IOMMU context; the ring is not set up. */
void guest_init(struct guest *g, uint64_t gpa, uint64_t size);
void guest_fini(struct guest *g);

/* Host address of guest-physical @gpa (must be inside). */
void *gp(struct guest *g, uint64_t gpa);

/* RING_BASE/SIZE at gpa + GUEST_RING_OFF, IRQ_MASK @irq_mask, ENABLE. */
void guest_ring_init(struct guest *g, uint32_t irq_mask);

/* Write @c at the driver's tail; returns its ring offset (no doorbell). */
uint32_t guest_push(struct guest *g, struct simcp_cmd c);

/* Write RING_TAIL; asserts VC_IO_WORK. */
void guest_doorbell(struct guest *g);

/* Push and ring. */
uint32_t guest_submit(struct guest *g, struct simcp_cmd c);

/* Register access to @x asserting the access is valid. */
uint32_t rd(struct simcp_ctx *x, uint64_t off);
void wr(struct simcp_ctx *x, uint64_t off, uint32_t v);

/* Commands. */
struct simcp_cmd cmd_nop(void);
struct simcp_cmd cmd_fence(uint64_t value, uint64_t wb, uint8_t flags);
struct simcp_cmd cmd_copy(uint64_t src, uint64_t dst, uint32_t len);
struct simcp_cmd cmd_fill(uint64_t dst, uint32_t len, uint32_t pattern);
struct simcp_cmd cmd_hash(uint16_t algo, uint64_t src, uint32_t len, uint64_t dst);
struct simcp_cmd cmd_load(uint64_t src, uint32_t scratch_off, uint32_t len);
struct simcp_cmd cmd_store(uint32_t scratch_off, uint64_t dst, uint32_t len);
struct simcp_cmd cmd_compute(uint64_t ns, uint32_t len, uint8_t flags);
struct simcp_cmd cmd_wait(uint64_t sem, uint64_t value, uint8_t flags);
struct simcp_cmd cmd_key(unsigned int slot, uint64_t key, uint32_t len);
struct simcp_cmd cmd_aes(uint16_t arg, uint64_t src, uint64_t dst, uint32_t len, uint64_t iv);

/* OpenSSL's AES-CBC without padding, the reference: @len bytes @in -> @out. */
void ref_cbc(const uint8_t *key, size_t klen, const uint8_t *iv, bool dec,
	     const uint8_t *in, uint8_t *out, size_t len);

/* The device's events, with the time they were delivered. */
struct ev_rec {
	uint32_t tag;
	enum vc_event ev;
	vc_time_t at;
};

#define EV_LOG_MAX 4096

struct ev_log {
	struct ev_rec e[EV_LOG_MAX];
	unsigned int n;
	unsigned int overflow;
};

/* A simcp_event_fn for simcp_config.event; @opaque is a struct ev_log. */
void ev_sink(void *opaque, uint32_t tag, enum vc_event ev);
unsigned int ev_count(const struct ev_log *l, uint32_t tag, enum vc_event ev);
/* Index of the first event (tag, ev) at or after @from, or -1. */
int ev_find(const struct ev_log *l, unsigned int from, uint32_t tag, enum vc_event ev);

#endif /* SIMCP_TEST_H */
