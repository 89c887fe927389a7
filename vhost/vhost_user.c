// SPDX-License-Identifier: MIT
/*
 * DOC: vhost-user backend - the connection, its messages and its fds
 *
 * A message is a 12-byte header (request, flags, size) and size bytes of
 * payload, with fds alongside (SCM_RIGHTS).  It is read without blocking
 * in as many pieces as the socket gives, header first, never past its own
 * end, so the fds that came with it are its own; then it is checked
 * against what its request must look like (struct req_info: exact size or
 * a size its own fields imply, how many fds) before its handler runs.
 * A framing violation breaks the connection (conn_close()); a handler
 * that refuses a well-framed request returns -errno and the request fails
 * alone.  The fds a handler does not take are closed once it returns.
 *
 * Replies: requests that have one (GET_*, CREATE_CRYPTO_SESSION) always
 * get it; every other request gets a u64 ack (0 or a positive errno) when
 * its header asks with NEED_REPLY - whether or not REPLY_ACK was
 * negotiated, as libvhost-user - and nothing otherwise.  That is what
 * keeps CLOSE_CRYPTO_SESSION, which QEMU 7.2 sends without NEED_REPLY and
 * reads no answer to, in step.
 *
 * Ownership and locking: see vhost_user.h.
 */
#define _GNU_SOURCE /* accept4 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost_user.h"

#define HDR_SIZE        12u
#define MSGS_PER_EVENT  64    /* fairness with the owner's other fds */

/* Header flags. */
#define F_VERSION_MASK  0x3u
#define F_VERSION       0x1u
#define F_REPLY         0x4u
#define F_NEED_REPLY    0x8u

/* The payload of SET_VRING_KICK/CALL/ERR. */
#define VRING_IDX_MASK  0xffu
#define VRING_NOFD      0x100u

enum vu_request {
	REQ_GET_FEATURES = 1,
	REQ_SET_FEATURES = 2,
	REQ_SET_OWNER = 3,
	REQ_RESET_OWNER = 4,
	REQ_SET_MEM_TABLE = 5,
	REQ_SET_VRING_NUM = 8,
	REQ_SET_VRING_ADDR = 9,
	REQ_SET_VRING_BASE = 10,
	REQ_GET_VRING_BASE = 11,
	REQ_SET_VRING_KICK = 12,
	REQ_SET_VRING_CALL = 13,
	REQ_SET_VRING_ERR = 14,
	REQ_GET_PROTOCOL_FEATURES = 15,
	REQ_SET_PROTOCOL_FEATURES = 16,
	REQ_GET_QUEUE_NUM = 17,
	REQ_SET_VRING_ENABLE = 18,
	REQ_GET_CONFIG = 24,
	REQ_SET_CONFIG = 25,
	REQ_CREATE_CRYPTO_SESSION = 26,
	REQ_CLOSE_CRYPTO_SESSION = 27,
};

/* CREATE_CRYPTO_SESSION as QEMU 7.2 lays it out (measured). */
#define SESS_SIZE          632u
#define SESS_CIPHER_ALG    8
#define SESS_KEY_LEN       12
#define SESS_HASH_ALG      16
#define SESS_HASH_RES_LEN  20
#define SESS_AUTH_KEY_LEN  24
#define SESS_ADD_LEN       28
#define SESS_OP_TYPE       32
#define SESS_DIRECTION     33
#define SESS_HASH_MODE     34
#define SESS_CHAIN_ORDER   35
#define SESS_KEY           56
#define SESS_AUTH_KEY      120

#define MEM_REGION_SIZE    32u
#define VRING_ADDR_SIZE    40u

/* A broken connection: the handler's verdict, with the reason in dev->why. */
#define BREAK 1

struct vu_msg {
	uint32_t request, flags, size;
	uint8_t *p;               /* payload */
};

struct vu_reply {
	uint32_t size;
	uint8_t p[HDR_SIZE + VU_MAX_PAYLOAD];
};

typedef int req_handler(struct vu_dev *dev, struct vu_msg *m, char *why, struct vu_reply *rep);

struct req_info {
	const char *name;
	int size;                 /* exact payload size, or -1: the handler checks */
	bool has_reply;           /* a reply of its own */
	bool takes_fds;           /* the handler checks the count; else none allowed */
	req_handler *fn;
};

static const uint64_t offered_features = (1ull << VU_F_VERSION_1) |
	(1ull << VU_F_PROTOCOL_FEATURES) | (1ull << VU_F_INDIRECT_DESC) |
	(1ull << VU_F_EVENT_IDX);
static const uint64_t ring_feature_mask = (1ull << VU_F_VERSION_1) |
	(1ull << VU_F_INDIRECT_DESC) | (1ull << VU_F_EVENT_IDX);

