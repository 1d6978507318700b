/* SPDX-License-Identifier: MIT */
/*
 * The whole contract between the lispvm VMM (host) and the guest runtime.
 *
 * Both sides include this header and nothing else in common.  Bump
 * LISPVM_ABI_VERSION on any incompatible change; the guest carries its
 * version in an ELF note that the VMM checks before it boots the guest, and
 * the VMM puts its own version into the device tree for the guest to check.
 *
 * Freestanding: only <stdint.h>, so the guest can include it; the
 * #defines are also usable from assembly.
 */
#ifndef LISPVM_ABI_H
#define LISPVM_ABI_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define LISPVM_ABI_VERSION 7

/* ---- ELF note identifying a lispvm guest (in a PT_NOTE segment) ---- */

#define LISPVM_ELFNOTE_NAME	   "lispvm" /* namesz = 7 with the NUL */
#define LISPVM_ELFNOTE_ABI_VERSION 1	    /* note type: desc is a uint32_t ABI version */

/* ---- Hypercalls ----
 *
 * The guest writes (outl) the 32-bit guest-physical address of a
 * struct lispvm_hypercall to LISPVM_HYPERCALL_PORT.  The VMM reads the
 * request, runs the handler named by `nr` and writes `ret` back before the
 * vCPU resumes.  The request itself must therefore live below 4 GiB; the
 * buffers it points at may be anywhere in guest RAM.  Every address and
 * length in a request is checked by the VMM; a bad one stops the VM.
 */
#define LISPVM_HYPERCALL_PORT 0x4c56 /* "LV" */

#ifndef __ASSEMBLER__

enum lispvm_hypercall_nr {
	/* args[0] = gpa of bytes, args[1] = length. ret = bytes written. */
	LISPVM_HC_CONSOLE_WRITE = 0,
	/* args[0] = exit status; as on Linux only its low 8 bits are kept
	 * (statuses 124..126 are indistinguishable from lispvm's own; see the
	 * exit statuses below).  args[1] = gpa of the guest's struct
	 * lispvm_memory_stats, args[2] = its size (0: none).  Does not
	 * return. */
	LISPVM_HC_EXIT = 1,
	/* args[0] = gpa of struct lispvm_fault_report, args[1] = its size.
	 * Does not return: the VMM reports the fault and stops the VM. */
	LISPVM_HC_FAULT = 2,
	/* The program's standard streams, which are lispvm's own.
	 * args[0] = fd (1 or 2), args[1] = gpa, args[2] = length.
	 * ret = bytes written or -errno (-EPIPE when the reader is gone). */
	LISPVM_HC_STDIO_WRITE = 3,
	/* args[0] = fd (0), args[1] = gpa, args[2] = length.  ret = bytes
	 * read, 0 at end of file, or -errno.  Blocks the vCPU until input
	 * arrives: only for VMs without a console device (no in-kernel
	 * irqchip); stdin is the console's receive queue otherwise. */
	LISPVM_HC_STDIO_READ = 4,
	/* args[0] = gpa, args[1] = length (at most LISPVM_RANDOM_MAX).
	 * Fills the buffer from the host's getrandom(2); ret = length. */
	LISPVM_HC_GETRANDOM = 5,
	/* A file operation in a --mount host directory.
	 * args[0] = gpa of struct lispvm_hostfs_req, args[1] = its size.
	 * ret = the operation's result (below) or -errno, as Linux gives it. */
	LISPVM_HC_HOSTFS = 6,
	/* Signals sent to the lispvm process, for the program.  args[0] = 1:
	 * the guest can take them from now on (it has an x2APIC and the
	 * LISPVM_HOST_SIGNAL_VECTOR handler), ret 0; args[0] = 0: ret = the
	 * signals that arrived since the last call (bit n-1 = signal n), and
	 * the VMM forgets them.  Until the guest is ready, SIGINT, SIGTERM,
	 * SIGHUP and SIGQUIT end lispvm as they would end a program with no
	 * handler: exit status 128+n. */
	LISPVM_HC_HOST_SIGNALS = 7,
	/* Bulk copies done by the host: args[0] = gpa of an array of
	 * struct lispvm_copy_segment, args[1] = their count (at most
	 * LISPVM_COPY_MAX_SEGMENTS).  Each segment's bytes are moved from
	 * src (guest RAM or an image) to dst (guest RAM), in order; ret 0.
	 * For guests whose ring 0 is emulated (nested PVM hosts), where a
	 * 4 KiB copy takes about half a millisecond on the vCPU. */
	LISPVM_HC_COPY = 8,
	/* Guest RAM the guest no longer uses: args[0] = gpa of an array of
	 * struct lispvm_range, args[1] = their count (at most
	 * LISPVM_DISCARD_MAX_RANGES), each page-aligned and inside writable
	 * guest RAM.  The host drops the pages (MADV_DONTNEED on its RAM
	 * mapping), so they cost it nothing until touched again, and they
	 * read back as zero.  ret 0. */
	LISPVM_HC_DISCARD = 9,
	/* A copy between guest-virtual ranges, in the guest's own page tables:
	 * args[0] = dst, args[1] = src, args[2] = length, args[3] = the gpa of
	 * the PML4 (CR3), args[4] = LISPVM_COPY_*_USER flags.  The host walks
	 * the tables as the CPU would (present; writable for dst; user when
	 * the flag says so) and copies up to the first page it cannot use;
	 * ret = the bytes copied.  The guest copies the rest itself (its
	 * fault handling pages in or gives EFAULT), then asks again: a copy
	 * costs the guest one exit and no page walk of its own. */
	LISPVM_HC_COPY_VIRTUAL = 10,
	/* The snapshot point (`lispvm prepare`): no arguments.  A VMM that
	 * takes snapshots writes ret = LISPVM_SNAPSHOT_RESTORED into the
	 * request, saves the whole VM and stops it, so the guest only ever
	 * sees that value in a VM restored from the file.  Then the boot data
	 * (start info, device tree) hold the restoring command's program,
	 * mounts and terminal, and the guest reads them again.  Otherwise ret
	 * < 0 and the guest goes on: -ENODEV (this VM takes no snapshot),
	 * -EBUSY (the guest holds host files open). */
	LISPVM_HC_SNAPSHOT = 11,
	/* The program's garbage collector finished a collection (a write to
	 * /dev/lispvm-gc, from the hook `--stats` gives SBCL): no arguments,
	 * ret 0.  The VMM counts the pages dirtied since the last one. */
	LISPVM_HC_GC_DONE = 12,
	LISPVM_HC_COUNT
};

