#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cold boot-to-exit of the guest runtime: lispvm on KVM, the same ELF under
QEMU microvm (TCG, and KVM when QEMU can use it), next to native
`sbcl --script hello.fasl`, in one run.  Prints medians and ratios.

    python3 bench/boot.py [--runs 20] [--memory 2G]

Run from the source tree after tools/setup."""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import machine  # bench/machine.py: where the benchmark runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
GUEST = os.path.join(ROOT, "build", "guest-runtime", "lispvm-guest.elf")
UP = re.compile(r"up (\d+) us")


def timed(argv, ok_codes=(0,)):
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        sys.exit(f"bench: {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return elapsed, proc.stdout


def measure(name, argv, runs, ok_codes=(0,)):
    walls, ups = [], []
    timed(argv, ok_codes)  # warm the page cache: "cold" means a fresh VM, not a cold disk
    for _ in range(runs):
        wall, out = timed(argv, ok_codes)
        walls.append(wall)
        found = UP.search(out)
        if found:
            ups.append(int(found.group(1)) / 1e6)
    return {"name": name, "wall": statistics.median(walls), "min": min(walls),
            "up": statistics.median(ups) if ups else None}


def qemu_argv(accel, memory):
    return ["qemu-system-x86_64", "-M", "microvm", "-accel", accel, "-m", memory,
            "-kernel", GUEST, "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]


def qemu_kvm_works(memory):
    proc = subprocess.run(qemu_argv("kvm", memory), capture_output=True, text=True)
    return proc.returncode == 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--memory", default="2G")
    args = parser.parse_args()
    machine.enter()

    with tempfile.TemporaryDirectory() as tmp:
        hello = os.path.join(tmp, "hello.lisp")
        with open(hello, "w") as f:
            f.write('(write-line "hello")\n')
        subprocess.run(["sbcl", "--noinform", "--non-interactive", "--eval",
                        f'(compile-file "{hello}")'], capture_output=True, check=True)
        fasl = os.path.join(tmp, "hello.fasl")

        results = [measure("native sbcl --script hello.fasl",
                           ["sbcl", "--script", fasl], args.runs)]
        results.append(measure(f"lispvm boot --memory {args.memory} (guest boot+exit)",
                               [LISPVM, "boot", "--memory", args.memory], args.runs))
        results.append(measure("qemu -M microvm -accel tcg (same ELF)",
                               qemu_argv("tcg", args.memory), args.runs, ok_codes=(1,)))
        if qemu_kvm_works(args.memory):
            results.append(measure("qemu -M microvm -accel kvm (same ELF)",
                                   qemu_argv("kvm", args.memory), args.runs, ok_codes=(1,)))
        else:
            results.append({"name": "qemu -M microvm -accel kvm: not usable on this host",
                            "wall": None})

    base = results[0]["wall"]
    print(f"median of {args.runs} runs each; ratio = median / native sbcl median")
    for r in results:
        if r["wall"] is None:
            print(f"  {r['name']}")
            continue
        up = f"  guest-reported up {r['up'] * 1e3:7.1f} ms" if r.get("up") else ""
        print(f"  {r['name']:<48} {r['wall'] * 1e3:8.1f} ms  (min {r['min'] * 1e3:6.1f})"
              f"  x{r['wall'] / base:5.2f}{up}")


if __name__ == "__main__":
    main()
