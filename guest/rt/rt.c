// SPDX-License-Identifier: MIT
/*
 * DOC: runtime start-up, exit and the boot command line
 *
 * rt_start() is called by _start (boot.S) with the boot information page.
 * It checks the page, brings the runtime up (see rt.h for the order),
 * brings the other CPUs up, runs guest_main() with interrupts enabled and
 * leaves through the exit device with its status.  A bad boot page cannot
 * be reported in any other way than a panic exit: the console works
 * without it.
 *
 * An AP starts in rt_ap_start() once the BSP asked the board for it
 * (BOARD_CPU_START), so everything it uses is ready: it only sets up its
 * own local APIC, reports its APIC ID in cpu_apic[] (each CPU writes its
 * own slot, then its flag; x86 keeps the two stores in order) and idles.
 */
#include "rt.h"

extern char __image_end[];
void rt_start(const struct board_info *bi);
void rt_ap_start(const struct board_info *bi, uint64_t cpu);

const struct board_info *rt_board;

const struct board_dev *rt_simcp_dev(const struct board_info *bi)
{
	static const char *const compat[] = BOARD_SIMCP_COMPATIBLES;
	const struct board_dev *dev = NULL;

	for (uint32_t i = 0; i < bi->nr_devs && i < BOARD_MAX_DEVS; i++)
		for (unsigned int k = 0; k < sizeof(compat) / sizeof(compat[0]); k++)
			if (!strncmp(bi->devs[i].compatible, compat[k], BOARD_NAME_MAX))
				dev = &bi->devs[i];
	return dev;
}
static volatile uint64_t ticks;
static volatile uint32_t cpu_apic[BOARD_MAX_CPUS];
static volatile bool cpu_up[BOARD_MAX_CPUS];
static unsigned int nr_cpus_up;

static void rt_tick(struct trap_frame *f, void *arg)
{
	(void)f;
	(void)arg;
	ticks++;
}

uint64_t rt_ticks(void)
{
	return ticks;
}

bool rt_wait(bool (*done)(void *arg), void *arg, uint64_t deadline_ns)
{
	for (;;) {
		irq_disable();
		if (done(arg)) {
			irq_enable();
			return true;
		}
		if (clock__ns() >= deadline_ns) {
			irq_enable();
			return false;
		}
		irq_wait();
	}
}

unsigned int rt_cpus(void)
{
	return nr_cpus_up;
}

uint32_t rt_cpu_apic_id(unsigned int cpu)
{
	return cpu < nr_cpus_up ? cpu_apic[cpu] : 0;
}

void rt_ap_start(const struct board_info *bi, uint64_t cpu)
{
	(void)bi;
	if (!cpu || cpu >= BOARD_MAX_CPUS)
		board__exit(BOARD_EXIT_PANIC);
	trap__load();
	apic__init();
	cpu_apic[cpu] = apic__id();
	cpu_up[cpu] = true;
	/* Idle: halt with interrupts enabled; nothing is routed here. */
	irq_enable();
	for (;;)
		__asm__ volatile("hlt");
}

static bool aps_up(void *arg)
{
	const unsigned int *n = arg;

	for (unsigned int i = 1; i < *n; i++)
		if (!cpu_up[i])
			return false;
	return true;
}

/* Start the APs and wait until each has said it is up (interrupts enabled). */
static void cpus__start(const struct board_info *bi)
{
	unsigned int n = bi->nr_cpus;

	if (n < 1 || n > BOARD_MAX_CPUS)
		panic("the board has %u CPUs", n);
	cpu_apic[0] = apic__id();
	cpu_up[0] = true;
	if (n > 1) {
		outl(BOARD_CPU_PORT, BOARD_CPU_START);
		if (!rt_wait(aps_up, &n, clock__ns() + RT_CPU_TIMEOUT_NS)) {
			for (unsigned int i = 1; i < n; i++)
				if (!cpu_up[i])
					panic("CPU %u did not come up", i);
		}
	}
	nr_cpus_up = n;
}

void board__exit(uint32_t status)
{
	irq_disable();
	outl(BOARD_EXIT_PORT, status);
	for (;;)
		__asm__ volatile("hlt");
}

