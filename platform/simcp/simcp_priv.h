/* SPDX-License-Identifier: MIT */
/*
 * DOC: simcp internals
 *
 * The objects behind struct simcp and struct simcp_ctx, shared by the
 * device model (simcp.c: registers, commands, DMA, interrupts), the engine
 * (engine.c: timing, the two back-ends, the switch protocol) and the glue
 * (platform.c).  Nothing outside platform/simcp includes this file.
 *
 * Locking: one mutex per device, s->lock, protects every field marked
 * "lock" below and the live state.  The only code that touches device
 * state without it is a command's data work (simcp_work()), which runs
 * while s->cur.phase == SIMCP_PH_WORK; whoever must change the live state
 * or drop the command waits for the phase to end (simcp_wait_work()).
 * Events are queued under the lock and delivered by the engine after it
 * drops the lock.
 */
#ifndef SIMCP_PRIV_H
#define SIMCP_PRIV_H

#include <pthread.h>
#include <stdbool.h>

#include "simcp.h"

/* Architectural registers of one context; all zero is the reset state. */
struct simcp_regs {
	uint64_t ring_base;
	uint64_t fence;
	uint64_t fault_addr;
	uint64_t cmds_done;   /* 64-bit; CMDS_DONE shows the low half */
	uint32_t control;     /* SIMCP_CTRL_ENABLE; the W1 bits are not kept */
	uint32_t irq_status;
	uint32_t irq_mask;
	uint32_t ring_size;
	uint32_t head;
	uint32_t tail;
	uint32_t fault_code;
	uint32_t fault_head;
	bool halted;
};

/*
 * One key slot (SIMCP_OP_KEY): the raw key.  The AES key schedule is not
 * kept: each AES_CBC command expands its key again (part of its overhead),
 * so a switch moves 36 bytes per slot and nothing derived from them.
 */
struct simcp_keyslot {
	uint32_t len;                /* 0 (empty), 16, 24 or 32 */
	uint8_t key[SIMCP_KEY_MAX];  /* bytes past len are 0 */
};

/*
 * Scratch memory is tracked in pages: a context's state records which
 * pages it has written since it was made or reset (dirty), and a switch
 * moves only those.  A page not dirty reads as zero.
 */
#define SIMCP_PAGE_SHIFT    12
#define SIMCP_PAGE_SIZE     (1u << SIMCP_PAGE_SHIFT)
#define SIMCP_CTX_SIZE_MIN  SIMCP_PAGE_SIZE
#define SIMCP_CTX_SIZE_MAX  (16u * 1024u * 1024u)
#define SIMCP_MAX_PAGES     (SIMCP_CTX_SIZE_MAX / SIMCP_PAGE_SIZE)
#define SIMCP_DIRTY_WORDS   (SIMCP_MAX_PAGES / 64)

/*
 * Everything a context switch moves: registers, the count of commands
 * completed, the key slots in use, the dirty-page bitmap and the dirty
 * pages of scratch memory (simcp_state_bytes()).  Every byte of @scratch
 * outside the pages marked in @dirty is zero: that is what keeps a switch
 * from moving them and a context from seeing another's data.
 */
struct simcp_state {
	struct simcp_regs r;
	/*
	 * Commands completed since the context was made: the platform's
	 * progress() (hang detection, job statistics).  Unlike CMDS_DONE it
	 * survives CONTROL.RESET, so a driver that resets its device does not
	 * turn the framework's counts back.
	 */
	uint64_t completed;
	struct simcp_keyslot keys[SIMCP_KEY_SLOTS];
	uint64_t dirty[SIMCP_DIRTY_WORDS]; /* bit p: scratch page p written */
	uint8_t *scratch;                  /* ctx_size bytes, owned by the state */
};

struct simcp_ctx {
	struct simcp *dev;
	uint32_t tag;
	vc_time_t work_at;     /* simcp_now() when a register write last gave it work (lock) */
	struct simcp_state st; /* saved state; stale while the ctx is loaded */
};

enum simcp_phase {
	SIMCP_PH_NONE,  /* no command in flight */
	SIMCP_PH_WORK,  /* its data work is being done, without the lock */
	SIMCP_PH_TIMED, /* waiting for its modeled end */
};

