#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lisp programs under `lispvm run` next to native `sbcl --script`, the
same fasls alternating, N runs each: hello (process wall time), fib(32)
ten times, an allocation-heavy loop with frequent GCs, a 4-thread
mutex/condition ping-pong, and reading a 100 MB file from a mount (the
workload times as each program measures them itself).  Prints medians and
ratios, then a profile of one lispvm run of each: guest ring-0
instructions emulated (kvm_pvm) or VM exits, and exceptions injected.

    python3 bench/sbcl.py [--runs 5] [--size-mb 100] [--lispvm PATH]

Run from the source tree after tools/setup, as root (perf tracepoints)."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import machine  # bench/machine.py: where the benchmark runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISP = os.path.join(ROOT, "bench", "lisp")
DEFAULT_LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
SBCL = "/usr/bin/sbcl"
BENCHES = ["hello", "fib", "alloc", "pingpong", "read"]
PROFILE_EVENTS = ["kvm:kvm_exit", "kvm:kvm_emulate_insn", "kvm:kvm_inj_exception",
                  "kvm:kvm_userspace_exit"]


def fail(message):
    sys.exit(f"bench: {message}")


def timed(argv):
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        fail(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return wall, proc.stdout


def compile_fasls(tmp):
    fasls = {}
    for name in BENCHES:
        source = os.path.join(tmp, f"{name}.lisp")
        shutil.copy(os.path.join(LISP, f"{name}.lisp"), source)
        timed([SBCL, "--noinform", "--non-interactive", "--no-sysinit", "--no-userinit",
               "--eval", f'(compile-file "{source}")'])
        fasls[name] = os.path.join(tmp, f"{name}.fasl")
    return fasls


def profile(argv):
    """{event: count} for one run, or {} where perf cannot count them."""
    if shutil.which("perf") is None:
        return {}
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as out:
        cmd = ["perf", "stat", "-x", ",", "-o", out.name]
        for event in PROFILE_EVENTS:
            cmd += ["-e", event]
        if subprocess.run(cmd + ["--"] + argv, capture_output=True).returncode != 0:
            return {}
        counts = {}
        for line in out.read().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[2] in PROFILE_EVENTS and fields[0].isdigit():
                counts[fields[2]] = int(fields[0])
        return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--lispvm", default=DEFAULT_LISPVM)
    args = parser.parse_args()
    machine.enter()
    lispvm = os.path.abspath(args.lispvm)
    if not os.access(lispvm, os.X_OK):
        fail(f"no lispvm at {lispvm}: run tools/setup first or pass --lispvm")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        fail("needs read-write /dev/kvm")

    with tempfile.TemporaryDirectory(prefix="lispvm-bench-sbcl-") as tmp:
        fasls = compile_fasls(tmp)
        data = os.path.join(tmp, "data.bin")
        with open(data, "wb") as f:
            chunk = os.urandom(1 << 20)
            for _ in range(args.size_mb):
                f.write(chunk)
        argvs = {}
        for name in BENCHES:
            extra = [data] if name == "read" else []
            vm_options = ["--mount", f"{tmp}:{tmp}:ro"] if name == "read" else []
            argvs[name] = (["sbcl", "--script", fasls[name], *extra],
                           [lispvm, "run", *vm_options, fasls[name], *extra])
        timed(argvs["hello"][1])  # builds SBCL's image if need be; warms the page cache
        results = {name: ([], []) for name in BENCHES}
        for _ in range(args.runs):  # alternating, so drift hits both sides alike
            for name in BENCHES:
                for side, argv in enumerate(argvs[name]):
                    wall, out = timed(argv)
                    results[name][side].append(wall if name == "hello" else int(out) / 1000)
        profiles = {name: profile(argvs[name][1]) for name in BENCHES}

    print(f"median of {args.runs} runs, alternating; hello is process wall time, the others"
          " the workload as the program times it")
    print(f"  {'benchmark':<34} {'native ms':>10} {'lispvm ms':>10} {'lispvm/native':>14}"
          f" {'speed vs native':>16}")
    labels = {"hello": "hello.fasl (wall)", "fib": "fib(32) x10 compiled",
              "alloc": "allocation, frequent GCs", "pingpong": "4-thread mutex/condvar ring",
              "read": f"read {args.size_mb} MB from a mount"}
    for name in BENCHES:
        native, vm = (statistics.median(v) * 1e3 for v in results[name])
        print(f"  {labels[name]:<34} {native:10.1f} {vm:10.1f} {vm / native:14.2f}"
              f" {native / vm:15.3f}x")
    print("profile of one lispvm run each (perf stat, kvm tracepoints):")
    print(f"  {'benchmark':<34}" + "".join(f" {e.split(':')[1]:>20}" for e in PROFILE_EVENTS))
    for name in BENCHES:
        counts = profiles[name]
        print(f"  {labels[name]:<34}" +
              "".join(f" {counts.get(e, '-'):>20}" for e in PROFILE_EVENTS))
    print("  (on kvm_pvm every guest ring-0 instruction is emulated, about 1 us each:"
          " kvm_emulate_insn counts them; kvm_exit does not fire there)")


if __name__ == "__main__":
    main()
