/* SPDX-License-Identifier: MIT */
/*
 * DOC: simcp's device-tree binding
 *
 * How a host makes a simcp from a system device-tree node whose compatible
 * list has "vcoproc,simcp" (docs/dt-binding.md): simcp_sysdt_platform is
 * the struct sysdt_platform to hand sysdt_register().  The node's first
 * "reg" window (at least SIMCP_MMIO_SIZE bytes) and first interrupt are
 * the device's; the device runs in THREAD mode (real time, a device
 * thread).
 *
 * simcp's own properties on the node (docs/dt-binding.md):
 *
 *   simcp,aes-rate = <bytes-per-second>   AES_CBC's rate, one cell or two
 *                                         (u64, high cell first), 10^6 to
 *                                         10^12; default 1 GB/s
 *                                         (SIMCP_DEF_AES_BW)
 *
 * Any other "simcp," property is refused, naming it.
 *
 * The board decides where a window and an interrupt may be: sysdt_register()'s
 * @opaque is a struct simcp_sysdt_board (NULL: no limits), and a node that
 * does not fit is refused with a message naming the property.
 */
#ifndef SIMCP_SYSDT_H
#define SIMCP_SYSDT_H

#include <stdint.h>

#include "sysdt.h"

/** What a board allows a simcp node; a zero upper bound means no limit. */
struct simcp_sysdt_board {
	uint64_t win_lo, win_hi;   /* a window lies in [win_lo, win_hi), page-aligned */
	uint32_t irq_lo, irq_hi;   /* its interrupt in [irq_lo, irq_hi] */
	const char *irq_what;      /* how the board calls them: "IOAPIC inputs" */
	vc_time_t max_nonpreempt;  /* the device's bound (simcp_config); 0: simcp's default */
};

#define SIMCP_DT_AES_RATE     "simcp,aes-rate"
#define SIMCP_DT_AES_RATE_MIN 1000000ull        /* 1 MB/s */
#define SIMCP_DT_AES_RATE_MAX 1000000000000ull  /* 1 TB/s */

/**
 * simcp_sysdt_check_board() - whether @cp's window and interrupt are ones
 * board @b (NULL: any) gives a device with simcp's register window: a
 * window of at least SIMCP_MMIO_SIZE, page-aligned within the board's
 * range, an interrupt among its inputs.  Returns 0, or -VC_EINVAL with
 * "property \"P\": expected ..." in @err.  For every platform that
 * presents simcp's registers (simcp, OpenCL).
 */
int simcp_sysdt_check_board(const struct simcp_sysdt_board *b,
			    const struct vc_sysconfig_coproc *cp, char *err, size_t errlen);

/** The binding, for sysdt_register(). */
extern const struct sysdt_platform simcp_sysdt_platform;

#endif /* SIMCP_SYSDT_H */
