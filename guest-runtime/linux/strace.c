/* SPDX-License-Identifier: MIT */
#include "linux/strace.h"

#include <asm/unistd_64.h>
#include <linux/fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernel/printk.h"
#include "linux/syscall.h"
#include "linux/uaccess.h"
#include "syscall_names.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define SHOWN_BYTES  32 /* of a buffer, as strace's default -s */
#define LINE_MAX     512

/* How to show each argument, one letter each:
 * d int, u unsigned, x hex, o octal, f dirfd, s path string,
 * w buffer written (length in the next argument),
 * r buffer read (length = the result). */
static const char *const formats[] = {
	[__NR_read] = "dru",	     [__NR_write] = "dwu",	 [__NR_open] = "sxo",
	[__NR_close] = "d",	     [__NR_stat] = "sx",	 [__NR_fstat] = "dx",
	[__NR_lstat] = "sx",	     [__NR_lseek] = "ddd",	 [__NR_mmap] = "xuxxdx",
	[__NR_mprotect] = "xux",     [__NR_munmap] = "xu",	 [__NR_brk] = "x",
	[__NR_ioctl] = "dxx",	     [__NR_pread64] = "druu",	 [__NR_pwrite64] = "dwuu",
	[__NR_readv] = "dxd",	     [__NR_writev] = "dxd",	 [__NR_access] = "so",
	[__NR_pipe] = "x",	     [__NR_madvise] = "xud",	 [__NR_dup] = "d",
	[__NR_dup2] = "dd",	     [__NR_getpid] = "",	 [__NR_exit] = "d",
	[__NR_uname] = "x",	     [__NR_fcntl] = "ddx",	 [__NR_ftruncate] = "du",
	[__NR_getcwd] = "xu",	     [__NR_chdir] = "s",	 [__NR_fchdir] = "d",
	[__NR_rename] = "ss",	     [__NR_mkdir] = "so",	 [__NR_rmdir] = "s",
	[__NR_unlink] = "s",	     [__NR_symlink] = "ss",	 [__NR_readlink] = "sxu",
	[__NR_umask] = "o",	     [__NR_getuid] = "",	 [__NR_gettid] = "",
	[__NR_arch_prctl] = "xx",    [__NR_getdents64] = "dxu",	 [__NR_set_tid_address] = "x",
	[__NR_clock_gettime] = "dx", [__NR_exit_group] = "d",	 [__NR_openat] = "fsxo",
	[__NR_mkdirat] = "fso",	     [__NR_newfstatat] = "fsxx", [__NR_unlinkat] = "fsx",
	[__NR_renameat] = "fsfs",    [__NR_readlinkat] = "fsxu", [__NR_faccessat] = "fso",
	[__NR_faccessat2] = "fsox",  [__NR_execve] = "sxx",	 [__NR_pipe2] = "xx",
	[__NR_dup3] = "ddx",	     [__NR_prlimit64] = "ddxx",	 [__NR_getrandom] = "xux",
	[__NR_statx] = "fsxxx",	     [__NR_close_range] = "ddx", [__NR_set_robust_list] = "xu",
	[__NR_rseq] = "xuxx",
};

const char *syscall_name(uint64_t nr)
{
	return nr < ARRAY_LEN(syscall_names) ? syscall_names[nr] : NULL;
}

struct line {
	char buf[LINE_MAX];
	size_t len;
};

static void __attribute__((format(printf, 2, 3))) add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	va_end(ap);
	l->len += (size_t)n < sizeof(l->buf) - l->len ? (size_t)n : sizeof(l->buf) - l->len - 1;
}

/* Quoted bytes from user memory, escaped as strace does; `string` stops
 * at a NUL. */
static void add_quoted(struct line *l, uint64_t user, uint64_t len, int string)
{
	uint8_t bytes[SHOWN_BYTES + 1];
	uint64_t n = len < sizeof(bytes) ? len : sizeof(bytes);

	if (user == 0 || copy_from_user(bytes, user, n) < 0) {
		add(l, "0x%lx", user);
		return;
	}
	add(l, "\"");
	for (uint64_t i = 0; i < n && i < SHOWN_BYTES; i++) {
		uint8_t c = bytes[i];

		if (string && c == 0)
			break;
		if (c == '\n')
			add(l, "\\n");
		else if (c == '\t')
			add(l, "\\t");
		else if (c == '"' || c == '\\')
			add(l, "\\%c", c);
		else if (c >= 32 && c < 127)
			add(l, "%c", c);
		else
			add(l, "\\%o", c);
	}
	add(l, "\"%s", len > SHOWN_BYTES && !(string && memchr(bytes, 0, n)) ? "..." : "");
}

static void add_arg(struct line *l, char kind, const uint64_t *args, int i, int64_t ret)
{
	uint64_t a = args[i];

	switch (kind) {
	case 'd':
		add(l, "%d", (int)a);
		break;
	case 'u':
		add(l, "%lu", a);
		break;
	case 'o':
		add(l, "0%lo", a);
		break;
	case 'f':
		if ((int)a == AT_FDCWD)
			add(l, "AT_FDCWD");
		else
			add(l, "%d", (int)a);
		break;
	case 's':
		add_quoted(l, a, SHOWN_BYTES + 1, 1);
		break;
	case 'w':
		add_quoted(l, a, args[i + 1], 0);
		break;
	case 'r':
		if (ret >= 0)
			add_quoted(l, a, (uint64_t)ret, 0);
		else
			add(l, "0x%lx", a);
		break;
	default:
		add(l, "0x%lx", a);
	}
}

void strace_print(uint64_t nr, const uint64_t args[6], int64_t ret, int returns)
{
	const char *fmt = nr < ARRAY_LEN(formats) && formats[nr] ? formats[nr] : "xxxxxx";
	const char *name = syscall_name(nr);
	struct line l = {.len = 0};

	if (name)
		add(&l, "%s(", name);
	else
		add(&l, "syscall_%lu(", nr);
	for (int i = 0; fmt[i]; i++) {
		if (i)
			add(&l, ", ");
		add_arg(&l, fmt[i], args, i, ret);
	}
	if (!returns)
		add(&l, ") = ?");
	else if (ret == -ERESTARTSYS) /* settled on the way out, as strace shows it */
		add(&l, ") = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
	else if (ret < 0 && ret >= -4095)
		add(&l, ") = -1 %s",
		    -ret < (int64_t)ARRAY_LEN(errno_names) && errno_names[-ret] ? errno_names[-ret]
										: "E?");
	else if (fmt[0] == 'x' && (nr == __NR_mmap || nr == __NR_brk))
		add(&l, ") = 0x%lx", ret);
	else
		add(&l, ") = %ld", ret);
	printk("%s\n", l.buf);
}
