// SPDX-License-Identifier: MIT
/*
 * simcp's device-tree binding (platform/simcp/simcp_sysdt.c) on the
 * device-specific properties the reader hands it: simcp,aes-rate in one
 * cell or two sets the device's AES rate, and a bad one is refused with a
 * message naming the property, before any device is made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vcoproc/errno.h>

#include "simcp_sysdt.h"
#include "simcp_test.h"

static void node(struct vc_sysconfig_coproc *cp)
{
	memset(cp, 0, sizeof(*cp));
	snprintf(cp->name, sizeof(cp->name), "gpu0");
	snprintf(cp->node, sizeof(cp->node), "/soc/coprocessor@fe000000");
	cp->mmio[0] = (struct vc_mmio_range){ 0xfe000000, 0x1000 };
	cp->nr_mmio = 1;
	cp->irqs[0] = 16;
	cp->nr_irqs = 1;
}

static void add(struct vc_sysconfig_coproc *cp, const char *name, uint32_t len, uint64_t v)
{
	struct vc_sysconfig_prop *p = &cp->props[cp->nr_props++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->len = len;
	p->value = v;
}

/* make(); on success the device's AES rate, else the message in @err. */
static int make(const struct vc_sysconfig_coproc *cp, uint64_t *aes_bw, char *err, size_t len)
{
	struct vc_coproc_desc desc;
	struct simcp_timing t;
	void *dev = NULL;
	int r;

	memset(&desc, 0, sizeof(desc));
	err[0] = '\0';
	r = simcp_sysdt_platform.make(NULL, cp, &desc, &dev, err, len);
	if (r)
		return r;
	assert_non_null(dev);
	simcp_timing(dev, &t);
	*aes_bw = t.aes_bw;
	assert_int_equal(desc.switch_cost, simcp_switch_cost(dev));
	simcp_sysdt_platform.destroy(dev);
	return 0;
}

static void test_aes_rate(void **state)
{
	struct vc_sysconfig_coproc cp;
	char err[SYSDT_ERR_MAX];
	uint64_t bw = 0;

	node(&cp);
	assert_int_equal(make(&cp, &bw, err, sizeof(err)), 0);
	assert_int_equal(bw, SIMCP_DEF_AES_BW);

	node(&cp);
	add(&cp, "acme,other", 3, 0); /* another vendor's: not simcp's business */
	add(&cp, "simcp,aes-rate", 4, 250000000);
	assert_int_equal(make(&cp, &bw, err, sizeof(err)), 0);
	assert_int_equal(bw, 250000000);

	node(&cp);
	add(&cp, "simcp,aes-rate", 8, 20000000000ull); /* 20 GB/s needs two cells */
	assert_int_equal(make(&cp, &bw, err, sizeof(err)), 0);
	assert_int_equal(bw, 20000000000ull);

	node(&cp);
	add(&cp, "simcp,aes-rate", 4, SIMCP_DT_AES_RATE_MIN);
	assert_int_equal(make(&cp, &bw, err, sizeof(err)), 0);
	assert_int_equal(bw, SIMCP_DT_AES_RATE_MIN);
}

static void test_aes_rate_bad(void **state)
{
	static const struct {
		const char *name;
		uint32_t len;
		uint64_t value;
		const char *msg;
	} bad[] = {
		{ "simcp,aes-rate", 0, 0, "property \"simcp,aes-rate\": expected bytes per second "
		  "in one or two cells (4 or 8 bytes), found 0 bytes" },
		{ "simcp,aes-rate", 12, 0, "property \"simcp,aes-rate\": expected bytes per second "
		  "in one or two cells (4 or 8 bytes), found 12 bytes" },
		{ "simcp,aes-rate", 4, 0, "property \"simcp,aes-rate\": expected bytes per second, "
		  "1000000 to 1000000000000, found 0" },
		{ "simcp,aes-rate", 4, 999999, "property \"simcp,aes-rate\": expected bytes per "
		  "second, 1000000 to 1000000000000, found 999999" },
		{ "simcp,aes-rate", 8, 1000000000001ull, "property \"simcp,aes-rate\": expected bytes "
		  "per second, 1000000 to 1000000000000, found 1000000000001" },
		{ "simcp,aes_rate", 4, 1000000, "property \"simcp,aes_rate\": expected a property "
		  "simcp knows (simcp,aes-rate), found an unknown one" },
	};
	struct vc_sysconfig_coproc cp;
	char err[SYSDT_ERR_MAX];
	uint64_t bw = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		node(&cp);
		add(&cp, bad[i].name, bad[i].len, bad[i].value);
		assert_int_equal(make(&cp, &bw, err, sizeof(err)), -VC_EINVAL);
		assert_string_equal(err, bad[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes_rate),
		cmocka_unit_test(test_aes_rate_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
