/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of a whole VM (docs/snapshots.md): taken at the guest's
 * snapshot point (LISPVM_HC_SNAPSHOT) and restored in place of a boot.
 * The restored VM gets the restoring command's program, mounts and
 * terminal through freshly written boot data, which the guest reads again
 * when the hypercall returns LISPVM_SNAPSHOT_RESTORED in it.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/virtio_ids.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <lispvm/abi.h>

#include "file_io.h"
#include "host_signals.h"
#include "hostfs_snapshot.h"
#include "log.h"
#include "page_bitmap.h"
#include "pvh_boot.h"
#include "snapshot_chain.h"
#include "snapshot_file.h"
#include "snapshot_machine.h"
#include "vcpu_state.h"
#include "vm_internal.h"

struct snapshot_devices {
	uint32_t nr;
	/* virtio_vsock_next_port() of a VM with --vsock: its guest may hold
	 * streams on any host port below (0 in files from before it). */
	uint32_t vsock_next_port;
	struct virtio_mmio_state devices[GUEST_MAX_DEVICES];
};

/* The sections, large enough to want the heap. */
struct snapshot_state {
	struct snapshot_machine machine;
	struct vcpu_state vcpu;
	struct vm_kvm_state kvm;
	struct snapshot_devices devices;
	bool running;			 /* a running VM's: it resumes where it was */
	struct hostfs_saved_file *files; /* a running VM's open host files */
	unsigned int nr_files;
	struct hostfs_saved_cap caps[GUEST_MAX_MOUNTS]; /* its mounts' size caps */
	unsigned int nr_caps;				/* 0: none capped */
};

static struct virtio_mmio *device_in_slot(struct vm *vm, unsigned int i)
{
	uint64_t gpa = vm->params.devices[i].gpa;

	if (vm->console.opened && vm->console.mmio.gpa == gpa)
		return &vm->console.mmio;
	if (vm->vsock.opened && vm->vsock.mmio.gpa == gpa)
		return &vm->vsock.mmio;
	return NULL;
}

static int file_identity(const char *path, struct file_identity *out)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	*out = (struct file_identity){
		.ino = st.st_ino,
		.size = (uint64_t)st.st_size,
		.mtime_ns = st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec,
		.ctime_ns = st.st_ctim.tv_sec * 1000000000ll + st.st_ctim.tv_nsec,
	};
	return 0;
}

/* The image is the one the snapshot was taken with. */
static bool image_unchanged(const struct snapshot_image *img)
{
	struct file_identity now;
	uint64_t hash;

	if (memchr(img->path, '\0', SNAPSHOT_PATH_MAX) == NULL ||
	    file_identity(img->path, &now) < 0)
		return false;
	if (memcmp(&now, &img->identity, sizeof(now)) == 0)
		return true;
	return snapshot_hash_file(img->path, &hash) == 0 && hash == img->content_hash;
}

static int copy_path(char *dst, const char *src, char *err, size_t err_size)
{
	if (strlen(src) >= SNAPSHOT_PATH_MAX) {
		snprintf(err, err_size, "path too long for a snapshot: %.120s...", src);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

static int describe_machine(struct vm *vm, struct snapshot_machine *m)
{
	memset(m, 0, sizeof(*m));
	m->start_info_gpa = vm->start_info_gpa;
	m->guest_cid = vm->config->guest_cid;
	m->flags = host_signals_ready() ? MACHINE_HOST_SIGNALS_READY : 0;
	m->nr_images = vm->nr_images;
	for (unsigned int i = 0; i < vm->nr_images; i++) {
		struct snapshot_image *img = &m->images[i];

		img->gpa = vm->params.images[i].gpa;
		img->size = vm->params.images[i].size;
		if (copy_path(img->path, vm->image_paths[i], vm->err, sizeof(vm->err)) < 0)
			return -1;
		if (file_identity(vm->image_paths[i], &img->identity) < 0 ||
		    snapshot_hash_file(vm->image_paths[i], &img->content_hash) < 0) {
			snprintf(vm->err, sizeof(vm->err), "cannot read image %s: %s",
				 vm->image_paths[i], strerror(errno));
			return -1;
		}
	}
	m->nr_mounts = vm->params.nr_mounts;
	for (unsigned int i = 0; i < vm->params.nr_mounts; i++) {
		const struct guest_mount *gm = &vm->params.mounts[i];

		m->mounts[i].readonly = gm->readonly;
		if (copy_path(m->mounts[i].host_path, gm->host_path, vm->err, sizeof(vm->err)) <
			    0 ||
		    copy_path(m->mounts[i].guest_path, gm->guest_path, vm->err, sizeof(vm->err)) <
			    0)
			return -1;
	}
	m->nr_devices = vm->params.nr_devices;
	for (unsigned int i = 0; i < vm->params.nr_devices; i++)
		m->device_ids[i] = vm->params.devices[i].device_id;
	return 0;
}

/* Guest RAM in address order, the kernel's text slot read from its own
 * mapping, so the file stands alone. */
static unsigned int ram_pieces(struct vm *vm, struct snapshot_ram_piece *pieces)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->layout.nr_ram; i++) {
		const struct ram_range *r = &vm->layout.ram[i];
		const uint8_t *host = vm->ram[i];
		uint64_t cut;

		if (vm_text_in_ram(vm, i, &cut)) {
			pieces[n++] = (struct snapshot_ram_piece){host, cut};
			pieces[n++] = (struct snapshot_ram_piece){vm->text_map, vm->text.len};
			pieces[n++] = (struct snapshot_ram_piece){host + cut + vm->text.len,
								  r->size - cut - vm->text.len};
		} else {
			pieces[n++] = (struct snapshot_ram_piece){host, r->size};
		}
	}
	return n;
}