/* A translated DMA range: part of an AES_CBC source or destination. */
struct simcp_seg {
	uint8_t *p;
	uint64_t len;
};

/* AES_CBC works through this much of a device buffer at a time. */
#define SIMCP_AES_CHUNK (16u * 1024u)

/* The command in flight on the live state. */
struct simcp_inflight {
	enum simcp_phase phase;
	struct simcp_cmd cmd;   /* decoded copy: the ring is read once */
	uint32_t head;          /* ring offset it came from */
	uint32_t fault;         /* SIMCP_FAULT_* it retires with, 0 none */
	uint64_t fault_addr;
	bool poll;              /* an unsatisfied WAIT: re-check at end */
	bool ring_changed;      /* ring reprogrammed meanwhile: no head advance */
	vc_time_t start, end;   /* modeled */
	const uint8_t *src;     /* translated DMA source, NULL none */
	uint8_t *dst;           /* translated DMA destination, NULL none */
	const uint8_t *iv;      /* AES_CBC: translated IV */
	unsigned int nr_seg[2]; /* AES_CBC: entries of simcp.seg[0] (src), [1] (dst) */
};

struct simcp_event {
	uint32_t tag;
	enum vc_event ev;
};

#define SIMCP_EVQ_LEN 32

/* OpenSSL's types (openssl/evp.h), for simcp.c alone to use. */
struct evp_cipher_ctx_st;
struct evp_cipher_st;

struct simcp {
	enum simcp_mode mode;
	struct simcp_timing t;      /* defaults filled in */
	vc_time_t ctx_ns;           /* save or load of a whole context (worst case) */
	uint32_t ctx_size;          /* bytes of scratch per context */
	unsigned int nr_pages;      /* ctx_size / SIMCP_PAGE_SIZE */
	vc_time_t max_nonpreempt;   /* as configured (reported to the framework) */
	vc_time_t np_bound;         /* enforced bound on a non-preemptible section */
	vc_time_t stop_hold_ns;

	pthread_mutex_t lock;
	pthread_cond_t cond;        /* engine wake-ups and phase/delivery ends */
	pthread_t thread;           /* SIMCP_MODE_THREAD */
	struct vc_os_timer *timer;  /* SIMCP_MODE_VTIME */

	/*
	 * Protected by lock.  What the device has seen (simcp_seen()), THREAD
	 * mode: the engine thread's last run, what it sleeps until
	 * (VC_TIME_INF: a kick; 0 while it runs) and the first kick while it
	 * slept (VC_TIME_INF: none).
	 */
	vc_time_t run_at, sleep_until, kicked_at;
	bool exiting;
	simcp_event_fn sink;        /* where events go, NULL: dropped */
	void *sink_opaque;
	bool own_sink;              /* sink came from the config */
	struct vc_coproc *coproc;   /* attached framework coproc */
	unsigned int delivering;    /* event deliveries under way */

	const struct vc_iommu *iommu;
	struct simcp_ctx *owner;    /* ctx whose state is in live, or NULL */
	bool loaded;                /* live is owner's current state */
	bool started;
	bool stop_pending;          /* accepted stop: stop at the next retire */
	bool idle_reported;
	bool chain;                 /* busy without a gap since chain_end */
	vc_time_t chain_end;
	bool resume;                /* started with work: the first command */
	vc_time_t resume_at;        /*   begins at resume_at, not at a wake-up */
	vc_time_t lag;              /* THREAD: how late the thread reached the
				     * boundary whose events it delivers next */
	vc_time_t busy_until;       /* save/load/scrub occupy the device till */
	vc_time_t hold_until;       /* after a refused stop: begin nothing till */
	/*
	 * The non-preemptible section under way on the live state: np_open
	 * while it runs (from its first command's begin to its last one's
	 * retire, between the commands of a chain included), np_spent its
	 * modeled time so far (the commands begun in it), np_refused when a
	 * stop was refused during it (the hold follows its end).
	 */
	bool np_open;
	bool np_refused;
	vc_time_t np_spent;
	struct simcp_inflight cur;
	struct simcp_event evq[SIMCP_EVQ_LEN];
	unsigned int nr_ev;
	struct simcp_stats stats;

	struct simcp_state live;

