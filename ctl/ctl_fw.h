/* SPDX-License-Identifier: MIT */
/*
 * DOC: control protocol - the generic backend over a framework instance
 *
 * ctl_fw_ops implements every command of docs/control-protocol.md that the
 * framework can answer by itself - list, vcoproc-list, sched-get,
 * sched-set, vcoproc-set, sched-dump, trace-start, trace-stop,
 * trace-export - and forwards the ones only the host can carry out
 * (create, destroy, console-read, domain-list) to struct ctl_host_ops.
 * A host embeds it like this:
 *
 *   struct ctl_fw be;
 *   ctl_fw_init(&be, fw, &my_host_ops, me);
 *   ctl_server_create(path, &ctl_fw_ops, &be, &srv, err, sizeof(err));
 *   ... poll(ctl_server_fd(srv)) ... ctl_server_dispatch(srv, 0) ...
 *   ctl_server_destroy(srv);
 *
 * Handlers call the framework's listing functions (vc_fw_coprocs(),
 * vc_coproc_vcoprocs()), which must be serialized with topology changes:
 * call ctl_server_dispatch() on the thread that creates and destroys
 * domains, or hold the host's topology lock around it.
 *
 * Parameter changes are all or nothing as far as the framework allows:
 * sched-set and vcoproc-set apply their parameters in order and, when
 * one is refused, set the ones already applied back to their old values
 * (and the old algorithm back, for sched-set) before replying with the
 * error.
 */
#ifndef VCOPROC_CTL_FW_H
#define VCOPROC_CTL_FW_H

#include <vcoproc/vcoproc.h>

#include "ctl.h"

#define CTL_MAX_WARNINGS 8

/** What create reports back. */
struct ctl_created {
	uint32_t domid;
	char name[VC_NAME_MAX];
	char warnings[CTL_MAX_WARNINGS][CTL_DESC_MAX]; /* e.g. domcfg warnings */
	unsigned int nr_warnings;
};

/** One domain, for domain-list. */
struct ctl_domain_info {
	uint32_t domid;
	char name[VC_NAME_MAX];
	char state[16];           /* the host's word: "running", "exited", ... */
	uint64_t memory_mib;
	unsigned int vcpus;
	char kernel[256];
};

/** One chunk of a console, for console-read. */
struct ctl_console_chunk {
	char *data;               /* the caller's buffer of @max bytes */
	size_t len;               /* bytes stored there */
	uint64_t start;           /* oldest offset still kept */
	uint64_t next;            /* offset after the bytes returned */
	bool closed;              /* the domain is gone or its console ended:
				   * nothing will follow @next */
};

/**
 * What only the host can do.  Every hook runs on the dispatching thread and
 * may change topology.  On failure a hook returns < 0 and fills @err
 * (DeviceNotFound for an unknown domain).
 */
struct ctl_host_ops {
	/**
	 * create() - build and start a domain from the domain file text
	 * @text (@len bytes, not NUL-terminated; untrusted) that the client
	 * read from @path (for messages and relative paths; may be "").  All
	 * or nothing (domcfg_build()).  Fills @out.  Optional.
	 */
	int (*create)(void *opaque, const char *path, const char *text, size_t len,
		      struct ctl_created *out, struct ctl_error *err);
	/** destroy() - tear domain @dom (a name, or an id in decimal) down.  Optional. */
	int (*destroy)(void *opaque, const char *dom, struct ctl_error *err);
	/**
	 * console_read() - up to @max bytes of @dom's console from absolute
	 * @offset into @out->data (see ctl_conlog_read()).  Optional.
	 */
	int (*console_read)(void *opaque, const char *dom, uint64_t offset, size_t max,
			    struct ctl_console_chunk *out, struct ctl_error *err);
	/**
	 * domain_list() - up to @max domains into @out; returns how many there
	 * are (may exceed @max).  Optional.
	 */
	unsigned int (*domain_list)(void *opaque, struct ctl_domain_info *out, unsigned int max);
};

/** The generic backend's instance: the @opaque of ctl_fw_ops. */
struct ctl_fw {
	struct vc_fw *fw;
	const struct ctl_host_ops *host; /* may be NULL: no host commands */
	void *host_opaque;
};

/** ctl_fw_init() - point @be at @fw and the host's @host ops. */
void ctl_fw_init(struct ctl_fw *be, struct vc_fw *fw, const struct ctl_host_ops *host,
		 void *host_opaque);

/** The generic backend: opaque is a struct ctl_fw. */
extern const struct ctl_ops ctl_fw_ops;

/** Its commands, for a host that builds a table of its own around them. */
extern const struct ctl_command ctl_fw_commands[];

#endif /* VCOPROC_CTL_FW_H */
