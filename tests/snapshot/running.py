# SPDX-License-Identifier: MIT
"""Snapshots of running VMs: `lispvm snapshot VM -o FILE [--stop]` and
`lispvm run --snapshot FILE` with no program (suite kvm).

The program (lisp/running.lisp) reads a host file line by line while a
thread counts; a snapshot taken while it runs must resume where it was:
the same line of the open file next, its thread alive, its wall clock
right, reachable by `lispvm attach` under its new name; the VM snapshotted
runs on (or stops, with --stop).  Misuse is one line and exit 125.
Usage: running.py CASE LISPVM CACHE_DIR WORK_DIR"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from lispvm_test import describe, expect, expect_exit, expect_in, main, run  # noqa: E402
from snapshot import LISP, Snapshots, expect_refused  # noqa: E402

PROGRAM = os.path.join(LISP, "running.lisp")
GARBAGE = os.path.join(LISP, "garbage.lisp")
LINES = 80
UNIX_EPOCH_IN_UNIVERSAL_TIME = 2208988800
LINE = re.compile(r"^(\d+) line(\d+) (\d+)$")


class Running:
    """A lispvm command whose stdout lines are collected as they come."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.lines, self.cond = [], threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of output
            self.cond.notify_all()

    def wait_lines(self, n, seconds=600):
        with self.cond:
            self.cond.wait_for(lambda: len(self.lines) >= n or None in self.lines, seconds)
            expect(len(self.lines) >= n and None not in self.lines[:n],
                   f"fewer than {n} lines: {self.lines}; stderr: {self.stderr()}")
            return list(self.lines[:n])

    def stderr(self):
        return self.proc.stderr.read() if self.proc.poll() is not None else "(running)"

    def finish(self, seconds=600):
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with self.cond:
            self.cond.wait_for(lambda: None in self.lines, 30)
            return self.proc.returncode, [line for line in self.lines if line is not None]


class Session:
    def __init__(self, lispvm, cache, work, runtime_dir):
        self.s = Snapshots(lispvm, cache, work)
        self.env = {**os.environ, "XDG_RUNTIME_DIR": runtime_dir}

    def start(self, *options):
        return Running(self.s.argv("run", *options), self.env)

    def lispvm(self, *argv, input=None):
        return run([self.s.exe, *argv], input=input, timeout=900, env=self.env)


def with_runtime_dir(case):
    """A short private runtime directory: the VMs' sockets live there."""
    def wrapped(lispvm, cache, work):
        runtime = tempfile.mkdtemp(prefix="lvs-")
        try:
            case(Session(lispvm, cache, work, runtime))
        finally:
            shutil.rmtree(runtime, ignore_errors=True)
    wrapped.__name__ = case.__name__
    return wrapped


def expect_counting(lines, first, what):
    """lines are the program's, numbered from first on, each naming the
    file's line of its number, then 'done'."""
    numbered = lines[:-1]
    for i, line in enumerate(numbered):
        m = LINE.match(line)
        expect(m and int(m.group(1)) == first + i and m.group(2) == m.group(1),
               f"{what}: line {i} is {line!r}, expected count {first + i}: {lines}")
    expect(lines[-1] == f"done {LINES}", f"{what}: no 'done {LINES}' at the end: {lines}")


def take(session, name, path, *options):
    proc = session.lispvm("snapshot", name, "-o", path, *options)
    expect_exit(proc, 0)
    expect_in("MiB stored", proc.stdout, proc)


