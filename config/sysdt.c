// SPDX-License-Identifier: MIT
/*
 * DOC: system device tree - reading the binding with libfdt
 *
 * sysdt_parse() copies the blob to an 8-byte aligned buffer (libfdt wants
 * one), checks the header (fdt_check_header(), version 17), walks the
 * structure block itself with bounded steps (check_structure()) before
 * letting libfdt check it (fdt_check_full()), then walks the children of
 * /chosen/vcoproc.  Each
 * property is read with fdt_getprop() and its length checked before a byte
 * of it is used; phandles are resolved with fdt_node_offset_by_phandle().
 * The binding is docs/dt-binding.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfdt.h>

#include <vcoproc/errno.h>

#include "sysdt.h"

#define MAX_TIMEOUT_MS 3600000u

struct reader {
	const void *fdt;
	char *err;
	size_t errlen;
};

static int fail(struct reader *rd, const char *fmt, ...) VC_PRINTF(2, 3);

static int fail(struct reader *rd, const char *fmt, ...)
{
	va_list ap;

	if (rd->err && rd->errlen) {
		va_start(ap, fmt);
		vsnprintf(rd->err, rd->errlen, fmt, ap);
		va_end(ap);
	}
	return -VC_EINVAL;
}

/* "NODE: property "P": expected WHAT, found ..." */
static int bad_prop(struct reader *rd, const char *node, const char *prop, const char *what,
		    int len)
{
	if (len < 0)
		return fail(rd, "%s: property \"%s\": expected %s, found none", node, prop, what);
	return fail(rd, "%s: property \"%s\": expected %s, found %d bytes", node, prop, what, len);
}

static int node_path(struct reader *rd, int off, char *buf, size_t len)
{
	int r = fdt_get_path(rd->fdt, off, buf, (int)len);

	if (r)
		return fail(rd, "node at offset %d: cannot name it: %s", off, fdt_strerror(r));
	return 0;
}

/* A property that is one NUL-terminated string; NULL with @len < 0 if absent. */
static const char *get_string(struct reader *rd, int off, const char *prop, int *lenp)
{
	const char *s = fdt_getprop(rd->fdt, off, prop, lenp);

	if (!s)
		return NULL;
	if (*lenp < 1 || s[*lenp - 1] != '\0' || strlen(s) != (size_t)*lenp - 1)
		return NULL;
	return s;
}

/* Report why get_string() gave NULL. */
static int bad_string(struct reader *rd, const char *node, int off, const char *prop,
		      const char *what)
{
	int len;
	const char *s = fdt_getprop(rd->fdt, off, prop, &len);

	if (!s)
		return fail(rd, "%s: property \"%s\": expected %s, found none", node, prop, what);
	if (len < 1 || s[len - 1] != '\0')
		return fail(rd, "%s: property \"%s\": expected %s, found %d bytes without a terminating NUL",
			    node, prop, what, len);
	return fail(rd, "%s: property \"%s\": expected %s, found a list of strings", node, prop,
		    what);
}

/* A string list: every string non-empty, NUL-terminated.  Returns the count or < 0. */
static int check_stringlist(struct reader *rd, const char *node, int off, const char *prop,
			    const char *what, const char **list, int *lenp)
{
	const char *s = fdt_getprop(rd->fdt, off, prop, lenp);
	int n = 0;

	if (!s)
		return fail(rd, "%s: property \"%s\": expected %s, found none", node, prop, what);
	if (*lenp < 1 || s[*lenp - 1] != '\0')
		return fail(rd, "%s: property \"%s\": expected %s, found %d bytes without a terminating NUL",
			    node, prop, what, *lenp);
	for (int i = 0; i < *lenp; i++) {
		if (s[i])
			continue;
		if (i == 0 || s[i - 1] == '\0')
			return fail(rd, "%s: property \"%s\": expected %s, found an empty string",
				    node, prop, what);
		n++;
	}
	*list = s;
	return n;
}