static void set_why(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_why(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, VU_WHY_MAX, fmt, ap);
	va_end(ap);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, sizeof(v));
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Take message fd @i (the handler owns it from now). */
static int take_fd(struct vu_dev *dev, unsigned int i)
{
	int fd = dev->fds[i];

	dev->fds[i] = -1;
	return fd;
}

static uint64_t offered_protocol(const struct vu_dev *dev)
{
	uint64_t p = (1ull << VU_PROTOCOL_F_MQ) | (1ull << VU_PROTOCOL_F_REPLY_ACK);

	if (dev->ops->get_config)
		p |= 1ull << VU_PROTOCOL_F_CONFIG;
	if (dev->ops->create_session)
		p |= 1ull << VU_PROTOCOL_F_CRYPTO_SESSION;
	return p;
}

/* ---- memory table ---------------------------------------------------------------- */

static void mem_unmap(struct vu_mem *m)
{
	for (unsigned int i = 0; i < m->nregions; i++) {
		struct vu_mem_region *r = &m->regions[i];

		if (r->map_addr)
			munmap(r->map_addr, r->map_size);
		close_fd(&r->fd);
	}
	memset(m, 0, sizeof(*m));
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen; /* ends checked not to wrap */
}

/* Map region @r from @fd (which it takes on success). */
static int region_map(struct vu_mem_region *r, int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t align, map_off, delta, map_size;
	struct stat st;
	int seals;
	void *p;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL; /* memfd, tmpfs or hugetlbfs files only */
	/*
	 * A file the frontend could shrink under the mapping would turn the
	 * backend's (and the device's) next access into SIGBUS: only a memfd
	 * sealed against shrinking is taken (QEMU's memory-backend-memfd
	 * seals by default).
	 */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return -EPERM;
	if (r->mmap_offset + r->size > (uint64_t)st.st_size)
		return -EINVAL; /* past the end of the file: SIGBUS on access */
	align = page > 0 ? (uint64_t)page : 4096;
	if (st.st_blksize > 0 && (uint64_t)st.st_blksize > align &&
	    !(st.st_blksize & (st.st_blksize - 1)) && st.st_blksize <= (1 << 30))
		align = (uint64_t)st.st_blksize; /* hugetlbfs: whole huge pages */
	map_off = r->mmap_offset & ~(align - 1);
	delta = r->mmap_offset - map_off;
	map_size = (r->size + delta + align - 1) & ~(align - 1);
	r->writable = true;
	p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
		 (off_t)map_off);
	if (p == MAP_FAILED && errno == EACCES) {
		r->writable = false;
		p = mmap(NULL, map_size, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, (off_t)map_off);
	}
	if (p == MAP_FAILED)
		return -errno;
	r->map_addr = p;
	r->map_size = map_size;
	r->host = (uint8_t *)p + delta;
	r->fd = fd;
	return 0;
}

static int h_set_mem_table(struct vu_dev *dev, struct vu_msg *m, char *why,
			   struct vu_reply *rep)
{
	struct vu_mem next, old;
	uint32_t n;
	int r;

	if (m->size < 8) {
		set_why(why, "SET_MEM_TABLE: %u bytes", m->size);
		return BREAK;
	}
	n = get32(m->p);
	if (m->size != 8 + (uint64_t)n * MEM_REGION_SIZE) {
		set_why(why, "SET_MEM_TABLE: %u bytes for %u regions", m->size, n);
		return BREAK;
	}
	if (n > VU_MAX_MEM_REGIONS)
		return -E2BIG;
	if (dev->nfds != n) {
		set_why(why, "SET_MEM_TABLE: %u fds for %u regions", dev->nfds, n);
		return BREAK;
	}
	memset(&next, 0, sizeof(next));
	for (uint32_t i = 0; i < n; i++) {
		struct vu_mem_region *g = &next.regions[i];
		const uint8_t *q = m->p + 8 + i * MEM_REGION_SIZE;

		g->gpa = get64(q);
		g->size = get64(q + 8);
		g->uva = get64(q + 16);
		g->mmap_offset = get64(q + 24);
		g->fd = -1;
		if (!g->size || g->gpa + g->size < g->gpa || g->uva + g->size < g->uva ||
		    g->mmap_offset + g->size < g->mmap_offset || g->size > (uint64_t)SIZE_MAX)
			return -EINVAL;
		for (uint32_t k = 0; k < i; k++) {
			const struct vu_mem_region *h = &next.regions[k];

			if (overlaps(g->gpa, g->size, h->gpa, h->size) ||
			    overlaps(g->uva, g->size, h->uva, h->size))
				return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		r = region_map(&next.regions[i], dev->fds[i]);
		if (r)
			goto out_unmap;
		next.nregions = i + 1;
		take_fd(dev, i);
	}

	/* Install: the rings move to the new mapping, the owner is told, the old goes. */
	old = dev->mem;
	dev->mem = next;
	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		struct vu_virtq *vq = &dev->vq[q];

		if (vq->addr_set && vu_virtq_map(vq) && vq->started)
			vq->broken = true;
	}
	if (dev->ops->mem_changed)
		dev->ops->mem_changed(dev->opaque);
	mem_unmap(&old);
	return 0;

out_unmap:
	mem_unmap(&next);
	return r;
}

