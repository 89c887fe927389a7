// SPDX-License-Identifier: MIT
/*
 * DOC: control protocol - console logs
 *
 * A ring of the last N bytes a domain wrote to its console, addressed by
 * absolute offsets so that a reader polling with console-read can follow
 * it without missing or repeating bytes (and can tell how much it lost
 * when it fell more than N bytes behind).  Writers are the domain's
 * threads, readers the control thread: one mutex protects everything.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "ctl.h"

struct ctl_conlog {
	pthread_mutex_t lock;
	char *buf;        /* protected by lock */
	size_t cap;
	uint64_t written; /* protected by lock: bytes ever written */
};

int ctl_conlog_create(size_t capacity, struct ctl_conlog **out)
{
	struct ctl_conlog *log;

	*out = NULL;
	if (!capacity)
		return -VC_EINVAL;
	log = calloc(1, sizeof(*log));
	if (!log)
		return -VC_ENOMEM;
	log->buf = malloc(capacity);
	if (!log->buf) {
		free(log);
		return -VC_ENOMEM;
	}
	log->cap = capacity;
	pthread_mutex_init(&log->lock, NULL);
	*out = log;
	return 0;
}

void ctl_conlog_destroy(struct ctl_conlog *log)
{
	if (!log)
		return;
	pthread_mutex_destroy(&log->lock);
	free(log->buf);
	free(log);
}

void ctl_conlog_write(struct ctl_conlog *log, const char *data, size_t len)
{
	pthread_mutex_lock(&log->lock);
	/* Only the last cap bytes can survive. */
	if (len > log->cap) {
		log->written += len - log->cap;
		data += len - log->cap;
		len = log->cap;
	}
	while (len) {
		size_t at = (size_t)(log->written % log->cap);
		size_t n = VC_MIN(len, log->cap - at);

		memcpy(log->buf + at, data, n);
		log->written += n;
		data += n;
		len -= n;
	}
	pthread_mutex_unlock(&log->lock);
}

void ctl_conlog_printf(struct ctl_conlog *log, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		ctl_conlog_write(log, line, VC_MIN((size_t)n, sizeof(line) - 1));
}

size_t ctl_conlog_read(struct ctl_conlog *log, uint64_t offset, char *buf, size_t max,
		       uint64_t *start, uint64_t *next)
{
	size_t copied = 0;
	uint64_t oldest;

	pthread_mutex_lock(&log->lock);
	oldest = log->written > log->cap ? log->written - log->cap : 0;
	if (offset < oldest)
		offset = oldest;
	if (offset > log->written)
		offset = log->written;
	while (copied < max && offset < log->written) {
		size_t at = (size_t)(offset % log->cap);
		size_t n = VC_MIN(max - copied, log->cap - at);

		n = (size_t)VC_MIN((uint64_t)n, log->written - offset);
		memcpy(buf + copied, log->buf + at, n);
		copied += n;
		offset += n;
	}
	*start = oldest;
	*next = offset;
	pthread_mutex_unlock(&log->lock);
	return copied;
}
