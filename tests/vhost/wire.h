/* SPDX-License-Identifier: MIT */
/*
 * DOC: vhost-user frontends of the tests - one frame on the wire
 *
 * The tests' and fuzzers' frontends (tests/vhost/frontend.c, vu-hostile.c,
 * tests/virtio/crypto-hostile.c, fuzz/fuzz_vhost_msg.c) all send what a
 * frontend sends: bytes with file descriptors passed alongside
 * (SCM_RIGHTS).  One helper for it.
 */
#ifndef VCOPROC_TESTS_VHOST_WIRE_H
#define VCOPROC_TESTS_VHOST_WIRE_H

#include <stddef.h>
#include <sys/uio.h>

#define WIRE_MAX_FDS 16

/**
 * wire_send() - sendmsg() @iov[0..@iovcnt) on @sock with @fds[0..@nfds)
 * (at most WIRE_MAX_FDS) as SCM_RIGHTS, and MSG_NOSIGNAL | @flags.
 * Returns 0 or -errno (-EINVAL for too many fds).
 */
int wire_send(int sock, const struct iovec *iov, int iovcnt, const int *fds, unsigned int nfds,
	      int flags);

#endif /* VCOPROC_TESTS_VHOST_WIRE_H */
