/* SPDX-License-Identifier: MIT */
/*
 * DOC: system device tree - which coprocessors are shared, and how
 *
 * A host reads its physical coprocessors and the sharing policy from a
 * flattened device tree (a .dtb compiled by dtc), with libfdt.  The binding
 * is docs/dt-binding.md; in short:
 *
 *   simcp0: coprocessor@fe000000 {              physical coprocessor
 *           compatible = "vcoproc,simcp";
 *           reg = <0x0 0xfe000000 0x0 0x1000>;  parent's #address-cells,
 *           interrupts = <16>;                  #size-cells; interrupt
 *           simcp,aes-rate = <500000000>;       parent's #interrupt-cells;
 *   };                                          "vendor,name": the platform's
 *   chosen {
 *           vcoproc {
 *                   gpu0 {
 *                           compatible = "vcoproc,shared";  or
 *                                        "vcoproc,passthrough": one
 *                                        domain's (dtdev), not shared; its
 *                                        coproc then needs iommus = <&iommu N>
 *                                        (#iommu-cells = <1>, compatible
 *                                        "vcoproc,iommu"), and no sched
 *                           coproc = <&simcp0>;
 *                           instance-id = "gpu0";
 *                           sched = "credit";                    optional
 *                           sched-params = "slice=10ms";         optional
 *                           hang-timeout-ms = <1000>;            optional
 *                           stop-timeout-ms = <100>;             optional
 *                   };
 *           };
 *   };
 *
 * sysdt_parse() validates the blob (header, structure, every property it
 * reads: sizes, string lists, phandles, cell counts, ranges) and returns
 * plain data; it touches no framework and trusts nothing in the blob.
 * Messages name the node path and the property:
 *
 *   /chosen/vcoproc/gpu0: property "coproc": expected a phandle (4 bytes), found 8 bytes
 *
 * sysdt_register() then registers the shared coprocessors with a framework,
 * asking the host for the platform of each (struct sysdt_platform: the host
 * knows how to make a simcp, a real device, ...).
 *
 * Ownership: struct vc_sysconfig is plain data owned by the caller.
 * struct sysdt_fw (from sysdt_register()) owns the devices the platforms
 * made and is freed by sysdt_unregister().
 */
#ifndef VCOPROC_SYSDT_H
#define VCOPROC_SYSDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vcoproc/vcoproc.h>

#define SYSDT_MAX_COPROCS  16
#define SYSDT_MAX_PARAMS   16
#define SYSDT_PATH_MAX     256  /* node paths; NUL included */
#define SYSDT_COMPAT_MAX   128  /* a compatible list, NUL-separated */
#define SYSDT_COMPAT_STR_MAX 64 /* its first string, NUL included (the
				 * framework keeps that many) */
#define SYSDT_ERR_MAX      320
#define SYSDT_MAX_BLOB     (16u << 20)
#define SYSDT_MAX_DEV_PROPS 16  /* device-specific properties per physical node */
#define SYSDT_PROP_NAME_MAX 48  /* their names; NUL included */

#define SYSDT_SHARED_COMPATIBLE "vcoproc,shared"
#define SYSDT_PASSTHROUGH_COMPATIBLE "vcoproc,passthrough"
#define SYSDT_IOMMU_COMPATIBLE  "vcoproc,iommu"
#define SYSDT_CONTAINER_PATH    "/chosen/vcoproc"

/**
 * A device-specific property of a physical node: one whose name has a
 * vendor prefix ("simcp,aes-rate"), which the reader does not interpret
 * but hands to the node's platform (struct sysdt_platform.make()) to
 * check.  @value is set for the numeric shapes: one cell (@len 4) or two
 * (@len 8, the high cell first); 0 otherwise, and @len tells the platform
 * what the blob had.
 */
struct vc_sysconfig_prop {
	char name[SYSDT_PROP_NAME_MAX];
	uint32_t len;   /* bytes of the value in the blob */
	uint64_t value;
};

/** One shared coprocessor: its physical node and its sharing policy. */
struct vc_sysconfig_coproc {
	char name[VC_NAME_MAX];            /* instance-id, e.g. "gpu0" */
	char compatible[SYSDT_COMPAT_MAX]; /* the physical node's first compatible */
	char compat_list[SYSDT_COMPAT_MAX];/* all of them, NUL-separated */
	size_t compat_len;                 /* bytes of compat_list */
	char node[SYSDT_PATH_MAX];         /* physical node path */
	char shared_node[SYSDT_PATH_MAX];  /* its /chosen/vcoproc child */
	struct vc_mmio_range mmio[VC_COPROC_MAX_MMIO];
	unsigned int nr_mmio;
	uint32_t irqs[VC_COPROC_MAX_IRQS]; /* first cell of each specifier */
	unsigned int nr_irqs;
	/* The physical node's device-specific properties, in blob order. */
	struct vc_sysconfig_prop props[SYSDT_MAX_DEV_PROPS];
	unsigned int nr_props;
	char sched[VC_NAME_MAX];           /* "" = the framework's default */
	struct vc_param params[SYSDT_MAX_PARAMS]; /* sched-params, in order */
	unsigned int nr_params;
	vc_time_t hang_timeout;            /* 0 = framework default */
	vc_time_t stop_timeout;
	/*
	 * "vcoproc,passthrough": reserved for one domain (xl's dtdev), not
	 * shared; the physical node must name its IOMMU.
	 */
	bool passthrough;
	/* The physical node's "iommus" (one specifier), "" when it has none. */
	char iommu[SYSDT_PATH_MAX];        /* the IOMMU's node path */
	uint32_t iommu_id;                 /* the specifier's cell: stream id */
};