/* A one-cell property; 1 if present (value in *@val), 0 if absent, < 0 on error. */
static int get_u32(struct reader *rd, const char *node, int off, const char *prop,
		   const char *what, uint32_t *val)
{
	int len;
	const fdt32_t *p = fdt_getprop(rd->fdt, off, prop, &len);

	*val = 0; /* defined on every path, not only when the property is there */
	if (!p)
		return 0;
	if (len != 4)
		return bad_prop(rd, node, prop, what, len);
	*val = fdt32_ld(p);
	return 1;
}

/*
 * Copy @s into @dst of @size bytes.  The caller has checked that it fits
 * (valid_id()); the copy is bounded anyway, so that it is safe on its own.
 */
static void copy_str(char *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size - 1);

	memcpy(dst, s, n);
	dst[n] = '\0';
}

static bool valid_id(const char *s, bool lower_only)
{
	size_t n = strlen(s);

	if (!n || n >= VC_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (!lower_only && s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    (!lower_only && ((c >= 'A' && c <= 'Z') || c == '.')))
			continue;
		return false;
	}
	return true;
}

/* #interrupt-cells of the interrupt parent of @off (1 when there is none). */
static int interrupt_cells(struct reader *rd, const char *node, int off, uint32_t *cells)
{
	char ppath[SYSDT_PATH_MAX];
	uint32_t ph;
	int r, ip;

	for (int o = off; o >= 0; o = fdt_parent_offset(rd->fdt, o)) {
		r = get_u32(rd, node, o, "interrupt-parent", "a phandle (4 bytes)", &ph);
		if (r < 0)
			return r;
		if (!r)
			continue;
		ip = (ph && ph != (uint32_t)-1) ? fdt_node_offset_by_phandle(rd->fdt, ph) : -1;
		if (ip < 0)
			return fail(rd, "%s: property \"interrupt-parent\": expected the phandle of a node, found 0x%x",
				    node, ph);
		r = node_path(rd, ip, ppath, sizeof(ppath));
		if (r)
			return r;
		r = get_u32(rd, ppath, ip, "#interrupt-cells", "one cell (4 bytes)", cells);
		if (r < 0)
			return r;
		if (!r)
			return fail(rd, "%s: property \"#interrupt-cells\": expected 1 to 4, found none",
				    ppath);
		if (*cells < 1 || *cells > 4)
			return fail(rd, "%s: property \"#interrupt-cells\": expected 1 to 4, found %u",
				    ppath, *cells);
		return 0;
	}
	*cells = 1;
	return 0;
}

/*
 * The device-specific properties of the physical node at @off: those
 * whose name has a vendor prefix ("simcp,aes-rate"), except the legacy
 * "linux,phandle".  Their values are the platform's to check.
 */
static int read_dev_props(struct reader *rd, int off, struct vc_sysconfig_coproc *cp)
{
	const char *node = cp->node;
	int poff;

	fdt_for_each_property_offset(poff, rd->fdt, off) {
		struct vc_sysconfig_prop *p;
		const fdt32_t *v;
		const char *name;
		size_t nlen;
		int len;

		v = fdt_getprop_by_offset(rd->fdt, poff, &name, &len);
		if (!v || !name)
			return fail(rd, "%s: cannot read a property: %s", node,
				    fdt_strerror(v ? -FDT_ERR_BADSTRUCTURE : len));
		if (!strchr(name, ',') || !strcmp(name, "linux,phandle"))
			continue;
		nlen = strlen(name);
		if (nlen >= SYSDT_PROP_NAME_MAX)
			return fail(rd, "%s: property \"%.60s\": expected a device-specific property name of at most %u characters, found %zu",
				    node, name, SYSDT_PROP_NAME_MAX - 1, nlen);
		if (cp->nr_props == SYSDT_MAX_DEV_PROPS)
			return fail(rd, "%s: property \"%s\": expected at most %u device-specific properties (\"vendor,name\"), found more",
				    node, name, SYSDT_MAX_DEV_PROPS);
		p = &cp->props[cp->nr_props++];
		memcpy(p->name, name, nlen + 1);
		p->len = (uint32_t)len;
		if (len == 4)
			p->value = fdt32_ld(&v[0]);
		else if (len == 8)
			p->value = (uint64_t)fdt32_ld(&v[0]) << 32 | fdt32_ld(&v[1]);
	}
	if (poff < 0 && poff != -FDT_ERR_NOTFOUND)
		return fail(rd, "%s: cannot walk its properties: %s", node, fdt_strerror(poff));
	return 0;
}

