# SPDX-License-Identifier: MIT
"""The Linux syscall conformance program inside lispvm: the same binary as
the native runs, packed into an image and run with `lispvm exec`. Every
check that passes natively must pass in the guest (and the guest may not
pass checks the host fails); faults and exit statuses end the guest
program exactly as they end the native one (128+signal for a signal, as a
shell reports it).
Usage: guest.py suite|signal|exit LISPVM PROGRAM [ARGS...]"""

import os
import re
import shutil
import signal as signals
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import describe, expect, main, require_kvm, run, where_vms_run  # noqa: E402

GUEST_PATH = "/bin/linux-syscalls"
RESULT = re.compile(r"^(ok|not ok) \d+ (\S+?)(?::|$)", re.M)


def guest_run(lispvm, program, *args, options=()):
    """Packs program (with its libraries when dynamic) and runs it."""
    require_kvm()
    lispvm, program = os.path.abspath(lispvm), os.path.abspath(program)
    tmp = tempfile.mkdtemp(prefix="lispvm-linux-test-")
    try:
        image = os.path.join(tmp, "prog.erofs")
        # --ldd brings the libraries (and the program at its host path,
        # which may lie under /tmp, where the guest mounts its own tmpfs):
        # the program runs from a fixed place instead.
        built = run([lispvm, "image", "build", "-o", image, "--ldd", program,
                     f"{program}:{GUEST_PATH}"])
        expect(built.returncode == 0, f"image build failed: {describe(built)}")
        return run([lispvm, "exec", "--memory", "512M", "--timeout", "300", "--image", image,
                    *options, "--", GUEST_PATH, *args], timeout=400)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def results(output):
    return {name: status == "ok" for status, name in RESULT.findall(output)}


# Through the helper machine a --mount is a host directory behind 9p,
# which loses what docs/architecture.md lists; the rest must agree.
HELPER_9P_LOSSES = {"io.utimensat_set": "9p keeps no atime nanoseconds"}


def compare(want, got, proc, mount_through_9p=False):
    """Returns how many known helper-machine losses it let pass."""
    differ = sorted(name for name in set(want) | set(got) if want.get(name) != got.get(name))
    known = []
    if mount_through_9p and os.environ.get("LISPVM_MACHINE") == "always":
        known = [n for n in differ if n in HELPER_9P_LOSSES and want[n] and not got.get(n)]
        for name in known:
            print(f"known helper-machine difference: {name}: {HELPER_9P_LOSSES[name]}")
            differ.remove(name)
    expect(not differ, "checks that differ from the native run (native, guest): " +
           ", ".join(f"{n} ({want.get(n)}, {got.get(n)})" for n in differ[:40]) +
           f"\n{proc.stderr[-3000:]}")
    return len(known)


def suite(lispvm, program):
    native = run(where_vms_run([os.path.abspath(program)], own_tmp=True), cwd="/")
    want = results(native.stdout)
    expect(len(want) > 100, f"the native run reported too few checks: {describe(native)}")
    proc = guest_run(lispvm, program)
    compare(want, results(proc.stdout), proc)
    expect(proc.returncode == native.returncode,
           f"exit {proc.returncode}, natively {native.returncode}; {describe(proc)[-3000:]}")


# The file groups again with the guest's /tmp on a host directory
# (--mount): every file operation then goes through the VMM.  Not the
# memory group: MAP_SHARED of a host file is a private copy (a documented
# limit).
HOSTFS_GROUPS = ["files", "dirs", "pipes", "io"]


def suite_on_host_mount(lispvm, program):
    for group in HOSTFS_GROUPS:
        native = run([os.path.abspath(program), group], cwd="/")
        want = results(native.stdout)
        expect(len(want) > 10, f"the native {group} run reported too few checks")
        with tempfile.TemporaryDirectory(prefix="lispvm-hostfs-tmp-") as host_tmp:
            proc = guest_run(lispvm, program, group, options=("--mount", f"{host_tmp}:/tmp"))
            known = compare(want, results(proc.stdout), proc, mount_through_9p=True)
            # A failed check is exit 1: a known loss may be the only one.
            expect(proc.returncode == native.returncode or (known and proc.returncode == 1),
                   f"{group}: exit {proc.returncode}, natively {native.returncode}")


def signal(name, lispvm, program, command):
    proc = guest_run(lispvm, program, command)
    status = 128 + signals.Signals[name]
    expect(proc.returncode == status, f"expected exit {status} ({name}), got {describe(proc)}")
    expect(f"{command}: " in proc.stdout and "survived" not in proc.stdout,
           f"expected the line announcing the fault; {describe(proc)}")


def exit_status(status, lispvm, program, *args):
    proc = guest_run(lispvm, program, *args)
    expect(proc.returncode == int(status), f"expected exit {status}, got {describe(proc)}")
    expect(proc.stdout == "", f"expected no output; {describe(proc)}")


main({"suite": suite, "suite-host-mount": suite_on_host_mount, "signal": signal,
      "exit": exit_status})
