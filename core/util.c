// SPDX-License-Identifier: MIT
/*
 * DOC: core utilities
 *
 * String helpers, number and duration parsing, a small vsnprintf, logging,
 * the string buffer, UTF-8 checking and the JSON string escaper - what the
 * core would otherwise take from libc (see util.h), and what the layers
 * above share instead of keeping copies.
 */
#include <vcoproc/errno.h>
#include <vcoproc/util.h>

size_t vc_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int vc_strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int vc_strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			break;
	}
	return 0;
}

size_t vc_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = vc_strlen(src);

	if (size) {
		size_t n = len < size - 1 ? len : size - 1;

		for (size_t i = 0; i < n; i++)
			dst[i] = src[i];
		dst[n] = '\0';
	}
	return len;
}

/* Parse digits of @base at *@sp; stops at the first non-digit. */
static int parse_digits(const char **sp, unsigned int base, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	bool any = false;

	for (;; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -VC_ERANGE;
		v = v * base + d;
		any = true;
	}
	if (!any)
		return -VC_EINVAL;
	*sp = s;
	*out = v;
	return 0;
}

int vc_parse_u64(const char *s, uint64_t *out)
{
	unsigned int base = 10;
	int err;

	if (!s)
		return -VC_EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	err = parse_digits(&s, base, out);
	if (err)
		return err;
	return *s ? -VC_EINVAL : 0;
}

/*
 * The fraction @frac / @div (@frac < @div, @div a power of ten up to 10^9)
 * of @unit ns, rounded down, without overflow.
 */
static uint64_t scale_fraction(uint64_t frac, uint64_t div, vc_time_t unit)
{
	return frac * (unit / div) + frac * (unit % div) / div;
}

int vc_parse_duration(const char *s, vc_time_t default_unit, vc_time_t *out)
{
	static const struct {
		const char *suffix;
		vc_time_t mult;
	} units[] = {
		{ "ns", 1 }, { "us", VC_USEC(1) }, { "ms", VC_MSEC(1) }, { "s", VC_SEC(1) },
	};
	uint64_t ip = 0, frac = 0, div = 1, fv;
	vc_time_t mult = default_unit;
	bool any = false;
	int err;

	if (!s)
		return -VC_EINVAL;
	if (*s >= '0' && *s <= '9') {
		err = parse_digits(&s, 10, &ip);
		if (err)
			return err;
		any = true;
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++) {
			any = true;
			if (div < VC_SEC(1)) { /* digits past the ns are dropped */
				frac = frac * 10 + (uint64_t)(*s - '0');
				div *= 10;
			}
		}
	}
	if (!any)
		return -VC_EINVAL;
	if (*s) {
		size_t i;

		for (i = 0; i < VC_ARRAY_SIZE(units); i++)
			if (!vc_strcmp(s, units[i].suffix))
				break;
		if (i == VC_ARRAY_SIZE(units))
			return -VC_EINVAL;
		mult = units[i].mult;
	}
	if (mult && ip > UINT64_MAX / mult)
		return -VC_ERANGE;
	fv = scale_fraction(frac, div, mult);
	if (ip * mult > UINT64_MAX - fv)
		return -VC_ERANGE;
	*out = ip * mult + fv;
	return 0;
}

/* ---- formatting --------------------------------------------------------- */

struct fmt_out {
	void (*put)(void *opaque, char c);
	void *opaque;
	size_t len;
};

static void out_c(struct fmt_out *o, char c)
{
	o->put(o->opaque, c);
	o->len++;
}

static void out_pad(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		out_c(o, c);
}

static void out_str(struct fmt_out *o, const char *s, int width, int prec, bool left)
{
	int len = 0;

	while (s[len] && (prec < 0 || len < prec))
		len++;
	if (!left)
		out_pad(o, ' ', width - len);
	for (int i = 0; i < len; i++)
		out_c(o, s[i]);
	if (left)
		out_pad(o, ' ', width - len);
}

static void out_num(struct fmt_out *o, uint64_t v, bool neg, unsigned int base,
		    bool upper, const char *prefix, int width, bool zero, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + (neg ? 1 : 0) + (prefix ? 2 : 0);
	if (!left && !zero)
		out_pad(o, ' ', width - len);
	if (neg)
		out_c(o, '-');
	if (prefix) {
		out_c(o, prefix[0]);
		out_c(o, prefix[1]);
	}
	if (!left && zero)
		out_pad(o, '0', width - len);
	while (n)
		out_c(o, tmp[--n]);
	if (left)
		out_pad(o, ' ', width - len);
}