/*
 * "iommus = <&iommu ID>" of the physical node at @off, as the Linux and Xen
 * bindings write it: one specifier, the phandle of a node compatible with
 * SYSDT_IOMMU_COMPATIBLE whose #iommu-cells is 1, and the stream id.
 * Optional (cp->iommu stays "").
 */
static int read_iommus(struct reader *rd, int off, struct vc_sysconfig_coproc *cp)
{
	const char *node = cp->node;
	const fdt32_t *v;
	uint32_t cells;
	int len, io, r;

	v = fdt_getprop(rd->fdt, off, "iommus", &len);
	if (!v)
		return 0;
	if (len != 8)
		return bad_prop(rd, node, "iommus", "one IOMMU specifier (<&iommu stream-id>, 8 bytes)",
				len);
	io = fdt32_ld(&v[0]) && fdt32_ld(&v[0]) != (uint32_t)-1 ?
	     fdt_node_offset_by_phandle(rd->fdt, fdt32_ld(&v[0])) : -1;
	if (io < 0)
		return fail(rd, "%s: property \"iommus\": expected the phandle of an IOMMU node, found 0x%x",
			    node, fdt32_ld(&v[0]));
	r = node_path(rd, io, cp->iommu, sizeof(cp->iommu));
	if (r)
		return r;
	if (fdt_node_check_compatible(rd->fdt, io, SYSDT_IOMMU_COMPATIBLE))
		return fail(rd, "%s: property \"iommus\": expected an IOMMU (compatible \"%s\"), found %s",
			    node, SYSDT_IOMMU_COMPATIBLE, cp->iommu);
	r = get_u32(rd, cp->iommu, io, "#iommu-cells", "one cell", &cells);
	if (r < 0)
		return r;
	if (!r)
		return fail(rd, "%s: property \"#iommu-cells\": expected 1, found none", cp->iommu);
	if (cells != 1)
		return fail(rd, "%s: property \"#iommu-cells\": expected 1, found %u", cp->iommu,
			    cells);
	cp->iommu_id = fdt32_ld(&v[1]);
	return 0;
}

