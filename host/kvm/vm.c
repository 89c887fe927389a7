// SPDX-License-Identifier: MIT
/*
 * DOC: the kvm kind of domain (vm.h)
 *
 * create(), in order: RAM (anonymous memory, one KVM memory slot at
 * guest-physical 0; d->iommu is the same RAM, nothing else), the VM with
 * its in-kernel irqchip, the guest image and page tables, the vCPUs in
 * long mode (vCPU n has local APIC ID n; the APs are made runnable with
 * their own entry registers), the console, the exit device and the mark
 * and CPU ports.  attach(), once the framework has made the vcoproc: the
 * coprocessor's windows on the MMIO bus, an eventfd bound to its GSI with
 * KVM_IRQFD, and the boot page that tells the guest all this.
 *
 * Each vCPU thread loops on KVM_RUN and dispatches port I/O and MMIO exits
 * to the domain's buses; MMIO in a coprocessor window goes to
 * vc_domain_mmio(), which forwards it to the device or emulates it on the
 * domain's saved context.  An AP's thread first waits for the guest's
 * BOARD_CPU_START (written by the BSP once its runtime is up).
 *
 * Ending: on the exit device's write, on any exit a vCPU cannot handle
 * (triple fault, emulation failure: the domain fails alone), or when the
 * loop thread asks (stop_req), the vCPU thread calls dom_end(); the host
 * reaps the domain, which stops the other vCPUs.  Only the loop thread
 * signals vCPU threads, so no thread is signalled after it was joined.
 *
 * Stopping the vCPUs: stop() sets stop_req, wakes the APs still waiting to
 * start, and sends SIGUSR1 to every thread; the handler sets its vCPU's
 * kvm_run.immediate_exit, so a KVM_RUN in progress (a halted vCPU
 * included) or about to start returns -EINTR and the loop sees stop_req
 * (KVM_CAP_IMMEDIATE_EXIT: no race with the check).
 *
 * Teardown order (the host's dom_teardown()): stop() joins the vCPU
 * threads, so the guest touches nothing more; the framework domain is
 * destroyed, so its context leaves the device and no interrupt is raised
 * for it any more; destroy() unbinds the irqfd, closes the vCPUs and VM
 * and unmaps RAM - no DMA can reach it by then.
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

#include <hw/simcp_hw.h>
#include <vcoproc/errno.h>

#include "boot.h"
#include "host.h"
#include "vm.h"

#define KICK_SIGNAL SIGUSR1

/* The kvm_run of the vCPU this thread runs, for the kick handler. */
static __thread struct kvm_run *volatile tls_run;

static void kick_handler(int sig)
{
	struct kvm_run *run = tls_run;

	(void)sig;
	if (run)
		run->immediate_exit = 1;
}

