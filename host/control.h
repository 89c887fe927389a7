/* SPDX-License-Identifier: MIT */
/*
 * DOC: vcoprocd's daemon mode (control.c)
 */
#ifndef HOST_CONTROL_H
#define HOST_CONTROL_H

#include "host.h"

/**
 * host_serve() - serve the control socket at @sock on the host's loop until
 * SIGINT/SIGTERM arrives on @sigfd; then every domain is destroyed.  A
 * control connection idle for @idle_timeout_ns is closed (0: the default,
 * CTL_IDLE_TIMEOUT_MS).  Prints "ready" on stdout once listening.  Returns
 * the signal that stopped it, or -1 when the socket or the loop failed
 * (logged).
 */
int host_serve(struct host *h, const char *sock, int sigfd, uint64_t idle_timeout_ns);

#endif /* HOST_CONTROL_H */
