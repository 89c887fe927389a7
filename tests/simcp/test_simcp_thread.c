// SPDX-License-Identifier: MIT
/*
 * simcp in SIMCP_MODE_THREAD on real time (os/posix.c): the device thread
 * executes a ring, takes at least the modeled time, raises its events
 * from its own thread, honours the stop protocol, and keeps its modeled
 * timeline across a context switch however late the thread itself runs.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"
#include "sha256.h"
#include "simcp_test.h"

#define TAG 0x7001u
#define TAG_B 0x7002u    /* the context switched to */
#define TAG_HOLD 0x7003u /* its interrupt holds the device thread */
#define BASE 0x100000000ull
#define BASE_B 0x200000000ull
#define GUEST_SIZE (4u << 20)
#define DATA(off) (BASE + GUEST_DATA_OFF + (off))

/* Events arrive on the device thread. */
static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct ev_log log;
	pthread_t test_thread;
	bool wrong_thread;
	/*
	 * Set before the events that use them: an interrupt of TAG_HOLD keeps
	 * the device thread in the sink for hold_ns (a thread that does not
	 * get a CPU); VC_EV_STOPPED of switch_from (tagged TAG) switches to
	 * switch_to from the sink, once, as the framework does.
	 */
	vc_time_t hold_ns;
	struct simcp_ctx *switch_from, *switch_to;
	const struct vc_iommu *switch_io;
	int switch_err;
	bool switched;
} E = { .m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER };

static void sleep_ns(vc_time_t ns);
static int switch_to(struct simcp_ctx *from, struct simcp_ctx *to, const struct vc_iommu *io);

static void tsink(void *opaque, uint32_t tag, enum vc_event ev)
{
	struct simcp_ctx *from = NULL, *to = NULL;
	const struct vc_iommu *io = NULL;
	int err;

	pthread_mutex_lock(&E.m);
	if (pthread_equal(pthread_self(), E.test_thread))
		E.wrong_thread = true;
	ev_sink(&E.log, tag, ev);
	if (E.switch_from && tag == TAG && ev == VC_EV_STOPPED) {
		from = E.switch_from;
		to = E.switch_to;
		io = E.switch_io;
		E.switch_from = NULL;
	}
	pthread_cond_broadcast(&E.c);
	pthread_mutex_unlock(&E.m);
	if (tag == TAG_HOLD && ev == VC_EV_IRQ)
		sleep_ns(E.hold_ns);
	if (from) {
		err = switch_to(from, to, io);
		pthread_mutex_lock(&E.m);
		E.switch_err = err;
		E.switched = true;
		pthread_mutex_unlock(&E.m);
	}
}

/* Wait up to @ms for event (@tag, @ev) at index @from or later; its index or -1. */
static int wait_tag_event(uint32_t tag, unsigned int from, enum vc_event ev, int ms)
{
	struct timespec dl;
	int i;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&E.m);
	while ((i = ev_find(&E.log, from, tag, ev)) < 0)
		if (pthread_cond_timedwait(&E.c, &E.m, &dl))
			break;
	pthread_mutex_unlock(&E.m);
	return i;
}

static int wait_event(unsigned int from, enum vc_event ev, int ms)
{
	return wait_tag_event(TAG, from, ev, ms);
}

static struct {
	struct simcp *s;
	struct guest g;
} F;

/* The rest of a switch once @from has stopped, as the framework does it. */
static int switch_to(struct simcp_ctx *from, struct simcp_ctx *to, const struct vc_iommu *io)
{
	int r = simcp_save(from);

	if (!r)
		r = simcp_set_iommu(F.s, io);
	if (!r)
		r = simcp_load(to);
	if (!r)
		r = simcp_start(to);
	return r;
}

/* simcp_config.max_nonpreempt of the next setup. */
static vc_time_t fixture_np;

