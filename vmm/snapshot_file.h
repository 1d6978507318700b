/* SPDX-License-Identifier: MIT */
/*
 * The snapshot file (docs/snapshots.md): a 4 KiB header naming its
 * sections, each with an XXH3-64 checksum, then the sections, then guest
 * RAM as a sparse image at a 2 MiB-aligned offset, in which every page
 * that is zero (never touched, returned by the guest, or cleared) is a
 * hole.  A restore maps that image MAP_PRIVATE, so VMs restored from one
 * file share its page cache until each writes a page.  A diff (flag
 * SNAPSHOT_FLAG_DIFF) holds only the pages that changed since its base
 * was restored, and the ranges that read zero now; its BASE section names
 * the base, which may be a diff itself.
 */
#ifndef LISPVM_VMM_SNAPSHOT_FILE_H
#define LISPVM_VMM_SNAPSHOT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAPSHOT_MAGIC "LISPVMSN"
/* 2: diffs (flag, BASE, ZEROED); 3: snapshots of running VMs (flag
 * RUNNING, HOSTFS, the host's wall clock beside KVM's clock) */
#define SNAPSHOT_FORMAT_VERSION 3
#define SNAPSHOT_HEADER_SIZE	4096u
#define SNAPSHOT_MEMORY_ALIGN	(2ull << 20)
#define SNAPSHOT_MAX_SECTIONS	12
#define SNAPSHOT_FLAG_DIFF	1u
/* Taken of a running VM (lispvm snapshot), which a restore resumes where
 * it was; without it, the VM waits at the snapshot point for a program. */
#define SNAPSHOT_FLAG_RUNNING 2u
/* Not a VM: a restored VM's working set (working_set.h), sections
 * WS_SNAPSHOT and WS_RUNS. */
#define SNAPSHOT_FLAG_WORKING_SET 4u
#define SNAPSHOT_KNOWN_FLAGS                                                                       \
	(SNAPSHOT_FLAG_DIFF | SNAPSHOT_FLAG_RUNNING | SNAPSHOT_FLAG_WORKING_SET)
#define SNAPSHOT_BASE_PATH_MAX 4096

enum snapshot_section_kind {
	SNAPSHOT_SECTION_MACHINE = 1,	   /* struct snapshot_machine */
	SNAPSHOT_SECTION_VCPU = 2,	   /* struct vcpu_state */
	SNAPSHOT_SECTION_KVM = 3,	   /* struct vm_kvm_state */
	SNAPSHOT_SECTION_DEVICES = 4,	   /* struct snapshot_devices */
	SNAPSHOT_SECTION_MEMORY = 5,	   /* guest RAM, the ranges in address order */
	SNAPSHOT_SECTION_EXTENTS = 6,	   /* struct snapshot_extent[]: the stored pages */
	SNAPSHOT_SECTION_BASE = 7,	   /* a diff's struct snapshot_base */
	SNAPSHOT_SECTION_ZEROED = 8,	   /* a diff's snapshot_extent[] that read zero */
	SNAPSHOT_SECTION_HOSTFS = 9,	   /* a running VM's struct hostfs_saved_file[] */
	SNAPSHOT_SECTION_WS_SNAPSHOT = 10, /* a working set's struct snapshot_base */
	SNAPSHOT_SECTION_WS_RUNS = 11,	   /* its struct working_set_run[] */
	/* A running VM's struct hostfs_saved_cap[], one per mount; absent
	 * when no mount has a size cap (and in files from before caps). */
	SNAPSHOT_SECTION_HOSTFS_CAPS = 12,
};

/* The snapshot a diff applies to: its absolute path and its header's
 * checksum, which covers every section's checksum and so its contents. */
struct snapshot_base {
	uint64_t header_checksum;
	char path[SNAPSHOT_BASE_PATH_MAX];
};

/* A run of stored (non-zero) pages, relative to the memory section: the
 * reader checks and prefetches only these, whether or not the file
 * system reports holes. */
struct snapshot_extent {
	uint64_t offset;
	uint64_t length;
};

struct snapshot_section {
	uint32_t kind;
	uint32_t reserved;
	uint64_t offset;
	uint64_t size;
	/* XXH3-64 of the bytes; for memory, of each non-zero page's file
	 * offset and bytes, in order. */
	uint64_t checksum;
};