/* ---- rings ----------------------------------------------------------------------- */

static void vq_stop(struct vu_dev *dev, struct vu_virtq *vq, bool tell)
{
	if (vq->started && tell && dev->ops->queue_stop)
		dev->ops->queue_stop(dev->opaque, vq);
	vq->started = false;
	if (vq->kick_fd >= 0) {
		dev->watch->remove_watch(dev->watch_opaque, vq->kick_fd);
		close_fd(&vq->kick_fd);
	}
}

static void vq_reset(struct vu_dev *dev, struct vu_virtq *vq)
{
	unsigned int index = vq->index;
	void *owner_data = vq->owner_data;

	vq_stop(dev, vq, false);
	close_fd(&vq->call_fd);
	close_fd(&vq->err_fd);
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->owner_data = owner_data;
	vq->mem = &dev->mem;
	vq->dev = dev;
	vq->enabled = true;
	vq->kick_fd = vq->call_fd = vq->err_fd = -1;
}

/* The queue a vring-state message names, or NULL with the request failing. */
static struct vu_virtq *state_vq(struct vu_dev *dev, struct vu_msg *m, uint32_t *num)
{
	uint32_t index = get32(m->p);

	*num = get32(m->p + 4);
	return index < dev->nr_queues ? &dev->vq[index] : NULL;
}

static int h_set_vring_num(struct vu_dev *dev, struct vu_msg *m, char *why,
			   struct vu_reply *rep)
{
	uint32_t num;
	struct vu_virtq *vq = state_vq(dev, m, &num);

	if (!vq)
		return -EINVAL;
	if (vq->started)
		return -EBUSY;
	if (!num || num > VU_VIRTQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	vq->num = num;
	if (vq->addr_set)
		vu_virtq_map(vq); /* checked again when the ring starts */
	return 0;
}

static int h_set_vring_base(struct vu_dev *dev, struct vu_msg *m, char *why,
			    struct vu_reply *rep)
{
	uint32_t num;
	struct vu_virtq *vq = state_vq(dev, m, &num);

	if (!vq || num > 0xffff)
		return -EINVAL;
	if (vq->started)
		return -EBUSY;
	vq->last_avail_idx = (uint16_t)num;
	return 0;
}

static int h_get_vring_base(struct vu_dev *dev, struct vu_msg *m, char *why,
			    struct vu_reply *rep)
{
	uint32_t num;
	struct vu_virtq *vq = state_vq(dev, m, &num);

	if (!vq) {
		set_why(why, "GET_VRING_BASE: queue %u of %u", get32(m->p), dev->nr_queues);
		return BREAK;
	}
	vq_stop(dev, vq, true);
	close_fd(&vq->call_fd);
	put32(rep->p, vq->index);
	put32(rep->p + 4, vq->last_avail_idx);
	rep->size = 8;
	return 0;
}

static int h_set_vring_addr(struct vu_dev *dev, struct vu_msg *m, char *why,
			    struct vu_reply *rep)
{
	uint32_t index = get32(m->p);
	struct vu_virtq *vq;
	int r;

	if (index >= dev->nr_queues)
		return -EINVAL;
	vq = &dev->vq[index];
	if (vq->started)
		return -EBUSY;
	/* flags at 4 (VHOST_VRING_F_LOG): no logging is offered, so ignored. */
	vq->desc_uva = get64(m->p + 8);
	vq->used_uva = get64(m->p + 16);
	vq->avail_uva = get64(m->p + 24);
	vq->addr_set = true;
	r = vu_virtq_map(vq);
	if (r)
		vq->addr_set = false;
	return r;
}

static int h_set_vring_enable(struct vu_dev *dev, struct vu_msg *m, char *why,
			      struct vu_reply *rep)
{
	uint32_t num;
	struct vu_virtq *vq = state_vq(dev, m, &num);