static int setup(void **state)
{
	struct simcp_config cfg = { .mode = SIMCP_MODE_THREAD, .event = tsink,
				    .max_nonpreempt = fixture_np };

	memset(&F, 0, sizeof(F));
	pthread_mutex_lock(&E.m);
	E.log.n = 0;
	E.test_thread = pthread_self(); /* never delivered from a simcp call */
	E.wrong_thread = false;
	E.hold_ns = 0;
	E.switch_from = E.switch_to = NULL;
	E.switch_io = NULL;
	E.switch_err = 0;
	E.switched = false;
	pthread_mutex_unlock(&E.m);
	assert_int_equal(simcp_create(&cfg, &F.s), 0);
	guest_init(&F.g, BASE, GUEST_SIZE);
	assert_int_equal(simcp_ctx_alloc(F.s, TAG, &F.g.x), 0);
	assert_int_equal(simcp_set_iommu(F.s, &F.g.io), 0);
	assert_int_equal(simcp_load(F.g.x), 0);
	guest_ring_init(&F.g, SIMCP_IRQ_FENCE | SIMCP_IRQ_ERROR);
	assert_int_equal(simcp_start(F.g.x), 0);
	return 0;
}

static int setup_bound(void **state)
{
	fixture_np = VC_MSEC(50);
	return setup(state);
}

static int teardown(void **state)
{
	fixture_np = 0;
	simcp_ctx_free(F.g.x);
	simcp_destroy(F.s);
	guest_fini(&F.g);
	assert_false(E.wrong_thread);
	return 0;
}

static vc_time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (vc_time_t)ts.tv_sec * 1000000000ull + (vc_time_t)ts.tv_nsec;
}

/* Sleep rather than spin: a thread polling registers in a tight loop can
 * keep the device thread off the device lock. */
static void sleep_ns(vc_time_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	nanosleep(&ts, NULL);
}

static void test_thread_executes_ring(void **state)
{
	struct guest *g = &F.g;
	uint8_t *src = gp(g, DATA(0)), digest[32];
	struct simcp_cmd cmds[] = {
		cmd_copy(DATA(0), DATA(0x100000), 1u << 20),
		cmd_hash(SIMCP_HASH_SHA256, DATA(0), 1u << 16, DATA(0x200000)),
		cmd_hash(SIMCP_HASH_CRC32C, DATA(0), 1u << 20, DATA(0x200040)),
		cmd_compute(VC_USEC(300), 4096, 0),
		cmd_fence(42, DATA(0x200080), SIMCP_F_IRQ),
	};
	vc_time_t modeled = 0, t0;
	struct simcp_stats st;
	uint8_t *crc;
	int i;

	for (size_t k = 0; k < (1u << 20); k++)
		src[k] = (uint8_t)(k * 7 + (k >> 9));
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		guest_push(g, cmds[k]);
		modeled += simcp_cmd_cost(F.s, &cmds[k]);
	}
	t0 = mono_now();
	guest_doorbell(g);
	i = wait_event(0, VC_EV_IRQ, 5000);
	assert_true(i >= 0);
	/* It waited for the modeled time of the whole ring. */
	assert_true(E.log.e[i].at - t0 >= modeled);

	assert_memory_equal(src, gp(g, DATA(0x100000)), 1u << 20);
	simcp_sha256(src, 1u << 16, digest);
	assert_memory_equal(gp(g, DATA(0x200000)), digest, 32);
	crc = gp(g, DATA(0x200040));
	assert_int_equal(crc[0] | crc[1] << 8 | crc[2] << 16 | (uint32_t)crc[3] << 24,
			 simcp_crc32c(0, src, 1u << 20));
	assert_int_equal(*(uint64_t *)gp(g, DATA(0x200080)), 42);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 5);
	assert_true(wait_event((unsigned int)i, VC_EV_IDLE, 5000) > i);
	simcp_stats(F.s, &st);
	assert_int_equal(st.cmds, 5);
	assert_int_equal(st.busy_ns, modeled);
}

