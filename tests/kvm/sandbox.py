# SPDX-License-Identifier: MIT
"""The VMM's seccomp filters in a real VMM: every thread of a running VM
has one, and a call outside them (made by a stand-in for VMM code a guest
took over, tests/kvm/forbidden_call.c) ends the VM with one line naming
the thread and the call, or with --seccomp-log goes through.
Usage: sandbox.py CASE LISPVM FORBIDDEN_CALL_SO"""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import (TestFailure, describe, expect, expect_exit, expect_in, main,  # noqa: E402
                         require_kvm, run)

HOST_ERROR = 125
BOOT = ["boot", "--memory", "64M", "--timeout", "60"]
# boot has no devices; eval has the console.
EVAL = ["eval", "--timeout", "120", "(+ 1 2)"]
# The threads of a VM with every device: the vCPU thread is lispvm's own.
DEVICE_THREADS = {"console", "vsock", "dirty log", "control"}


def with_shim(exe, shim, role, *args):
    require_kvm()
    env = dict(os.environ, LD_PRELOAD=os.path.abspath(shim), LISPVM_TEST_FORBIDDEN=role,
               LISPVM_MACHINE="never")
    return run([exe, *args], env=env)


def expect_stopped_by_filter(proc, role):
    expect_exit(proc, HOST_ERROR)
    want = f"lispvm: the VMM's {role} thread made system call socket (41), "
    expect_in(want, proc.stderr, proc)
    lines = [l for l in proc.stderr.splitlines() if l.startswith("lispvm:")]
    expect(len(lines) == 1, f"expected one 'lispvm:' line: {proc.stderr!r}")


def forbidden_in_vcpu_thread(exe, shim):
    expect_stopped_by_filter(with_shim(exe, shim, "vCPU", *BOOT), "vCPU")


def forbidden_in_device_thread(exe, shim):
    expect_stopped_by_filter(with_shim(exe, shim, "console", *EVAL), "console")


def seccomp_log_lets_it_through(exe, shim):
    for role in ("vCPU", "console"):
        proc = with_shim(exe, shim, role, "--seccomp-log", *EVAL)
        expect_exit(proc, 0)
        expect(proc.stdout == "3\n", f"{role}: {describe(proc)}")
        expect("seccomp" not in proc.stderr, f"{role}: {proc.stderr!r}")


def task_status(pid):
    """{tid: (name, Seccomp mode, filters)} of every thread of pid."""
    tasks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                status = f.read()
        except FileNotFoundError:
            continue
        field = lambda name: re.search(rf"^{name}:\s*(.*)$", status, re.M).group(1)
        tasks[tid] = (field("Name"), int(field("Seccomp")), int(field("Seccomp_filters")))
    return tasks


def every_thread_filtered(exe, shim):
    """A VM with a mount, --stats (the dirty log), --attachable (vsock and
    the control socket): once SBCL runs, each thread has its filter."""
    require_kvm()
    with tempfile.TemporaryDirectory() as tmp:
        program = os.path.join(tmp, "up.lisp")
        with open(program, "w") as f:
            f.write('(with-open-file (s "/mnt/up" :direction :output))\n(sleep 100)\n')
        vm = subprocess.Popen(
            [exe, "run", "--attachable", "--stats", "--mount", f"{tmp}:/mnt", "--timeout",
             "120", program],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, LISPVM_MACHINE="never"))
        try:
            deadline = time.monotonic() + 90
            while not os.path.exists(f"{tmp}/up"):
                if vm.poll() is not None:
                    raise TestFailure(f"lispvm ended early: {vm.communicate()}")
                expect(time.monotonic() < deadline, "the program did not start in 90 s")
                time.sleep(0.2)
            tasks = task_status(vm.pid)
        finally:
            vm.kill()
            vm.communicate()
    names = {name for name, _, _ in tasks.values()}
    expect(DEVICE_THREADS <= names, f"threads {sorted(names)}, expected {sorted(DEVICE_THREADS)}")
    for tid, (name, mode, filters) in tasks.items():
        # Mode 2: filter; one each (a device thread starts before the
        # vCPU thread installs its own, so it does not inherit it).
        expect(mode == 2 and filters == 1,
               f"thread {tid} ({name}): Seccomp {mode}, {filters} filters")


if __name__ == "__main__":
    main({f.__name__: f for f in (forbidden_in_vcpu_thread, forbidden_in_device_thread,
                                  seccomp_log_lets_it_through, every_thread_filtered)})