	if (!vq || num > 1)
		return -EINVAL;
	vq->enabled = num;
	if (vq->enabled && vq->started && !vq->broken)
		dev->ops->queue_kick(dev->opaque, vq);
	return 0;
}

static void on_kick(void *data, int fd, unsigned int revents)
{
	struct vu_virtq *vq = data;
	struct vu_dev *dev = vq->dev;
	uint64_t v;
	ssize_t n;

	/* Readable at the poll, but the frontend may drain it first: never wait. */
	n = vu_fd_nonblock(fd) ? -1 : read(fd, &v, sizeof(v));
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* Not an eventfd that can be waited on: it would spin the loop. */
		dev->watch->remove_watch(dev->watch_opaque, vq->kick_fd);
		close_fd(&vq->kick_fd);
		if (vq->started && !vq->broken) {
			vq->broken = true;
			if (vq->err_fd >= 0 && !vu_fd_nonblock(vq->err_fd) &&
			    write(vq->err_fd, &(uint64_t){ 1 }, 8) < 0) {
				/* saturated: signalled already */
			}
		}
		return;
	}
	if (vq->started && vq->enabled && !vq->broken)
		dev->ops->queue_kick(dev->opaque, vq);
}

/*
 * An fd a ring may be kicked or called through: an eventfd (or another
 * anonymous inode), a pipe or a socket.  A regular file or a device would
 * be readable for ever (a file's data, /dev/zero) and spin the owner's loop.
 */
