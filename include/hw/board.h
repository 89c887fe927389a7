/* SPDX-License-Identifier: MIT */
/*
 * DOC: the vcoproc board - what a guest sees
 *
 * The contract between host/kvm (vcoprocd) and the guest runtime (guest/):
 * the guest-physical memory map, the I/O ports, and the boot information
 * page.  Both sides include this file; it needs only stdint.h.
 *
 * A guest is a static x86-64 ELF linked at BOARD_KERNEL_GPA.  The host
 * loads it into the domain's RAM (which starts at guest-physical 0), builds
 * identity page tables over the first 4 GiB (2 MiB pages, uncached above
 * BOARD_MMIO_START) and a GDT in the reserved low pages, and starts the
 * boot vCPU (CPU 0, the BSP) in 64-bit long mode at the ELF entry with
 * interrupts off, RDI = BOARD_INFO_GPA, RSI = 0 and RSP = 0 (the guest sets
 * its own stack).
 *
 * CPUs: board_info.nr_cpus vCPUs, CPU n with local APIC ID n.  The others
 * (APs) need no INIT/SIPI: each is already in long mode, set up like the
 * BSP but with RSI = n and RSP = BOARD_AP_STACK_TOP(n), and waits until
 * the guest writes BOARD_CPU_START to BOARD_CPU_PORT; then they all enter
 * the ELF entry at once.  The guest must have its IDT and whatever else
 * the APs use ready before it writes.
 *
 * Memory map:
 *
 *   0x00000000 .. 0x00001000   not used (never written by the host)
 *   0x00001000                 struct board_info (one page)
 *   0x00002000                 GDT
 *   0x00003000 .. 0x00009000   page tables (PML4, PDPT, four PDs)
 *   0x00010000 .. 0x0002c000   AP stacks, BOARD_AP_STACK_SIZE each (CPU 1 first)
 *   0x00100000 ..              the guest image, then its free RAM up to
 *                              board_info.ram_size
 *   0xfe000000 ..              coprocessor windows (board_info.devs[])
 *   0xfec00000                 IOAPIC
 *   0xfee00000                 local APIC
 *
 * I/O ports: a 16550 UART at 0x3f8 (transmit side; no interrupt), the
 * exit device at BOARD_EXIT_PORT: a 32-bit OUT of a status ends the guest
 * (all of its CPUs), 0 meaning pass, the mark port at BOARD_MARK_PORT: a
 * 32-bit OUT of a BOARD_MARK_* value tells the host where the workload
 * is, so that it can measure over the time every domain keeps its devices
 * busy, and the CPU port at BOARD_CPU_PORT (above).
 */
#ifndef VCOPROC_BOARD_H
#define VCOPROC_BOARD_H

#include <stdint.h>

#define BOARD_INFO_GPA     0x1000ull
#define BOARD_GDT_GPA      0x2000ull
#define BOARD_PML4_GPA     0x3000ull
#define BOARD_PDPT_GPA     0x4000ull
#define BOARD_PD_GPA       0x5000ull  /* four pages: 4 GiB of 2 MiB pages */
#define BOARD_AP_STACK_GPA 0x10000ull
#define BOARD_AP_STACK_SIZE 0x4000ull
/* Initial RSP of AP @n (1 .. BOARD_MAX_CPUS - 1): the top of its stack. */
#define BOARD_AP_STACK_TOP(n) (BOARD_AP_STACK_GPA + (uint64_t)(n) * BOARD_AP_STACK_SIZE)
#define BOARD_KERNEL_GPA   0x100000ull
#define BOARD_MMIO_START   0xc0000000ull /* RAM ends below; uncached above */
#define BOARD_IOAPIC_GPA   0xfec00000ull
#define BOARD_LAPIC_GPA    0xfee00000ull

#define BOARD_RAM_MIN      (4ull << 20)
#define BOARD_RAM_MAX      BOARD_MMIO_START

/* GDT selectors the host sets up. */
#define BOARD_SEL_CODE64   0x08
#define BOARD_SEL_DATA     0x10

#define BOARD_COM1_PORT    0x3f8
#define BOARD_EXIT_PORT    0x501
#define BOARD_MARK_PORT    0x510
#define BOARD_CPU_PORT     0x520

/* CPUs (BOARD_CPU_PORT): a 32-bit OUT of BOARD_CPU_START starts the APs. */
#define BOARD_MAX_CPUS     8
#define BOARD_CPU_START    1u

/* The AP stacks lie between the page tables and the image. */
_Static_assert(BOARD_AP_STACK_GPA >= BOARD_PD_GPA + 4 * 0x1000 &&
	       BOARD_AP_STACK_TOP(BOARD_MAX_CPUS - 1) <= BOARD_KERNEL_GPA,
	       "AP stacks overlap the board's other areas");

/*
 * Marks (BOARD_MARK_PORT).  The host keeps the time each one was first
 * written; other values are ignored.
 */
#define BOARD_MARK_BUSY    1u  /* from now on the workload keeps work queued */
#define BOARD_MARK_DONE    2u  /* it stops submitting (what is queued drains) */
#define BOARD_MARK_MAX     2u

/* Exit statuses with a meaning for the host; others are the guest's own. */
#define BOARD_EXIT_PASS    0u
#define BOARD_EXIT_FAIL    1u
#define BOARD_EXIT_PANIC   2u  /* unexpected exception, assertion */

#define BOARD_INFO_MAGIC   0x4f425643u /* "CVBO" */
#define BOARD_INFO_VERSION 2u
#define BOARD_NAME_MAX     32
#define BOARD_CMDLINE_MAX  512
#define BOARD_MAX_DEVS     4

/*
 * The compatibles of devices that present simcp's register window
 * (include/hw/simcp_hw.h): simcp itself, and the OpenCL platform
 * (docs/opencl.md).  A guest's simcp driver binds to any of them, as a
 * Linux driver's match table lists the devices it drives.
 */
#define BOARD_SIMCP_COMPATIBLES { "vcoproc,simcp", "vcoproc,opencl" }

/** A device of the board, as the host describes it to the guest. */
struct board_dev {
	char compatible[BOARD_NAME_MAX]; /* "vcoproc,simcp" */
	uint64_t base;                   /* guest-physical register window */
	uint64_t size;
	uint32_t gsi;                    /* IOAPIC input of its interrupt */
	uint32_t pad;
};

/** The boot information page at BOARD_INFO_GPA, written by the host. */
struct board_info {
	uint32_t magic;          /* BOARD_INFO_MAGIC */
	uint32_t version;        /* BOARD_INFO_VERSION */
	uint64_t ram_size;       /* bytes of RAM from guest-physical 0 */
	uint64_t tsc_khz;        /* TSC frequency; 0 if unknown */
	uint64_t run_ns;         /* how long the workload should run; 0: its default */
	uint32_t domid;
	uint32_t nr_devs;
	char name[BOARD_NAME_MAX];        /* domain name, NUL-terminated */
	char cmdline[BOARD_CMDLINE_MAX];  /* "key=value key=value", NUL-terminated */
	struct board_dev devs[BOARD_MAX_DEVS];
	uint32_t nr_cpus;        /* 1 .. BOARD_MAX_CPUS; CPU n has local APIC ID n */
	uint32_t pad;
};

#endif /* VCOPROC_BOARD_H */
