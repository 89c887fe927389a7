/* SPDX-License-Identifier: MIT */
/*
 * DOC: simcp hardware interface
 *
 * The register map and command format of simcp, the reference coprocessor,
 * as a driver sees them.  Shared by the device model (platform/simcp), the
 * native driver (driver/simcp) and the guest runtime; needs only stdint.h.
 * docs/simcp.md is the prose version of this file.
 *
 * The device executes commands from a ring in memory that it reads by DMA.
 * The driver writes 32-byte commands at RING_TAIL and advances RING_TAIL
 * (the doorbell); the device advances RING_HEAD as it completes them.
 * Offsets are bytes from RING_BASE, always multiples of 32, wrapping at
 * RING_SIZE.  The ring is empty when HEAD == TAIL, so it holds at most
 * RING_SIZE/32 - 1 commands.
 *
 * Every DMA address is guest-physical and goes through the IOMMU context of
 * the domain owning the running context; an access outside that domain's
 * memory faults before any byte is read or written.
 */
#ifndef SIMCP_HW_H
#define SIMCP_HW_H

#include <stdint.h>

#define SIMCP_MMIO_SIZE     0x1000u
#define SIMCP_ID_VALUE      0x53494d43u /* "SIMC" */
#define SIMCP_VERSION_VALUE 0x00010001u /* 1.1: key slots and AES-CBC */
/* Default bytes of scratch per context; SIMCP_REG_SCRATCH_SIZE gives the device's. */
#define SIMCP_SCRATCH_SIZE  (64u * 1024u)

/* Registers: 32 bits wide, naturally aligned; 64-bit values as LO/HI. */
#define SIMCP_REG_ID            0x000 /* RO  SIMCP_ID_VALUE */
#define SIMCP_REG_VERSION       0x004 /* RO  major << 16 | minor */
#define SIMCP_REG_CAPS          0x008 /* RO  SIMCP_CAP_* */
#define SIMCP_REG_SCRATCH_SIZE  0x00c /* RO  bytes of scratch memory per context */
#define SIMCP_REG_CONTROL       0x010 /* RW  SIMCP_CTRL_* */
#define SIMCP_REG_STATUS        0x014 /* RO  SIMCP_STATUS_* */
#define SIMCP_REG_IRQ_STATUS    0x018 /* RO  SIMCP_IRQ_* pending */
#define SIMCP_REG_IRQ_MASK      0x01c /* RW  SIMCP_IRQ_* enabled */
#define SIMCP_REG_IRQ_ACK       0x020 /* WO  write 1 to clear a pending bit */
#define SIMCP_REG_RING_BASE_LO  0x030 /* RW  guest-physical, 32-byte aligned */
#define SIMCP_REG_RING_BASE_HI  0x034 /* RW */
#define SIMCP_REG_RING_SIZE     0x038 /* RW  bytes, power of two, 64..1 MiB */
#define SIMCP_REG_RING_HEAD     0x03c /* RO  next command the device runs */
#define SIMCP_REG_RING_TAIL     0x040 /* RW  doorbell: end of submitted commands */
#define SIMCP_REG_FENCE_LO      0x048 /* RO  value of the last completed fence */
#define SIMCP_REG_FENCE_HI      0x04c /* RO */
#define SIMCP_REG_FAULT_CODE    0x050 /* RO  SIMCP_FAULT_*, 0 none */
#define SIMCP_REG_FAULT_ADDR_LO 0x054 /* RO  faulting address (DMA faults) */
#define SIMCP_REG_FAULT_ADDR_HI 0x058 /* RO */
#define SIMCP_REG_FAULT_HEAD    0x05c /* RO  ring offset of the faulting command */
#define SIMCP_REG_CMDS_DONE     0x060 /* RO  commands completed (wraps) */

#define SIMCP_CAP_CRC32C  (1u << 0)
#define SIMCP_CAP_SHA256  (1u << 1)
#define SIMCP_CAP_NOPREEMPT (1u << 2)
#define SIMCP_CAP_AES     (1u << 3) /* SIMCP_OP_KEY and SIMCP_OP_AES_CBC */

#define SIMCP_CTRL_ENABLE (1u << 0) /* run commands from the ring */
#define SIMCP_CTRL_RESET  (1u << 1) /* W1: back to the reset state, scrubbed */
#define SIMCP_CTRL_RESUME (1u << 2) /* W1: leave the halted state after a fault */

#define SIMCP_STATUS_BUSY   (1u << 0) /* a command is executing or pending */
#define SIMCP_STATUS_IDLE   (1u << 1) /* enabled and HEAD == TAIL */
#define SIMCP_STATUS_HALTED (1u << 2) /* stopped by a fault until RESUME */

#define SIMCP_IRQ_FENCE (1u << 0) /* a fence with SIMCP_F_IRQ completed */
#define SIMCP_IRQ_ERROR (1u << 1) /* a fault halted the ring (see FAULT_*) */

#define SIMCP_FAULT_NONE      0u
#define SIMCP_FAULT_DMA       1u /* address outside the domain's memory */
#define SIMCP_FAULT_BAD_CMD   2u /* unknown opcode or bad operand */
#define SIMCP_FAULT_HANG      3u /* reset by the host after a hang */
#define SIMCP_FAULT_BAD_RING  4u /* RING_BASE/SIZE/TAIL invalid */
/*
 * A command of a non-preemptible section would take the section past the
 * device's bound on such sections (max_nonpreempt, modeled time with
 * command overheads): it is not run, FAULT_HEAD names it, and the section
 * ends.  No section holds the device longer than the bound.
 */
