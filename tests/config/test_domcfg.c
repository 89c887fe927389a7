// SPDX-License-Identifier: MIT
/*
 * Domain files: the settings and their defaults, warnings, the exact
 * message for each kind of bad value, and domcfg_build() against a real
 * framework (simcp on virtual time): all or nothing.
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

#include <vcoproc/errno.h>
#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "domcfg.h"
#include "simcp.h"

static struct domcfg cfg;

static void parse_ok(const char *text)
{
	char err[DOMCFG_MSG_MAX] = "";
	int r = domcfg_parse(text, strlen(text), "d.cfg", &cfg, err, sizeof(err));

	if (r)
		print_error("unexpected error: %s\n", err);
	assert_int_equal(r, 0);
}

static void test_full(void **state)
{
	parse_ok("name = \"dom1\"\n"
		 "memory = 128\n"
		 "kernel = \"guest/hash.elf\"\n"
		 "vcpus = 2\n"
		 "extra = \"seconds=5 verbose\"\n"
		 "vcoproc = [ \"gpu0\", \"gpu1, weight = 512 ,cap=50\" ]\n");
	assert_string_equal(cfg.name, "dom1");
	assert_int_equal(cfg.memory_mib, 128);
	assert_string_equal(cfg.kernel, "guest/hash.elf");
	assert_int_equal(cfg.vcpus, 2);
	assert_string_equal(cfg.extra, "seconds=5 verbose");
	assert_int_equal(cfg.nr_vcoprocs, 2);
	assert_string_equal(cfg.vcoproc[0].instance, "gpu0");
	assert_int_equal(cfg.vcoproc[0].nr_params, 0);
	assert_int_equal(cfg.vcoproc[0].pos.line, 6);
	assert_int_equal(cfg.vcoproc[0].pos.col, 14);
	assert_string_equal(cfg.vcoproc[1].instance, "gpu1");
	assert_int_equal(cfg.vcoproc[1].nr_params, 2);
	assert_string_equal(cfg.vcoproc[1].params[0].key, "weight");
	assert_string_equal(cfg.vcoproc[1].params[0].val, "512");
	assert_string_equal(cfg.vcoproc[1].params[1].key, "cap");
	assert_string_equal(cfg.vcoproc[1].params[1].val, "50");
	/* "gpu1, weight = 512 ,cap=50" starts at column 22: the key at 28. */
	assert_int_equal(cfg.vcoproc[1].param_pos[0].col, 28);
	assert_int_equal(cfg.vcoproc[1].val_pos[0].col, 37);
	assert_int_equal(cfg.pos.memory.line, 2);
	assert_int_equal(cfg.pos.memory.col, 10);
	assert_int_equal(cfg.nr_warnings, 0);
}

/* Values as xl reads them: numbers by strtol() in base 0, atoms as text. */
static void test_xl_values(void **state)
{
	parse_ok("name = 'd'\nkernel = 'k'\nmemory = 010\nvcpus = \"0x4\"\nextra = 3\n");
	assert_int_equal(cfg.memory_mib, 8);
	assert_int_equal(cfg.vcpus, 4);
	assert_string_equal(cfg.extra, "3");
	parse_ok("name = 'd'\nkernel = 'k'\nmemory = ' +64'\n");
	assert_int_equal(cfg.memory_mib, 64);
}

static void test_defaults(void **state)
{
	parse_ok("name='d'\nkernel='k'\n");
	assert_int_equal(cfg.memory_mib, DOMCFG_DEF_MEMORY_MIB);
	assert_int_equal(cfg.vcpus, 1);
	assert_string_equal(cfg.extra, "");
	assert_int_equal(cfg.nr_vcoprocs, 0);
	assert_int_equal(cfg.pos.memory.line, 3); /* the end of the file */
}

static void test_warnings(void **state)
{
	parse_ok("name = 'a'\n"
		 "kernel = 'k'\n"
		 "builder = 'hvm'\n"
		 "memory = 32\n"
		 "memory = 48\n"
		 "extra = 'x'\n"
		 "extra += ' y'\n");
	assert_int_equal(cfg.memory_mib, 48);
	assert_string_equal(cfg.extra, "x y");
	assert_int_equal(cfg.nr_warnings, 2);
	assert_string_equal(cfg.warnings[0], "d.cfg:3:1: warning: unknown setting \"builder\" ignored");
	assert_string_equal(cfg.warnings[1],
			    "d.cfg:4:1: warning: \"memory\" is set again at 5:1; the later value counts");
}

