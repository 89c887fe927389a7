/* SPDX-License-Identifier: MIT */
/*
 * DOC: simcp native driver
 *
 * The driver a domain (a VM's kernel, a scripted simulator domain) uses to
 * run work on a simcp coprocessor.  It is written for bare metal: it owns
 * "its" device and does not know that the framework may be time-slicing the
 * device between several domains and emulating its registers on a saved
 * context.  That is the point - the same code runs on a real device.
 *
 * Freestanding: it needs stdint.h, stddef.h and stdbool.h only, plus the
 * memcpy the compiler may call for a struct copy (as for any freestanding
 * C).  The environment hands it two things:
 *
 *   - register accessors (struct simcp_drv_bus): 32-bit reads and writes at
 *     a byte offset of the device's 4 KiB register window, with an opaque
 *     pointer - an MMIO mapping, a trapping page, vc_domain_mmio();
 *   - a command ring (struct simcp_drv_ring): memory the driver writes
 *     through @va and the device reads by DMA at the device address @pa.
 *
 * Model: commands are queued with simcp_drv_submit() (the driver keeps its
 * own copy of RING_TAIL) and handed to the device by simcp_drv_kick(), the
 * doorbell.  simcp_drv_fence() queues a FENCE with the next value of a
 * 64-bit sequence; completion of work is observed through the device's
 * FENCE register (simcp_drv_fence_done()) and, for fences emitted with an
 * interrupt, through simcp_drv_irq() called from the interrupt handler.  A
 * fault halts the ring: simcp_drv_irq() reports SIMCP_IRQ_ERROR with the
 * FAULT_* registers, and simcp_drv_recover() resumes or resets.
 *
 * Errors: functions return 0 (or a count) or a negative SIMCP_DRV_E* code
 * below; simcp_drv_strerror() names them.
 *
 * Concurrency: none.  The caller serializes all calls on one struct
 * simcp_drv (e.g. interrupts off, or a lock around submission and the
 * handler).  The struct is caller-allocated; the driver allocates nothing.
 *
 * Byte order: commands are written in host order; simcp is little endian,
 * so the driver is for little-endian CPUs.
 */
#ifndef SIMCP_DRV_H
#define SIMCP_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hw/simcp_hw.h>

/* Error codes, returned negated. */
#define SIMCP_DRV_EINVAL 1 /* bad argument: ring size/alignment, opcode */
#define SIMCP_DRV_ENODEV 2 /* no simcp (or an unknown major version) here,
			    * or the device lacks what was asked (SIMCP_CAP_AES) */
#define SIMCP_DRV_EAGAIN 3 /* ring full: kick, let work complete, retry */
#define SIMCP_DRV_EIO    4 /* the device is halted by a fault, or insane */

/** simcp_drv_strerror() - a static name for @err (negative or positive). */
const char *simcp_drv_strerror(int err);

/** Register accessors; @off is a byte offset in the window. */
struct simcp_drv_bus {
	uint32_t (*read32)(void *opaque, uint32_t off);
	void (*write32)(void *opaque, uint32_t off, uint32_t val);
	void *opaque;
};

/**
 * The command ring: @size bytes at CPU address @va and device address @pa.
 * @size is a power of two from 64 bytes to 1 MiB; @pa is 32-byte aligned.
 * Owned by the caller; must stay mapped while the driver uses it.
 */
struct simcp_drv_ring {
	void *va;
	uint64_t pa;
	uint32_t size;
};

/** A fault, as the FAULT_* registers report it. */
struct simcp_drv_fault {
	uint32_t code;  /* SIMCP_FAULT_* */
	uint64_t addr;  /* faulting DMA address (SIMCP_FAULT_DMA) */
	uint32_t head;  /* ring offset of the faulting command */
};

