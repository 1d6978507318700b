#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lispvm through its helper machine (the path on a host without
/dev/kvm), on the host, with a helper machine of its own: cold start
(machine boot + hello), warm hello, native `sbcl --script hello.lisp` here
and inside the machine, the forwarding's own cost (a no-op command in the
machine), and stdio throughput (through the forwarding alone, and through
a Lisp program in a microVM).  Prints medians and ratios.

    python3 bench/helper.py [--runs 10] [--cold-runs 2] [--stdin-mb 100] [--lisp-stdin-mb 100]

Runs here even where /dev/kvm works (LISPVM_MACHINE=always)."""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
CLIENT = ["/usr/bin/python3", os.path.join(ROOT, "tools", "kvm-machine", "lispvm-machine")]
HELLO = os.path.join(ROOT, "examples", "hello.lisp")
COPY = """(let ((in (sb-sys:make-fd-stream 0 :element-type '(unsigned-byte 8)))
      (out (sb-sys:make-fd-stream 1 :element-type '(unsigned-byte 8) :output t))
      (buf (make-array 65536 :element-type '(unsigned-byte 8))))
  (loop for n = (read-sequence buf in) while (plusp n) do (write-sequence buf out :end n))
  (finish-output out))
"""


def timed(argv, env, data=None):
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, input=data, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} exited {proc.returncode}: {proc.stderr[-500:]!r}")
    return elapsed, proc.stdout


def median(argv, env, runs):
    timed(argv, env)
    return statistics.median(timed(argv, env)[0] for _ in range(runs))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cold-runs", type=int, default=2)
    parser.add_argument("--stdin-mb", type=int, default=100)
    parser.add_argument("--lisp-stdin-mb", type=int, default=100)
    args = parser.parse_args()
    state = tempfile.mkdtemp(prefix="lispvm-bench-helper-")
    env = dict(os.environ, LISPVM_MACHINE="always", LISPVM_MACHINE_DIR=state)
    print("machine: this host; lispvm through a helper machine of the benchmark's own "
          "(QEMU TCG, nested KVM)", flush=True)
    try:
        colds = []
        for _ in range(args.cold_runs):
            subprocess.run(CLIENT + ["stop"], env=env, capture_output=True)
            colds.append(timed([LISPVM, "run", HELLO], env)[0])
        cold = statistics.median(colds)
        warm = median([LISPVM, "run", HELLO], env, args.runs)
        native = median(["sbcl", "--script", HELLO], env, args.runs)
        native_inside = median(CLIENT + ["forward", "--", "sbcl", "--script", HELLO], env,
                               args.runs)
        noop = median(CLIENT + ["forward", "--", "/bin/true"], env, args.runs)
        print(f"cold start (boot + hello)  {cold:8.3f} s  {cold / native:8.1f}x native here")
        print(f"warm hello                 {warm:8.3f} s  {warm / native:8.1f}x native here, "
              f"{warm / native_inside:.2f}x native in the machine")
        print(f"native sbcl --script hello {native:8.3f} s here, {native_inside:.3f} s in the "
              "machine (forwarded)")
        print(f"forwarding a no-op command {noop:8.3f} s  (connection, fork+exec of /bin/true "
              "in the machine, exit status back)")
        data = os.urandom(args.stdin_mb << 20)
        elapsed, out = timed(CLIENT + ["forward", "--", "cat"], env, data)
        assert out == data, "forwarded cat returned other bytes"
        print(f"stdio through the forwarding: {args.stdin_mb} MB in and out in "
              f"{elapsed:.2f} s = {args.stdin_mb / elapsed:.1f} MB/s each way")
        with tempfile.NamedTemporaryFile("w", suffix=".lisp") as program:
            program.write(COPY)
            program.flush()
            small = data[:args.lisp_stdin_mb << 20]
            elapsed, out = timed([LISPVM, "run", program.name], env, small)
            assert out == small, "the Lisp copy returned other bytes"
        print(f"stdio through a Lisp program in a microVM: {args.lisp_stdin_mb} MB in and out "
              f"in {elapsed:.2f} s = {args.lisp_stdin_mb / elapsed:.2f} MB/s each way")
    finally:
        subprocess.run(CLIENT + ["stop"], env=env, capture_output=True)
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
