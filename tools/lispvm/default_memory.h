/* SPDX-License-Identifier: MIT */
/* Guest RAM a VM gets without -m: lispvm's default, and what lispvmd's
 * memory quota counts for such a VM. */
#ifndef LISPVM_TOOLS_DEFAULT_MEMORY_H
#define LISPVM_TOOLS_DEFAULT_MEMORY_H

#define LISPVM_DEFAULT_MEMORY (2ULL << 30)

#endif
