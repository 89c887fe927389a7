/* SPDX-License-Identifier: MIT */
/*
 * DOC: vhost-user backend - one connection to one frontend
 *
 * A struct vu_dev is the backend side of the vhost-user protocol (QEMU
 * docs/interop/vhost-user.rst) for one device: it listens on a Unix socket
 * (vu_listen()) or is handed a connected one (vu_accept_fd()), serves one
 * frontend at a time, and after that frontend disconnects accepts the next.
 * It speaks the control messages (features, memory table, rings, config,
 * crypto sessions) and maps the guest's memory; the device's work is the
 * owner's, through struct vu_dev_ops: a kick calls queue_kick(), which pops
 * chains from the queue (virtq.h), does them and pushes them back.
 *
 * The library never owns the loop.  It asks its owner to watch fds through
 * struct vu_watch_ops (the listening socket, the connection, each ring's
 * kick eventfd), and the owner calls the callback it was given when that
 * fd is ready, on the owner's loop thread.  Watches are level-triggered
 * with VU_WATCH_IN; the event values are poll()'s (and host/loop.h's), so
 * an owner on host/loop.h passes them through unchanged:
 *
 *   static int set_watch(void *wo, int fd, unsigned int ev, vu_watch_cb *cb, void *data)
 *   { return hloop_watch(wo, fd, ev, cb, data); }
 *   static void remove_watch(void *wo, int fd) { hloop_unwatch(wo, fd); }
 *
 * Messages are read without blocking: a frontend that sends half a message
 * only makes the backend wait for the rest.  Replies are small and sent at
 * once; a frontend whose socket cannot take one is broken.
 *
 * Bad input from the frontend ends in one of two ways:
 *   - a framing violation (bad version or flags, a payload over
 *     VU_MAX_PAYLOAD, a size a request does not have, fds a request does
 *     not take or too many, the socket closed mid-message, a reply that
 *     cannot be sent) breaks the connection: everything is torn down,
 *     disconnected() is told why, the next frontend may connect;
 *   - a well-framed request the backend refuses (regions that overlap, a
 *     ring size that is no power of two, an unknown request, ...) fails
 *     alone: nothing changes, its fds are closed, and the frontend hears
 *     of it if it asked (REPLY_ACK: a non-zero u64).
 * Nothing a frontend or a guest sends aborts the process.
 *
 * Ownership: struct vu_dev is the owner's memory (vu_init() .. vu_destroy());
 * everything it holds - sockets, fds received, mappings, queues - is the
 * library's.  An fd given to vu_accept_fd() becomes the library's on
 * success.  Pointers into guest memory (elements, vu_mem_regions() hosts)
 * are valid until the memory table changes: the owner is told first, by
 * mem_changed() (a new table; the old one is unmapped when it returns) or
 * disconnected() (everything is unmapped when it returns), and must finish
 * or drop whatever it holds there.  Callbacks must not call vu_destroy().
 * Locking: none; a struct vu_dev and its queues belong to the owner's loop
 * thread, which is where every callback runs.
 */
#ifndef VHOST_VHOST_USER_H
#define VHOST_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "virtq.h"

#define VU_MAX_QUEUES   16
#define VU_MAX_FDS      VU_MAX_MEM_REGIONS  /* fds one message may carry */
#define VU_MAX_PAYLOAD  4096u               /* larger messages break the connection */
#define VU_MAX_CONFIG   256u                /* VHOST_USER_MAX_CONFIG_SIZE */
#define VU_WHY_MAX      128

/* Watch events, as poll()'s POLLIN and POLLERR|POLLHUP (and HLOOP_*). */
#define VU_WATCH_IN     0x1u
#define VU_WATCH_ERR    0x8u

/* Feature bits (virtio and vhost-user). */
#define VU_F_INDIRECT_DESC     28
#define VU_F_EVENT_IDX         29
#define VU_F_PROTOCOL_FEATURES 30
#define VU_F_VERSION_1         32

/* Protocol feature bits. */
#define VU_PROTOCOL_F_MQ             0
#define VU_PROTOCOL_F_REPLY_ACK      3
#define VU_PROTOCOL_F_CRYPTO_SESSION 7
#define VU_PROTOCOL_F_CONFIG         9

