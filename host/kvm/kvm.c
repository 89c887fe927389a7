// SPDX-License-Identifier: MIT
/*
 * DOC: KVM plumbing - implementation
 *
 * See kvm.h.  The irqchip is created before any vCPU (KVM requires it);
 * KVM_SET_TSS_ADDR is set as on any x86 VMM, at the conventional address
 * just below the BIOS area, far from guest RAM and the MMIO windows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm.h"

#define KVM_TSS_ADDR      0xfffbd000ul
#define KVM_CPUID_ENTRIES 256

static int __attribute__((format(printf, 4, 5)))
kvm__fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (err && errlen) {
		va_start(ap, fmt);
		n = vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < errlen)
			snprintf(err + n, errlen - (size_t)n, ": %s", strerror(code));
	}
	return -code;
}

int kvm_sys__open(struct kvm_sys *sys, char *err, size_t errlen)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
		{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
		{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
		{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
		{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	};
	const char *dev = getenv("VCOPROC_KVM_DEVICE");
	int r, e;

	memset(sys, 0, sizeof(*sys));
	if (!dev || !*dev)
		dev = "/dev/kvm";
	sys->fd = open(dev, O_RDWR | O_CLOEXEC);
	if (sys->fd < 0)
		return kvm__fail(err, errlen, errno, "cannot open %s", dev);
	r = ioctl(sys->fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		e = EINVAL;
		kvm__fail(err, errlen, e, "KVM API version %d, not %d", r, KVM_API_VERSION);
		goto out_close;
	}
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(sys->fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			e = ENOTSUP;
			kvm__fail(err, errlen, e, "KVM lacks %s", caps[i].name);
			goto out_close;
		}
	}
	sys->run_size = ioctl(sys->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sys->run_size < (int)sizeof(struct kvm_run)) {
		e = sys->run_size < 0 ? errno : EINVAL;
		kvm__fail(err, errlen, e, "KVM_GET_VCPU_MMAP_SIZE");
		goto out_close;
	}
	sys->cpuid = calloc(1, sizeof(*sys->cpuid) +
			       KVM_CPUID_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (!sys->cpuid) {
		e = ENOMEM;
		kvm__fail(err, errlen, e, "CPUID table");
		goto out_close;
	}
	sys->cpuid->nent = KVM_CPUID_ENTRIES;
	if (ioctl(sys->fd, KVM_GET_SUPPORTED_CPUID, sys->cpuid) < 0) {
		e = errno;
		kvm__fail(err, errlen, e, "KVM_GET_SUPPORTED_CPUID");
		goto out_cpuid;
	}
	return 0;

out_cpuid:
	free(sys->cpuid);
	sys->cpuid = NULL;
out_close:
	close(sys->fd);
	sys->fd = -1;
	return -e;
}

void kvm_sys__close(struct kvm_sys *sys)
{
	if (sys->fd >= 0)
		close(sys->fd);
	sys->fd = -1;
	free(sys->cpuid);
	sys->cpuid = NULL;
}

int kvm_vm__create(struct kvm_sys *sys, struct kvm_vm *vm, char *err, size_t errlen)
{
	int e;

	vm->fd = ioctl(sys->fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		return kvm__fail(err, errlen, errno, "KVM_CREATE_VM");
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		e = errno;
		kvm__fail(err, errlen, e, "KVM_SET_TSS_ADDR");
		goto out_vm;
	}
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		e = errno;
		kvm__fail(err, errlen, e, "KVM_CREATE_IRQCHIP");
		goto out_vm;
	}
	return 0;

out_vm:
	close(vm->fd);
	vm->fd = -1;
	return -e;
}

void kvm_vm__close(struct kvm_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
}

int kvm_vm__set_ram(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		    void *hva, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return kvm__fail(err, errlen, errno, "KVM_SET_USER_MEMORY_REGION");
	return 0;
}

int kvm_vm__irqfd(struct kvm_vm *vm, int fd, uint32_t gsi, bool assign,
		  char *err, size_t errlen)
{
	struct kvm_irqfd irqfd = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	if (ioctl(vm->fd, KVM_IRQFD, &irqfd) < 0)
		return kvm__fail(err, errlen, errno, "KVM_IRQFD (gsi %u, %s)", gsi,
				 assign ? "assign" : "deassign");
	return 0;
}

/*
 * A copy of the supported CPUID with @id as the initial APIC ID (leaf 1
 * EBX[31:24]) and x2APIC ID (leaves 0xb and 0x1f EDX), as a CPU reports
 * its own.  Freed by the caller; NULL when out of memory.
 */
