#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cost of one signal round trip (ud2 -> SIGILL handler that edits RIP
-> rt_sigreturn) and of one futex wake/wait hand-off between two threads,
inside lispvm and natively, in one run: the same static binaries, each
timed by itself (mean over N), median of repeated runs.

    python3 bench/signals.py [--runs 5] [--native-n 100000] [--guest-n 2000]

Run from the source tree after tools/setup (needs cc)."""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import machine  # bench/machine.py: where the benchmark runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
BENCHES = [("signal round trip (ud2 -> SIGILL handler -> rt_sigreturn)", "signal_roundtrip.c"),
           ("futex wake/wait hand-off between two threads", "futex_pingpong.c")]


def run(argv):
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--native-n", type=int, default=100000)
    parser.add_argument("--guest-n", type=int, default=2000)
    args = parser.parse_args()
    machine.enter()
    if not os.access(LISPVM, os.X_OK):
        sys.exit(f"bench: {LISPVM} is not built (run tools/setup)")
    print(f"median of {args.runs} runs; each run is the mean over N")
    with tempfile.TemporaryDirectory(prefix="lispvm-bench-") as tmp:
        for title, source in BENCHES:
            exe = os.path.join(tmp, source[:-2])
            image = exe + ".erofs"
            run(["cc", "-O2", "-static", "-pthread", "-o", exe,
                 os.path.join(ROOT, "bench", source)])
            run([LISPVM, "image", "build", "-o", image, f"{exe}:/bin/bench"])
            native = [float(run([exe, str(args.native_n)])) for _ in range(args.runs)]
            guest = [float(run([LISPVM, "exec", "--image", image, "--", "/bin/bench",
                                str(args.guest_n)])) for _ in range(args.runs)]
            n, g = statistics.median(native), statistics.median(guest)
            print(title)
            print(f"  native   {n / 1000:10.2f} us  (N = {args.native_n})")
            print(f"  lispvm   {g / 1000:10.2f} us  (N = {args.guest_n})   ratio {g / n:8.1f}")


if __name__ == "__main__":
    main()
