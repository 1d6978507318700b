/* SPDX-License-Identifier: MIT */
/*
 * A VM's monitor (`lispvmd --monitor`): the process that starts the VM's
 * `lispvm` command with its output on pipes, keeps that output in the
 * VM's directory as JSON lines (log, rotated into log.1 at half the cap),
 * waits for the command and records how it ended.  It outlives the
 * daemon, so a restarted daemon finds every VM where it was.
 */
#ifndef LISPVM_DAEMON_MONITOR_H
#define LISPVM_DAEMON_MONITOR_H

#include <stddef.h>
#include <stdint.h>

/* argv: --monitor DIR LOG_CAP READY_FD USER -- COMMAND...  The monitor
 * runs COMMAND as USER (vm_user_format: "-" for its own user) and writes
 * "started PID\n" or "failed REASON\n" to READY_FD once, then closes it.
 * Returns the monitor's exit status. */
int monitor_main(int argc, char **argv);

/* Text with every byte that is not UTF-8 replaced by U+FFFD, so each log
 * line is a JSON string any reader takes; the result is malloc'd. */
char *monitor_utf8_clean(const char *text, size_t len);

#endif
