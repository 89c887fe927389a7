// SPDX-License-Identifier: MIT
/*
 * A do-nothing environment for the freestanding link check: the functions
 * of include/vcoproc/os.h and the four memory functions GCC requires of any
 * freestanding environment.  The image is linked, never run; the entry
 * point references the framework's entry points so they are pulled in.
 */
#include <vcoproc/os.h>
#include <vcoproc/platform.h>
#include <vcoproc/sched.h>
#include <vcoproc/vcoproc.h>

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void vc_freestanding_entry(void);

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;

	if (dp < sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *dp = d;

	while (n--)
		*dp++ = (unsigned char)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *ap = a, *bp = b;

	for (; n; n--, ap++, bp++)
		if (*ap != *bp)
			return *ap - *bp;
	return 0;
}

static unsigned char heap[1 << 16];
static size_t heap_used;

void *vc_os_zalloc(size_t size)
{
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size > sizeof(heap) - heap_used)
		return NULL;
	p = heap + heap_used;
	heap_used += size;
	return p;
}

void vc_os_free(void *p) { (void)p; }

struct vc_os_lock { unsigned int depth; };
static struct vc_os_lock the_lock; /* one lock stands for all: a depth */
struct vc_os_lock *vc_os_lock_create(void) { return &the_lock; }
void vc_os_lock_destroy(struct vc_os_lock *l) { (void)l; }
void vc_os_lock(struct vc_os_lock *l) { l->depth++; }
void vc_os_unlock(struct vc_os_lock *l) { l->depth--; }
bool vc_os_lock_held(const struct vc_os_lock *l) { return l->depth != 0; }

void vc_os_assert_fail(const char *expr, const char *file, unsigned int line)
{
	(void)expr;
	(void)file;
	(void)line;
	for (;;)
		;
}

static vc_time_t clock_ns;
vc_time_t vc_os_now(void) { return clock_ns++; }

struct vc_os_timer { vc_os_timer_fn fn; void *arg; };
static struct vc_os_timer the_timer;
struct vc_os_timer *vc_os_timer_create(vc_os_timer_fn fn, void *arg)
{
	the_timer.fn = fn;
	the_timer.arg = arg;
	return &the_timer;
}
void vc_os_timer_arm(struct vc_os_timer *t, vc_time_t deadline) { (void)t; (void)deadline; }
void vc_os_timer_disarm(struct vc_os_timer *t) { (void)t; }
void vc_os_timer_destroy(struct vc_os_timer *t) { (void)t; }

void vc_os_log(enum vc_log_level level, const char *line) { (void)level; (void)line; }

static void irq_raise(void *host_dom, uint32_t irq) { (void)host_dom; (void)irq; }
static const struct vc_host_ops hops = { .irq_raise = irq_raise };

void vc_freestanding_entry(void)
{
	struct vc_fw *fw;
	struct vc_coproc *c;
	struct vc_domain *d;
	struct vc_vcoproc *v;
	struct vc_coproc_desc desc = { .name = "c0", .compatible = "x" };
	const char *const *algo;

	if (vc_fw_create(&hops, &fw))
		return;
	for (algo = vc_sched_algos(); *algo; algo++)
		(void)vc_sched_lookup(*algo);
	if (!vc_coproc_register(fw, &desc, &c) &&
	    !vc_domain_create(fw, 1, "d", NULL, NULL, &d) &&
	    !vc_vcoproc_create(d, c, NULL, 0, &v, NULL)) {
		uint64_t val = 0;
		struct vc_printer p = { 0 };

		(void)vc_domain_mmio(d, 0, 4, false, &val);
		vc_coproc_event(c, 0, VC_EV_IRQ);
		(void)vc_coproc_sched_set(c, "rr");
		(void)vc_coproc_trace_export(c, &p);
		(void)vc_coproc_dump(c, &p);
		vc_domain_destroy(d);
	}
	vc_fw_destroy(fw);
	for (;;)
		;
}
