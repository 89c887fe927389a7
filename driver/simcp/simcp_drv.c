// SPDX-License-Identifier: MIT
/*
 * DOC: simcp native driver - implementation
 *
 * Ring bookkeeping: offsets are bytes, multiples of SIMCP_CMD_SIZE, in
 * [0, ring_size).  The ring is empty when head == tail and full when one
 * more command would make them equal, so it holds ring_size/32 - 1
 * commands.  The driver reads RING_HEAD only when its cached copy says the
 * ring is full, so a busy submitter costs no register read per command.
 *
 * Every value read from the device is checked before use (a head outside
 * the ring is treated as a broken device, not trusted as an index).
 */
#include "simcp_drv.h"

#define RING_MIN (2u * SIMCP_CMD_SIZE)
#define RING_MAX (1u << 20)

const char *simcp_drv_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "success";
	case SIMCP_DRV_EINVAL: return "invalid argument";
	case SIMCP_DRV_ENODEV: return "no simcp device";
	case SIMCP_DRV_EAGAIN: return "command ring full";
	case SIMCP_DRV_EIO: return "device halted or faulty";
	}
	return "unknown error";
}

static inline uint32_t rd(struct simcp_drv *drv, uint32_t off)
{
	return drv->bus.read32(drv->bus.opaque, off);
}

static inline void wr(struct simcp_drv *drv, uint32_t off, uint32_t val)
{
	drv->bus.write32(drv->bus.opaque, off, val);
}

/* A 64-bit register pair that may change between the halves. */
static uint64_t rd64(struct simcp_drv *drv, uint32_t lo, uint32_t hi)
{
	uint32_t h, l, h2;

	h = rd(drv, hi);
	for (;;) {
		l = rd(drv, lo);
		h2 = rd(drv, hi);
		if (h2 == h)
			return (uint64_t)h << 32 | l;
		h = h2;
	}
}

/* Bytes in use between @head and @tail. */
static inline uint32_t ring_used(const struct simcp_drv *drv, uint32_t head)
{
	return (drv->tail - head) & (drv->ring_size - 1);
}

static inline bool ring_full(const struct simcp_drv *drv)
{
	return ring_used(drv, drv->head) == drv->ring_size - SIMCP_CMD_SIZE;
}

/* Read RING_HEAD; 0 or -SIMCP_DRV_EIO if it cannot be right. */
static int refresh_head(struct simcp_drv *drv)
{
	uint32_t head = rd(drv, SIMCP_REG_RING_HEAD);

	if (head >= drv->ring_size || head % SIMCP_CMD_SIZE ||
	    ring_used(drv, head) > ring_used(drv, drv->head))
		return -SIMCP_DRV_EIO; /* outside the ring, or moved backwards */
	drv->head = head;
	return 0;
}

/* Put a raw command at the tail; the caller checked for space. */
static void ring_put(struct simcp_drv *drv, const struct simcp_cmd *cmd)
{
	struct simcp_cmd *slot = (struct simcp_cmd *)(void *)(drv->ring + drv->tail);

	*slot = *cmd;
	drv->tail = (drv->tail + SIMCP_CMD_SIZE) & (drv->ring_size - 1);
}