static bool event_fd_ok(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return false;
	switch (st.st_mode & S_IFMT) {
	case 0:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

/* KICK, CALL and ERR: the queue and the fd (or -1 with VRING_NOFD). */
static int vring_fd_msg(struct vu_dev *dev, struct vu_msg *m, char *why,
			struct vu_virtq **vqp, int *fd)
{
	uint64_t v = get64(m->p);
	unsigned int index = v & VRING_IDX_MASK;
	unsigned int want = (v & VRING_NOFD) ? 0 : 1;

	if (dev->nfds != want) {
		set_why(why, "SET_VRING_KICK/CALL/ERR: %u fds, %u expected", dev->nfds, want);
		return BREAK;
	}
	if (index >= dev->nr_queues || (v & ~(uint64_t)(VRING_IDX_MASK | VRING_NOFD)))
		return -EINVAL;
	if (want && (!event_fd_ok(dev->fds[0]) || vu_fd_nonblock(dev->fds[0])))
		return -EINVAL;
	*vqp = &dev->vq[index];
	*fd = want ? take_fd(dev, 0) : -1;
	return 0;
}

static bool ring_event_idx(const struct vu_dev *dev)
{
	return dev->ring_features & (1ull << VU_F_EVENT_IDX);
}

static int h_set_vring_kick(struct vu_dev *dev, struct vu_msg *m, char *why,
			    struct vu_reply *rep)
{
	struct vu_virtq *vq;
	bool was_started;
	int fd, r;

	r = vring_fd_msg(dev, m, why, &vq, &fd);
	if (r)
		return r;
	if (fd < 0)
		return -EINVAL; /* polling mode: not offered */
	was_started = vq->started;
	if (!was_started) {
		r = vu_virtq_map(vq);
		if (r)
			goto out_close;
	}
	if (vq->kick_fd >= 0) {
		dev->watch->remove_watch(dev->watch_opaque, vq->kick_fd);
		close_fd(&vq->kick_fd);
	}
	r = dev->watch->set_watch(dev->watch_opaque, fd, VU_WATCH_IN, on_kick, vq);
	if (r) {
		if (was_started)
			vq_stop(dev, vq, true);
		goto out_close;
	}
	vq->kick_fd = fd;
	if (!was_started) {
		vu_virtq_start(vq, vq->last_avail_idx, ring_event_idx(dev));
		/* Chains may be waiting already (a restart): look now. */
		if (vq->enabled)
			dev->ops->queue_kick(dev->opaque, vq);
	}
	return 0;

out_close:
	close(fd);
	return r;
}

/* CALL and ERR: the ring's fd for each, replaced. */
static int set_ring_fd(struct vu_dev *dev, struct vu_msg *m, char *why, bool call)
{
	struct vu_virtq *vq;
	int fd, r;

	r = vring_fd_msg(dev, m, why, &vq, &fd);
	if (r)
		return r;
	if (call) {
		close_fd(&vq->call_fd);
		vq->call_fd = fd;
		vq->signalled_used_valid = false;
	} else {
		close_fd(&vq->err_fd);
		vq->err_fd = fd;
	}
	return 0;
}

static int h_set_vring_call(struct vu_dev *dev, struct vu_msg *m, char *why,
			    struct vu_reply *rep)
{
	return set_ring_fd(dev, m, why, true);
}

static int h_set_vring_err(struct vu_dev *dev, struct vu_msg *m, char *why,
			   struct vu_reply *rep)
{
	return set_ring_fd(dev, m, why, false);
}

/* ---- features, ownership, config, sessions --------------------------------------- */

static int reply_u64(struct vu_reply *rep, uint64_t v)
{
	put64(rep->p, v);
	rep->size = 8;
	return 0;
}

static int h_get_features(struct vu_dev *dev, struct vu_msg *m, char *why,
			  struct vu_reply *rep)
{
	return reply_u64(rep, offered_features);
}

static int h_set_features(struct vu_dev *dev, struct vu_msg *m, char *why,
			  struct vu_reply *rep)
{
	uint64_t v = get64(m->p);

	if (v & ~offered_features)
		return -EINVAL;
	dev->features = v;
	if (v & ~(1ull << VU_F_PROTOCOL_FEATURES))
		dev->ring_features = v & ring_feature_mask;
	else
		dev->ring_features = dev->assumed_ring_features & ring_feature_mask;
	return 0;
}

static int h_get_protocol_features(struct vu_dev *dev, struct vu_msg *m, char *why,
				   struct vu_reply *rep)
{
	return reply_u64(rep, offered_protocol(dev));
}

static int h_set_protocol_features(struct vu_dev *dev, struct vu_msg *m, char *why,
				   struct vu_reply *rep)
{
	uint64_t v = get64(m->p);

	if (v & ~offered_protocol(dev))
		return -EINVAL;
	dev->protocol_features = v;
	return 0;
}

static int h_get_queue_num(struct vu_dev *dev, struct vu_msg *m, char *why,
			   struct vu_reply *rep)
{
	return reply_u64(rep, dev->nr_queues);
}

static int h_set_owner(struct vu_dev *dev, struct vu_msg *m, char *why, struct vu_reply *rep)
{
	return 0;
}

/* Back to a fresh connection's state; @tell: queue_stop and mem_changed. */
static void reset_state(struct vu_dev *dev, bool tell)
{
	bool had_mem = dev->mem.nregions;

	for (unsigned int q = 0; q < dev->nr_queues; q++) {
		vq_stop(dev, &dev->vq[q], tell);
		vq_reset(dev, &dev->vq[q]);
	}
	dev->features = 0;
	dev->ring_features = dev->assumed_ring_features & ring_feature_mask;
	dev->protocol_features = 0;
	if (had_mem && tell) {
		struct vu_mem old = dev->mem;

		memset(&dev->mem, 0, sizeof(dev->mem));
		if (dev->ops->mem_changed)
			dev->ops->mem_changed(dev->opaque);
		mem_unmap(&old);
	} else {
		mem_unmap(&dev->mem);
	}
}

static int h_reset_owner(struct vu_dev *dev, struct vu_msg *m, char *why,
			 struct vu_reply *rep)
{
	reset_state(dev, true);
	return 0;
}

/* GET_CONFIG and SET_CONFIG: offset, size, flags, then size bytes. */
static int config_msg(struct vu_msg *m, char *why, uint32_t *offset, uint32_t *len)
{
	if (m->size < 12 || get32(m->p + 4) > VU_MAX_CONFIG || m->size != 12 + get32(m->p + 4)) {
		set_why(why, "GET/SET_CONFIG: %u bytes", m->size);
		return BREAK;
	}
	*offset = get32(m->p);
	*len = get32(m->p + 4);
	return 0;
}

static int h_get_config(struct vu_dev *dev, struct vu_msg *m, char *why,
			struct vu_reply *rep)
{
	uint32_t offset, len;
	int r = config_msg(m, why, &offset, &len);

	if (r)
		return r;
	memcpy(rep->p, m->p, 12);
	memset(rep->p + 12, 0, len);
	if (dev->ops->get_config && !dev->ops->get_config(dev->opaque, offset, rep->p + 12, len))
		rep->size = 12 + len;
	else
		rep->size = 0; /* the frontend sees a reply of the wrong size: failure */
	return 0;
}

static int h_set_config(struct vu_dev *dev, struct vu_msg *m, char *why,
			struct vu_reply *rep)
{
	uint32_t offset, len;
	int r = config_msg(m, why, &offset, &len);

	if (r)
		return r;
	if (!dev->ops->set_config)
		return -ENOTSUP;
	return dev->ops->set_config(dev->opaque, offset, m->p + 12, len, get32(m->p + 8));
}

static int h_create_session(struct vu_dev *dev, struct vu_msg *m, char *why,
			    struct vu_reply *rep)
{
	struct vu_crypto_session_req req;
	const uint8_t *p = m->p;
	int64_t id = -1;

	req.cipher_alg = get32(p + SESS_CIPHER_ALG);
	req.key_len = get32(p + SESS_KEY_LEN);
	req.hash_alg = get32(p + SESS_HASH_ALG);
	req.hash_result_len = get32(p + SESS_HASH_RES_LEN);
	req.auth_key_len = get32(p + SESS_AUTH_KEY_LEN);
	req.add_len = get32(p + SESS_ADD_LEN);
	req.op_type = p[SESS_OP_TYPE];
	req.direction = p[SESS_DIRECTION];
	req.hash_mode = p[SESS_HASH_MODE];
	req.alg_chain_order = p[SESS_CHAIN_ORDER];
	req.key = p + SESS_KEY;
	req.auth_key = p + SESS_AUTH_KEY;
	if (req.key_len <= VU_CRYPTO_MAX_KEY && req.auth_key_len <= VU_CRYPTO_MAX_AUTH_KEY &&
	    dev->ops->create_session) {
		if (dev->ops->create_session(dev->opaque, &req, &id) || id < 0)
			id = -1;
	}
	/* The reply echoes the request with the new id (or -1) at offset 0. */
	memcpy(rep->p, p, SESS_SIZE);
	put64(rep->p, (uint64_t)id);
	rep->size = SESS_SIZE;
	return 0;
}

static int h_close_session(struct vu_dev *dev, struct vu_msg *m, char *why,
			   struct vu_reply *rep)
{
	if (!dev->ops->close_session)
		return -ENOTSUP;
	return dev->ops->close_session(dev->opaque, get64(m->p));
}

static const struct req_info requests[] = {
	[REQ_GET_FEATURES] = { "GET_FEATURES", 0, true, false, h_get_features },
	[REQ_SET_FEATURES] = { "SET_FEATURES", 8, false, false, h_set_features },
	[REQ_SET_OWNER] = { "SET_OWNER", 0, false, false, h_set_owner },
	[REQ_RESET_OWNER] = { "RESET_OWNER", 0, false, false, h_reset_owner },
	[REQ_SET_MEM_TABLE] = { "SET_MEM_TABLE", -1, false, true, h_set_mem_table },
	[REQ_SET_VRING_NUM] = { "SET_VRING_NUM", 8, false, false, h_set_vring_num },
	[REQ_SET_VRING_ADDR] = { "SET_VRING_ADDR", VRING_ADDR_SIZE, false, false,
				 h_set_vring_addr },
	[REQ_SET_VRING_BASE] = { "SET_VRING_BASE", 8, false, false, h_set_vring_base },
	[REQ_GET_VRING_BASE] = { "GET_VRING_BASE", 8, true, false, h_get_vring_base },
	[REQ_SET_VRING_KICK] = { "SET_VRING_KICK", 8, false, true, h_set_vring_kick },
	[REQ_SET_VRING_CALL] = { "SET_VRING_CALL", 8, false, true, h_set_vring_call },
	[REQ_SET_VRING_ERR] = { "SET_VRING_ERR", 8, false, true, h_set_vring_err },
	[REQ_GET_PROTOCOL_FEATURES] = { "GET_PROTOCOL_FEATURES", 0, true, false,
					h_get_protocol_features },
	[REQ_SET_PROTOCOL_FEATURES] = { "SET_PROTOCOL_FEATURES", 8, false, false,
					h_set_protocol_features },
	[REQ_GET_QUEUE_NUM] = { "GET_QUEUE_NUM", 0, true, false, h_get_queue_num },
	[REQ_SET_VRING_ENABLE] = { "SET_VRING_ENABLE", 8, false, false, h_set_vring_enable },
	[REQ_GET_CONFIG] = { "GET_CONFIG", -1, true, false, h_get_config },
	[REQ_SET_CONFIG] = { "SET_CONFIG", -1, false, false, h_set_config },
	[REQ_CREATE_CRYPTO_SESSION] = { "CREATE_CRYPTO_SESSION", SESS_SIZE, true, false,
					h_create_session },
	[REQ_CLOSE_CRYPTO_SESSION] = { "CLOSE_CRYPTO_SESSION", 8, false, false,
				       h_close_session },
};

/* ---- the connection -------------------------------------------------------------- */

static void msg_reset(struct vu_dev *dev)
{
	for (unsigned int i = 0; i < dev->nfds; i++)
		close_fd(&dev->fds[i]);
	dev->nfds = 0;
	dev->msg_got = 0;
}

static void conn_close(struct vu_dev *dev, const char *why)
{
	if (dev->conn_fd < 0)
		return;
	dev->watch->remove_watch(dev->watch_opaque, dev->conn_fd);
	close_fd(&dev->conn_fd);
	msg_reset(dev);
	if (dev->ops->disconnected)
		dev->ops->disconnected(dev->opaque, why);
	reset_state(dev, false);
}

/* Send @len bytes at once, or the connection is broken. */
static int send_all(struct vu_dev *dev, const void *buf, size_t len, char *why)
{
	ssize_t n;

	if (dev->conn_fd < 0)
		return 0; /* dropped by the owner from a callback */
	do
		n = send(dev->conn_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		set_why(why, "reply not sent: %s", n < 0 ? strerror(errno) : "short write");
		return BREAK;
	}
	return 0;
}

static int send_reply(struct vu_dev *dev, uint32_t request, struct vu_reply *rep, char *why)
{
	uint8_t hdr[HDR_SIZE];

	put32(hdr, request);
	put32(hdr + 4, F_VERSION | F_REPLY);
	put32(hdr + 8, rep->size);
	memmove(rep->p + HDR_SIZE, rep->p, rep->size);
	memcpy(rep->p, hdr, HDR_SIZE);
	return send_all(dev, rep->p, HDR_SIZE + rep->size, why);
}

/* Check and run the message in dev->msg.  0, or BREAK with @why. */
static int handle_msg(struct vu_dev *dev, char *why)
{
	struct vu_reply rep;
	const struct req_info *ri = NULL;
	struct vu_msg m;
	int r;

	m.request = get32(dev->msg);
	m.flags = get32(dev->msg + 4);
	m.size = get32(dev->msg + 8);
	m.p = dev->msg + HDR_SIZE;
	if (m.request < sizeof(requests) / sizeof(requests[0]) && requests[m.request].fn)
		ri = &requests[m.request];
	if (!ri) {
		r = -ENOSYS; /* unknown: fails, its fds are closed */
		goto out_ack;
	}
	if (ri->size >= 0 && m.size != (uint32_t)ri->size) {
		set_why(why, "%s: %u bytes, %d expected", ri->name, m.size, ri->size);
		return BREAK;
	}
	if (!ri->takes_fds && dev->nfds) {
		set_why(why, "%s: %u fds, none expected", ri->name, dev->nfds);
		return BREAK;
	}
	rep.size = 0;
	r = ri->fn(dev, &m, why, &rep);
	if (r == BREAK)
		return BREAK;
	if (ri->has_reply)
		return send_reply(dev, m.request, &rep, why);
out_ack:
	if (!(m.flags & F_NEED_REPLY))
		return 0;
	reply_u64(&rep, (uint64_t)-r);
	return send_reply(dev, m.request, &rep, why);
}

/*
 * Read what the socket has of the current message: 1 when it is whole,
 * 0 when the socket has no more for now, -1 with @why when the connection is broken.
 */
static int recv_msg(struct vu_dev *dev, char *why)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	bool too_many = false;

	for (;;) {
		uint32_t want = dev->msg_got < HDR_SIZE ? HDR_SIZE - dev->msg_got :
			HDR_SIZE + get32(dev->msg + 8) - dev->msg_got;
		struct iovec iov = { dev->msg + dev->msg_got, want };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		ssize_t n;

		if (!want)
			return 1; /* a header with size 0 */
		n = recvmsg(dev->conn_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			set_why(why, "recv: %s", strerror(errno));
			return -1;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (dev->nfds < VU_MAX_FDS) {
					dev->fds[dev->nfds++] = fd;
				} else {
					close(fd);
					too_many = true;
				}
			}
		}
		if (too_many || (mh.msg_flags & MSG_CTRUNC)) {
			set_why(why, "more than %u fds with one message", VU_MAX_FDS);
			return -1;
		}
		if (n == 0) {
			if (dev->msg_got || dev->nfds)
				set_why(why, "frontend closed the connection mid-message");
			else
				set_why(why, "frontend closed the connection");
			return -1;
		}
		dev->msg_got += (uint32_t)n;
		if (dev->msg_got == HDR_SIZE) {
			uint32_t flags = get32(dev->msg + 4), size = get32(dev->msg + 8);

			if ((flags & F_VERSION_MASK) != F_VERSION || (flags & F_REPLY)) {
				set_why(why, "request %u: bad flags 0x%x", get32(dev->msg), flags);
				return -1;
			}
			if (size > VU_MAX_PAYLOAD) {
				set_why(why, "request %u: %u bytes of payload", get32(dev->msg), size);
				return -1;
			}
		}
		if (dev->msg_got >= HDR_SIZE && dev->msg_got == HDR_SIZE + get32(dev->msg + 8))
			return 1;
	}
}

