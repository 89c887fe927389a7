// SPDX-License-Identifier: MIT
/*
 * DOC: vhost-user frontends of the tests - one frame on the wire (wire.h)
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "wire.h"

int wire_send(int sock, const struct iovec *iov, int iovcnt, const int *fds, unsigned int nfds,
	      int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * WIRE_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };

	if (nfds > WIRE_MAX_FDS)
		return -EINVAL;
	memset(&ctl, 0, sizeof(ctl));
	if (nfds) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL | flags) < 0 ? -errno : 0;
}