struct lispvm_hypercall {
	uint32_t nr;
	uint32_t reserved; /* must be zero */
	int64_t ret;	   /* >= 0 result, < 0 negated errno */
	uint64_t args[6];
};

#define LISPVM_RANDOM_MAX 256

#define LISPVM_SNAPSHOT_RESTORED 1

#define LISPVM_COPY_DST_USER (1u << 0)
#define LISPVM_COPY_SRC_USER (1u << 1)
/* LISPVM_HC_COPY_VIRTUAL copies at most this much per call. */
#define LISPVM_COPY_VIRTUAL_MAX (1ull << 30)

#define LISPVM_COPY_MAX_SEGMENTS 64
struct lispvm_copy_segment {
	uint64_t dst, src, len;
};

#define LISPVM_PAGE_SIZE	  4096
#define LISPVM_DISCARD_MAX_RANGES 64
struct lispvm_range {
	uint64_t gpa, len;
};

/* What the guest reports at exit (LISPVM_HC_EXIT), for `--stats`.
 * Counts are 4 KiB pages or events since boot. */
struct lispvm_memory_stats {
	uint64_t ram_pages;	  /* RAM the guest's page allocator manages */
	uint64_t touched_pages;	  /* ever handed out, so backed by the host */
	uint64_t in_use_pages;	  /* allocated at exit */
	uint64_t returned_pages;  /* discarded (LISPVM_HC_DISCARD), not reused since */
	uint64_t discarded_total; /* pages discarded over the run */
	uint64_t page_faults;	  /* the program's page faults */
	uint64_t image_page_maps; /* image pages mapped as they are, shared */
	uint64_t cow_copies;	  /* image pages copied on a write */
};

/* The vector of the MSI the VMM sends (to LAPIC 0) when a signal for the
 * program arrives; the guest answers with LISPVM_HC_HOST_SIGNALS. */
#define LISPVM_HOST_SIGNAL_VECTOR 34