static void on_conn(void *data, int fd, unsigned int revents)
{
	struct vu_dev *dev = data;
	char why[VU_WHY_MAX];

	for (int i = 0; i < MSGS_PER_EVENT && dev->conn_fd == fd; i++) {
		int r = recv_msg(dev, why);

		if (r == 0)
			return;
		if (r == 1) {
			r = handle_msg(dev, why);
			msg_reset(dev);
		}
		if (r) { /* -1 from recv_msg() or BREAK from handle_msg() */
			if (dev->conn_fd == fd)
				conn_close(dev, why);
			return;
		}
	}
}

static int conn_start(struct vu_dev *dev, int fd)
{
	int fl = fcntl(fd, F_GETFL);
	int r;

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	r = dev->watch->set_watch(dev->watch_opaque, fd, VU_WATCH_IN, on_conn, dev);
	if (r)
		return r;
	dev->conn_fd = fd;
	msg_reset(dev);
	reset_state(dev, false);
	if (dev->ops->connected)
		dev->ops->connected(dev->opaque);
	return 0;
}

static void on_listen(void *data, int fd, unsigned int revents)
{
	struct vu_dev *dev = data;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0)
		return;
	/* A frontend that closed and reconnected at once: see the close first. */
	if (dev->conn_fd >= 0)
		on_conn(dev, dev->conn_fd, VU_WATCH_IN);
	if (dev->conn_fd >= 0 || conn_start(dev, c))
		close(c); /* one frontend at a time */
}

