/* SPDX-License-Identifier: MIT */
/*
 * DOC: domain configuration files
 *
 * What a domain file (xl.cfg syntax, see xlcfg.h) means to a vcoproc host:
 *
 *   name    = "dom1"        required; a letter, then letters, digits, '_',
 *                           '-', '.'; at most VC_NAME_MAX - 1 bytes
 *   memory  = 64            RAM in MiB, 1 .. DOMCFG_MAX_MEMORY_MIB
 *                           (default DOMCFG_DEF_MEMORY_MIB)
 *   kernel  = "guest.elf"   required; the image (or a host's built-in
 *                           workload); relative paths are the host's to
 *                           resolve (domcfg_resolve_path())
 *   vcpus   = 1             1 .. DOMCFG_MAX_VCPUS (default 1)
 *   extra   = "args"        the guest's command line (default "")
 *   vcoproc = [ "gpu0", "gpu1,weight=512,cap=50" ]
 *                           one vcoproc per entry: a coprocessor instance
 *                           id, then per-vcoproc scheduling parameters
 *                           key=value (at most VC_VCOPROC_MAX_PARAMS)
 *   type    = "kvm"         the kind of domain: "kvm" (a VM booting kernel),
 *                           "builtin" (kernel = "builtin:NAME", a workload
 *                           of the host's), "vhost-user" (a guest in another
 *                           VMM, reached through its virtio devices); by
 *                           default "builtin" for builtin: kernels, else
 *                           "kvm"
 *   virtio  = [ "type=crypto,transport=vhost-user,socket=/run/d1.sock" ]
 *                           virtio devices served to a vhost-user domain,
 *                           as xl's virtio= list: comma-separated
 *                           key=value, type (crypto) and socket required,
 *                           transport (vhost-user, the default),
 *                           vcoproc=INSTANCE (the vcoproc the device runs
 *                           its work on; default: the first one)
 *
 *   dtdev   = [ "/soc/coprocessor@fe001000" ]
 *   iomem   = [ "fe001,1" ]
 *   irqs    = [ 17 ]        exclusive passthrough, in xl's own terms: the
 *                           device-tree node of a coprocessor reserved for
 *                           passthrough (docs/passthrough.md), its register
 *                           pages (hex page number, hex page count, as xl;
 *                           "@GFN" only where GFN is the same page) and
 *                           its interrupts; the host checks all three
 *                           against the system device tree
 *                           (domcfg_assign())
 *
 * kernel is required except for vhost-user domains, which need at least
 * one virtio device and take no kernel.  iomem and irqs come with dtdev.
 *
 * Values are read as xl reads them: a number key takes what
 * xlu_cfg_get_long() takes (xlcfg_long(): memory = 010 is 8, "0x40" is
 * 64; a number set with '+=' is refused), a string key takes a number's
 * text too (extra = 3 is "3").
 *
 * Policy, as xl's: a value of the wrong type or out of range is an error;
 * a malformed vcoproc entry is an error; an unknown top-level key is
 * ignored with a warning (xl reads the same files with more keys than a
 * given host knows); a key set twice takes its last value, with a warning.
 * Spaces around the parts of a vcoproc entry are ignored.
 *
 * Every message, error or warning, begins with FILE:LINE:COL of the value
 * concerned ("FILE:LINE:COL: warning: ..." for warnings); a missing
 * required key is reported at the end of the file.  domcfg_build() (the
 * framework side) reports the same way, pointing into the vcoproc entry.
 *
 * Ownership: struct domcfg is plain data with fixed-size fields, owned by
 * the caller; nothing in it needs freeing.
 */
#ifndef VCOPROC_DOMCFG_H
#define VCOPROC_DOMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vcoproc/vcoproc.h>

#include "xlcfg.h"

