/* SPDX-License-Identifier: MIT */
/*
 * A VM's directory in the daemon's state directory (docs/daemon.md):
 * spec.json (the daemon's: who asked for what), state.json and exit.json
 * (its monitor's, which is the daemon's user too: the VMM's pid when it
 * started, its status when it ended), log and log.1 (its output as JSON
 * lines).  Each JSON file is
 * written beside its name and renamed into place, so a reader sees all
 * of it or none.
 */
#ifndef LISPVM_DAEMON_VM_FILES_H
#define LISPVM_DAEMON_VM_FILES_H

#include <stddef.h>

#include <json-c/json.h>

#define VM_FILE_SPEC	  "spec.json"
#define VM_FILE_STATE	  "state.json"
#define VM_FILE_EXIT	  "exit.json"
#define VM_FILE_LOG	  "log"
#define VM_FILE_LOG_OLD	  "log.1"
#define VM_FILES_MAX_JSON (1 << 20)

/* Writes obj as dir/name atomically.  0, or -1 with errno. */
int vm_files_write(const char *dir, const char *name, struct json_object *obj);

/* Opens dir/name for reading if it is a regular file of dir's owner:
 * never through a symlink, never waiting on a FIFO.  The descriptor, or
 * -1. */
int vm_files_open(const char *dir, const char *name);

/* Reads dir/name (as vm_files_open) as a JSON object of at most
 * VM_FILES_MAX_JSON bytes; NULL otherwise. */
struct json_object *vm_files_read(const char *dir, const char *name);

/* Seconds since the epoch, with fractions. */
double vm_files_now(void);

#endif
