/* SPDX-License-Identifier: MIT */
/*
 * DOC: a fake vhost-user frontend for the backend's tests
 *
 * The frontend end of a socketpair (or of a connection to vu_listen()'s
 * socket), guest memory in two memfds laid out as QEMU 7.2 lays out a
 * small machine's (gpa 0 .. 64 KiB from one fd; gpa 1 MiB .. 2 MiB from
 * the other at mmap_offset 64 KiB), mapped here so the test can write
 * rings itself as a guest driver would, and a poll()-based stand-in for
 * the owner's loop (fe_pump()).  Ownership: everything is the test's;
 * fe_fini() releases it.  Single-threaded.
 */
#ifndef TESTS_VHOST_FRONTEND_H
#define TESTS_VHOST_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost_user.h"

#define FE_R0_GPA   0x0ull
#define FE_R0_SIZE  0x10000ull
#define FE_R1_GPA   0x100000ull
#define FE_R1_SIZE  0x100000ull
#define FE_R1_OFF   0x10000ull

#define FE_DESC_GPA  0x100000ull   /* rings in region 1 */
#define FE_AVAIL_GPA 0x106000ull
#define FE_USED_GPA  0x108000ull
#define FE_IND_GPA   0x110000ull   /* indirect tables */
#define FE_DATA_GPA  0x120000ull   /* buffers */

#define F_NEED_REPLY 0x8u

enum {
	R_GET_FEATURES = 1, R_SET_FEATURES, R_SET_OWNER, R_RESET_OWNER, R_SET_MEM_TABLE,
	R_SET_LOG_BASE, R_SET_LOG_FD, R_SET_VRING_NUM, R_SET_VRING_ADDR, R_SET_VRING_BASE,
	R_GET_VRING_BASE, R_SET_VRING_KICK, R_SET_VRING_CALL, R_SET_VRING_ERR,
	R_GET_PROTOCOL_FEATURES, R_SET_PROTOCOL_FEATURES, R_GET_QUEUE_NUM, R_SET_VRING_ENABLE,
	R_GET_CONFIG = 24, R_SET_CONFIG, R_CREATE_CRYPTO_SESSION, R_CLOSE_CRYPTO_SESSION,
};

struct fe {
	struct vu_dev dev;
	int sock;                 /* the frontend's end */
	int memfd[2];
	uint8_t *map[2];          /* the frontend's view: uva */
	int kick, call, err;      /* the frontend's eventfds (nonblocking) */
	uint16_t num;
	struct vu_desc *desc;     /* the driver's view of the rings */
	struct vu_avail *avail;
	struct vu_used *used;
	uint16_t avail_idx;
	/* what the device ops saw */
	int kicks, stops, connects, disconnects, mem_changes, creates, closes;
	char why[VU_WHY_MAX];
	int64_t next_id;
	int create_result, close_result;
	struct vu_crypto_session_req last_req;
	uint8_t last_key[VU_CRYPTO_MAX_KEY];
	uint64_t last_closed;
	void (*on_mem_changed)(struct fe *fe);
};

extern const struct vu_dev_ops fe_dev_ops;
extern const struct vu_watch_ops fe_watch_ops;

/* Guest memory, the socketpair, the device; fe->sock connected to it. */
void fe_init(struct fe *fe);
/* Guest memory and the device only (vu_listen tests). */
void fe_init_nosock(struct fe *fe);
void fe_fini(struct fe *fe);

/* Run the backend's watched fds until none is ready. */
void fe_pump(void);

void *fe_gpa(struct fe *fe, uint64_t gpa);
uint64_t fe_uva(struct fe *fe, uint64_t gpa);

int fe_send(int sock, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
	    const int *fds, unsigned int nfds);
/* Send, pump, and return the reply's size (its payload in @buf), or -1 if none came. */
int fe_call(struct fe *fe, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
	    const int *fds, unsigned int nfds, void *buf, uint32_t buflen);
/* A reply waiting on @sock: its size, -1 if none, -2 if the socket was closed. */
int fe_recv(int sock, uint32_t req, void *buf, uint32_t buflen);

uint64_t fe_get_u64(struct fe *fe, uint32_t req);
/* Send with NEED_REPLY; returns the ack (0 success). */
uint64_t fe_ack(struct fe *fe, uint32_t req, const void *payload, uint32_t size,
		const int *fds, unsigned int nfds);

/* The memory table as QEMU 7.2 sends it (flags 0x9); returns the ack. */
uint64_t fe_mem_table(struct fe *fe);
/* The QEMU 7.2 sequence up to a started ring of @num entries. */
void fe_negotiate(struct fe *fe, uint16_t num);

/* The driver: descriptors, the available ring, eventfds. */
void fe_desc(struct fe *fe, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
	     uint16_t next);
void fe_ind(struct fe *fe, uint64_t table_gpa, unsigned int i, uint64_t addr, uint32_t len,
	    uint16_t flags, uint16_t next);
void fe_avail(struct fe *fe, uint16_t head);
bool fe_signalled(int efd);

#endif /* TESTS_VHOST_FRONTEND_H */
