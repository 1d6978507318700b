# SPDX-License-Identifier: MIT
"""The shared read-only core and memory that follows the heap (suite kvm).

Host-side facts come from /proc/PID/smaps of the lispvm (VMM) processes
and from `lispvm --stats`; nothing here is timed.
Usage: memory.py CASE LISPVM CACHE_DIR"""

import hashlib
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import (TestFailure, describe, expect, expect_exit, expect_in, main,  # noqa
                         require_kvm, run, vmm_proc_file)

HERE = os.path.dirname(os.path.abspath(__file__))
LISP = os.path.join(HERE, "lisp")
EXAMPLES = os.path.join(HERE, "..", "..", "examples")
MIB = 1024 * 1024
OOM_KILLED = 128 + 9


def lispvm_argv(lispvm, cache, command, *args, options=()):
    require_kvm()
    return [os.path.abspath(lispvm), "--timeout", "600", command, "--cache",
            os.path.abspath(cache), *options, *args]


def lispvm(lispvm_exe, cache, command, *args, options=(), input=None):
    return run(lispvm_argv(lispvm_exe, cache, command, *args, options=options), input=input,
               timeout=900)


def stats(proc):
    """The `--stats` report as {label: number} (MiB or counts)."""
    report = proc.stderr[proc.stderr.find("lispvm stats:"):]
    expect(report, f"no --stats report; {describe(proc)}")
    figures = {}
    for line in report.splitlines()[1:]:
        m = re.match(r"\s+(.+?)\s{2,}([0-9.]+)( MiB)?", line)
        if m:
            figures[m.group(1)] = float(m.group(2))
    return figures


def smaps_of(pid, name_pattern):
    """Summed smaps fields (KiB) of the mappings whose path matches, in the
    VMM that lispvm process pid runs."""
    total, current = {}, False
    for line in vmm_proc_file(pid, "smaps").splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            current = re.search(name_pattern, line) is not None
            if current:
                total.setdefault("perms", set()).add(line.split()[1])
        elif current and line.endswith(" kB"):
            key, value = line.split(":")
            total[key] = total.get(key, 0) + int(value.split()[0])
    return total


class Waiting:
    """A VM running wait.lisp (or another program that prints a line and
    then reads stdin), stopped when the block ends."""

    def __init__(self, argv, until):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                out, err = self.proc.communicate(timeout=60)
                raise TestFailure(f"VM ended early: {self.lines} {out} {err}")
            self.lines.append(line.rstrip("\n"))
            if line.startswith(until):
                break

    def ended(self):
        """What became of the VM if it has ended (else None): its exit
        status and the output it left."""
        if self.proc.poll() is None:
            return None
        out, err = self.proc.communicate(timeout=60)
        return f"it ended with status {self.proc.returncode}: {self.lines + out.splitlines()} {err}"

    def finish(self):
        out, err = self.proc.communicate("\n", timeout=300)
        self.lines += out.splitlines()
        return self.proc.returncode, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def sbcl_image(cache):
    images = glob.glob(os.path.join(cache, "images", "sbcl-*.erofs"))
    expect(len(images) == 1, f"expected one SBCL image in the cache: {images}")
    return images[0]


def core_shared(lispvm_exe, cache):
    """Two VMs running at once map SBCL's image from the same page-cache
    pages: in each VMM's smaps the image's resident pages are shared, and
    each pays about half of them (PSS)."""
    argv = lispvm_argv(lispvm_exe, cache, "run", os.path.join(LISP, "wait.lisp"))
    with Waiting(argv, "ready") as a, Waiting(argv, "ready") as b:
        maps = [smaps_of(vm.proc.pid, r"/sbcl-[0-9a-f]+\.erofs$") for vm in (a, b)]
        for vm in (a, b):
            rc, err = vm.finish()
            expect(rc == 0 and vm.lines == ["ready", "done"], f"exit {rc}: {vm.lines} {err}")
    for m in maps:
        shared = m.get("Shared_Clean", 0) + m.get("Shared_Dirty", 0)
        expect(m.get("Rss", 0) >= 8 * 1024, f"the core's pages are not resident: {m}")
        expect(shared >= 8 * 1024, f"the image's pages are not shared between VMs: {m}")
        # Read-only and shared, so no VM can write it and no VM holds a
        # copy-on-write page of it.  (Dirty counts say nothing here: they
        # follow the file's writeback, and a tmpfs file, as in the test
        # machine, is always dirty.)
        expect(m["perms"] == {"r--s"}, f"the image is not mapped read-only and shared: {m}")
        expect(m.get("Anonymous", 0) == 0, f"a VM holds copies of image pages: {m}")
        expect(m["Pss"] <= m["Rss"] - shared // 3,
               f"PSS does not show the sharing: {m}")