/** Everything the system device tree says about sharing. */
struct vc_sysconfig {
	struct vc_sysconfig_coproc coproc[SYSDT_MAX_COPROCS];
	unsigned int nr_coprocs;
};

/**
 * sysdt_parse() - read blob @fdt (@size bytes, any alignment) into @out.
 * Returns 0, or -VC_EINVAL with "NODE: property "P": expected ..., found
 * ..." (or a message about the blob itself) in @err, or -VC_ENOMEM.
 */
VC_MUST_CHECK int sysdt_parse(const void *fdt, size_t size, struct vc_sysconfig *out,
			      char *err, size_t errlen);

/**
 * sysdt_load() - sysdt_parse() of the file at @path (at most
 * SYSDT_MAX_BLOB bytes); messages begin with "PATH: ".
 */
VC_MUST_CHECK int sysdt_load(const char *path, struct vc_sysconfig *out, char *err,
			     size_t errlen);

/**
 * sysdt_is_compatible() - whether @cp's physical node lists @compatible.
 */
bool sysdt_is_compatible(const struct vc_sysconfig_coproc *cp, const char *compatible);

/** sysdt_prop() - @cp's device-specific property @name, or NULL. */
const struct vc_sysconfig_prop *sysdt_prop(const struct vc_sysconfig_coproc *cp,
					   const char *name);

/* ---- registering with a framework (config/sysdt_fw.c) ------------------------- */

/**
 * How a host makes the platform of one kind of coprocessor.  Matched, in
 * array order, against every string of the physical node's compatible
 * list (the first platform matching any wins).
 */
struct sysdt_platform {
	const char *compatible;           /* e.g. "vcoproc,simcp" */
	/**
	 * make() - create the device for @cp and fill @desc's ops, pdata and
	 * (for admission control) switch_cost and max_nonpreempt.  The
	 * device-specific properties (@cp->props) are make()'s to check: a
	 * refusal says "property \"P\": expected ..., found ..." in @err.  Name,
	 * compatible, MMIO, IRQs, algorithm and timeouts are filled by the
	 * caller afterwards and must be left alone.  Returns 0 and *@dev, or
	 * -VC_E* with a message in @err.  Required.
	 */
	int (*make)(void *opaque, const struct vc_sysconfig_coproc *cp,
		    struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen);
	/**
	 * attach() - @dev is registered as @c (NULL: about to be unregistered;
	 * wait for event deliveries in flight).  Optional.
	 */
	void (*attach)(void *dev, struct vc_coproc *c);
	/** destroy() - free @dev, which is not registered (any more).  Required. */
	void (*destroy)(void *dev);
};

struct sysdt_fw;

/**
 * sysdt_register() - make, register and attach every coprocessor of @cfg
 * in @fw, then set its sched-params.  @plats[0..@nr_plats) (copied: they
 * need not outlive the call; the functions they point to must) are the
 * host's platforms, @opaque their make() argument.  All or nothing: on
 * failure everything registered so far is unregistered and destroyed,
 * and @err says which node and why ("/chosen/vcoproc/gpu0: property
 * "sched": unknown algorithm "fifo" (rr, credit, rtds, arinc653)").
 * Returns 0 and *@out (release with sysdt_unregister()), or -VC_E*.
 * Topology call: serialize with other topology changes.
 */
VC_MUST_CHECK int sysdt_register(struct vc_fw *fw, const struct vc_sysconfig *cfg,
				 const struct sysdt_platform *plats, unsigned int nr_plats,
				 void *opaque, struct sysdt_fw **out, char *err, size_t errlen);

/** sysdt_coproc() - the coprocessor registered for @cfg->coproc[@i], or NULL. */
struct vc_coproc *sysdt_coproc(const struct sysdt_fw *sf, unsigned int i);

/**
 * sysdt_config() - what the tree said of the coprocessor registered for
 * @cfg->coproc[@i] (a copy @sf owns), or NULL.
 */
const struct vc_sysconfig_coproc *sysdt_config(const struct sysdt_fw *sf, unsigned int i);

/**
 * sysdt_find_node() - the index of the registered coprocessor whose
 * physical node is at @path (xl's dtdev), or -1.
 */
int sysdt_find_node(const struct sysdt_fw *sf, const char *path);

/** sysdt_device() - the platform device made for @cfg->coproc[@i], or NULL. */
void *sysdt_device(const struct sysdt_fw *sf, unsigned int i);

/**
 * sysdt_unregister() - detach, unregister and destroy every coprocessor
 * registered by sysdt_register(), in reverse order, and free @sf.  Their
 * vcoprocs must be gone (destroy the domains first).  NULL is ignored.
 */
void sysdt_unregister(struct sysdt_fw *sf);

#endif /* VCOPROC_SYSDT_H */
