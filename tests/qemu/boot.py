# SPDX-License-Identifier: MIT
"""The very same guest ELF under qemu-system-x86_64 -M microvm with TCG:
PVH boot, 16550 console, isa-debug-exit.  Usage: boot.py CASE QEMU GUEST_ELF

isa-debug-exit makes QEMU exit with (value << 1) | 1, so a guest exit status
s shows up as 2s+1 and a guest crash (126) as 253."""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import expect, expect_exit, expect_in, main, run  # noqa: E402

BANNER = re.compile(r"lispvm guest runtime \S+ \(ABI \d+\) on PVH \(16550 console\): "
                    r"(\d+) MiB RAM")
GUEST_CRASH = 126


def qemu(qemu_exe, elf, append="", memory="128M"):
    return run([qemu_exe, "-M", "microvm", "-accel", "tcg", "-m", memory,
                "-kernel", elf, "-append", append,
                "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
                "-serial", "stdio",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4"], timeout=300)


def debug_exit(status):
    return (status << 1) | 1


def expect_banner(proc, mib):
    found = BANNER.search(proc.stdout)
    expect(found is not None, f"no banner on the serial port: {proc.stdout!r} {proc.stderr!r}")
    expect(int(found.group(1)) in (mib - 1, mib), f"banner says {found.group(1)} MiB")


def banner(qemu_exe, elf):
    proc = qemu(qemu_exe, elf)
    expect_exit(proc, debug_exit(0))
    expect_banner(proc, 128)


def exit_status(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, "exit=3")
    expect_exit(proc, debug_exit(3))


def memory_above_4g(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, memory="5G")
    expect_exit(proc, debug_exit(0))
    expect_banner(proc, 5120)


def page_fault(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, "selftest=page-fault")
    expect_exit(proc, debug_exit(GUEST_CRASH))
    expect_in("vector 14", proc.stdout, proc)
    expect_in("CR2 0xdead000", proc.stdout, proc)
    expect(re.search(r"RIP 0xffffffff8[0-9a-f]{7}", proc.stdout), f"no RIP: {proc.stdout!r}")


def divide_error(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, "selftest=divide-error")
    expect_exit(proc, debug_exit(GUEST_CRASH))
    expect_in("vector 0,", proc.stdout, proc)


def clock(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, "selftest=clock")
    expect_exit(proc, debug_exit(0))
    expect_in("selftest clock: passed", proc.stdout, proc)


def heap(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, "selftest=heap")
    expect_exit(proc, debug_exit(0))
    expect_in("selftest heap: passed", proc.stdout, proc)


def pmem(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, "selftest=pmem", memory="64M")
    expect_exit(proc, debug_exit(0))
    expect_in("selftest pmem: passed", proc.stdout, proc)


def ring3(qemu_exe, elf):
    proc = qemu(qemu_exe, elf, "selftest=ring3")
    # Only the low 8 bits of isa-debug-exit's status survive.
    expect_exit(proc, debug_exit(139) & 0xff)
    expect_in("ring3: hello from user mode", proc.stdout, proc)
    expect_in("killed by SIGSEGV", proc.stdout, proc)


main({"ring3": ring3, "banner": banner, "exit_status": exit_status, "memory_above_4g": memory_above_4g,
      "page_fault": page_fault, "divide_error": divide_error, "clock": clock, "heap": heap,
      "pmem": pmem})
