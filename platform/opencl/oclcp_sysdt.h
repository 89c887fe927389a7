/* SPDX-License-Identifier: MIT */
/*
 * DOC: the OpenCL platform's device-tree binding
 *
 * oclcp_sysdt_platform makes an OpenCL coprocessor from a physical node
 * whose compatible list has "vcoproc,opencl" (docs/opencl.md,
 * docs/dt-binding.md).  Its window (at least SIMCP_MMIO_SIZE) and first
 * interrupt are checked against the board as simcp's are:
 * sysdt_register()'s @opaque is a struct simcp_sysdt_board (NULL: no
 * limits).  Its own properties, each one cell (or two for a u64):
 *
 *   opencl,platform = <index>        OpenCL platform (default 0)
 *   opencl,device = <index>          device of that platform (default 0)
 *   opencl,ctx-size = <bytes>        scratch per context, 4 KiB multiple,
 *                                    4 KiB .. 16 MiB (default 64 KiB)
 *   opencl,residency = <0|1|2>       auto, always, never (default auto)
 *   opencl,resident-bytes = <bytes>  device memory for resident contexts
 *                                    (default a quarter of the device's)
 *
 * Any other "opencl," property is refused, naming it.
 */
#ifndef OCLCP_SYSDT_H
#define OCLCP_SYSDT_H

#include "sysdt.h"

#define OCLCP_DT_COMPATIBLE "vcoproc,opencl"

extern const struct sysdt_platform oclcp_sysdt_platform;

#endif /* OCLCP_SYSDT_H */