/* ---- public ---------------------------------------------------------------------- */

int vu_init(struct vu_dev *dev, unsigned int nr_queues, const struct vu_dev_ops *ops,
	    void *opaque, const struct vu_watch_ops *watch, void *watch_opaque)
{
	if (!nr_queues || nr_queues > VU_MAX_QUEUES || !ops || !ops->queue_kick || !watch ||
	    !watch->set_watch || !watch->remove_watch)
		return -EINVAL;
	memset(dev, 0, sizeof(*dev));
	dev->ops = ops;
	dev->opaque = opaque;
	dev->watch = watch;
	dev->watch_opaque = watch_opaque;
	dev->nr_queues = nr_queues;
	dev->listen_fd = dev->conn_fd = -1;
	for (unsigned int i = 0; i < VU_MAX_FDS; i++)
		dev->fds[i] = -1;
	for (unsigned int q = 0; q < VU_MAX_QUEUES; q++) {
		dev->vq[q].index = q;
		dev->vq[q].kick_fd = dev->vq[q].call_fd = dev->vq[q].err_fd = -1;
		vq_reset(dev, &dev->vq[q]);
	}
	vu_set_assumed_ring_features(dev, ring_feature_mask);
	return 0;
}

void vu_set_assumed_ring_features(struct vu_dev *dev, uint64_t features)
{
	dev->assumed_ring_features = features & ring_feature_mask;
	if (!(dev->features & ~(1ull << VU_F_PROTOCOL_FEATURES)))
		dev->ring_features = dev->assumed_ring_features;
}