/*
 * Many short commands: the device keeps the modeled timeline (each starts
 * where the previous one ended) instead of adding a wake-up per command.
 */
static void test_thread_keeps_pace(void **state)
{
	struct guest *g = &F.g;
	vc_time_t t0;
	int i;

	for (int k = 0; k < 120; k++)
		guest_push(g, cmd_nop());
	guest_push(g, cmd_fence(1, 0, SIMCP_F_IRQ));
	t0 = mono_now();
	guest_doorbell(g);
	i = wait_event(0, VC_EV_IRQ, 5000);
	assert_true(i >= 0);
	/* 121 x 100 ns modeled; real time is a few wake-ups, not 121. */
	assert_true(E.log.e[i].at - t0 >= 121 * 100);
	assert_true(E.log.e[i].at - t0 < VC_MSEC(100));
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 121);
}

static void test_thread_stop(void **state)
{
	struct guest *g = &F.g;
	vc_time_t ra = 0, t0;
	int i, r;

	/* Preemptible: accepted, completes at the command's end. */
	t0 = mono_now();
	guest_submit(g, cmd_compute(VC_MSEC(50), 0, 0));
	guest_submit(g, cmd_fence(1, 0, 0));
	for (;;) {
		sleep_ns(VC_MSEC(2));
		r = simcp_stop(g->x, &ra);
		if (r)
			break;
		/* Stopped before the device thread began it: run again. */
		assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 0);
		assert_int_equal(simcp_start(g->x), 0);
	}
	assert_int_equal(r, -VC_EINPROGRESS);
	i = wait_event(0, VC_EV_STOPPED, 5000);
	assert_true(i >= 0);
	assert_true(E.log.e[i].at - t0 >= VC_MSEC(50));
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 1);
	assert_int_equal(simcp_save(g->x), 0);
	assert_int_equal(simcp_load(g->x), 0);
	assert_int_equal(simcp_start(g->x), 0);

	/*
	 * Non-preemptible: refused with the remaining time, then it stops.
	 * The fence has retired when CMDS_DONE says 2, and the compute began
	 * in the same step.
	 */
	guest_submit(g, cmd_compute(VC_MSEC(200), 0, SIMCP_F_NOPREEMPT));
	t0 = mono_now();
	while (rd(g->x, SIMCP_REG_CMDS_DONE) < 2) {
		assert_true(mono_now() - t0 < VC_SEC(5));
		sleep_ns(VC_USEC(100));
	}
	sleep_ns(VC_MSEC(2));
	assert_int_equal(simcp_stop(g->x, &ra), -VC_EAGAIN);
	assert_true(ra > 0 && ra <= VC_MSEC(198) + 100);
	do {
		sleep_ns(ra);
		r = simcp_stop(g->x, &ra);
	} while (r == -VC_EAGAIN);
	if (r == -VC_EINPROGRESS)
		assert_true(wait_event((unsigned int)i + 1, VC_EV_STOPPED, 5000) > i);
	else
		assert_int_equal(r, 0);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 3);
	assert_int_equal(simcp_save(g->x), 0);
}

/*
 * Context switches and a device thread that runs late.  The second context
 * has 60 ms of commands queued; the device thread is held for tens of ms
 * by an interrupt delivery (as when it waits for a CPU).  Over the window
 * from the switch to the second context's last completion, the device
 * must have been busy nearly all the time: its timeline goes on from the
 * switch, and the held thread catches up, instead of starting the second
 * context's commands when it comes back.  Without that the window would
 * be a hold longer and the device busy about 2/3 of it.
 */
#define RUN_CMDS 6
#define RUN_NS   VC_MSEC(10)    /* each; 60 ms in all */
#define HOLD_NS  VC_MSEC(40)

