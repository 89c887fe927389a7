// SPDX-License-Identifier: MIT
/*
 * The control socket for real: a server dispatched by a thread of this
 * process, clients over the Unix socket - requests, pipelining, partial
 * and oversized input, malformed requests on a connection that lives on,
 * peers that do not read, stale and live socket files, the connection
 * limit and the eviction of idle peers, the idle timeout, and (as root) a
 * peer of another uid turned away.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <vcoproc/errno.h>

#include "ctl.h"

static int m_echo(void *opaque, struct json_object *args, struct json_object **ret,
		  struct ctl_error *err)
{
	const char *text;
	int r = ctl_arg_string(args, "text", true, &text, err);

	if (r)
		return r;
	*ret = json_object_new_object();
	json_object_object_add(*ret, "text", json_object_new_string(text));
	return 0;
}

static const char *const a_text[] = { "text", NULL };
static const struct ctl_command cmds[] = {
	{ "echo", m_echo, a_text, NULL },
	{ NULL, NULL, NULL, NULL },
};
static const struct ctl_ops ops = { .name = "test", .commands = cmds };

static struct {
	char path[108];
	struct ctl_server *srv;
	pthread_t thread;
	volatile int stop;
} S;

static void *serve(void *arg)
{
	while (!S.stop)
		assert_true(ctl_server_dispatch(S.srv, 20) >= 0);
	return NULL;
}

static int setup(void **state)
{
	char err[256];

	snprintf(S.path, sizeof(S.path), "/tmp/ctl-test-%d.sock", (int)getpid());
	unlink(S.path);
	if (ctl_server_create(S.path, &ops, NULL, &S.srv, err, sizeof(err))) {
		print_error("%s\n", err);
		return -1;
	}
	/* A test that wants a short idle timeout passes it in ms as its state. */
	if (*state)
		ctl_server_set_idle_timeout(S.srv, (unsigned int)(uintptr_t)*state);
	S.stop = 0;
	return pthread_create(&S.thread, NULL, serve, NULL);
}

static int teardown(void **state)
{
	S.stop = 1;
	pthread_join(S.thread, NULL);
	ctl_server_destroy(S.srv);
	assert_int_equal(access(S.path, F_OK), -1); /* the file is gone */
	return 0;
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct timeval tv = { .tv_sec = 10 };

	assert_true(fd >= 0);
	memcpy(sa.sun_path, S.path, strlen(S.path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_str(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);

		if (w <= 0)
			print_error("send: %s\n", strerror(errno));
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* One line from @fd (without the newline) into @buf; false at EOF. */
static bool read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = recv(fd, buf + n, 1, 0);

		if (r <= 0)
			return false;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return true;
}

static void test_client_calls(void **state)
{
	struct ctl_client *c;
	struct json_object *args = json_object_new_object(), *reply;
	const char *cls, *desc;
	char err[256];

	assert_int_equal(ctl_client_connect(S.path, &c, err, sizeof(err)), 0);
	json_object_object_add(args, "text", json_object_new_string("over the wire"));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ctl_client_call(c, "echo", args, 5000, &reply, err, sizeof(err)), 0);
		assert_false(ctl_reply_error(reply, &cls, &desc));
		assert_string_equal(json_object_get_string(json_object_object_get(
			json_object_object_get(reply, "return"), "text")), "over the wire");
		json_object_put(reply);
	}
	assert_int_equal(ctl_client_call(c, "nope", NULL, 5000, &reply, err, sizeof(err)), 0);
	assert_true(ctl_reply_error(reply, &cls, &desc));
	assert_string_equal(cls, "CommandNotFound");
	json_object_put(reply);
	json_object_put(args);
	ctl_client_close(c);

	assert_true(ctl_client_connect("/nonexistent/x.sock", &c, err, sizeof(err)) < 0);
	assert_string_equal(err, "/nonexistent/x.sock: No such file or directory");
}

static void test_socket_mode(void **state)
{
	struct stat st;

	assert_int_equal(stat(S.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_uid, geteuid());
}

static void test_pipelined_and_partial(void **state)
{
	const char *two = "{\"execute\":\"echo\",\"arguments\":{\"text\":\"1\"}}\n"
			  "{\"execute\":\"echo\",\"arguments\":{\"text\":\"2\"}}\n{\"execute\":\"ec";
	char line[512];
	int fd = raw_connect();

	send_str(fd, two, strlen(two));
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"return\":{\"text\":\"1\"}}");
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"return\":{\"text\":\"2\"}}");
	usleep(50000);
	send_str(fd, "ho\",\"arguments\":{\"text\":\"3\"}}", 29);
	/* No newline: the end of the stream ends the request. */
	shutdown(fd, SHUT_WR);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"return\":{\"text\":\"3\"}}");
	assert_false(read_line(fd, line, sizeof(line))); /* closed after it */
	close(fd);
}

