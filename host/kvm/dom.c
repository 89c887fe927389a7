// SPDX-License-Identifier: MIT
/*
 * DOC: domains - one KVM VM each
 *
 * Building a domain (dom__create()), in order: its RAM (anonymous memory,
 * one KVM memory slot at guest-physical 0, and the IOMMU context the
 * coprocessor's DMA goes through: the same RAM, nothing else), the VM with
 * its in-kernel irqchip, the guest image and the boot page, the vCPUs in
 * long mode (vCPU n has local APIC ID n; the APs are made runnable with
 * their own entry registers, guest/board.h), the console, the exit device
 * and the CPU port on its port bus, the framework domain, and - when it
 * has a vcoproc - the coprocessor's windows on its MMIO bus and an eventfd
 * bound to the coprocessor's GSI with KVM_IRQFD.
 *
 * Each vCPU thread loops on KVM_RUN and dispatches port I/O and MMIO exits
 * to the domain's buses; MMIO in a coprocessor window goes to
 * vc_domain_mmio(), which forwards it to the device or emulates it on the
 * domain's saved context.  The mark port (BOARD_MARK_PORT) records when
 * the guest's workload begins and ends keeping the device busy.  An AP's
 * thread first waits for the guest's BOARD_CPU_START (written by the BSP
 * once its runtime is up).
 *
 * Ending: the domain ends, once, when a vCPU writes the exit device, on
 * any exit a vCPU cannot handle (triple fault, emulation failure: the
 * domain fails alone), or when the main thread asks (stop_req).  The vCPU
 * thread that ends it records the outcome under end_lock, sets `finished`
 * and wakes the main thread, which reaps the domain (dom__teardown()):
 * that stops the other vCPUs.  Only the main thread signals vCPU threads,
 * so no thread is signalled after it was joined.
 *
 * Stopping the vCPUs: the main thread sets stop_req, wakes the APs still
 * waiting to start, and sends SIGUSR1 to every thread; the handler sets
 * its vCPU's kvm_run.immediate_exit, so a KVM_RUN in progress (a halted
 * vCPU included) or about to start returns -EINTR and the loop sees
 * stop_req (KVM_CAP_IMMEDIATE_EXIT: no race with the check).
 *
 * Teardown order (dom__teardown()): vCPU threads joined, so the guest
 * touches nothing more; framework domain destroyed, so its context leaves
 * the device and no interrupt is raised for it any more; irqfd unbound;
 * vCPUs and VM closed; RAM unmapped - no DMA can reach it by then.
 *
 * Locking: the buses' handlers run on any vCPU thread of the domain; the
 * devices they reach are safe for that (the UART and the exit device
 * lock, the mark port and counters are atomic, vc_domain_mmio() locks).
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

/* ---- the CPU port ------------------------------------------------------------------ */

/* BOARD_CPU_START: let the APs run (their threads wait for it); later ones are ignored. */
static enum io_result dom_cpu_write(void *priv, uint64_t off, const void *data,
				    unsigned int len)
{
	struct dom *d = priv;
	uint32_t v = 0;

	if (off || len != 4)
		return IO_DONE;
	memcpy(&v, data, sizeof(v));
	if (v != BOARD_CPU_START)
		return IO_DONE;
	pthread_mutex_lock(&d->ap_lock);
	d->ap_go = true;
	pthread_cond_broadcast(&d->ap_cond);
	pthread_mutex_unlock(&d->ap_lock);
	return IO_DONE;
}

static const struct io_ops dom_cpu_ops = {
	.read = dom_mark_read, /* reads 0 */
	.write = dom_cpu_write,
};

/* ---- the vCPU threads ---------------------------------------------------------- */

/*
 * End the domain with @st unless it has ended already; then the main
 * thread is told, and it stops the other vCPUs.  @why (printf-style, NULL
 * for none) becomes d->fail, with @vc's instruction pointer.  Any vCPU
 * thread; returns whether this call ended it.
 */
static bool __attribute__((format(printf, 4, 5)))
dom_end(struct dom *d, struct dom_vcpu *vc, enum dom_state st, const char *why, ...)
{
	struct kvm_regs regs;
	uint64_t one = 1;
	bool ended = false;
	va_list ap;
	int n;

	pthread_mutex_lock(&d->end_lock);
	if (d->state == DOM_RUNNING) {
		d->state = st;
		if (why) {
			va_start(ap, why);
			n = vsnprintf(d->fail, sizeof(d->fail), why, ap);
			va_end(ap);
			if (n >= 0 && (size_t)n < sizeof(d->fail) &&
			    !ioctl(vc->kv.fd, KVM_GET_REGS, &regs))
				snprintf(d->fail + n, sizeof(d->fail) - (size_t)n, " (CPU %u, rip %#llx)",
					 vc->id, (unsigned long long)regs.rip);
		}
		ended = true;
	}
	pthread_mutex_unlock(&d->end_lock);
	if (!ended)
		return false;
	atomic_store(&d->finished, true);
	if (write(d->vmm->notify_fd, &one, sizeof(one)) != sizeof(one))
		vmm__log("%s: notify: %s", d->cfg.name, strerror(errno));
	return true;
}