struct second {
	struct guest g;
	struct simcp_ctx *hold;     /* TAG_HOLD: interrupts on demand */
	vc_time_t modeled;          /* its run's modeled duration */
};

/* Context B with RUN_CMDS x RUN_NS of COMPUTE and an interrupting fence; @ring: rung. */
static void second_init(struct second *b, bool ring)
{
	struct guest *g = &b->g;

	guest_init(g, BASE_B, GUEST_SIZE);
	assert_int_equal(simcp_ctx_alloc(F.s, TAG_B, &g->x), 0);
	guest_ring_init(g, SIMCP_IRQ_FENCE);
	b->modeled = 0;
	for (int k = 0; k < RUN_CMDS; k++) {
		struct simcp_cmd c = cmd_compute(RUN_NS, 0, 0);

		guest_push(g, c);
		b->modeled += simcp_cmd_cost(F.s, &c);
	}
	guest_push(g, cmd_fence(7, 0, SIMCP_F_IRQ));
	b->modeled += SIMCP_DEF_CMD_OVERHEAD_NS;
	if (ring)
		guest_doorbell(g); /* latched on its saved context */
	/* A pending, masked ERROR: unmasking it raises an interrupt on demand. */
	assert_int_equal(simcp_ctx_alloc(F.s, TAG_HOLD, &b->hold), 0);
	assert_int_equal(simcp_reset(b->hold), 0);
	E.hold_ns = HOLD_NS;
}

/* Hold the device thread: it delivers TAG_HOLD's interrupt, then sleeps. */
static void hold_thread(struct second *b)
{
	unsigned int from;

	pthread_mutex_lock(&E.m);
	from = E.log.n;
	pthread_mutex_unlock(&E.m);
	wr(b->hold, SIMCP_REG_IRQ_MASK, SIMCP_IRQ_ERROR);
	assert_true(wait_tag_event(TAG_HOLD, from, VC_EV_IRQ, 5000) >= 0);
}

static void second_fini(struct second *b)
{
	pthread_mutex_lock(&E.m);
	E.switch_from = NULL;
	pthread_mutex_unlock(&E.m);
	simcp_ctx_free(b->g.x);
	simcp_ctx_free(b->hold);
	guest_fini(&b->g);
}

/* The device's busy time from @busy0 to now over the window since @t0, ended at @t1. */
static double busy_fraction(vc_time_t busy0, vc_time_t t0, vc_time_t t1)
{
	struct simcp_stats st;

	simcp_stats(F.s, &st);
	return (double)(st.busy_ns - busy0) / (double)(t1 - t0);
}

/*
 * The framework switches promptly from its own thread (a slice timer)
 * while the device thread is held: B's commands run from the load.
 */
static void test_thread_switch_from_another_thread(void **state)
{
	struct second b;
	struct simcp_stats st, st2;
	vc_time_t ra = 0, t0, t1;
	double busy;
	int i;

	second_init(&b, true);
	hold_thread(&b);
	simcp_stats(F.s, &st);
	t0 = mono_now();
	assert_int_equal(simcp_stop(F.g.x, &ra), 0); /* idle: stopped now */
	assert_int_equal(switch_to(F.g.x, b.g.x, &b.g.io), 0);
	i = wait_tag_event(TAG_B, 0, VC_EV_IRQ, 5000);
	assert_true(i >= 0);
	t1 = E.log.e[i].at;
	busy = busy_fraction(st.busy_ns, t0, t1);
	printf("# switch from another thread, device thread held %llu ms: B done %.1f ms "
	       "after the switch (modeled %.1f ms), device busy %.3f of it\n",
	       (unsigned long long)(HOLD_NS / 1000000), (double)(t1 - t0) / 1e6,
	       (double)b.modeled / 1e6, busy);
	/* Never before the switch in real time: save, load, then the run. */
	simcp_stats(F.s, &st2);
	assert_true(st2.ctx_move_ns > st.ctx_move_ns);
	assert_true(t1 - t0 >= st2.ctx_move_ns - st.ctx_move_ns + b.modeled);
	assert_true(busy >= 0.8);
	assert_int_equal(rd(b.g.x, SIMCP_REG_CMDS_DONE), RUN_CMDS + 1);
	second_fini(&b);
}