static struct kvm_cpuid2 *kvm_cpuid_for(const struct kvm_sys *sys, unsigned int id)
{
	size_t size = sizeof(*sys->cpuid) + sys->cpuid->nent * sizeof(sys->cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(size);

	if (!c)
		return NULL;
	memcpy(c, sys->cpuid, size);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (uint32_t)id << 24;
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = id;
	}
	return c;
}

int kvm_vcpu__create(struct kvm_sys *sys, struct kvm_vm *vm, unsigned int id,
		     struct kvm_vcpu *vcpu, char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid;
	void *run;
	int e;

	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0)
		return kvm__fail(err, errlen, errno, "KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)sys->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED) {
		e = errno;
		kvm__fail(err, errlen, e, "mmap of kvm_run");
		goto out_vcpu;
	}
	vcpu->run = run;
	vcpu->run_size = sys->run_size;
	cpuid = kvm_cpuid_for(sys, id);
	if (!cpuid) {
		e = ENOMEM;
		kvm__fail(err, errlen, e, "CPUID of vCPU %u", id);
		goto out_run;
	}
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) < 0) {
		e = errno;
		free(cpuid);
		kvm__fail(err, errlen, e, "KVM_SET_CPUID2");
		goto out_run;
	}
	free(cpuid);
	return 0;

out_run:
	munmap(vcpu->run, (size_t)vcpu->run_size);
	vcpu->run = NULL;
out_vcpu:
	close(vcpu->fd);
	vcpu->fd = -1;
	return -e;
}

int kvm_vcpu__runnable(struct kvm_vcpu *vcpu, char *err, size_t errlen)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		return kvm__fail(err, errlen, errno, "KVM_SET_MP_STATE");
	return 0;
}

void kvm_vcpu__close(struct kvm_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->run_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}

uint64_t kvm_vcpu__tsc_khz(struct kvm_vcpu *vcpu)
{
	int r = ioctl(vcpu->fd, KVM_GET_TSC_KHZ, 0);

	return r > 0 ? (uint64_t)r : 0;
}

const char *kvm_exit__name(uint32_t reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "unknown",
		[KVM_EXIT_EXCEPTION] = "exception",
		[KVM_EXIT_IO] = "io",
		[KVM_EXIT_HYPERCALL] = "hypercall",
		[KVM_EXIT_DEBUG] = "debug",
		[KVM_EXIT_HLT] = "hlt",
		[KVM_EXIT_MMIO] = "mmio",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq window open",
		[KVM_EXIT_SHUTDOWN] = "shutdown (triple fault)",
		[KVM_EXIT_FAIL_ENTRY] = "entry failure",
		[KVM_EXIT_INTR] = "interrupted",
		[KVM_EXIT_NMI] = "nmi",
		[KVM_EXIT_INTERNAL_ERROR] = "internal error",
		[KVM_EXIT_SYSTEM_EVENT] = "system event",
	};

	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "other";
}

int kvm_sys__probe(char *err, size_t errlen)
{
	struct kvm_sys sys;
	struct kvm_vm vm;
	int r;

	r = kvm_sys__open(&sys, err, errlen);
	if (r)
		return r;
	r = kvm_vm__create(&sys, &vm, err, errlen);
	if (!r)
		kvm_vm__close(&vm);
	kvm_sys__close(&sys);
	return r;
}