static void dom_unhandled(struct dom *d, unsigned int *count, const char *bus,
			  uint64_t addr, unsigned int len, bool write)
{
	if ((*count)++ < d->vmm->unhandled_log)
		vmm__log("%s: unhandled %s %s of %u bytes at %#llx", d->cfg.name, bus,
			 write ? "write" : "read", len, (unsigned long long)addr);
}

/* Handle the exit in @vc's kvm_run; false when the vCPU must stop. */
static bool dom_handle_exit(struct dom_vcpu *vc, unsigned int *unhandled)
{
	struct dom *d = vc->d;
	struct kvm_run *run = vc->kv.run;
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
		dom_end(d, vc, DOM_FAILED, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		dom_end(d, vc, DOM_FAILED, "KVM internal error, suberror %u",
			run->internal.suberror);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		dom_end(d, vc, DOM_FAILED, "VM entry failed, reason %#llx",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		dom_end(d, vc, DOM_FAILED, "unexpected exit %u (%s)", run->exit_reason,
			kvm_exit__name(run->exit_reason));
		return false;
	}
	if (r == IO_STOP) {
		dom_end(d, vc, DOM_EXITED, NULL);
		return false;
	}
	return true;
}

/* An AP: wait for the guest's BOARD_CPU_START; false when stopped first. */
static bool dom_ap_wait(struct dom *d)
{
	bool go;

	pthread_mutex_lock(&d->ap_lock);
	while (!d->ap_go && !atomic_load(&d->stop_req))
		pthread_cond_wait(&d->ap_cond, &d->ap_lock);
	go = d->ap_go && !atomic_load(&d->stop_req);
	pthread_mutex_unlock(&d->ap_lock);
	return go;
}

static void *dom_vcpu_thread(void *arg)
{
	struct dom_vcpu *vc = arg;
	struct dom *d = vc->d;
	unsigned int unhandled = 0;

	tls_run = vc->kv.run;
	if (vc->id && !dom_ap_wait(d)) {
		dom_end(d, vc, DOM_STOPPED, NULL);
		goto out;
	}
	for (;;) {
		if (atomic_load(&d->stop_req)) {
			dom_end(d, vc, DOM_STOPPED, NULL);
			break;
		}
		if (ioctl(vc->kv.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vc->kv.run->immediate_exit = 0;
				continue;
			}
			dom_end(d, vc, DOM_FAILED, "KVM_RUN: %s", strerror(errno));
			break;
		}
		if (!dom_handle_exit(vc, &unhandled))
			break;
	}
out:
	tls_run = NULL;
	return NULL;
}

int dom__start(struct dom *d)
{
	int r = 0;

	d->state = DOM_RUNNING;
	d->started_ns = vmm__now();
	for (unsigned int i = 0; i < d->nr_vcpus && !r; i++) {
		struct dom_vcpu *vc = &d->vcpu[i];

		r = -pthread_create(&vc->thread, NULL, dom_vcpu_thread, vc);
		if (!r)
			vc->thread_started = true;
	}
	if (r) {
		dom__stop(d);
		d->state = DOM_NEW;
		atomic_store(&d->finished, false);
		atomic_store(&d->stop_req, false);
		d->ended_ns = 0;
	}
	return r;
}

void dom__stop(struct dom *d)
{
	bool any = false;

	atomic_store(&d->stop_req, true);
	pthread_mutex_lock(&d->ap_lock);
	pthread_cond_broadcast(&d->ap_cond);
	pthread_mutex_unlock(&d->ap_lock);
	for (unsigned int i = 0; i < d->nr_vcpus; i++)
		if (d->vcpu[i].thread_started)
			pthread_kill(d->vcpu[i].thread, DOM_KICK_SIGNAL);
	for (unsigned int i = 0; i < d->nr_vcpus; i++) {
		struct dom_vcpu *vc = &d->vcpu[i];

		if (!vc->thread_started)
			continue;
		pthread_join(vc->thread, NULL);
		vc->thread_started = false;
		any = true;
	}
	if (any && !d->ended_ns)
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
	bi->tsc_khz = kvm_vcpu__tsc_khz(&d->vcpu[0].kv);
	bi->run_ns = d->vmm->run_ns;
	bi->domid = d->domid;
	snprintf(bi->name, sizeof(bi->name), "%s", d->cfg.name);
	snprintf(bi->cmdline, sizeof(bi->cmdline), "%s", d->cfg.cmdline);
	bi->nr_cpus = d->nr_vcpus;
	if (d->vv) {
		const struct vc_coproc_desc *desc = vc_coproc_desc(vc_vcoproc_coproc(d->vv));
		struct board_dev *dev = &bi->devs[bi->nr_devs++];

		snprintf(dev->compatible, sizeof(dev->compatible), "%s", desc->compatible);
		dev->base = desc->mmio[0].base;
		dev->size = desc->mmio[0].size;
		dev->gsi = desc->irqs[0];
	}
}

/*
 * vCPU @id of @d in long mode at @entry: the BSP (0) runs first, an AP is
 * made runnable with its own stack and waits in its thread for the guest.
 */
static int dom_vcpu_create(struct dom *d, unsigned int id, uint64_t entry,
			   char *err, size_t errlen)
{
	struct dom_vcpu *vc = &d->vcpu[id];
	int r;

	vc->d = d;
	vc->id = id;
	r = kvm_vcpu__create(&d->vmm->kvm, &d->vm, id, &vc->kv, err, errlen);
	if (r)
		return r;
	r = boot__vcpu_long_mode(&vc->kv, entry, BOARD_INFO_GPA, id,
				 id ? BOARD_AP_STACK_TOP(id) : 0, err, errlen);
	if (!r && id)
		r = kvm_vcpu__runnable(&vc->kv, err, errlen);
	if (r)
		kvm_vcpu__close(&vc->kv);
	return r;
}

static void dom_vcpus_close(struct dom *d)
{
	for (unsigned int i = 0; i < d->nr_vcpus; i++)
		kvm_vcpu__close(&d->vcpu[i].kv);
}

/*
 * Give @d its vcoproc on @coproc: the windows, the irqfd, and (@create)
 * the vcoproc itself (else d->vv is already there).
 */
static int dom_attach_coproc(struct dom *d, struct vc_coproc *coproc, bool create,
			     char *err, size_t errlen)
{
	const struct vc_coproc_desc *desc = vc_coproc_desc(coproc);
	int r;

	if (!desc->nr_mmio || !desc->nr_irqs)
		return dom_err(err, errlen, EINVAL, "%s: %s has no window or no interrupt",
			       d->cfg.name, vc_coproc_name(coproc));

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
	r = create ? vc_vcoproc_create(d->vd, coproc, d->cfg.params, d->cfg.nr_params, &d->vv) : 0;
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
	unsigned int nr_vcpus = cfg->vcpus ? cfg->vcpus : 1;
	uint64_t entry;
	struct dom *d;
	int r;

	if (cfg->ram_size < BOARD_RAM_MIN || cfg->ram_size > BOARD_RAM_MAX ||
	    cfg->ram_size % (2u << 20))
		return dom_err(err, errlen, EINVAL,
			       "%s: memory must be a multiple of 2 MiB from %llu to %llu MiB",
			       cfg->name, BOARD_RAM_MIN >> 20, BOARD_RAM_MAX >> 20);
	if (nr_vcpus > BOARD_MAX_CPUS)
		return dom_err(err, errlen, EINVAL, "%s: vcpus must be 1 to %d", cfg->name,
			       BOARD_MAX_CPUS);
	d = calloc(1, sizeof(*d));
	if (!d)
		return dom_err(err, errlen, ENOMEM, "out of memory");
	d->vmm = vmm;
	d->cfg = *cfg;
	d->domid = domid;
	d->irq_fd = -1;
	d->vm.fd = -1;
	pthread_mutex_init(&d->end_lock, NULL);
	pthread_mutex_init(&d->ap_lock, NULL);
	pthread_cond_init(&d->ap_cond, NULL);
	exitdev__init(&d->exitdev);
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
	for (; d->nr_vcpus < nr_vcpus; d->nr_vcpus++) {
		r = dom_vcpu_create(d, d->nr_vcpus, entry, err, errlen);
		if (r)
			goto out_vcpu;
	}

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
	if (!r)
		r = iobus__register(&d->pio, BOARD_CPU_PORT, 4, &dom_cpu_ops, d);
	if (r) {
		dom_err(err, errlen, r, "%s: ports: %s", cfg->name, strerror(-r));
		goto out_serial;
	}

	d->serial.tee = cfg->console;
	d->serial.tee_opaque = cfg->console_opaque;

	if (cfg->build) {
		r = cfg->build(d, cfg->build_arg, err, errlen);
		if (r) {
			d->vd = NULL;
			goto out_serial;
		}
	} else {
		r = vc_domain_create(vmm->fw, domid, cfg->name, &d->iommu, d, &d->vd);
		if (r) {
			dom_err(err, errlen, r, "%s: framework domain: %s", cfg->name,
				vc_strerror(r));
			goto out_serial;
		}
	}
	if (cfg->build && d->vv) {
		r = dom_attach_coproc(d, vc_vcoproc_coproc(d->vv), false, err, errlen);
		if (r)
			goto out_domain;
	} else if (!cfg->build && cfg->vcoproc && vmm->coproc) {
		r = dom_attach_coproc(d, vmm->coproc, true, err, errlen);
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
	dom_vcpus_close(d);
out_vm:
	kvm_vm__close(&d->vm);
out_ram:
	munmap(d->ram, cfg->ram_size);
out_free:
	iobus__exit(&d->pio);
	iobus__exit(&d->mmio);
	exitdev__exit(&d->exitdev);
	pthread_cond_destroy(&d->ap_cond);
	pthread_mutex_destroy(&d->ap_lock);
	pthread_mutex_destroy(&d->end_lock);
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
	dom_vcpus_close(d);
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
	exitdev__exit(&d->exitdev);
	pthread_cond_destroy(&d->ap_cond);
	pthread_mutex_destroy(&d->ap_lock);
	pthread_mutex_destroy(&d->end_lock);
	free(d);
}
