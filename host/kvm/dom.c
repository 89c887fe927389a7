// SPDX-License-Identifier: MIT
/*
 * DOC: domains - one KVM VM each
 *
 * Building a domain (dom__create()), in order: its RAM (anonymous memory,
 * one KVM memory slot at guest-physical 0, and the IOMMU context the
 * coprocessor's DMA goes through: the same RAM, nothing else), the VM with
 * its in-kernel irqchip, the guest image and the boot page, the vCPU in
 * long mode, the console and the exit device on its port bus, the
 * framework domain, and - when it has a vcoproc - the coprocessor's
 * windows on its MMIO bus and an eventfd bound to the coprocessor's GSI
 * with KVM_IRQFD.
 *
 * The vCPU thread loops on KVM_RUN and dispatches port I/O and MMIO exits
 * to the domain's buses; MMIO in a coprocessor window goes to
 * vc_domain_mmio(), which forwards it to the device or emulates it on the
 * domain's saved context.  The mark port (BOARD_MARK_PORT) records when the
 * guest's workload begins and ends keeping the device busy.  It stops when the guest writes the exit device,
 * on any exit it cannot handle (triple fault, emulation failure: the
 * domain fails alone) or when the main thread asks.
 *
 * Stopping a vCPU: the main thread sets stop_req and sends SIGUSR1 to the
 * thread; the handler sets the vCPU's kvm_run.immediate_exit, so a
 * KVM_RUN in progress or about to start returns -EINTR and the loop sees
 * stop_req (KVM_CAP_IMMEDIATE_EXIT: no race with the check).
 *
 * Teardown order (dom__teardown()): vCPU thread joined, so the guest
 * touches nothing more; framework domain destroyed, so its context leaves
 * the device and no interrupt is raised for it any more; irqfd unbound;
 * vCPU and VM closed; RAM unmapped - no DMA can reach it by then.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "vmm.h"

#define DOM_KICK_SIGNAL SIGUSR1

/* The kvm_run of the vCPU this thread runs, for the kick handler. */
static __thread struct kvm_run *volatile tls_run;

static void dom_kick_handler(int sig)
{
	struct kvm_run *run = tls_run;

	(void)sig;
	if (run)
		run->immediate_exit = 1;
}