@with_runtime_dir
def running_resume(session):
    """Snapshot a program while it runs; the original runs on to its end,
    and the snapshot, resumed twice at once, goes on at the line after the
    last one printed before it, with its thread running, its wall clock
    right, `lispvm attach` reaching each copy by its new name, and SBCL's
    random state different in each."""
    path = os.path.join(session.s.work, "running.lvs")
    original = session.start("--attachable", "--name", "orig", PROGRAM)
    before = len(original.wait_lines(3))
    take(session, "orig", path)
    status, lines = original.finish()
    expect(status == 0, f"the original ended with {status}: {original.stderr()}")
    expect_counting(lines, 1, "original")

    time.sleep(5)  # a resumed clock that did not advance would be 5 s late
    started = time.time()
    resumed = session.start("--snapshot", path, "--name", "again")
    twin = session.start("--snapshot", path, "--name", "twin")
    first = resumed.wait_lines(1)[0]
    # The twin too: attach finds a VM by its socket, made as it starts.
    twin.wait_lines(1)
    m = LINE.match(first)
    expect(m is not None, f"resumed: first line {first!r}")
    expect(int(m.group(1)) > before, f"resumed before the snapshot was taken: {first!r}")
    guest_now = int(m.group(3)) - UNIX_EPOCH_IN_UNIVERSAL_TIME
    expect(started - 2 <= guest_now <= time.time() + 2,
           f"resumed wall clock {guest_now} is not the host's ({started:.0f})")

    # The agent reseeds *random-state* when it hears of the resume.  Both
    # asked at once: the program has about 15 s left, and one attach
    # after the other took that long once under emulation.
    ask = ("(list :spins cl-user::*spins*)\n"
           "(progn (sleep 1) (list :spins-later cl-user::*spins* :random (random 1000000000)))\n")
    attached = {}
    askers = [threading.Thread(target=lambda n=name: attached.__setitem__(
        n, session.lispvm("attach", n, input=ask))) for name in ("again", "twin")]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    draws = []
    for name in ("again", "twin"):
        attach = attached[name]
        expect_exit(attach, 0)
        spins = [int(x) for x in re.findall(r":SPINS(?:-LATER)? (\d+)", attach.stdout)]
        expect(len(spins) == 2 and spins[1] > spins[0],
               f"{name}: the resumed program's thread does not run: {describe(attach)}")
        draws += re.findall(r":RANDOM (\d+)", attach.stdout)
    expect(len(draws) == 2 and draws[0] != draws[1],
           f"two VMs resumed from one snapshot drew the same random numbers: {draws}")

    for vm in (resumed, twin):
        status, lines = vm.finish()
        expect(status == 0, f"a resumed program ended with {status}: {vm.stderr()}")
        expect_counting(lines, int(m.group(1)), "resumed")
    os.unlink(path)


@with_runtime_dir
def running_stop(session):
    """snapshot --stop ends the VM after writing the file, which resumes
    to the program's end; a VM that is not there, a file that cannot be
    written (the VM runs on), a program or --mount with a running VM's
    snapshot, prepare over one, and a prepared snapshot with no program
    are each refused with one line."""
    path = os.path.join(session.s.work, "stopped.lvs")
    original = session.start("--attachable", "--name", "stopme", PROGRAM)
    original.wait_lines(3)

    line = expect_refused(session.lispvm("snapshot", "nosuch", "-o", path), "no such VM")
    expect("no VM called nosuch" in line, line)
    line = expect_refused(session.lispvm("snapshot", "stopme", "-o", "/nonexistent/x.lvs"),
                          "unwritable")
    expect("cannot write snapshot" in line, line)
    expect(original.proc.poll() is None, "a failed snapshot ended the VM")

    take(session, "stopme", path, "--stop")
    status, lines = original.finish()
    err = original.stderr()
    expect(status == 0, f"--stop: the original ended with {status}: {err}")
    expect(lines and lines[-1] != f"done {LINES}", f"--stop: the program ran on: {lines}")
    last = int(LINE.match(lines[-1]).group(1))
    expect("stopped after its snapshot" in err, f"--stop: stderr {err!r}")

    line = expect_refused(session.lispvm("run", "--snapshot", path, PROGRAM), "a program")
    expect("is of a running VM" in line, line)
    proc = session.lispvm("run", "--snapshot", path, "--mount", "/tmp:/x")
    expect(proc.returncode == 2 and "no --mount" in proc.stderr, describe(proc))
    line = expect_refused(session.lispvm("prepare", "--snapshot", path, "-o",
                                         path + ".diff", "--eval", "1"), "prepare")
    expect("prepare starts from prepared ones" in line, line)
    prepared = os.path.join(session.s.work, "prepared-for-running.lvs")
    expect_exit(session.s.prepare(prepared), 0)
    line = expect_refused(session.lispvm("run", "--snapshot", prepared), "no program")
    expect("give it a program" in line, line)

    # What the stopped VM had printed ends where the resumed one goes on:
    # a line still in the console's queue is written by the resumed VM.
    resumed = session.start("--snapshot", path)
    status, lines = resumed.finish()
    expect(status == 0, f"the resumed program ended with {status}: {resumed.stderr()}")
    expect_counting(lines, last + 1, "resumed")
    for p in (path, prepared):
        os.unlink(p)


def stored_mib(proc):
    m = re.search(r": ([0-9.]+) MiB stored", proc.stdout)
    expect(m is not None, f"no size in {describe(proc)}")
    return float(m.group(1))