/* The physical coprocessor at @off: compatible, reg, interrupts, status, device-specific. */
static int read_physical(struct reader *rd, int off, struct vc_sysconfig_coproc *cp)
{
	const char *node = cp->node, *list, *status;
	char ppath[SYSDT_PATH_MAX];
	const fdt32_t *cells;
	uint32_t icells;
	int len, n, parent, ac, sc, r;

	r = node_path(rd, off, cp->node, sizeof(cp->node));
	if (r)
		return r;
	n = check_stringlist(rd, node, off, "compatible", "a list of strings", &list, &len);
	if (n < 0)
		return n;
	if ((size_t)len > sizeof(cp->compat_list))
		return fail(rd, "%s: property \"compatible\": expected at most %zu bytes, found %d",
			    node, sizeof(cp->compat_list), len);
	if (strlen(list) >= SYSDT_COMPAT_STR_MAX)
		return fail(rd, "%s: property \"compatible\": expected a first string of at most %u characters, found %zu",
			    node, SYSDT_COMPAT_STR_MAX - 1, strlen(list));
	memcpy(cp->compat_list, list, (size_t)len);
	cp->compat_len = (size_t)len;
	snprintf(cp->compatible, sizeof(cp->compatible), "%s", list);

	status = get_string(rd, off, "status", &len);
	if (!status && len >= 0)
		return bad_string(rd, node, off, "status", "a string");
	if (status && strcmp(status, "okay") && strcmp(status, "ok"))
		return fail(rd, "%s: property \"status\": expected \"okay\" (the node is shared), found \"%.40s\"",
			    node, status);

	/* reg: (#address-cells + #size-cells) cells per range, per the parent. */
	parent = fdt_parent_offset(rd->fdt, off);
	if (parent < 0)
		return fail(rd, "%s: expected a device node, found the root", node);
	r = node_path(rd, parent, ppath, sizeof(ppath));
	if (r)
		return r;
	ac = fdt_address_cells(rd->fdt, parent);
	if (ac < 0)
		return fail(rd, "%s: property \"#address-cells\": expected 1 or 2, found an invalid value (%s)",
			    ppath, fdt_strerror(ac));
	if (ac < 1 || ac > 2)
		return fail(rd, "%s: property \"#address-cells\": expected 1 or 2, found %d", ppath, ac);
	sc = fdt_size_cells(rd->fdt, parent);
	if (sc < 0)
		return fail(rd, "%s: property \"#size-cells\": expected 1 or 2, found an invalid value (%s)",
			    ppath, fdt_strerror(sc));
	if (sc < 1 || sc > 2)
		return fail(rd, "%s: property \"#size-cells\": expected 1 or 2, found %d", ppath, sc);
	cells = fdt_getprop(rd->fdt, off, "reg", &len);
	{
		char what[96];
		int per = (ac + sc) * 4;

		snprintf(what, sizeof(what), "1 to %u ranges of %d cells (<address size>)",
			 VC_COPROC_MAX_MMIO, ac + sc);
		if (!cells || len <= 0 || len % per || len / per > VC_COPROC_MAX_MMIO)
			return bad_prop(rd, node, "reg", what, cells ? len : -1);
		cp->nr_mmio = (unsigned int)(len / per);
	}
	for (unsigned int i = 0; i < cp->nr_mmio; i++) {
		const fdt32_t *c = cells + i * (unsigned int)(ac + sc);
		uint64_t base = fdt32_ld(&c[0]), size = fdt32_ld(&c[ac]);

		if (ac == 2)
			base = base << 32 | fdt32_ld(&c[1]);
		if (sc == 2)
			size = size << 32 | fdt32_ld(&c[ac + 1]);
		if (!size || base + size - 1 < base)
			return fail(rd, "%s: property \"reg\": expected a range of nonzero size within 64 bits, found 0x%llx+0x%llx",
				    node, (unsigned long long)base, (unsigned long long)size);
		cp->mmio[i] = (struct vc_mmio_range){ base, size };
	}

	/* interrupts: #interrupt-cells of the interrupt parent per interrupt. */
	r = interrupt_cells(rd, node, off, &icells);
	if (r)
		return r;
	cells = fdt_getprop(rd->fdt, off, "interrupts", &len);
	{
		char what[96];
		int per = (int)icells * 4;

		snprintf(what, sizeof(what), "1 to %u interrupts of %u cell%s", VC_COPROC_MAX_IRQS,
			 icells, icells > 1 ? "s" : "");
		if (!cells || len <= 0 || len % per || len / per > VC_COPROC_MAX_IRQS)
			return bad_prop(rd, node, "interrupts", what, cells ? len : -1);
		cp->nr_irqs = (unsigned int)(len / per);
	}
	for (unsigned int i = 0; i < cp->nr_irqs; i++)
		cp->irqs[i] = fdt32_ld(&cells[i * icells]);
	r = read_iommus(rd, off, cp);
	if (r)
		return r;
	return read_dev_props(rd, off, cp);
}

