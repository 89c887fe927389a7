// SPDX-License-Identifier: MIT
/*
 * DOC: unit tests of vcoprocd's pieces that need no KVM
 *
 * The ELF loader (its input is an untrusted file: every malformed image
 * must be refused without touching memory outside RAM), the page tables it
 * sets up, the I/O bus (ordering, overlap, lookup, straddling), and the
 * exit device (the first status written wins, whichever vCPU wrote it).
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <hw/board.h>
#include "boot.h"
#include "exitdev.h"
#include "iobus.h"

#define RAM (4u << 20)

/* ---- ELF loader -------------------------------------------------------------- */

/* A one-segment image: 16 bytes of code at 1 MiB, memsz 4096. */
struct image {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t code[16];
};

static void image_init(struct image *im)
{
	memset(im, 0, sizeof(*im));
	memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
	im->eh.e_ident[EI_CLASS] = ELFCLASS64;
	im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	im->eh.e_ident[EI_VERSION] = EV_CURRENT;
	im->eh.e_type = ET_EXEC;
	im->eh.e_machine = EM_X86_64;
	im->eh.e_version = EV_CURRENT;
	im->eh.e_entry = BOARD_KERNEL_GPA + 4;
	im->eh.e_phoff = offsetof(struct image, ph);
	im->eh.e_ehsize = sizeof(Elf64_Ehdr);
	im->eh.e_phentsize = sizeof(Elf64_Phdr);
	im->eh.e_phnum = 1;
	im->ph.p_type = PT_LOAD;
	im->ph.p_flags = PF_R | PF_X;
	im->ph.p_offset = offsetof(struct image, code);
	im->ph.p_paddr = im->ph.p_vaddr = BOARD_KERNEL_GPA;
	im->ph.p_filesz = sizeof(im->code);
	im->ph.p_memsz = 4096;
	for (unsigned int i = 0; i < sizeof(im->code); i++)
		im->code[i] = (uint8_t)(0xa0 + i);
}

/* Write @len bytes of @im to a temporary file and load it into a fresh RAM. */
static int load(const void *im, size_t len, uint8_t *ram, uint64_t *entry)
{
	char path[] = "/tmp/vcoprocd-test-XXXXXX";
	char err[256] = "";
	int fd = mkstemp(path), r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, im, len), (ssize_t)len);
	close(fd);
	memset(ram, 0x5a, RAM);
	r = boot__load_elf(path, ram, RAM, entry, err, sizeof(err));
	unlink(path);
	if (r)
		assert_true(err[0] != '\0'); /* a refusal says why */
	return r;
}

static void test_elf_good(void **state)
{
	uint8_t *ram = malloc(RAM);
	struct image im;
	uint64_t entry = 0;

	(void)state;
	image_init(&im);
	assert_int_equal(load(&im, sizeof(im), ram, &entry), 0);
	assert_int_equal(entry, BOARD_KERNEL_GPA + 4);
	assert_memory_equal(ram + BOARD_KERNEL_GPA, im.code, sizeof(im.code));
	/* The rest of the segment is zeroed, what follows is untouched. */
	for (unsigned int i = sizeof(im.code); i < 4096; i++)
		assert_int_equal(ram[BOARD_KERNEL_GPA + i], 0);
	assert_int_equal(ram[BOARD_KERNEL_GPA + 4096], 0x5a);
	assert_int_equal(ram[BOARD_KERNEL_GPA - 1], 0x5a);
	free(ram);
}

enum bad {
	BAD_MAGIC, BAD_CLASS, BAD_MACHINE, BAD_TYPE, BAD_PHENTSIZE, BAD_PHOFF,
	BAD_FILESZ, BAD_OFFSET, BAD_LOW, BAD_HIGH, BAD_WRAP, BAD_ENTRY, BAD_NOEXEC,
	BAD_INTERP, BAD_TRUNCATED, BAD_MAX,
};

