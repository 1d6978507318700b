# SPDX-License-Identifier: MIT
"""Snapshots: `lispvm prepare` and `run/eval --snapshot` (suite kvm).

One snapshot with alexandria and cl-ppcre loaded is prepared per build
directory and mode (the first case to need it makes it); programs run from
it are compared with native `sbcl --script`, VMs restored from it at once
are checked for what they share and what each must have of its own, and
damaged snapshots must be refused with one line.
Usage: snapshot.py CASE LISPVM CACHE_DIR WORK_DIR"""

import glob
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "sbcl"))
from lispvm_test import (TestFailure, describe, expect, expect_exit, expect_in, main,  # noqa
                         require_kvm, run, where_vms_run)
from memory import Waiting, smaps_of  # noqa

HERE = os.path.dirname(os.path.abspath(__file__))
LISP = os.path.join(HERE, "lisp")
HOST_ERROR = 125
MEMORY = "1G"
PREPARE_STEPS = ["--load", "alexandria", "--load", "cl-ppcre", "--eval", "(defvar *prepared* 42)",
                 "--eval", "(defvar *ballast* (make-array (* 8 1024 1024) "
                 ":element-type '(unsigned-byte 8) :initial-element #xa5))"]
# snapshot_file.h: the header's fixed part, then 12 sections of 32 bytes.
HEADER = struct.Struct("<8sIIQQII")
SECTION = struct.Struct("<IIQQQ")
MEMORY_SECTION, EXTENTS_SECTION = 5, 6


class Snapshots:
    def __init__(self, lispvm, cache, work):
        self.exe, self.cache = os.path.abspath(lispvm), os.path.abspath(cache)
        self.work = os.path.abspath(work)
        os.makedirs(self.work, exist_ok=True)
        # Named by the guest runtime it was taken with: a rebuilt runtime
        # cannot restore an older snapshot, and must not find it.
        with open(default_kernel(lispvm), "rb") as f:
            key = hashlib.sha256(f.read() + repr(PREPARE_STEPS).encode()).hexdigest()[:16]
        self.path = os.path.join(self.work, f"libraries-{key}.lvs")

    def argv(self, command, *args, options=()):
        require_kvm()
        return [self.exe, "--timeout", "600", command, "--cache", self.cache, *options, *args]

    def lispvm(self, command, *args, options=(), input=None, env=None, cwd=None):
        return run(self.argv(command, *args, options=options), input=input, timeout=900,
                   env=env, cwd=cwd)

    def prepare(self, out, *steps, options=(), cwd=None):
        return self.lispvm("prepare", "-m", MEMORY, "-o", out, *steps, options=options, cwd=cwd)

    def ensure(self):
        """The shared snapshot, made once (atomically: prepare renames it
        into place)."""
        if not os.path.exists(self.path):
            proc = self.prepare(self.path, *PREPARE_STEPS)
            expect_exit(proc, 0)
            expect(os.path.exists(self.path), f"prepare wrote no snapshot; {describe(proc)}")
        return self.path


def native_script(program, *args, input=None, env=None, cwd=None):
    argv = ["sbcl", "--script", program, *args]
    if os.environ.get("LISPVM_MACHINE") == "always":
        return run(where_vms_run(argv), input=input, timeout=600, env=env, cwd=cwd)
    return run(argv, input=input, timeout=600, env=env, cwd=cwd)


def libraries(lispvm, cache, work):
    """A program using alexandria and cl-ppcre, run from the snapshot:
    stdout and exit status as native `sbcl --script`, with this command's
    argv, stdin, environment and working directory."""
    s = Snapshots(lispvm, cache, work)
    snapshot = s.ensure()
    program = os.path.join(LISP, "libraries.lisp")
    env = dict(os.environ, SNAPSHOT_TEST="from-the-host")
    args = ["one", "two words", "--three"]
    got = s.lispvm("run", program, *args, options=["--snapshot", snapshot,
                                                   "--env", "SNAPSHOT_TEST=from-the-host"],
                   input="a line of stdin\n", cwd=HERE)
    want = native_script(program, *args, input="a line of stdin\n", env=env, cwd=HERE)
    expect_exit(want, 3)
    expect_exit(got, 3)
    expect(got.stdout == want.stdout,
           f"stdout differs\n--- lispvm ---\n{got.stdout}--- native ---\n{want.stdout}")
    expect_in("flatten (1 2 3 4 5)", got.stdout, got)
    expect_in(f"cwd {HERE}/", got.stdout, got)
    expect(got.stderr == "", f"unexpected stderr; {describe(got)}")