static void test_malformed_keeps_connection(void **state)
{
	char line[512];
	int fd = raw_connect();

	send_str(fd, "garbage\n", 8);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_true(!strncmp(line, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"expected a JSON object", 63));
	send_str(fd, "\xff\xfe\x00\x01\n", 5);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"expected a JSON object, found a NUL byte\"}}");
	send_str(fd, "{\"execute\":\"echo\",\"arguments\":{\"text\":\"still here\"}}\n", 54);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"return\":{\"text\":\"still here\"}}");
	close(fd);
}

static void test_oversized_closes(void **state)
{
	size_t n = CTL_REQUEST_MAX + 4096;
	char *big = malloc(n), line[512];
	int fd = raw_connect();

	memset(big, 'a', n);
	send_str(fd, big, n);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"request too large: expected at most 65536 bytes per line\"}}");
	assert_false(read_line(fd, line, sizeof(line)));
	close(fd);
	free(big);
	/* The server goes on. */
	fd = raw_connect();
	send_str(fd, "{\"execute\":\"echo\",\"arguments\":{\"text\":\"ok\"}}\n", 46);
	assert_true(read_line(fd, line, sizeof(line)));
	assert_string_equal(line, "{\"return\":{\"text\":\"ok\"}}");
	close(fd);
}

/*
 * A peer that sends a lot and reads nothing for a while gets every reply,
 * in order: more than CTL_OUT_HIGH of them pile up, so the server stops
 * reading from it, then goes on as the peer drains them.
 */
