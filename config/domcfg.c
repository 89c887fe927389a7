// SPDX-License-Identifier: MIT
/*
 * DOC: domain configuration files - meaning of the settings
 *
 * Reads the generic tree of xlcfg.c and checks every setting against the
 * table in domcfg.h.  Checks run in file order of the settings that count
 * (the last of each key), so the first message is about the first bad
 * value.  See domcfg.h for the policy on unknown and repeated keys.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vcoproc/errno.h>

#include "domcfg.h"

int domcfg_errorf(const struct domcfg *cfg, struct xlcfg_pos pos, char *err, size_t errlen,
		  const char *fmt, ...)
{
	char msg[DOMCFG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return xlcfg_errorf(cfg->fname, pos, err, errlen, "%s", msg);
}

static void warn(struct domcfg *cfg, struct xlcfg_pos pos, const char *fmt, ...) VC_PRINTF(3, 4);

static void warn(struct domcfg *cfg, struct xlcfg_pos pos, const char *fmt, ...)
{
	char msg[DOMCFG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cfg->nr_warnings < DOMCFG_MAX_WARNINGS)
		xlcfg_errorf(cfg->fname, pos, cfg->warnings[cfg->nr_warnings],
			     sizeof(cfg->warnings[0]), "warning: %s", msg);
	cfg->nr_warnings++;
}

/* "expected @what, found <value>" at @v. */
static int bad_value(const struct domcfg *cfg, const struct xlcfg_value *v, char *err,
		     size_t errlen, const char *what)
{
	char found[160];

	xlcfg_describe(v, found, sizeof(found));
	return domcfg_errorf(cfg, v->pos, err, errlen, "expected %s, found %s", what, found);
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* A domain name or coprocessor instance id: a letter, then [A-Za-z0-9_.-]. */
static bool valid_name(const char *s, size_t len)
{
	if (!len || len >= VC_NAME_MAX || !is_alpha(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alpha(s[i]) && !is_digit(s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

/* A parameter key: [a-z0-9_], as every algorithm spells them. */
static bool valid_key(const char *s, size_t len)
{
	if (!len || len >= VC_PARAM_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !is_digit(s[i]) && s[i] != '_')
			return false;
	return true;
}

struct xlcfg_pos domcfg_entry_pos(const struct domcfg *cfg, unsigned int i, size_t off)
{
	return cfg->vcoproc[i].pos.line ? (struct xlcfg_pos){ cfg->vcoproc[i].pos.line,
			cfg->vcoproc[i].pos.col + (unsigned int)off } : cfg->pos.vcoproc;
}

/* The place of byte @off of string @v: exact when written verbatim. */
static struct xlcfg_pos str_pos(const struct xlcfg_value *v, size_t off)
{
	struct xlcfg_pos p = v->pos;

	if (v->verbatim)
		p.col += 1 + (unsigned int)off;
	return p;
}

/* [@s, @e) without blanks at either end. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static int parse_entry(struct domcfg *cfg, const struct xlcfg_value *v, char *err,
		       size_t errlen)
{
	struct domcfg_vcoproc *vc = &cfg->vcoproc[cfg->nr_vcoprocs];
	const char *text, *end, *s, *e, *eq;
	char shown[VC_PARAM_VAL_MAX + 64];

	if (v->type == XLCFG_LIST)
		return bad_value(cfg, v, err, errlen,
				 "a vcoproc entry (a string \"INSTANCE[,key=value...]\")");
	text = v->str;
	end = v->str + v->len;
	memset(vc, 0, sizeof(*vc));

	/* The instance id, up to the first comma. */
	s = text;
	e = memchr(s, ',', (size_t)(end - s));
	if (!e)
		e = end;
	trim(&s, &e);
	if (!valid_name(s, (size_t)(e - s)))
		return domcfg_errorf(cfg, str_pos(v, (size_t)(s - text)), err, errlen,
				     "expected a coprocessor instance id (a letter, then letters, digits, '_', '-', '.'; at most %u), found \"%.*s\"",
				     VC_NAME_MAX - 1, (int)(e - s > 40 ? 40 : e - s), s);
	memcpy(vc->instance, s, (size_t)(e - s));
	vc->instance[e - s] = '\0';
	vc->pos = str_pos(v, (size_t)(s - text));
	for (unsigned int i = 0; i < cfg->nr_vcoprocs; i++)
		if (!strcmp(cfg->vcoproc[i].instance, vc->instance))
			return domcfg_errorf(cfg, vc->pos, err, errlen,
					     "expected each coprocessor at most once, found \"%s\" again (first at %u:%u)",
					     vc->instance, cfg->vcoproc[i].pos.line,
					     cfg->vcoproc[i].pos.col);

	/* Then key=value parameters. */
	s = memchr(text, ',', (size_t)(end - text));
	while (s) {
		const char *item = s + 1;
		size_t klen, vlen;

		e = memchr(item, ',', (size_t)(end - item));
		s = e;
		if (!e)
			e = end;
		trim(&item, &e);
		if (item == e)
			return domcfg_errorf(cfg, str_pos(v, (size_t)(item - text)), err, errlen,
					     "expected a parameter key=value, found nothing");
		eq = memchr(item, '=', (size_t)(e - item));
		snprintf(shown, sizeof(shown), "%.*s", (int)(e - item > 60 ? 60 : e - item), item);
		if (!eq)
			return domcfg_errorf(cfg, str_pos(v, (size_t)(item - text)), err, errlen,
					     "expected a parameter key=value, found \"%s\"", shown);
		{
			const char *ke = eq, *vs = eq + 1;

			trim(&item, &ke);
			trim(&vs, &e);
			klen = (size_t)(ke - item);
			vlen = (size_t)(e - vs);
			if (!valid_key(item, klen))
				return domcfg_errorf(cfg, str_pos(v, (size_t)(item - text)), err, errlen,
						     "expected a parameter name (a-z, 0-9, '_'; at most %u), found \"%.*s\"",
						     VC_PARAM_KEY_MAX - 1, (int)(klen > 40 ? 40 : klen), item);
			if (!vlen || vlen >= VC_PARAM_VAL_MAX)
				return domcfg_errorf(cfg, str_pos(v, (size_t)(vs - text)), err, errlen,
						     "expected a value for \"%.*s\" (1 to %u characters), found %s%.*s%s",
						     (int)klen, item, VC_PARAM_VAL_MAX - 1,
						     vlen ? "\"" : "nothing", (int)(vlen > 40 ? 40 : vlen), vs,
						     vlen ? (vlen > 40 ? "...\"" : "\"") : "");
			for (unsigned int i = 0; i < vc->nr_params; i++)
				if (strlen(vc->params[i].key) == klen &&
				    !memcmp(vc->params[i].key, item, klen))
					return domcfg_errorf(cfg, str_pos(v, (size_t)(item - text)), err, errlen,
							     "expected each parameter at most once, found \"%s\" again",
							     vc->params[i].key);
			if (vc->nr_params == VC_VCOPROC_MAX_PARAMS)
				return domcfg_errorf(cfg, str_pos(v, (size_t)(item - text)), err, errlen,
						     "expected at most %u parameters, found more",
						     VC_VCOPROC_MAX_PARAMS);
			memcpy(vc->params[vc->nr_params].key, item, klen);
			vc->params[vc->nr_params].key[klen] = '\0';
			memcpy(vc->params[vc->nr_params].val, vs, vlen);
			vc->params[vc->nr_params].val[vlen] = '\0';
			vc->param_pos[vc->nr_params] = str_pos(v, (size_t)(item - text));
			vc->val_pos[vc->nr_params] = str_pos(v, (size_t)(vs - text));
			vc->nr_params++;
		}
	}
	cfg->nr_vcoprocs++;
	return 0;
}

static int get_string(struct domcfg *cfg, const struct xlcfg_value *v, char *dst, size_t size,
		      bool nonempty, const char *what, char *err, size_t errlen)
{
	char msg[96];

	if (v->type == XLCFG_LIST || (nonempty && !v->len) || v->len >= size) {
		snprintf(msg, sizeof(msg), "%s (a%s string of at most %zu bytes)", what,
			 nonempty ? " non-empty" : "", size - 1);
		return bad_value(cfg, v, err, errlen, msg);
	}
	memcpy(dst, v->str, v->len + 1);
	return 0;
}

/*
 * Setting @s as a number from @min to @max, read as xl reads one
 * (xlcfg_long(): 010 is 8, a string "64" is 64).
 */
static int get_number(struct domcfg *cfg, const struct xlcfg_setting *s, long min, long max,
		      long *out, const char *what, char *err, size_t errlen)
{
	const struct xlcfg_value *v = s->value;
	char msg[160];
	long n = 0;
	int r;

	snprintf(msg, sizeof(msg), "%s (a number from %ld to %ld)", what, min, max);
	if (s->append && v->type != XLCFG_LIST)
		return domcfg_errorf(cfg, v->pos, err, errlen, "expected %s, found a value built "
				     "with '+=' (xl reads no number from one)", msg);
	r = xlcfg_long(s, &n);
	if (r == -VC_ERANGE)
		return domcfg_errorf(cfg, v->pos, err, errlen, "expected %s, found %s, out of "
				     "range", msg, v->str);
	if (r || n < min || n > max)
		return bad_value(cfg, v, err, errlen, msg);
	*out = n;
	return 0;
}

static const char *const known_keys[] = {
	"name", "memory", "kernel", "vcpus", "extra", "vcoproc", "type", "virtio",
	"dtdev", "iomem", "irqs",
};

static const char *const domain_types[] = { "kvm", "builtin", "vhost-user" };

/* Copy [@s, @e) to @dst (@size bytes with the NUL); false if it does not fit. */
static bool copy_word(char *dst, size_t size, const char *s, const char *e)
{
	if ((size_t)(e - s) >= size)
		return false;
	memcpy(dst, s, (size_t)(e - s));
	dst[e - s] = '\0';
	return true;
}

/* One virtio entry: comma-separated key=value (struct domcfg_virtio). */
static int parse_virtio(struct domcfg *cfg, const struct xlcfg_value *v, char *err,
			size_t errlen)
{
	struct domcfg_virtio *d = &cfg->virtio[cfg->nr_virtio];
	const char *text, *end, *item;

	if (v->type == XLCFG_LIST)
		return bad_value(cfg, v, err, errlen, "a virtio device (a string "
				 "\"type=crypto,transport=vhost-user,socket=PATH\")");
	memset(d, 0, sizeof(*d));
	d->pos = v->pos;
	snprintf(d->transport, sizeof(d->transport), "vhost-user");
	text = v->str;
	end = v->str + v->len;
	for (item = text; item <= end; ) {
		const char *e = memchr(item, ',', (size_t)(end - item)), *eq, *ks, *ke, *vs;
		struct xlcfg_pos at = str_pos(v, (size_t)(item - text));
		bool ok = true;

		if (!e)
			e = end;
		/* A socket path may hold commas only as its last item. */
		eq = memchr(item, '=', (size_t)(e - item));
		ks = item;
		ke = eq ? eq : e;
		trim(&ks, &ke);
		if (eq && (size_t)(ke - ks) == 6 && !memcmp(ks, "socket", 6))
			e = end;
		if (!eq)
			return domcfg_errorf(cfg, at, err, errlen, "expected key=value in a virtio "
					     "device, found \"%.*s\"", (int)VC_MIN(e - item, 40), item);
		vs = eq + 1;
		{
			const char *ve = e;

			trim(&vs, &ve);
			if (vs == ve)
				return domcfg_errorf(cfg, str_pos(v, (size_t)(vs - text)), err, errlen,
						     "expected a value for \"%.*s\", found nothing",
						     (int)VC_MIN(ke - ks, 40), ks);
			if ((size_t)(ke - ks) == 4 && !memcmp(ks, "type", 4)) {
				ok = copy_word(d->type, sizeof(d->type), vs, ve) &&
				     !strcmp(d->type, "crypto");
				if (!ok)
					return domcfg_errorf(cfg, str_pos(v, (size_t)(vs - text)), err,
							     errlen, "expected a virtio device type (crypto), "
							     "found \"%.*s\"", (int)VC_MIN(ve - vs, 40), vs);
			} else if ((size_t)(ke - ks) == 9 && !memcmp(ks, "transport", 9)) {
				ok = copy_word(d->transport, sizeof(d->transport), vs, ve) &&
				     !strcmp(d->transport, "vhost-user");
				if (!ok)
					return domcfg_errorf(cfg, str_pos(v, (size_t)(vs - text)), err,
							     errlen, "expected a virtio transport (vhost-user), "
							     "found \"%.*s\"", (int)VC_MIN(ve - vs, 40), vs);
			} else if ((size_t)(ke - ks) == 6 && !memcmp(ks, "socket", 6)) {
				if (!copy_word(d->socket, sizeof(d->socket), vs, ve))
					return domcfg_errorf(cfg, str_pos(v, (size_t)(vs - text)), err,
							     errlen, "expected a socket path of at most %u "
							     "bytes, found a longer one", DOMCFG_PATH_MAX - 1);
				d->socket_pos = str_pos(v, (size_t)(vs - text));
			} else if ((size_t)(ke - ks) == 7 && !memcmp(ks, "vcoproc", 7)) {
				if (!valid_name(vs, (size_t)(ve - vs)))
					return domcfg_errorf(cfg, str_pos(v, (size_t)(vs - text)), err,
							     errlen, "expected a coprocessor instance id, "
							     "found \"%.*s\"", (int)VC_MIN(ve - vs, 40), vs);
				copy_word(d->vcoproc, sizeof(d->vcoproc), vs, ve);
				d->vcoproc_pos = str_pos(v, (size_t)(vs - text));
			} else {
				return domcfg_errorf(cfg, str_pos(v, (size_t)(ks - text)), err, errlen,
						     "expected a virtio key (type, transport, socket, "
						     "vcoproc), found \"%.*s\"", (int)VC_MIN(ke - ks, 40), ks);
			}
		}
		item = e + 1;
	}
	if (!d->type[0])
		return domcfg_errorf(cfg, d->pos, err, errlen,
				     "expected type=crypto in the virtio device, found none");
	if (!d->socket[0])
		return domcfg_errorf(cfg, d->pos, err, errlen,
				     "expected socket=PATH in the vhost-user device, found none");
	cfg->nr_virtio++;
	return 0;
}

/* A hex number of xl's iomem, [@s, @e): digits only, as xl's strtoul(16) takes them. */
static bool parse_hex(const char *s, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (s == e || e - s > 16)
		return false;
	for (; s < e; s++) {
		int d = is_digit(*s) ? *s - '0' : (*s | 0x20) >= 'a' && (*s | 0x20) <= 'f' ?
			(*s | 0x20) - 'a' + 10 : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	*out = v;
	return true;
}

/* The passthrough lists: dtdev (node paths), iomem ("PFN,NR[@GFN]"), irqs (numbers). */
static int apply_passthrough(struct domcfg *cfg, const struct xlcfg_setting *s, char *err,
			     size_t errlen)
{
	const struct xlcfg_value *v = s->value;
	bool dtdev = !strcmp(s->key, "dtdev"), iomem = !strcmp(s->key, "iomem");
	unsigned int max = dtdev ? DOMCFG_MAX_DTDEV : iomem ? DOMCFG_MAX_IOMEM : DOMCFG_MAX_IRQS;

	if (v->type != XLCFG_LIST)
		return bad_value(cfg, v, err, errlen, dtdev ? "a list of device-tree paths ([ \"/soc/gpu@fe001000\" ])" :
				 iomem ? "a list of page ranges ([ \"fe001,1\" ])" :
				 "a list of interrupt numbers ([ 17 ])");
	if (v->nr_items > max)
		return domcfg_errorf(cfg, v->items[max]->pos, err, errlen,
				     "expected at most %u entries, found %u", max, v->nr_items);
	for (unsigned int i = 0; i < v->nr_items; i++) {
		const struct xlcfg_value *it = v->items[i];

		if (it->type == XLCFG_LIST)
			return bad_value(cfg, it, err, errlen, dtdev ? "a device-tree path" :
					 iomem ? "\"PFN,NR\"" : "an interrupt number");
		if (dtdev) {
			if (it->str[0] != '/' || it->len >= DOMCFG_DTPATH_MAX)
				return bad_value(cfg, it, err, errlen, "an absolute device-tree path "
						 "(\"/soc/gpu@fe001000\", at most 255 bytes)");
			memcpy(cfg->dtdev[i], it->str, it->len + 1);
			cfg->dtdev_pos[i] = it->pos;
		} else if (iomem) {
			const char *comma = strchr(it->str, ','), *at = strchr(it->str, '@');
			const char *end = it->str + it->len;
			struct domcfg_iomem *m = &cfg->iomem[i];
			uint64_t gfn;

			if (!comma || !parse_hex(it->str, comma, &m->pfn) ||
			    !parse_hex(comma + 1, at ? at : end, &m->nr) || !m->nr ||
			    (at && !parse_hex(at + 1, end, &gfn)) || m->pfn + m->nr < m->pfn)
				return bad_value(cfg, it, err, errlen, "\"PFN,NR[@GFN]\" (hex page "
						 "number and page count, as xl's iomem)");
			if (at && gfn != m->pfn)
				return domcfg_errorf(cfg, it->pos, err, errlen, "expected the window "
						     "at its own address (@%llx or no @GFN), found @%llx: "
						     "the device's registers are not remapped",
						     (unsigned long long)m->pfn, (unsigned long long)gfn);
			m->pos = it->pos;
		} else {
			char *e;
			unsigned long n;

			errno = 0;
			n = strtoul(it->str, &e, 10);
			if (!is_digit(it->str[0]) || *e || errno || n > UINT32_MAX)
				return bad_value(cfg, it, err, errlen, "an interrupt number (decimal, "
						 "as xl's irqs)");
			cfg->irqs[i] = (uint32_t)n;
			cfg->irq_pos[i] = it->pos;
		}
	}
	if (dtdev) {
		cfg->nr_dtdev = v->nr_items;
		cfg->pos.dtdev = v->pos;
	} else if (iomem) {
		cfg->nr_iomem = v->nr_items;
		cfg->pos.iomem = v->pos;
	} else {
		cfg->nr_irqs = v->nr_items;
		cfg->pos.irqs = v->pos;
	}
	return 0;
}

static int apply(struct domcfg *cfg, const struct xlcfg_setting *s, char *err, size_t errlen)
{
	const struct xlcfg_value *v = s->value;
	long n = 0;
	int r;

	if (!strcmp(s->key, "name")) {
		if (v->type == XLCFG_LIST || !valid_name(v->str, v->len))
			return bad_value(cfg, v, err, errlen,
					 "a domain name (a letter, then letters, digits, '_', '-', '.'; at most 31)");
		memcpy(cfg->name, v->str, v->len + 1);
		cfg->pos.name = v->pos;
	} else if (!strcmp(s->key, "memory")) {
		r = get_number(cfg, s, 1, DOMCFG_MAX_MEMORY_MIB, &n, "memory in MiB", err, errlen);
		if (r)
			return r;
		cfg->memory_mib = (uint64_t)n;
		cfg->pos.memory = v->pos;
	} else if (!strcmp(s->key, "kernel")) {
		r = get_string(cfg, v, cfg->kernel, sizeof(cfg->kernel), true, "a kernel path",
			       err, errlen);
		if (r)
			return r;
		cfg->pos.kernel = v->pos;
	} else if (!strcmp(s->key, "vcpus")) {
		r = get_number(cfg, s, 1, DOMCFG_MAX_VCPUS, &n, "a vCPU count", err, errlen);
		if (r)
			return r;
		cfg->vcpus = (unsigned int)n;
		cfg->pos.vcpus = v->pos;
	} else if (!strcmp(s->key, "extra")) {
		r = get_string(cfg, v, cfg->extra, sizeof(cfg->extra), false, "guest arguments",
			       err, errlen);
		if (r)
			return r;
		cfg->pos.extra = v->pos;
	} else if (!strcmp(s->key, "vcoproc")) {
		if (v->type != XLCFG_LIST)
			return bad_value(cfg, v, err, errlen,
					 "a list of vcoproc entries ([ \"gpu0\", \"gpu1,weight=512\" ])");
		cfg->nr_vcoprocs = 0;
		for (unsigned int i = 0; i < v->nr_items; i++) {
			if (i == DOMCFG_MAX_VCOPROCS)
				return domcfg_errorf(cfg, v->items[i]->pos, err, errlen,
						     "expected at most %u vcoproc entries, found %u",
						     DOMCFG_MAX_VCOPROCS, v->nr_items);
			r = parse_entry(cfg, v->items[i], err, errlen);
			if (r)
				return r;
		}
		cfg->pos.vcoproc = v->pos;
	} else if (!strcmp(s->key, "type")) {
		bool ok = false;

		for (size_t i = 0; v->type != XLCFG_LIST && i < VC_ARRAY_SIZE(domain_types); i++)
			ok |= !strcmp(v->str, domain_types[i]);
		if (!ok)
			return bad_value(cfg, v, err, errlen,
					 "a domain type (\"kvm\", \"builtin\", \"vhost-user\")");
		snprintf(cfg->type, sizeof(cfg->type), "%s", v->str);
		cfg->pos.type = v->pos;
	} else if (!strcmp(s->key, "virtio")) {
		if (v->type != XLCFG_LIST)
			return bad_value(cfg, v, err, errlen, "a list of virtio devices "
					 "([ \"type=crypto,transport=vhost-user,socket=PATH\" ])");
		cfg->nr_virtio = 0;
		for (unsigned int i = 0; i < v->nr_items; i++) {
			if (i == DOMCFG_MAX_VIRTIO)
				return domcfg_errorf(cfg, v->items[i]->pos, err, errlen,
						     "expected at most %u virtio devices, found %u",
						     DOMCFG_MAX_VIRTIO, v->nr_items);
			r = parse_virtio(cfg, v->items[i], err, errlen);
			if (r)
				return r;
		}
		cfg->pos.virtio = v->pos;
	} else if (!strcmp(s->key, "dtdev") || !strcmp(s->key, "iomem") ||
		   !strcmp(s->key, "irqs")) {
		return apply_passthrough(cfg, s, err, errlen);
	}
	return 0;
}

/* What the settings mean together: the kind's requirements. */
static int check_kind(struct domcfg *cfg, char *err, size_t errlen)
{
	bool vhost = !strcmp(cfg->type, "vhost-user");

	if (!vhost && !cfg->kernel[0])
		return domcfg_errorf(cfg, cfg->pos.end, err, errlen,
				     "expected a \"kernel\" setting, found end of file");
	if (vhost && cfg->kernel[0])
		return domcfg_errorf(cfg, cfg->pos.kernel, err, errlen, "expected no kernel in a "
				     "vhost-user domain (its guest runs in another VMM), found one");
	if (vhost && !cfg->nr_virtio)
		return domcfg_errorf(cfg, cfg->pos.end, err, errlen, "expected a \"virtio\" "
				     "setting in a vhost-user domain, found end of file");
	if (!vhost && cfg->nr_virtio)
		return domcfg_errorf(cfg, cfg->pos.virtio, err, errlen, "expected type = "
				     "\"vhost-user\" for a domain with virtio devices, found %s",
				     cfg->type[0] ? cfg->type : "no type");
	if (!strcmp(cfg->type, "builtin") && strncmp(cfg->kernel, "builtin:", 8))
		return domcfg_errorf(cfg, cfg->pos.kernel, err, errlen, "expected a builtin "
				     "workload (\"builtin:NAME\") as the kernel of a builtin domain, "
				     "found \"%s\"", cfg->kernel);
	if (!strcmp(cfg->type, "kvm") && !strncmp(cfg->kernel, "builtin:", 8))
		return domcfg_errorf(cfg, cfg->pos.kernel, err, errlen, "expected a guest image "
				     "as the kernel of a kvm domain, found \"%s\"", cfg->kernel);
	if (!cfg->nr_dtdev && (cfg->nr_iomem || cfg->nr_irqs))
		return domcfg_errorf(cfg, cfg->nr_iomem ? cfg->pos.iomem : cfg->pos.irqs, err,
				     errlen, "expected a \"dtdev\" setting with %s (it assigns the "
				     "device they belong to), found none",
				     cfg->nr_iomem ? "iomem" : "irqs");
	if (cfg->nr_vcoprocs + cfg->nr_dtdev > DOMCFG_MAX_VCOPROCS)
		return domcfg_errorf(cfg, cfg->pos.dtdev, err, errlen, "expected at most %u "
				     "vcoprocs and assigned devices together, found %u",
				     DOMCFG_MAX_VCOPROCS, cfg->nr_vcoprocs + cfg->nr_dtdev);
	if (cfg->nr_dtdev && vhost)
		return domcfg_errorf(cfg, cfg->pos.dtdev, err, errlen, "expected no dtdev in a "
				     "vhost-user domain (its guest runs in another VMM), found one");
	for (unsigned int i = 0; i < cfg->nr_virtio; i++) {
		const struct domcfg_virtio *d = &cfg->virtio[i];
		bool found = !d->vcoproc[0] && cfg->nr_vcoprocs;

		for (unsigned int k = 0; d->vcoproc[0] && k < cfg->nr_vcoprocs; k++)
			found |= !strcmp(cfg->vcoproc[k].instance, d->vcoproc);
		if (!found)
			return domcfg_errorf(cfg, d->vcoproc[0] ? d->vcoproc_pos : d->pos, err, errlen,
					     "expected a vcoproc of this domain for the virtio device "
					     "(see \"vcoproc\"), found %s%s%s",
					     d->vcoproc[0] ? "\"" : "none",
					     d->vcoproc, d->vcoproc[0] ? "\"" : "");
	}
	return 0;
}

static bool is_known(const char *key)
{
	for (size_t i = 0; i < VC_ARRAY_SIZE(known_keys); i++)
		if (!strcmp(known_keys[i], key))
			return true;
	return false;
}

int domcfg_parse(const char *text, size_t len, const char *fname, struct domcfg *cfg,
		 char *err, size_t errlen)
{
	struct xlcfg *xc;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->fname, sizeof(cfg->fname), "%s", fname ? fname : "<input>");
	r = xlcfg_parse(text, len, cfg->fname, &xc, err, errlen);
	if (r)
		return r;
	cfg->memory_mib = DOMCFG_DEF_MEMORY_MIB;
	cfg->vcpus = 1;
	cfg->pos.end = xc->end;
	cfg->pos.name = cfg->pos.memory = cfg->pos.kernel = cfg->pos.vcpus = xc->end;
	cfg->pos.extra = cfg->pos.vcoproc = cfg->pos.type = cfg->pos.virtio = xc->end;
	cfg->pos.dtdev = cfg->pos.iomem = cfg->pos.irqs = xc->end;

	for (unsigned int i = 0; i < xc->nr_settings; i++) {
		const struct xlcfg_setting *s = &xc->settings[i];
		const struct xlcfg_setting *last = xlcfg_find(xc, s->key);

		if (!is_known(s->key)) {
			if (last == s)
				warn(cfg, s->pos, "unknown setting \"%s\" ignored", s->key);
			continue;
		}
		if (last != s) {
			/* "+=" builds on the earlier one: no surprise there. */
			if (!last->append)
				warn(cfg, s->pos, "\"%s\" is set again at %u:%u; the later value counts",
				     s->key, last->pos.line, last->pos.col);
			continue;
		}
		r = apply(cfg, s, err, errlen);
		if (r)
			goto out_free;
	}
	if (!cfg->name[0])
		r = domcfg_errorf(cfg, xc->end, err, errlen, "expected a \"name\" setting, found end of file");
	else
		r = check_kind(cfg, err, errlen);
out_free:
	xlcfg_free(xc);
	return r;
}

int domcfg_load(const char *path, struct domcfg *cfg, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out_err;
	}
	if (fstat(fd, &st)) {
		r = -errno;
		goto out_err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out_close;
	}
	if (st.st_size > XLCFG_MAX_TEXT) {
		r = -VC_E2BIG;
		snprintf(err, errlen, "%s:1:1: expected at most %u bytes, found %lld", path,
			 XLCFG_MAX_TEXT, (long long)st.st_size);
		goto out_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out_err_close;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto out_err_free;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	r = domcfg_parse(buf, got, path, cfg, err, errlen);
	free(buf);
	return r;

out_err_free:
	free(buf);
out_err_close:
	close(fd);
out_err:
	snprintf(err, errlen, "%s: %s", path, strerror(-r));
	return r;
out_close:
	close(fd);
	return r;
}

int domcfg_resolve_path(const struct domcfg *cfg, const char *path, char *out, size_t len)
{
	const char *slash = strrchr(cfg->fname, '/');
	int n;

	if (path[0] == '/' || !slash)
		n = snprintf(out, len, "%s", path);
	else
		n = snprintf(out, len, "%.*s/%s", (int)(slash - cfg->fname), cfg->fname, path);
	return n < 0 || (size_t)n >= len ? -VC_E2BIG : 0;
}
