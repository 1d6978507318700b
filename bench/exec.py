#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Wall time of `lispvm exec` next to the native run of the same command:
/bin/true (dynamic, image from --ldd), `busybox sha256sum` of a large
file packed in an image, and of a smaller one piped into stdin (the
virtio console's receive queue).  Prints medians and lispvm/native ratios, then the
KVM exits of one lispvm /bin/true run, counted with perf's kvm tracepoints.

    python3 bench/exec.py [--runs-true 20] [--runs-sha 5] [--size-mb 100]
                          [--stdin-mb 20] [--lispvm build/tools/lispvm/lispvm]

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
DEFAULT_LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
BUSYBOX = "/bin/busybox"
# kvm_exit is the generic one; the rest say what the exits were, and are
# all we get where KVM does not emit kvm_exit (kvm_pvm emulates a non-PVM
# guest's ring-0 code: every emulated instruction is a trip into KVM).
EVENTS = ["kvm:kvm_exit", "kvm:kvm_userspace_exit", "kvm:kvm_emulate_insn",
          "kvm:kvm_inj_exception", "kvm:kvm_pio", "kvm:kvm_msr", "kvm:kvm_cpuid"]
DEBUGFS_EXITS = "/sys/kernel/debug/kvm/exits"


def fail(message):
    sys.exit(f"bench: {message}")


def timed(argv, cwd=None):
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, cwd=cwd)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        fail(f"{' '.join(argv)} exited {proc.returncode}: "
             f"{proc.stderr.decode(errors='replace').strip()[-2000:]}")
    return elapsed, proc.stdout


def measure(argv, runs, cwd=None):
    _, out = timed(argv, cwd)  # warm the page cache: we time exec, not the disk
    walls = [timed(argv, cwd)[0] for _ in range(runs)]
    return statistics.median(walls), min(walls), out


def count_exits(argv):
    """Returns (method, {event: count}) for one run of argv, or (why not, {})."""
    # `lispvm --verbose` names hypercalls only, so it cannot count exits.
    if shutil.which("perf"):
        with tempfile.NamedTemporaryFile("r", suffix=".perf") as out:
            cmd = ["perf", "stat", "-x", ",", "-o", out.name]
            for event in EVENTS:
                cmd += ["-e", event]
            proc = subprocess.run(cmd + ["--"] + argv, capture_output=True)
            counts = {}
            for line in out.read().splitlines():
                fields = line.split(",")
                if len(fields) > 2 and fields[2] in EVENTS and fields[0].isdigit():
                    counts[fields[2]] = int(fields[0])
            if proc.returncode == 0 and counts:
                return "perf stat -e kvm:* tracepoints", counts
    if os.access(DEBUGFS_EXITS, os.R_OK):
        def exits():
            with open(DEBUGFS_EXITS) as f:
                return int(f.read())
        before = exits()
        subprocess.run(argv, capture_output=True)
        return f"{DEBUGFS_EXITS} before/after (all VMs on the host)", {
            "exits": exits() - before}
    return "none: no usable perf kvm tracepoints and no debugfs kvm/exits", {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-true", type=int, default=20)
    parser.add_argument("--runs-sha", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=100, help="sha256sum input size")
    parser.add_argument("--stdin-mb", type=int, default=20, help="sha256sum input through stdin")
    parser.add_argument("--memory", default="1G", help="guest RAM for lispvm exec")
    parser.add_argument("--lispvm", default=DEFAULT_LISPVM)
    args = parser.parse_args()
    machine.enter()

    lispvm = os.path.abspath(args.lispvm)
    if not os.access(lispvm, os.X_OK):
        fail(f"no lispvm at {lispvm}: build it first (tools/setup, or meson compile -C build) "
             "or pass --lispvm PATH")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        fail("needs read-write /dev/kvm")
    if not os.access(BUSYBOX, os.X_OK):
        fail(f"needs {BUSYBOX} (Debian package busybox-static)")

    with tempfile.TemporaryDirectory(prefix="lispvm-bench-exec-") as tmp:
        # The data file sits at the same relative path for both runs (cwd tmp
        # natively, /bench in the guest): the guest's /tmp is its own tmpfs.
        data = os.path.join(tmp, "data.bin")
        chunk = os.urandom(1 << 20)
        with open(data, "wb") as f:
            for _ in range(args.size_mb):
                f.write(chunk)
        true_img, sha_img = os.path.join(tmp, "true.erofs"), os.path.join(tmp, "sha.erofs")
        for image, entries in [(true_img, ["--ldd", "/bin/true"]),
                               (sha_img, [BUSYBOX, f"{data}:/bench/data.bin"])]:
            timed([lispvm, "image", "build", "-o", image, *entries])

        exec_ = [lispvm, "exec", "--memory", args.memory]
        true_guest = exec_ + ["--image", true_img, "--", "/bin/true"]
        sha_argv = [BUSYBOX, "sha256sum", "data.bin"]
        sha_guest = exec_ + ["--image", sha_img, "--cwd", "/bench", "--"] + sha_argv

        # stdin is a pipe on both sides, fed by cat from the page cache.
        piped = f"head -c {args.stdin_mb << 20} {data} | "
        stdin_native = ["sh", "-c", piped + f"{BUSYBOX} sha256sum"]
        stdin_guest = ["sh", "-c", piped + " ".join(
            exec_ + ["--image", sha_img, "--", BUSYBOX, "sha256sum"])]

        rows = []
        for name, runs, native_argv, guest_argv in [
                ("/bin/true", args.runs_true, ["/bin/true"], true_guest),
                (f"busybox sha256sum ({args.size_mb} MB)", args.runs_sha, sha_argv, sha_guest),
                (f"sha256sum < pipe ({args.stdin_mb} MB)", args.runs_sha, stdin_native,
                 stdin_guest)]:
            native = measure(native_argv, runs, cwd=tmp)
            guest = measure(guest_argv, runs)
            if native[2] != guest[2]:  # a wrong answer fast is no benchmark
                fail(f"{name}: lispvm printed {guest[2]!r}, natively {native[2]!r}")
            rows.append((name, runs, native, guest))
        method, exits = count_exits(true_guest)

    print("median (min) wall time; ratio = lispvm median / native median")
    print(f"  {'command':<28} {'runs':>4} {'native ms':>17} {'lispvm exec ms':>19} {'ratio':>8}")
    for name, runs, native, guest in rows:
        print(f"  {name:<28} {runs:>4} {native[0] * 1e3:8.1f} ({native[1] * 1e3:6.1f})"
              f" {guest[0] * 1e3:9.1f} ({guest[1] * 1e3:7.1f}) {guest[0] / native[0]:8.1f}")
    print(f"KVM exits, one lispvm exec /bin/true; method: {method}")
    for event, count in exits.items():
        print(f"  {event:<24} {count:>10}")
    if exits.get("kvm:kvm_exit") == 0 and any(exits.values()):
        print("  (kvm_exit does not fire on this KVM, e.g. kvm_pvm, which emulates the"
              " guest's ring-0 code: kvm_emulate_insn counts those trips)")


if __name__ == "__main__":
    main()
