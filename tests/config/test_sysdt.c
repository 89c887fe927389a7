// SPDX-License-Identifier: MIT
/*
 * System device tree: fixtures compiled by dtc at build time (tests/config/
 * dts/), good and bad, each bad one with its exact message; corrupted
 * blobs; and sysdt_register() with a simcp platform on virtual time, all
 * or nothing.  argv[1] is the directory holding the compiled fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libfdt.h>

#include <vcoproc/errno.h>
#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "simcp.h"
#include "sysdt.h"

static const char *fixtures;
static struct vc_sysconfig cfg;

static const char *fixture(const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s.dtb", fixtures, name);
	return path;
}

/* The bytes of a compiled fixture; free() them. */
static void *read_blob(const char *name, size_t *size)
{
	FILE *f = fopen(fixture(name), "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 64);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*size = (size_t)n;
	return buf;
}

static void test_good(void **state)
{
	char err[SYSDT_ERR_MAX] = "";
	const struct vc_sysconfig_coproc *g0, *g1;
	int r = sysdt_load(fixture("good"), &cfg, err, sizeof(err));

	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(cfg.nr_coprocs, 2); /* "spare" is disabled */
	g0 = &cfg.coproc[0];
	assert_string_equal(g0->name, "gpu0");
	assert_string_equal(g0->compatible, "vcoproc,simcp");
	assert_string_equal(g0->node, "/soc/coprocessor@fe000000");
	assert_string_equal(g0->shared_node, "/chosen/vcoproc/gpu0");
	assert_int_equal(g0->nr_mmio, 1);
	assert_int_equal(g0->mmio[0].base, 0xfe000000ull);
	assert_int_equal(g0->mmio[0].size, 0x1000);
	assert_int_equal(g0->nr_irqs, 1);
	assert_int_equal(g0->irqs[0], 16);
	assert_string_equal(g0->sched, "credit");
	assert_int_equal(g0->nr_params, 2);
	assert_string_equal(g0->params[0].key, "slice");
	assert_string_equal(g0->params[0].val, "5ms");
	assert_string_equal(g0->params[1].key, "ratelimit");
	assert_string_equal(g0->params[1].val, "500us");
	assert_int_equal(g0->hang_timeout, VC_MSEC(2000));
	assert_int_equal(g0->stop_timeout, VC_MSEC(50));

	g1 = &cfg.coproc[1];
	assert_string_equal(g1->name, "gpu1");
	assert_string_equal(g1->compatible, "acme,gpu-v2");
	assert_true(sysdt_is_compatible(g1, "vcoproc,simcp"));
	assert_true(sysdt_is_compatible(g1, "acme,gpu-v2"));
	assert_false(sysdt_is_compatible(g1, "vcoproc"));
	assert_int_equal(g1->irqs[0], 17);
	assert_string_equal(g1->sched, "rr");
	assert_int_equal(g1->nr_params, 0);
	assert_int_equal(g1->hang_timeout, 0);
}

/* A coprocessor reserved for one domain, behind its IOMMU, beside a shared one. */
static void test_passthrough(void **state)
{
	char err[SYSDT_ERR_MAX] = "";
	const struct vc_sysconfig_coproc *g0 = &cfg.coproc[0], *p1 = &cfg.coproc[1];
	int r = sysdt_load(fixture("passthrough"), &cfg, err, sizeof(err));

	if (r)
		print_error("%s\n", err);
	assert_int_equal(r, 0);
	assert_int_equal(cfg.nr_coprocs, 2);
	assert_false(g0->passthrough);
	assert_string_equal(g0->iommu, "");
	assert_true(p1->passthrough);
	assert_string_equal(p1->name, "pt1");
	assert_string_equal(p1->node, "/soc/coprocessor@fe001000");
	assert_string_equal(p1->iommu, "/iommu@fd000000");
	assert_int_equal(p1->iommu_id, 3);
	assert_string_equal(p1->sched, "");
}

static void test_cells32(void **state)
{
	char err[SYSDT_ERR_MAX] = "";
	const struct vc_sysconfig_coproc *c = &cfg.coproc[0];

	assert_int_equal(sysdt_load(fixture("cells32"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_coprocs, 1);
	assert_string_equal(c->name, "npu");
	assert_int_equal(c->nr_mmio, 2);
	assert_int_equal(c->mmio[1].base, 0x40010000);
	assert_int_equal(c->mmio[1].size, 0x2000);
	/* Two cells per interrupt: the first of each is the number. */
	assert_int_equal(c->nr_irqs, 2);
	assert_int_equal(c->irqs[0], 40);
	assert_int_equal(c->irqs[1], 41);
	assert_string_equal(c->sched, "");
}

struct bad_case {
	const char *fixture;
	const char *msg;
};

static const struct bad_case bad_cases[] = {
	{ "bad-no-container", "/chosen/vcoproc: expected a node listing the shared coprocessors, found none" },
	{ "bad-empty", "/chosen/vcoproc: expected at least one enabled shared coprocessor, found none" },
	{ "bad-phandle", "/chosen/vcoproc/gpu0: property \"coproc\": expected the phandle of a node, found 0x99" },
	{ "bad-coproc-size", "/chosen/vcoproc/gpu0: property \"coproc\": expected a phandle (4 bytes), found 8 bytes" },
	{ "bad-no-coproc", "/chosen/vcoproc/gpu0: property \"coproc\": expected a phandle (4 bytes), found none" },
	{ "bad-compatible", "/chosen/vcoproc/gpu0: property \"compatible\": expected \"vcoproc,shared\" or \"vcoproc,passthrough\", found \"acme,shared\"" },
	{ "bad-pt-no-iommu", "/soc/coprocessor@fe001000: property \"iommus\": expected the IOMMU of a coprocessor reserved for passthrough (/chosen/vcoproc/pt1), found none" },
	{ "bad-pt-sched", "/chosen/vcoproc/pt1: property \"sched\": expected none on a passthrough coprocessor (it is not scheduled), found one" },
	{ "bad-pt-iommu", "/soc/coprocessor@fe001000: property \"iommus\": expected an IOMMU (compatible \"vcoproc,iommu\"), found /interrupt-controller@fec00000" },
	{ "bad-pt-iommus-size", "/soc/coprocessor@fe001000: property \"iommus\": expected one IOMMU specifier (<&iommu stream-id>, 8 bytes), found 4 bytes" },
	{ "bad-instance-type", "/chosen/vcoproc/gpu0: property \"instance-id\": expected a string, found 4 bytes without a terminating NUL" },
	{ "bad-instance-chars", "/chosen/vcoproc/gpu0: property \"instance-id\": expected an id (a letter, then letters, digits, '_', '-', '.'; at most 31), found \"gpu 0\"" },
	{ "bad-instance-dup", "/chosen/vcoproc/b: property \"instance-id\": expected a unique id, found \"gpu\" (also /chosen/vcoproc/a)" },
	{ "bad-coproc-dup", "/chosen/vcoproc/b: property \"coproc\": expected a coprocessor shared once, found /soc/coprocessor@fe000000 (also /chosen/vcoproc/a)" },
	{ "bad-params", "/chosen/vcoproc/gpu0: property \"sched-params\": expected \"key=value\" (key a-z, 0-9, '_', at most 23; value 1 to 95 characters), found \"ratelimit\"" },
	{ "bad-sched-list", "/chosen/vcoproc/gpu0: property \"sched\": expected an algorithm name, found a list of strings" },
	{ "bad-timeout", "/chosen/vcoproc/gpu0: property \"hang-timeout-ms\": expected milliseconds, 1 to 3600000 (one cell), found 0" },
	{ "bad-disabled", "/soc/coprocessor@fe000000: property \"status\": expected \"okay\" (the node is shared), found \"disabled\"" },
	{ "bad-reg", "/soc/coprocessor@fe000000: property \"reg\": expected 1 to 4 ranges of 4 cells (<address size>), found 12 bytes" },
	{ "bad-reg-size", "/soc/coprocessor@fe000000: property \"reg\": expected a range of nonzero size within 64 bits, found 0xfe000000+0x0" },
	{ "bad-overlap", "/soc/coprocessor@fe001000: property \"reg\": expected a window of its own, found one overlapping /soc/coprocessor@fe000000" },
	{ "bad-no-interrupts", "/soc/coprocessor@fe000000: property \"interrupts\": expected 1 to 4 interrupts of 1 cell, found none" },
	{ "bad-interrupt-cells", "/interrupt-controller@fec00000: property \"#interrupt-cells\": expected 1 to 4, found none" },
	{ "bad-address-cells", "/soc: property \"#address-cells\": expected 1 or 2, found 3" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char err[SYSDT_ERR_MAX + 4096] = "", want[SYSDT_ERR_MAX + 4096];
		int r = sysdt_load(fixture(c->fixture), &cfg, err, sizeof(err));

		snprintf(want, sizeof(want), "%s: %s", fixture(c->fixture), c->msg);
		if (r != -VC_EINVAL || strcmp(err, want))
			print_error("%s: r=%d\n  got:  %s\n  want: %s\n", c->fixture, r, err, want);
		assert_int_equal(r, -VC_EINVAL);
		assert_string_equal(err, want);
	}
}

static void test_corrupt(void **state)
{
	char err[SYSDT_ERR_MAX], want[SYSDT_ERR_MAX];
	size_t size;
	char *blob = read_blob("good", &size);
	struct fdt_header *h = (struct fdt_header *)(void *)blob;
	uint32_t saved;

	assert_int_equal(sysdt_parse(blob, 10, &cfg, err, sizeof(err)), -VC_EINVAL);
	assert_string_equal(err, "expected a flattened device tree (at least 28 bytes), found 10 bytes");

	/* Truncated: the header promises more than there is. */
	assert_int_equal(sysdt_parse(blob, size - 1, &cfg, err, sizeof(err)), -VC_EINVAL);
	snprintf(want, sizeof(want), "expected %zu bytes (the header's totalsize), found %zu", size,
		 size - 1);
	assert_string_equal(err, want);

	saved = h->magic;
	h->magic = 0x12345678;
	assert_int_equal(sysdt_parse(blob, size, &cfg, err, sizeof(err)), -VC_EINVAL);
	assert_string_equal(err, "expected a flattened device tree, found a bad header (FDT_ERR_BADMAGIC)");
	h->magic = saved;

	/* A string offset past the strings block breaks the structure. */
	saved = h->size_dt_strings;
	h->size_dt_strings = cpu_to_fdt32(4);
	assert_int_equal(sysdt_parse(blob, size, &cfg, err, sizeof(err)), -VC_EINVAL);
	assert_non_null(strstr(err, "expected a well-formed flattened device tree"));
	h->size_dt_strings = saved;

	/*
	 * A property length that would wrap libfdt's offset arithmetic
	 * (libfdt 1.6's fdt_check_full() loops for ever on it): refused first.
	 */
	for (uint32_t off = fdt32_to_cpu(h->off_dt_struct);; off += 4) {
		uint32_t *tag = (uint32_t *)(void *)(blob + off);

		if (fdt32_to_cpu(*tag) == FDT_PROP) {
			saved = tag[1];
			tag[1] = cpu_to_fdt32(0xfffffff0u);
			assert_int_equal(sysdt_parse(blob, size, &cfg, err, sizeof(err)), -VC_EINVAL);
			assert_non_null(strstr(err, "found a broken structure block"));
			tag[1] = saved;
			break;
		}
	}
	/* Version 16 and older layouts are refused. */
	saved = h->version;
	h->version = cpu_to_fdt32(16);
	assert_int_equal(sysdt_parse(blob, size, &cfg, err, sizeof(err)), -VC_EINVAL);
	assert_string_equal(err, "expected a flattened device tree of version 17 (dtc's output), found version 16");
	h->version = saved;

	/* Unaligned input is fine: the reader copies it. */
	memmove(blob + 3, blob, size);
	assert_int_equal(sysdt_parse(blob + 3, size, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_coprocs, 2);
	free(blob);

	assert_true(sysdt_load("/nonexistent.dtb", &cfg, err, sizeof(err)) < 0);
	assert_string_equal(err, "/nonexistent.dtb: No such file or directory");
}

/* Every byte flipped in turn: an error or a result, never a crash. */
static void test_bitflips(void **state)
{
	char err[SYSDT_ERR_MAX];
	size_t size;
	unsigned char *blob = read_blob("good", &size);

	for (size_t i = 0; i < size; i++) {
		for (unsigned int bit = 0; bit < 8; bit += 3) {
			blob[i] ^= (unsigned char)(1u << bit);
			int r = sysdt_parse(blob, size, &cfg, err, sizeof(err));

			assert_true(r == 0 || r == -VC_EINVAL);
			blob[i] ^= (unsigned char)(1u << bit);
		}
	}
	free(blob);
}

/* ---- sysdt_register() ------------------------------------------------------------- */

static struct {
	unsigned int made, destroyed, attached, detached;
	int fail_make_of; /* index of the make() call to fail, -1 none */
} P;

static int simcp_make(void *opaque, const struct vc_sysconfig_coproc *cp,
		      struct vc_coproc_desc *desc, void **dev, char *err, size_t errlen)
{
	struct simcp_config sc = { .mode = SIMCP_MODE_VTIME };
	struct simcp *s;
	int r;

	if ((int)P.made == P.fail_make_of) {
		snprintf(err, errlen, "no such device");
		return -VC_ENODEV;
	}
	r = simcp_create(&sc, &s);
	if (r)
		return r;
	simcp_coproc_desc(s, cp->name, cp->mmio[0].base, cp->irqs[0], desc);
	*dev = s;
	P.made++;
	return 0;
}

static void simcp_attach_cb(void *dev, struct vc_coproc *c)
{
	simcp_attach(dev, c);
	if (c)
		P.attached++;
	else
		P.detached++;
}

static void simcp_destroy_cb(void *dev)
{
	simcp_destroy(dev);
	P.destroyed++;
}

static const struct sysdt_platform plats[] = {
	{ .compatible = "vcoproc,simcp", .make = simcp_make, .attach = simcp_attach_cb,
	  .destroy = simcp_destroy_cb },
};

static struct vc_fw *fw;

static void no_irq(void *host_dom, uint32_t irq)
{
}

static const struct vc_host_ops hops = { .irq_raise = no_irq };

static int reg_setup(void **state)
{
	memset(&P, 0, sizeof(P));
	P.fail_make_of = -1;
	vc_vtime_reset();
	return vc_fw_create(&hops, &fw);
}

static int reg_teardown(void **state)
{
	vc_fw_destroy(fw);
	assert_int_equal(P.made, P.destroyed);
	assert_int_equal(P.attached, P.detached);
	return 0;
}

static unsigned int nr_coprocs(void)
{
	struct vc_coproc *arr[SYSDT_MAX_COPROCS];

	return vc_fw_coprocs(fw, arr, SYSDT_MAX_COPROCS);
}

/* The platform table may go once sysdt_register() returns. */
static void test_register_copies_platforms(void **state)
{
	struct sysdt_platform *tmp = malloc(sizeof(*tmp));
	char err[SYSDT_ERR_MAX];
	struct sysdt_fw *sf;

	assert_non_null(tmp);
	*tmp = plats[0];
	assert_int_equal(sysdt_load(fixture("good"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, tmp, 1, NULL, &sf, err, sizeof(err)), 0);
	memset(tmp, 0, sizeof(*tmp));
	free(tmp);
	sysdt_unregister(sf);
	assert_int_equal(P.made, 2);
	assert_int_equal(P.destroyed, 2);
	assert_int_equal(P.detached, 2);
}

static void test_register(void **state)
{
	char err[SYSDT_ERR_MAX];
	struct vc_param p[8];
	struct sysdt_fw *sf;
	struct vc_coproc *c;
	unsigned int n;
	bool seen = false;

	assert_int_equal(sysdt_load(fixture("good"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, plats, 1, NULL, &sf, err, sizeof(err)), 0);
	assert_int_equal(nr_coprocs(), 2);
	c = vc_coproc_find(fw, "gpu0");
	assert_ptr_equal(c, sysdt_coproc(sf, 0));
	assert_non_null(sysdt_device(sf, 0));
	assert_null(sysdt_coproc(sf, 2));
	assert_string_equal(vc_coproc_sched_name(c), "credit");
	assert_string_equal(vc_coproc_compatible(c), "vcoproc,simcp");
	assert_int_equal(vc_coproc_desc(c)->hang_timeout, VC_SEC(2));
	assert_int_equal(vc_coproc_desc(c)->mmio[0].base, 0xfe000000ull);
	n = vc_coproc_params(c, p, 8);
	for (unsigned int i = 0; i < n && i < 8; i++)
		if (!strcmp(p[i].key, "slice")) {
			assert_string_equal(p[i].val, "5ms");
			seen = true;
		}
	assert_true(seen);
	c = vc_coproc_find(fw, "gpu1");
	assert_string_equal(vc_coproc_sched_name(c), "rr");
	assert_string_equal(vc_coproc_compatible(c), "acme,gpu-v2");
	assert_int_equal(vc_coproc_desc(c)->irqs[0], 17);
	sysdt_unregister(sf);
	assert_int_equal(nr_coprocs(), 0);
}

/* A passthrough entry registers a reserved coprocessor; its node is found by path. */
static void test_register_passthrough(void **state)
{
	char err[SYSDT_ERR_MAX];
	struct sysdt_fw *sf;
	struct vc_coproc *c;

	assert_int_equal(sysdt_load(fixture("passthrough"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, plats, 1, NULL, &sf, err, sizeof(err)), 0);
	c = vc_coproc_find(fw, "pt1");
	assert_ptr_equal(c, sysdt_coproc(sf, 1));
	assert_true(vc_coproc_passthrough(c));
	assert_string_equal(vc_coproc_sched_name(c), "passthrough");
	assert_false(vc_coproc_passthrough(sysdt_coproc(sf, 0)));
	assert_int_equal(sysdt_find_node(sf, "/soc/coprocessor@fe001000"), 1);
	assert_int_equal(sysdt_find_node(sf, "/soc/coprocessor@fe000000"), 0);
	assert_int_equal(sysdt_find_node(sf, "/soc/uart@3f8"), -1);
	assert_int_equal(sysdt_config(sf, 1)->iommu_id, 3);
	assert_null(sysdt_config(sf, 2));
	sysdt_unregister(sf);
	assert_int_equal(nr_coprocs(), 0);
}

static const char *coproc_param(struct vc_coproc *c, const char *key)
{
	static struct vc_param p[8];
	unsigned int n = vc_coproc_params(c, p, 8);

	for (unsigned int i = 0; i < n && i < 8; i++)
		if (!strcmp(p[i].key, key))
			return p[i].val;
	return "";
}

/*
 * The sched-params of the device tree are the algorithm's: they come back
 * when the coprocessor returns to it after a run-time change (the core
 * remembers instance parameters per algorithm).
 */
static void test_register_params_survive_round_trip(void **state)
{
	char err[SYSDT_ERR_MAX];
	struct sysdt_fw *sf;
	struct vc_coproc *c;

	if (!vc_sched_lookup("credit") || !vc_sched_lookup("rr"))
		skip();
	assert_int_equal(sysdt_load(fixture("good"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, plats, 1, NULL, &sf, err, sizeof(err)), 0);
	c = vc_coproc_find(fw, "gpu0");
	assert_string_equal(vc_coproc_sched_name(c), "credit");
	assert_string_equal(coproc_param(c, "slice"), "5ms");
	assert_int_equal(vc_coproc_sched_set(c, "rr"), 0);
	assert_string_not_equal(coproc_param(c, "slice"), "5ms"); /* rr's own default */
	assert_int_equal(vc_coproc_sched_set(c, "credit"), 0);
	assert_string_equal(coproc_param(c, "slice"), "5ms");
	sysdt_unregister(sf);
}

static void test_register_unknown_algo(void **state)
{
	char err[SYSDT_ERR_MAX], want[SYSDT_ERR_MAX], names[128] = "";
	const char *const *a = vc_sched_algos();
	struct sysdt_fw *sf = (struct sysdt_fw *)1;

	for (unsigned int i = 0; a[i]; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", i ? ", " : "",
			 a[i]);
	snprintf(want, sizeof(want), "/chosen/vcoproc/gpu1: property \"sched\": expected an algorithm (%s), found \"fifo\"",
		 names);

	assert_int_equal(sysdt_load(fixture("bad-sched-unknown"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, plats, 1, NULL, &sf, err, sizeof(err)),
			 -VC_ENOENT);
	assert_null(sf);
	assert_string_equal(err, want);
	/* gpu0 was registered first: it is gone again. */
	assert_int_equal(nr_coprocs(), 0);
	assert_int_equal(P.made, 1);
}

static void test_register_bad_param(void **state)
{
	char err[SYSDT_ERR_MAX];
	struct sysdt_fw *sf;

	assert_int_equal(sysdt_load(fixture("bad-param-value"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, plats, 1, NULL, &sf, err, sizeof(err)),
			 -VC_EINVAL);
	assert_string_equal(err, "/chosen/vcoproc/gpu0: property \"sched-params\": credit refuses \"slice=0\": invalid value");
	assert_int_equal(nr_coprocs(), 0);
}

static void test_register_no_platform(void **state)
{
	static const struct sysdt_platform other[] = {
		{ .compatible = "acme,npu", .make = simcp_make, .destroy = simcp_destroy_cb },
	};
	char err[SYSDT_ERR_MAX];
	struct sysdt_fw *sf;

	assert_int_equal(sysdt_load(fixture("good"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, other, 1, NULL, &sf, err, sizeof(err)),
			 -VC_ENODEV);
	assert_string_equal(err, "/soc/coprocessor@fe000000: property \"compatible\": no platform for \"vcoproc,simcp\" in this host");
	assert_int_equal(nr_coprocs(), 0);
}

static void test_register_make_fails(void **state)
{
	char err[SYSDT_ERR_MAX];
	struct sysdt_fw *sf;

	P.fail_make_of = 1;
	assert_int_equal(sysdt_load(fixture("good"), &cfg, err, sizeof(err)), 0);
	assert_int_equal(sysdt_register(fw, &cfg, plats, 1, NULL, &sf, err, sizeof(err)),
			 -VC_ENODEV);
	assert_string_equal(err, "/soc/coprocessor@fe001000: no such device");
	assert_int_equal(nr_coprocs(), 0);
}

/* ---- device-specific properties (blobs built here with libfdt) -------------------- */

/* One property for the physical node: @len bytes of @val, or a u32/u64 when @val is NULL. */
struct extra_prop {
	const char *name;
	const void *val;
	int len;
	uint64_t num;
};

/* A board with one simcp carrying @extra, shared as gpu0; free() the blob. */
static void *build_blob(const struct extra_prop *extra, unsigned int n, size_t *size)
{
	size_t cap = 64 * 1024;
	char *fdt = malloc(cap);
	fdt32_t reg[4] = { cpu_to_fdt32(0), cpu_to_fdt32(0xfe000000), cpu_to_fdt32(0),
			   cpu_to_fdt32(0x1000) };

	assert_non_null(fdt);
	assert_int_equal(fdt_create(fdt, (int)cap), 0);
	assert_int_equal(fdt_finish_reservemap(fdt), 0);
	assert_int_equal(fdt_begin_node(fdt, ""), 0);
	assert_int_equal(fdt_property_u32(fdt, "#address-cells", 2), 0);
	assert_int_equal(fdt_property_u32(fdt, "#size-cells", 2), 0);
	assert_int_equal(fdt_begin_node(fdt, "soc"), 0);
	assert_int_equal(fdt_property_u32(fdt, "#address-cells", 2), 0);
	assert_int_equal(fdt_property_u32(fdt, "#size-cells", 2), 0);
	assert_int_equal(fdt_begin_node(fdt, "coprocessor@fe000000"), 0);
	assert_int_equal(fdt_property_string(fdt, "compatible", "vcoproc,simcp"), 0);
	assert_int_equal(fdt_property(fdt, "reg", reg, sizeof(reg)), 0);
	assert_int_equal(fdt_property_u32(fdt, "interrupts", 16), 0);
	assert_int_equal(fdt_property_u32(fdt, "phandle", 1), 0);
	assert_int_equal(fdt_property_u32(fdt, "linux,phandle", 1), 0);
	assert_int_equal(fdt_property_u32(fdt, "clock-frequency", 1000), 0);
	for (unsigned int i = 0; i < n; i++) {
		const struct extra_prop *e = &extra[i];

		if (e->val)
			assert_int_equal(fdt_property(fdt, e->name, e->val, e->len), 0);
		else if (e->len == 4)
			assert_int_equal(fdt_property_u32(fdt, e->name, (uint32_t)e->num), 0);
		else
			assert_int_equal(fdt_property_u64(fdt, e->name, e->num), 0);
	}
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_begin_node(fdt, "chosen"), 0);
	assert_int_equal(fdt_begin_node(fdt, "vcoproc"), 0);
	assert_int_equal(fdt_begin_node(fdt, "gpu0"), 0);
	assert_int_equal(fdt_property_string(fdt, "compatible", "vcoproc,shared"), 0);
	assert_int_equal(fdt_property_u32(fdt, "coproc", 1), 0);
	assert_int_equal(fdt_property_string(fdt, "instance-id", "gpu0"), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_end_node(fdt), 0);
	assert_int_equal(fdt_finish(fdt), 0);
	*size = fdt_totalsize(fdt);
	return fdt;
}

static void test_dev_props(void **state)
{
	static const char str[] = "fast";
	static const uint8_t three[3] = { 1, 2, 3 };
	const struct extra_prop extra[] = {
		{ "simcp,aes-rate", NULL, 4, 500000000 },
		{ "acme,big", NULL, 8, 0x123456789abcull },
		{ "acme,name", str, sizeof(str), 0 },
		{ "acme,odd", three, 3, 0 },
		{ "acme,flag", "", 0, 0 },   /* empty: a flag */
	};
	char err[SYSDT_ERR_MAX] = "";
	const struct vc_sysconfig_coproc *cp;
	const struct vc_sysconfig_prop *p;
	size_t size;
	void *blob = build_blob(extra, 5, &size);

	assert_int_equal(sysdt_parse(blob, size, &cfg, err, sizeof(err)), 0);
	cp = &cfg.coproc[0];
	/* "linux,phandle", "phandle", "clock-frequency": not device-specific. */
	assert_int_equal(cp->nr_props, 5);
	p = sysdt_prop(cp, "simcp,aes-rate");
	assert_non_null(p);
	assert_int_equal(p->len, 4);
	assert_int_equal(p->value, 500000000);
	p = sysdt_prop(cp, "acme,big");
	assert_non_null(p);
	assert_int_equal(p->len, 8);
	assert_int_equal(p->value, 0x123456789abcull);
	p = sysdt_prop(cp, "acme,name");
	assert_int_equal(p->len, sizeof(str));
	assert_int_equal(p->value, 0);
	assert_int_equal(sysdt_prop(cp, "acme,odd")->len, 3);
	assert_int_equal(sysdt_prop(cp, "acme,flag")->len, 0);
	assert_null(sysdt_prop(cp, "linux,phandle"));
	assert_null(sysdt_prop(cp, "clock-frequency"));
	assert_string_equal(cp->props[0].name, "simcp,aes-rate"); /* blob order */
	free(blob);
}

static void test_dev_props_bad(void **state)
{
	struct extra_prop many[SYSDT_MAX_DEV_PROPS + 1];
	char names[SYSDT_MAX_DEV_PROPS + 1][16];
	char longname[SYSDT_PROP_NAME_MAX + 8];
	char err[SYSDT_ERR_MAX + 4096] = "", want[SYSDT_ERR_MAX + 4096];
	char path[] = "/tmp/vcoproc-sysdt-XXXXXX";
	size_t size;
	void *blob;
	FILE *f;
	int fd;

	for (unsigned int i = 0; i <= SYSDT_MAX_DEV_PROPS; i++) {
		snprintf(names[i], sizeof(names[i]), "acme,p%u", i);
		many[i] = (struct extra_prop){ names[i], NULL, 4, i };
	}
	blob = build_blob(many, SYSDT_MAX_DEV_PROPS, &size);
	assert_int_equal(sysdt_parse(blob, size, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.coproc[0].nr_props, SYSDT_MAX_DEV_PROPS);
	free(blob);

	/* One more: refused, located in the file. */
	blob = build_blob(many, SYSDT_MAX_DEV_PROPS + 1, &size);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(blob, 1, size, f), size);
	fclose(f);
	assert_int_equal(sysdt_load(path, &cfg, err, sizeof(err)), -VC_EINVAL);
	snprintf(want, sizeof(want), "%s: /soc/coprocessor@fe000000: property \"acme,p16\": "
		 "expected at most 16 device-specific properties (\"vendor,name\"), found more", path);
	assert_string_equal(err, want);
	unlink(path);
	free(blob);

	/* A name too long to keep. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	memcpy(longname, "acme,", 5);
	many[0].name = longname;
	blob = build_blob(many, 1, &size);
	assert_int_equal(sysdt_parse(blob, size, &cfg, err, sizeof(err)), -VC_EINVAL);
	snprintf(want, sizeof(want), "/soc/coprocessor@fe000000: property \"%s\": expected a "
		 "device-specific property name of at most 47 characters, found %zu", longname,
		 strlen(longname));
	assert_string_equal(err, want);
	free(blob);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_cells32),
		cmocka_unit_test(test_passthrough),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_dev_props),
		cmocka_unit_test(test_dev_props_bad),
		cmocka_unit_test_setup_teardown(test_register, reg_setup, reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_passthrough, reg_setup, reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_copies_platforms, reg_setup,
						reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_params_survive_round_trip,
						reg_setup, reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_unknown_algo, reg_setup, reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_bad_param, reg_setup, reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_no_platform, reg_setup, reg_teardown),
		cmocka_unit_test_setup_teardown(test_register_make_fails, reg_setup, reg_teardown),
	};

	size_t n = sizeof(tests) / sizeof(tests[0]);

	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURE-DIR\n", argv[0]);
		return 2;
	}
	fixtures = argv[1];
	/* The register cases (the last five) need the fixtures' credit and rr. */
	if (!vc_sched_lookup("credit") || !vc_sched_lookup("rr")) {
		fprintf(stderr, "built without credit or rr: sysdt_register() cases left out\n");
		n -= 5;
	}
	return _cmocka_run_group_tests("sysdt", tests, n, NULL, NULL);
}
