/* SPDX-License-Identifier: MIT */
/*
 * DOC: vcoprocd --dtb / --socket (daemon.c)
 *
 * vcd_dtb_setup() registers the coprocessors of a system device tree
 * (config/sysdt.h) with the host's framework instance - each a simcp in
 * THREAD mode at the window and IOAPIC input the tree gives, checked
 * against what the board has - and makes the first one vmm->coproc (the
 * one --domain domains get).  vcd_serve() runs the control socket
 * (ctl/) on the main thread until SIGINT/SIGTERM: domains come and go with
 * create and destroy.  vcd_dtb_teardown() frees every domain and the
 * coprocessors, before vmm__destroy().
 */
#ifndef VMM_DAEMON_H
#define VMM_DAEMON_H

#include "vmm.h"

struct sysdt_fw;

int vcd_dtb_setup(struct vmm *vmm, const char *dtb, uint64_t max_np_ns, struct sysdt_fw **out);
void vcd_dtb_teardown(struct vmm *vmm, struct sysdt_fw *sf);
int vcd_serve(struct vmm *vmm, const char *sock, int sigfd);

#endif /* VMM_DAEMON_H */