void panic(const char *fmt, ...)
{
	va_list ap;

	irq_disable();
	printf("panic: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	board__exit(BOARD_EXIT_PANIC);
}

void rt_start(const struct board_info *bi)
{
	int status, vec;

	console__init();
	if (!bi || bi->magic != BOARD_INFO_MAGIC || bi->version != BOARD_INFO_VERSION)
		panic("no boot information at %p", (const void *)bi);
	rt_board = bi;
	trap__init();
	pic__mask_all();
	apic__init();
	ioapic__init();
	if (clock__init(bi->tsc_khz))
		panic("the host did not give the TSC frequency");
	if ((uintptr_t)__image_end >= bi->ram_size)
		panic("image ends at %p, beyond RAM", (void *)__image_end);
	mem__init((uintptr_t)__image_end, (uintptr_t)bi->ram_size);
	vec = trap__alloc_vector(rt_tick, NULL);
	if (vec < 0 || apic__timer_periodic((unsigned int)vec, RT_TICK_NS))
		panic("cannot start the %llu ms tick", RT_TICK_NS / 1000000);
	printf("guest: domain %u (%.*s), %llu MiB RAM, TSC %llu kHz, cmdline \"%.*s\"\n",
	       bi->domid, BOARD_NAME_MAX, bi->name,
	       (unsigned long long)(bi->ram_size >> 20), (unsigned long long)bi->tsc_khz,
	       BOARD_CMDLINE_MAX, bi->cmdline);
	irq_enable();
	cpus__start(bi);
	if (nr_cpus_up > 1) {
		printf("guest: %u CPUs up, APIC IDs", nr_cpus_up);
		for (unsigned int i = 0; i < nr_cpus_up; i++)
			printf(" %u", cpu_apic[i]);
		printf("\n");
	}
	status = guest_main(bi);
	board__exit((uint32_t)status);
}

/* ---- command line ------------------------------------------------------------- */

static size_t cmdline_len(const char *s)
{
	size_t n = 0;

	while (n < BOARD_CMDLINE_MAX && s[n])
		n++;
	return n;
}

/* The value of @key in the command line: its start and length, or NULL. */
static const char *arg_find(const char *key, size_t *len)
{
	const char *p = rt_board->cmdline, *end = p + cmdline_len(p);
	size_t klen = strlen(key);

	while (p < end) {
		const char *w = p, *we;

		while (w < end && *w == ' ')
			w++;
		we = w;
		while (we < end && *we != ' ')
			we++;
		if ((size_t)(we - w) > klen && !strncmp(w, key, klen) && w[klen] == '=') {
			*len = (size_t)(we - w) - klen - 1;
			return w + klen + 1;
		}
		p = we;
	}
	return NULL;
}

const char *arg__str(const char *key, char *buf, size_t size)
{
	size_t len;
	const char *v = arg_find(key, &len);

	if (!v || !size)
		return NULL;
	len = MIN(len, size - 1);
	memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}

/*
 * Parse "N[suffix]" of @len bytes.  @time: suffixes ns/us/ms/s, bare
 * numbers in @unit; else K/M/G.  Returns 0 or -1.
 */
static int parse_num(const char *v, size_t len, bool time, uint64_t unit, uint64_t *out)
{
	uint64_t n = 0, mul;
	size_t i = 0;

	if (!len || v[0] < '0' || v[0] > '9')
		return -1;
	for (; i < len && v[i] >= '0' && v[i] <= '9'; i++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	v += i;
	len -= i;
	if (!len)
		mul = time ? unit : 1;
	else if (time && len == 2 && !strncmp(v, "ns", 2))
		mul = 1;
	else if (time && len == 2 && !strncmp(v, "us", 2))
		mul = 1000;
	else if (time && len == 2 && !strncmp(v, "ms", 2))
		mul = 1000000;
	else if (time && len == 1 && v[0] == 's')
		mul = 1000000000;
	else if (!time && len == 1 && (v[0] == 'K' || v[0] == 'k'))
		mul = 1ull << 10;
	else if (!time && len == 1 && v[0] == 'M')
		mul = 1ull << 20;
	else if (!time && len == 1 && v[0] == 'G')
		mul = 1ull << 30;
	else
		return -1;
	if (n && mul > UINT64_MAX / n)
		return -1;
	*out = n * mul;
	return 0;
}

uint64_t arg__u64(const char *key, uint64_t def)
{
	size_t len;
	const char *v = arg_find(key, &len);
	uint64_t n;

	if (!v)
		return def;
	if (parse_num(v, len, false, 1, &n))
		panic("bad value for %s: \"%.*s\"", key, (int)len, v);
	return n;
}

uint64_t arg__time(const char *key, uint64_t unit, uint64_t def)
{
	size_t len;
	const char *v = arg_find(key, &len);
	uint64_t n;

	if (!v)
		return def;
	if (parse_num(v, len, true, unit, &n))
		panic("bad duration for %s: \"%.*s\"", key, (int)len, v);
	return n;
}
