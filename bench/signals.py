#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The cost of one signal round trip (ud2 -> SIGILL handler that edits RIP
-> rt_sigreturn) inside lispvm and natively, in one run: the same static
binary, timed by itself (mean over N round trips), median of repeated runs.

    python3 bench/signals.py [--runs 5] [--native-n 100000] [--guest-n 2000]

Run from the source tree after tools/setup (needs cc)."""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
SOURCE = os.path.join(ROOT, "bench", "signal_roundtrip.c")


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
    if not os.access(LISPVM, os.X_OK):
        sys.exit(f"bench: {LISPVM} is not built (run tools/setup)")
    with tempfile.TemporaryDirectory(prefix="lispvm-bench-") as tmp:
        exe = os.path.join(tmp, "roundtrip")
        image = os.path.join(tmp, "roundtrip.erofs")
        run(["cc", "-O2", "-static", "-o", exe, SOURCE])
        run([LISPVM, "image", "build", "-o", image, f"{exe}:/bin/roundtrip"])
        native = [float(run([exe, str(args.native_n)])) for _ in range(args.runs)]
        guest = [float(run([LISPVM, "exec", "--image", image, "--", "/bin/roundtrip",
                            str(args.guest_n)])) for _ in range(args.runs)]
    n, g = statistics.median(native), statistics.median(guest)
    print(f"signal round trip (ud2 -> SIGILL handler -> rt_sigreturn), median of {args.runs}")
    print(f"  native   {n / 1000:10.2f} us  (mean of {args.native_n})")
    print(f"  lispvm   {g / 1000:10.2f} us  (mean of {args.guest_n})   ratio {g / n:8.1f}")


if __name__ == "__main__":
    main()