static int read_params(struct reader *rd, const char *node, int off,
		       struct vc_sysconfig_coproc *cp)
{
	const char *list, *s;
	int len, n;

	if (!fdt_getprop(rd->fdt, off, "sched-params", &len))
		return 0;
	n = check_stringlist(rd, node, off, "sched-params", "a list of \"key=value\" strings",
			     &list, &len);
	if (n < 0)
		return n;
	if (n > SYSDT_MAX_PARAMS)
		return fail(rd, "%s: property \"sched-params\": expected at most %u parameters, found %d",
			    node, SYSDT_MAX_PARAMS, n);
	for (s = list; s < list + len; s += strlen(s) + 1) {
		const char *eq = strchr(s, '=');
		size_t klen = eq ? (size_t)(eq - s) : 0, vlen = eq ? strlen(eq + 1) : 0;
		struct vc_param *p = &cp->params[cp->nr_params];
		bool ok = eq && klen && klen < VC_PARAM_KEY_MAX && vlen && vlen < VC_PARAM_VAL_MAX;

		for (size_t i = 0; ok && i < klen; i++)
			ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
		if (!ok)
			return fail(rd, "%s: property \"sched-params\": expected \"key=value\" (key a-z, 0-9, '_', at most %u; value 1 to %u characters), found \"%.60s\"",
				    node, VC_PARAM_KEY_MAX - 1, VC_PARAM_VAL_MAX - 1, s);
		memcpy(p->key, s, klen);
		p->key[klen] = '\0';
		memcpy(p->val, eq + 1, vlen + 1);
		cp->nr_params++;
	}
	return 0;
}

static int read_timeout(struct reader *rd, const char *node, int off, const char *prop,
			vc_time_t *out)
{
	char what[64];
	uint32_t ms;
	int r;

	snprintf(what, sizeof(what), "milliseconds, 1 to %u (one cell)", MAX_TIMEOUT_MS);
	r = get_u32(rd, node, off, prop, what, &ms);
	if (r <= 0)
		return r;
	if (ms < 1 || ms > MAX_TIMEOUT_MS)
		return fail(rd, "%s: property \"%s\": expected %s, found %u", node, prop, what, ms);
	*out = VC_MSEC(ms);
	return 0;
}