/* ---- virtio-mmio devices ----
 *
 * Virtio 1.x devices on the virtio-mmio transport (version 2 registers,
 * linux/virtio_mmio.h), LISPVM_VIRTIO_MMIO_STRIDE apart from
 * LISPVM_VIRTIO_MMIO_BASE in the MMIO hole, each listed in the device
 * tree under /devices with the vector of the MSI it raises (the VMM
 * routes the device's interrupt to LAPIC 0 with that vector; there is no
 * interrupt line to acknowledge).  Writes to QueueNotify reach the device
 * through an ioeventfd and take no exit to the VMM's vCPU thread.
 *
 * A lispvm extension: the queue index may instead be written (16-bit OUT)
 * to the device's notify port (lispvm,notify-port), the same ioeventfd.
 * Where the guest's MMIO writes are emulated instruction by instruction
 * (nested PVM hosts) an MMIO QueueNotify costs about 0.9 ms, a port write
 * a few microseconds.
 *
 * The console (VIRTIO_ID_CONSOLE, no features beyond VIRTIO_F_VERSION_1)
 * is port 0 only: receiveq (queue 0) carries lispvm's stdin, transmitq
 * (queue 1) writes to lispvm's stdout.  The host reads stdin only into a
 * buffer the guest made available and reads at most its length, so it
 * consumes no more input than the program asked for.  A receive buffer
 * returned with 0 bytes written is an end of file (read(2) returned 0 or
 * failed); input may follow it, as on a terminal after Ctrl-D.
 */
#define LISPVM_VIRTIO_MMIO_BASE	  0xd0000000ULL
#define LISPVM_VIRTIO_MMIO_STRIDE 0x1000ULL
#define LISPVM_VIRTIO_MMIO_SIZE	  0x200ULL
/* Device slot i (LISPVM_VIRTIO_MMIO_BASE + i * STRIDE) rings port BASE + i. */
#define LISPVM_VIRTIO_NOTIFY_PORT_BASE 0x4c60
#define LISPVM_VIRTIO_CONSOLE_VECTOR   35
#define LISPVM_VIRTIO_CONSOLE_RX       0
#define LISPVM_VIRTIO_CONSOLE_TX       1

/* The vsock device (VIRTIO_ID_VSOCK, --vsock PATH): stream sockets
 * between the guest (its CID in the config space) and the host (CID 2),
 * which joins them to Unix sockets: a client of PATH writes
 * "CONNECT <port>\n" to reach the guest's listener on <port>; a guest
 * connect to host port P reaches the Unix socket "PATH_P".  Credit is the
 * spec's (buf_alloc, fwd_cnt in every header); the host resets a stream
 * whose guest sender goes past the credit it was given. */
#define LISPVM_VIRTIO_VSOCK_VECTOR 36

/* ---- Host directories (--mount HOST:GUEST[:ro|rw]) ----
 *
 * The guest resolves paths itself, one component at a time (LSTAT per
 * component, following symlinks in its own namespace), so every path it
 * sends is relative to the mount's root, symlink-free and made of plain
 * names: no "", ".", ".." or "//" components, no leading '/'; "" alone
 * names the mount's root.  The VMM resolves it with openat2 from the
 * mount's root directory with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_SYMLINKS, so nothing outside the mount is ever reached, and
 * refuses any change to a read-only mount with -EROFS.
 *
 * Paths are NUL-terminated in guest memory; path_len counts the NUL and is
 * at most LISPVM_HOSTFS_PATH_MAX.  A handle names a file the VMM has open
 * for the guest (at most LISPVM_HOSTFS_MAX_HANDLES at a time).
 */
#define LISPVM_HOSTFS_PATH_MAX	  4096
#define LISPVM_HOSTFS_MAX_HANDLES 1024
#define LISPVM_HOSTFS_IO_MAX	  (1u << 20) /* bytes per READ/WRITE/GETDENTS */