static void test_many_warnings(void **state)
{
	char text[1024] = "name='a'\nkernel='k'\n";

	for (int i = 0; i < 12; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "x%d = 1\n", i);
	parse_ok(text);
	assert_int_equal(cfg.nr_warnings, 12);
	assert_string_equal(cfg.warnings[DOMCFG_MAX_WARNINGS - 1],
			    "d.cfg:10:1: warning: unknown setting \"x7\" ignored");
}

struct bad_case {
	const char *text;
	const char *msg;
};

#define NK "name = 'd'\nkernel = 'k'\n"

static const struct bad_case bad_cases[] = {
	/* Syntax errors come from the reader. */
	{ "name = 'd\n", "d.cfg:1:10: expected a closing \"'\", found end of line" },
	/* Missing required settings. */
	{ "kernel = 'k'\n", "d.cfg:2:1: expected a \"name\" setting, found end of file" },
	{ "name = 'd'\nmemory = 8", "d.cfg:2:11: expected a \"kernel\" setting, found end of file" },
	/* Wrong types and ranges. */
	{ "name = 5\n",
	  "d.cfg:1:8: expected a domain name (a letter, then letters, digits, '_', '-', '.'; at most 31), found number 5" },
	{ "name = 'my dom'\n",
	  "d.cfg:1:8: expected a domain name (a letter, then letters, digits, '_', '-', '.'; at most 31), found string \"my dom\"" },
	{ "name = '7up'\n",
	  "d.cfg:1:8: expected a domain name (a letter, then letters, digits, '_', '-', '.'; at most 31), found string \"7up\"" },
	{ "name = 'abcdefghijabcdefghijabcdefghij12'\n",
	  "d.cfg:1:8: expected a domain name (a letter, then letters, digits, '_', '-', '.'; at most 31), found string \"abcdefghijabcdefghijabcdefghij12\"" },
	{ NK "memory = '64 MiB'\n",
	  "d.cfg:3:10: expected memory in MiB (a number from 1 to 1048576), found string \"64 MiB\"" },
	/* Numbers as xl reads them: 08 is no octal number, 010 is 8. */
	{ NK "memory = 08\n",
	  "d.cfg:3:10: expected memory in MiB (a number from 1 to 1048576), found number 08" },
	{ NK "memory = 1e3\n",
	  "d.cfg:3:10: expected memory in MiB (a number from 1 to 1048576), found number 1e3" },
	{ NK "memory = 99999999999999999999\n",
	  "d.cfg:3:10: expected memory in MiB (a number from 1 to 1048576), found 99999999999999999999, out of range" },
	{ NK "memory = '-1'\n",
	  "d.cfg:3:10: expected memory in MiB (a number from 1 to 1048576), found string \"-1\"" },
	{ NK "memory = 1\nmemory += 2\n",
	  "d.cfg:4:11: expected memory in MiB (a number from 1 to 1048576), found a value built with '+=' (xl reads no number from one)" },
	{ NK "memory = 0\n",
	  "d.cfg:3:10: expected memory in MiB (a number from 1 to 1048576), found number 0" },
	{ NK "memory = 0x100001\n",
	  "d.cfg:3:10: expected memory in MiB (a number from 1 to 1048576), found number 0x100001" },
	{ NK "vcpus = 0\n", "d.cfg:3:9: expected a vCPU count (a number from 1 to 128), found number 0" },
	{ NK "vcpus = [1]\n", "d.cfg:3:9: expected a vCPU count (a number from 1 to 128), found list of 1" },
	{ "name = 'd'\nkernel = ''\n",
	  "d.cfg:2:10: expected a kernel path (a non-empty string of at most 4095 bytes), found string \"\"" },
	{ NK "extra = [ 3 ]\n",
	  "d.cfg:3:9: expected guest arguments (a string of at most 511 bytes), found list of 1" },
	/* vcoproc entries. */
	{ NK "vcoproc = 'gpu0'\n",
	  "d.cfg:3:11: expected a list of vcoproc entries ([ \"gpu0\", \"gpu1,weight=512\" ]), found string \"gpu0\"" },
	{ NK "vcoproc = [ [ 'gpu0' ] ]\n",
	  "d.cfg:3:13: expected a vcoproc entry (a string \"INSTANCE[,key=value...]\"), found list of 1" },
	{ NK "vcoproc = [ '' ]\n",
	  "d.cfg:3:14: expected a coprocessor instance id (a letter, then letters, digits, '_', '-', '.'; at most 31), found \"\"" },
	{ NK "vcoproc = [ ',weight=1' ]\n",
	  "d.cfg:3:14: expected a coprocessor instance id (a letter, then letters, digits, '_', '-', '.'; at most 31), found \"\"" },
	{ NK "vcoproc = [ 'gpu 0' ]\n",
	  "d.cfg:3:14: expected a coprocessor instance id (a letter, then letters, digits, '_', '-', '.'; at most 31), found \"gpu 0\"" },
	{ NK "vcoproc = [ 'gpu0,weight' ]\n",
	  "d.cfg:3:19: expected a parameter key=value, found \"weight\"" },
	{ NK "vcoproc = [ 'gpu0,weight=1,' ]\n",
	  "d.cfg:3:28: expected a parameter key=value, found nothing" },
	{ NK "vcoproc = [ 'gpu0,,weight=1' ]\n",
	  "d.cfg:3:19: expected a parameter key=value, found nothing" },
	{ NK "vcoproc = [ 'gpu0,Weight=1' ]\n",
	  "d.cfg:3:19: expected a parameter name (a-z, 0-9, '_'; at most 23), found \"Weight\"" },
	{ NK "vcoproc = [ 'gpu0,=1' ]\n",
	  "d.cfg:3:19: expected a parameter name (a-z, 0-9, '_'; at most 23), found \"\"" },
	{ NK "vcoproc = [ 'gpu0,weight=' ]\n",
	  "d.cfg:3:26: expected a value for \"weight\" (1 to 95 characters), found nothing" },
	{ NK "vcoproc = [ 'gpu0,weight=1,weight=2' ]\n",
	  "d.cfg:3:28: expected each parameter at most once, found \"weight\" again" },
	{ NK "vcoproc = [ 'gpu0,a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9' ]\n",
	  "d.cfg:3:51: expected at most 8 parameters, found more" },
	{ NK "vcoproc = [ 'gpu0', \"gpu1\",\n  'gpu0,weight=2' ]\n",
	  "d.cfg:4:4: expected each coprocessor at most once, found \"gpu0\" again (first at 3:14)" },
	{ NK "vcoproc = [ 'a','b','c','d','e','f','g','h','i' ]\n",
	  "d.cfg:3:45: expected at most 8 vcoproc entries, found 9" },
	/* An escaped entry points at its start. */
	{ NK "vcoproc = [ \"gpu0,\\tweight\" ]\n",
	  "d.cfg:3:13: expected a parameter key=value, found \"weight\"" },
	/* Kinds of domain and virtio devices. */
	{ "name = 'd'\ntype = 'xen'\nkernel = 'k'\n",
	  "d.cfg:2:8: expected a domain type (\"kvm\", \"builtin\", \"vhost-user\"), found string \"xen\"" },
	{ "name = 'd'\ntype = 'vhost-user'\nvcoproc = ['gpu0']\n",
	  "d.cfg:4:1: expected a \"virtio\" setting in a vhost-user domain, found end of file" },
	{ "name = 'd'\ntype = 'vhost-user'\nkernel = 'k'\nvirtio = ['type=crypto,socket=s']\nvcoproc = ['gpu0']\n",
	  "d.cfg:3:10: expected no kernel in a vhost-user domain (its guest runs in another VMM), found one" },
	{ "name = 'd'\nkernel = 'k'\nvirtio = ['type=crypto,socket=s']\nvcoproc = ['gpu0']\n",
	  "d.cfg:3:10: expected type = \"vhost-user\" for a domain with virtio devices, found no type" },
	{ "name = 'd'\ntype = 'vhost-user'\nvirtio = ['type=net,socket=s']\nvcoproc = ['gpu0']\n",
	  "d.cfg:3:17: expected a virtio device type (crypto), found \"net\"" },
	{ "name = 'd'\ntype = 'vhost-user'\nvirtio = ['type=crypto,transport=mmio,socket=s']\n",
	  "d.cfg:3:34: expected a virtio transport (vhost-user), found \"mmio\"" },
	{ "name = 'd'\ntype = 'vhost-user'\nvirtio = ['type=crypto']\nvcoproc = ['gpu0']\n",
	  "d.cfg:3:11: expected socket=PATH in the vhost-user device, found none" },
	{ "name = 'd'\ntype = 'vhost-user'\nvirtio = ['type=crypto,backend=0,socket=s']\n",
	  "d.cfg:3:24: expected a virtio key (type, transport, socket, vcoproc), found \"backend\"" },
	{ "name = 'd'\ntype = 'vhost-user'\nvirtio = ['type=crypto,socket=s']\n",
	  "d.cfg:3:11: expected a vcoproc of this domain for the virtio device (see \"vcoproc\"), found none" },
	{ "name = 'd'\ntype = 'vhost-user'\nvirtio = ['type=crypto,vcoproc=gpu1,socket=s']\nvcoproc = ['gpu0']\n",
	  "d.cfg:3:32: expected a vcoproc of this domain for the virtio device (see \"vcoproc\"), found \"gpu1\"" },
	{ "name = 'd'\ntype = 'builtin'\nkernel = 'k'\n",
	  "d.cfg:3:10: expected a builtin workload (\"builtin:NAME\") as the kernel of a builtin domain, found \"k\"" },
	{ "name = 'd'\ntype = 'kvm'\nkernel = 'builtin:idle'\n",
	  "d.cfg:3:10: expected a guest image as the kernel of a kvm domain, found \"builtin:idle\"" },
	/* Passthrough, in xl's terms. */
	{ NK "dtdev = 'soc/gpu'\n",
	  "d.cfg:3:9: expected a list of device-tree paths ([ \"/soc/gpu@fe001000\" ]), found string \"soc/gpu\"" },
	{ NK "dtdev = [ 'soc/gpu' ]\n",
	  "d.cfg:3:11: expected an absolute device-tree path (\"/soc/gpu@fe001000\", at most 255 bytes), found string \"soc/gpu\"" },
	{ NK "dtdev = [ '/a' ]\niomem = [ 'fe001' ]\n",
	  "d.cfg:4:11: expected \"PFN,NR[@GFN]\" (hex page number and page count, as xl's iomem), found string \"fe001\"" },
	{ NK "dtdev = [ '/a' ]\niomem = [ 'fe001,0' ]\n",
	  "d.cfg:4:11: expected \"PFN,NR[@GFN]\" (hex page number and page count, as xl's iomem), found string \"fe001,0\"" },
	{ NK "dtdev = [ '/a' ]\niomem = [ '0xfe001,1' ]\n",
	  "d.cfg:4:11: expected \"PFN,NR[@GFN]\" (hex page number and page count, as xl's iomem), found string \"0xfe001,1\"" },
	{ NK "dtdev = [ '/a' ]\niomem = [ 'fe001,1@100' ]\n",
	  "d.cfg:4:11: expected the window at its own address (@fe001 or no @GFN), found @100: the device's registers are not remapped" },
	{ NK "dtdev = [ '/a' ]\nirqs = [ '0x11' ]\n",
	  "d.cfg:4:10: expected an interrupt number (decimal, as xl's irqs), found string \"0x11\"" },
	{ NK "irqs = [ 17 ]\n",
	  "d.cfg:3:8: expected a \"dtdev\" setting with irqs (it assigns the device they belong to), found none" },
	{ NK "iomem = [ 'fe001,1' ]\n",
	  "d.cfg:3:9: expected a \"dtdev\" setting with iomem (it assigns the device they belong to), found none" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char err[DOMCFG_MSG_MAX] = "";
		int r = domcfg_parse(c->text, strlen(c->text), "d.cfg", &cfg, err, sizeof(err));

		if (r != -VC_EINVAL || strcmp(err, c->msg))
			print_error("case %zu: r=%d\n  got:  %s\n  want: %s\n", i, r, err, c->msg);
		assert_int_equal(r, -VC_EINVAL);
		assert_string_equal(err, c->msg);
	}
}