/* One child of /chosen/vcoproc; 1 when it is disabled (skipped). */
static int read_shared(struct reader *rd, int off, struct vc_sysconfig_coproc *cp)
{
	const char *node = cp->shared_node, *s;
	uint32_t ph;
	int len, r, phys;

	r = node_path(rd, off, cp->shared_node, sizeof(cp->shared_node));
	if (r)
		return r;
	s = get_string(rd, off, "status", &len);
	if (!s && len >= 0)
		return bad_string(rd, node, off, "status", "a string");
	if (s && strcmp(s, "okay") && strcmp(s, "ok"))
		return 1;
	if (fdt_getprop(rd->fdt, off, "compatible", &len) == NULL)
		return fail(rd, "%s: property \"compatible\": expected \"%s\" or \"%s\", found none",
			    node, SYSDT_SHARED_COMPATIBLE, SYSDT_PASSTHROUGH_COMPATIBLE);
	{
		const char *list;
		int n = check_stringlist(rd, node, off, "compatible", "a list of strings", &list, &len);

		if (n < 0)
			return n;
		cp->passthrough = !fdt_node_check_compatible(rd->fdt, off,
							     SYSDT_PASSTHROUGH_COMPATIBLE);
		if (!cp->passthrough &&
		    fdt_node_check_compatible(rd->fdt, off, SYSDT_SHARED_COMPATIBLE))
			return fail(rd, "%s: property \"compatible\": expected \"%s\" or \"%s\", found \"%.60s\"",
				    node, SYSDT_SHARED_COMPATIBLE, SYSDT_PASSTHROUGH_COMPATIBLE, list);
	}

	s = get_string(rd, off, "instance-id", &len);
	if (!s)
		return bad_string(rd, node, off, "instance-id", "a string");
	if (!valid_id(s, false))
		return fail(rd, "%s: property \"instance-id\": expected an id (a letter, then letters, digits, '_', '-', '.'; at most %u), found \"%.40s\"",
			    node, VC_NAME_MAX - 1, s);
	copy_str(cp->name, sizeof(cp->name), s);

	r = get_u32(rd, node, off, "coproc", "a phandle (4 bytes)", &ph);
	if (r < 0)
		return r;
	if (!r)
		return bad_prop(rd, node, "coproc", "a phandle (4 bytes)", -1);
	phys = (ph && ph != (uint32_t)-1) ? fdt_node_offset_by_phandle(rd->fdt, ph) : -1;
	if (phys < 0)
		return fail(rd, "%s: property \"coproc\": expected the phandle of a node, found 0x%x",
			    node, ph);
	if (phys == off)
		return fail(rd, "%s: property \"coproc\": expected a physical coprocessor, found this node",
			    node);
	r = read_physical(rd, phys, cp);
	if (r)
		return r;
	if (cp->passthrough) {
		/* One domain's: not scheduled, and its DMA confined by an IOMMU. */
		static const char *const shared_only[] = { "sched", "sched-params" };

		for (size_t i = 0; i < VC_ARRAY_SIZE(shared_only); i++)
			if (fdt_getprop(rd->fdt, off, shared_only[i], &len))
				return fail(rd, "%s: property \"%s\": expected none on a passthrough coprocessor (it is not scheduled), found one",
					    node, shared_only[i]);
		if (!cp->iommu[0])
			return fail(rd, "%s: property \"iommus\": expected the IOMMU of a coprocessor reserved for passthrough (%s), found none",
				    cp->node, node);
	}

	s = get_string(rd, off, "sched", &len);
	if (!s && len >= 0)
		return bad_string(rd, node, off, "sched", "an algorithm name");
	if (s) {
		if (!valid_id(s, true))
			return fail(rd, "%s: property \"sched\": expected an algorithm name (a-z, 0-9, '_', '-'), found \"%.40s\"",
				    node, s);
		copy_str(cp->sched, sizeof(cp->sched), s);
	}
	r = read_params(rd, node, off, cp);
	if (!r)
		r = read_timeout(rd, node, off, "hang-timeout-ms", &cp->hang_timeout);
	if (!r)
		r = read_timeout(rd, node, off, "stop-timeout-ms", &cp->stop_timeout);
	return r;
}

/* Two shared coprocessors must not be the same device nor share a window. */
static int check_unique(struct reader *rd, const struct vc_sysconfig *cfg)
{
	const struct vc_sysconfig_coproc *b = &cfg->coproc[cfg->nr_coprocs];

	for (unsigned int i = 0; i < cfg->nr_coprocs; i++) {
		const struct vc_sysconfig_coproc *a = &cfg->coproc[i];

		if (!strcmp(a->name, b->name))
			return fail(rd, "%s: property \"instance-id\": expected a unique id, found \"%s\" (also %s)",
				    b->shared_node, b->name, a->shared_node);
		if (!strcmp(a->node, b->node))
			return fail(rd, "%s: property \"coproc\": expected a coprocessor shared once, found %s (also %s)",
				    b->shared_node, b->node, a->shared_node);
		for (unsigned int x = 0; x < a->nr_mmio; x++)
			for (unsigned int y = 0; y < b->nr_mmio; y++)
				if (a->mmio[x].base <= b->mmio[y].base + (b->mmio[y].size - 1) &&
				    b->mmio[y].base <= a->mmio[x].base + (a->mmio[x].size - 1))
					return fail(rd, "%s: property \"reg\": expected a window of its own, found one overlapping %s",
						    b->node, a->node);
	}
	return 0;
}

/* ---- the blob's own structure ------------------------------------------------------ */

