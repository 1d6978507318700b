/* SPDX-License-Identifier: MIT */
/* The clocks a program names by clockid_t (sys_time.c). */
#ifndef GUEST_LINUX_CLOCKS_H
#define GUEST_LINUX_CLOCKS_H

#include <stdint.h>

/* The time of clock id in ns, or -EINVAL for a clock that does not
 * exist.  The CPU-time clocks count from exec. */
int clock_id_now(uint64_t id, uint64_t *ns);

#endif
