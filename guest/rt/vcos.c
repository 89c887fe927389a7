// SPDX-License-Identifier: MIT
/*
 * DOC: vcos - the guest as an os.h environment
 *
 * The runtime links the core's utilities (core/util.c: the formatter,
 * string and number helpers) rather than carrying copies; these are the
 * parts of include/vcoproc/os.h they reach for.
 */
#include <vcoproc/os.h>

#include "rt.h"

void *vc_os_zalloc(size_t size)
{
	return mem__zalloc(size, 16);
}

void vc_os_free(void *p)
{
	if (p)
		mem__free(p);
}

void vc_os_log(enum vc_log_level level, const char *line)
{
	(void)level;
	printf("%s\n", line);
}