static uint32_t be32_at(const void *fdt, size_t off)
{
	const uint8_t *p = (const uint8_t *)fdt + off;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define MAX_DEPTH 64

/*
 * Walk the structure block tag by tag, every step bounded and moving
 * forward, before any libfdt function walks it: libfdt 1.6's
 * fdt_check_full() loops for ever on a property whose length makes its
 * offset arithmetic wrap (found by fuzz/fuzz_sysdt).  The header is
 * already checked (version 17, totalsize <= @size).
 */
static int check_structure(struct reader *rd, const void *fdt, size_t size)
{
	uint64_t st_off = fdt_off_dt_struct(fdt), st_size = fdt_size_dt_struct(fdt);
	uint64_t str_off = fdt_off_dt_strings(fdt), str_size = fdt_size_dt_strings(fdt);
	uint64_t total = fdt_totalsize(fdt), pos, end;
	unsigned int depth = 0;
	bool root_seen = false;

	if (st_off + st_size > total || str_off + str_size > total || total > size ||
	    (st_off & 3) || (st_size & 3))
		return fail(rd, "expected a well-formed flattened device tree, found blocks outside its %llu bytes",
			    (unsigned long long)total);
	pos = st_off;
	end = st_off + st_size;
	while (pos + 4 <= end) {
		uint32_t tag = be32_at(fdt, (size_t)pos);
		uint64_t at = pos, len, nameoff;
		const char *name;

		pos += 4;
		switch (tag) {
		case FDT_BEGIN_NODE:
			name = (const char *)fdt + pos;
			len = 0;
			while (pos + len < end && name[len])
				len++;
			if (pos + len >= end)
				goto out_bad;
			if (depth == 0 && root_seen)
				return fail(rd, "expected one root node, found another at offset %llu",
					    (unsigned long long)(at - st_off));
			if (++depth > MAX_DEPTH)
				return fail(rd, "expected nodes nested at most %u deep, found more",
					    MAX_DEPTH);
			root_seen = true;
			pos += (len + 1 + 3) & ~3ull;
			break;
		case FDT_END_NODE:
			if (!depth)
				goto out_bad;
			depth--;
			break;
		case FDT_PROP:
			if (!depth || pos + 8 > end)
				goto out_bad;
			len = be32_at(fdt, (size_t)pos);
			nameoff = be32_at(fdt, (size_t)pos + 4);
			pos += 8;
			if (len > end - pos || nameoff >= str_size ||
			    !memchr((const char *)fdt + str_off + nameoff, '\0',
				    (size_t)(str_size - nameoff)))
				goto out_bad;
			pos += (len + 3) & ~3ull;
			break;
		case FDT_NOP:
			break;
		case FDT_END:
			if (depth || !root_seen)
				goto out_bad;
			return 0;
		default:
			goto out_bad;
		}
	}
out_bad:
	return fail(rd, "expected a well-formed flattened device tree, found a broken structure block (near offset %llu)",
		    (unsigned long long)(pos - st_off));
}

int sysdt_parse(const void *blob, size_t size, struct vc_sysconfig *cfg, char *err,
		size_t errlen)
{
	struct reader rd = { .err = err, .errlen = errlen };
	void *fdt;
	int r, container, child;

	memset(cfg, 0, sizeof(*cfg));
	if (err && errlen)
		err[0] = '\0';
	if (size < FDT_V1_SIZE)
		return fail(&rd, "expected a flattened device tree (at least %zu bytes), found %zu bytes",
			    (size_t)FDT_V1_SIZE, size);
	if (size > SYSDT_MAX_BLOB)
		return fail(&rd, "expected a flattened device tree of at most %u bytes, found %zu",
			    SYSDT_MAX_BLOB, size);
	fdt = malloc(size);
	if (!fdt)
		return -VC_ENOMEM;
	memcpy(fdt, blob, size);
	rd.fdt = fdt;

	r = fdt_check_header(fdt);
	if (r) {
		r = fail(&rd, "expected a flattened device tree, found a bad header (%s)",
			 fdt_strerror(r));
		goto out_free;
	}
	/*
	 * Version 17 is what dtc has written since 2007.  Older layouts are
	 * refused: libfdt 1.6's fdt_check_full() dereferences NULL on some
	 * malformed version 15/16 blobs (found by fuzz/fuzz_sysdt).
	 */
	if (fdt_version(fdt) != 17) {
		r = fail(&rd, "expected a flattened device tree of version 17 (dtc's output), found version %u",
			 fdt_version(fdt));
		goto out_free;
	}
	if (fdt_totalsize(fdt) > size) {
		r = fail(&rd, "expected %u bytes (the header's totalsize), found %zu",
			 fdt_totalsize(fdt), size);
		goto out_free;
	}
	r = check_structure(&rd, fdt, size);
	if (r)
		goto out_free;
	r = fdt_check_full(fdt, size);
	if (r) {
		r = fail(&rd, "expected a well-formed flattened device tree, found a broken one (%s)",
			 fdt_strerror(r));
		goto out_free;
	}

	container = fdt_path_offset(fdt, SYSDT_CONTAINER_PATH);
	if (container < 0) {
		r = fail(&rd, "%s: expected a node listing the shared coprocessors, found none",
			 SYSDT_CONTAINER_PATH);
		goto out_free;
	}
	fdt_for_each_subnode(child, fdt, container) {
		struct vc_sysconfig_coproc *cp;

		if (cfg->nr_coprocs == SYSDT_MAX_COPROCS) {
			r = fail(&rd, "%s: expected at most %u shared coprocessors, found more",
				 SYSDT_CONTAINER_PATH, SYSDT_MAX_COPROCS);
			goto out_free;
		}
		cp = &cfg->coproc[cfg->nr_coprocs];
		r = read_shared(&rd, child, cp);
		if (r == 1) {
			memset(cp, 0, sizeof(*cp));
			continue;
		}
		if (!r)
			r = check_unique(&rd, cfg);
		if (r)
			goto out_free;
		cfg->nr_coprocs++;
	}
	if (child < 0 && child != -FDT_ERR_NOTFOUND) {
		r = fail(&rd, "%s: cannot walk its children: %s", SYSDT_CONTAINER_PATH,
			 fdt_strerror(child));
		goto out_free;
	}
	if (!cfg->nr_coprocs) {
		r = fail(&rd, "%s: expected at least one enabled shared coprocessor, found none",
			 SYSDT_CONTAINER_PATH);
		goto out_free;
	}
	r = 0;
out_free:
	free(fdt);
	return r;
}

int sysdt_load(const char *path, struct vc_sysconfig *cfg, char *err, size_t errlen)
{
	char msg[SYSDT_ERR_MAX];
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > SYSDT_MAX_BLOB) {
		r = -VC_EINVAL;
		snprintf(err, errlen, "%s: expected a regular file of at most %u bytes", path,
			 SYSDT_MAX_BLOB);
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -VC_ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r = sysdt_parse(buf, got, cfg, msg, sizeof(msg));
	if (r)
		snprintf(err, errlen, "%s: %s", path, msg);
	free(buf);
out_close:
	close(fd);
	return r;
}

bool sysdt_is_compatible(const struct vc_sysconfig_coproc *cp, const char *compatible)
{
	for (size_t o = 0; o < cp->compat_len; o += strlen(cp->compat_list + o) + 1)
		if (!strcmp(cp->compat_list + o, compatible))
			return true;
	return false;
}

const struct vc_sysconfig_prop *sysdt_prop(const struct vc_sysconfig_coproc *cp,
					   const char *name)
{
	for (unsigned int i = 0; i < cp->nr_props && i < SYSDT_MAX_DEV_PROPS; i++)
		if (!strcmp(cp->props[i].name, name))
			return &cp->props[i];
	return NULL;
}