static void test_elf_bad(void **state)
{
	uint8_t *ram = malloc(RAM);
	uint64_t entry;

	(void)state;
	for (int b = 0; b < BAD_MAX; b++) {
		struct image im;
		size_t len = sizeof(im);

		image_init(&im);
		switch (b) {
		case BAD_MAGIC: im.eh.e_ident[1] = 'X'; break;
		case BAD_CLASS: im.eh.e_ident[EI_CLASS] = ELFCLASS32; break;
		case BAD_MACHINE: im.eh.e_machine = EM_AARCH64; break;
		case BAD_TYPE: im.eh.e_type = ET_DYN; break;
		case BAD_PHENTSIZE: im.eh.e_phentsize = 32; break;
		case BAD_PHOFF: im.eh.e_phoff = sizeof(im) - 8; break;
		case BAD_FILESZ: im.ph.p_filesz = 8192; break;
		case BAD_OFFSET: im.ph.p_offset = ~0ull - 4; break;
		case BAD_LOW: im.ph.p_paddr = BOARD_KERNEL_GPA - 4096; break;
		case BAD_HIGH: im.ph.p_paddr = RAM - 2048; break;
		case BAD_WRAP: im.ph.p_memsz = ~0ull - BOARD_KERNEL_GPA + 2; break;
		case BAD_ENTRY: im.eh.e_entry = BOARD_KERNEL_GPA + 8192; break;
		case BAD_NOEXEC: im.ph.p_flags = PF_R | PF_W; break;
		case BAD_INTERP: im.ph.p_type = PT_INTERP; break;
		case BAD_TRUNCATED: len = sizeof(Elf64_Ehdr) - 1; break;
		}
		if (load(&im, len, ram, &entry) == 0)
			fail_msg("malformed image %d was loaded", b);
		/* Nothing outside RAM was written; nothing below the kernel either. */
		assert_int_equal(ram[BOARD_KERNEL_GPA - 4096], 0x5a);
	}
	free(ram);
}

static void test_page_tables(void **state)
{
	uint8_t *ram = calloc(1, RAM);
	const uint64_t *pml4 = (const uint64_t *)(ram + BOARD_PML4_GPA);
	const uint64_t *pdpt = (const uint64_t *)(ram + BOARD_PDPT_GPA);
	const uint64_t *pd = (const uint64_t *)(ram + BOARD_PD_GPA);

	(void)state;
	boot__page_tables(ram);
	assert_int_equal(pml4[0] & ~0xfffull, BOARD_PDPT_GPA);
	for (uint64_t g = 0; g < 4; g++)
		assert_int_equal(pdpt[g] & ~0xfffull, BOARD_PD_GPA + g * 4096);
	/* Identity, 2 MiB pages; cached RAM, uncached MMIO hole. */
	assert_int_equal(pd[0] & ~0xfffull, 0);
	assert_int_equal(pd[1] & ~0xfffull, 2u << 20);
	assert_int_equal(pd[0] & 0x80, 0x80);
	assert_int_equal(pd[0] & 0x18, 0);
	assert_int_equal(pd[BOARD_MMIO_START >> 21] & 0x18, 0x18);
	assert_int_equal(pd[2047] & ~0xfffull, 0xffe00000ull);
	free(ram);
}

/* ---- I/O bus -------------------------------------------------------------------- */

struct dev {
	uint64_t last_off;
	unsigned int reads, writes;
};

static enum io_result dev_read(void *priv, uint64_t off, void *data, unsigned int len)
{
	struct dev *d = priv;

	d->last_off = off;
	d->reads++;
	memset(data, 0x11, len);
	return IO_DONE;
}

static enum io_result dev_write(void *priv, uint64_t off, const void *data, unsigned int len)
{
	struct dev *d = priv;

	(void)data;
	(void)len;
	d->last_off = off;
	d->writes++;
	return off == 0 ? IO_STOP : IO_DONE;
}

static const struct io_ops dev_ops = { .read = dev_read, .write = dev_write };

