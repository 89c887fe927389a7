/* SPDX-License-Identifier: MIT */
/*
 * DOC: OpenCL platform internals
 *
 * Shared by device.c (registers, command fetch and checks, retirement),
 * engine.c (the device thread, the kernels' execution, the switch
 * protocol), cl.c (OpenCL set-up, buffers, measurements) and platform.c
 * (the framework's hooks).  Nothing outside platform/opencl includes it.
 *
 * Locking: s->lock protects everything marked "lock" and the live state.
 * The device thread drops it while it enqueues a command's transfers and
 * kernel (phase OCLCP_PH_SUBMIT) and while it reads a result back
 * (OCLCP_PH_READBACK); whoever must change the live state or the buffers
 * waits for those phases to end (oclcp_wait_phase()).  While a kernel
 * runs (OCLCP_PH_KERNEL) the lock is free and the kernel may be
 * abandoned (oclcp_abandon()).  OpenCL event callbacks take no lock
 * (struct oclcp_kwait), so blocking OpenCL calls may be made under it.
 */
#ifndef OCLCP_PRIV_H
#define OCLCP_PRIV_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <pthread.h>
#include <stdbool.h>

#include "oclcp.h"

#define OCLCP_PAGE_SHIFT   12
#define OCLCP_PAGE_SIZE    (1u << OCLCP_PAGE_SHIFT)
#define OCLCP_CTX_SIZE_MAX (16u * 1024u * 1024u)
#define OCLCP_DIRTY_WORDS  (OCLCP_CTX_SIZE_MAX / OCLCP_PAGE_SIZE / 64)
#define OCLCP_KEY_STRIDE   48u   /* kernels.cl: key, then its length */
#define OCLCP_KEYS_BYTES   (SIMCP_KEY_SLOTS * OCLCP_KEY_STRIDE)
#define OCLCP_RK_STRIDE    64u   /* uints of one request's decryption schedule */
#define OCLCP_BATCH_MAX    64u   /* AES_CBC requests in one kernel */
#define OCLCP_STAGE_BYTES  (SIMCP_MAX_LEN + 4096u)
#define OCLCP_TAB_WORDS    1024u /* Te0, Td0, S-box, inverse S-box */
#define OCLCP_POLL_NS      20000u /* WAIT re-check period */
#define OCLCP_GRAVE        8u

/* The register file of one context; all zero is the reset state. */
struct oclcp_regs {
	uint64_t ring_base, fence, fault_addr, cmds_done;
	uint32_t control, irq_status, irq_mask, ring_size, head, tail;
	uint32_t fault_code, fault_head;
	bool halted;
};

/*
 * What the host knows of a context besides its buffers: registers, the
 * commands completed (progress), which key slots are loaded (not the
 * keys: those are on the device) and which scratch pages were written.
 */
struct oclcp_state {
	struct oclcp_regs r;
	uint64_t completed;
	uint8_t key_len[SIMCP_KEY_SLOTS];
	uint64_t dirty[OCLCP_DIRTY_WORDS];
};

struct oclcp_ctx {
	struct oclcp *dev;
	uint32_t tag;
	bool resident;
	struct oclcp_state st;  /* saved; stale while loaded (lock) */
	/* Resident: its own buffers.  Copied: host copies of them. */
	cl_mem scratch, keys;
	uint8_t *shadow;        /* copied: ctx_size scratch bytes, then the key slots */
};

enum oclcp_phase {
	OCLCP_PH_NONE,     /* no command in flight */
	OCLCP_PH_SUBMIT,   /* its inputs and kernel are being enqueued (unlocked) */
	OCLCP_PH_KERNEL,   /* its kernel runs; the thread waits for it */
	OCLCP_PH_READBACK, /* its result is being moved back (unlocked) */
	OCLCP_PH_POLL,     /* a WAIT not yet satisfied */
};

/* A translated guest range: part of an AES_CBC source or destination. */
struct oclcp_seg {
	uint8_t *p;
	uint64_t len;
};