int dom__kick_init(void)
{
	struct sigaction sa = { .sa_handler = dom_kick_handler };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	return sigaction(DOM_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

const char *dom__state_name(enum dom_state s)
{
	switch (s) {
	case DOM_NEW: return "new";
	case DOM_RUNNING: return "running";
	case DOM_EXITED: return "exited";
	case DOM_FAILED: return "failed";
	case DOM_STOPPED: return "stopped";
	}
	return "?";
}

/* ---- interrupts ------------------------------------------------------------ */

void dom__irq_raise(void *host_dom, uint32_t irq)
{
	struct dom *d = host_dom;
	uint64_t one = 1;

	if (d->irq_fd < 0 || irq != d->irq_gsi)
		return;
	atomic_fetch_add_explicit(&d->exits.irqs_raised, 1, memory_order_relaxed);
	/* An eventfd write cannot block here (the counter never nears its max). */
	if (write(d->irq_fd, &one, sizeof(one)) != sizeof(one))
		vmm__log("%s: irqfd write: %s", d->cfg.name, strerror(errno));
}

/* ---- the coprocessor's register window --------------------------------------- */

static enum io_result dom_win_read(void *priv, uint64_t off, void *data, unsigned int len)
{
	struct dom_window *w = priv;
	uint64_t v = ~0ull;

	(void)vc_domain_mmio(w->d->vd, w->base + off, len, false, &v);
	memcpy(data, &v, len);
	return IO_DONE;
}

/*
 * A doorbell write is also classified by where the framework sent it: its
 * vcoproc's mmio_emulated count moves when the write went to the saved
 * context (another context, or none, was on the device).  Only this vCPU
 * accesses this vcoproc's window, so the difference is this write's.
 */
static enum io_result dom_win_write(void *priv, uint64_t off, const void *data,
				    unsigned int len)
{
	struct dom_window *w = priv;
	struct dom *d = w->d;
	struct vc_vcoproc_stats before, after;
	bool doorbell = off == d->vmm->doorbell_off && d->vv;
	uint64_t v = 0;

	memcpy(&v, data, len);
	if (doorbell)
		vc_vcoproc_stats(d->vv, &before);
	(void)vc_domain_mmio(d->vd, w->base + off, len, true, &v);
	if (doorbell) {
		vc_vcoproc_stats(d->vv, &after);
		atomic_fetch_add_explicit(after.mmio_emulated != before.mmio_emulated ?
					  &d->exits.doorbells_emulated :
					  &d->exits.doorbells_forwarded, 1, memory_order_relaxed);
	}
	return IO_DONE;
}

static const struct io_ops dom_win_ops = {
	.read = dom_win_read,
	.write = dom_win_write,
};

/* ---- the mark port ----------------------------------------------------------------- */

/* A guest's BOARD_MARK_*: keep the time of the first one, wake the main thread. */
static enum io_result dom_mark_write(void *priv, uint64_t off, const void *data,
				     unsigned int len)
{
	struct dom *d = priv;
	uint64_t expected = 0, one = 1;
	uint32_t m = 0;

	if (off || len != 4)
		return IO_DONE;
	memcpy(&m, data, sizeof(m));
	if (!m || m > BOARD_MARK_MAX)
		return IO_DONE;
	if (atomic_compare_exchange_strong(&d->mark_ns[m], &expected, vmm__now()) &&
	    write(d->vmm->notify_fd, &one, sizeof(one)) != sizeof(one))
		vmm__log("%s: notify: %s", d->cfg.name, strerror(errno));
	return IO_DONE;
}

static enum io_result dom_mark_read(void *priv, uint64_t off, void *data, unsigned int len)
{
	(void)priv;
	(void)off;
	memset(data, 0, len);
	return IO_DONE;
}

static const struct io_ops dom_mark_ops = {
	.read = dom_mark_read,
	.write = dom_mark_write,
};

/* ---- the vCPU thread ---------------------------------------------------------- */

static void __attribute__((format(printf, 2, 3))) dom_fail(struct dom *d, const char *fmt, ...)
{
	struct kvm_regs regs;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(d->fail, sizeof(d->fail), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(d->fail) && !ioctl(d->vcpu.fd, KVM_GET_REGS, &regs))
		snprintf(d->fail + n, sizeof(d->fail) - (size_t)n, " (rip %#llx)",
			 (unsigned long long)regs.rip);
	d->state = DOM_FAILED;
}

static void dom_unhandled(struct dom *d, unsigned int *count, const char *bus,
			  uint64_t addr, unsigned int len, bool write)
{
	if ((*count)++ < d->vmm->unhandled_log)
		vmm__log("%s: unhandled %s %s of %u bytes at %#llx", d->cfg.name, bus,
			 write ? "write" : "read", len, (unsigned long long)addr);
}

/* Handle the exit in vcpu.run; false when the vCPU must stop. */
static bool dom_handle_exit(struct dom *d, unsigned int *unhandled)
{
	struct kvm_run *run = d->vcpu.run;
	enum io_result r = IO_DONE;

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *p = (uint8_t *)run + run->io.data_offset;
		bool out = run->io.direction == KVM_EXIT_IO_OUT;

		atomic_fetch_add_explicit(&d->exits.pio, 1, memory_order_relaxed);
		for (uint32_t i = 0; i < run->io.count && r != IO_STOP; i++) {
			r = iobus__access(&d->pio, run->io.port, p + i * run->io.size,
					  run->io.size, out);
			if (r == IO_UNHANDLED)
				dom_unhandled(d, unhandled, "port", run->io.port, run->io.size, out);
		}
		break;
	}
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&d->exits.mmio, 1, memory_order_relaxed);
		r = iobus__access(&d->mmio, run->mmio.phys_addr, run->mmio.data,
				  run->mmio.len, run->mmio.is_write);
		if (r == IO_UNHANDLED)
			dom_unhandled(d, unhandled, "mmio", run->mmio.phys_addr, run->mmio.len,
				      run->mmio.is_write);
		break;
	case KVM_EXIT_INTR:
		atomic_fetch_add_explicit(&d->exits.intr, 1, memory_order_relaxed);
		break;
	case KVM_EXIT_SHUTDOWN:
		dom_fail(d, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		dom_fail(d, "KVM internal error, suberror %u", run->internal.suberror);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		dom_fail(d, "VM entry failed, reason %#llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		dom_fail(d, "unexpected exit %u (%s)", run->exit_reason,
			 kvm_exit__name(run->exit_reason));
		return false;
	}
	if (r == IO_STOP) {
		d->state = DOM_EXITED;
		return false;
	}
	return true;
}

static void *dom_vcpu_thread(void *arg)
{
	struct dom *d = arg;
	unsigned int unhandled = 0;
	uint64_t one = 1;

	tls_run = d->vcpu.run;
	for (;;) {
		if (atomic_load(&d->stop_req)) {
			d->state = DOM_STOPPED;
			break;
		}
		if (ioctl(d->vcpu.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				d->vcpu.run->immediate_exit = 0;
				continue;
			}
			dom_fail(d, "KVM_RUN: %s", strerror(errno));
			break;
		}
		if (!dom_handle_exit(d, &unhandled))
			break;
	}
	tls_run = NULL;
	atomic_store(&d->finished, true);
	if (write(d->vmm->notify_fd, &one, sizeof(one)) != sizeof(one))
		vmm__log("%s: notify: %s", d->cfg.name, strerror(errno));
	return NULL;
}