def eval_forms(lispvm, cache, work):
    """lispvm eval from the snapshot: the libraries are there and the
    prepared definitions too."""
    s = Snapshots(lispvm, cache, work)
    proc = s.lispvm("eval", "*prepared* (alexandria:iota 3) (cl-ppcre:scan-to-strings \"b+\" \"abbbc\")",
                    options=["--snapshot", s.ensure()])
    expect_exit(proc, 0)
    expect(proc.stdout == '42\n(0 1 2)\n"bbb"\n#()\n', f"wrong values; {describe(proc)}")


def fresh_memory(lispvm, cache, work):
    """Memory that a restored program frees and allocates again reads
    zero: pages the guest hands back must not fall back to the
    snapshot's contents."""
    s = Snapshots(lispvm, cache, work)
    proc = s.lispvm("run", os.path.join(LISP, "fresh_memory.lisp"),
                    options=["--snapshot", s.ensure()])
    expect_exit(proc, 0)
    expect(proc.stdout == "nonzero 0\n", f"fresh memory is not zero; {describe(proc)}")


def field(lines, name):
    for line in lines:
        if line.startswith(name + " "):
            return line[len(name) + 1:]
    raise TestFailure(f"no {name} line in {lines}")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def vm_smaps(vm, name_pattern):
    """smaps_of a Waiting VM; if its VMM is gone, what became of the VM."""
    try:
        return smaps_of(vm.proc.pid, name_pattern)
    except TestFailure as failure:
        raise TestFailure(f"{failure}; {vm.ended() or 'its lispvm still runs'}") from None


# VMs restored at once: ten on KVM; four in the helper machine, whose
# nested SVM under TCG loses a VM now and then, the more the more VMs run
# (docs/testing.md), and where one lost costs the run's 600 s timeout.
TOGETHER = 4 if os.environ.get("LISPVM_MACHINE") == "always" else 10


def restored_together(lispvm, cache, work):
    """TOGETHER VMs restored from one snapshot at once: each maps the
    file's pages shared (smaps), one VM's write is its own, and the file
    does not change; each has its own randomness (a new thread's stack
    canary too), and a wall clock that is now."""
    s = Snapshots(lispvm, cache, work)
    snapshot = s.ensure()
    before = sha256(snapshot)
    program = os.path.join(LISP, "restored.lisp")
    vms = []
    try:
        vms.append(Waiting(s.argv("run", program,
                                  options=["--snapshot", snapshot, "--env", "WRITE=1"]),
                           "ready"))
        for _ in range(TOGETHER - 1):
            vms.append(Waiting(s.argv("run", program, options=["--snapshot", snapshot]), "ready"))
        maps = [vm_smaps(vm, re.escape(os.path.basename(snapshot)) + "$") for vm in vms]
        now = time.time()
        for vm in vms:
            rc, err = vm.finish()
            expect(rc == 0 and vm.lines[-1] == "done", f"exit {rc}: {vm.lines} {err}")
    finally:
        for vm in vms:
            if vm.proc.poll() is None:
                vm.proc.kill()
                vm.proc.wait()
    expect(field(vms[0].lines, "prepared") == "7", f"the write did not take: {vms[0].lines}")
    for vm in vms[1:]:
        expect(field(vm.lines, "prepared") == "42",
               f"a VM sees another VM's write: {vm.lines}")
    for name in ("random", "urandom", "thread-guard"):
        values = [field(vm.lines, name) for vm in vms]
        expect(len(set(values)) == len(values), f"restored VMs share {name} values: {values}")
    for vm in vms:
        expect(field(vm.lines, "thread-guard") != field(vm.lines, "main-guard"),
               f"a new thread has its creator's stack canary: {vm.lines}")
    for vm in vms:
        t = int(field(vm.lines, "time"))
        expect(abs(t - now) < 600, f"the restored wall clock is {t}, the host's {now:.0f}")
    for m in maps:
        shared = m.get("Shared_Clean", 0) + m.get("Shared_Dirty", 0)
        expect(m.get("Rss", 0) > 0, f"no page of the snapshot is mapped: {m}")
        expect(shared > 0, f"the snapshot's pages are not shared between VMs: {m}")
        expect(m["perms"] <= {"rw-p", "r--s"}, f"the snapshot is not mapped private: {m}")
    expect(sha256(snapshot) == before, "restored VMs changed the snapshot file")


