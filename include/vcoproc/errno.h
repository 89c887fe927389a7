/* SPDX-License-Identifier: MIT */
/*
 * DOC: error codes
 *
 * The core returns 0 or a negative error code.  The core cannot include
 * libc's <errno.h>, so the codes it uses are defined here with the values
 * Linux gives them; on Linux hosts -VC_EINVAL == -EINVAL and strerror()
 * works too.  vc_strerror() names them without libc.
 */
#ifndef VCOPROC_ERRNO_H
#define VCOPROC_ERRNO_H

#define VC_EPERM        1
#define VC_ENOENT       2
#define VC_EIO          5
#define VC_E2BIG        7
#define VC_EAGAIN      11
#define VC_ENOMEM      12
#define VC_EFAULT      14
#define VC_EBUSY       16
#define VC_EEXIST      17
#define VC_ENODEV      19
#define VC_EINVAL      22
#define VC_ENOSPC      28
#define VC_ERANGE      34
#define VC_ENOSYS      38
#define VC_ETIMEDOUT  110
#define VC_EINPROGRESS 115

/**
 * vc_strerror() - a static description of error @err (negative or positive).
 * Never NULL.
 */
const char *vc_strerror(int err);

#endif /* VCOPROC_ERRNO_H */