/*
 * The switch is made from inside the device's own VC_EV_STOPPED delivery
 * (as the framework does), which comes late because the device thread was
 * held while A's command ran out: B's commands run from A's command's
 * modeled end plus the switch, not from when the thread got there.  A is
 * switched out in the middle of its run of commands.
 */
/*
 * A runs c1 (and has more queued), and its stop has been accepted: switch
 * to B from inside the VC_EV_STOPPED delivery.  Returns when c1 has begun
 * (its start time in *@t0), the thread is being held, and B is set up.
 */
static void late_boundary(struct second *b, bool ring, vc_time_t *t0, struct simcp_cmd c1)
{
	struct guest *a = &F.g;
	vc_time_t ra = 0;
	int r;

	second_init(b, ring);
	pthread_mutex_lock(&E.m);
	E.switch_from = a->x;
	E.switch_to = b->g.x;
	E.switch_io = &b->g.io;
	pthread_mutex_unlock(&E.m);
	*t0 = mono_now();
	guest_submit(a, c1);
	guest_submit(a, cmd_compute(VC_MSEC(20), 0, 0));
	guest_submit(a, cmd_fence(1, 0, SIMCP_F_IRQ));
	for (;;) {
		sleep_ns(VC_MSEC(1));
		r = simcp_stop(a->x, &ra);
		if (r)
			break;
		/* Stopped before the device thread began c1: run again. */
		assert_int_equal(rd(a->x, SIMCP_REG_CMDS_DONE), 0);
		assert_int_equal(simcp_start(a->x), 0);
		*t0 = mono_now();
	}
	assert_int_equal(r, -VC_EINPROGRESS);
	hold_thread(b); /* c1 runs out while the thread is held */
}

static void test_thread_switch_late_boundary(void **state)
{
	struct guest *a = &F.g;
	struct second b;
	struct simcp_stats st, st2;
	struct simcp_cmd c1 = cmd_compute(VC_MSEC(5), 0, 0);
	vc_time_t t0, t1;
	double busy;
	int i;

	simcp_stats(F.s, &st);
	late_boundary(&b, true, &t0, c1);
	i = wait_tag_event(TAG_B, 0, VC_EV_IRQ, 5000);
	assert_true(i >= 0);
	t1 = E.log.e[i].at;
	assert_true(E.switched);
	assert_int_equal(E.switch_err, 0);
	busy = busy_fraction(st.busy_ns, t0, t1);
	printf("# switch at a boundary the device thread reached late (held %llu ms): B done "
	       "%.1f ms after A began (modeled %.1f ms), device busy %.3f of it\n",
	       (unsigned long long)(HOLD_NS / 1000000), (double)(t1 - t0) / 1e6,
	       (double)(simcp_cmd_cost(F.s, &c1) + b.modeled) / 1e6, busy);
	simcp_stats(F.s, &st2);
	assert_true(st2.ctx_move_ns > st.ctx_move_ns);
	assert_true(t1 - t0 >= simcp_cmd_cost(F.s, &c1) + (st2.ctx_move_ns - st.ctx_move_ns) +
			       b.modeled);
	assert_true(busy >= 0.8);
	/* A stopped after c1 (or, on a slow host, c2), the rest of its run queued. */
	assert_true(rd(a->x, SIMCP_REG_CMDS_DONE) >= 1 && rd(a->x, SIMCP_REG_CMDS_DONE) <= 2);
	assert_true(simcp_has_work(a->x));
	assert_int_equal(rd(b.g.x, SIMCP_REG_CMDS_DONE), RUN_CMDS + 1);
	second_fini(&b);
}