def stored_bytes(path):
    """The guest RAM a snapshot file stores: the sum of its extents."""
    _, sections = read_header(path)
    extents = [s for s in sections if s[0] == EXTENTS_SECTION][0]
    with open(path, "rb") as f:
        f.seek(extents[2])
        raw = f.read(extents[3])
    return sum(struct.unpack_from("<QQ", raw, i)[1] for i in range(0, len(raw), 16))


def diff_chain(lispvm, cache, work):
    """prepare --snapshot BASE writes a diff: only what changed since BASE
    was restored, a small part of it.  A chain of two diffs restores to the
    state of the last (a counter kept in the heap), each level to its own;
    a diff whose base was replaced is refused, as is writing a diff over a
    file of its own chain."""
    s = Snapshots(lispvm, cache, work)
    base = s.ensure()
    d1, d2 = os.path.join(s.work, "diff1.lvs"), os.path.join(s.work, "diff2.lvs")
    for out, over, form in ((d1, base, "(defvar *counter* 1)"), (d2, d1, "(incf *counter*)")):
        proc = s.lispvm("prepare", "-o", out, "--eval", form, options=["--snapshot", over])
        expect_exit(proc, 0)
    for snapshot, counter in ((d1, 1), (d2, 2), (d1, 1)):
        proc = s.lispvm("eval", "*counter* *prepared* (alexandria:iota 2)",
                        options=["--snapshot", snapshot])
        expect_exit(proc, 0)
        expect(proc.stdout == f"{counter}\n42\n(0 1)\n",
               f"{os.path.basename(snapshot)}: wrong state; {describe(proc)}")
    sizes = {name: stored_bytes(path) for name, path in (("base", base), ("d1", d1), ("d2", d2))}
    print(f"stored bytes: {sizes}", file=sys.stderr)
    for name in ("d1", "d2"):
        expect(sizes[name] * 4 < sizes["base"], f"{name} is not a small diff: {sizes}")

    copy, d3 = os.path.join(s.work, "copy.lvs"), os.path.join(s.work, "diff3.lvs")
    shutil.copyfile(base, copy)
    proc = s.lispvm("prepare", "-o", d3, "--eval", "(defvar *counter* 3)",
                    options=["--snapshot", copy])
    expect_exit(proc, 0)
    line = expect_refused(s.lispvm("prepare", "-o", copy, "--eval", "1",
                                   options=["--snapshot", d3]), "diff over its base")
    expect("cannot replace the snapshot it is taken over" in line, line)
    shutil.copyfile(d1, copy)
    line = expect_refused(s.lispvm("eval", "1", options=["--snapshot", d3]), "replaced base")
    expect("has changed since the diff was taken" in line, line)
    line = expect_refused(s.lispvm("prepare", "-o", d1, "--eval", "1",
                                   options=["--snapshot", d1]), "diff over itself")
    expect("cannot replace the snapshot it is taken over" in line, line)
    for path in (copy, d1, d2, d3):
        os.unlink(path)


def read_header(path):
    with open(path, "rb") as f:
        raw = f.read(HEADER.size + 12 * SECTION.size)
    fields = HEADER.unpack_from(raw)
    sections = [SECTION.unpack_from(raw, HEADER.size + i * SECTION.size)
                for i in range(fields[5])]
    return fields, sections


def expect_refused(proc, what):
    expect(proc.returncode == HOST_ERROR, f"{what}: expected exit {HOST_ERROR}; {describe(proc)}")
    lines = proc.stderr.strip().splitlines()
    expect(len(lines) == 1, f"{what}: expected one line on stderr; {describe(proc)}")
    expect(proc.stdout == "", f"{what}: the program ran; {describe(proc)}")
    return lines[0]