@with_runtime_dir
def running_diff(session):
    """snapshot --diff BASE of a running VM stores what changed since BASE
    (the VM's last snapshot, or the one it was resumed from): a chain of
    a whole snapshot and two diffs, each taken while the program runs,
    resumes each at its own point; the diffs are smaller than the whole;
    a BASE that is not the VM's last snapshot is refused."""
    whole, d1, d2 = (os.path.join(session.s.work, n) for n in ("w.lvs", "d1.lvs", "d2.lvs"))
    original = session.start("--attachable", "--name", "chain", PROGRAM)
    original.wait_lines(3)
    sizes = {}
    proc = session.lispvm("snapshot", "chain", "-o", whole)
    expect_exit(proc, 0)
    sizes["whole"] = stored_mib(proc)
    taken = len(original.wait_lines(len(original.lines) + 3))
    line = expect_refused(session.lispvm("snapshot", "chain", "-o", d1, "--diff", d1), "no base")
    expect("No such file" in line, line)
    proc = session.lispvm("snapshot", "chain", "-o", d1, "--diff", whole)
    expect_exit(proc, 0)
    sizes["d1"] = stored_mib(proc)
    line = expect_refused(session.lispvm("snapshot", "chain", "-o", d2, "--diff", whole),
                          "an older base")
    expect("is not the one this VM was resumed from or took last" in line, line)
    status, lines = original.finish()
    expect(status == 0, f"the original ended with {status}: {original.stderr()}")

    resumed = session.start("--snapshot", d1, "--name", "chain2")
    first = int(LINE.match(resumed.wait_lines(1)[0]).group(1))
    expect(first > taken, f"d1 resumed at {first}, before it was taken (after {taken})")
    resumed.wait_lines(4)
    line = expect_refused(session.lispvm("snapshot", "chain2", "-o", d1, "--diff", d1),
                          "over its own base")
    expect("cannot replace the snapshot it is taken over" in line, line)
    proc = session.lispvm("snapshot", "chain2", "-o", d2, "--diff", d1, "--stop")
    expect_exit(proc, 0)
    sizes["d2"] = stored_mib(proc)
    status, lines = resumed.finish()
    expect(status == 0, f"d1's VM ended with {status}")
    last = int(LINE.match(lines[-1]).group(1))

    again = session.start("--snapshot", d2)
    status, lines = again.finish()
    expect(status == 0, f"d2's VM ended with {status}: {again.stderr()}")
    expect_counting(lines, last + 1, "d2 resumed")
    print(f"stored MiB: {sizes}", file=sys.stderr)
    # A diff holds the pages the guest wrote since its base and every page
    # the VMM wrote since the VM started (docs/snapshots.md): smaller than
    # the whole, by how much depends on the run.
    for name in ("d1", "d2"):
        expect(sizes[name] < sizes["whole"], f"{name} is not a diff: {sizes}")
    for p in (whole, d1, d2):
        os.unlink(p)


@with_runtime_dir
def running_gc(session):
    """snapshot --gc has the attach agent collect first: a program that
    dropped 48 MiB of written garbage is saved with it without --gc and
    without it with --gc, and the collected snapshot resumes: the
    program's live data are there, its agent answers."""
    plain, collected = (os.path.join(session.s.work, n) for n in ("plain.lvs", "gc.lvs"))
    original = session.start("--attachable", "--name", "garbage", GARBAGE)
    expect(original.wait_lines(2)[-1] == "ready", f"not ready: {original.lines}")
    proc = session.lispvm("snapshot", "garbage", "-o", plain)
    expect_exit(proc, 0)
    sizes = {"plain": stored_mib(proc)}
    proc = session.lispvm("snapshot", "garbage", "-o", collected, "--gc", "--stop")
    expect_exit(proc, 0)
    sizes["gc"] = stored_mib(proc)
    print(f"stored MiB: {sizes}", file=sys.stderr)
    expect(sizes["plain"] - sizes["gc"] >= 40,
           f"--gc did not leave the 48 MiB of garbage out: {sizes}")
    status, _ = original.finish()
    expect(status == 0, f"--stop: the original ended with {status}: {original.stderr()}")
    proc = session.lispvm("run", "--gc", GARBAGE)
    expect(proc.returncode == 2 and "--gc go with snapshot" in proc.stderr, describe(proc))

    resumed = session.start("--snapshot", collected, "--name", "collected")
    deadline = time.monotonic() + 300
    while True:  # the resumed VM prints nothing before *go*: its socket says it is up
        attach = session.lispvm("attach", "collected", input="(setf cl-user::*go* t)\n")
        if ("no VM called" not in attach.stderr or time.monotonic() > deadline
                or resumed.proc.poll() is not None):
            break
        time.sleep(0.5)
    expect_exit(attach, 0)
    status, lines = resumed.finish()
    expect(status == 0 and lines == ["kept 1000"],
           f"the collected snapshot resumed to {status}, {lines}: {resumed.stderr()}")
    for p in (plain, collected):
        os.unlink(p)


if __name__ == "__main__":
    main({f.__name__: f for f in (running_resume, running_stop, running_diff, running_gc)})
