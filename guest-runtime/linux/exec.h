/* SPDX-License-Identifier: MIT */
/* Starting the Linux program: the ELF loader (static, static-pie and
 * dynamic executables with their interpreter) and the initial stack. */
#ifndef GUEST_LINUX_EXEC_H
#define GUEST_LINUX_EXEC_H

#include "kernel/boot_info.h"

/* Runs the program the boot info names; never returns (the program's exit
 * ends the VM).  A program that cannot start is reported on the console
 * and ends the VM with status 127 (not found) or 126 (cannot execute), as
 * a shell would. */
_Noreturn void exec_boot_program(const struct boot_info *bi);

#endif