/*
 * As above, but B's doorbell rings only while the device thread is held,
 * after c1's modeled end: B's commands must not run from before they
 * arrived - the timeline goes on from c1's end only as far as causality
 * allows.
 */
static void test_thread_switch_not_before_work(void **state)
{
	struct second b;
	vc_time_t t0, t1, rung;
	int i;

	late_boundary(&b, false, &t0, cmd_compute(VC_MSEC(5), 0, 0));
	sleep_ns(VC_MSEC(15));
	rung = mono_now();
	guest_doorbell(&b.g);
	i = wait_tag_event(TAG_B, 0, VC_EV_IRQ, 5000);
	assert_true(i >= 0);
	t1 = E.log.e[i].at;
	assert_true(E.switched);
	assert_int_equal(E.switch_err, 0);
	printf("# B rung %.1f ms after A began, during the hold: done %.1f ms after its "
	       "doorbell (modeled %.1f ms)\n", (double)(rung - t0) / 1e6,
	       (double)(t1 - rung) / 1e6, (double)b.modeled / 1e6);
	assert_true(t1 - rung >= b.modeled);
	assert_int_equal(rd(b.g.x, SIMCP_REG_CMDS_DONE), RUN_CMDS + 1);
	second_fini(&b);
}

/*
 * On real time too: a chain refuses a stop with the rest of what can run
 * as the hint, and the command that would take it past the bound (50 ms)
 * faults instead of running, after the two before it.
 */
static void test_thread_chain_bound(void **state)
{
	const uint8_t ch = SIMCP_F_NOPREEMPT | SIMCP_F_CHAIN;
	struct guest *g = &F.g;
	vc_time_t ra = 0, t0, c = VC_MSEC(20) + 100;
	uint32_t bad;
	int i, r = 0;

	guest_push(g, cmd_compute(VC_MSEC(20), 0, ch));
	guest_push(g, cmd_compute(VC_MSEC(20), 0, ch));
	bad = guest_push(g, cmd_compute(VC_MSEC(20), 0, SIMCP_F_NOPREEMPT));
	guest_push(g, cmd_fence(1, 0, SIMCP_F_IRQ));
	t0 = mono_now();
	guest_doorbell(g);
	/*
	 * Until the device thread has begun the chain it is at a boundary and
	 * the stop is accepted: start it again and retry.
	 */
	for (int k = 0; k < 8; k++) {
		sleep_ns(VC_MSEC(2));
		r = simcp_stop(g->x, &ra);
		if (r)
			break;
		assert_int_equal(simcp_start(g->x), 0);
	}
	assert_int_equal(r, -VC_EAGAIN);
	/* The rest of the first command and the second; not the third. */
	assert_true(ra > c && ra <= 2 * c);
	i = wait_event(0, VC_EV_IRQ, 5000);
	assert_true(i >= 0);
	assert_true(E.log.e[i].at - t0 >= 2 * c);
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_CODE), SIMCP_FAULT_NONPREEMPT);
	assert_int_equal(rd(g->x, SIMCP_REG_FAULT_HEAD), bad);
	assert_int_equal(rd(g->x, SIMCP_REG_CMDS_DONE), 2);
	assert_int_equal(rd(g->x, SIMCP_REG_FENCE_LO), 0);
	assert_true(rd(g->x, SIMCP_REG_IRQ_STATUS) & SIMCP_IRQ_ERROR);
	/* Halted: at a boundary, stopped at once. */
	assert_int_equal(simcp_stop(g->x, &ra), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thread_executes_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_keeps_pace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_chain_bound, setup_bound, teardown),
		cmocka_unit_test_setup_teardown(test_thread_switch_from_another_thread, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_thread_switch_late_boundary, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_switch_not_before_work, setup, teardown),
	};

	return cmocka_run_group_tests_name("simcp-thread", tests, NULL, NULL);
}