def core_copy_on_write(lispvm_exe, cache):
    """A program that writes to a private mapping of the core sees its own
    byte; another VM at the same time sees the original, and the image
    on the host is unchanged."""
    image = sbcl_image(cache)
    before = sha256(image)
    argv = lispvm_argv(lispvm_exe, cache, "run", os.path.join(LISP, "core-cow.lisp"), "write")
    with Waiting(argv, "wrote") as writer:
        original = int(writer.lines[-2].split()[1])
        mine = int(writer.lines[-1].split()[1])
        expect(mine == original ^ 0xff, f"the write did not take: {writer.lines}")
        reader = lispvm(lispvm_exe, cache, "run", os.path.join(LISP, "core-cow.lisp"), "read")
        expect_exit(reader, 0)
        expect(reader.stdout == f"seen {original}\n",
               f"another VM sees the first VM's write: {describe(reader)}")
        rc, err = writer.finish()
    expect(rc == 0 and writer.lines[-1] == f"still {mine}", f"exit {rc}: {writer.lines} {err}")
    expect(sha256(image) == before, "the image file changed")


def stats_report(lispvm_exe, cache):
    """--stats names what a run cost; hello maps the core's pages from the
    image instead of copying them."""
    proc = lispvm(lispvm_exe, cache, "run", os.path.join(EXAMPLES, "hello.lisp"),
                  options=["--stats"])
    expect_exit(proc, 0)
    s = stats(proc)
    for label in ("guest RAM size", "guest RAM touched", "guest RAM in use",
                  "guest RAM returned", "page faults", "image pages mapped shared",
                  "copy-on-write copies", "host RSS of guest RAM", "host RSS of the VMM"):
        expect(label in s, f"--stats lacks {label!r}; {describe(proc)}")
    expect(s["guest RAM size"] == 2048, f"size: {s}")
    # SBCL's core is ~38 MiB of mapped spaces: copying it would touch that much.
    expect(s["image pages mapped shared"] * 4096 >= 20 * MIB, f"core not mapped: {s}")
    expect(s["guest RAM touched"] < 16, f"hello touched too much guest RAM: {s}")
    expect(s["host RSS of guest RAM"] < 24, f"hello's guest RAM on the host: {s}")


def dirty_pages(lispvm_exe, cache):
    """--stats reports the pages the guest dirtied, from KVM's dirty log:
    a program that writes 32 MiB four times, rounds apart, dirties at
    least those 4 x 8192 pages, and no more than the log's windows allow."""
    proc = lispvm(lispvm_exe, cache, "run", os.path.join(LISP, "dirty.lisp"),
                  options=["--stats"])
    expect_exit(proc, 0)
    expect(proc.stdout == "last 4\n", describe(proc))
    s = stats(proc)
    for label in ("pages dirtied", "pages dirtied per s", "pages dirtied per s, peak",
                  "harvest per 10,000 pages"):
        expect(label in s, f"--stats lacks {label!r}; {describe(proc)}")
    written = 4 * 32 * MIB // 4096
    expect(written <= s["pages dirtied"] < written * 4, f"dirtied: {s}")
    expect(s["pages dirtied per s, peak"] >= s["pages dirtied per s"] > 0, f"rates: {s}")
    expect(s["harvest per 10,000 pages"] > 0, f"harvest time: {s}")


def dirty_per_gc(lispvm_exe, cache):
    """--stats counts the pages dirtied per GC cycle: SBCL's after-GC hook
    (which --stats adds, and only then) marks each collection's end, and a
    program that writes a 4 MiB array before each of four collections
    dirties at least those 1024 pages in each cycle."""
    program = os.path.join(LISP, "collections.lisp")
    plain = lispvm(lispvm_exe, cache, "run", program)
    expect(plain.returncode == 0 and plain.stdout == "hooks 0\n", describe(plain))
    proc = lispvm(lispvm_exe, cache, "run", program, options=["--stats"])
    expect(proc.returncode == 0 and proc.stdout == "hooks 1\n", describe(proc))
    s = stats(proc)
    expect(s.get("GC cycles", 0) >= 4, f"four collections, not seen: {s}")
    cycles = re.search(r"dirtied per GC cycle\s+\d+\s+\(([\d ]+)", proc.stderr)
    expect(cycles is not None, f"no per-cycle list; {describe(proc)}")
    for pages in [int(p) for p in cycles.group(1).split()][-4:]:
        expect(pages >= 1024, f"a cycle that wrote 1024 pages counts {pages}: {describe(proc)}")
    expect(s["dirtied per GC cycle, max"] >= s["dirtied per GC cycle"] >= 1024, f"{s}")
    repl = lispvm(lispvm_exe, cache, "repl", options=["--stats"],
                  input="(sb-ext:gc)\n(length sb-ext:*after-gc-hooks*)\n")
    expect(repl.returncode == 0 and re.search(r"^\* 1$", repl.stdout, re.M), describe(repl))
    expect(stats(repl).get("GC cycles", 0) >= 1, f"repl: no GC cycle; {describe(repl)}")