/* Program the ring and enable a device that was just reset. */
static void program(struct simcp_drv *drv)
{
	wr(drv, SIMCP_REG_RING_BASE_LO, (uint32_t)drv->ring_pa);
	wr(drv, SIMCP_REG_RING_BASE_HI, (uint32_t)(drv->ring_pa >> 32));
	wr(drv, SIMCP_REG_RING_SIZE, drv->ring_size);
	wr(drv, SIMCP_REG_RING_TAIL, 0);
	wr(drv, SIMCP_REG_IRQ_ACK, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	wr(drv, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	wr(drv, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE);
	drv->head = drv->tail = drv->kicked = 0;
	drv->halted = false;
	/* Seed FENCE so the device never reports a value we did not emit. */
	if (drv->fence_done) {
		struct simcp_cmd seed = {
			.op = SIMCP_OP_FENCE,
			.a = drv->fence_done,
		};

		ring_put(drv, &seed);
		simcp_drv_kick(drv);
	}
}

static bool probe(struct simcp_drv *drv)
{
	return rd(drv, SIMCP_REG_ID) == SIMCP_ID_VALUE &&
	       (rd(drv, SIMCP_REG_VERSION) >> 16) == (SIMCP_VERSION_VALUE >> 16);
}

int simcp_drv_init(struct simcp_drv *drv, const struct simcp_drv_bus *bus,
		   const struct simcp_drv_ring *ring, uint64_t fence_start)
{
	if (!drv || !bus || !bus->read32 || !bus->write32 || !ring || !ring->va ||
	    ring->size < RING_MIN || ring->size > RING_MAX ||
	    (ring->size & (ring->size - 1)) || ring->pa % SIMCP_CMD_SIZE ||
	    (uintptr_t)ring->va % _Alignof(struct simcp_cmd))
		return -SIMCP_DRV_EINVAL;
	*drv = (struct simcp_drv){
		.bus = *bus,
		.ring = ring->va,
		.ring_pa = ring->pa,
		.ring_size = ring->size,
		.fence_emitted = fence_start,
		.fence_done = fence_start,
	};
	if (!probe(drv))
		return -SIMCP_DRV_ENODEV;
	drv->caps = rd(drv, SIMCP_REG_CAPS);
	wr(drv, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
	program(drv);
	return 0;
}

uint32_t simcp_drv_caps(const struct simcp_drv *drv)
{
	return drv->caps;
}

uint32_t simcp_drv_ring_slots(const struct simcp_drv *drv)
{
	return drv->ring_size / SIMCP_CMD_SIZE - 1;
}

int simcp_drv_space(struct simcp_drv *drv)
{
	int err = refresh_head(drv);

	if (err)
		return err;
	return (int)((drv->ring_size - SIMCP_CMD_SIZE - ring_used(drv, drv->head)) /
		     SIMCP_CMD_SIZE);
}

int simcp_drv_submit(struct simcp_drv *drv, const struct simcp_cmd *cmd)
{
	int err;

	if (cmd->op >= SIMCP_OP_MAX)
		return -SIMCP_DRV_EINVAL;
	if (drv->halted)
		return -SIMCP_DRV_EIO;
	if (ring_full(drv)) {
		err = refresh_head(drv);
		if (err)
			return err;
		if (ring_full(drv))
			return -SIMCP_DRV_EAGAIN;
	}
	ring_put(drv, cmd);
	return 0;
}

int simcp_drv_fence(struct simcp_drv *drv, bool irq, uint64_t *value)
{
	struct simcp_cmd cmd = {
		.op = SIMCP_OP_FENCE,
		.flags = irq ? SIMCP_F_IRQ : 0,
		.a = drv->fence_emitted + 1,
	};
	int err = simcp_drv_submit(drv, &cmd);

	if (err)
		return err;
	drv->fence_emitted++;
	if (value)
		*value = drv->fence_emitted;
	return 0;
}

int simcp_drv_key_load(struct simcp_drv *drv, unsigned int slot, uint64_t key_pa,
		       uint32_t len)
{
	struct simcp_cmd cmd = {
		.op = SIMCP_OP_KEY,
		.arg = (uint16_t)slot,
		.len = len,
		.a = key_pa,
	};

	if (!(drv->caps & SIMCP_CAP_AES))
		return -SIMCP_DRV_ENODEV;
	if (slot >= SIMCP_KEY_SLOTS || (len != 16 && len != 24 && len != 32))
		return -SIMCP_DRV_EINVAL;
	return simcp_drv_submit(drv, &cmd);
}

int simcp_drv_key_clear(struct simcp_drv *drv, unsigned int slot)
{
	struct simcp_cmd cmd = {
		.op = SIMCP_OP_KEY,
		.arg = (uint16_t)(slot | SIMCP_KEY_CLEAR),
	};

	if (!(drv->caps & SIMCP_CAP_AES))
		return -SIMCP_DRV_ENODEV;
	if (slot >= SIMCP_KEY_SLOTS)
		return -SIMCP_DRV_EINVAL;
	return simcp_drv_submit(drv, &cmd);
}

void simcp_drv_sg_set(struct simcp_sg_entry *e, uint64_t addr, uint32_t len)
{
	e->addr = addr;
	e->len = len;
	e->reserved = 0;
}

int simcp_drv_aes_cbc_sg(struct simcp_drv *drv, unsigned int slot, bool decrypt,
			 uint64_t src, uint64_t dst, uint32_t len, uint64_t iv_pa,
			 uint16_t sg, uint8_t flags)
{
	struct simcp_cmd cmd = {
		.op = SIMCP_OP_AES_CBC,
		.flags = flags,
		.arg = (uint16_t)(slot | (decrypt ? SIMCP_AES_DECRYPT : 0) | sg),
		.len = len,
		.a = src,
		.b = dst,
		.c = iv_pa,
	};

	if (!(drv->caps & SIMCP_CAP_AES))
		return -SIMCP_DRV_ENODEV;
	if (slot >= SIMCP_KEY_SLOTS || (sg & ~SIMCP_AES_SG) || len % SIMCP_AES_BLOCK ||
	    len > SIMCP_MAX_LEN || (flags & ~SIMCP_F_NOPREEMPT))
		return -SIMCP_DRV_EINVAL;
	return simcp_drv_submit(drv, &cmd);
}

int simcp_drv_aes_cbc(struct simcp_drv *drv, unsigned int slot, bool decrypt,
		      uint64_t src_pa, uint64_t dst_pa, uint32_t len, uint64_t iv_pa,
		      uint8_t flags)
{
	return simcp_drv_aes_cbc_sg(drv, slot, decrypt, src_pa, dst_pa, len, iv_pa, 0, flags);
}

void simcp_drv_kick(struct simcp_drv *drv)
{
	if (drv->tail == drv->kicked)
		return;
	/* The commands must be in memory before the device sees the tail. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	wr(drv, SIMCP_REG_RING_TAIL, drv->tail);
	drv->kicked = drv->tail;
}

uint64_t simcp_drv_fence_emitted(const struct simcp_drv *drv)
{
	return drv->fence_emitted;
}

/* Fold a raw FENCE value into fence_done; values we never emitted are ignored. */
static void fence_update(struct simcp_drv *drv, uint64_t raw)
{
	if (raw > drv->fence_done && raw <= drv->fence_emitted)
		drv->fence_done = raw;
}

uint64_t simcp_drv_fence_done(struct simcp_drv *drv)
{
	fence_update(drv, rd64(drv, SIMCP_REG_FENCE_LO, SIMCP_REG_FENCE_HI));
	/* What the completed commands wrote is visible after the fence. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return drv->fence_done;
}

void simcp_drv_fault(struct simcp_drv *drv, struct simcp_drv_fault *f)
{
	f->code = rd(drv, SIMCP_REG_FAULT_CODE);
	f->addr = rd64(drv, SIMCP_REG_FAULT_ADDR_LO, SIMCP_REG_FAULT_ADDR_HI);
	f->head = rd(drv, SIMCP_REG_FAULT_HEAD);
}

uint32_t simcp_drv_irq(struct simcp_drv *drv, struct simcp_drv_irq_info *info)
{
	uint32_t status = rd(drv, SIMCP_REG_IRQ_STATUS) & (SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);

	*info = (struct simcp_drv_irq_info){ .status = status };
	if (!status)
		return 0;
	/* Ack first: a fence completing after the read below interrupts again. */
	wr(drv, SIMCP_REG_IRQ_ACK, status);
	info->fence_raw = rd64(drv, SIMCP_REG_FENCE_LO, SIMCP_REG_FENCE_HI);
	fence_update(drv, info->fence_raw);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	info->fence = drv->fence_done;
	if (status & SIMCP_IRQ_ERROR) {
		simcp_drv_fault(drv, &info->fault);
		drv->halted = true;
	}
	return status;
}

bool simcp_drv_halted(struct simcp_drv *drv)
{
	return rd(drv, SIMCP_REG_STATUS) & SIMCP_STATUS_HALTED;
}

int simcp_drv_recover(struct simcp_drv *drv, enum simcp_drv_recovery how)
{
	uint64_t lost;
	int err;

	if (!probe(drv))
		return -SIMCP_DRV_ENODEV;
	if (how == SIMCP_DRV_RESUME) {
		wr(drv, SIMCP_REG_CONTROL, SIMCP_CTRL_ENABLE | SIMCP_CTRL_RESUME);
		drv->halted = false;
		err = refresh_head(drv);
		if (err)
			return err;
		if (drv->head != drv->tail)
			return 0; /* the rest of the ring runs on */
		/* Nothing left to run: a fence not reached by now never will be. */
	}
	(void)simcp_drv_fence_done(drv);
	lost = drv->fence_emitted - drv->fence_done;
	drv->fence_done = drv->fence_emitted;
	if (how == SIMCP_DRV_RESET) {
		wr(drv, SIMCP_REG_CONTROL, SIMCP_CTRL_RESET);
		program(drv);
	}
	return (int)lost;
}