int dom__start(struct dom *d)
{
	int r;

	d->state = DOM_RUNNING;
	d->started_ns = vmm__now();
	r = pthread_create(&d->thread, NULL, dom_vcpu_thread, d);
	if (r) {
		d->state = DOM_NEW;
		return -r;
	}
	d->thread_started = true;
	return 0;
}

void dom__stop(struct dom *d)
{
	if (!d->thread_started)
		return;
	atomic_store(&d->stop_req, true);
	pthread_kill(d->thread, DOM_KICK_SIGNAL);
	pthread_join(d->thread, NULL);
	d->thread_started = false;
	if (!d->ended_ns)
		d->ended_ns = vmm__now();
}

/* ---- building ---------------------------------------------------------------- */

static int __attribute__((format(printf, 4, 5)))
dom_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code < 0 ? code : -code;
}

/* The boot page: who the domain is and what the board has. */
static void dom_board_info(struct dom *d)
{
	struct board_info *bi = (struct board_info *)((uint8_t *)d->ram + BOARD_INFO_GPA);

	memset(bi, 0, sizeof(*bi));
	bi->magic = BOARD_INFO_MAGIC;
	bi->version = BOARD_INFO_VERSION;
	bi->ram_size = d->cfg.ram_size;
	bi->tsc_khz = kvm_vcpu__tsc_khz(&d->vcpu);
	bi->run_ns = d->vmm->run_ns;
	bi->domid = d->domid;
	snprintf(bi->name, sizeof(bi->name), "%s", d->cfg.name);
	snprintf(bi->cmdline, sizeof(bi->cmdline), "%s", d->cfg.cmdline);
	if (d->vv) {
		const struct vc_coproc_desc *desc = vc_coproc_desc(d->vmm->coproc);
		struct board_dev *dev = &bi->devs[bi->nr_devs++];

		snprintf(dev->compatible, sizeof(dev->compatible), "%s", desc->compatible);
		dev->base = desc->mmio[0].base;
		dev->size = desc->mmio[0].size;
		dev->gsi = desc->irqs[0];
	}
}

/* Give @d its vcoproc on simcp0: the windows, the irqfd, the vcoproc. */
static int dom_attach_coproc(struct dom *d, char *err, size_t errlen)
{
	const struct vc_coproc_desc *desc = vc_coproc_desc(d->vmm->coproc);
	int r;

	for (unsigned int i = 0; i < desc->nr_mmio; i++) {
		d->win[i] = (struct dom_window){ .d = d, .base = desc->mmio[i].base };
		r = iobus__register(&d->mmio, desc->mmio[i].base, desc->mmio[i].size,
				    &dom_win_ops, &d->win[i]);
		if (r)
			return dom_err(err, errlen, r, "%s: window %u: %s", d->cfg.name, i,
				       strerror(-r));
	}
	d->irq_gsi = desc->irqs[0];
	d->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irq_fd < 0)
		return dom_err(err, errlen, errno, "%s: eventfd: %s", d->cfg.name,
			       strerror(errno));
	r = kvm_vm__irqfd(&d->vm, d->irq_fd, d->irq_gsi, true, err, errlen);
	if (r)
		goto out_eventfd;
	r = vc_vcoproc_create(d->vd, d->vmm->coproc, d->cfg.params, d->cfg.nr_params, &d->vv);
	if (r) {
		dom_err(err, errlen, r, "%s: vcoproc on %s: %s", d->cfg.name,
			vc_coproc_name(d->vmm->coproc),
			r == -VC_ENOSPC ? "refused by admission control" : vc_strerror(r));
		goto out_irqfd;
	}
	return 0;

out_irqfd:
	kvm_vm__irqfd(&d->vm, d->irq_fd, d->irq_gsi, false, NULL, 0);
out_eventfd:
	close(d->irq_fd);
	d->irq_fd = -1;
	return r;
}

int dom__create(struct vmm *vmm, const struct dom_cfg *cfg, uint32_t domid,
		struct dom **out, char *err, size_t errlen)
{
	char log_path[PATH_MAX] = "";
	uint64_t entry;
	struct dom *d;
	int r;

	if (cfg->ram_size < BOARD_RAM_MIN || cfg->ram_size > BOARD_RAM_MAX ||
	    cfg->ram_size % (2u << 20))
		return dom_err(err, errlen, EINVAL,
			       "%s: memory must be a multiple of 2 MiB from %llu to %llu MiB",
			       cfg->name, BOARD_RAM_MIN >> 20, BOARD_RAM_MAX >> 20);
	d = calloc(1, sizeof(*d));
	if (!d)
		return dom_err(err, errlen, ENOMEM, "out of memory");
	d->vmm = vmm;
	d->cfg = *cfg;
	d->domid = domid;
	d->irq_fd = -1;
	d->vm.fd = d->vcpu.fd = -1;
	iobus__init(&d->pio, "port");
	iobus__init(&d->mmio, "mmio");