	/*
	 * AES_CBC: the ciphers (AES-128/192/256-CBC; all NULL when libcrypto
	 * has none: no SIMCP_CAP_AES), the cipher context, the command's
	 * translated segments and a bounce buffer.  Set up at creation; the
	 * rest belong to the command in flight (s->cur), filled by its begin
	 * under the lock and used by its data work, which leaves the context
	 * and the buffer scrubbed.
	 */
	struct evp_cipher_st *aes[3];
	struct evp_cipher_ctx_st *evp;
	struct simcp_seg seg[2][SIMCP_SG_MAX_ENTRIES];
	uint8_t aes_buf[SIMCP_AES_CHUNK];
};

/* ---- simcp.c: the device model; s->lock held unless noted ------------ */

/* Zero @len bytes at @p (not elided by the compiler). */
void simcp_scrub(void *p, size_t len);

/*
 * Back to the reset state, scrubbed: registers, key slots and the dirty
 * pages of scratch zeroed, no page dirty.  The scratch buffer stays.
 */
void simcp_state_scrub(const struct simcp *s, struct simcp_state *st);

/* Bytes a save or load of @st moves (registers, keys in use, bitmap, dirty pages). */
uint64_t simcp_state_bytes(const struct simcp *s, const struct simcp_state *st);

/*
 * Copy @src to @dst as a switch does: registers, keys, bitmap and @src's
 * dirty pages; pages dirty in @dst only are zeroed.  Returns the bytes
 * moved, simcp_state_bytes(@src).
 */
uint64_t simcp_state_move(const struct simcp *s, struct simcp_state *dst,
			  const struct simcp_state *src);

/* Modeled time of a save, load or scrub that moves @bytes. */
vc_time_t simcp_move_ns(const struct simcp *s, uint64_t bytes);

/*
 * For a stop refused in a non-preemptible section: the modeled time of
 * the section's commands after the one in flight (or after the last
 * retired, at a boundary) that are submitted up to TAIL.
 */
vc_time_t simcp_np_rest(struct simcp *s);

bool simcp_state_has_work(const struct simcp_state *st);

/* Decode the command at HEAD and check it: fills s->cur, phase WORK or TIMED. */
void simcp_begin(struct simcp *s, vc_time_t start);

/*
 * The data work of s->cur; called without the lock in phase WORK.  May
 * turn the command into a fault (s->cur.fault) when the device itself
 * fails (libcrypto refusing a cipher operation).
 */
void simcp_work(struct simcp *s);

/* libcrypto's AES for @s (at creation): 0, or -VC_ENOMEM.  None at all is not an error. */
int simcp_aes_init(struct simcp *s);
void simcp_aes_fini(struct simcp *s);

/* For a polling WAIT: is its semaphore now satisfied? */
bool simcp_wait_satisfied(const struct simcp *s);

/* Apply s->cur's effects at its end: head, fence, fault, irq, counters. */
void simcp_retire(struct simcp *s);

/* Queue @ev for @tag (deduplicated); the caller makes the engine run. */
void simcp_queue_event(struct simcp *s, uint32_t tag, enum vc_event ev);

/* Set IRQ_STATUS @bits in @st (of context @tag); queue VC_EV_IRQ on an edge. */
void simcp_raise(struct simcp *s, struct simcp_state *st, uint32_t tag, uint32_t bits);

/* The hang reset of platform.h on @st (IRQ_STATUS.ERROR set, no event). */
void simcp_hang_reset(struct simcp_state *st);

/* ---- engine.c: the engine; s->lock held -------------------------------- */

/* The device's clock: vc_os_now() (vtime) or CLOCK_MONOTONIC (thread). */
vc_time_t simcp_now(const struct simcp *s);

/* Make the engine look at the device again (and deliver queued events). */
void simcp_kick(struct simcp *s);

/* simcp_kick() in two halves: the mark with s->lock held, the wake-up after. */
void simcp_kick_mark(struct simcp *s);
void simcp_kick_wake(struct simcp *s);

/* Wait until no command's data work is under way. */
void simcp_wait_work(struct simcp *s);

/*
 * Drop the command in flight on the live state (after simcp_wait_work()).
 * A stop that was waiting for it completes: with VC_EV_STOPPED when
 * @report_stop.
 */
void simcp_abort(struct simcp *s, bool report_stop);

#endif /* SIMCP_PRIV_H */
