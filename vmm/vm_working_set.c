/* SPDX-License-Identifier: MIT */
/* --prefetch and --record-working-set for a VM restored from a snapshot. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "vm_internal.h"

static struct working_set_origin origin_of(const struct vm *vm)
{
	return (struct working_set_origin){.snapshot_path = vm->config->snapshot_in,
					   .snapshot_checksum = vm->restored_checksum,
					   .runtime_hash = vm->runtime_hash,
					   .memory_size = vm->layout.ram_size};
}

/* A failure to map pages in ahead costs only speed: the guest faults them
 * in as it would have, so it says so and runs on. */
static int prefetch(struct vm *vm)
{
	struct working_set_origin origin = origin_of(vm);
	struct working_set_run *runs;
	uint64_t n;
	char why[ERR_SIZE];

	if (working_set_load(&vm->mem, &origin, vm->config->prefetch_path, &runs, &n, vm->err,
			     sizeof(vm->err)) < 0)
		return -1;
	if (working_set_populate(&vm->mem, runs, n, &vm->prefetch, why, sizeof(why)) < 0)
		log_error("working set %s: %s; the guest faults in the rest",
			  vm->config->prefetch_path, why);
	vm->prefetched = true;
	free(runs);
	return 0;
}

int vm_working_set_start(struct vm *vm)
{
	if (vm->config->prefetch_path != NULL && prefetch(vm) < 0)
		return -1;
	if (vm->config->working_set_out != NULL &&
	    (vm->pagemap_fd = working_set_open_pagemap(vm->err, sizeof(vm->err))) < 0)
		return -1;
	return 0;
}

int vm_working_set_finish(struct vm *vm, const struct vm_stop *stop)
{
	struct working_set_origin origin = origin_of(vm);
	struct working_set_stats stats;

	if (vm->config->working_set_out == NULL || vm->pagemap_fd < 0)
		return 0;
	if (stop->kind != VM_STOP_EXIT) {
		log_error("no working set recorded: the program did not exit");
		return -1;
	}
	if (working_set_record(&vm->mem, vm->pagemap_fd, &origin, vm->config->working_set_out,
			       &stats, vm->err, sizeof(vm->err)) < 0) {
		log_error("%s", vm->err);
		return -1;
	}
	log_verbose("working set %s: %llu pages read, %llu written (%.3f ms)",
		    vm->config->working_set_out, (unsigned long long)stats.read_pages,
		    (unsigned long long)stats.written_pages, (double)stats.elapsed_ns / 1e6);
	return 0;
}
