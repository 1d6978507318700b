/* SPDX-License-Identifier: MIT */
/* NUL-terminated words one after another in a buffer, as a warm VM's
 * invocation arrives on its socket (pooled_vm.c) and goes on into its
 * jail (pooled_jail.c). */
#ifndef LISPVM_TOOLS_WORD_LIST_H
#define LISPVM_TOOLS_WORD_LIST_H

#include <stddef.h>

/* The words of buf[0..len) (whose last byte is NUL) as a NULL-terminated
 * array pointing into buf, *n of them; NULL when out of memory.  The
 * caller frees the array, not the words. */
char **word_list_split(char *buf, size_t len, size_t *n);

#endif
