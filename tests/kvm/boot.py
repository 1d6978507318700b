# SPDX-License-Identifier: MIT
"""The guest runtime under lispvm on real KVM: banner, exit status, faults
reported with vector and RIP, hostile hypercalls stopped, bad kernels
refused.  Usage: boot.py CASE LISPVM GUEST_ELF"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import (TestFailure, expect, expect_exit, expect_in, main,  # noqa: E402
                         require_kvm, run, where_vms_run)

BANNER = re.compile(r"lispvm guest runtime \S+ \(ABI \d+\) on lispvm/KVM: (\d+) MiB RAM")
GUEST_CRASH, HOST_ERROR, TIMEOUT = 126, 125, 124
# Small guests keep these fast; the limit stops a hung guest well before
# Meson's own timeout.
SMALL = ["--memory", "64M", "--timeout", "60"]


def lispvm(exe, *args, env=None):
    require_kvm()
    return run([exe] + list(args), env=env)


def selftest(exe, name, memory="64M", extra=()):
    return lispvm(exe, "boot", "--memory", memory, "--timeout", "60", *extra,
                  "--append", f"selftest={name}")


def expect_banner(proc, mib=None):
    found = BANNER.search(proc.stdout)
    expect(found is not None, f"no banner on stdout; exit {proc.returncode}\n{proc.stdout}"
           f"{proc.stderr}")
    if mib is not None:
        # The guest counts RAM from its memory map: all of it but the
        # legacy hole below 1 MiB.
        expect(int(found.group(1)) in (mib - 1, mib),
               f"banner says {found.group(1)} MiB, asked for {mib} MiB")


def expect_one_line_error(proc, needle):
    expect_in(needle, proc.stderr, proc)
    lines = [l for l in proc.stderr.splitlines() if l.startswith("lispvm:")]
    expect(len(lines) == 1, f"expected one 'lispvm:' line on stderr: {proc.stderr!r}")


def expect_fault(proc, needles):
    """A guest fault: exit 126, one headline naming the cause and the RIP,
    then the register dump."""
    expect_exit(proc, GUEST_CRASH)
    expect_banner(proc)
    headline = next((l for l in proc.stderr.splitlines() if l.startswith("lispvm:")), "")
    for needle in needles:
        expect_in(needle, headline, proc)
    expect(re.search(r"RIP 0xffffffff8[0-9a-f]{7}\b", headline),
           f"headline has no kernel RIP: {headline!r}")
    expect_in("rflags", proc.stderr, proc)


def banner(exe, elf):
    proc = lispvm(exe, "boot", "--kernel", elf, *SMALL)
    expect_exit(proc, 0)
    expect_banner(proc, 64)
    expect(proc.stderr == "", f"unexpected stderr: {proc.stderr!r}")


def default_memory(exe, elf):
    proc = lispvm(exe, "boot", "--timeout", "60")
    expect_exit(proc, 0)
    expect_banner(proc, 2048)


def memory_above_4g(exe, elf):
    # 5 GiB: 3 GiB below the MMIO hole and 2 GiB above 4 GiB.
    proc = lispvm(exe, "boot", "--memory", "5G", "--timeout", "60")
    expect_exit(proc, 0)
    expect_banner(proc, 5120)


def exit_status(exe, elf):
    for status in (0, 1, 3, 42, 255):
        proc = lispvm(exe, "boot", *SMALL, "--append", f"exit={status}")
        expect_exit(proc, status)


def kernel_from_environment(exe, elf):
    env = dict(os.environ, LISPVM_KERNEL="/nonexistent/guest.elf")
    proc = lispvm(exe, "boot", *SMALL, env=env)
    expect_exit(proc, HOST_ERROR)
    expect_one_line_error(proc, "/nonexistent/guest.elf")


def divide_error(exe, elf):
    expect_fault(selftest(exe, "divide-error"), ["vector 0 ", "#DE"])


def page_fault(exe, elf):
    proc = selftest(exe, "page-fault")
    expect_fault(proc, ["vector 14 ", "#PF", "CR2 0xdead000"])


def triple_fault(exe, elf):
    # Hardware KVM reports a CPU shutdown; nested PVM reports a failed
    # exception delivery as an internal error.  Either way: 126 and the RIP,
    # except on AMD SVM, where KVM resets the vCPU before it reports the
    # shutdown: there the headline must say the RIP is lost, not name the
    # reset vector as the fault's place.
    proc = selftest(exe, "triple-fault")
    expect(re.search(r"triple fault", proc.stderr), f"no triple fault named: {proc.stderr!r}")
    if cpu_has_flag("svm"):
        expect_exit(proc, GUEST_CRASH)
        expect_banner(proc)
        expect_one_line_error(
            proc, "guest triple fault (CPU shutdown); RIP unknown: this CPU (AMD SVM) "
            "resets the vCPU on shutdown")
    else:
        expect_fault(proc, [])


def cpu_has_flag(flag):
    """Of the CPU that runs the microVMs (the helper machine's, there)."""
    cpuinfo = subprocess.run(where_vms_run(["cat", "/proc/cpuinfo"]), capture_output=True,
                             text=True, check=True).stdout
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return flag in line.split(":", 1)[1].split()
    return False


def bad_hypercall_buffer(exe, elf):
    proc = selftest(exe, "bad-hypercall-buffer")
    expect_exit(proc, GUEST_CRASH)
    expect_one_line_error(proc, "console_write buffer [0x7ffffffff000, +0x40) is outside guest RAM")


def bad_hypercall_request(exe, elf):
    proc = selftest(exe, "bad-hypercall-request")
    expect_exit(proc, GUEST_CRASH)
    expect_one_line_error(proc, "hypercall request at 0xfffffff0 is outside guest RAM")


def guest_panic(exe, elf):
    proc = selftest(exe, "no-such-selftest")
    expect_exit(proc, GUEST_CRASH)
    expect_in("unknown selftest 'no-such-selftest'", proc.stdout + proc.stderr, proc)


def image_write(exe, elf):
    """A guest kernel that writes through to an image hits the read-only
    memory slot: only this VM stops, with the image named, and the image
    file on the host is unchanged."""
    with tempfile.TemporaryDirectory() as tmp:
        payload, image = os.path.join(tmp, "payload"), os.path.join(tmp, "img.erofs")
        with open(payload, "wb") as f:
            f.write(b"original bytes\n" * 1000)
        built = lispvm(exe, "image", "build", "-o", image, f"{payload}:/payload")
        expect_exit(built, 0)
        with open(image, "rb") as f:
            before = f.read()
        proc = selftest(exe, "image-write", extra=("--image", image))
        expect_fault(proc, [f"guest wrote to read-only image {image} at 0x"])
        with open(image, "rb") as f:
            expect(f.read() == before, "the image file changed")


def timeout(exe, elf):
    proc = lispvm(exe, "boot", "--memory", "64M", "--timeout", "2", "--append", "selftest=hang")
    expect_exit(proc, TIMEOUT)
    expect_in("still running after --timeout 2s", proc.stderr, proc)
    expect_in("RIP 0x", proc.stderr, proc)


def pmem(exe, elf):
    proc = selftest(exe, "pmem", memory="32M")
    expect_exit(proc, 0)
    expect_in("selftest pmem: passed", proc.stdout, proc)


def heap(exe, elf):
    proc = selftest(exe, "heap")
    expect_exit(proc, 0)
    expect_in("selftest heap: passed", proc.stdout, proc)


def clock(exe, elf):
    proc = selftest(exe, "clock")
    expect_exit(proc, 0)
    expect_in("selftest clock: passed", proc.stdout, proc)
    expect_in("clock kvmclock", proc.stdout, proc)


def ring3(exe, elf):
    """A program in ring 3: 1000 system calls, a write to stdout, demand
    paging, munmap, then a write to the unmapped page kills it by SIGSEGV
    (exit 128 + 11, as a shell reports it)."""
    proc = selftest(exe, "ring3")
    expect_exit(proc, 139)
    expect_banner(proc)
    expect_in("ring3: hello from user mode", proc.stdout, proc)
    expect_in("killed by SIGSEGV: access to an unmapped address", proc.stdout, proc)


def missing_kernel(exe, elf):
    proc = lispvm(exe, "boot", "--kernel", "/nonexistent/guest.elf", *SMALL)
    expect_exit(proc, HOST_ERROR)
    expect_one_line_error(proc, "cannot open guest kernel /nonexistent/guest.elf")


def not_an_elf(exe, elf):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kernel.txt")
        with open(path, "w") as f:
            f.write("this is a text file, not a guest kernel\n" * 4)
        proc = lispvm(exe, "boot", "--kernel", path, *SMALL)
    expect_exit(proc, HOST_ERROR)
    expect_one_line_error(proc, "not an ELF file")


def not_a_pvh_kernel(exe, elf):
    # A real x86-64 executable, but a PIE user program, not a PVH kernel.
    proc = lispvm(exe, "boot", "--kernel", shutil.which("true") or "/bin/true", *SMALL)
    expect_exit(proc, HOST_ERROR)
    expect_one_line_error(proc, "bad guest kernel")


def _patched_kernel(elf, tmp, old, new):
    data = open(elf, "rb").read()
    expect(data.count(old) == 1, f"{old!r} occurs {data.count(old)} times in {elf}")
    path = os.path.join(tmp, "patched.elf")
    with open(path, "wb") as f:
        f.write(data.replace(old, new))
    return path


def wrong_abi_version(exe, elf):
    # The lispvm ELF note: namesz 7, descsz 4, type 1, "lispvm\0\0", version.
    note = (7).to_bytes(4, "little") + (4).to_bytes(4, "little") + (1).to_bytes(4, "little")
    version = int(re.search(r"\(ABI (\d+)\)", run([exe, "--version"]).stdout).group(1))
    old = note + b"lispvm\0\0" + version.to_bytes(4, "little")
    new = note + b"lispvm\0\0" + (99).to_bytes(4, "little")
    with tempfile.TemporaryDirectory() as tmp:
        proc = lispvm(exe, "boot", "--kernel", _patched_kernel(elf, tmp, old, new), *SMALL)
    expect_exit(proc, HOST_ERROR)
    expect_one_line_error(proc, "ABI")


def truncated_kernel(exe, elf):
    data = open(elf, "rb").read()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "truncated.elf")
        with open(path, "wb") as f:
            # Keep the headers, cut into the first loadable segment's data.
            f.write(data[:0x1020])
        proc = lispvm(exe, "boot", "--kernel", path, *SMALL)
    expect_exit(proc, HOST_ERROR)
    expect_one_line_error(proc, "bad guest kernel")


main({name: fn for name, fn in globals().items()
      if callable(fn) and getattr(fn, "__module__", "") == "__main__" and not name.startswith("_")
      and name not in ("main", "lispvm", "selftest", "expect_banner", "expect_one_line_error",
                       "expect_fault")})