	d->ram = mmap(NULL, cfg->ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (d->ram == MAP_FAILED) {
		r = dom_err(err, errlen, errno, "%s: %llu MiB of RAM: %s", cfg->name,
			    (unsigned long long)(cfg->ram_size >> 20), strerror(errno));
		goto out_free;
	}
	d->region = (struct vc_iommu_region){
		.gpa = 0, .size = cfg->ram_size, .hva = d->ram, .writable = true,
	};
	d->iommu = (struct vc_iommu){ .regions = &d->region, .nr_regions = 1 };

	r = kvm_vm__create(&vmm->kvm, &d->vm, err, errlen);
	if (r)
		goto out_ram;
	r = kvm_vm__set_ram(&d->vm, 0, 0, cfg->ram_size, d->ram, err, errlen);
	if (r)
		goto out_vm;
	r = boot__load_elf(cfg->kernel, d->ram, cfg->ram_size, &entry, err, errlen);
	if (r)
		goto out_vm;
	boot__page_tables(d->ram);
	r = kvm_vcpu__create(&vmm->kvm, &d->vm, 0, &d->vcpu, err, errlen);
	if (r)
		goto out_vm;
	r = boot__vcpu_long_mode(&d->vcpu, entry, BOARD_INFO_GPA, err, errlen);
	if (r)
		goto out_vcpu;

	if (vmm->log_dir)
		snprintf(log_path, sizeof(log_path), "%s/%s.log", vmm->log_dir, cfg->name);
	r = serial__init(&d->serial, cfg->name, vmm->log_dir ? log_path : NULL, vmm->echo);
	if (r) {
		dom_err(err, errlen, r, "%s: %s: %s", cfg->name, log_path, strerror(-r));
		goto out_vcpu;
	}
	r = serial__register(&d->serial, &d->pio);
	if (!r)
		r = exitdev__register(&d->exitdev, &d->pio);
	if (!r)
		r = iobus__register(&d->pio, BOARD_MARK_PORT, 4, &dom_mark_ops, d);
	if (r) {
		dom_err(err, errlen, r, "%s: ports: %s", cfg->name, strerror(-r));
		goto out_serial;
	}

	r = vc_domain_create(vmm->fw, domid, cfg->name, &d->iommu, d, &d->vd);
	if (r) {
		dom_err(err, errlen, r, "%s: framework domain: %s", cfg->name, vc_strerror(r));
		goto out_serial;
	}
	if (cfg->vcoproc && vmm->coproc) {
		r = dom_attach_coproc(d, err, errlen);
		if (r)
			goto out_domain;
	}
	dom_board_info(d);
	if (!((struct board_info *)((uint8_t *)d->ram + BOARD_INFO_GPA))->tsc_khz)
		vmm__log("%s: KVM does not tell the TSC frequency; the guest will stop",
			 cfg->name);
	*out = d;
	return 0;

out_domain:
	vc_domain_destroy(d->vd);
out_serial:
	serial__exit(&d->serial);
out_vcpu:
	kvm_vcpu__close(&d->vcpu);
out_vm:
	kvm_vm__close(&d->vm);
out_ram:
	munmap(d->ram, cfg->ram_size);
out_free:
	iobus__exit(&d->pio);
	iobus__exit(&d->mmio);
	free(d);
	return r;
}

void dom__snapshot(struct dom *d)
{
	if (d->vv)
		vc_vcoproc_stats(d->vv, &d->last);
}

void dom__teardown(struct dom *d)
{
	if (d->reaped)
		return;
	dom__stop(d);
	dom__snapshot(d);
	memcpy(d->result, d->serial.result, sizeof(d->result));
	vc_domain_destroy(d->vd); /* its vcoproc first */
	d->vd = NULL;
	d->vv = NULL;
	if (d->irq_fd >= 0) {
		kvm_vm__irqfd(&d->vm, d->irq_fd, d->irq_gsi, false, NULL, 0);
		close(d->irq_fd);
		d->irq_fd = -1;
	}
	kvm_vcpu__close(&d->vcpu);
	kvm_vm__close(&d->vm);
	munmap(d->ram, d->cfg.ram_size);
	d->ram = NULL;
	serial__exit(&d->serial);
	iobus__exit(&d->pio);
	iobus__exit(&d->mmio);
	d->reaped = true;
}

void dom__free(struct dom *d)
{
	if (!d)
		return;
	dom__teardown(d);
	free(d);
}
