#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Snapshots against native SBCL, side by side in one run:

- start to exit of hello: native `sbcl --script`, `lispvm run` (boot)
  and `lispvm run --snapshot` of a bare prepared snapshot;
- a program using alexandria and cl-ppcre: native (the libraries loaded
  from ASDF's fasl cache) against `run --snapshot` of a snapshot prepared
  with them;
- the snapshot's stored bytes against SBCL's live heap after GC, the time
  the VMM takes to write it and the whole `prepare`; the same for a diff
  over the libraries snapshot (`prepare --snapshot`);
- KVM's dirty log (`--stats`) under a program that writes 4 x 32 MiB:
  pages dirtied per second and the harvest's cost per 10,000 pages;
- PSS per program for N programs at once restored from one snapshot,
  against N native `sbcl` processes that loaded the same libraries;
- a running VM (`lispvm snapshot`): a program that loaded alexandria and
  cl-ppcre and ticks; the snapshot's size and time, a diff's a second
  later, and start to first tick resumed (`run --snapshot` with no
  program) against native and against booting it;
- working sets: restores with `--prefetch` of the pages a first run
  recorded (`--record-working-set`) against plain restores.

    python3 bench/snapshot.py [--runs 5] [--count 10] [--lispvm PATH]
                              [--running-only | --prefetch-only]"""

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
LISP = os.path.join(ROOT, "bench", "lisp")
DEFAULT_LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
LIBS = ["--load", "alexandria", "--load", "cl-ppcre"]
WAIT = "(progn (format t \"ready~%\") (finish-output) (read-line *standard-input* nil))"


def fail(message):
    sys.exit(f"bench: {message}")


def timed(argv, **kwargs):
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        fail(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    return wall, proc


def median_of(runs, argv):
    return statistics.median(timed(argv)[0] for _ in range(runs))


def prepare(lispvm, cache, out, *steps, over=None):
    base = ["--snapshot", over] if over else ["-m", "1G"]
    wall, proc = timed([lispvm, "-v", "prepare", "--cache", cache, *base, "-o", out, *steps])
    m = re.search(r"snapshot .*: (\d+) KiB of (\d+) MiB guest RAM stored in ([0-9.]+) s",
                  proc.stderr)
    if m is None:
        fail("prepare -v did not report the snapshot")
    return wall, int(m.group(1)) * 1024, float(m.group(3))


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        return int(re.search(r"^Pss:\s+(\d+) kB", f.read(), re.M).group(1))


def started(argv, count):
    procs = []
    for _ in range(count):
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        if p.stdout.readline().strip() != "ready":
            fail(f"{' '.join(argv)} did not get ready")
        procs.append(p)
    return procs


def pss_per_program(argv, count):
    procs = started(argv, count)
    try:
        return sum(pss_kib(p.pid) for p in procs) / count / 1024
    finally:
        for p in procs:
            p.communicate("\n", timeout=300)


def first_tick(argv, env=None):
    """Seconds from start to the program's first tick, and the process
    (still running)."""
    start = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    line = p.stdout.readline()
    while line and not line.startswith("tick"):  # ASDF compiling, the first time
        line = p.stdout.readline()
    if not line.startswith("tick"):
        p.kill()
        fail(f"{' '.join(argv)} printed {line!r}: {p.stderr.read()[-1500:]}")
    return time.perf_counter() - start, p


def stop(p):
    p.kill()
    p.communicate()


def to_first_tick(runs, argv, env=None):
    times = []
    for _ in range(runs):
        t, p = first_tick(argv, env)
        stop(p)
        times.append(t)
    return statistics.median(times)


def snapshot_of(lispvm, name, out, env, *options):
    wall, proc = timed([lispvm, "snapshot", name, "-o", out, *options], env=env)
    m = re.search(r": ([0-9.]+) MiB stored in ([0-9.]+) s", proc.stdout)
    if m is None:
        fail(f"lispvm snapshot said {proc.stdout!r}")
    return float(m.group(1)), float(m.group(2)), wall


def running_vm(lispvm, cache, tmp, runs):
    ticks = os.path.join(LISP, "ticks.lisp")
    env = dict(os.environ, XDG_RUNTIME_DIR=tmp)
    live, diff = os.path.join(tmp, "live.lvs"), os.path.join(tmp, "live-diff.lvs")
    collected = os.path.join(tmp, "live-gc.lvs")
    native = to_first_tick(runs, ["sbcl", "--script", ticks])
    boot = to_first_tick(runs, [lispvm, "run", "--cache", cache, "--attachable", ticks], env)
    _, original = first_tick([lispvm, "run", "--cache", cache, "--attachable", "--name",
                              "bench-live", ticks], env)
    try:
        whole = snapshot_of(lispvm, "bench-live", live, env)
        time.sleep(1)
        delta = snapshot_of(lispvm, "bench-live", diff, env, "--diff", live)
        gc = snapshot_of(lispvm, "bench-live", collected, env, "--gc")
    finally:
        stop(original)
    resume = to_first_tick(runs, [lispvm, "run", "--snapshot", live], env)
    print(f"a running VM (alexandria+cl-ppcre loaded, ticking), median of {runs}:")
    print(f"  snapshot: {whole[0]:.1f} MiB stored, VMM {whole[1]:.3f} s, command "
          f"{whole[2]:.3f} s; diff 1 s later: {delta[0]:.1f} MiB, VMM {delta[1]:.3f} s; "
          f"with --gc: {gc[0]:.1f} MiB ({gc[0] / whole[0]:.2f}x), command {gc[2]:.3f} s")
    print(f"  start to first tick: native {native:.3f} s, lispvm boot {boot:.3f} s "
          f"({boot / native:.2f}x), resumed {resume:.3f} s ({resume / native:.2f}x native, "
          f"{resume / boot:.2f}x boot)")


def prefetch_figures(lispvm, cache, tmp, runs, cases):
    """Each (label, snapshot, program): a run that records its working
    set, then plain restores and restores with --prefetch, alternated so
    that drift in the machine falls on both."""
    print(f"working set prefetch (REAP's idea), start to exit, median of {runs}:")
    for label, snapshot, program in cases:
        ws = os.path.join(tmp, os.path.basename(snapshot) + ".ws")
        restore = [lispvm, "run", "--cache", cache, "--snapshot", snapshot]
        timed(restore[:2] + ["--record-working-set", ws] + restore[2:] + [program])
        _, stats = timed(restore[:2] + ["--stats", "--prefetch", ws] + restore[2:] + [program])
        m = re.search(r"pages prefetched\s+(\d+)\s+\((\d+) read, (\d+) written, ([0-9.]+) ms\)",
                      stats.stderr)
        if m is None:
            fail(f"--stats did not report the prefetch: {stats.stderr[-1500:]}")
        plain, fetched = [], []
        for _ in range(runs):
            plain.append(timed(restore + [program])[0])
            fetched.append(timed(restore[:2] + ["--prefetch", ws] + restore[2:] + [program])[0])
        plain, fetched = statistics.median(plain), statistics.median(fetched)
        print(f"  {label}: --snapshot {plain:.3f} s, with --prefetch {fetched:.3f} s "
              f"({fetched / plain:.2f}x); the working set {m.group(1)} pages "
              f"({m.group(2)} read, {m.group(3)} written), mapped in {m.group(4)} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--lispvm", default=DEFAULT_LISPVM)
    parser.add_argument("--running-only", action="store_true",
                        help="only the running-VM figures (lispvm snapshot)")
    parser.add_argument("--prefetch-only", action="store_true",
                        help="only the working-set prefetch figures")
    args = parser.parse_args()
    machine.enter()
    lispvm = os.path.abspath(args.lispvm)
    hello = os.path.join(LISP, "hello.lisp")
    uselibs = os.path.join(LISP, "uselibs.lisp")
    with tempfile.TemporaryDirectory(prefix="lispvm-bench-") as tmp:
        cache = os.path.join(tmp, "cache")
        if args.running_only:
            timed(["sbcl", "--script", uselibs])  # ASDF's fasl cache, natively
            timed([lispvm, "run", "--cache", cache, uselibs])  # and lispvm's
            running_vm(lispvm, cache, tmp, args.runs)
            return
        bare, libs = os.path.join(tmp, "bare.lvs"), os.path.join(tmp, "libs.lvs")
        timed(["sbcl", "--script", uselibs])  # ASDF's fasl cache, natively
        timed([lispvm, "run", "--cache", cache, uselibs])  # and lispvm's
        bare_wall, bare_stored, bare_write = prepare(lispvm, cache, bare)
        libs_wall, libs_stored, libs_write = prepare(lispvm, cache, libs, *LIBS)
        prefetch_cases = (("hello", bare, hello),
                          ("alexandria+cl-ppcre, no load-system", libs,
                           os.path.join(LISP, "prepared.lisp")))
        if args.prefetch_only:
            prefetch_figures(lispvm, cache, tmp, args.runs, prefetch_cases)
            return
        diff = os.path.join(tmp, "diff.lvs")
        diff_wall, diff_stored, diff_write = prepare(
            lispvm, cache, diff, "--eval", "(defvar *more* (make-list 1000))", over=libs)
        _, heap = timed([lispvm, "eval", "--cache", cache, "--snapshot", libs,
                         "(progn (sb-ext:gc :full t) (sb-kernel:dynamic-usage))"])
        live = int(heap.stdout.split()[-1])

        print(f"start to exit, median of {args.runs}:")
        prepared = os.path.join(LISP, "prepared.lisp")
        for label, program, snapshot, snapshot_program in (
                ("hello", hello, bare, hello),
                ("alexandria+cl-ppcre", uselibs, libs, uselibs),
                ("alexandria+cl-ppcre, no load-system from the snapshot", uselibs, libs,
                 prepared)):
            native = median_of(args.runs, ["sbcl", "--script", program])
            boot = median_of(args.runs, [lispvm, "run", "--cache", cache, program])
            snap = median_of(args.runs, [lispvm, "run", "--cache", cache, "--snapshot",
                                         snapshot, snapshot_program])
            print(f"  {label}: native {native:.3f} s, lispvm boot {boot:.3f} s "
                  f"({boot / native:.2f}x), lispvm --snapshot {snap:.3f} s "
                  f"({snap / native:.2f}x native, {snap / boot:.2f}x boot)")

        print("snapshot files:")
        for name, wall, stored, write in (("bare", bare_wall, bare_stored, bare_write),
                                          ("libraries", libs_wall, libs_stored, libs_write),
                                          ("diff over libraries", diff_wall, diff_stored,
                                           diff_write)):
            print(f"  {name}: {stored / 2**20:.1f} MiB stored of 1024 MiB RAM; VMM wrote it "
                  f"in {write:.3f} s; whole prepare {wall:.1f} s")
        print(f"  libraries: SBCL's dynamic space in use after GC {live / 2**20:.1f} MiB "
              f"(the core's pages stay in the shared image); stored / in use "
              f"{libs_stored / live:.2f}")

        print(f"PSS per program, {args.count} at once:")
        restored = pss_per_program([lispvm, "eval", "--cache", cache, "--snapshot", libs, WAIT],
                                   args.count)
        native = pss_per_program(["sbcl", "--noinform", "--non-interactive", "--eval",
                                  "(require :asdf)", "--eval", "(asdf:load-system :alexandria)",
                                  "--eval", "(asdf:load-system :cl-ppcre)", "--eval", WAIT],
                                 args.count)
        print(f"  restored from the libraries snapshot: {restored:.1f} MiB (whole VMM); "
              f"native sbcl with the same libraries: {native:.1f} MiB; "
              f"ratio {restored / native:.2f}")
        prefetch_figures(lispvm, cache, tmp, args.runs, prefetch_cases)
        running_vm(lispvm, cache, tmp, args.runs)
        _, proc = timed([lispvm, "run", "--cache", cache, "--stats",
                         os.path.join(ROOT, "tests", "sbcl", "lisp", "dirty.lisp")])
        figures = dict(re.findall(r"^  (pages dirtied[^0-9]*?|harvest per 10,000 pages)\s{2,}"
                                  r"([0-9.]+)", proc.stderr, re.M))
        harvests = re.search(r"\((\d+) harvests, ([0-9.]+) ms each\)", proc.stderr)
        if len(figures) != 4 or harvests is None:
            fail(f"--stats gave no dirty-log figures: {proc.stderr[-1500:]}")
        print("KVM's dirty log (--stats, a program writing 4 x 32 MiB, default 2 GiB RAM):")
        print(f"  pages dirtied {figures['pages dirtied']}, per second "
              f"{figures['pages dirtied per s']} (peak {figures['pages dirtied per s, peak']}); "
              f"harvest {figures['harvest per 10,000 pages']} ms per 10,000 dirty pages "
              f"({harvests.group(1)} harvests of 2 GiB of RAM, {harvests.group(2)} ms each)")


if __name__ == "__main__":
    main()