/** What one interrupt brought, see simcp_drv_irq(). */
struct simcp_drv_irq_info {
	uint32_t status;    /* SIMCP_IRQ_* bits that were pending (and are acked) */
	uint64_t fence_raw; /* FENCE register as read (0 after a device reset) */
	uint64_t fence;     /* highest completed fence: simcp_drv_fence_done() */
	struct simcp_drv_fault fault; /* valid when status has SIMCP_IRQ_ERROR */
};

/** How simcp_drv_recover() gets a halted device going again. */
enum simcp_drv_recovery {
	SIMCP_DRV_RESUME, /* leave the halted state, keep the ring */
	SIMCP_DRV_RESET,  /* reset the device and start an empty ring */
};

/**
 * One driver instance.  Fields are private to simcp_drv.c; read them only
 * through the functions below.
 */
struct simcp_drv {
	struct simcp_drv_bus bus;
	uint8_t *ring;          /* CPU view of the ring */
	uint64_t ring_pa;
	uint32_t ring_size;     /* bytes, power of two */
	uint32_t tail;          /* where the next command goes */
	uint32_t kicked;        /* RING_TAIL as last written */
	uint32_t head;          /* RING_HEAD as last read */
	uint64_t fence_emitted; /* value of the last fence queued */
	uint64_t fence_done;    /* highest fence known complete */
	uint32_t caps;          /* SIMCP_CAP_* */
	bool halted;            /* a fault was reported and not recovered */
};

/**
 * simcp_drv_init() - reset the device behind @bus, check that it is a simcp,
 * program @ring, unmask the fence and error interrupts and enable it.
 * Fences continue after @fence_start (the FENCE register is seeded with it,
 * so every value the device reports is one this driver emitted).
 * Returns 0, -SIMCP_DRV_EINVAL (bad ring) or -SIMCP_DRV_ENODEV.
 */
int simcp_drv_init(struct simcp_drv *drv, const struct simcp_drv_bus *bus,
		   const struct simcp_drv_ring *ring, uint64_t fence_start);

/** simcp_drv_caps() - the device's SIMCP_CAP_* bits, read at init. */
uint32_t simcp_drv_caps(const struct simcp_drv *drv);

/** simcp_drv_ring_slots() - how many commands the ring holds at most. */
uint32_t simcp_drv_ring_slots(const struct simcp_drv *drv);

/**
 * simcp_drv_space() - free command slots now, after reading RING_HEAD.
 * Returns the count, or -SIMCP_DRV_EIO if the device reports a head that
 * cannot be (not aligned, outside the ring, past the tail).
 */
int simcp_drv_space(struct simcp_drv *drv);

/**
 * simcp_drv_submit() - queue one command (not yet visible to the device:
 * see simcp_drv_kick()).  Returns 0, -SIMCP_DRV_EAGAIN when the ring is
 * full, -SIMCP_DRV_EINVAL for an unknown opcode, -SIMCP_DRV_EIO while halted.
 */
int simcp_drv_submit(struct simcp_drv *drv, const struct simcp_cmd *cmd);

/**
 * simcp_drv_fence() - queue a FENCE with the next sequence value, raising
 * SIMCP_IRQ_FENCE when it completes if @irq.  Stores the value in *@value.
 * Returns as simcp_drv_submit().
 */
int simcp_drv_fence(struct simcp_drv *drv, bool irq, uint64_t *value);

/* ---- key slots and AES-CBC (SIMCP_CAP_AES) ---------------------------- */

/**
 * simcp_drv_key_load() - queue a KEY that loads the @len-byte AES key (16,
 * 24 or 32) at device address @key_pa into key slot @slot (< SIMCP_KEY_SLOTS)
 * of this device context.  The device reads the key when the command runs:
 * keep it in place until a later fence completes, then wipe it.  Returns
 * as simcp_drv_submit(); -SIMCP_DRV_EINVAL for a bad slot or length,
 * -SIMCP_DRV_ENODEV when the device has no SIMCP_CAP_AES.
 */
int simcp_drv_key_load(struct simcp_drv *drv, unsigned int slot, uint64_t key_pa,
		       uint32_t len);