static void test_slow_reader(void **state)
{
	const int nreq = 30000;
	char req[128], line[512], want[128];
	int fd = raw_connect();
	pid_t pid;

	/* Write from a child so that neither side can block the other for ever. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (int i = 0; i < nreq; i++) {
			int n = snprintf(req, sizeof(req),
					 "{\"execute\":\"echo\",\"arguments\":{\"text\":\"%06d%050d\"}}\n", i, i);

			if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
				_exit(1);
		}
		_exit(0);
	}
	sleep(1); /* let replies pile up */
	for (int i = 0; i < nreq; i++) {
		snprintf(want, sizeof(want), "{\"return\":{\"text\":\"%06d%050d\"}}", i, i);
		assert_true(read_line(fd, line, sizeof(line)));
		assert_string_equal(line, want);
	}
	{
		int status;

		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(fd);
}

static void test_connection_limit(void **state)
{
	int fds[CTL_MAX_CONNECTIONS + 1];
	char line[512];

	for (int i = 0; i < CTL_MAX_CONNECTIONS; i++) {
		fds[i] = raw_connect();
		/* A round trip makes sure the server has accepted it. */
		send_str(fds[i], "{\"execute\":\"echo\",\"arguments\":{\"text\":\"x\"}}\n", 44);
		assert_true(read_line(fds[i], line, sizeof(line)));
	}
	/* All of them were active just now: a newcomer is turned away. */
	fds[CTL_MAX_CONNECTIONS] = raw_connect();
	assert_true(read_line(fds[CTL_MAX_CONNECTIONS], line, sizeof(line)));
	assert_string_equal(line, "{\"error\":{\"class\":\"GenericError\",\"desc\":\"too many connections (at most 64, none idle for 1000 ms)\"}}");
	assert_false(read_line(fds[CTL_MAX_CONNECTIONS], line, sizeof(line)));
	close(fds[CTL_MAX_CONNECTIONS]);

	/*
	 * Once they have been idle a while, a newcomer takes the place of the
	 * one idle longest, which is closed without a word; the others stay.
	 */
	usleep(CTL_EVICT_IDLE_MS * 1000 + 100000);
	for (int i = 1; i < CTL_MAX_CONNECTIONS; i++) {
		send_str(fds[i], "{\"execute\":\"echo\",\"arguments\":{\"text\":\"y\"}}\n", 44);
		assert_true(read_line(fds[i], line, sizeof(line)));
	}
	fds[CTL_MAX_CONNECTIONS] = raw_connect();
	send_str(fds[CTL_MAX_CONNECTIONS], "{\"execute\":\"echo\",\"arguments\":{\"text\":\"z\"}}\n", 44);
	assert_true(read_line(fds[CTL_MAX_CONNECTIONS], line, sizeof(line)));
	assert_string_equal(line, "{\"return\":{\"text\":\"z\"}}");
	assert_false(read_line(fds[0], line, sizeof(line)));
	send_str(fds[1], "{\"execute\":\"echo\",\"arguments\":{\"text\":\"y\"}}\n", 44);
	assert_true(read_line(fds[1], line, sizeof(line)));
	for (int i = 0; i <= CTL_MAX_CONNECTIONS; i++)
		close(fds[i]);
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_idle_timeout(void **state)
{
	int quiet, busy, slow;
	char line[512];
	uint64_t t0, dt;

	quiet = raw_connect();
	busy = raw_connect();
	/* Half a request is not activity. */
	slow = raw_connect();
	send_str(slow, "{\"execute\":", 12);
	t0 = ms_now();
	for (int i = 0; i < 6; i++) {
		usleep(100000);
		send_str(busy, "{\"execute\":\"echo\",\"arguments\":{\"text\":\"x\"}}\n", 44);
		assert_true(read_line(busy, line, sizeof(line)));
	}
	assert_false(read_line(quiet, line, sizeof(line)));
	dt = ms_now() - t0;
	assert_true(dt >= 250);
	assert_false(read_line(slow, line, sizeof(line)));
	/* The one in use is still there. */
	send_str(busy, "{\"execute\":\"echo\",\"arguments\":{\"text\":\"x\"}}\n", 44);
	assert_true(read_line(busy, line, sizeof(line)));
	close(quiet);
	close(busy);
	close(slow);
}

/* A client whose connection was closed for idleness connects again. */
static void test_client_after_idle_close(void **state)
{
	struct json_object *args = json_object_new_object(), *reply;
	struct ctl_client *c;
	char err[256];

	json_object_object_add(args, "text", json_object_new_string("again"));
	assert_int_equal(ctl_client_connect(S.path, &c, err, sizeof(err)), 0);
	assert_int_equal(ctl_client_call(c, "echo", args, 5000, &reply, err, sizeof(err)), 0);
	json_object_put(reply);
	usleep(600000);
	assert_int_equal(ctl_server_connections(S.srv), 0);
	assert_int_equal(ctl_client_call(c, "echo", args, 5000, &reply, err, sizeof(err)), 0);
	assert_string_equal(json_object_get_string(json_object_object_get(
		json_object_object_get(reply, "return"), "text")), "again");
	json_object_put(reply);
	ctl_client_close(c);
	json_object_put(args);
}

static void test_other_uid_refused(void **state)
{
	char line[512], want[512];
	struct stat st;
	pid_t pid;
	int status;

	if (geteuid() != 0)
		skip(); /* cannot become another user; ctl_cred_allowed() is tested alone */
	/* With mode 0660 the file system already says no. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		memcpy(sa.sun_path, S.path, strlen(S.path) + 1);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		_exit(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1 && errno == EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Opened up by mistake: the credential check still says no. */
	assert_int_equal(chmod(S.path, 0666), 0);
	assert_int_equal(stat(S.path, &st), 0);
	snprintf(want, sizeof(want),
		 "{\"error\":{\"class\":\"PermissionDenied\",\"desc\":\"uid 65534 (gid 65534) may not use this socket: only its owner (uid %u) and group (gid %u) may\"}}",
		 (unsigned)st.st_uid, (unsigned)st.st_gid);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		fd = raw_connect();
		if (!read_line(fd, line, sizeof(line)) || strcmp(line, want))
			_exit(1);
		_exit(read_line(fd, line, sizeof(line)) ? 2 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(S.path, 0660), 0);
}

static void test_socket_files(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[108], err[256];
	struct ctl_server *srv, *srv2;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/ctl-test-%d-b.sock", (int)getpid());
	unlink(path);
	/* A stale socket (bound, nobody listening) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(ctl_server_create(path, &ops, NULL, &srv, err, sizeof(err)), 0);
	/* A live one is not. */
	assert_int_equal(ctl_server_create(path, &ops, NULL, &srv2, err, sizeof(err)), -VC_EBUSY);
	assert_non_null(strstr(err, "another daemon is listening there"));
	ctl_server_destroy(srv);
	assert_int_equal(access(path, F_OK), -1);
	/* Nor is anything that is not a socket. */
	f = fopen(path, "w");
	fclose(f);
	assert_int_equal(ctl_server_create(path, &ops, NULL, &srv2, err, sizeof(err)), -VC_EEXIST);
	assert_non_null(strstr(err, "exists and is not a socket"));
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	assert_int_equal(ctl_server_create("", &ops, NULL, &srv2, err, sizeof(err)), -VC_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_client_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_and_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_keeps_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_prestate_setup_teardown(test_idle_timeout, setup, teardown,
							 (void *)(uintptr_t)300),
		cmocka_unit_test_prestate_setup_teardown(test_client_after_idle_close, setup,
							 teardown, (void *)(uintptr_t)200),
		cmocka_unit_test_setup_teardown(test_other_uid_refused, setup, teardown),
		cmocka_unit_test(test_socket_files),
	};

	return cmocka_run_group_tests_name("ctl-server", tests, NULL, NULL);
}