#define DOMCFG_MAX_VCOPROCS    8
#define DOMCFG_PATH_MAX        4096  /* kernel, file name; NUL included */
#define DOMCFG_EXTRA_MAX       512   /* guest arguments; NUL included */
#define DOMCFG_DEF_MEMORY_MIB  64
#define DOMCFG_MAX_MEMORY_MIB  (1u << 20)
#define DOMCFG_MAX_VCPUS       128
#define DOMCFG_MAX_WARNINGS    8
#define DOMCFG_MSG_MAX         XLCFG_ERR_MAX
#define DOMCFG_MAX_VIRTIO      4
#define DOMCFG_WORD_MAX        16    /* type, virtio type and transport; NUL included */
#define DOMCFG_MAX_DTDEV       4
#define DOMCFG_DTPATH_MAX      256   /* a dtdev node path; NUL included */
#define DOMCFG_MAX_IOMEM       8
#define DOMCFG_MAX_IRQS        8

/** One iomem entry: "PFN,NR" (hex, as xl), a range of 4 KiB pages. */
struct domcfg_iomem {
	uint64_t pfn, nr;
	struct xlcfg_pos pos;
};

/** One vcoproc entry: "INSTANCE[,key=value...]". */
struct domcfg_vcoproc {
	char instance[VC_NAME_MAX];
	struct vc_param params[VC_VCOPROC_MAX_PARAMS];
	unsigned int nr_params;
	struct xlcfg_pos pos;                              /* the instance id */
	struct xlcfg_pos param_pos[VC_VCOPROC_MAX_PARAMS]; /* each key */
	struct xlcfg_pos val_pos[VC_VCOPROC_MAX_PARAMS];   /* each value */
};

/** One virtio device: "type=crypto,transport=vhost-user,socket=PATH[,vcoproc=ID]". */
struct domcfg_virtio {
	char type[DOMCFG_WORD_MAX];       /* "crypto" */
	char transport[DOMCFG_WORD_MAX];  /* "vhost-user" */
	char socket[DOMCFG_PATH_MAX];     /* as written (domcfg_resolve_path()) */
	char vcoproc[VC_NAME_MAX];        /* "": the domain's first vcoproc */
	struct xlcfg_pos pos;             /* the entry */
	struct xlcfg_pos socket_pos, vcoproc_pos;
};

/** A domain file's settings, defaults filled in. */
struct domcfg {
	char fname[DOMCFG_PATH_MAX];  /* as given, for messages */
	char name[VC_NAME_MAX];
	uint64_t memory_mib;
	char kernel[DOMCFG_PATH_MAX];
	unsigned int vcpus;
	char extra[DOMCFG_EXTRA_MAX];
	struct domcfg_vcoproc vcoproc[DOMCFG_MAX_VCOPROCS];
	unsigned int nr_vcoprocs;
	char type[DOMCFG_WORD_MAX];   /* "kvm", "builtin", "vhost-user"; "" when not set */
	struct domcfg_virtio virtio[DOMCFG_MAX_VIRTIO];
	unsigned int nr_virtio;
	/* Passthrough (xl's dtdev, iomem, irqs). */
	char dtdev[DOMCFG_MAX_DTDEV][DOMCFG_DTPATH_MAX];
	struct xlcfg_pos dtdev_pos[DOMCFG_MAX_DTDEV];
	unsigned int nr_dtdev;
	struct domcfg_iomem iomem[DOMCFG_MAX_IOMEM];
	unsigned int nr_iomem;
	uint32_t irqs[DOMCFG_MAX_IRQS];
	struct xlcfg_pos irq_pos[DOMCFG_MAX_IRQS];
	unsigned int nr_irqs;
	/* Where each value was (the end of the file for a default). */
	struct {
		struct xlcfg_pos name, memory, kernel, vcpus, extra, vcoproc, type, virtio, end;
		struct xlcfg_pos dtdev, iomem, irqs;
	} pos;
	/* Warnings, each a full message; nr_warnings counts them all. */
	char warnings[DOMCFG_MAX_WARNINGS][DOMCFG_MSG_MAX];
	unsigned int nr_warnings;
};

/**
 * domcfg_parse() - read the domain file @text (@len bytes) named @fname.
 * Returns 0 with @out filled, -VC_EINVAL / -VC_E2BIG with the first
 * error's message in @err, or -VC_ENOMEM.
 */
VC_MUST_CHECK int domcfg_parse(const char *text, size_t len, const char *fname,
			       struct domcfg *out, char *err, size_t errlen);

