/* SPDX-License-Identifier: MIT */
/*
 * DOC: guest boot - ELF loading and 64-bit entry
 *
 * What the host does before a guest's first instruction (guest/board.h):
 * load the static ELF image into RAM, build identity page tables and a
 * GDT in the board's reserved low pages, and put the vCPU straight into
 * 64-bit long mode at the entry point.
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "kvm.h"

/**
 * boot__load_elf() - load the ELF64 x86-64 executable @path into @ram
 * (guest-physical 0 .. @ram_size): every PT_LOAD segment at its physical
 * address, which must lie at or above BOARD_KERNEL_GPA and inside RAM;
 * the rest of each segment zeroed.  Stores the entry point in *@entry.
 * The file is not trusted: every offset and size is checked.
 * Returns 0 or -errno with the reason in @err.
 */
int boot__load_elf(const char *path, void *ram, uint64_t ram_size, uint64_t *entry,
		   char *err, size_t errlen);

/** boot__page_tables() - write the GDT and the 4 GiB identity map into @ram. */
void boot__page_tables(void *ram);

/**
 * boot__vcpu_long_mode() - registers of CPU @cpu entering @entry in 64-bit
 * mode with RDI = @arg, RSI = @cpu and RSP = @rsp, interrupts off, paging
 * on the tables of boot__page_tables() (guest/board.h: the BSP gets RSP 0,
 * an AP its stack).  Returns 0 or -errno with the reason in @err.
 */
int boot__vcpu_long_mode(struct kvm_vcpu *vcpu, uint64_t entry, uint64_t arg,
			 unsigned int cpu, uint64_t rsp, char *err, size_t errlen);

#endif /* VMM_BOOT_H */
