/* SPDX-License-Identifier: MIT */
/*
 * DOC: vhost-user backend - guest memory and split virtqueues
 *
 * The memory table (struct vu_mem) is what the frontend's SET_MEM_TABLE
 * described: up to VU_MAX_MEM_REGIONS regions, each mapped into this
 * process from its own fd.  A region is known three ways: by guest-physical
 * address (gpa: what descriptors carry), by the frontend's own virtual
 * address (uva: what SET_VRING_ADDR carries) and by this process's pointer
 * (host).  Translation never crosses a region: a range is translated only
 * if it lies wholly inside one region, so a range spanning two adjacent
 * regions is refused like one outside memory.
 *
 * A split virtqueue (virtio 1.2, 2.7) is a descriptor table, an available
 * ring the driver writes and a used ring the device writes, all in guest
 * memory.  vu_virtq_pop() takes the next available chain and describes it
 * as a struct vu_elem: its head index, its readable ("out") segments then
 * its writable ("in") segments, each as a guest-physical (gpa, len) and as
 * a pointer into this process's mapping.  vu_virtq_push() returns a chain
 * to the driver with the number of bytes written; vu_virtq_notify()
 * signals the call eventfd when the driver asked to be told (EVENT_IDX
 * used_event, or no VRING_AVAIL_F_NO_INTERRUPT without EVENT_IDX).
 *
 * What a guest may get wrong, and how it ends:
 *
 *   queue broken (pop returns -EIO, now and from then on; the err eventfd
 *   is signalled; push and notify do nothing):
 *     - the available index ran more than the ring size ahead of the last
 *       one consumed;
 *     - a head index from the available ring >= the ring size (it could
 *       not be completed: the driver has no such chain);
 *     - the rings no longer translate after a new memory table.
 *   bad chain (pop returns another -errno with e->head set; the owner
 *   completes it with vu_virtq_push(vq, e, 0) like any element):
 *     -ELOOP      more descriptors than the table they are walked in has
 *                 (a loop), or than the ring size in all
 *     -EINVAL     next index out of range; INDIRECT anywhere but the head,
 *                 with NEXT, nested in an indirect table, or with a table
 *                 length that is zero, not a multiple of 16 or over
 *                 VU_VIRTQ_MAX_SIZE entries; a readable descriptor after a
 *                 writable one
 *     -EFAULT     a buffer or an indirect table not wholly inside one
 *                 region (or a writable buffer in a read-only region)
 *     -EOVERFLOW  the lengths of the chain add up to more than UINT32_MAX
 *     -E2BIG      more segments than the element has room for (max_segs)
 *
 * Every descriptor is read from guest memory once, into a local copy, so
 * a guest changing its table under the walk cannot make it see two
 * different values.  Guest memory is little-endian (virtio 1.x).
 *
 * Ownership: the memory table and the queues belong to their struct
 * vu_dev; the owner never frees them.  An element is the owner's memory,
 * and so is the segment array it points to (e->segs, e->max_segs, set
 * before vu_virtq_pop()); the host pointers in it point into the mapped
 * memory table and stay valid only while that table is unchanged: see
 * vu_dev_ops.mem_changed and .disconnected in vhost_user.h.
 * Locking: none.  Everything here runs on the owner's loop thread, the
 * one that drives the struct vu_dev; the only other party is the guest,
 * which shares the rings through memory (ordered with barriers here).
 */
#ifndef VHOST_VIRTQ_H
#define VHOST_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VU_MAX_MEM_REGIONS 8       /* VHOST_MEMORY_BASELINE_NREGIONS */
#define VU_VIRTQ_MAX_SIZE  32768u  /* the largest split ring */

/* Descriptor flags (virtio 1.2, 2.7.5). */
#define VU_DESC_F_NEXT     1u
#define VU_DESC_F_WRITE    2u
#define VU_DESC_F_INDIRECT 4u
#define VU_AVAIL_F_NO_INTERRUPT 1u

/** One region of the memory table. */
struct vu_mem_region {
	uint64_t gpa;         /* guest-physical address of its first byte */
	uint64_t size;        /* bytes, > 0 */
	uint64_t uva;         /* the frontend's virtual address of gpa */
	uint64_t mmap_offset; /* where gpa lies in the fd */
	uint8_t *host;        /* this process's pointer to gpa */
	bool writable;        /* mapped read-write (else read-only) */
	int fd;               /* the fd it was mapped from (the library's; dup it to keep it) */
	/* private: the mapping */
	void *map_addr;
	size_t map_size;
};

/** The memory table: regions sorted by nothing, disjoint in gpa and uva. */
struct vu_mem {
	unsigned int nregions;
	struct vu_mem_region regions[VU_MAX_MEM_REGIONS];
};

/**
 * vu_mem_gpa() - this process's pointer to guest-physical [@gpa, @gpa+@len)
 * if it lies wholly inside one region (and that region is writable when
 * @write); NULL otherwise.  @len 0 is refused too.
 */
void *vu_mem_gpa(const struct vu_mem *m, uint64_t gpa, uint64_t len, bool write);