def custom_core(lispvm_exe, cache):
    """A core saved with save-lisp-and-die runs as natively and is mapped
    from its own image, not copied into guest RAM."""
    with tempfile.TemporaryDirectory() as tmp:
        core = os.path.join(tmp, "greeter.core")
        made = run(["sbcl", "--noinform", "--non-interactive", "--no-sysinit", "--no-userinit",
                    "--eval", '(defun greet () (format t "hello from ~a~%" "greeter"))',
                    "--eval", f'(sb-ext:save-lisp-and-die "{core}")'], timeout=300)
        expect_exit(made, 0)
        program = os.path.join(LISP, "greet.lisp")
        native = run(["sbcl", "--core", core, "--script", program], timeout=300)
        expect(native.stdout == "hello from greeter\n", f"native: {describe(native)}")
        built = run([os.path.abspath(lispvm_exe), "image", "build", "--core", core, "--cache",
                     os.path.abspath(cache)], timeout=300)
        expect_exit(built, 0)
        expect(re.search(r"/images/core-[0-9a-f]+-[0-9a-f]+\.erofs$", built.stdout.strip()),
               f"image build --core: {describe(built)}")
        got = lispvm(lispvm_exe, cache, "run", program, options=["--core", core, "--stats"])
        expect(got.stdout == native.stdout and got.returncode == native.returncode,
               f"differs from native: {describe(got)}")
        s = stats(got)
        expect(s["host RSS of image 0"] >= 8, f"the core was not mapped from its image: {s}")
        expect(s["guest RAM touched"] < 16, f"the core was copied into guest RAM: {s}")
    missing = lispvm(lispvm_exe, cache, "run", program, options=["--core", "/nonexistent.core"])
    expect_exit(missing, 125)
    expect(missing.stderr.count("\n") == 1 and "/nonexistent.core" in missing.stderr,
           f"expected one line naming the core: {describe(missing)}")


def heap_return(lispvm_exe, cache):
    """192 MiB kept live, dropped and collected: the VM's host RSS at exit
    follows the live heap, not the peak.  (The guest keeps up to 4 MiB of
    freed pages, and its kernel, page tables and the core's written pages
    come on top of the heap.)"""
    proc = lispvm(lispvm_exe, cache, "run", os.path.join(LISP, "garbage.lisp"), "192",
                  options=["--memory", "1G", "--stats"])
    expect_exit(proc, 0)
    live = int(re.search(r"^live (\d+)$", proc.stdout, re.M).group(1)) / MIB
    s = stats(proc)
    expect(s["guest RAM touched"] >= 192, f"the peak did not happen: {s}")
    expect(s["returned over the run"] >= 150, f"freed memory stayed with the guest: {s}")
    bound = live + 48
    expect(s["host RSS of guest RAM"] <= bound,
           f"host RSS {s['host RSS of guest RAM']} MiB after the GC, live heap {live:.1f} MiB"
           f" (bound {bound:.1f}); {describe(proc)}")


def memory_too_small(lispvm_exe, cache):
    """--memory smaller than SBCL's default heap: lispvm sizes the heap to
    fit, so the program gets SBCL's own heap-exhaustion error, which it can
    handle, and unhandled it is SBCL's message and a non-zero exit."""
    program = os.path.join(LISP, "heap-grow.lisp")
    handled = lispvm(lispvm_exe, cache, "run", program, "handle", options=["--memory", "128M"])
    expect_exit(handled, 0)
    expect(handled.stdout == "caught HEAP-EXHAUSTED-ERROR\n", describe(handled))
    unhandled = lispvm(lispvm_exe, cache, "run", program, options=["--memory", "128M"])
    expect(unhandled.returncode not in (0, OOM_KILLED), describe(unhandled))
    expect_in("Heap exhausted", unhandled.stderr, unhandled)


def out_of_memory(lispvm_exe, cache):
    """A heap explicitly larger than --memory: when guest RAM runs out the
    program is killed as by Linux's OOM killer, with one line saying so."""
    proc = lispvm(lispvm_exe, cache, "run", os.path.join(LISP, "heap-grow.lisp"),
                  options=["--memory", "128M", "--sbcl-option", "--dynamic-space-size",
                           "--sbcl-option", "1GB"])
    expect_exit(proc, OOM_KILLED)
    expect_in("killed by SIGKILL: out of memory", proc.stderr, proc)


def mmap_beyond_ram(lispvm_exe, cache):
    """A private writable mapping larger than guest RAM fails with ENOMEM
    (Linux's overcommit heuristic); a MAP_NORESERVE one is only address
    space and succeeds."""
    forms = ("(require :sb-posix)"
             " (defun try (flags) (handler-case (progn (sb-posix:mmap nil (* 2 1024 1024 1024)"
             " (logior sb-posix:prot-read sb-posix:prot-write)"
             " (logior sb-posix:map-private sb-posix:map-anon flags) -1 0) :mapped)"
             " (sb-posix:syscall-error (e) (sb-posix:syscall-errno e))))"
             " (try 0) (try #x4000)")  # MAP_NORESERVE
    proc = lispvm(lispvm_exe, cache, "eval", forms, options=["--memory", "512M"])
    expect_exit(proc, 0)
    expect(proc.stdout.splitlines()[-2:] == ["12", ":MAPPED"], describe(proc))


if __name__ == "__main__":
    main({f.__name__: f for f in (core_shared, core_copy_on_write, stats_report, dirty_pages,
                                  dirty_per_gc,
                                  custom_core,
                                  heap_return, memory_too_small, out_of_memory,
                                  mmap_beyond_ram)})