/**
 * domcfg_load() - domcfg_parse() of the file at @path (at most
 * XLCFG_MAX_TEXT bytes).  -errno (with "PATH: reason" in @err) when it
 * cannot be read.
 */
VC_MUST_CHECK int domcfg_load(const char *path, struct domcfg *out, char *err,
			      size_t errlen);

/**
 * domcfg_errorf() - "FNAME:LINE:COL: message" for a place in @cfg's file.
 * Returns -VC_EINVAL.
 */
int domcfg_errorf(const struct domcfg *cfg, struct xlcfg_pos pos, char *err, size_t errlen,
		  const char *fmt, ...) VC_PRINTF(5, 6);

/**
 * domcfg_entry_pos() - the place of byte @off of vcoproc entry @i's text
 * (exact for entries written verbatim, else the entry's start).
 */
struct xlcfg_pos domcfg_entry_pos(const struct domcfg *cfg, unsigned int i, size_t off);

/**
 * domcfg_resolve_path() - @path made absolute against the directory of the
 * file @cfg came from (unchanged when absolute, or when the file name has
 * no directory part).  Returns 0, or -VC_E2BIG when @out (@len bytes)
 * is too small.
 */
int domcfg_resolve_path(const struct domcfg *cfg, const char *path, char *out, size_t len);

/* ---- building it in a framework (config/domcfg_fw.c) ---------------------- */

/**
 * domcfg_build() - create domain @domid of @cfg in @fw with one vcoproc per
 * vcoproc entry, in file order (vc_domain_create(), vc_vcoproc_create()).
 * @iommu and @host_dom are passed on to vc_domain_create().
 *
 * All or nothing: if any step fails, everything made for this domain is
 * destroyed again and the message (FILE:LINE:COL of the entry concerned)
 * is in @err: an unknown coprocessor instance, a key no algorithm has, a
 * value the algorithm rejects (the parameter is named), admission control
 * refusing the vcoproc, or the domain id being taken.  Keys that another
 * algorithm has but the current one does not are accepted (kept for later
 * algorithms, see vc_vcoproc_create()) and reported as warnings appended
 * to @cfg.  Domain names are the host's to keep unique.
 *
 * Returns 0 with *@out (destroy with vc_domain_destroy()) and, when @vv
 * is not NULL, the vcoprocs in @vv[0..cfg->nr_vcoprocs) in file order
 * (owned by the domain), -VC_ENOENT
 * (unknown instance), -VC_EINVAL (a value refused), -VC_ENOSPC (admission
 * refused), -VC_EEXIST (@domid taken), or another -VC_E* of the framework.
 * Topology call: the caller serializes it with other topology changes.
 */
VC_MUST_CHECK int domcfg_build(struct vc_fw *fw, struct domcfg *cfg, uint32_t domid,
			       const struct vc_iommu *iommu, void *host_dom,
			       struct vc_domain **out, struct vc_vcoproc **vv, char *err,
			       size_t errlen);

struct sysdt_fw;

/**
 * domcfg_assign() - give domain @d (built by domcfg_build()) the devices
 * of @cfg's dtdev list, exclusively: each path must name a coprocessor
 * @sf registered as reserved for passthrough, iomem must list exactly the
 * pages of their register windows and irqs exactly their interrupts.
 * Everything is checked first; then one vcoproc is made on each device,
 * in dtdev order, into @vv[0..cfg->nr_dtdev).  A device that has an owner
 * already is refused (-VC_EBUSY, naming it).  On failure the message
 * (FILE:LINE:COL) is in @err and the vcoprocs made so far stay with @d:
 * the caller destroys @d, as after a domcfg_build() failure.  Returns 0,
 * -VC_EINVAL, -VC_EBUSY or another -VC_E* of the framework.
 */
VC_MUST_CHECK int domcfg_assign(const struct sysdt_fw *sf, struct domcfg *cfg,
				struct vc_domain *d, struct vc_vcoproc **vv, char *err,
				size_t errlen);

#endif /* VCOPROC_DOMCFG_H */