/** vu_mem_uva() - the same for a range of the frontend's virtual addresses. */
void *vu_mem_uva(const struct vu_mem *m, uint64_t uva, uint64_t len, bool write);

/** One segment of a chain: guest-physical and as this process sees it. */
struct vu_seg {
	uint64_t gpa;
	uint32_t len;
	void *host;           /* NULL only when len is 0 */
};

/**
 * A popped chain.  The owner sets segs/max_segs (its own array) before
 * vu_virtq_pop(); the rest is filled in.  segs[0 .. n_out) are readable
 * (the driver's request), segs[n_out .. n_out + n_in) writable.
 */
struct vu_elem {
	struct vu_seg *segs;
	unsigned int max_segs;
	uint16_t head;        /* the id to push back */
	unsigned int n_out, n_in;
	uint32_t out_len, in_len;   /* sums of the segments' lengths */
};

/** The rings' layout in guest memory (virtio 1.2, 2.7.5 to 2.7.8). */
struct vu_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vu_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];      /* then used_event (EVENT_IDX) */
};

struct vu_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vu_used {
	uint16_t flags;
	uint16_t idx;
	struct vu_used_elem ring[];  /* then avail_event (EVENT_IDX) */
};

/**
 * One virtqueue.  The owner reads index and uses owner_data as it likes;
 * every other field is the library's.
 */
struct vu_virtq {
	unsigned int index;
	void *owner_data;          /* the owner's, never touched here */

	/* private */
	struct vu_mem *mem;        /* the table the rings are mapped through */
	void *dev;                 /* the struct vu_dev it belongs to */
	uint32_t num;              /* ring size; 0 until SET_VRING_NUM */
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	struct vu_desc *desc;      /* NULL until translated */
	struct vu_avail *avail;
	struct vu_used *used;
	uint16_t last_avail_idx;   /* next available entry to consume */
	uint16_t used_idx;         /* next used entry to write */
	uint16_t signalled_used;   /* used_idx at the last notification */
	bool signalled_used_valid;
	bool event_idx;            /* VIRTIO_RING_F_EVENT_IDX in force */
	bool started;              /* between SET_VRING_KICK and a stop */
	bool enabled;              /* SET_VRING_ENABLE (default on) */
	bool broken;
	int kick_fd, call_fd, err_fd;
};

/**
 * vu_virtq_map() - translate the rings' frontend addresses through @vq's
 * memory table and check them: ring size a power of two in 1 ..
 * VU_VIRTQ_MAX_SIZE, desc 16-, avail 2-, used 4-byte aligned, each area
 * wholly inside one region, avail and used writable.  Returns 0, or
 * -EINVAL (size, alignment) / -EFAULT (not inside memory) with the rings
 * unmapped.  Called by the connection; public for tests and fuzzing.
 */
int vu_virtq_map(struct vu_virtq *vq);

/**
 * vu_virtq_start() - begin serving @vq (its rings mapped): the used index
 * is read from the ring, notifications start afresh.  Called by the
 * connection on SET_VRING_KICK; public for tests and fuzzing.
 */
void vu_virtq_start(struct vu_virtq *vq, uint16_t last_avail_idx, bool event_idx);

/**
 * vu_virtq_pop() - take the next available chain into @e.
 *
 * Returns 1 with @e filled; 0 when nothing is available (with EVENT_IDX
 * the device's avail_event is published first and the available index
 * read again, so a kick for a chain added meanwhile cannot be lost: an
 * owner that pops until 0 after each kick never misses one); -EIO when
 * the queue is broken or not started (nothing to complete); any other
 * -errno for a bad chain (see the DOC), whose e->head must be completed
 * with vu_virtq_push(vq, e, 0).
 */
int vu_virtq_pop(struct vu_virtq *vq, struct vu_elem *e);

/**
 * vu_virtq_push() - give chain @e back to the driver with @len bytes
 * written (clamped to e->in_len).  The used entry is visible to the
 * driver once this returns; call vu_virtq_notify() after one or a batch.
 * Returns 0, -EIO (queue broken or stopped: nothing written, the element
 * is lost to the driver) or -EINVAL (e->head out of range).
 */
int vu_virtq_push(struct vu_virtq *vq, const struct vu_elem *e, uint32_t len);

/**
 * vu_virtq_notify() - signal the call eventfd if the driver wants to know
 * about the used entries pushed since the last notification (never when
 * there are none, so a frontend that makes one eventfd both the kick and
 * the call cannot make the device ping-pong with itself).  Returns true
 * if it signalled.
 */
bool vu_virtq_notify(struct vu_virtq *vq);

/**
 * vu_fd_nonblock() - make @fd (a frontend's kick, call or err fd) non-
 * blocking, again if the frontend, which shares the open file, cleared
 * it: the backend's loop never waits on a frontend.  0 or -errno.
 */
int vu_fd_nonblock(int fd);

/** vu_virtq_is_broken() - has the guest broken @vq (see the DOC)? */
bool vu_virtq_is_broken(const struct vu_virtq *vq);

/** vu_virtq_size() - ring size (0 before SET_VRING_NUM). */
unsigned int vu_virtq_size(const struct vu_virtq *vq);

#endif /* VHOST_VIRTQ_H */