/* The cipher and hash key limits of CREATE_CRYPTO_SESSION. */
#define VU_CRYPTO_MAX_KEY      64
#define VU_CRYPTO_MAX_AUTH_KEY 512

/** A callback for a ready fd: @revents is a mask of VU_WATCH_*. */
typedef void vu_watch_cb(void *data, int fd, unsigned int revents);

/** How the library asks its owner to watch fds. */
struct vu_watch_ops {
	/** Call @cb(@data, fd, revents) whenever @fd is ready for @events.  0 or -errno. */
	int (*set_watch)(void *watch_opaque, int fd, unsigned int events, vu_watch_cb *cb,
			 void *data);
	/** Stop watching @fd (the library closes it next). */
	void (*remove_watch)(void *watch_opaque, int fd);
};

/**
 * CREATE_CRYPTO_SESSION's fields (QEMU 7.2's layout, virtio-crypto's
 * values: cipher_alg 3 is AES-CBC, op_type 1 cipher, direction 1 encrypt
 * and 2 decrypt).  key and auth_key point into the message and are valid
 * during the call only; key_len and auth_key_len are checked against
 * VU_CRYPTO_MAX_KEY and VU_CRYPTO_MAX_AUTH_KEY before the call.
 */
struct vu_crypto_session_req {
	uint32_t cipher_alg;
	uint32_t key_len;
	uint32_t hash_alg;
	uint32_t hash_result_len;
	uint32_t auth_key_len;
	uint32_t add_len;
	uint8_t op_type;
	uint8_t direction;
	uint8_t hash_mode;
	uint8_t alg_chain_order;
	const uint8_t *key;
	const uint8_t *auth_key;
};

/** What the device does; every hook runs on the owner's loop thread. */
struct vu_dev_ops {
	/**
	 * get_config() - fill @buf with @len bytes of the device's config
	 * space from @offset.  0 or -errno.  Optional: without it the CONFIG
	 * protocol feature is not offered and GET_CONFIG fails.
	 */
	int (*get_config)(void *opaque, uint32_t offset, uint8_t *buf, uint32_t len);
	/** set_config() - SET_CONFIG.  0 or -errno.  Optional (fails without). */
	int (*set_config)(void *opaque, uint32_t offset, const uint8_t *buf, uint32_t len,
			  uint32_t flags);
	/**
	 * create_session() - a crypto session; 0 with its id (>= 0) in
	 * @session_id, or -errno (the frontend gets id -1).  Optional: without
	 * it CRYPTO_SESSION is not offered and the requests fail.
	 */
	int (*create_session)(void *opaque, const struct vu_crypto_session_req *req,
			      int64_t *session_id);
	/** close_session() - 0 or -errno (the frontend is told only if it asked). */
	int (*close_session)(void *opaque, uint64_t session_id);
	/**
	 * queue_kick() - @vq has new chains (a kick, or the ring just
	 * started): pop until vu_virtq_pop() returns 0 or -EIO.  Required.
	 */
	void (*queue_kick)(void *opaque, struct vu_virtq *vq);
	/**
	 * queue_stop() - @vq stops (GET_VRING_BASE, RESET_OWNER): whatever the
	 * owner still holds of it can no longer be pushed (vu_virtq_push()
	 * returns -EIO once this returns); the frontend is told the index of
	 * the next chain to consume, so popped chains count as consumed.
	 * Optional.
	 */
	void (*queue_stop)(void *opaque, struct vu_virtq *vq);
	/** connected() - a frontend connected.  Optional. */
	void (*connected)(void *opaque);
	/**
	 * disconnected() - the frontend is gone (@why: it closed, or what it
	 * broke).  The rings and memory are still mapped during the call and
	 * are unmapped when it returns: drop every element.  Optional.
	 */
	void (*disconnected)(void *opaque, const char *why);
	/**
	 * mem_changed() - SET_MEM_TABLE installed a new table: vu_mem_regions()
	 * returns it and the rings are mapped through it; the old table is
	 * still mapped during the call and unmapped when it returns, so
	 * elements popped before must be finished (pushed) or dropped here.
	 * Also called when the table is emptied (RESET_OWNER).  Optional.
	 */
	void (*mem_changed)(void *opaque);
};