static void test_iobus(void **state)
{
	struct iobus bus;
	struct dev a = { 0 }, b = { 0 }, c = { 0 };
	uint32_t v = 0;

	(void)state;
	iobus__init(&bus, "test");
	/* Registered out of order; overlaps refused on either side. */
	assert_int_equal(iobus__register(&bus, 0x2000, 0x100, &dev_ops, &b), 0);
	assert_int_equal(iobus__register(&bus, 0x1000, 0x100, &dev_ops, &a), 0);
	assert_int_equal(iobus__register(&bus, 0x3000, 8, &dev_ops, &c), 0);
	assert_int_equal(iobus__register(&bus, 0x10ff, 2, &dev_ops, &c), -EEXIST);
	assert_int_equal(iobus__register(&bus, 0x1f00, 0x101, &dev_ops, &c), -EEXIST);
	assert_int_equal(iobus__register(&bus, 0x4000, 0, &dev_ops, &c), -EINVAL);
	assert_int_equal(iobus__register(&bus, ~0ull - 4, 8, &dev_ops, &c), -EINVAL);

	assert_int_equal(iobus__access(&bus, 0x1004, &v, 4, false), IO_DONE);
	assert_int_equal(v, 0x11111111);
	assert_int_equal(a.last_off, 4);
	assert_int_equal(iobus__access(&bus, 0x20fc, &v, 4, true), IO_DONE);
	assert_int_equal(b.writes, 1);
	assert_int_equal(b.last_off, 0xfc);
	assert_int_equal(iobus__access(&bus, 0x3000, &v, 4, true), IO_STOP);
	/* Holes and straddling accesses: all ones, nobody called. */
	assert_int_equal(iobus__access(&bus, 0x1800, &v, 4, false), IO_UNHANDLED);
	assert_int_equal(v, 0xffffffff);
	v = 0;
	assert_int_equal(iobus__access(&bus, 0x10fe, &v, 4, false), IO_UNHANDLED);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(iobus__access(&bus, 0x0, &v, 4, false), IO_UNHANDLED);
	assert_int_equal(iobus__access(&bus, 0x3008, &v, 4, false), IO_UNHANDLED);
	assert_int_equal(a.reads, 1);
	assert_int_equal(c.reads, 0);
	iobus__exit(&bus);
}

/* ---- exit device ------------------------------------------------------------------ */

static void test_exitdev(void **state)
{
	struct exitdev x;
	struct iobus bus;
	uint32_t v = 7;
	uint8_t b = 9;

	(void)state;
	exitdev__init(&x);
	iobus__init(&bus, "port");
	assert_int_equal(exitdev__register(&x, &bus), 0);
	assert_false(x.written);
	assert_int_equal(iobus__access(&bus, BOARD_EXIT_PORT, &v, 4, false), IO_DONE);
	assert_int_equal(v, 0);
	v = 7;
	/* Every write stops its vCPU; the first one's status stays. */
	assert_int_equal(iobus__access(&bus, BOARD_EXIT_PORT, &v, 4, true), IO_STOP);
	v = 0;
	assert_int_equal(iobus__access(&bus, BOARD_EXIT_PORT, &v, 4, true), IO_STOP);
	assert_true(x.written);
	assert_int_equal(x.status, 7);
	iobus__exit(&bus);
	exitdev__exit(&x);

	/* A narrower write is zero-extended. */
	exitdev__init(&x);
	iobus__init(&bus, "port");
	assert_int_equal(exitdev__register(&x, &bus), 0);
	assert_int_equal(iobus__access(&bus, BOARD_EXIT_PORT, &b, 1, true), IO_STOP);
	assert_int_equal(x.status, 9);
	iobus__exit(&bus);
	exitdev__exit(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_good),
		cmocka_unit_test(test_elf_bad),
		cmocka_unit_test(test_page_tables),
		cmocka_unit_test(test_iobus),
		cmocka_unit_test(test_exitdev),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