/* dtdev, iomem and irqs as xl writes them. */
static void test_passthrough_keys(void **state)
{
	static const char text[] =
		"name = 'p'\nkernel = 'builtin:compute'\n"
		"dtdev = [ '/coprocessors/coprocessor@fe001000' ]\n"
		"iomem = [ 'fe001,1', 'FE002,2@FE002' ]\nirqs = [ 17, '18' ]\n";
	char err[DOMCFG_MSG_MAX] = "";

	assert_int_equal(domcfg_parse(text, strlen(text), "p.cfg", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nr_dtdev, 1);
	assert_string_equal(cfg.dtdev[0], "/coprocessors/coprocessor@fe001000");
	assert_int_equal(cfg.dtdev_pos[0].line, 3);
	assert_int_equal(cfg.nr_iomem, 2);
	assert_int_equal(cfg.iomem[0].pfn, 0xfe001);
	assert_int_equal(cfg.iomem[0].nr, 1);
	assert_int_equal(cfg.iomem[1].pfn, 0xfe002);
	assert_int_equal(cfg.iomem[1].nr, 2);
	assert_int_equal(cfg.nr_irqs, 2);
	assert_int_equal(cfg.irqs[0], 17);
	assert_int_equal(cfg.irqs[1], 18);
	assert_int_equal(cfg.irq_pos[1].col, 14);
	assert_int_equal(cfg.nr_warnings, 0);
}

/* A vhost-user domain: its devices, a socket path with commas, no kernel. */
static void test_vhost_user(void **state)
{
	static const char text[] =
		"name = 'v'\ntype = 'vhost-user'\n"
		"virtio = [ 'type=crypto, transport=vhost-user, vcoproc=gpu1, socket=/run/a,b.sock' ]\n"
		"vcoproc = [ 'gpu0', 'gpu1,weight=512' ]\n";
	char err[DOMCFG_MSG_MAX] = "";

	assert_int_equal(domcfg_parse(text, strlen(text), "v.cfg", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.type, "vhost-user");
	assert_int_equal(cfg.nr_virtio, 1);
	assert_string_equal(cfg.virtio[0].type, "crypto");
	assert_string_equal(cfg.virtio[0].transport, "vhost-user");
	assert_string_equal(cfg.virtio[0].socket, "/run/a,b.sock");
	assert_string_equal(cfg.virtio[0].vcoproc, "gpu1");
	assert_int_equal(cfg.virtio[0].socket_pos.line, 3);
	assert_int_equal(cfg.virtio[0].socket_pos.col, 69);
	assert_string_equal(cfg.kernel, "");
	assert_int_equal(cfg.nr_warnings, 0);
}

static void test_load_and_resolve(void **state)
{
	char path[] = "/tmp/domcfg-test-XXXXXX", err[DOMCFG_MSG_MAX], out[64];
	const char *text = "name = 'f'\nkernel = 'img/k.elf'\n";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(domcfg_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.name, "f");
	assert_int_equal(domcfg_resolve_path(&cfg, cfg.kernel, out, sizeof(out)), 0);
	assert_string_equal(out, "/tmp/img/k.elf");
	assert_int_equal(domcfg_resolve_path(&cfg, "/abs", out, sizeof(out)), 0);
	assert_string_equal(out, "/abs");
	assert_int_equal(domcfg_resolve_path(&cfg, "x", out, 4), -VC_E2BIG);
	unlink(path);

	assert_true(domcfg_load(path, &cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_true(domcfg_load("/tmp", &cfg, err, sizeof(err)) < 0);
	assert_string_equal(err, "/tmp: not a regular file");
}

/* ---- domcfg_build() ------------------------------------------------------------ */

static struct {
	struct vc_fw *fw;
	struct simcp *dev[2];
	struct vc_coproc *c[2];
	unsigned int allocs;          /* contexts the platform was asked for */
} F;

/* simcp's platform ops, counting the contexts asked for. */
static struct vc_platform_ops counting_ops;

static int counting_ctx_alloc(struct vc_coproc *c, uint32_t tag, void **ctx)
{
	F.allocs++;
	return simcp_platform_ops.ctx_alloc(c, tag, ctx);
}

static void no_irq(void *host_dom, uint32_t irq)
{
}

static const struct vc_host_ops hops = { .irq_raise = no_irq };

static int fw_setup(void **state)
{
	static const char *const names[] = { "gpu0", "gpu1" };
	static const char *const algos[] = { "credit", "rtds" };
	struct simcp_config sc = { .mode = SIMCP_MODE_VTIME };
	struct vc_coproc_desc d;

	vc_vtime_reset();
	counting_ops = simcp_platform_ops;
	counting_ops.ctx_alloc = counting_ctx_alloc;
	F.allocs = 0;
	assert_int_equal(vc_fw_create(&hops, &F.fw), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(simcp_create(&sc, &F.dev[i]), 0);
		simcp_coproc_desc(F.dev[i], names[i], 0xfe000000ull + 0x1000ull * (unsigned)i,
				  16 + (unsigned)i, &d);
		d.sched = algos[i];
		d.ops = &counting_ops;
		assert_int_equal(vc_coproc_register(F.fw, &d, &F.c[i]), 0);
		simcp_attach(F.dev[i], F.c[i]);
	}
	return 0;
}

static int fw_teardown(void **state)
{
	for (int i = 0; i < 2; i++) {
		assert_int_equal(vc_coproc_unregister(F.c[i]), 0);
		simcp_attach(F.dev[i], NULL);
		simcp_destroy(F.dev[i]);
	}
	vc_fw_destroy(F.fw);
	return 0;
}

static unsigned int nr_vcoprocs(int i)
{
	struct vc_vcoproc *arr[8];

	return vc_coproc_vcoprocs(F.c[i], arr, 8);
}

static int build(const char *text, uint32_t domid, struct vc_domain **d, char *err)
{
	char perr[DOMCFG_MSG_MAX];

	assert_int_equal(domcfg_parse(text, strlen(text), "d.cfg", &cfg, perr, sizeof(perr)), 0);
	return domcfg_build(F.fw, &cfg, domid, NULL, NULL, d, NULL, err, DOMCFG_MSG_MAX);
}

static void test_build_ok(void **state)
{
	char err[DOMCFG_MSG_MAX];
	struct vc_domain *d;
	struct vc_param p[16];
	unsigned int n;

	assert_int_equal(build(NK "vcoproc = [ 'gpu0,weight=512,budget=3ms', 'gpu1,budget=2ms,period=10ms' ]\n",
			       1, &d, err), 0);
	assert_non_null(d);
	assert_ptr_equal(vc_domain_find(F.fw, 1), d);
	assert_string_equal(vc_domain_name(d), "d");
	assert_int_equal(nr_vcoprocs(0), 1);
	assert_int_equal(nr_vcoprocs(1), 1);
	/* budget means nothing to credit: kept, and a warning says so. */
	assert_int_equal(cfg.nr_warnings, 1);
	assert_string_equal(cfg.warnings[0],
			    "d.cfg:3:30: warning: credit on gpu0 has no parameter \"budget\"; kept for other algorithms");
	{
		struct vc_vcoproc *arr[1];

		vc_coproc_vcoprocs(F.c[0], arr, 1);
		n = vc_vcoproc_params(arr[0], p, 16);
		assert_true(n >= 1);
		assert_string_equal(p[0].key, "weight");
		assert_string_equal(p[0].val, "512");
	}
	vc_domain_destroy(d);
	assert_int_equal(nr_vcoprocs(0), 0);
}

static void test_build_unknown_instance(void **state)
{
	char err[DOMCFG_MSG_MAX];
	struct vc_domain *d = (struct vc_domain *)1;

	assert_int_equal(build(NK "vcoproc = [ 'gpu0', 'gpu9,weight=2' ]\n", 2, &d, err),
			 -VC_ENOENT);
	assert_string_equal(err, "d.cfg:3:22: expected a coprocessor instance (gpu0, gpu1), found \"gpu9\"");
	assert_null(d);
	assert_null(vc_domain_find(F.fw, 2));
	assert_int_equal(nr_vcoprocs(0), 0);
}

static void test_build_bad_value_undoes(void **state)
{
	char err[DOMCFG_MSG_MAX];
	struct vc_domain *d;

	/* The first vcoproc is made, the second one fails: neither is left. */
	assert_int_equal(build(NK "vcoproc = [ 'gpu0,weight=512',\n"
				  "            'gpu1,period=10ms,budget=forever' ]\n", 3, &d, err),
			 -VC_EINVAL);
	assert_string_equal(err, "d.cfg:4:38: expected a valid value of \"budget\" for rtds on gpu1, found \"forever\"");
	assert_null(vc_domain_find(F.fw, 3));
	assert_int_equal(nr_vcoprocs(0), 0);
	assert_int_equal(nr_vcoprocs(1), 0);

	assert_int_equal(build(NK "vcoproc = [ 'gpu0,weight=0' ]\n", 3, &d, err), -VC_EINVAL);
	assert_string_equal(err, "d.cfg:3:26: expected a valid value of \"weight\" for credit on gpu0, found \"0\"");
}

/*
 * The framework names the parameter it refused: the message points at it
 * and the vcoproc is asked for once - no re-creation to find out which.
 */
static void test_build_names_refused_param(void **state)
{
	char err[DOMCFG_MSG_MAX];
	struct vc_domain *d;

	F.allocs = 0;
	assert_int_equal(build(NK "vcoproc = [ 'gpu0,cap=10,weight=0' ]\n", 3, &d, err),
			 -VC_EINVAL);
	assert_string_equal(err, "d.cfg:3:33: expected a valid value of \"weight\" for credit on gpu0, found \"0\"");
	assert_int_equal(F.allocs, 1);

	F.allocs = 0;
	assert_int_equal(build(NK "vcoproc = [ 'gpu1,budget=20ms,period=10ms' ]\n", 3, &d, err),
			 -VC_EINVAL);
	assert_string_equal(err, "d.cfg:3:26: expected a valid value of \"budget\" for rtds on gpu1, found \"20ms\"");
	assert_int_equal(F.allocs, 1);

	/* 50 us is below rtds's shortest period (a bare number is in us). */
	assert_int_equal(build(NK "vcoproc = [ 'gpu1,budget=20,period=50' ]\n", 3, &d, err),
			 -VC_EINVAL);
	assert_string_equal(err, "d.cfg:3:36: expected a valid value of \"period\" for rtds on gpu1, found \"50\"");
	assert_null(vc_domain_find(F.fw, 3));
	assert_int_equal(nr_vcoprocs(0), 0);
	assert_int_equal(nr_vcoprocs(1), 0);
}

static void test_build_admission(void **state)
{
	char err[DOMCFG_MSG_MAX];
	struct vc_domain *d1, *d2;

	assert_int_equal(build(NK "vcoproc = [ 'gpu1,budget=7ms,period=10ms' ]\n", 4, &d1, err), 0);
	assert_int_equal(build("name='e'\nkernel='k'\nvcoproc = [ 'gpu0', 'gpu1,budget=5ms,period=10ms' ]\n",
			       5, &d2, err), -VC_ENOSPC);
	assert_string_equal(err, "d.cfg:3:22: vcoproc on gpu1 refused by rtds admission control (the coprocessor cannot promise it that share)");
	assert_null(vc_domain_find(F.fw, 5));
	assert_int_equal(nr_vcoprocs(0), 0);
	assert_int_equal(nr_vcoprocs(1), 1);
	vc_domain_destroy(d1);
}

static void test_build_unknown_key(void **state)
{
	char err[DOMCFG_MSG_MAX];
	struct vc_domain *d;

	assert_int_equal(build(NK "vcoproc = [ 'gpu0,weight=2,wieght=3' ]\n", 7, &d, err), -VC_EINVAL);
	assert_string_equal(err, "d.cfg:3:28: expected a per-vcoproc parameter of some algorithm (docs/schedulers.md), found \"wieght\"");
	assert_null(vc_domain_find(F.fw, 7));
}

static void test_build_domid_taken(void **state)
{
	char err[DOMCFG_MSG_MAX];
	struct vc_domain *d1, *d2;

	assert_int_equal(build(NK "vcoproc = [ 'gpu0' ]\n", 6, &d1, err), 0);
	assert_int_equal(build(NK "vcoproc = [ 'gpu0' ]\n", 6, &d2, err), -VC_EEXIST);
	assert_string_equal(err, "d.cfg:1:8: domain id 6 is taken");
	assert_int_equal(nr_vcoprocs(0), 1);
	vc_domain_destroy(d1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_xl_values),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_many_warnings),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_passthrough_keys),
		cmocka_unit_test(test_vhost_user),
		cmocka_unit_test(test_load_and_resolve),
		/* From here on the cases need credit and rtds. */
		cmocka_unit_test_setup_teardown(test_build_ok, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_build_unknown_instance, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_build_bad_value_undoes, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_build_names_refused_param, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_build_admission, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_build_unknown_key, fw_setup, fw_teardown),
		cmocka_unit_test_setup_teardown(test_build_domid_taken, fw_setup, fw_teardown),
	};
	size_t n = sizeof(tests) / sizeof(tests[0]);

	if (!vc_sched_lookup("credit") || !vc_sched_lookup("rtds")) {
		fprintf(stderr, "built without credit or rtds: domcfg_build() cases left out\n");
		n = 6;
	}
	return _cmocka_run_group_tests("domcfg", tests, n, NULL, NULL);
}