#define SIMCP_FAULT_NONPREEMPT 5u

/* Commands: 32 bytes, little endian. */
struct simcp_cmd {
	uint8_t op;     /* SIMCP_OP_* */
	uint8_t flags;  /* SIMCP_F_* */
	uint16_t arg;   /* per opcode (hash algorithm, key slot and mode) */
	uint32_t len;   /* bytes, per opcode */
	uint64_t a;
	uint64_t b;
	uint64_t c;
};

#define SIMCP_CMD_SIZE 32u

#define SIMCP_F_IRQ       (1u << 0) /* fence: raise SIMCP_IRQ_FENCE when done */
#define SIMCP_F_NOPREEMPT (1u << 1) /* a stop request during it is refused */
/*
 * With SIMCP_F_NOPREEMPT: the next command in the ring continues the same
 * non-preemptible section.  A section runs from its first flagged command
 * to the first one without SIMCP_F_CHAIN; a stop is refused until that
 * one completes.  A section whose next command is not yet submitted when
 * the previous one ends ends there.  Ignored without SIMCP_F_NOPREEMPT.
 */
#define SIMCP_F_CHAIN     (1u << 2)

enum simcp_op {
	SIMCP_OP_NOP     = 0, /* nothing */
	SIMCP_OP_FENCE   = 1, /* FENCE := a; if b != 0 write a (8 bytes) to b */
	SIMCP_OP_COPY    = 2, /* copy len bytes from a to b (no overlap) */
	SIMCP_OP_FILL    = 3, /* fill len bytes at b with the 32-bit pattern c */
	SIMCP_OP_HASH    = 4, /* hash len bytes at a (arg: SIMCP_HASH_*) to b */
	SIMCP_OP_LOAD    = 5, /* scratch[b .. b+len) := memory[a ..) */
	SIMCP_OP_STORE   = 6, /* memory[b ..) := scratch[a .. a+len) */
	SIMCP_OP_COMPUTE = 7, /* a ns of work on scratch[0 .. len) (len 0: none) */
	SIMCP_OP_WAIT    = 8, /* wait until the 8 bytes at a equal c */
	SIMCP_OP_KEY     = 9, /* key slot (arg) := len bytes at a, or cleared */
	SIMCP_OP_AES_CBC = 10, /* AES-CBC of len bytes a -> b, IV at c (arg: below) */
	SIMCP_OP_MAX
};

#define SIMCP_HASH_CRC32C 0 /* 4-byte result, CRC-32C (Castagnoli), init ~0, final xor ~0 */
#define SIMCP_HASH_SHA256 1 /* 32-byte result */

/*
 * Key slots: SIMCP_KEY_SLOTS per context, part of the context's state
 * (saved and restored with it, zeroed by CONTROL.RESET and when the context
 * is freed), written only by SIMCP_OP_KEY and never readable back.
 *
 * KEY:     arg = slot | [SIMCP_KEY_CLEAR]; len = 16, 24 or 32 (AES-128,
 *          -192, -256) with the key at a; with SIMCP_KEY_CLEAR, len = 0
 *          and the slot is emptied.
 * AES_CBC: arg = slot | [SIMCP_AES_DECRYPT] | [SIMCP_AES_SG_SRC] |
 *          [SIMCP_AES_SG_DST]; len a multiple of 16, at most SIMCP_MAX_LEN;
 *          a source, b destination (each an address, or with its SG flag
 *          the address of an SG table), c the 16-byte IV.  No padding.
 */
#define SIMCP_KEY_SLOTS     16u
#define SIMCP_KEY_MAX       32u      /* bytes of the longest key */
#define SIMCP_ARG_SLOT_MASK 0x000fu  /* arg bits 3:0: the key slot */
#define SIMCP_KEY_CLEAR     (1u << 8) /* KEY: empty the slot */
#define SIMCP_AES_DECRYPT   (1u << 8) /* AES_CBC: decrypt (else encrypt) */
#define SIMCP_AES_SG_SRC    (1u << 9) /* AES_CBC: a is an SG table */
#define SIMCP_AES_SG_DST    (1u << 10) /* AES_CBC: b is an SG table */
#define SIMCP_AES_SG        (SIMCP_AES_SG_SRC | SIMCP_AES_SG_DST)
#define SIMCP_AES_BLOCK     16u      /* len is a multiple of it; IV size */

/*
 * A scatter-gather table: 16-byte aligned, SIMCP_SG_ENTRY_SIZE-byte
 * entries read in order until their lengths add up to the command's len
 * exactly (entries after that are not read).  Entry lengths are any
 * number of bytes, 0 included (skipped); at most SIMCP_SG_MAX_ENTRIES
 * entries per table.  reserved must be 0.
 */
struct simcp_sg_entry {
	uint64_t addr;
	uint32_t len;
	uint32_t reserved;
};

#define SIMCP_SG_ENTRY_SIZE  16u
#define SIMCP_SG_MAX_ENTRIES 1024u

#define SIMCP_MAX_LEN (16u * 1024u * 1024u) /* largest len of one command */
#define SIMCP_MAX_COMPUTE_NS 1000000000ull  /* largest COMPUTE a (1 s) */

#endif /* SIMCP_HW_H */