/* A socket file at @path nobody listens on is removed; a live one is refused. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a listener that never accepts cannot hold the caller. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (!r || r == -EAGAIN)
		return -EADDRINUSE;
	return unlink(path) ? -errno : 0;
}

int vu_listen(struct vu_dev *dev, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (dev->listen_fd >= 0)
		return -EBUSY;
	if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	r = clear_stale(path, &sa);
	if (r)
		return r;
	dev->path = strdup(path);
	if (!dev->path)
		return -ENOMEM;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out_free;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		goto out_close;
	}
	if (listen(fd, 4)) {
		r = -errno;
		goto out_unlink;
	}
	r = dev->watch->set_watch(dev->watch_opaque, fd, VU_WATCH_IN, on_listen, dev);
	if (r)
		goto out_unlink;
	dev->listen_fd = fd;
	return 0;

out_unlink:
	unlink(path);
out_close:
	close(fd);
out_free:
	free(dev->path);
	dev->path = NULL;
	return r;
}

int vu_accept_fd(struct vu_dev *dev, int fd)
{
	if (fd < 0)
		return -EINVAL;
	if (dev->conn_fd >= 0)
		return -EBUSY;
	return conn_start(dev, fd);
}

bool vu_connected(const struct vu_dev *dev)
{
	return dev->conn_fd >= 0;
}

void vu_disconnect(struct vu_dev *dev, const char *why)
{
	conn_close(dev, why ? why : "disconnected by the backend");
}

void vu_destroy(struct vu_dev *dev)
{
	if (dev->conn_fd >= 0) {
		dev->watch->remove_watch(dev->watch_opaque, dev->conn_fd);
		close_fd(&dev->conn_fd);
	}
	msg_reset(dev);
	reset_state(dev, false);
	if (dev->listen_fd >= 0) {
		dev->watch->remove_watch(dev->watch_opaque, dev->listen_fd);
		close_fd(&dev->listen_fd);
		unlink(dev->path);
	}
	free(dev->path);
	dev->path = NULL;
}

struct vu_virtq *vu_queue(struct vu_dev *dev, unsigned int index)
{
	return index < dev->nr_queues ? &dev->vq[index] : NULL;
}

const struct vu_mem_region *vu_mem_regions(const struct vu_dev *dev, unsigned int *n)
{
	*n = dev->mem.nregions;
	return dev->mem.regions;
}

void *vu_gpa_to_host(const struct vu_dev *dev, uint64_t gpa, uint64_t len, bool write)
{
	return vu_mem_gpa(&dev->mem, gpa, len, write);
}
