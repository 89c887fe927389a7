/* SPDX-License-Identifier: MIT */
/*
 * DOC: KVM plumbing
 *
 * Thin wrappers over the /dev/kvm ioctls vcoprocd uses: the system handle
 * (API version, capabilities, supported CPUID), one VM per domain with its
 * in-kernel irqchip (PIC + IOAPIC + local APIC), guest RAM as one memory
 * slot, irqfds, and vCPUs with their shared kvm_run page.
 *
 * Every function returns 0 or -errno and, on failure, leaves a message in
 * the caller's buffer (@err, @errlen) naming the ioctl that failed.
 *
 * Ownership: struct kvm_sys is opened once per process and closed after
 * every VM; a struct kvm_vm owns its vCPUs' file descriptors only through
 * struct kvm_vcpu, which its owner closes first.
 */
#ifndef VMM_KVM_H
#define VMM_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

struct kvm_sys {
	int fd;                     /* /dev/kvm */
	int run_size;               /* bytes of a vCPU's kvm_run mapping */
	struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID, malloc'd */
};

struct kvm_vm {
	int fd;
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;        /* mmap of the vCPU fd, run_size bytes */
	int run_size;
};

/**
 * kvm_sys__open() - open /dev/kvm (or the device the environment variable
 * VCOPROC_KVM_DEVICE names: tests use it to play a machine without KVM)
 * and check that it has what vcoprocd
 * needs (API 12, user memory, irqchip, irqfd, immediate exit).
 * Returns 0, or -errno with the reason in @err.
 */
int kvm_sys__open(struct kvm_sys *sys, char *err, size_t errlen);
void kvm_sys__close(struct kvm_sys *sys);

/**
 * kvm_sys__probe() - can this process run a VM with an irqchip here?
 * Returns 0, or -errno with the reason in @err.
 */
int kvm_sys__probe(char *err, size_t errlen);

/**
 * kvm_vm__create() - a VM with an in-kernel irqchip and no memory.
 * Returns 0 or -errno (the reason in @err).  Closed with kvm_vm__close().
 */
int kvm_vm__create(struct kvm_sys *sys, struct kvm_vm *vm, char *err, size_t errlen);
void kvm_vm__close(struct kvm_vm *vm);

/** kvm_vm__set_ram() - memory slot @slot: [@gpa, @gpa+@size) backed by @hva. */
int kvm_vm__set_ram(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		    void *hva, char *err, size_t errlen);

/**
 * kvm_vm__irqfd() - (@assign) make each signal of eventfd @fd raise an
 * edge on @gsi, or (!@assign) undo that.
 */
int kvm_vm__irqfd(struct kvm_vm *vm, int fd, uint32_t gsi, bool assign,
		  char *err, size_t errlen);

/**
 * kvm_vcpu__create() - vCPU @id of @vm (its local APIC ID is @id; vCPU 0
 * is the boot CPU) with the supported CPUID, the APIC ID in it, and its
 * kvm_run page mapped.  Closed with kvm_vcpu__close().
 */
int kvm_vcpu__create(struct kvm_sys *sys, struct kvm_vm *vm, unsigned int id,
		     struct kvm_vcpu *vcpu, char *err, size_t errlen);
void kvm_vcpu__close(struct kvm_vcpu *vcpu);

/**
 * kvm_vcpu__runnable() - let a vCPU other than the boot CPU run from the
 * registers the host set, without the INIT/SIPI it waits for otherwise.
 * Returns 0 or -errno (the reason in @err).
 */
int kvm_vcpu__runnable(struct kvm_vcpu *vcpu, char *err, size_t errlen);

/** kvm_vcpu__tsc_khz() - the guest TSC frequency, or 0 when KVM does not say. */
uint64_t kvm_vcpu__tsc_khz(struct kvm_vcpu *vcpu);

/** kvm_exit__name() - a static name for KVM_EXIT_@reason. */
const char *kvm_exit__name(uint32_t reason);

#endif /* VMM_KVM_H */