enum lispvm_hostfs_op {
	/* path -> buf: struct lispvm_hostfs_stat of the entry itself (a
	 * symlink is not followed).  ret 0. */
	LISPVM_HOSTFS_LSTAT = 0,
	/* path -> buf (buf_len bytes): the symlink's target, not
	 * NUL-terminated.  ret = its length (truncated to buf_len). */
	LISPVM_HOSTFS_READLINK = 1,
	/* path, flags (Linux O_* of open(2): access mode, O_CREAT, O_EXCL,
	 * O_TRUNC, O_APPEND, O_DIRECTORY; others ignored), mode.  A symlink
	 * as the last component is -ELOOP.  ret = handle. */
	LISPVM_HOSTFS_OPEN = 2,
	/* handle.  ret 0. */
	LISPVM_HOSTFS_CLOSE = 3,
	/* handle, buf, buf_len, offset: pread.  ret = bytes. */
	LISPVM_HOSTFS_PREAD = 4,
	/* handle, buf, buf_len, offset: pwrite (O_APPEND handles append).
	 * ret = bytes. */
	LISPVM_HOSTFS_PWRITE = 5,
	/* handle -> buf: struct lispvm_hostfs_stat.  ret 0. */
	LISPVM_HOSTFS_FSTAT = 6,
	/* handle of a directory, offset = cookie (0 = start) -> buf: Linux
	 * linux_dirent64 records whose d_off resumes after each.  ret =
	 * bytes (0 at the end). */
	LISPVM_HOSTFS_GETDENTS = 7,
	/* handle, offset = new size.  ret 0. */
	LISPVM_HOSTFS_FTRUNCATE = 8,
	/* handle.  ret 0. */
	LISPVM_HOSTFS_FSYNC = 9,
	/* path, mode.  ret 0. */
	LISPVM_HOSTFS_MKDIR = 10,
	/* path (not a directory).  ret 0. */
	LISPVM_HOSTFS_UNLINK = 11,
	/* path (an empty directory).  ret 0. */
	LISPVM_HOSTFS_RMDIR = 12,
	/* path -> path2, both in this mount.  ret 0. */
	LISPVM_HOSTFS_RENAME = 13,
	/* path2 = a new symlink whose target is path (any text).  ret 0. */
	LISPVM_HOSTFS_SYMLINK = 14,
	/* path, mode (permission bits; set-ID bits are dropped).  A symlink
	 * is -EOPNOTSUPP: nothing is changed through one.  ret 0. */
	LISPVM_HOSTFS_CHMOD = 15,
	/* path, buf = struct lispvm_hostfs_times (buf_len its size): the
	 * entry's own access and modification times, a symlink's included.
	 * ret 0. */
	LISPVM_HOSTFS_UTIMENS = 16,
	/* path2 = a new name for the existing file path (not a directory;
	 * a symlink is linked as itself).  ret 0. */
	LISPVM_HOSTFS_LINK = 17,
	LISPVM_HOSTFS_OP_COUNT
};

struct lispvm_hostfs_req {
	uint32_t op;	/* enum lispvm_hostfs_op */
	uint32_t mount; /* index into the FDT's mounts, in --mount order */
	uint64_t handle;
	uint64_t path_gpa, path_len;
	uint64_t path2_gpa, path2_len;
	uint64_t buf_gpa, buf_len;
	uint64_t offset;
	uint32_t flags, mode;
};

