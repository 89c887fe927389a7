/* SPDX-License-Identifier: MIT */
/*
 * DOC: the kvm kind of domain - one KVM VM each (vm.c)
 *
 * What a kvm domain is beyond struct dom: its RAM (one KVM memory slot
 * from guest-physical 0, and the domain's IOMMU context: the same RAM,
 * nothing else), the VM with its in-kernel irqchip, one thread per vCPU,
 * the 16550 console, the exit device, the mark and CPU ports (the board,
 * include/hw/board.h), the coprocessor's register window on the MMIO bus
 * and an eventfd bound to the coprocessor's GSI with KVM_IRQFD.
 *
 *   guest access to the window -> KVM_EXIT_MMIO -> vc_domain_mmio()
 *   device event -> framework -> irq_raise -> eventfd -> irqfd
 *     -> the domain's IOAPIC input -> a real guest interrupt
 *   device DMA -> the domain's IOMMU context (its RAM)
 *
 * A guest drives one vcoproc (its boot page lists one device), so a
 * domain file with more is refused.  bench-kvm reaches into struct kvm_dom
 * to measure; nothing else outside vm.c should.
 */
#ifndef HOST_KVM_VM_H
#define HOST_KVM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <hw/board.h>
#include <vcoproc/vcoproc.h>

#include "domain.h"
#include "exitdev.h"
#include "iobus.h"
#include "kvm.h"
#include "serial.h"

struct kvm_dom;

/** One vCPU of a domain and its thread. */
struct kvm_dom_vcpu {
	struct kvm_dom *k;
	unsigned int id;                  /* CPU and local APIC ID; 0: the BSP */
	struct kvm_vcpu kv;
	pthread_t thread;
	bool thread_started;              /* loop thread only */
};

/** A coprocessor register window on the MMIO bus. */
struct kvm_dom_window {
	struct kvm_dom *k;
	uint64_t base;
};

/** A kvm domain's machine: struct dom's kpriv. */
struct kvm_dom {
	struct dom *d;
	struct kvm_sys *kvm;
	void *ram;                        /* mmap, d->ram_size bytes */
	struct vc_iommu_region region;    /* all of RAM, writable */
	struct kvm_vm vm;
	struct kvm_dom_vcpu vcpu[BOARD_MAX_CPUS];
	unsigned int nr_vcpus;
	struct iobus pio, mmio;
	struct serial serial;
	struct exitdev exitdev;
	int irq_fd;                       /* eventfd bound to irq_gsi by irqfd; -1 */
	uint32_t irq_gsi;
	uint32_t doorbell_off;            /* the doorbell register in the window */
	struct kvm_dom_window win[VC_COPROC_MAX_MMIO];

	atomic_bool stop_req;             /* set by the loop thread, then kicks */
	pthread_mutex_t ap_lock;          /* APs wait for the BSP's BOARD_CPU_START */
	pthread_cond_t ap_cond;
	bool ap_go;                       /* protected by ap_lock */
};

/** kvm_dom_of() - @d's machine (a kvm domain's, while it lives), or NULL. */
static inline struct kvm_dom *kvm_dom_of(struct dom *d)
{
	return d->kind == &dom_kind_kvm ? d->kpriv : NULL;
}

/** kvm_dom_kick_init() - install the vCPU kick signal handler (once, main thread). */
int kvm_dom_kick_init(void);

#endif /* HOST_KVM_VM_H */