/** simcp_drv_key_clear() - queue a KEY that empties @slot.  Returns as simcp_drv_key_load(). */
int simcp_drv_key_clear(struct simcp_drv *drv, unsigned int slot);

/**
 * simcp_drv_sg_set() - fill SG table entry @e: @len bytes at device address
 * @addr.  Tables are arrays of struct simcp_sg_entry, 16-byte aligned, whose
 * lengths add up to the command's len within SIMCP_SG_MAX_ENTRIES entries.
 */
void simcp_drv_sg_set(struct simcp_sg_entry *e, uint64_t addr, uint32_t len);

/**
 * simcp_drv_aes_cbc_sg() - queue an AES_CBC of @len bytes (a multiple of 16,
 * at most SIMCP_MAX_LEN) with the key in @slot, encrypting or (@decrypt)
 * decrypting, from @src to @dst, with the 16-byte IV at @iv_pa.  @sg says
 * which of @src and @dst are the device addresses of SG tables
 * (SIMCP_AES_SG_SRC, SIMCP_AES_SG_DST, both: SIMCP_AES_SG) rather than of
 * the data.  @src and @dst may be the same (in place).  @flags:
 * SIMCP_F_NOPREEMPT or 0.  Returns as simcp_drv_key_load().
 */
int simcp_drv_aes_cbc_sg(struct simcp_drv *drv, unsigned int slot, bool decrypt,
			 uint64_t src, uint64_t dst, uint32_t len, uint64_t iv_pa,
			 uint16_t sg, uint8_t flags);

/** simcp_drv_aes_cbc() - simcp_drv_aes_cbc_sg() on contiguous buffers (@sg 0). */
int simcp_drv_aes_cbc(struct simcp_drv *drv, unsigned int slot, bool decrypt,
		      uint64_t src_pa, uint64_t dst_pa, uint32_t len, uint64_t iv_pa,
		      uint8_t flags);

/** simcp_drv_kick() - ring the doorbell if commands were queued since the last one. */
void simcp_drv_kick(struct simcp_drv *drv);

/** simcp_drv_fence_emitted() - value of the last fence queued. */
uint64_t simcp_drv_fence_emitted(const struct simcp_drv *drv);

/**
 * simcp_drv_fence_done() - read the FENCE register and return the highest
 * fence known complete (never less than an earlier answer).
 */
uint64_t simcp_drv_fence_done(struct simcp_drv *drv);

/**
 * simcp_drv_irq() - the interrupt handler's part: read IRQ_STATUS,
 * acknowledge what is pending, then read the fence (and, on an error, the
 * FAULT_* registers; the driver is then halted until simcp_drv_recover()).
 * Fills @info.  Returns the pending SIMCP_IRQ_* bits: 0 when the
 * interrupt was not this device's.
 */
uint32_t simcp_drv_irq(struct simcp_drv *drv, struct simcp_drv_irq_info *info);

/** simcp_drv_fault() - read the FAULT_* registers into @f. */
void simcp_drv_fault(struct simcp_drv *drv, struct simcp_drv_fault *f);

/** simcp_drv_halted() - the device says it is halted by a fault. */
bool simcp_drv_halted(struct simcp_drv *drv);

/**
 * simcp_drv_recover() - get a halted device running again.
 * SIMCP_DRV_RESUME leaves the halted state and goes on from RING_HEAD (the
 * device skipped the faulting command; a hang reset dropped everything up
 * to the tail).  SIMCP_DRV_RESET resets the device and re-initialises it
 * with an empty ring.  Either way, once nothing is left in the ring every
 * fence not yet complete is lost: it counts as done from then on.
 * Returns the number of fences lost, -SIMCP_DRV_ENODEV if the device is
 * gone, or -SIMCP_DRV_EIO if it reports an impossible RING_HEAD.
 */
int simcp_drv_recover(struct simcp_drv *drv, enum simcp_drv_recovery how);

#endif /* SIMCP_DRV_H */