/* One AES_CBC request of a batch. */
struct oclcp_req {
	struct simcp_cmd cmd;
	uint32_t head;
	uint64_t off;           /* its data in the staging buffers */
	uint8_t iv[SIMCP_AES_BLOCK];
	unsigned int seg0[2], nseg[2]; /* its segments in s->seg[0] (src), [1] (dst) */
};

/*
 * What a kernel's completion callback reports, shared by the callback and
 * the device thread (two references, the last one frees it): the callback
 * takes no lock - PoCL runs callbacks on its worker threads, which a
 * thread blocked in clFinish() under s->lock would otherwise wait for.
 */
struct oclcp_kwait {
	struct oclcp *s;
	int refs;       /* atomic */
	int done;       /* atomic: the kernel completed */
	cl_int status;  /* valid once done */
};

/* The command (or AES batch) in flight. */
struct oclcp_inflight {
	enum oclcp_phase phase;
	struct simcp_cmd cmd;   /* the first (or only) command: the ring is read once */
	uint32_t head;
	uint32_t fault;
	uint64_t fault_addr;
	bool ring_changed;
	vc_time_t start, expected_end;
	const uint8_t *src;
	uint8_t *dst;
	unsigned int nreq;      /* AES_CBC: requests in the batch (>= 1) */
	bool kdone;             /* nothing to wait for, or its kernel completed */
	cl_int kstatus;
	struct oclcp_kwait *kw; /* its kernel's callback, NULL none */
};

struct oclcp_event {
	uint32_t tag;
	enum vc_event ev;
};

#define OCLCP_EVQ_LEN 32

struct oclcp {
	/* Set at creation, then read-only. */
	struct oclcp_info info;
	uint32_t ctx_size;
	unsigned int nr_pages;
	enum oclcp_residency residency;
	vc_time_t max_nonpreempt, np_bound, hold_ns;
	unsigned int overrun_factor;
	vc_time_t overrun_slack;
	/* Measured rates: picoseconds per byte, per command kind. */
	uint64_t ps_move, ps_fill, ps_crc, ps_sha, ps_aes_enc, ps_aes_dec, ps_xfer;
	vc_time_t overhead_ns;
	uint64_t spin_per_us;

	cl_platform_id plat;
	cl_device_id dev;
	cl_context clctx;
	cl_program prog;
	cl_kernel k_move, k_fill, k_crc, k_sha, k_compute, k_enc, k_dkey, k_dec;
	cl_mem tab, crc_tab, sink;   /* constant tables; COMPUTE's sink */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool exiting;                /* lock */
	/*
	 * lock: the queue commands go to, and the buffers a command uses:
	 * replaced when a kernel is abandoned (the old ones live until it
	 * ends: OpenCL keeps them while a command uses them).
	 */
	cl_command_queue q;
	cl_mem stage_in, stage_out, reqbuf, sched;
	cl_mem live_scratch, live_keys;  /* copied contexts, while loaded */
	unsigned int callbacks;      /* atomic: OpenCL callbacks still to come */
	uint64_t resident_used;      /* bytes of resident buffers allocated */

	oclcp_event_fn sink_fn;
	void *sink_opaque;
	bool own_sink;
	unsigned int delivering;

