/* SPDX-License-Identifier: MIT */
/*
 * DOC: POSIX OS layer
 *
 * os/posix.c implements include/vcoproc/os.h for Linux user space: malloc,
 * pthread mutexes, CLOCK_MONOTONIC and one timer thread (started on first
 * use) that runs every timer callback.  Log lines go to stderr.
 */
#ifndef VCOPROC_POSIX_H
#define VCOPROC_POSIX_H

#include "os.h"

/** vc_posix_set_log_level() - lines above @level are dropped (default INFO,
 *  or the VCOPROC_LOG environment variable: err, warn, info, debug). */
void vc_posix_set_log_level(enum vc_log_level level);

/**
 * vc_posix_set_log_sink() - send log lines to @fn instead of stderr
 * (NULL restores stderr).  @fn may be called from any thread.
 */
void vc_posix_set_log_sink(void (*fn)(enum vc_log_level, const char *line));

#endif /* VCOPROC_POSIX_H */