/* The devices' registers (of devices[], resolved while they were open),
 * the machine, the vCPU and KVM's own state; the vCPU is out of KVM_RUN
 * and no device thread runs. */
static int record_state(struct vm *vm, struct virtio_mmio *const *devices,
			struct snapshot_state *st)
{
	st->devices.nr = vm->params.nr_devices;
	st->devices.vsock_next_port = vm->vsock.opened ? virtio_vsock_next_port(&vm->vsock) : 0;
	for (unsigned int i = 0; i < vm->params.nr_devices; i++)
		if (devices[i] != NULL)
			virtio_mmio_save(devices[i], &st->devices.devices[i]);
	if (describe_machine(vm, &st->machine) < 0 ||
	    vcpu_state_save(&vm->vcpu, &vm->kvm, &st->vcpu, vm->err, sizeof(vm->err)) < 0 ||
	    vm_kvm_state_save(&vm->kvm, &st->kvm, vm->err, sizeof(vm->err)) < 0)
		return -1;
	return 0;
}

static void find_devices(struct vm *vm, struct virtio_mmio **devices)
{
	for (unsigned int i = 0; i < vm->params.nr_devices; i++)
		devices[i] = device_in_slot(vm, i);
}

static int complete_exit(struct vm *vm)
{
	if (vcpu_complete_exit(&vm->vcpu) == 0)
		return 0;
	snprintf(vm->err, sizeof(vm->err), "cannot complete the vCPU's last exit: %s",
		 strerror(errno));
	return -1;
}

/* At the snapshot point the VM ends: its device threads stop for good
 * before anything is saved. */
static int save_state(struct vm *vm, struct snapshot_state *st)
{
	struct virtio_mmio *devices[GUEST_MAX_DEVICES];

	if (complete_exit(vm) < 0)
		return -1;
	find_devices(vm, devices);
	virtio_console_close(&vm->console);
	virtio_vsock_close(&vm->vsock);
	return record_state(vm, devices, st);
}

/* dst's pages [first, first + n) get src's pages [from, from + n). */
static void or_pages(uint64_t *dst, uint64_t first, const uint64_t *src, uint64_t from, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		if (page_bitmap_test(src, from + i))
			page_bitmap_set(dst, first + i);
}

/* Adds the pages of [gpa, gpa + pages) that `bits` marks (bit 0 is gpa)
 * and that fall in RAM range r, which starts at page `rel` of the file's
 * RAM. */
static void add_changed(uint64_t *changed, const struct ram_range *r, uint64_t rel,
			const uint64_t *bits, uint64_t gpa, uint64_t pages)
{
	uint64_t start = gpa > r->gpa ? gpa : r->gpa;
	uint64_t end = gpa + pages * LISPVM_PAGE_SIZE;

	if (end > r->gpa + r->size)
		end = r->gpa + r->size;
	if (bits == NULL || start >= end)
		return;
	or_pages(changed, rel + (start - r->gpa) / LISPVM_PAGE_SIZE, bits,
		 (start - gpa) / LISPVM_PAGE_SIZE, (end - start) / LISPVM_PAGE_SIZE);
}

/* A bit per page of RAM, in the file's order, for every page written
 * since the restore: by the guest (KVM's dirty log) or by the VMM. */
static uint64_t *changed_pages(struct vm *vm)
{
	uint64_t *changed =
		calloc(page_bitmap_words(vm->layout.ram_size / LISPVM_PAGE_SIZE), sizeof(uint64_t));
	uint64_t rel = 0;

	if (changed == NULL)
		return NULL;
	for (unsigned int i = 0; i < vm->layout.nr_ram; i++) {
		const struct ram_range *r = &vm->layout.ram[i];

		for (unsigned int s = 0; s < vm->kvm.nr_logged; s++)
			add_changed(changed, r, rel, vm->dirty.since[s], vm->kvm.logged[s].gpa,
				    vm->kvm.logged[s].pages);
		for (unsigned int g = 0; g < vm->mem.nr_regions; g++)
			add_changed(changed, r, rel, vm->mem.regions[g].written,
				    vm->mem.regions[g].gpa,
				    vm->mem.regions[g].size / LISPVM_PAGE_SIZE);
		rel += r->size / LISPVM_PAGE_SIZE;
	}
	return changed;
}

/* A diff names its base: the snapshot restored (by its real path, found
 * here), or the one the running VM took last (as its client named it,
 * real already: the VMM, perhaps jailed, need not see it). */
