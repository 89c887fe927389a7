// SPDX-License-Identifier: MIT
/*
 * simcp in SIMCP_MODE_THREAD on real time (os/posix.c): the device thread
 * executes a ring, takes at least the modeled time, raises its events
 * from its own thread, and honours the stop protocol.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crc32c.h"
#include "sha256.h"
#include "simcp_test.h"

#define TAG 0x7001u
#define BASE 0x100000000ull
#define GUEST_SIZE (4u << 20)
#define DATA(off) (BASE + GUEST_DATA_OFF + (off))

/* Events arrive on the device thread. */
static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct ev_log log;
	pthread_t test_thread;
	bool wrong_thread;
} E = { .m = PTHREAD_MUTEX_INITIALIZER, .c = PTHREAD_COND_INITIALIZER };

static void tsink(void *opaque, uint32_t tag, enum vc_event ev)
{
	pthread_mutex_lock(&E.m);
	if (pthread_equal(pthread_self(), E.test_thread))
		E.wrong_thread = true;
	ev_sink(&E.log, tag, ev);
	pthread_cond_broadcast(&E.c);
	pthread_mutex_unlock(&E.m);
}

/* Wait up to @ms for event (TAG, @ev) at index @from or later; its index or -1. */
static int wait_event(unsigned int from, enum vc_event ev, int ms)
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
	while ((i = ev_find(&E.log, from, TAG, ev)) < 0)
		if (pthread_cond_timedwait(&E.c, &E.m, &dl))
			break;
	pthread_mutex_unlock(&E.m);
	return i;
}

static struct {
	struct simcp *s;
	struct guest g;
} F;

static int setup(void **state)
{
	struct simcp_config cfg = { .mode = SIMCP_MODE_THREAD, .event = tsink };

	memset(&F, 0, sizeof(F));
	pthread_mutex_lock(&E.m);
	E.log.n = 0;
	E.test_thread = pthread_self(); /* never delivered from a simcp call */
	E.wrong_thread = false;
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

static int teardown(void **state)
{
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thread_executes_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_keeps_pace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thread_stop, setup, teardown),
	};

	return cmocka_run_group_tests_name("simcp-thread", tests, NULL, NULL);
}