int kvm_dom_kick_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: KVM_RUN must come back with EINTR. */
	return sigaction(KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

/* ---- interrupts ------------------------------------------------------------ */

static void vm_irq_raise(struct dom *d, uint32_t irq)
{
	struct kvm_dom *k = d->kpriv;
	uint64_t one = 1;

	if (!k || k->irq_fd < 0 || irq != k->irq_gsi)
		return;
	atomic_fetch_add_explicit(&d->count.irqs_raised, 1, memory_order_relaxed);
	/* An eventfd write cannot block here (the counter never nears its max). */
	if (write(k->irq_fd, &one, sizeof(one)) != sizeof(one))
		host_log("%s: irqfd write: %s", d->cfg.name, strerror(errno));
}

/* ---- the coprocessor's register window --------------------------------------- */

static enum io_result win_read(void *priv, uint64_t off, void *data, unsigned int len)
{
	struct kvm_dom_window *w = priv;
	uint64_t v = ~0ull;

	(void)vc_domain_mmio(w->k->d->vd, w->base + off, len, false, &v);
	memcpy(data, &v, len);
	return IO_DONE;
}

/*
 * A doorbell write is also classified by where the framework sent it: its
 * vcoproc's mmio_emulated count moves when the write went to the saved
 * context (another context, or none, was on the device).  Only this vCPU
 * accesses this vcoproc's window, so the difference is this write's.
 */
static enum io_result win_write(void *priv, uint64_t off, const void *data, unsigned int len)
{
	struct kvm_dom_window *w = priv;
	struct kvm_dom *k = w->k;
	struct dom *d = k->d;
	struct vc_vcoproc_stats before, after;
	bool doorbell = off == k->doorbell_off && d->nr_vv;
	uint64_t v = 0;

	memcpy(&v, data, len);
	if (doorbell)
		vc_vcoproc_stats(d->vv[0], &before);
	(void)vc_domain_mmio(d->vd, w->base + off, len, true, &v);
	if (doorbell) {
		vc_vcoproc_stats(d->vv[0], &after);
		atomic_fetch_add_explicit(after.mmio_emulated != before.mmio_emulated ?
					  &d->count.doorbells_emulated :
					  &d->count.doorbells_forwarded, 1, memory_order_relaxed);
	}
	return IO_DONE;
}

static const struct io_ops win_ops = {
	.read = win_read,
	.write = win_write,
};

/* ---- the mark and CPU ports ------------------------------------------------------ */

static enum io_result mark_write(void *priv, uint64_t off, const void *data, unsigned int len)
{
	struct kvm_dom *k = priv;
	uint32_t m = 0;

	if (off || len != 4)
		return IO_DONE;
	memcpy(&m, data, sizeof(m));
	dom_mark(k->d, m);
	return IO_DONE;
}

static enum io_result zero_read(void *priv, uint64_t off, void *data, unsigned int len)
{
	(void)priv;
	(void)off;
	memset(data, 0, len);
	return IO_DONE;
}

static const struct io_ops mark_ops = {
	.read = zero_read,
	.write = mark_write,
};

/* BOARD_CPU_START: let the APs run (their threads wait for it); later ones are ignored. */
static enum io_result cpu_write(void *priv, uint64_t off, const void *data, unsigned int len)
{
	struct kvm_dom *k = priv;
	uint32_t v = 0;

	if (off || len != 4)
		return IO_DONE;
	memcpy(&v, data, sizeof(v));
	if (v != BOARD_CPU_START)
		return IO_DONE;
	pthread_mutex_lock(&k->ap_lock);
	k->ap_go = true;
	pthread_cond_broadcast(&k->ap_cond);
	pthread_mutex_unlock(&k->ap_lock);
	return IO_DONE;
}

static const struct io_ops cpu_ops = {
	.read = zero_read,
	.write = cpu_write,
};

static void console_line(void *opaque, const char *line, size_t len)
{
	struct kvm_dom *k = opaque;

	dom_console(k->d, line, len);
}

/* ---- the vCPU threads ---------------------------------------------------------- */

/* End the domain from @vc's thread, with @vc's instruction pointer in the reason. */
static void __attribute__((format(printf, 3, 4)))
vcpu_fail(struct kvm_dom_vcpu *vc, enum dom_state st, const char *why, ...)
{
	char msg[DOM_ERR_MAX];
	struct kvm_regs regs;
	va_list ap;
	int n;

	va_start(ap, why);
	n = vsnprintf(msg, sizeof(msg), why, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(msg) && !ioctl(vc->kv.fd, KVM_GET_REGS, &regs))
		snprintf(msg + n, sizeof(msg) - (size_t)n, " (CPU %u, rip %#llx)", vc->id,
			 (unsigned long long)regs.rip);
	dom_end(vc->k->d, st, -1, "%s", msg);
}

static void unhandled(struct kvm_dom *k, unsigned int *count, const char *bus,
		      uint64_t addr, unsigned int len, bool write)
{
	if ((*count)++ < k->d->host->unhandled_log)
		host_log("%s: unhandled %s %s of %u bytes at %#llx", k->d->cfg.name, bus,
			 write ? "write" : "read", len, (unsigned long long)addr);
}

/* Handle the exit in @vc's kvm_run; false when the vCPU must stop. */
static bool handle_exit(struct kvm_dom_vcpu *vc, unsigned int *nr_unhandled)
{
	struct kvm_dom *k = vc->k;
	struct dom *d = k->d;
	struct kvm_run *run = vc->kv.run;
	enum io_result r = IO_DONE;

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *p = (uint8_t *)run + run->io.data_offset;
		bool out = run->io.direction == KVM_EXIT_IO_OUT;

		atomic_fetch_add_explicit(&d->count.pio, 1, memory_order_relaxed);
		for (uint32_t i = 0; i < run->io.count && r != IO_STOP; i++) {
			r = iobus__access(&k->pio, run->io.port, p + i * run->io.size,
					  run->io.size, out);
			if (r == IO_UNHANDLED)
				unhandled(k, nr_unhandled, "port", run->io.port, run->io.size, out);
		}
		break;
	}
	case KVM_EXIT_MMIO:
		atomic_fetch_add_explicit(&d->count.mmio, 1, memory_order_relaxed);
		r = iobus__access(&k->mmio, run->mmio.phys_addr, run->mmio.data,
				  run->mmio.len, run->mmio.is_write);
		if (r == IO_UNHANDLED)
			unhandled(k, nr_unhandled, "mmio", run->mmio.phys_addr, run->mmio.len,
				  run->mmio.is_write);
		break;
	case KVM_EXIT_INTR:
		atomic_fetch_add_explicit(&d->count.intr, 1, memory_order_relaxed);
		break;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fail(vc, DOM_FAILED, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_fail(vc, DOM_FAILED, "KVM internal error, suberror %u", run->internal.suberror);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_fail(vc, DOM_FAILED, "VM entry failed, reason %#llx",
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		vcpu_fail(vc, DOM_FAILED, "unexpected exit %u (%s)", run->exit_reason,
			  kvm_exit__name(run->exit_reason));
		return false;
	}
	if (r == IO_STOP) {
		dom_end(d, DOM_EXITED, (int)k->exitdev.status, NULL);
		return false;
	}
	return true;
}

/* An AP: wait for the guest's BOARD_CPU_START; false when stopped first. */
static bool ap_wait(struct kvm_dom *k)
{
	bool go;

	pthread_mutex_lock(&k->ap_lock);
	while (!k->ap_go && !atomic_load(&k->stop_req))
		pthread_cond_wait(&k->ap_cond, &k->ap_lock);
	go = k->ap_go && !atomic_load(&k->stop_req);
	pthread_mutex_unlock(&k->ap_lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_dom_vcpu *vc = arg;
	struct kvm_dom *k = vc->k;
	unsigned int nr_unhandled = 0;

	tls_run = vc->kv.run;
	if (vc->id && !ap_wait(k)) {
		dom_end(k->d, DOM_STOPPED, 0, NULL);
		goto out;
	}
	for (;;) {
		if (atomic_load(&k->stop_req)) {
			dom_end(k->d, DOM_STOPPED, 0, NULL);
			break;
		}
		if (ioctl(vc->kv.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vc->kv.run->immediate_exit = 0;
				continue;
			}
			vcpu_fail(vc, DOM_FAILED, "KVM_RUN: %s", strerror(errno));
			break;
		}
		if (!handle_exit(vc, &nr_unhandled))
			break;
	}
out:
	tls_run = NULL;
	return NULL;
}

static void vm_stop(struct dom *d)
{
	struct kvm_dom *k = d->kpriv;

	if (!k)
		return;
	atomic_store(&k->stop_req, true);
	pthread_mutex_lock(&k->ap_lock);
	pthread_cond_broadcast(&k->ap_cond);
	pthread_mutex_unlock(&k->ap_lock);
	for (unsigned int i = 0; i < k->nr_vcpus; i++)
		if (k->vcpu[i].thread_started)
			pthread_kill(k->vcpu[i].thread, KICK_SIGNAL);
	for (unsigned int i = 0; i < k->nr_vcpus; i++) {
		struct kvm_dom_vcpu *vc = &k->vcpu[i];

		if (!vc->thread_started)
			continue;
		pthread_join(vc->thread, NULL);
		vc->thread_started = false;
	}
}

static int vm_start(struct dom *d)
{
	struct kvm_dom *k = d->kpriv;
	int r = 0;

	for (unsigned int i = 0; i < k->nr_vcpus && !r; i++) {
		struct kvm_dom_vcpu *vc = &k->vcpu[i];

		r = -pthread_create(&vc->thread, NULL, vcpu_thread, vc);
		if (!r)
			vc->thread_started = true;
	}
	return r;
}

/* ---- building ---------------------------------------------------------------- */

static int vm_probe(struct host *h, char *err, size_t errlen)
{
	char why[DOM_ERR_MAX];

	if (!host_kvm(h, why, sizeof(why)))
		return host_errf(err, errlen, h->kvm_err, "KVM is not usable here: %s", why);
	return 0;
}

/* The boot page: who the domain is and what the board has. */
static void board_info(struct kvm_dom *k)
{
	struct dom *d = k->d;
	struct board_info *bi = (struct board_info *)((uint8_t *)k->ram + BOARD_INFO_GPA);

	memset(bi, 0, sizeof(*bi));
	bi->magic = BOARD_INFO_MAGIC;
	bi->version = BOARD_INFO_VERSION;
	bi->ram_size = d->ram_size;
	bi->tsc_khz = kvm_vcpu__tsc_khz(&k->vcpu[0].kv);
	bi->run_ns = d->run_ns;
	bi->domid = d->domid;
	snprintf(bi->name, sizeof(bi->name), "%s", d->cfg.name);
	snprintf(bi->cmdline, sizeof(bi->cmdline), "%s", d->cfg.extra);
	bi->nr_cpus = k->nr_vcpus;
	if (d->nr_vv) {
		const struct vc_coproc_desc *desc = vc_coproc_desc(vc_vcoproc_coproc(d->vv[0]));
		struct board_dev *dev = &bi->devs[bi->nr_devs++];

		snprintf(dev->compatible, sizeof(dev->compatible), "%s", desc->compatible);
		dev->base = desc->mmio[0].base;
		dev->size = desc->mmio[0].size;
		dev->gsi = desc->irqs[0];
	}
	if (!bi->tsc_khz)
		host_log("%s: KVM does not tell the TSC frequency; the guest will stop", d->cfg.name);
}

/*
 * vCPU @id in long mode at @entry: the BSP (0) runs first, an AP is made
 * runnable with its own stack and waits in its thread for the guest.
 */
static int vcpu_create(struct kvm_dom *k, unsigned int id, uint64_t entry, char *err,
		       size_t errlen)
{
	struct kvm_dom_vcpu *vc = &k->vcpu[id];
	int r;

	vc->k = k;
	vc->id = id;
	r = kvm_vcpu__create(k->kvm, &k->vm, id, &vc->kv, err, errlen);
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

static void vcpus_close(struct kvm_dom *k)
{
	for (unsigned int i = 0; i < k->nr_vcpus; i++)
		kvm_vcpu__close(&k->vcpu[i].kv);
	k->nr_vcpus = 0;
}

/* What this board can give a domain file; FILE:LINE:COL of what it cannot. */
static int vm_check(struct dom *d, char *err, size_t errlen)
{
	const struct domcfg *c = &d->cfg;

	if (c->nr_vcoprocs > 1)
		return domcfg_errorf(c, c->vcoproc[1].pos, err, errlen,
				     "a kvm guest drives at most one vcoproc, found %u",
				     c->nr_vcoprocs);
	if (d->ram_size < BOARD_RAM_MIN || d->ram_size > BOARD_RAM_MAX ||
	    d->ram_size % (2u << 20))
		return domcfg_errorf(c, c->pos.memory, err, errlen,
				     "expected memory in MiB, a multiple of 2 from %llu to %llu, "
				     "found %llu", BOARD_RAM_MIN >> 20, BOARD_RAM_MAX >> 20,
				     (unsigned long long)(d->ram_size >> 20));
	if (c->vcpus > BOARD_MAX_CPUS)
		return domcfg_errorf(c, c->pos.vcpus, err, errlen,
				     "expected 1 to %d vcpus on this board, found %u",
				     BOARD_MAX_CPUS, c->vcpus);
	if (strlen(c->extra) >= BOARD_CMDLINE_MAX || strlen(c->name) >= BOARD_NAME_MAX)
		return domcfg_errorf(c, c->pos.extra, err, errlen,
				     "name or extra too long for this board (at most %d and %d bytes)",
				     BOARD_NAME_MAX - 1, BOARD_CMDLINE_MAX - 1);
	return 0;
}

static void vm_free(struct kvm_dom *k)
{
	iobus__exit(&k->pio);
	iobus__exit(&k->mmio);
	exitdev__exit(&k->exitdev);
	pthread_cond_destroy(&k->ap_cond);
	pthread_mutex_destroy(&k->ap_lock);
	free(k);
}

static int vm_create(struct dom *d, char *err, size_t errlen)
{
	unsigned int nr_vcpus = d->cfg.vcpus ? d->cfg.vcpus : 1;
	struct kvm_dom *k;
	uint64_t entry;
	int r;

	r = vm_check(d, err, errlen);
	if (r)
		return r;
	k = calloc(1, sizeof(*k));
	if (!k)
		return host_errf(err, errlen, ENOMEM, "out of memory");
	k->d = d;
	k->kvm = d->host->kvm;
	k->irq_fd = -1;
	k->vm.fd = -1;
	k->doorbell_off = SIMCP_REG_RING_TAIL;
	pthread_mutex_init(&k->ap_lock, NULL);
	pthread_cond_init(&k->ap_cond, NULL);
	exitdev__init(&k->exitdev);
	iobus__init(&k->pio, "port");
	iobus__init(&k->mmio, "mmio");

	k->ram = mmap(NULL, d->ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (k->ram == MAP_FAILED) {
		r = host_errf(err, errlen, errno, "%s: %llu MiB of RAM: %s", d->cfg.fname,
			   (unsigned long long)(d->ram_size >> 20), strerror(errno));
		goto out_free;
	}
	k->region = (struct vc_iommu_region){
		.gpa = 0, .size = d->ram_size, .hva = k->ram, .writable = true,
	};
	d->iommu = (struct vc_iommu){ .regions = &k->region, .nr_regions = 1 };

	r = kvm_vm__create(k->kvm, &k->vm, err, errlen);
	if (r)
		goto out_ram;
	r = kvm_vm__set_ram(&k->vm, 0, 0, d->ram_size, k->ram, err, errlen);
	if (r)
		goto out_vm;
	r = boot__load_elf(d->cfg.kernel, k->ram, d->ram_size, &entry, err, errlen);
	if (r)
		goto out_vm;
	boot__page_tables(k->ram);
	for (; k->nr_vcpus < nr_vcpus; k->nr_vcpus++) {
		r = vcpu_create(k, k->nr_vcpus, entry, err, errlen);
		if (r)
			goto out_vcpus;
	}

	serial__init(&k->serial, console_line, k);
	r = serial__register(&k->serial, &k->pio);
	if (!r)
		r = exitdev__register(&k->exitdev, &k->pio);
	if (!r)
		r = iobus__register(&k->pio, BOARD_MARK_PORT, 4, &mark_ops, k);
	if (!r)
		r = iobus__register(&k->pio, BOARD_CPU_PORT, 4, &cpu_ops, k);
	if (r) {
		host_errf(err, errlen, r, "%s: ports: %s", d->cfg.name, strerror(-r));
		goto out_serial;
	}
	d->kpriv = k;
	return 0;

out_serial:
	serial__exit(&k->serial);
out_vcpus:
	vcpus_close(k);
out_vm:
	kvm_vm__close(&k->vm);
out_ram:
	munmap(k->ram, d->ram_size);
	d->iommu = (struct vc_iommu){ 0 };
out_free:
	vm_free(k);
	return r;
}

/* The vcoproc's windows and interrupt, then the boot page that lists them. */
static int vm_attach(struct dom *d, char *err, size_t errlen)
{
	struct kvm_dom *k = d->kpriv;
	const struct vc_coproc_desc *desc;
	struct vc_coproc *c;
	int r;

	if (!d->nr_vv) {
		board_info(k);
		return 0;
	}
	c = vc_vcoproc_coproc(d->vv[0]);
	desc = vc_coproc_desc(c);
	if (!desc->nr_mmio || !desc->nr_irqs)
		return host_errf(err, errlen, EINVAL, "%s: %s has no window or no interrupt",
			      d->cfg.fname, vc_coproc_name(c));
	for (unsigned int i = 0; i < desc->nr_mmio; i++) {
		k->win[i] = (struct kvm_dom_window){ .k = k, .base = desc->mmio[i].base };
		r = iobus__register(&k->mmio, desc->mmio[i].base, desc->mmio[i].size, &win_ops,
				    &k->win[i]);
		if (r)
			return host_errf(err, errlen, r, "%s: window %u: %s", d->cfg.fname, i,
				      strerror(-r));
	}
	k->irq_gsi = desc->irqs[0];
	k->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (k->irq_fd < 0)
		return host_errf(err, errlen, errno, "%s: eventfd: %s", d->cfg.fname,
			      strerror(errno));
	r = kvm_vm__irqfd(&k->vm, k->irq_fd, k->irq_gsi, true, err, errlen);
	if (r) {
		close(k->irq_fd);
		k->irq_fd = -1;
		return r;
	}
	board_info(k);
	return 0;
}

static void vm_destroy(struct dom *d)
{
	struct kvm_dom *k = d->kpriv;

	if (!k)
		return;
	if (k->irq_fd >= 0) {
		kvm_vm__irqfd(&k->vm, k->irq_fd, k->irq_gsi, false, NULL, 0);
		close(k->irq_fd);
		k->irq_fd = -1;
	}
	vcpus_close(k);
	kvm_vm__close(&k->vm);
	munmap(k->ram, d->ram_size);
	k->ram = NULL;
	d->iommu = (struct vc_iommu){ 0 };
	serial__exit(&k->serial);
	vm_free(k);
	d->kpriv = NULL;
}

const struct dom_kind dom_kind_kvm = {
	.name = "kvm",
	.probe = vm_probe,
	.create = vm_create,
	.attach = vm_attach,
	.start = vm_start,
	.stop = vm_stop,
	.destroy = vm_destroy,
	.irq_raise = vm_irq_raise,
};