static int add_base(struct vm *vm, struct snapshot_writer *w, const char *base_path,
		    bool named_by_client)
{
	struct snapshot_base *base = calloc(1, sizeof(*base));
	int rc = -1;

	if (base == NULL) {
		errno = ENOMEM;
	} else if (!named_by_client) {
		rc = file_real_path(base_path, base->path, sizeof(base->path));
	} else if (strlen(base_path) < sizeof(base->path)) {
		strcpy(base->path, base_path);
		rc = 0;
	} else {
		errno = ENAMETOOLONG;
	}
	if (rc < 0) {
		snprintf(vm->err, sizeof(vm->err), "snapshot %s: %s", base_path, strerror(errno));
		free(base);
		return -1;
	}
	base->header_checksum = vm->base_checksum;
	rc = snapshot_writer_add(w, SNAPSHOT_SECTION_BASE, base, sizeof(*base), vm->err,
				 sizeof(vm->err));
	free(base);
	return rc;
}

/* The sections, then guest RAM (only what changed, over base_path, for
 * a diff). */
static int write_sections(struct vm *vm, struct snapshot_writer *w, const struct snapshot_state *st,
			  const char *base_path, const uint64_t *changed, uint64_t *stored)
{
	struct snapshot_ram_piece pieces[MEMORY_LAYOUT_MAX_RAM * 3];

	if ((changed != NULL && add_base(vm, w, base_path, st->running) < 0) ||
	    snapshot_writer_add(w, SNAPSHOT_SECTION_MACHINE, &st->machine, sizeof(st->machine),
				vm->err, sizeof(vm->err)) < 0 ||
	    snapshot_writer_add(w, SNAPSHOT_SECTION_VCPU, &st->vcpu, sizeof(st->vcpu), vm->err,
				sizeof(vm->err)) < 0 ||
	    snapshot_writer_add(w, SNAPSHOT_SECTION_KVM, &st->kvm, sizeof(st->kvm), vm->err,
				sizeof(vm->err)) < 0 ||
	    snapshot_writer_add(w, SNAPSHOT_SECTION_DEVICES, &st->devices, sizeof(st->devices),
				vm->err, sizeof(vm->err)) < 0 ||
	    (st->nr_files > 0 && snapshot_writer_add(w, SNAPSHOT_SECTION_HOSTFS, st->files,
						     st->nr_files * sizeof(*st->files), vm->err,
						     sizeof(vm->err)) < 0) ||
	    (st->nr_caps > 0 &&
	     snapshot_writer_add(w, SNAPSHOT_SECTION_HOSTFS_CAPS, st->caps,
				 st->nr_caps * sizeof(*st->caps), vm->err, sizeof(vm->err)) < 0))
		return -1;
	return snapshot_writer_add_memory(w, pieces, ram_pieces(vm, pieces), changed, stored,
					  vm->err, sizeof(vm->err));
}

/* Brings the dirty log up to now (the vCPU has completed its exit and the
 * devices are held or stopped: nothing writes guest memory) and, for a
 * diff, gives every page changed since the base.  prepare's log ends
 * here; a running VM's goes on. */
static int harvest_changes(struct vm *vm, bool running, bool diff, uint64_t **changed)
{
	struct dirty_stats ignored;
	bool failed;

	*changed = NULL;
	if (running) {
		failed = vm->diffable && dirty_log_harvest(&vm->dirty) < 0;
	} else {
		if (diff)
			dirty_log_stop(&vm->dirty, &ignored);
		failed = vm->dirty.failed;
	}
	if (!diff)
		return 0;
	if (failed) {
		snprintf(vm->err, sizeof(vm->err),
			 "KVM's dirty log failed: a diff would miss pages");
		return -1;
	}
	if ((*changed = changed_pages(vm)) == NULL) {
		snprintf(vm->err, sizeof(vm->err), "out of memory taking a snapshot");
		return -1;
	}
	return 0;
}

/* Writes path, or when out_fd >= 0 that file (named path): a diff over
 * base_path when that is not NULL.  *checksum gets the new file's header
 * checksum. */