/* UTIMENS's times; nsec LISPVM_HOSTFS_TIME_OMIT keeps that time. */
#define LISPVM_HOSTFS_TIME_OMIT ((1l << 30) - 2l)
struct lispvm_hostfs_times {
	int64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

/* What LSTAT/FSTAT return: Linux's stat, fixed-width. */
struct lispvm_hostfs_stat {
	uint64_t ino, size, blocks, rdev;
	uint32_t mode, nlink, uid, gid;
	int64_t atime_sec, mtime_sec, ctime_sec;
	uint32_t atime_nsec, mtime_nsec, ctime_nsec, blksize;
};

/* Order of lispvm_fault_report.gpr[]: the order the guest's trap entry
 * pushes them, lowest index = lowest address. */
enum lispvm_gpr {
	LISPVM_GPR_R15,
	LISPVM_GPR_R14,
	LISPVM_GPR_R13,
	LISPVM_GPR_R12,
	LISPVM_GPR_R11,
	LISPVM_GPR_R10,
	LISPVM_GPR_R9,
	LISPVM_GPR_R8,
	LISPVM_GPR_RBP,
	LISPVM_GPR_RDI,
	LISPVM_GPR_RSI,
	LISPVM_GPR_RDX,
	LISPVM_GPR_RCX,
	LISPVM_GPR_RBX,
	LISPVM_GPR_RAX,
	LISPVM_GPR_COUNT
};

/* What the guest runtime tells the VMM about a CPU exception it cannot
 * handle.  All fields are plain copies of CPU state at the time of the
 * exception; the VMM never trusts them for anything but printing. */
struct lispvm_fault_report {
	uint64_t vector;
	uint64_t error_code;
	uint64_t rip;
	uint64_t cs;
	uint64_t rflags;
	uint64_t rsp;
	uint64_t ss;
	uint64_t cr0;
	uint64_t cr2;
	uint64_t cr3;
	uint64_t cr4;
	uint64_t gpr[LISPVM_GPR_COUNT];
};

#endif /* !__ASSEMBLER__ */

/* ---- Device tree (made by the VMM with libfdt, read by the guest) ----
 *
 * The FDT is handed over as PVH module 0 whose command line is
 * LISPVM_FDT_MODULE_NAME.  Under QEMU there is no such module and the guest
 * uses the PVH start info alone.
 *
 *   / { compatible = "lispvm,microvm"; #address-cells = <2>; #size-cells = <2>;
 *       lispvm,abi-version = <u32>;
 *       chosen { bootargs = "...";
 *                -- with a program to run (lispvm exec), all of:
 *                lispvm,argv = "prog", "arg1", ...;   (string list)
 *                lispvm,envp = "K=V", ...;            (string list, may be empty)
 *                lispvm,cwd = "/dir";
 *                lispvm,exec-path = "/abs/file";    (optional: the file to run
 *                                                    when argv[0] is not its path)
 *                lispvm,stdio-tty = <u32>;   bit n set: fd n is a terminal
 *                lispvm,winsize = <rows cols>;       (when any is)
 *                lispvm,strace;                      (empty: trace syscalls)
 *       };
 *       memory@ADDR { device_type = "memory"; reg = <ADDR SIZE ...>; };
 *       images { image@GPA { reg = <GPA SIZE>; lispvm,path = "host path"; }; ... };
 *                        -- read-only EROFS images, in --image order; the
 *                           guest serves / as their union, first wins
 *       mounts { mount@N { lispvm,guest-path = "/abs/dir"; lispvm,path = "host dir";
 *                          lispvm,readonly; (empty, when :ro) }; ... };
 *                        -- host directories, N = the index in hostfs requests
 *       devices { virtio_mmio@GPA { compatible = "virtio,mmio";
 *                                    reg = <GPA SIZE>; lispvm,msi-vector = <u32>;
 *                                    lispvm,device-id = <u32>;
 *                                    lispvm,notify-port = <u32>; }; ... };
 *                        -- virtio-mmio devices (above); device-id is the
 *                           DeviceID register's value, so the guest finds a
 *                           device without an exit per register read
 *   };
 */
#define LISPVM_FDT_MODULE_NAME	    "lispvm,fdt"
#define LISPVM_FDT_COMPATIBLE	    "lispvm,microvm"
#define LISPVM_FDT_PROP_ABI	    "lispvm,abi-version"
#define LISPVM_FDT_NODE_IMAGES	    "images"
#define LISPVM_FDT_NODE_DEVICES	    "devices"
#define LISPVM_FDT_PROP_ARGV	    "lispvm,argv"
#define LISPVM_FDT_PROP_ENVP	    "lispvm,envp"
#define LISPVM_FDT_PROP_CWD	    "lispvm,cwd"
#define LISPVM_FDT_PROP_EXEC_PATH   "lispvm,exec-path"
#define LISPVM_FDT_PROP_TTY	    "lispvm,stdio-tty"
#define LISPVM_FDT_PROP_WINSIZE	    "lispvm,winsize"
#define LISPVM_FDT_PROP_STRACE	    "lispvm,strace"
#define LISPVM_FDT_PROP_PATH	    "lispvm,path"
#define LISPVM_FDT_NODE_MOUNTS	    "mounts"
#define LISPVM_FDT_PROP_GUEST_PATH  "lispvm,guest-path"
#define LISPVM_FDT_PROP_READONLY    "lispvm,readonly"
#define LISPVM_FDT_VIRTIO_MMIO	    "virtio,mmio"
#define LISPVM_FDT_PROP_MSI_VECTOR  "lispvm,msi-vector"
#define LISPVM_FDT_PROP_DEVICE_ID   "lispvm,device-id"
#define LISPVM_FDT_PROP_NOTIFY_PORT "lispvm,notify-port"
/* Bounds argv + environment too (Linux allows 2 MiB; 512 KiB here). */
#define LISPVM_FDT_MAX_SIZE 0x80000

/* ---- Guest-physical memory map that the VMM builds ----
 *
 * RAM starts at 0 and runs up to LISPVM_MMIO_HOLE_START; RAM beyond that
 * continues at 4 GiB.  The hole keeps room for the LAPIC/IOAPIC and
 * virtio-mmio devices.  The first MiB holds boot data (start info, memory
 * map, command line, FDT) and is never handed out by the guest allocator.
 * Image regions follow RAM (above 4 GiB, each 2 MiB-aligned), read-only
 * memory slots that the device tree lists.
 * At entry every byte of guest RAM outside the kernel image and the boot
 * data is zero (fresh anonymous memory); the guest relies on this to start
 * without clearing anything in proportion to RAM size.
 */
#define LISPVM_MMIO_HOLE_START 0xc0000000ULL
#define LISPVM_HIGH_RAM_START  0x100000000ULL
#define LISPVM_BOOT_DATA_END   0x100000ULL

/* ---- Exit statuses of the lispvm command ---- */
#define LISPVM_EXIT_USAGE	2   /* bad command line */
#define LISPVM_EXIT_TIMEOUT	124 /* --timeout passed; as timeout(1) */
#define LISPVM_EXIT_HOST_ERROR	125 /* lispvm could not set up or run the VM */
#define LISPVM_EXIT_GUEST_CRASH 126 /* guest runtime faulted or misbehaved */

#endif /* LISPVM_ABI_H */
