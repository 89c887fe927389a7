/* SPDX-License-Identifier: MIT */
/*
 * Death tests for VC_ASSERT(): run a function in a child process with its
 * standard error captured, and report how the child ended.  An assertion
 * of the core ends in vc_os_assert_fail(), which (os/posix.c, os/vtime.c)
 * prints "assertion failed: <expr>" and abort()s.
 */
#ifndef VCOPROC_TEST_DEATH_H
#define VCOPROC_TEST_DEATH_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * death_run() - run @fn(@arg) in a child; what it wrote to stderr goes to
 * @out (NUL-terminated, cut at @size).  Returns the signal that ended the
 * child, 0 when it returned from @fn, -1 when it could not be run.
 */
static inline int death_run(void (*fn)(void *arg), void *arg, char *out, size_t size)
{
	size_t len = 0;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	while (len + 1 < size && (n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return WTERMSIG(status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

#endif /* VCOPROC_TEST_DEATH_H */