def bad_snapshots(lispvm, cache, work):
    """A missing, foreign, truncated or corrupted snapshot, one taken with
    more memory than --memory allows or with another guest runtime: one
    line, exit 125, nothing run."""
    s = Snapshots(lispvm, cache, work)
    snapshot = s.ensure()
    hello = os.path.join(LISP, "..", "..", "..", "examples", "hello.lisp")
    bad = os.path.join(s.work, "bad.lvs")

    def restore(path, options=()):
        return s.lispvm("run", hello, options=["--snapshot", path, *options])

    line = expect_refused(restore(os.path.join(s.work, "missing.lvs")), "missing")
    expect("No such file" in line, f"missing: {line}")
    with open(bad, "wb") as f:
        f.write(os.urandom(8192))
    expect("not a lispvm snapshot" in expect_refused(restore(bad), "foreign"), "foreign")

    shutil.copyfile(snapshot, bad)
    os.truncate(bad, 1 << 20)
    expect("truncated" in expect_refused(restore(bad), "truncated"), "truncated")

    shutil.copyfile(snapshot, bad)
    with open(bad, "r+b") as f:
        f.seek(20)
        byte = f.read(1)
        f.seek(20)
        f.write(bytes([byte[0] ^ 0x40]))
    expect("corrupt header" in expect_refused(restore(bad), "header"), "header")

    shutil.copyfile(snapshot, bad)
    _, sections = read_header(bad)
    memory = next(sec for sec in sections if sec[0] == MEMORY_SECTION)
    extents = next(sec for sec in sections if sec[0] == EXTENTS_SECTION)
    with open(bad, "r+b") as f:
        f.seek(extents[2])
        first_stored_page, _ = struct.unpack("<QQ", f.read(16))
        data = memory[2] + first_stored_page
        f.seek(data + 100)
        byte = f.read(1)
        f.seek(data + 100)
        f.write(bytes([byte[0] ^ 0x01]))
    line = expect_refused(restore(bad), "memory")
    expect("memory is corrupt" in line, f"memory: {line}")

    line = expect_refused(restore(snapshot, ["--memory", "512M"]), "memory size")
    expect("more than --memory" in line, f"memory size: {line}")

    kernel = os.path.join(s.work, "other-runtime.elf")
    shutil.copyfile(default_kernel(lispvm), kernel)
    with open(kernel, "ab") as f:
        f.write(b"another build")
    line = expect_refused(restore(snapshot, ["--kernel", kernel]), "runtime")
    expect("another guest runtime build" in line, f"runtime: {line}")
    os.unlink(bad)


def working_set(lispvm, cache, work):
    """--record-working-set writes the pages a run from the snapshot
    touched, and --prefetch maps them in before the next run, which runs
    as without (stdout, exit status, argv, stdin); the prefetch shows in
    --stats.  The file belongs to its snapshot: given with another one (a
    diff over it), given as a snapshot, a snapshot given as one, recorded
    over the snapshot, or truncated, it is refused with one line; the options go only with
    --snapshot, and not together."""
    s = Snapshots(lispvm, cache, work)
    snapshot = s.ensure()
    program = os.path.join(LISP, "libraries.lisp")
    args = ["one", "two words"]
    ws = os.path.join(s.work, "libraries.ws")
    if os.path.exists(ws):
        os.unlink(ws)

    def restore(*options):
        return s.lispvm("run", program, *args, options=["--snapshot", snapshot, *options],
                        input="a line of stdin\n", cwd=HERE)

    want = native_script(program, *args, input="a line of stdin\n", cwd=HERE)
    expect_exit(want, 3)
    for what, proc in (("recording", restore("--record-working-set", ws)),
                       ("prefetched", restore("--prefetch", ws, "--stats"))):
        expect_exit(proc, 3)
        expect(proc.stdout == want.stdout,
               f"{what}: stdout differs\n--- lispvm ---\n{proc.stdout}--- native ---\n"
               f"{want.stdout}")
        expect(os.path.exists(ws), f"{what}: no working set written")
    m = re.search(r"pages prefetched\s+(\d+)\s+\((\d+) read, (\d+) written", proc.stderr)
    expect(m is not None, f"--stats does not report the prefetch; {describe(proc)}")
    print(f"prefetched: {m.group(0)}", file=sys.stderr)
    expect(int(m.group(1)) >= 1000 and int(m.group(2)) > 0,
           f"a working set this small cannot be the run's: {m.group(0)}")
    proc = s.lispvm("eval", "*prepared*", options=["--snapshot", snapshot, "--prefetch", ws])
    expect_exit(proc, 0)
    expect(proc.stdout == "42\n", f"eval --prefetch: wrong value; {describe(proc)}")

    diff = os.path.join(s.work, "ws-diff.lvs")
    expect_exit(s.lispvm("prepare", "-o", diff, "--eval", "(defvar *more* 1)",
                         options=["--snapshot", snapshot]), 0)
    line = expect_refused(s.lispvm("eval", "*more*", options=["--snapshot", diff,
                                                              "--prefetch", ws]),
                          "another snapshot's")
    expect("recorded from another snapshot" in line, f"another snapshot's: {line}")
    line = expect_refused(s.lispvm("eval", "1", options=["--snapshot", ws]), "as a snapshot")
    expect("a working set (for --prefetch), not a snapshot" in line, f"as a snapshot: {line}")
    line = expect_refused(s.lispvm("eval", "1", options=["--snapshot", snapshot,
                                                         "--prefetch", snapshot]),
                          "a snapshot as one")
    expect("a snapshot, not a working set" in line, f"a snapshot as one: {line}")
    before = os.stat(snapshot)
    line = expect_refused(s.lispvm("eval", "1", options=["--snapshot", snapshot,
                                                         "--record-working-set", snapshot]),
                          "recorded over the snapshot")
    expect("would replace the snapshot it is recorded from" in line,
           f"recorded over the snapshot: {line}")
    after = os.stat(snapshot)
    expect((before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns),
           "the snapshot was replaced by a working set")
    bad = os.path.join(s.work, "bad.ws")
    shutil.copyfile(ws, bad)
    os.truncate(bad, os.path.getsize(ws) - 100)
    line = expect_refused(s.lispvm("eval", "1", options=["--snapshot", snapshot,
                                                         "--prefetch", bad]), "truncated")
    expect("truncated" in line, f"truncated: {line}")
    for options in (["--prefetch", ws], ["--record-working-set", bad],
                    ["--snapshot", snapshot, "--prefetch", ws, "--record-working-set", bad]):
        proc = s.lispvm("eval", "1", options=options)
        expect_exit(proc, 2)
        expect_in("--record-working-set", proc.stderr, proc)
    for path in (diff, bad, ws):
        os.unlink(path)


