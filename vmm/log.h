/* SPDX-License-Identifier: MIT */
/* One-line diagnostics on stderr, all prefixed "lispvm: ". */
#ifndef LISPVM_VMM_LOG_H
#define LISPVM_VMM_LOG_H

#include <stdbool.h>

extern bool log_verbose_enabled;

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
