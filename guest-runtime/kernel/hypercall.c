/* SPDX-License-Identifier: MIT */
#include "kernel/hypercall.h"

#include <lispvm/abi.h>

#include "arch/x86/cpu.h"
#include "kernel/memory.h"
#include "kernel/percpu.h"

/* The request is this CPU's, so no lock: the vCPU is stopped in the VMM
 * for the whole call. */
int64_t hypercall(uint32_t nr, uint64_t a0, uint64_t a1)
{
	return hypercall3(nr, a0, a1, 0);
}

int64_t hypercall3(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	return hypercall5(nr, a0, a1, a2, 0, 0);
}

int64_t hypercall5(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4)
{
	struct lispvm_hypercall *req = &this_cpu()->hypercall;

	*req = (struct lispvm_hypercall){.nr = nr, .args = {a0, a1, a2, a3, a4}};
	outl(LISPVM_HYPERCALL_PORT, (uint32_t)virt_to_phys(req));
	return __atomic_load_n(&req->ret, __ATOMIC_ACQUIRE);
}
