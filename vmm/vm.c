/* SPDX-License-Identifier: MIT */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/kvm.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lispvm/abi.h>

#include "content_cache.h"
#include "elf_loader.h"
#include "fault_report.h"
#include "file_io.h"
#include "guest_memory.h"
#include "host_signals.h"
#include "hostfs.h"
#include "hypercall.h"
#include "image_slots.h"
#include "kvm_irq.h"
#include "kvm_vm.h"
#include "log.h"
#include "memory_report.h"
#include "memory_layout.h"
#include "pvh_boot.h"
#include "run_deadline.h"
#include "sandbox.h"
#include "snapshot_file.h"
#include "vcpu.h"
#include "vcpu_kick.h"
#include "virtio_console.h"
#include "virtio_vsock.h"
#include "vm_internal.h"

/* Guest kernels are a few hundred KiB; this only bounds a wrong --kernel. */
#define KERNEL_FILE_MAX (256u << 20)

/* Read, not mmap: a file that shrinks while we load it (a rebuild) must be
 * an error, not a SIGBUS in the middle of copying it. */
static int read_file(const char *path, struct kernel_file *out, char *err, size_t err_size)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(err, err_size, "cannot open guest kernel %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 ||
	    (uint64_t)st.st_size > KERNEL_FILE_MAX) {
		snprintf(err, err_size, "guest kernel %s is not a regular file of 1 byte to %u MiB",
			 path, KERNEL_FILE_MAX >> 20);
		close(fd);
		return -1;
	}
	out->size = (size_t)st.st_size;
	errno = 0; /* a short read (EOF) sets none */
	out->data = malloc(out->size);
	if (out->data == NULL || file_pread_all(fd, out->data, out->size, 0) < 0) {
		snprintf(err, err_size, "cannot read guest kernel %s: %s", path,
			 errno ? strerror(errno) : "file changed while reading");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int add_slot(struct vm *vm, uint64_t gpa, uint64_t size, void *host, bool readonly)
{
	if (size == 0)
		return 0;
	if (guest_memory_add(&vm->mem, gpa, size, host, !readonly) < 0) {
		snprintf(vm->err, sizeof(vm->err), "bad memory layout at 0x%" PRIx64, gpa);
		return -1;
	}
	return kvm_vm_add_memslot(&vm->kvm, gpa, size, host, readonly, vm->err, sizeof(vm->err));
}

/* The kernel's code and read-only data from a file, MAP_SHARED: every VM
 * runs the same page-cache pages instead of a copy each.  Not the kernel
 * ELF itself, which a reinstall may rewrite in place under running VMs,
 * but a copy in the cache named by its content and never changed in
 * place; used only when the mapping holds what was read. */
void vm_map_kernel_text(struct vm *vm)
{
	struct elf_text_span span;
	char path[4096];
	void *map;
	int fd;

	if (vm->config->kernel_text_cache == NULL ||
	    !elf_kernel_text_span(vm->kernel.data, vm->kernel.size, &span) ||
	    content_cache_store(vm->config->kernel_text_cache, "kernel-text",
				vm->kernel.data + span.file_offset, span.len, path,
				sizeof(path)) < 0)
		return;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	map = mmap(NULL, span.len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	if (memcmp(map, vm->kernel.data + span.file_offset, span.len) != 0) {
		munmap(map, span.len);
		return;
	}
	vm->text = span;
	vm->text_map = map;
}

bool vm_text_in_ram(const struct vm *vm, unsigned int i, uint64_t *cut)
{
	const struct ram_range *r = &vm->layout.ram[i];

	if (vm->text_map == NULL || vm->text.gpa < r->gpa ||
	    vm->text.gpa + vm->text.len > r->gpa + r->size)
		return false;
	*cut = vm->text.gpa - r->gpa;
	return true;
}

/* RAM is anonymous MAP_NORESERVE memory: the host backs a page only when the
 * guest first touches it.  The kernel's text span, when mapped, is its own
 * read-only slot inside the RAM range that holds it. */
int vm_setup_ram(struct vm *vm)
{
	vm->kvm.log_dirty = vm->config->print_stats || vm_logs_changes(vm);
	for (unsigned int i = 0; i < vm->layout.nr_ram; i++) {
		const struct ram_range *r = &vm->layout.ram[i];
		uint8_t *host = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		uint64_t cut = r->size, resume = r->size;

		if (host == MAP_FAILED) {
			snprintf(vm->err, sizeof(vm->err),
				 "cannot reserve %" PRIu64 " MiB of guest RAM: %s", r->size >> 20,
				 strerror(errno));
			return -1;
		}
		vm->ram[i] = host;
		if (vm_text_in_ram(vm, i, &cut))
			resume = cut + vm->text.len;
		if (add_slot(vm, r->gpa, cut, host, false) < 0 ||
		    (resume != cut &&
		     add_slot(vm, vm->text.gpa, vm->text.len, vm->text_map, true) < 0) ||
		    add_slot(vm, r->gpa + resume, r->size - resume, host + resume, false) < 0)
			return -1;
	}
	if (vm_logs_changes(vm) && guest_memory_track_writes(&vm->mem) < 0) {
		snprintf(vm->err, sizeof(vm->err), "out of memory tracking guest writes");
		return -1;
	}
	return 0;
}

static int load_kernel(struct vm *vm, struct elf_kernel *kernel)
{
	char why[ERR_SIZE - 64];

	if (elf_load_kernel(vm->kernel.data, vm->kernel.size, &vm->mem, kernel, why, sizeof(why)) <
	    0) {
		snprintf(vm->err, sizeof(vm->err), "bad guest kernel %s: %s",
			 vm->config->kernel_path, why);
		return -1;
	}
	if (kernel->abi_version != LISPVM_ABI_VERSION) {
		snprintf(vm->err, sizeof(vm->err),
			 "guest kernel %s speaks lispvm ABI %u, this lispvm speaks %u",
			 vm->config->kernel_path, kernel->abi_version, LISPVM_ABI_VERSION);
		return -1;
	}
	return 0;
}

/* The host directories first: a wrong --mount is the user's mistake and
 * should be reported before anything else is set up. */
int vm_open_mounts(struct vm *vm, const struct guest_mount *mounts, unsigned int n)
{
	if (hostfs_open(&vm->hostfs, mounts, n, vm->err, sizeof(vm->err)) < 0)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		vm->params.mounts[i] = mounts[i];
	vm->params.nr_mounts = n;
	return 0;
}

int vm_setup_mounts(struct vm *vm)
{
	return vm_open_mounts(vm, vm->config->mounts, vm->config->nr_mounts);
}

static uint64_t device_gpa(const struct vm *vm)
{
	return LISPVM_VIRTIO_MMIO_BASE + vm->params.nr_devices * LISPVM_VIRTIO_MMIO_STRIDE;
}

/* The next device's registers, listed in the device tree with its kind,
 * the vector its irqfd raises and its notify port; QueueNotify writes and
 * the port's go to notify_fd. */
static int add_device(struct vm *vm, uint32_t device_id, uint32_t vector, int irq_fd, int notify_fd)
{
	uint64_t gpa = device_gpa(vm);
	uint16_t port = (uint16_t)(LISPVM_VIRTIO_NOTIFY_PORT_BASE + vm->params.nr_devices);

	if (kvm_irq_route_msi(&vm->kvm, vector, irq_fd, vm->err, sizeof(vm->err)) < 0 ||
	    kvm_irq_mmio_eventfd(&vm->kvm, gpa + VIRTIO_MMIO_QUEUE_NOTIFY, 4, notify_fd, vm->err,
				 sizeof(vm->err)) < 0 ||
	    kvm_irq_pio_eventfd(&vm->kvm, port, 2, notify_fd, vm->err, sizeof(vm->err)) < 0)
		return -1;
	vm->params.devices[vm->params.nr_devices++] = (struct guest_device){
		.gpa = gpa,
		.size = LISPVM_VIRTIO_MMIO_SIZE,
		.device_id = device_id,
		.msi_vector = vector,
		.notify_port = port,
	};
	return 0;
}

/* A program gets the console device for its stdin (so a thread reading it
 * blocks alone) where KVM can deliver the device's interrupt; elsewhere
 * stdin falls back to the blocking STDIO_READ hypercall. */
static int setup_console(struct vm *vm)
{
	if ((vm->config->program == NULL && !vm->config->resume) || !vm->kvm.irqchip)
		return 0;
	if (virtio_console_open(&vm->console, &vm->mem, device_gpa(vm), STDIN_FILENO, STDOUT_FILENO,
				vm->err, sizeof(vm->err)) < 0)
		return -1;
	return add_device(vm, VIRTIO_ID_CONSOLE, LISPVM_VIRTIO_CONSOLE_VECTOR, vm->console.irq_fd,
			  vm->console.notify_fd);
}

/* --vsock PATH: the device needs the in-kernel irqchip, so without it the
 * VM does not start rather than run without the sockets it was asked for. */
static int setup_vsock(struct vm *vm)
{
	if (vm->config->vsock_path == NULL)
		return 0;
	if (!vm->kvm.irqchip) {
		snprintf(vm->err, sizeof(vm->err), "--vsock needs KVM's in-kernel irqchip");
		return -1;
	}
	if (virtio_vsock_open(&vm->vsock, &vm->mem, device_gpa(vm), vm->config->vsock_path,
			      vm->config->listen_fds ? vm->config->listen_fds->vsock : -1,
			      vm->config->guest_cid, vm->err, sizeof(vm->err)) < 0)
		return -1;
	return add_device(vm, VIRTIO_ID_VSOCK, LISPVM_VIRTIO_VSOCK_VECTOR, vm->vsock.irq_fd,
			  vm->vsock.notify_fd);
}

int vm_read_kernel(struct vm *vm)
{
	return read_file(vm->config->kernel_path, &vm->kernel, vm->err, sizeof(vm->err));
}

int vm_setup_devices(struct vm *vm)
{
	return setup_console(vm) < 0 || setup_vsock(vm) < 0 ? -1 : 0;
}

static int vm_setup(struct vm *vm)
{
	struct elf_kernel kernel;

	vm->params.program = vm->config->program;
	if (vm->config->snapshot_in != NULL)
		return vm_snapshot_restore(vm) < 0 || vm_working_set_start(vm) < 0 ? -1 : 0;
	for (unsigned int i = 0; i < vm->config->nr_images; i++)
		vm->image_paths[i] = vm->config->image_paths[i];
	vm->nr_images = vm->config->nr_images;
	if (memory_layout_compute(vm->config->memory_size, &vm->layout) < 0) {
		snprintf(vm->err, sizeof(vm->err), "impossible guest memory size %" PRIu64 " bytes",
			 vm->config->memory_size);
		return -1;
	}
	if (vm_setup_mounts(vm) < 0 || vm_read_kernel(vm) < 0 ||
	    (vm_map_kernel_text(vm), kvm_vm_create(&vm->kvm, vm->err, sizeof(vm->err)) < 0) ||
	    vm_setup_ram(vm) < 0 ||
	    image_slots_map(&vm->kvm, &vm->mem, vm->image_paths, vm->nr_images,
			    memory_layout_image_base(&vm->layout), &vm->params, vm->images, vm->err,
			    sizeof(vm->err)) < 0 ||
	    load_kernel(vm, &kernel) < 0 || vm_setup_devices(vm) < 0 ||
	    pvh_boot_write(&vm->mem, &vm->layout, vm->config->cmdline, &vm->params,
			   &vm->start_info_gpa, vm->err, sizeof(vm->err)) < 0 ||
	    vcpu_create(&vm->vcpu, &vm->kvm, 0, vm->err, sizeof(vm->err)) < 0 ||
	    vcpu_set_pvh_entry(&vm->vcpu, kernel.pvh_entry, vm->start_info_gpa, vm->err,
			       sizeof(vm->err)) < 0)
		return -1;
	log_verbose("kernel %s loaded at [0x%" PRIx64 ", 0x%" PRIx64 "), PVH entry 0x%" PRIx64,
		    vm->config->kernel_path, kernel.load_start, kernel.load_end, kernel.pvh_entry);
	/* A snapshot (prepared, or of the running VM) names the runtime by
	 * the bytes loaded, not by a second read of a file that a rebuild may
	 * have replaced since. */
	vm->runtime_hash = snapshot_hash(vm->kernel.data, vm->kernel.size);
	/* The file is in guest RAM now; its copy would cost every VM 1 MiB. */
	free(vm->kernel.data);
	vm->kernel.data = NULL;
	return 0;
}

/*
 * A guest that faults while delivering a fault (empty IDT, broken stack) ends
 * as a SHUTDOWN exit on hardware KVM, but nested hypervisors such as PVM
 * report the failed delivery as an internal error; name the likely cause.
 */
static void describe_internal_error(const typeof(((struct kvm_run *)0)->internal) *internal,
				    char *what, size_t what_size)
{
	static const char *const causes[] = {
		[KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
		[KVM_INTERNAL_ERROR_SIMUL_EX] = "fault while delivering a fault",
		[KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
		[KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected hardware exit",
	};
	uint32_t sub = internal->suberror;
	const char *cause =
		sub < sizeof(causes) / sizeof(causes[0]) && causes[sub] ? causes[sub] : "unknown";

	snprintf(what, what_size,
		 "guest stopped by KVM internal error %u (%s; a triple fault looks like this "
		 "under nested KVM)",
		 sub, cause);
}

/* Prints a headline and the vCPU's registers as KVM sees them. */
static void report_vcpu_state(struct vm *vm, const char *headline)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct lispvm_fault_report r = {0};

	fflush(stdout);
	if (ioctl(vm->vcpu.fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vm->vcpu.fd, KVM_GET_SREGS, &sregs) < 0) {
		log_error("%s (registers unavailable: %s)", headline, strerror(errno));
		return;
	}
	r.rip = regs.rip;
	r.rsp = regs.rsp;
	r.rflags = regs.rflags;
	r.cs = sregs.cs.selector;
	r.ss = sregs.ss.selector;
	r.cr0 = sregs.cr0;
	r.cr2 = sregs.cr2;
	r.cr3 = sregs.cr3;
	r.cr4 = sregs.cr4;
	r.gpr[LISPVM_GPR_RAX] = regs.rax;
	r.gpr[LISPVM_GPR_RBX] = regs.rbx;
	r.gpr[LISPVM_GPR_RCX] = regs.rcx;
	r.gpr[LISPVM_GPR_RDX] = regs.rdx;
	r.gpr[LISPVM_GPR_RSI] = regs.rsi;
	r.gpr[LISPVM_GPR_RDI] = regs.rdi;
	r.gpr[LISPVM_GPR_RBP] = regs.rbp;
	r.gpr[LISPVM_GPR_R8] = regs.r8;
	r.gpr[LISPVM_GPR_R9] = regs.r9;
	r.gpr[LISPVM_GPR_R10] = regs.r10;
	r.gpr[LISPVM_GPR_R11] = regs.r11;
	r.gpr[LISPVM_GPR_R12] = regs.r12;
	r.gpr[LISPVM_GPR_R13] = regs.r13;
	r.gpr[LISPVM_GPR_R14] = regs.r14;
	r.gpr[LISPVM_GPR_R15] = regs.r15;
	log_error("%s at RIP 0x%llx, CR2 0x%llx", headline, (unsigned long long)regs.rip,
		  (unsigned long long)sregs.cr2);
	fault_report_print_registers(stderr, &r);
}

/*
 * On AMD the VMCB is undefined after a shutdown, so KVM resets the vCPU
 * before it exits: the registers it reports are the reset state, not the
 * faulting place.  Say so instead of naming the reset vector as the RIP.
 */
static void report_shutdown(struct vm *vm)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	if (ioctl(vm->vcpu.fd, KVM_GET_REGS, &regs) == 0 &&
	    ioctl(vm->vcpu.fd, KVM_GET_SREGS, &sregs) == 0 && regs.rip == 0xfff0 &&
	    sregs.cs.selector == 0xf000 && !(sregs.cr0 & 1)) {
		fflush(stdout);
		log_error("guest triple fault (CPU shutdown); RIP unknown: this CPU (AMD SVM) "
			  "resets the vCPU on shutdown");
		return;
	}
	report_vcpu_state(vm, "guest triple fault (CPU shutdown)");
}

static struct vm_stop guest_crash(void)
{
	return (struct vm_stop){.kind = VM_STOP_GUEST_CRASH, .status = LISPVM_EXIT_GUEST_CRASH};
}

static struct vm_stop handle_io(struct vm *vm, struct hypercall_context *hc)
{
	struct kvm_run *run = vm->vcpu.run;
	char what[96];

	if (run->io.port == LISPVM_HYPERCALL_PORT && run->io.direction == KVM_EXIT_IO_OUT &&
	    run->io.size == 4 && run->io.count == 1) {
		uint32_t gpa;

		memcpy(&gpa, (uint8_t *)run + run->io.data_offset, sizeof(gpa));
		hypercall_dispatch(hc, gpa);
		return hc->stop;
	}
	snprintf(what, sizeof(what),
		 "guest %s I/O port 0x%x (%u bytes), which lispvm does not emulate,",
		 run->io.direction == KVM_EXIT_IO_OUT ? "wrote" : "read", run->io.port,
		 run->io.size);
	report_vcpu_state(vm, what);
	return guest_crash();
}

/* The device whose registers hold gpa, or NULL. */
static struct virtio_mmio *device_at(struct vm *vm, uint64_t gpa)
{
	if (vm->console.opened && virtio_mmio_claims(&vm->console.mmio, gpa))
		return &vm->console.mmio;
	if (vm->vsock.opened && virtio_mmio_claims(&vm->vsock.mmio, gpa))
		return &vm->vsock.mmio;
	return NULL;
}

static struct vm_stop device_failure(const char *device, const char *why)
{
	log_error("guest broke the %s device: %s", device, why);
	return guest_crash();
}

/* A device thread stopped its device (a malformed queue): the VM ends. */
static bool device_failed(struct vm *vm, struct vm_stop *stop)
{
	const char *why;

	if (vm->console.opened && (why = virtio_console_failure(&vm->console)) != NULL) {
		*stop = device_failure("console", why);
		return true;
	}
	if (vm->vsock.opened && (why = virtio_vsock_failure(&vm->vsock)) != NULL) {
		*stop = device_failure("vsock", why);
		return true;
	}
	return false;
}

static struct vm_stop handle_device_mmio(struct vm *vm, struct virtio_mmio *m)
{
	struct kvm_run *run = vm->vcpu.run;
	const char *why = NULL;

	if (run->mmio.len > sizeof(run->mmio.data) ||
	    virtio_mmio_access(m, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
			       run->mmio.is_write, &why) < 0)
		return device_failure(m == &vm->console.mmio ? "console" : "vsock",
				      why ? why : "register access wider than 8 bytes");
	return (struct vm_stop){.kind = VM_RUNNING};
}

/* An access KVM could not satisfy from a memory slot: either no slot is
 * there, or it is a write to an image's read-only slot. */
static void describe_stray_access(struct vm *vm, uint64_t gpa, bool is_write, char *what,
				  size_t size)
{
	for (unsigned int i = 0; i < vm->params.nr_images; i++) {
		const struct guest_image *img = &vm->params.images[i];

		if (is_write && gpa >= img->gpa && gpa - img->gpa < img->size) {
			snprintf(what, size, "guest wrote to read-only image %s at 0x%" PRIx64,
				 img->path, gpa);
			return;
		}
	}
	snprintf(what, size, "guest %s unmapped guest-physical address 0x%" PRIx64,
		 is_write ? "wrote" : "read", gpa);
}

static struct vm_stop handle_exit(struct vm *vm, struct hypercall_context *hc)
{
	struct kvm_run *run = vm->vcpu.run;
	char what[PATH_MAX + 96];
	struct virtio_mmio *device;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(vm, hc);
	case KVM_EXIT_SHUTDOWN:
		report_shutdown(vm);
		return guest_crash();
	case KVM_EXIT_HLT:
		report_vcpu_state(vm, "guest halted with nothing to wake it");
		return guest_crash();
	case KVM_EXIT_MMIO:
		if ((device = device_at(vm, run->mmio.phys_addr)) != NULL)
			return handle_device_mmio(vm, device);
		describe_stray_access(vm, run->mmio.phys_addr, run->mmio.is_write, what,
				      sizeof(what));
		report_vcpu_state(vm, what);
		return guest_crash();
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "KVM could not enter the guest (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		report_vcpu_state(vm, what);
		return guest_crash();
	case KVM_EXIT_INTERNAL_ERROR:
		describe_internal_error(&run->internal, what, sizeof(what));
		report_vcpu_state(vm, what);
		return guest_crash();
	default:
		snprintf(what, sizeof(what), "unexpected KVM exit reason %u", run->exit_reason);
		report_vcpu_state(vm, what);
		return guest_crash();
	}
}

static struct vm_stop deadline_stop(struct vm *vm)
{
	char what[128];

	snprintf(what, sizeof(what), "guest still running after --timeout %us; stopped",
		 vm->config->timeout_seconds);
	report_vcpu_state(vm, what);
	return (struct vm_stop){.kind = VM_STOP_GUEST_CRASH, .status = LISPVM_EXIT_TIMEOUT};
}

/* Signals sent to lispvm: to the program once it can take them, else the
 * end of the VM as for a program with no handler (128+signal).  Every
 * signal sends the MSI again, even for signals the guest has not taken
 * yet: a repeated Ctrl-C must reach a guest that missed the first. */
static struct vm_stop forward_host_signals(struct vm *vm)
{
	uint64_t pending = host_signals_pending();
	struct kvm_msi msi = {.address_lo = KVM_MSI_ADDRESS_LAPIC0,
			      .data = LISPVM_HOST_SIGNAL_VECTOR};

	vm->vcpu.run->immediate_exit = 0;
	if (pending == 0)
		return (struct vm_stop){.kind = VM_RUNNING};
	if (!host_signals_ready() || !vm->kvm.irqchip ||
	    ioctl(vm->kvm.vm_fd, KVM_SIGNAL_MSI, &msi) <= 0)
		return (struct vm_stop){.kind = VM_STOP_EXIT,
					.status = 128 + __builtin_ctzll(pending) + 1};
	return (struct vm_stop){.kind = VM_RUNNING};
}

/* lispvm snapshot, between two guest instructions. */
static struct vm_stop serve_control(struct vm *vm)
{
	const struct vm_control_request *req = vm_control_pending(&vm->control);
	char answer[sizeof(vm->control.answer)];
	int rc;

	if (req == NULL)
		return (struct vm_stop){.kind = VM_RUNNING};
	rc = vm_snapshot_take_running(vm, req, answer, sizeof(answer));
	if (rc == 0 && req->stop) {
		fflush(stdout);
		log_error("the VM stopped after its snapshot (%s)", req->path);
		vm_control_finish(&vm->control, answer);
		return (struct vm_stop){.kind = VM_STOP_EXIT, .status = 0};
	}
	vm_control_finish(&vm->control, answer);
	return (struct vm_stop){.kind = VM_RUNNING};
}

static struct vm_stop vm_loop(struct vm *vm)
{
	struct hypercall_context *hc = &vm->hc;

	*hc = (struct hypercall_context){.mem = &vm->mem,
					 .console_fd = vm->config->console_fd,
					 .hostfs = &vm->hostfs,
					 .takes_snapshot = vm->config->snapshot_out != NULL,
					 .dirty = vm->config->print_stats ? &vm->dirty : NULL};
	for (;;) {
		struct vm_stop stop;

		if (ioctl(vm->vcpu.fd, KVM_RUN, 0) < 0) {
			int error = errno; /* what is done for EINTR may change errno */

			if (error == EINTR && run_deadline_expired())
				return deadline_stop(vm);
			if (error == EINTR && device_failed(vm, &stop))
				return stop;
			if (error == EINTR && (stop = serve_control(vm)).kind != VM_RUNNING)
				return stop;
			if (error == EINTR) {
				stop = forward_host_signals(vm);
				if (stop.kind != VM_RUNNING)
					return stop;
				continue;
			}
			if (error == EAGAIN)
				continue;
			log_error("KVM_RUN: %s", strerror(error));
			return (struct vm_stop){.kind = VM_STOP_HOST_ERROR,
						.status = LISPVM_EXIT_HOST_ERROR};
		}
		stop = handle_exit(vm, hc);
		if (stop.kind != VM_RUNNING)
			return stop;
	}
}

/* Guest RAM first, then the images, as memory_report_print wants them. */
static void print_memory_report(struct vm *vm, const struct dirty_stats *dirty)
{
	struct memory_report_region regions[MEMORY_LAYOUT_MAX_RAM + GUEST_MAX_IMAGES];
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->layout.nr_ram; i++)
		regions[n++] = (struct memory_report_region){
			.name = "RAM", .host = vm->ram[i], .size = vm->layout.ram[i].size};
	for (unsigned int i = 0; i < vm->nr_images; i++)
		regions[n++] = (struct memory_report_region){.name = vm->image_paths[i],
							     .host = vm->images[i].host,
							     .size = vm->images[i].size};
	fflush(stdout);
	memory_report_print(stderr, vm->smaps, vm->hc.have_guest_stats ? &vm->hc.guest_stats : NULL,
			    vm->layout.ram_size, regions, vm->layout.nr_ram, n);
	memory_report_print_dirty(stderr, dirty);
	if (vm->prefetched)
		memory_report_print_prefetch(stderr, &vm->prefetch);
}

static void vm_teardown(struct vm *vm)
{
	vm_control_close(&vm->control);
	virtio_console_close(&vm->console);
	virtio_vsock_close(&vm->vsock);
	dirty_log_free(&vm->dirty);
	for (unsigned int i = 0; i < GUEST_MAX_IMAGES; i++)
		free(vm->restored_image_paths[i]);
	for (unsigned int i = 0; i < GUEST_MAX_MOUNTS; i++) {
		free(vm->restored_mount_paths[i][0]);
		free(vm->restored_mount_paths[i][1]);
	}
	guest_memory_free_tracking(&vm->mem);
	if (vm->pagemap_fd >= 0)
		close(vm->pagemap_fd);
	if (vm->smaps != NULL)
		fclose(vm->smaps);
	vcpu_destroy(&vm->vcpu);
	kvm_vm_destroy(&vm->kvm);
	for (unsigned int i = 0; i < vm->layout.nr_ram; i++)
		if (vm->ram[i] != NULL)
			munmap(vm->ram[i], vm->layout.ram[i].size);
	free(vm->kernel.data);
	if (vm->text_map != NULL)
		munmap(vm->text_map, vm->text.len);
	image_slots_unmap(vm->images, GUEST_MAX_IMAGES);
	hostfs_close(&vm->hostfs);
}

/* --stats samples the log; a diff snapshot needs every page it saw.  A
 * VM that only might take one later runs on without. */
static int start_dirty_log(struct vm *vm)
{
	if (!vm->kvm.log_dirty)
		return 0;
	if (dirty_log_start(&vm->dirty, &vm->kvm, vm->config->print_stats, vm_logs_changes(vm),
			    vm->err, sizeof(vm->err)) == 0) {
		vm->diffable = vm_logs_changes(vm);
		return 0;
	}
	if (vm_takes_diff(vm)) {
		log_error("cannot log the guest's writes for a snapshot: %s", vm->err);
		return -1;
	}
	log_error("no dirty-page log (--stats figures, snapshot diffs): %s", vm->err);
	return 0;
}

static int open_control(struct vm *vm)
{
	if (vm->config->control_path == NULL)
		return 0;
	if (vm_control_open(&vm->control, vm->config->control_path,
			    vm->config->listen_fds ? vm->config->listen_fds->control : -1, vm->err,
			    sizeof(vm->err)) == 0)
		return 0;
	log_error("%s", vm->err);
	return -1;
}

/* Last before the first KVM_RUN: every other thread has its own filter by
 * now, and this one keeps what the run loop, the exits and the teardown
 * need.  --stats's smaps is opened first: no path is opened after. */
static int enter_sandbox(struct vm *vm)
{
	int roots[GUEST_MAX_MOUNTS];
	struct sandbox_vcpu_needs needs = {
		.mount_root_fds = roots,
		.nr_mounts = vm->hostfs.nr_mounts,
		.writes_snapshots =
			vm->config->snapshot_out != NULL || vm->config->working_set_out != NULL,
		.takes_running_snapshots = vm->config->control_path != NULL,
		.removes_sockets =
			vm->config->listen_fds == NULL &&
			(vm->config->vsock_path != NULL || vm->config->control_path != NULL)};

	for (unsigned int i = 0; i < vm->hostfs.nr_mounts; i++)
		roots[i] = vm->hostfs.mounts[i].root_fd;
	if (vm->config->print_stats && (vm->smaps = fopen("/proc/self/smaps", "re")) == NULL)
		log_error("--stats: cannot open /proc/self/smaps: %s", strerror(errno));
	if (sandbox_enter(SANDBOX_VCPU, &needs, vm->err, sizeof(vm->err)) == 0)
		return 0;
	log_error("%s", vm->err);
	return -1;
}

int vm_run(const struct vm_config *config)
{
	struct vm vm = {.config = config,
			.kvm = {.kvm_fd = -1, .vm_fd = -1},
			.vcpu = {.fd = -1},
			.dirty = {.stop_fd = -1},
			.pagemap_fd = -1};
	struct dirty_stats dirty;
	struct vm_stop stop;

	if (vm_setup(&vm) < 0) {
		log_error("%s", vm.err);
		vm_teardown(&vm);
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (vcpu_kick_attach(vm.vcpu.run) < 0 || run_deadline_arm(vm.config->timeout_seconds) < 0 ||
	    host_signals_catch() < 0) {
		log_error("cannot catch signals for the VM: %s", strerror(errno));
		host_signals_release();
		run_deadline_disarm();
		vm_teardown(&vm);
		vcpu_kick_detach();
		return LISPVM_EXIT_HOST_ERROR;
	}
	if (start_dirty_log(&vm) < 0 || open_control(&vm) < 0 || enter_sandbox(&vm) < 0)
		stop = (struct vm_stop){.kind = VM_STOP_HOST_ERROR,
					.status = LISPVM_EXIT_HOST_ERROR};
	else
		stop = vm_loop(&vm);
	if (stop.kind == VM_STOP_SNAPSHOT)
		stop = vm_snapshot_take(&vm);
	if (vm_working_set_finish(&vm, &stop) < 0 && stop.kind == VM_STOP_EXIT)
		stop.status = LISPVM_EXIT_HOST_ERROR;
	dirty_log_stop(&vm.dirty, &dirty);
	if (vm.config->print_stats)
		print_memory_report(&vm, dirty.harvests > 0 ? &dirty : NULL);
	host_signals_release();
	run_deadline_disarm();
	vm_teardown(&vm);
	vcpu_kick_detach();
	fflush(stdout);
	log_verbose("guest stopped with status %d", stop.status);
	return stop.status;
}