/** One backend device; the owner's memory, its fields the library's. */
struct vu_dev {
	const struct vu_dev_ops *ops;
	void *opaque;
	const struct vu_watch_ops *watch;
	void *watch_opaque;
	unsigned int nr_queues;
	uint64_t assumed_ring_features;
	int listen_fd;              /* -1 unless vu_listen() */
	char *path;                 /* the socket file vu_listen() made */
	int conn_fd;                /* -1 when no frontend */
	/* negotiated */
	uint64_t features;          /* SET_FEATURES as sent */
	uint64_t ring_features;     /* the ring features in force */
	uint64_t protocol_features;
	/* the message being read */
	uint8_t msg[12 + VU_MAX_PAYLOAD];
	uint32_t msg_got;
	int fds[VU_MAX_FDS];
	unsigned int nfds;
	struct vu_mem mem;
	struct vu_virtq vq[VU_MAX_QUEUES];
};

/**
 * vu_init() - a device with @nr_queues queues (1 .. VU_MAX_QUEUES) and no
 * frontend.  @ops (queue_kick required) and @watch are kept, not copied.
 * Returns 0 or -EINVAL.
 */
int vu_init(struct vu_dev *dev, unsigned int nr_queues, const struct vu_dev_ops *ops,
	    void *opaque, const struct vu_watch_ops *watch, void *watch_opaque);

/**
 * vu_set_assumed_ring_features() - the ring features (1ull << VU_F_*) to
 * take as negotiated when SET_FEATURES carries nothing but
 * PROTOCOL_FEATURES, as QEMU 7.2's cryptodev-vhost-user sends although
 * its guest has INDIRECT_DESC, EVENT_IDX and VERSION_1 on.  A SET_FEATURES
 * with any other bit is taken as it is.  The default is INDIRECT_DESC |
 * EVENT_IDX | VERSION_1.  Takes effect when a ring starts.
 */
void vu_set_assumed_ring_features(struct vu_dev *dev, uint64_t features);

/**
 * vu_listen() - listen on a Unix socket at @path (a stale socket file is
 * replaced; a live one is -EADDRINUSE) and accept one frontend at a time;
 * one that connects while another is served is closed at once (what the
 * served one had sent, its close included, is read first, so a frontend
 * that reconnects at once is served).  Returns 0 or -errno.
 */
int vu_listen(struct vu_dev *dev, const char *path);

/**
 * vu_accept_fd() - serve the frontend on connected socket @fd, which the
 * library owns from now on (closes it on disconnect).  Returns 0, -EBUSY
 * (a frontend is being served; @fd stays the caller's) or -errno.
 */
int vu_accept_fd(struct vu_dev *dev, int fd);

/** vu_connected() - is a frontend being served? */
bool vu_connected(const struct vu_dev *dev);

/**
 * vu_disconnect() - drop the frontend as if it had gone (disconnected()
 * is told @why); the device keeps listening.  No-op without one.
 */
void vu_disconnect(struct vu_dev *dev, const char *why);

/**
 * vu_destroy() - drop the frontend and stop listening (the socket file is
 * removed), calling no callback; every fd and mapping is released.
 */
void vu_destroy(struct vu_dev *dev);

/** vu_queue() - queue @index, or NULL if out of range. */
struct vu_virtq *vu_queue(struct vu_dev *dev, unsigned int index);

/**
 * vu_mem_regions() - the memory table's regions (gpa, size, host,
 * writable) for the owner to build an IOMMU context from; @n gets their
 * count.  Valid until mem_changed() or disconnected() returns.
 */
const struct vu_mem_region *vu_mem_regions(const struct vu_dev *dev, unsigned int *n);

/** vu_gpa_to_host() - vu_mem_gpa() on @dev's memory table. */
void *vu_gpa_to_host(const struct vu_dev *dev, uint64_t gpa, uint64_t len, bool write);

#endif /* VHOST_VHOST_USER_H */
