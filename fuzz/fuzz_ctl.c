// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the control protocol as a daemon runs it - the input
 * is a byte stream from a peer, fed through a struct ctl_session in
 * chunks to the generic backend (ctl_fw_ops) over a real framework: two
 * simcp coprocessors on virtual time, and a host whose create builds
 * domains from the domain file in the request (domcfg_parse(),
 * domcfg_build()), destroy tears them down and console-read serves a fixed
 * console with bytes that are not UTF-8.  Every input gets a fresh
 * framework, so a run depends on its input alone.
 *
 * The first input byte picks the chunk size (1 to 256 bytes), so that the
 * framing sees requests cut anywhere.  Replies must be lines of JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <vcoproc/errno.h>
#include <vcoproc/sched.h>
#include <vcoproc/vtime.h>

#include "ctl_fw.h"
#include "domcfg.h"
#include "simcp.h"

#define MAX_DOMS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
	struct vc_fw *fw;
	struct simcp *dev[2];
	struct vc_coproc *c[2];
	struct vc_domain *dom[MAX_DOMS];
	struct domcfg cfg;
} F;

static void no_irq(void *host_dom, uint32_t irq)
{
}

static const struct vc_host_ops hops = { .irq_raise = no_irq };

static int h_create(void *opaque, const char *path, const char *text, size_t len,
		    struct ctl_created *out, struct ctl_error *err)
{
	char msg[DOMCFG_MSG_MAX];
	int slot = -1, r;

	for (int i = 0; i < MAX_DOMS && slot < 0; i++)
		if (!F.dom[i])
			slot = i;
	if (slot < 0)
		return ctl_error_set(err, CTL_ERR_GENERIC, "full");
	r = domcfg_parse(text, len, path, &F.cfg, msg, sizeof(msg));
	if (!r)
		r = domcfg_build(F.fw, &F.cfg, (uint32_t)slot + 1, NULL, NULL, &F.dom[slot], NULL,
				 msg, sizeof(msg));
	if (r)
		return ctl_error_set(err, CTL_ERR_GENERIC, "%s", msg);
	out->domid = (uint32_t)slot + 1;
	memcpy(out->name, F.cfg.name, sizeof(out->name));
	return 0;
}

static int h_destroy(void *opaque, const char *dom, struct ctl_error *err)
{
	struct vc_domain *d = vc_domain_lookup(F.fw, dom);

	if (!d)
		return ctl_error_set(err, CTL_ERR_DEVICE_NOT_FOUND, "no domain");
	F.dom[vc_domain_id(d) - 1] = NULL;
	vc_domain_destroy(d);
	return 0;
}

static int h_console(void *opaque, const char *dom, uint64_t offset, size_t max,
		     struct ctl_console_chunk *out, struct ctl_error *err)
{
	static const char text[] = "boot \xff\xc3\xa9 ok \xe2\x82\xac \xf0\x9f\x98";
	size_t n = sizeof(text) - 1;

	if (offset > n)
		offset = n;
	out->len = n - (size_t)offset < max ? n - (size_t)offset : max;
	memcpy(out->data, text + offset, out->len);
	out->start = 0;
	out->next = offset + out->len;
	return 0;
}

static unsigned int h_domains(void *opaque, struct ctl_domain_info *out, unsigned int max)
{
	return 0;
}

static const struct ctl_host_ops host = {
	.create = h_create, .destroy = h_destroy, .console_read = h_console,
	.domain_list = h_domains,
};

static void setup(void)
{
	static const char *const names[] = { "gpu0", "gpu1" };
	static const char *const algos[] = { "credit", "rtds" };
	struct simcp_config sc = { .mode = SIMCP_MODE_VTIME };
	struct vc_coproc_desc d;

	vc_vtime_reset();
	if (vc_fw_create(&hops, &F.fw))
		abort();
	for (int i = 0; i < 2; i++) {
		if (simcp_create(&sc, &F.dev[i]))
			abort();
		simcp_coproc_desc(F.dev[i], names[i], 0xfe000000ull + 0x1000ull * (unsigned)i,
				  16 + (unsigned)i, &d);
		d.sched = vc_sched_lookup(algos[i]) ? algos[i] : NULL;
		if (vc_coproc_register(F.fw, &d, &F.c[i]))
			abort();
		simcp_attach(F.dev[i], F.c[i]);
	}
}

static void teardown(void)
{
	for (int i = 0; i < MAX_DOMS; i++) {
		vc_domain_destroy(F.dom[i]);
		F.dom[i] = NULL;
	}
	for (int i = 0; i < 2; i++) {
		if (vc_coproc_unregister(F.c[i]))
			abort();
		simcp_attach(F.dev[i], NULL);
		simcp_destroy(F.dev[i]);
	}
	vc_fw_destroy(F.fw);
}

/* Every reply is one line of JSON with "return" or "error". */
static void check_replies(const char *out, size_t len)
{
	const char *p = out, *end = out + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct json_tokener *tok;
		struct json_object *o;

		if (!nl)
			abort();
		tok = json_tokener_new();
		o = json_tokener_parse_ex(tok, p, (int)(nl - p));
		if (!o || (!json_object_object_get_ex(o, "return", NULL) &&
			   !json_object_object_get_ex(o, "error", NULL)))
			abort();
		json_object_put(o);
		json_tokener_free(tok);
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_session s;
	struct ctl_fw be;
	size_t chunk;

	if (!size)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	setup();
	ctl_fw_init(&be, F.fw, &host, NULL);
	ctl_session_init(&s, &ctl_fw_ops, &be);
	while (size && !s.closing) {
		size_t n = size < chunk ? size : chunk;

		if (ctl_session_input(&s, (const char *)data, n))
			abort();
		data += n;
		size -= n;
		/* Run the devices a little between chunks. */
		vc_vtime_run_until(vc_os_now() + VC_MSEC(1));
	}
	if (ctl_session_eof(&s))
		abort();
	if (ctl_session_pending(&s))
		check_replies(s.out + s.out_off, ctl_session_pending(&s));
	ctl_session_fini(&s);
	teardown();
	return 0;
}