int vc_vformat(void (*put)(void *opaque, char c), void *opaque, const char *fmt,
	       va_list ap)
{
	struct fmt_out o = { put, opaque, 0 };

	for (; *fmt; fmt++) {
		bool left = false, zero = false, alt = false, is_signed = false;
		int width = 0, prec = -1, lng = 0;
		unsigned int base = 10;
		const char *prefix = NULL;
		uint64_t uv = 0;
		int64_t sv = 0;

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else if (*fmt == '#')
				alt = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				left = true;
				width = -width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z')
				lng = 3;
			else if (*fmt != 'h') /* h, hh: promoted to int anyway */
				break;
		}
		switch (*fmt) {
		case '%':
			out_c(&o, '%');
			continue;
		case 'c':
			out_pad(&o, ' ', left ? 0 : width - 1);
			out_c(&o, (char)va_arg(ap, int));
			out_pad(&o, ' ', left ? width - 1 : 0);
			continue;
		case 's': {
			const char *s = va_arg(ap, const char *);

			out_str(&o, s ? s : "(null)", width, prec, left);
			continue;
		}
		case 'p':
			out_num(&o, (uint64_t)(uintptr_t)va_arg(ap, void *), false, 16,
				false, "0x", width, zero, left);
			continue;
		case 'd':
		case 'i':
			is_signed = true;
			break;
		case 'u':
			break;
		case 'x':
		case 'X':
			base = 16;
			break;
		case '\0':
			fmt--;
			continue;
		default:
			out_c(&o, '%');
			out_c(&o, *fmt);
			continue;
		}
		if (is_signed) {
			if (lng == 0)
				sv = va_arg(ap, int);
			else if (lng == 1)
				sv = va_arg(ap, long);
			else if (lng == 2)
				sv = va_arg(ap, long long);
			else
				sv = (int64_t)va_arg(ap, size_t);
			uv = sv < 0 ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
		} else {
			if (lng == 0)
				uv = va_arg(ap, unsigned int);
			else if (lng == 1)
				uv = va_arg(ap, unsigned long);
			else if (lng == 2)
				uv = va_arg(ap, unsigned long long);
			else
				uv = va_arg(ap, size_t);
		}
		if (alt && base == 16 && uv)
			prefix = *fmt == 'X' ? "0X" : "0x";
		out_num(&o, uv, is_signed && sv < 0, base, *fmt == 'X', prefix, width, zero,
			left);
	}
	return (int)o.len;
}

struct buf_sink {
	char *buf;
	size_t size;
	size_t len;
};

static void buf_put(void *opaque, char c)
{
	struct buf_sink *b = opaque;

	if (b->len + 1 < b->size)
		b->buf[b->len] = c;
	b->len++;
}

int vc_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buf_sink b = { buf, size, 0 };
	int n = vc_vformat(buf_put, &b, fmt, ap);

	if (size)
		buf[b.len < size ? b.len : size - 1] = '\0';
	return n;
}

int vc_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vc_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void vc_log(enum vc_log_level level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vc_vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	vc_os_log(level, line);
}

int vc_pr(struct vc_printer *p, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	if (p->err || !p->write)
		return p->err;
	va_start(ap, fmt);
	n = vc_vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return p->err = -VC_EINVAL;
	if ((size_t)n >= sizeof(small)) {
		char *big = vc_os_zalloc((size_t)n + 1);

		if (!big)
			return p->err = -VC_ENOMEM;
		va_start(ap, fmt);
		vc_vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		p->err = p->write(p->opaque, big, (size_t)n);
		vc_os_free(big);
		return p->err;
	}
	p->err = p->write(p->opaque, small, (size_t)n);
	return p->err;
}

static int strbuf_write(void *opaque, const char *s, size_t n)
{
	struct vc_strbuf *b = opaque;

	if (b->max && b->len + n > b->max)
		return -VC_E2BIG;
	if (b->len + n + 1 > b->cap) {
		size_t cap = VC_MAX(b->cap * 2, b->len + n + 1);
		char *nb;

		if (cap < 256)
			cap = 256;
		nb = vc_os_zalloc(cap);
		if (!nb)
			return -VC_ENOMEM;
		if (b->len)
			__builtin_memcpy(nb, b->buf, b->len);
		vc_os_free(b->buf);
		b->buf = nb;
		b->cap = cap;
	}
	__builtin_memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return 0;
}

struct vc_printer vc_strbuf_printer(struct vc_strbuf *b)
{
	return (struct vc_printer){ .write = strbuf_write, .opaque = b };
}

void vc_strbuf_free(struct vc_strbuf *b)
{
	vc_os_free(b->buf);
	b->buf = NULL;
	b->len = b->cap = 0;
}

size_t vc_utf8_seq(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t need;
	uint32_t cp;

	if (!n)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		cp = c & 0x07;
	} else {
		return 0; /* a continuation byte, 0xc0, 0xc1 or 0xf5.. */
	}
	if (need >= n)
		return 0;
	for (size_t k = 1; k <= need; k++) {
		unsigned char cc = (unsigned char)s[k];

		if ((cc & 0xc0) != 0x80)
			return 0; /* also stops at a NUL */
		cp = cp << 6 | (cc & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need + 1;
}

int vc_pr_json_str(struct vc_printer *p, const char *s)
{
	const char *run = s;

	while (*s && !p->err) {
		unsigned char ch = (unsigned char)*s;
		size_t len = vc_utf8_seq(s, 4);

		if (len && ch != '"' && ch != '\\' && ch >= 0x20) {
			s += len; /* kept as it is, multi-byte characters too */
			continue;
		}
		if (s > run)
			p->err = p->write(p->opaque, run, (size_t)(s - run));
		if (!len)
			vc_pr(p, "\\ufffd"); /* a byte that is not UTF-8 */
		else if (ch == '"' || ch == '\\')
			vc_pr(p, "\\%c", ch);
		else
			vc_pr(p, "\\u%04x", ch);
		run = ++s;
	}
	if (s > run && !p->err)
		p->err = p->write(p->opaque, run, (size_t)(s - run));
	return p->err;
}

const char *vc_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "success";
	case VC_EPERM: return "operation not permitted";
	case VC_ENOENT: return "no such entry";
	case VC_EIO: return "I/O error";
	case VC_E2BIG: return "argument too large";
	case VC_EAGAIN: return "try again";
	case VC_ENOMEM: return "out of memory";
	case VC_EFAULT: return "bad address";
	case VC_EBUSY: return "busy";
	case VC_EEXIST: return "already exists";
	case VC_ENODEV: return "no such device";
	case VC_EINVAL: return "invalid argument";
	case VC_ENOSPC: return "no space (admission refused)";
	case VC_ERANGE: return "out of range";
	case VC_ENOSYS: return "not implemented";
	case VC_ETIMEDOUT: return "timed out";
	case VC_EINPROGRESS: return "in progress";
	default: return "unknown error";
	}
}
