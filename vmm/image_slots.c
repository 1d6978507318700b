/* SPDX-License-Identifier: MIT */
#include "image_slots.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memory_layout.h"

/* The EROFS superblock fields the host checks (little-endian, x86 host). */
#define EROFS_SUPER_OFFSET 1024
#define EROFS_MAGIC	   0xe0f5e1e2u
#define EROFS_SB_BLKSZBITS (EROFS_SUPER_OFFSET + 12)
#define EROFS_SB_BLOCKS	   (EROFS_SUPER_OFFSET + 36)
#define EROFS_MIN_IMAGE	   (EROFS_SUPER_OFFSET + 128)
#define IMAGE_MAX_SIZE	   (64ULL << 30)
#define PAGE_ROUND(x)	   (((x) + 4095) & ~4095ULL)

static uint32_t read_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int check_erofs(const char *path, const uint8_t *data, uint64_t size, char *err,
		       size_t err_size)
{
	uint32_t blocks;
	unsigned int blkszbits;

	if (size < EROFS_MIN_IMAGE || read_le32(data + EROFS_SUPER_OFFSET) != EROFS_MAGIC) {
		snprintf(err, err_size,
			 "image %s is not an EROFS image (make one with 'lispvm image build')",
			 path);
		return -1;
	}
	blkszbits = data[EROFS_SB_BLKSZBITS];
	blocks = read_le32(data + EROFS_SB_BLOCKS);
	if (blkszbits != 12 || (uint64_t)blocks << 12 > size) {
		snprintf(err, err_size,
			 "image %s is truncated or corrupt: its superblock says %" PRIu32
			 " blocks of %u bytes, the file has %" PRIu64 " bytes",
			 path, blocks, 1u << (blkszbits & 31), size);
		return -1;
	}
	return 0;
}

int image_file_check(const char *path, char *err, size_t err_size)
{
	uint8_t head[EROFS_MIN_IMAGE];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, err_size, "image %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = pread(fd, head, sizeof(head), 0);
	close(fd);
	if (n < (ssize_t)sizeof(head))
		memset(head, 0, sizeof(head));
	return check_erofs(path, head, (uint64_t)st.st_size, err, err_size);
}

static int map_one(const char *path, struct image_mapping *m, char *err, size_t err_size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, err_size, "cannot open image %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > IMAGE_MAX_SIZE) {
		snprintf(err, err_size, "image %s is not a regular file of 1 byte to %llu GiB",
			 path, IMAGE_MAX_SIZE >> 30);
		close(fd);
		return -1;
	}
	m->size = PAGE_ROUND((uint64_t)st.st_size);
	m->host = mmap(NULL, m->size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m->host == MAP_FAILED) {
		m->host = NULL;
		snprintf(err, err_size, "cannot map image %s: %s", path, strerror(errno));
		return -1;
	}
	return check_erofs(path, m->host, (uint64_t)st.st_size, err, err_size);
}

int image_slots_map(struct kvm_vm *kvm, struct guest_memory *mem, const char *const *paths,
		    unsigned int n, uint64_t gpa_base, struct guest_params *params,
		    struct image_mapping *mappings, char *err, size_t err_size)
{
	uint64_t gpa = gpa_base;

	if (n > GUEST_MAX_IMAGES) {
		snprintf(err, err_size, "at most %d images", GUEST_MAX_IMAGES);
		return -1;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct image_mapping *m = &mappings[i];

		if (map_one(paths[i], m, err, err_size) < 0)
			return -1;
		if (guest_memory_add(mem, gpa, m->size, m->host, false) < 0) {
			snprintf(err, err_size, "image %s does not fit the guest address space",
				 paths[i]);
			return -1;
		}
		if (kvm_vm_add_memslot(kvm, gpa, m->size, m->host, true, err, err_size) < 0)
			return -1;
		params->images[i] =
			(struct guest_image){.path = paths[i], .gpa = gpa, .size = m->size};
		params->nr_images = i + 1;
		gpa = (gpa + m->size + IMAGE_ALIGN - 1) & ~(IMAGE_ALIGN - 1);
	}
	return 0;
}

void image_slots_unmap(struct image_mapping *mappings, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (mappings[i].host != NULL)
			munmap(mappings[i].host, mappings[i].size);
}
