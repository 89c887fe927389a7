// SPDX-License-Identifier: MIT
/*
 * DOC: guest boot - implementation
 *
 * Long mode straight from the host: CR0.PE|PG, CR4.PAE, EFER.LME|LMA set
 * with KVM_SET_SREGS, CS a 64-bit code segment (L=1), the other segments
 * flat data.  The page tables map the first 4 GiB with 2 MiB pages, RAM
 * and the MMIO hole alike; from BOARD_MMIO_START up the pages are
 * uncached (PCD|PWT) as device memory must be.
 */
#include <elf.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hw/board.h>
#include "boot.h"

#define ELF_MAX_SIZE (256u << 20)

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_PS  (1ull << 7)

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

static int __attribute__((format(printf, 4, 5)))
boot__fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -code;
}

/* Read all of @path (at most ELF_MAX_SIZE) into a malloc'd buffer. */
static int read_file(const char *path, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf;
	size_t done = 0;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return boot__fail(err, errlen, errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > ELF_MAX_SIZE) {
		close(fd);
		return boot__fail(err, errlen, EINVAL, "%s: not a regular file of 1 byte to %u MiB",
				  path, ELF_MAX_SIZE >> 20);
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		close(fd);
		return boot__fail(err, errlen, ENOMEM, "%s: out of memory", path);
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);

		if (n <= 0) {
			e = n < 0 ? errno : EIO;
			free(buf);
			close(fd);
			return boot__fail(err, errlen, e, "%s: read: %s", path, strerror(e));
		}
		done += (size_t)n;
	}
	close(fd);
	*out = buf;
	*len = done;
	return 0;
}

int boot__load_elf(const char *path, void *ram, uint64_t ram_size, uint64_t *entry,
		   char *err, size_t errlen)
{
	const Elf64_Ehdr *eh;
	bool entry_ok = false;
	uint8_t *img = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, &img, &len, err, errlen);
	if (r)
		return r;
	eh = (const Elf64_Ehdr *)img;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64 || eh->e_type != ET_EXEC) {
		r = boot__fail(err, errlen, ENOEXEC, "%s: not a static x86-64 ELF executable", path);
		goto out_free;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
	    eh->e_phoff > len || (len - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum) {
		r = boot__fail(err, errlen, ENOEXEC, "%s: bad program header table", path);
		goto out_free;
	}
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_DYNAMIC || ph.p_type == PT_INTERP) {
			r = boot__fail(err, errlen, ENOEXEC, "%s: dynamic executable", path);
			goto out_free;
		}
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_filesz > ph.p_memsz || ph.p_offset > len ||
		    ph.p_filesz > len - ph.p_offset) {
			r = boot__fail(err, errlen, ENOEXEC, "%s: segment %u outside the file",
				       path, i);
			goto out_free;
		}
		if (ph.p_paddr < BOARD_KERNEL_GPA || ph.p_paddr > ram_size ||
		    ph.p_memsz > ram_size - ph.p_paddr) {
			r = boot__fail(err, errlen, ENOEXEC,
				       "%s: segment %u at %#llx+%#llx is outside RAM (%#llx..%#llx)",
				       path, i, (unsigned long long)ph.p_paddr,
				       (unsigned long long)ph.p_memsz,
				       (unsigned long long)BOARD_KERNEL_GPA,
				       (unsigned long long)ram_size);
			goto out_free;
		}
		memcpy((uint8_t *)ram + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
		memset((uint8_t *)ram + ph.p_paddr + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if ((ph.p_flags & PF_X) && eh->e_entry >= ph.p_paddr &&
		    eh->e_entry - ph.p_paddr < ph.p_memsz)
			entry_ok = true;
	}
	if (!entry_ok) {
		r = boot__fail(err, errlen, ENOEXEC, "%s: entry %#llx is in no executable segment",
			       path, (unsigned long long)eh->e_entry);
		goto out_free;
	}
	*entry = eh->e_entry;
	r = 0;
out_free:
	free(img);
	return r;
}

void boot__page_tables(void *ram)
{
	uint64_t *gdt = (uint64_t *)((uint8_t *)ram + BOARD_GDT_GPA);
	uint64_t *pml4 = (uint64_t *)((uint8_t *)ram + BOARD_PML4_GPA);
	uint64_t *pdpt = (uint64_t *)((uint8_t *)ram + BOARD_PDPT_GPA);
	uint64_t *pd = (uint64_t *)((uint8_t *)ram + BOARD_PD_GPA);

	gdt[0] = 0;
	gdt[BOARD_SEL_CODE64 / 8] = 0x00af9b000000ffffull; /* 64-bit code, DPL 0 */
	gdt[BOARD_SEL_DATA / 8] = 0x00cf93000000ffffull;   /* flat data */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOARD_PDPT_GPA | PTE_P | PTE_RW;
	for (uint64_t g = 0; g < 4; g++) {
		pdpt[g] = (BOARD_PD_GPA + g * 4096) | PTE_P | PTE_RW;
		for (uint64_t j = 0; j < 512; j++) {
			uint64_t pa = (g << 30) | (j << 21);

			pd[g * 512 + j] = pa | PTE_P | PTE_RW | PTE_PS |
					  (pa >= BOARD_MMIO_START ? PTE_PCD | PTE_PWT : 0);
		}
	}
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

int boot__vcpu_long_mode(struct kvm_vcpu *vcpu, uint64_t entry, uint64_t arg,
			 unsigned int cpu, uint64_t rsp, char *err, size_t errlen)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = entry,
		.rdi = arg,
		.rsi = cpu,
		.rsp = rsp,
		.rflags = 0x2, /* reserved bit 1; IF clear */
	};

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return boot__fail(err, errlen, errno, "KVM_GET_SREGS: %s", strerror(errno));
	seg_flat(&sregs.cs, BOARD_SEL_CODE64, 0xb, true);
	seg_flat(&sregs.ds, BOARD_SEL_DATA, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = BOARD_GDT_GPA;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0; /* until the guest loads its own: a fault is a triple fault */
	sregs.cr3 = BOARD_PML4_GPA;
	sregs.cr4 = CR4_PAE;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return boot__fail(err, errlen, errno, "KVM_SET_SREGS: %s", strerror(errno));
	if (ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return boot__fail(err, errlen, errno, "KVM_SET_REGS: %s", strerror(errno));
	return 0;
}