static int write_snapshot(struct vm *vm, const char *path, int out_fd,
			  const struct snapshot_state *st, const char *base_path, uint64_t *stored,
			  uint64_t *checksum)
{
	struct snapshot_writer w;
	uint64_t *changed;
	int rc;

	if (harvest_changes(vm, st->running, base_path != NULL, &changed) < 0)
		return -1;
	rc = out_fd >= 0 ? snapshot_writer_open_fd(&w, out_fd, path, vm->runtime_hash,
						   vm->layout.ram_size, vm->err, sizeof(vm->err))
			 : snapshot_writer_open(&w, path, vm->runtime_hash, vm->layout.ram_size,
						vm->err, sizeof(vm->err));
	if (rc < 0) {
		free(changed);
		return -1;
	}
	if (st->running)
		w.header.flags |= SNAPSHOT_FLAG_RUNNING;
	if (write_sections(vm, &w, st, base_path, changed, stored) < 0 ||
	    snapshot_writer_commit(&w, vm->err, sizeof(vm->err)) < 0) {
		snapshot_writer_abort(&w);
		free(changed);
		return -1;
	}
	*checksum = w.header.header_checksum;
	free(changed);
	return 0;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void free_state(struct snapshot_state *st)
{
	if (st != NULL)
		free(st->files);
	free(st);
}

struct vm_stop vm_snapshot_take(struct vm *vm)
{
	struct snapshot_state *st = calloc(1, sizeof(*st));
	uint64_t stored = 0, checksum;
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (st == NULL || save_state(vm, st) < 0 ||
	    write_snapshot(vm, vm->config->snapshot_out, -1, st,
			   vm_takes_diff(vm) ? vm->config->snapshot_in : NULL, &stored,
			   &checksum) < 0) {
		log_error("%s", st == NULL ? "out of memory taking a snapshot" : vm->err);
		free_state(st);
		return (struct vm_stop){.kind = VM_STOP_HOST_ERROR,
					.status = LISPVM_EXIT_HOST_ERROR};
	}
	log_verbose("snapshot %s: %" PRIu64 " KiB of %" PRIu64 " MiB guest RAM stored in %.3f s",
		    vm->config->snapshot_out, stored >> 10, vm->layout.ram_size >> 20,
		    seconds_since(&start));
	free_state(st);
	return (struct vm_stop){.kind = VM_STOP_EXIT, .status = 0};
}

/* ---- snapshots of a running VM ---- */

/* How long a device thread may take to reach a safe point. */
#define DEVICE_PAUSE_MS 2000

/* Holds each device thread between requests; -1 with a reason (and
 * every thread running again) when one stays busy. */
static int pause_devices(struct vm *vm)
{
	if (vm->console.opened &&
	    device_pause(&vm->console.pause, vm->console.notify_fd, DEVICE_PAUSE_MS) < 0) {
		snprintf(vm->err, sizeof(vm->err),
			 "the console device is busy (is the program's output read?); try again");
		return -1;
	}
	if (vm->vsock.opened &&
	    device_pause(&vm->vsock.pause, vm->vsock.notify_fd, DEVICE_PAUSE_MS) < 0) {
		if (vm->console.opened)
			device_resume(&vm->console.pause);
		snprintf(vm->err, sizeof(vm->err), "the vsock device is busy; try again");
		return -1;
	}
	return 0;
}

static void resume_devices(struct vm *vm)
{
	if (vm->vsock.opened)
		device_resume(&vm->vsock.pause);
	if (vm->console.opened)
		device_resume(&vm->console.pause);
}

/* The host files the guest holds open go into the snapshot by path. */
static int save_files(struct vm *vm, struct snapshot_state *st)
{
	st->files = calloc(LISPVM_HOSTFS_MAX_HANDLES, sizeof(*st->files));
	if (st->files == NULL) {
		snprintf(vm->err, sizeof(vm->err), "out of memory taking a snapshot");
		return -1;
	}
	st->nr_caps = hostfs_save_caps(&vm->hostfs, st->caps);
	return hostfs_save_files(&vm->hostfs, st->files, &st->nr_files, vm->err, sizeof(vm->err));
}

/* A running VM's diff goes over the snapshot it was resumed from or took
 * last, which its dirty log counts from: the base the client opened must
 * be that file (the client checked what lies under it). */
static int check_running_base(struct vm *vm, const struct vm_control_request *req)
{
	struct snapshot_header h;

	if (!vm->diffable || !vm->has_base) {
		snprintf(vm->err, sizeof(vm->err), "%s",
			 vm->diffable ? "this VM has taken no snapshot and was resumed from none: "
					"take a whole one first"
				      : "this VM keeps no log of its writes: no diffs");
		return -1;
	}
	if (file_pread_all(req->base_fd, &h, sizeof(h), 0) < 0 ||
	    memcmp(h.magic, SNAPSHOT_MAGIC, sizeof(h.magic)) != 0 ||
	    h.header_checksum != vm->base_checksum) {
		snprintf(vm->err, sizeof(vm->err),
			 "snapshot %.160s is not the one this VM was resumed from or took last",
			 req->base);
		return -1;
	}
	return 0;
}

/* The snapshot is written at offsets from 0 into what its client made. */
static bool new_empty_file(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

static int take_running(struct vm *vm, const struct vm_control_request *req,
			struct snapshot_state *st, uint64_t *stored)
{
	struct virtio_mmio *devices[GUEST_MAX_DEVICES];
	uint64_t checksum;
	int rc;

	st->running = true;
	if (!new_empty_file(req->out_fd)) {
		snprintf(vm->err, sizeof(vm->err),
			 "the file handed over for %.160s is not a new, empty regular file",
			 req->path);
		return -1;
	}
	find_devices(vm, devices);
	if (complete_exit(vm) < 0 || (req->diff && check_running_base(vm, req) < 0) ||
	    save_files(vm, st) < 0 || pause_devices(vm) < 0)
		return -1;
	rc = record_state(vm, devices, st) < 0
		     ? -1
		     : write_snapshot(vm, req->path, req->out_fd, st, req->diff ? req->base : NULL,
				      stored, &checksum);
	/* The next diff counts the guest's and the VMM's writes from this
	 * snapshot (a device marks a used ring or a held buffer again when
	 * it completes a request into it). */
	if (rc == 0 && vm->diffable) {
		dirty_log_forget(&vm->dirty);
		guest_memory_forget_writes(&vm->mem);
		vm->has_base = true;
		vm->base_checksum = checksum;
	}
	resume_devices(vm);
	return rc;
}

int vm_snapshot_take_running(struct vm *vm, const struct vm_control_request *req, char *answer,
			     size_t answer_size)
{
	struct snapshot_state *st = calloc(1, sizeof(*st));
	uint64_t stored = 0;
	struct timespec start;
	int rc = -1;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (st == NULL)
		snprintf(vm->err, sizeof(vm->err), "out of memory taking a snapshot");
	else
		rc = take_running(vm, req, st, &stored);
	if (rc < 0)
		snprintf(answer, answer_size, "ERROR %s", vm->err);
	else
		snprintf(answer, answer_size, "OK %" PRIu64 " %.3f", stored, seconds_since(&start));
	log_verbose("snapshot of the running VM: %s", answer);
	free_state(st);
	return rc;
}

/* ---- restore ---- */

/* The runtime as read into memory (vm_read_kernel), which is what maps
 * its text. */
static int check_runtime(struct vm *vm, const struct snapshot_file *f)
{
	if (vm_read_kernel(vm) < 0)
		return -1;
	vm->runtime_hash = snapshot_hash(vm->kernel.data, vm->kernel.size);
	if (vm->runtime_hash != f->header.runtime_hash) {
		snprintf(vm->err, sizeof(vm->err),
			 "snapshot %s was taken with another guest runtime build than %s",
			 vm->config->snapshot_in, vm->config->kernel_path);
		return -1;
	}
	return 0;
}

static int check_memory(struct vm *vm, const struct snapshot_file *f)
{
	uint64_t size = f->header.memory_size;

	if (vm->config->memory_size_given && size > vm->config->memory_size) {
		snprintf(vm->err, sizeof(vm->err),
			 "snapshot %s holds a VM of %" PRIu64 " MiB, more than --memory %" PRIu64
			 " MiB",
			 vm->config->snapshot_in, size >> 20, vm->config->memory_size >> 20);
		return -1;
	}
	if (memory_layout_compute(size, &vm->layout) < 0) {
		snprintf(vm->err, sizeof(vm->err), "snapshot %s: impossible memory size",
			 vm->config->snapshot_in);
		return -1;
	}
	return 0;
}

/* The images the snapshot's guest had mapped, unchanged and where they
 * were. */
static int map_images(struct vm *vm, const struct snapshot_machine *m)
{
	if (m->nr_images > GUEST_MAX_IMAGES) {
		snprintf(vm->err, sizeof(vm->err), "snapshot %s: corrupt image list",
			 vm->config->snapshot_in);
		return -1;
	}
	for (unsigned int i = 0; i < m->nr_images; i++) {
		if (!image_unchanged(&m->images[i])) {
			snprintf(vm->err, sizeof(vm->err),
				 "snapshot %s: image %.*s is missing or has changed since it was "
				 "taken",
				 vm->config->snapshot_in, 96, m->images[i].path);
			return -1;
		}
		/* The VM outlives the sections read (a diff names them again). */
		vm->restored_image_paths[i] = strdup(m->images[i].path);
		if (vm->restored_image_paths[i] == NULL) {
			snprintf(vm->err, sizeof(vm->err), "out of memory restoring a snapshot");
			return -1;
		}
		vm->image_paths[i] = vm->restored_image_paths[i];
	}
	vm->nr_images = m->nr_images;
	if (image_slots_map(&vm->kvm, &vm->mem, vm->image_paths, vm->nr_images,
			    memory_layout_image_base(&vm->layout), &vm->params, vm->images, vm->err,
			    sizeof(vm->err)) < 0)
		return -1;
	for (unsigned int i = 0; i < m->nr_images; i++)
		if (vm->params.images[i].gpa != m->images[i].gpa ||
		    vm->params.images[i].size != m->images[i].size) {
			snprintf(vm->err, sizeof(vm->err), "snapshot %s: image %s moved",
				 vm->config->snapshot_in, m->images[i].path);
			return -1;
		}
	return 0;
}

static const char *device_name(uint32_t id)
{
	return id == VIRTIO_ID_VSOCK ? "a vsock device (--vsock)" : "a console";
}

static int restore_devices(struct vm *vm, const struct snapshot_machine *m,
			   const struct snapshot_devices *d)
{
	const char *why = NULL;

	if (m->nr_devices != vm->params.nr_devices || d->nr != m->nr_devices) {
		uint32_t id =
			m->nr_devices > vm->params.nr_devices && m->nr_devices <= GUEST_MAX_DEVICES
				? m->device_ids[m->nr_devices - 1]
				: VIRTIO_ID_VSOCK;

		snprintf(vm->err, sizeof(vm->err), "snapshot %s was taken %s %s; restore it %s",
			 vm->config->snapshot_in,
			 m->nr_devices > vm->params.nr_devices ? "with" : "without",
			 device_name(id),
			 m->nr_devices > vm->params.nr_devices ? "with one" : "without");
		return -1;
	}
	for (unsigned int i = 0; i < m->nr_devices; i++) {
		struct virtio_mmio *mmio = device_in_slot(vm, i);

		if (mmio == NULL || m->device_ids[i] != vm->params.devices[i].device_id ||
		    virtio_mmio_restore(mmio, &d->devices[i], &why) < 0) {
			snprintf(vm->err, sizeof(vm->err), "snapshot %s: device %u: %s",
				 vm->config->snapshot_in, i, why ? why : "not the one saved");
			return -1;
		}
	}
	return 0;
}

/* Ranges of the file's RAM (offsets relative to its memory section) mapped
 * over the anonymous RAM: a level's stored pages MAP_PRIVATE from its file
 * (fd >= 0; N VMs restored from one file share its page cache until each
 * writes a page), or a diff's zeroed ranges as new anonymous memory.
 * Every other page stays an anonymous zero page, read from nowhere. */
static int map_ranges(struct vm *vm, int fd, uint64_t file_base, const struct snapshot_extent *e,
		      uint64_t count, const char *path)
{
	int flags = MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE | (fd < 0 ? MAP_ANONYMOUS : 0);

	for (uint64_t i = 0; i < count; i++) {
		uint64_t off = e[i].offset, end = e[i].offset + e[i].length, range_start = 0;

		for (unsigned int r = 0; r < vm->layout.nr_ram && off < end; r++) {
			uint64_t range_end = range_start + vm->layout.ram[r].size;
			uint64_t stop = end < range_end ? end : range_end;

			if (off < range_end &&
			    mmap((uint8_t *)vm->ram[r] + (off - range_start), stop - off,
				 PROT_READ | PROT_WRITE, flags, fd,
				 fd < 0 ? 0 : (off_t)(file_base + off)) == MAP_FAILED) {
				snprintf(vm->err, sizeof(vm->err),
					 "snapshot %s: cannot map memory: %s", path,
					 strerror(errno));
				return -1;
			}
			if (off < range_end) {
				if (fd >= 0)
					guest_memory_mark_file_backed(&vm->mem,
								      vm->layout.ram[r].gpa +
									      (off - range_start),
								      stop - off);
				off = stop;
			}
			range_start = range_end;
		}
	}
	return 0;
}

/* The base first, then each diff's pages and zeroed ranges over it. */
static int map_chain(struct vm *vm, const struct snapshot_chain *c)
{
	for (unsigned int i = c->n; i-- > 0;) {
		const struct snapshot_level *l = &c->level[i];

		if (map_ranges(vm, l->f.fd, snapshot_file_memory_offset(&l->f), l->extents,
			       l->nr_extents, l->f.path) < 0 ||
		    map_ranges(vm, -1, 0, l->zeroed, l->nr_zeroed, l->f.path) < 0)
			return -1;
	}
	return 0;
}

/* A running VM's mount caps: one per mount, or none. */
static int read_caps(struct vm *vm, const struct snapshot_file *f, struct snapshot_state *st)
{
	void *caps;
	uint64_t n;

	if (snapshot_file_read_array(f, SNAPSHOT_SECTION_HOSTFS_CAPS, sizeof(*st->caps),
				     GUEST_MAX_MOUNTS, &caps, &n, vm->err, sizeof(vm->err)) < 0)
		return -1;
	if (n != 0 && n != st->machine.nr_mounts) {
		free(caps);
		snprintf(vm->err, sizeof(vm->err), "snapshot %.200s: corrupt mount caps", f->path);
		return -1;
	}
	if (n != 0)
		memcpy(st->caps, caps, n * sizeof(*st->caps));
	st->nr_caps = (unsigned int)n;
	free(caps);
	return 0;
}

static int read_sections(struct vm *vm, const struct snapshot_file *f, struct snapshot_state *st)
{
	if (snapshot_file_read(f, SNAPSHOT_SECTION_MACHINE, &st->machine, sizeof(st->machine),
			       vm->err, sizeof(vm->err)) < 0 ||
	    snapshot_file_read(f, SNAPSHOT_SECTION_VCPU, &st->vcpu, sizeof(st->vcpu), vm->err,
			       sizeof(vm->err)) < 0 ||
	    snapshot_file_read(f, SNAPSHOT_SECTION_KVM, &st->kvm, sizeof(st->kvm), vm->err,
			       sizeof(vm->err)) < 0 ||
	    snapshot_file_read(f, SNAPSHOT_SECTION_DEVICES, &st->devices, sizeof(st->devices),
			       vm->err, sizeof(vm->err)) < 0)
		return -1;
	st->running = (f->header.flags & SNAPSHOT_FLAG_RUNNING) != 0;
	if (!st->running)
		return 0;
	void *files;
	uint64_t n;

	if (snapshot_file_read_array(f, SNAPSHOT_SECTION_HOSTFS, sizeof(*st->files),
				     LISPVM_HOSTFS_MAX_HANDLES, &files, &n, vm->err,
				     sizeof(vm->err)) < 0)
		return -1;
	st->files = files;
	st->nr_files = (unsigned int)n;
	return read_caps(vm, f, st);
}

/* A prepared snapshot waits for a program; a running VM's resumes
 * without one, and prepare cannot start from it. */
static int check_kind(struct vm *vm, const struct snapshot_state *st)
{
	const char *in = vm->config->snapshot_in;

	if (st->running && vm->config->snapshot_out != NULL)
		snprintf(vm->err, sizeof(vm->err),
			 "snapshot %s is of a running VM: prepare starts from prepared ones", in);
	else if (st->running && vm->config->program != NULL)
		snprintf(vm->err, sizeof(vm->err),
			 "snapshot %s is of a running VM: resume it with 'lispvm run --snapshot "
			 "%s' and no program",
			 in, in);
	else if (!st->running && vm->config->program == NULL)
		snprintf(vm->err, sizeof(vm->err),
			 "snapshot %s was made by 'lispvm prepare': give it a program to run", in);
	else
		return 0;
	return -1;
}

/* A running VM's mounts are the ones it had: its open files are in them,
 * and its size caps go on counting from where they were. */
static int setup_saved_mounts(struct vm *vm, const struct snapshot_state *st)
{
	const struct snapshot_machine *m = &st->machine;
	struct guest_mount mounts[GUEST_MAX_MOUNTS];

	if (m->nr_mounts > GUEST_MAX_MOUNTS) {
		snprintf(vm->err, sizeof(vm->err), "snapshot %s: corrupt mount list",
			 vm->config->snapshot_in);
		return -1;
	}
	for (unsigned int i = 0; i < m->nr_mounts; i++) {
		const struct snapshot_mount *sm = &m->mounts[i];

		uint64_t max_size = i < st->nr_caps ? st->caps[i].max_size : 0;

		if (memchr(sm->host_path, '\0', SNAPSHOT_PATH_MAX) == NULL ||
		    memchr(sm->guest_path, '\0', SNAPSHOT_PATH_MAX) == NULL ||
		    max_size > INT64_MAX || (max_size != 0 && sm->readonly)) {
			snprintf(vm->err, sizeof(vm->err), "snapshot %s: corrupt mount list",
				 vm->config->snapshot_in);
			return -1;
		}
		vm->restored_mount_paths[i][0] = strdup(sm->host_path);
		vm->restored_mount_paths[i][1] = strdup(sm->guest_path);
		if (vm->restored_mount_paths[i][0] == NULL ||
		    vm->restored_mount_paths[i][1] == NULL) {
			snprintf(vm->err, sizeof(vm->err), "out of memory restoring a snapshot");
			return -1;
		}
		mounts[i] = (struct guest_mount){.host_path = vm->restored_mount_paths[i][0],
						 .guest_path = vm->restored_mount_paths[i][1],
						 .readonly = sm->readonly != 0,
						 .max_size = max_size};
	}
	if (vm_open_mounts(vm, mounts, m->nr_mounts) < 0)
		return -1;
	hostfs_restore_caps(&vm->hostfs, st->caps, st->nr_caps);
	return 0;
}

/* Boot data for the program, where the prepared guest will read it
 * again; a running VM's are in its memory as they were. */
static int write_boot_data(struct vm *vm, const struct snapshot_state *st)
{
	if (st->running) {
		vm->start_info_gpa = st->machine.start_info_gpa;
		return 0;
	}
	if (pvh_boot_write(&vm->mem, &vm->layout, vm->config->cmdline, &vm->params,
			   &vm->start_info_gpa, vm->err, sizeof(vm->err)) < 0)
		return -1;
	if (vm->start_info_gpa != st->machine.start_info_gpa) {
		snprintf(vm->err, sizeof(vm->err), "snapshot %s: boot data moved",
			 vm->config->snapshot_in);
		return -1;
	}
	return 0;
}

/* What the resumed guest had from the old VMM: its open host files, its
 * host signals.  (Its vsock streams end: the transport reset is owed
 * before the devices are restored, in restore_with.) */
static int resume_host_side(struct vm *vm, const struct snapshot_state *st)
{
	if (hostfs_restore_files(&vm->hostfs, st->files, st->nr_files, vm->err, sizeof(vm->err)) <
	    0) {
		char why[ERR_SIZE];

		snprintf(why, sizeof(why), "%s", vm->err);
		snprintf(vm->err, sizeof(vm->err), "snapshot %.60s: %.180s",
			 vm->config->snapshot_in, why);
		return -1;
	}
	if (st->machine.flags & MACHINE_HOST_SIGNALS_READY)
		host_signals_set_ready();
	return 0;
}

/* What the command line decides first: a program for a prepared snapshot
 * and none for a running VM's, and the mounts (a wrong --mount is said
 * before anything is set up). */
static int open_invocation(struct vm *vm, const struct snapshot_state *st)
{
	return check_kind(vm, st) < 0 ||
			       (st->running ? setup_saved_mounts(vm, st) : vm_setup_mounts(vm)) < 0
		       ? -1
		       : 0;
}

/* The part of a restore that no invocation changes: the machine as saved,
 * its RAM mapped from the chain and its images, in a new KVM VM.  A warm
 * VM (await_invocation) opens its invocation later, and only a prepared
 * snapshot can wait for one. */
static int restore_machine(struct vm *vm, const struct snapshot_chain *c, struct snapshot_state *st)
{
	if (read_sections(vm, &c->level[0].f, st) < 0)
		return -1;
	if (vm->config->await_invocation != NULL && st->running) {
		snprintf(vm->err, sizeof(vm->err),
			 "snapshot %s is of a running VM: a warm VM (--pooled) restores a "
			 "prepared one",
			 vm->config->snapshot_in);
		return -1;
	}
	if (vm->config->await_invocation == NULL && open_invocation(vm, st) < 0)
		return -1;
	vm_map_kernel_text(vm);
	return kvm_vm_create(&vm->kvm, vm->err, sizeof(vm->err)) < 0 || vm_setup_ram(vm) < 0 ||
			       map_chain(vm, c) < 0 || map_images(vm, &st->machine) < 0
		       ? -1
		       : 0;
}

/* The part the invocation decides (its mounts, its stdio devices, its
 * boot data), then the vCPU and the devices as saved. */
static int restore_invocation(struct vm *vm, const struct snapshot_chain *c,
			      struct snapshot_state *st, bool waited)
{
	const struct snapshot_file *f = &c->level[0].f;
	const struct snapshot_machine *m = &st->machine;

	if ((waited && open_invocation(vm, st) < 0) || vm_setup_devices(vm) < 0 ||
	    write_boot_data(vm, st) < 0)
		return -1;
	if (st->running && vm->vsock.opened) /* before the device is live again */
		virtio_vsock_transport_reset(&vm->vsock, st->devices.vsock_next_port);
	if (vm_kvm_state_restore(&vm->kvm, &st->kvm, st->running, vm->err, sizeof(vm->err)) < 0 ||
	    vcpu_create(&vm->vcpu, &vm->kvm, 0, vm->err, sizeof(vm->err)) < 0 ||
	    vcpu_state_restore(&vm->vcpu, &st->vcpu, vm->err, sizeof(vm->err)) < 0 ||
	    restore_devices(vm, m, &st->devices) < 0 ||
	    (st->running && resume_host_side(vm, st) < 0))
		return -1;
	vm->has_base = true;
	vm->base_checksum = vm->restored_checksum = f->header.header_checksum;
	/* The file is in guest RAM now. */
	free(vm->kernel.data);
	vm->kernel.data = NULL;
	return 0;
}

/* Whether out is one of the chain's files (*level: which). */
/* The chain's files by the names it opened them by. */
static void chain_paths(const struct snapshot_chain *c, const char **paths)
{
	for (unsigned int i = 0; i < c->n; i++)
		paths[i] = c->level[i].f.path;
}

/* A diff (to out) must not replace a file of the chain it is taken over,
 * and must leave the chain short enough to restore. */
static int check_diff_target(struct vm *vm, const struct snapshot_chain *c, const char *out)
{
	const char *paths[SNAPSHOT_MAX_CHAIN];

	chain_paths(c, paths);
	return snapshot_chain_check_diff_target(paths, c->n, out, vm->err, sizeof(vm->err));
}

/* --record-working-set must not replace the snapshot it records for. */
static int check_working_set_target(struct vm *vm, const struct snapshot_chain *c)
{
	const char *out = vm->config->working_set_out, *paths[SNAPSHOT_MAX_CHAIN];
	int i;

	chain_paths(c, paths);
	if (out == NULL || (i = snapshot_chain_find(paths, c->n, out)) < 0)
		return 0;
	snprintf(vm->err, sizeof(vm->err),
		 "working set %s: it would replace the snapshot it is recorded from (%s)", out,
		 paths[i]);
	return -1;
}

/* What the invocation asks of the chain: a diff or a working set that
 * must not replace one of its files, a --memory that holds it. */
static int check_invocation(struct vm *vm, const struct snapshot_chain *c)
{
	return (vm_takes_diff(vm) && check_diff_target(vm, c, vm->config->snapshot_out) < 0) ||
			       check_working_set_target(vm, c) < 0 ||
			       check_memory(vm, &c->level[0].f) < 0
		       ? -1
		       : 0;
}

/* A pooled VMM waits here, its machine restored, for the program. */
static int await_invocation(struct vm *vm, const struct snapshot_chain *c)
{
	const struct vm_config *next;

	if (vm->config->await_invocation == NULL)
		return 0;
	next = vm->config->await_invocation(vm->config->await_arg, vm->config, vm->err,
					    sizeof(vm->err));
	if (next == NULL)
		return -1;
	vm->config = next;
	vm->params.program = next->program;
	return check_invocation(vm, c);
}

int vm_snapshot_restore(struct vm *vm)
{
	struct snapshot_state *st = calloc(1, sizeof(*st));
	struct snapshot_chain *c = calloc(1, sizeof(*c));
	bool waits = vm->config->await_invocation != NULL;
	int rc = -1;

	if (st == NULL || c == NULL)
		snprintf(vm->err, sizeof(vm->err), "out of memory restoring a snapshot");
	else if (snapshot_chain_open(c, vm->config->snapshot_in, vm->err, sizeof(vm->err)) == 0 &&
		 check_invocation(vm, c) == 0 && check_runtime(vm, &c->level[0].f) == 0 &&
		 restore_machine(vm, c, st) == 0 && await_invocation(vm, c) == 0)
		rc = restore_invocation(vm, c, st, waits);
	/* The RAM mappings keep the files open. */
	if (c != NULL)
		snapshot_chain_close(c);
	free(c);
	free_state(st);
	return rc;
}
