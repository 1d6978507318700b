#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Host memory of Lisp microVMs next to native SBCL processes, in one run.

Density: N idle programs at once (each prints "ready" and blocks reading
stdin), as N `lispvm run` VMs and as N native `sbcl --script` processes;
the sum of their PSS (/proc/PID/smaps_rollup: for a VM that is the whole
VMM process, guest RAM and the shared image included), PSS per program,
the VMM's RSS, and how much MemAvailable fell (which also counts what
KVM keeps in the kernel: page tables, vCPU state).

Heap return: a program keeps HEAP MiB live, drops it and runs
(sb-ext:gc :full t); the process RSS before, at the peak and 100 ms after
the GC, under lispvm and natively.  Both get a 2 GB heap (SBCL's default
1 GiB cannot hold 1 GiB of live data) and the VM 3 GiB of RAM.

    python3 bench/memory.py [--counts 1,10,50,200] [--heap-mib 1024] [--lispvm PATH]

Run from the source tree after tools/setup."""

import argparse
import os
import subprocess
import sys
import tempfile
import time

import machine  # bench/machine.py: where the benchmark runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
SBCL = "/usr/bin/sbcl"

IDLE = """(format t "ready~%") (finish-output) (read-line *standard-input* nil)"""
HEAP = """
(format t "started~%") (finish-output) (read-line)
(defvar *keep* nil)
(dotimes (i (parse-integer (second sb-ext:*posix-argv*)))
  (push (make-array (/ (* 1024 1024) 8) :element-type '(unsigned-byte 64) :initial-element i)
        *keep*))
(format t "peak~%") (finish-output) (read-line)
(setf *keep* nil)
(sb-ext:gc :full t)
(format t "collected~%") (finish-output) (read-line)
"""


def fail(message):
    sys.exit(f"bench: {message}")


def kib_field(path, field):
    with open(path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mem_available_kib():
    return kib_field("/proc/meminfo", "MemAvailable")


class Program:
    """A program whose stdout we read line by line and whose stdin we feed."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def wait_for(self, word):
        line = self.proc.stdout.readline()
        if line.strip() != word:
            self.proc.kill()
            _, err = self.proc.communicate()
            fail(f"{' '.join(self.argv)}: expected {word!r}, got {line!r}: {err[-2000:]}")

    def say(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def finish(self):
        self.proc.communicate("\n", timeout=600)

    def pss_kib(self):
        return kib_field(f"/proc/{self.proc.pid}/smaps_rollup", "Pss")

    def rss_kib(self):
        return kib_field(f"/proc/{self.proc.pid}/status", "VmRSS")


def density_row(argv, n):
    before = mem_available_kib()
    programs = [Program(argv) for _ in range(n)]
    for p in programs:
        p.wait_for("ready")
    time.sleep(1)  # let the last ones settle
    pss = sum(p.pss_kib() for p in programs)
    rss = sum(p.rss_kib() for p in programs)
    drop = before - mem_available_kib()
    for p in programs:
        p.finish()
    return {"pss": pss, "rss": rss, "drop": drop}


def density(lispvm, program, counts):
    print("Density: N idle SBCL programs at once (MiB)")
    print(f"{'N':>4} | {'native PSS':>10} {'per proc':>8} | {'lispvm PSS':>10} {'per VM':>8}"
          f" {'VMM RSS/VM':>10} | {'MemAvail drop native':>20} {'lispvm':>8} |"
          f" {'PSS/VM - native':>15}")
    for n in counts:
        native = density_row([SBCL, "--script", program], n)
        vm = density_row([lispvm, "run", program], n)
        mib = lambda kib: kib / 1024  # noqa: E731
        print(f"{n:>4} | {mib(native['pss']):>10.1f} {mib(native['pss']) / n:>8.2f} |"
              f" {mib(vm['pss']):>10.1f} {mib(vm['pss']) / n:>8.2f}"
              f" {mib(vm['rss']) / n:>10.2f} | {mib(native['drop']):>20.1f}"
              f" {mib(vm['drop']):>8.1f} | {(mib(vm['pss']) - mib(native['pss'])) / n:>+15.2f}",
              flush=True)


def heap_return_row(argv):
    p = Program(argv)
    p.wait_for("started")
    before = p.rss_kib()
    p.say()
    p.wait_for("peak")
    peak = p.rss_kib()
    p.say()
    p.wait_for("collected")
    time.sleep(0.1)
    after = p.rss_kib()
    p.finish()
    return before / 1024, peak / 1024, after / 1024


def heap_return(lispvm, program, heap_mib):
    print(f"\nHeap return: {heap_mib} MiB kept live, dropped, (gc :full t); process RSS (MiB)")
    print(f"{'':>8} | {'before':>8} {'peak':>8} {'100 ms after GC':>16}")
    heap = ["--dynamic-space-size", "2GB"]
    for name, argv in (("native", [SBCL, *heap, "--script", program, str(heap_mib)]),
                       ("lispvm", [lispvm, "--memory", "3G", "run", "--sbcl-option", heap[0],
                                   "--sbcl-option", heap[1], program, str(heap_mib)])):
        before, peak, after = heap_return_row(argv)
        print(f"{name:>8} | {before:>8.1f} {peak:>8.1f} {after:>16.1f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,10,50,200")
    parser.add_argument("--heap-mib", type=int, default=1024)
    parser.add_argument("--lispvm", default=DEFAULT_LISPVM)
    parser.add_argument("--skip-density", action="store_true")
    parser.add_argument("--skip-heap", action="store_true")
    args = parser.parse_args()
    machine.enter()
    counts = [int(c) for c in args.counts.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        idle, heap = os.path.join(tmp, "idle.lisp"), os.path.join(tmp, "heap.lisp")
        with open(idle, "w") as f:
            f.write(IDLE)
        with open(heap, "w") as f:
            f.write(HEAP)
        # Build SBCL's image before anything is measured.
        subprocess.run([args.lispvm, "eval", "1"], capture_output=True, check=True)
        if not args.skip_density:
            density(args.lispvm, idle, counts)
        if not args.skip_heap:
            heap_return(args.lispvm, heap, args.heap_mib)


if __name__ == "__main__":
    main()