struct snapshot_header {
	char magic[8];
	uint32_t format_version;
	uint32_t abi_version;  /* LISPVM_ABI_VERSION of the VMM and guest */
	uint64_t runtime_hash; /* XXH3-64 of the guest runtime's ELF file */
	uint64_t memory_size;  /* guest RAM bytes (--memory) */
	uint32_t nr_sections;
	uint32_t flags; /* SNAPSHOT_FLAG_* */
	struct snapshot_section sections[SNAPSHOT_MAX_SECTIONS];
	uint64_t header_checksum; /* XXH3-64 of everything above */
};

/* ---- writing ---- */

struct snapshot_writer {
	int fd;
	bool borrowed_fd; /* the caller's (snapshot_writer_open_fd) */
	char path[4096];
	char tmp_path[4096 + 32];
	struct snapshot_header header;
	uint64_t end;
	struct snapshot_extent *extents;
	uint64_t nr_extents, max_extents;
	struct snapshot_extent *zeroed; /* a diff's */
	uint64_t nr_zeroed, max_zeroed;
};

/* A piece of guest RAM as the VMM maps it, in the file's order. */
struct snapshot_ram_piece {
	const uint8_t *host;
	uint64_t size;
};

/* Starts PATH (written beside it and renamed into place on commit, so a
 * failed or interrupted snapshot leaves any old file whole). */
int snapshot_writer_open(struct snapshot_writer *w, const char *path, uint64_t runtime_hash,
			 uint64_t memory_size, char *err, size_t err_size);
/* The same into fd, an empty file the caller made, will name and close:
 * commit writes and syncs it but renames nothing, abort leaves it. */
int snapshot_writer_open_fd(struct snapshot_writer *w, int fd, const char *name,
			    uint64_t runtime_hash, uint64_t memory_size, char *err,
			    size_t err_size);
int snapshot_writer_add(struct snapshot_writer *w, uint32_t kind, const void *data, size_t size,
			char *err, size_t err_size);
/* Guest RAM, last: only pages the host has backed and that are not zero
 * are written.  For a diff, `changed` has a bit per page of RAM (in the
 * pieces' order): only those pages count, and those that read zero go to
 * the ZEROED section.  *stored gets the bytes written. */
int snapshot_writer_add_memory(struct snapshot_writer *w, const struct snapshot_ram_piece *pieces,
			       unsigned int nr, const uint64_t *changed, uint64_t *stored,
			       char *err, size_t err_size);
int snapshot_writer_commit(struct snapshot_writer *w, char *err, size_t err_size);
/* Removes the unfinished file (after a failure; harmless after commit). */
void snapshot_writer_abort(struct snapshot_writer *w);

/* ---- reading ---- */

struct snapshot_file {
	int fd;
	uint64_t file_size;
	struct snapshot_header header;
	char path[SNAPSHOT_BASE_PATH_MAX]; /* as opened: every error names it */
};

/* Opens and checks the header: magic, version, checksum and that every
 * section lies inside the file (a truncated file fails here).  Errors, here
 * and from every reader below, are one line in err naming the file. */
int snapshot_file_open(struct snapshot_file *f, const char *path, char *err, size_t err_size);
/* Reads a section that must be exactly size bytes and match its checksum. */
int snapshot_file_read(const struct snapshot_file *f, uint32_t kind, void *out, size_t size,
		       char *err, size_t err_size);
/* The stored pages (EXTENTS) or a diff's zero ranges (ZEROED: none when
 * the section is absent), checked to lie in order inside guest RAM; *out
 * is malloc'd. */
int snapshot_file_read_extents(const struct snapshot_file *f, uint32_t kind,
			       struct snapshot_extent **out, uint64_t *count, char *err,
			       size_t err_size);
/* A section that is an array of at most max elements of elem_size bytes
 * (none when it is absent); *out is malloc'd. */
int snapshot_file_read_array(const struct snapshot_file *f, uint32_t kind, size_t elem_size,
			     uint64_t max, void **out, uint64_t *count, char *err, size_t err_size);
/* Hashes the stored pages against the memory checksum.  Only they are
 * guest RAM: whatever else the file holds (a copy that filled the holes
 * with zeros, or with anything) is never mapped. */
int snapshot_file_verify_memory(const struct snapshot_file *f,
				const struct snapshot_extent *extents, uint64_t count, char *err,
				size_t err_size);
/* Where guest RAM starts in the file. */
uint64_t snapshot_file_memory_offset(const struct snapshot_file *f);
void snapshot_file_close(struct snapshot_file *f);

/* XXH3-64 of bytes, and of a whole file's contents (0, or -1 with
 * errno). */
uint64_t snapshot_hash(const void *data, size_t size);
int snapshot_hash_file(const char *path, uint64_t *out);

#endif