def default_kernel(lispvm):
    """The guest runtime lispvm boots by default (in the build tree)."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(lispvm))))
    path = os.path.join(build, "guest-runtime", "lispvm-guest.elf")
    expect(os.path.exists(path), f"no guest runtime at {path}")
    return path


def open_files_refused(lispvm, cache, work):
    """A snapshot cannot hold the host's open files: prepare fails with
    the reason, and writes no file."""
    s = Snapshots(lispvm, cache, work)
    out = os.path.join(s.work, "open-files.lvs")
    with open(os.path.join(s.work, "held.txt"), "w") as f:
        f.write("a host file the program keeps open\n")
    # The working directory is mounted in the guest, and is the guest's.
    proc = s.prepare(out, "--eval", '(defvar *held* (open "held.txt"))', cwd=s.work)
    expect(proc.returncode not in (0, HOST_ERROR), f"prepare succeeded; {describe(proc)}")
    expect_in("busy", proc.stderr.lower(), proc)
    expect(not os.path.exists(out), "a snapshot was written")


def image_changed(lispvm, cache, work):
    """A snapshot whose image has changed since is refused (a private
    cache, so the shared image stays whole).  The prepare says nothing."""
    private = os.path.join(work, "private-cache")
    # The shared image, copied in (mtime kept): building another takes
    # minutes of TCG in the helper machine, and the building is
    # tests/sbcl's subject, not this test's.
    os.makedirs(os.path.join(private, "images"), exist_ok=True)
    for image in glob.glob(os.path.join(cache, "images", "sbcl-*.erofs")):
        shutil.copy2(image, os.path.join(private, "images"))
    s = Snapshots(lispvm, private, work)
    out = os.path.join(s.work, "image.lvs")
    proc = s.prepare(out, options=["--no-cache"])
    expect_exit(proc, 0)
    expect(proc.stderr == "", f"prepare is not quiet; {describe(proc)}")
    images = glob.glob(os.path.join(s.cache, "images", "*.erofs"))  # not its .build.lock
    expect(len(images) == 1, f"the private cache holds {images}")
    with open(images[0], "ab") as f:
        f.write(b"\0" * 4096)
    proc = s.lispvm("eval", "1", options=["--snapshot", out])
    line = expect_refused(proc, "image")
    expect("has changed" in line, f"image: {line}")
    shutil.rmtree(s.cache)
    os.unlink(out)


if __name__ == "__main__":
    main({f.__name__: f for f in (libraries, eval_forms, fresh_memory, restored_together,
                                  diff_chain, bad_snapshots, open_files_refused,
                                  image_changed, working_set)})