	const struct vc_iommu *iommu;
	struct oclcp_ctx *owner;     /* whose state is live */
	bool loaded, started;
	bool idle_reported;
	bool stop_wanted;            /* a stop was refused: begin nothing until the retry */
	vc_time_t hold_until;
	vc_time_t retry_at;           /* when the refused stop said to ask again */
	bool np_open;                /* a non-preemptible section is open */
	vc_time_t np_spent;
	vc_time_t busy_until;        /* copied switch steps end about then */
	vc_time_t kicked_at;         /* first kick the sleeping thread has not seen */
	bool sleeping;
	struct oclcp_state live;
	/*
	 * lock: the pages of the live scratch buffer that hold data of the
	 * copied context loaded last (livebuf_owner): the next copied load
	 * zeroes those it does not write, so no context sees another's data.
	 */
	uint64_t livebuf_dirty[OCLCP_DIRTY_WORDS];
	struct oclcp_ctx *livebuf_owner;
	/*
	 * lock: queues and buffers of abandoned kernels, released once those
	 * kernels end (at the latest when the list is full, or at destroy).
	 */
	struct {
		cl_command_queue q;
		cl_mem m[5];
	} grave[OCLCP_GRAVE];
	unsigned int nr_grave;
	struct oclcp_inflight cur;
	struct oclcp_req req[OCLCP_BATCH_MAX];
	struct oclcp_seg seg[2][SIMCP_SG_MAX_ENTRIES * 2];
	unsigned int nr_seg[2];
	uint8_t *bounce_in, *bounce_out; /* AES_CBC gather / scatter */
	struct oclcp_event evq[OCLCP_EVQ_LEN];
	unsigned int nr_ev;
	struct oclcp_stats stats;
};

/* ---- device.c (s->lock held unless noted) ---- */
void oclcp_scrub(void *p, size_t len);
bool oclcp_state_has_work(const struct oclcp_state *st);
void oclcp_queue_event(struct oclcp *s, uint32_t tag, enum vc_event ev);
void oclcp_raise(struct oclcp *s, struct oclcp_state *st, uint32_t tag, uint32_t bits);
void oclcp_mark_dirty(struct oclcp_state *st, uint64_t off, uint64_t len);
bool oclcp_page_dirty(const struct oclcp_state *st, unsigned int p);
/*
 * Fetch and check the command at HEAD, and the AES_CBC commands after it
 * that can join its batch: fills s->cur (fault set, or ready to submit).
 */
void oclcp_begin(struct oclcp *s, vc_time_t now);
/* For a polling WAIT: is its semaphore satisfied? */
bool oclcp_wait_satisfied(const struct oclcp *s);
/* Retire s->cur: HEAD, FENCE, faults, interrupts, counters. */
void oclcp_retire(struct oclcp *s);
void oclcp_hang_reset(struct oclcp_state *st);
/* Expected time of the non-preemptible commands submitted after s->cur. */
vc_time_t oclcp_np_rest(struct oclcp *s);

/* ---- cl.c ---- */
int oclcp_cl_open(struct oclcp *s, const struct oclcp_config *cfg);
void oclcp_cl_close(struct oclcp *s);
/* Zero @len bytes of @m at @off on queue s->q (blocking). */
int oclcp_cl_zero(struct oclcp *s, cl_mem m, size_t off, size_t len);
/* New queue, staging buffers and (when @scratch) scratch for the live state. */
int oclcp_cl_renew(struct oclcp *s, cl_mem *scratch);
void oclcp_cl_measure(struct oclcp *s);
int oclcp_cl_alloc_ctx_bufs(struct oclcp *s, cl_mem *scratch, cl_mem *keys);
const char *oclcp_cl_strerror(cl_int e);

/* ---- engine.c (s->lock held) ---- */
vc_time_t oclcp_now(void);
void oclcp_kick(struct oclcp *s);
void oclcp_wait_phase(struct oclcp *s);
/* Drop the command in flight: a kernel running is abandoned. */
void oclcp_abandon(struct oclcp *s);
/* The buffers of the loaded context. */
cl_mem oclcp_cur_scratch(struct oclcp *s);
cl_mem oclcp_cur_keys(struct oclcp *s);
/* Submit s->cur (unlocked): 0 or a CL error. */
cl_int oclcp_submit(struct oclcp *s);
/* Move s->cur's result back (unlocked): 0 or a CL error. */
cl_int oclcp_readback(struct oclcp *s);
/* Save / load the live state of a copied context: the bytes moved. */
uint64_t oclcp_move_out(struct oclcp *s, struct oclcp_ctx *x);
uint64_t oclcp_move_in(struct oclcp *s, struct oclcp_ctx *x);

#endif /* OCLCP_PRIV_H */
