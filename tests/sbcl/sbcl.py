# SPDX-License-Identifier: MIT
"""`lispvm run`, `eval` and `repl` against native Debian SBCL: the same
program gives the same output and exit status in a microVM as `sbcl
--script` (or the same sbcl command line) gives natively.
Usage: sbcl.py CASE LISPVM CACHE_DIR"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import (describe, expect, expect_exit, expect_in, main, require_kvm, run,  # noqa
                         where_vms_run)

SBCL = "/usr/bin/sbcl"
HERE = os.path.dirname(os.path.abspath(__file__))
LISP = os.path.join(HERE, "lisp")
EXAMPLES = os.path.join(HERE, "..", "..", "examples")
TIMEOUT, NO_PROGRAM = 124, 127
# What lispvm eval runs natively: keep in step with tools/lispvm/lisp_run.c.
EVAL_PRINTER = ("(with-input-from-string (s (car (last sb-ext:*posix-argv*)))"
                " (loop with eof = (gensym) for form = (read s nil eof) until (eq form eof)"
                " do (dolist (v (multiple-value-list (eval form))) (prin1 v) (terpri))))")
EVAL_ARGV = ["--noinform", "--disable-ldb", "--end-runtime-options", "--no-sysinit",
             "--no-userinit", "--non-interactive", "--eval", EVAL_PRINTER,
             "--end-toplevel-options"]


class Lisp:
    def __init__(self, lispvm, cache):
        self.lispvm, self.cache = os.path.abspath(lispvm), os.path.abspath(cache)

    def vm(self, command, *args, options=(), input=None, timeout=600, cwd=None):
        require_kvm()
        return run([self.lispvm, "--timeout", "300", command, "--cache", self.cache,
                    *options, *args], input=input, timeout=timeout, cwd=cwd)


def native(*argv, input=None, cwd=None):
    """As a user types it: argv[0] is "sbcl", as lispvm passes it; on the
    CPU the microVMs run on (the helper machine's, in the helper suite)."""
    if os.environ.get("LISPVM_MACHINE") == "always":
        return run(where_vms_run(["sbcl", *argv]), input=input, timeout=300, cwd=cwd)
    return run(["sbcl", *argv], input=input, timeout=300, cwd=cwd, executable=SBCL)


def normalized(text):
    """Object addresses ({1001348003}) differ between runs of any SBCL."""
    return re.sub(r"\{[0-9A-F]+\}", "{…}", text)


def expect_same(got, want, compare_stderr=False):
    expect(got.stdout == want.stdout,
           f"stdout differs\n--- lispvm ---\n{got.stdout}--- native ---\n{want.stdout}"
           f"--- lispvm stderr ---\n{got.stderr[-3000:]}")
    expect(got.returncode == want.returncode,
           f"exit {got.returncode}, natively {want.returncode}; {describe(got)}")
    if compare_stderr:
        expect(normalized(got.stderr) == normalized(want.stderr),
               f"stderr differs\n--- lispvm ---\n{got.stderr}--- native ---\n{want.stderr}")


def script_case(file, *args, input=None):
    def case(lispvm, cache):
        got = Lisp(lispvm, cache).vm("run", file, *args, input=input)
        expect_same(got, native("--script", file, *args, input=input))
    return case


def first_lines(text, n):
    return "\n".join(normalized(text).splitlines()[:n])


def unhandled_error(lispvm, cache):
    """An unhandled error: the same report and exit 1, a backtrace on
    stderr (frames may differ in detail, the report may not)."""
    file = os.path.join(LISP, "unhandled.lisp")
    got, want = Lisp(lispvm, cache).vm("run", file), native("--script", file)
    expect_same(got, want)
    expect(first_lines(got.stderr, 4) == first_lines(want.stderr, 4),
           f"error report differs\n--- lispvm ---\n{got.stderr}--- native ---\n{want.stderr}")
    expect_in("Backtrace for:", got.stderr, got)


def fasls(lispvm, cache):
    """A fasl compiled natively runs the same; one from another SBCL
    version gets SBCL's own message and a non-zero exit, as natively."""
    tmp = tempfile.mkdtemp(prefix="lispvm-fasl-test-")
    try:
        source = os.path.join(tmp, "args.lisp")
        shutil.copy(os.path.join(LISP, "args.lisp"), source)
        built = native("--non-interactive", "--no-sysinit", "--no-userinit",
                       "--eval", f'(compile-file "{source}")')
        fasl = os.path.join(tmp, "args.fasl")
        expect(built.returncode == 0 and os.path.exists(fasl), f"compile: {describe(built)}")
        expect_same(Lisp(lispvm, cache).vm("run", fasl, "4", "x y"),
                    native("--script", fasl, "4", "x y"))
        with open(fasl, "rb") as f:
            data = f.read()
        old = os.path.join(tmp, "old.fasl")
        with open(old, "wb") as f:
            f.write(data.replace(b"2.2.9.debian", b"2.2.8.debian"))
        got, want = Lisp(lispvm, cache).vm("run", old, "0"), native("--script", old, "0")
        expect(got.returncode == want.returncode != 0, f"exit {describe(got)}")
        expect_in("is a fasl", got.stderr, got)
        expect(first_lines(got.stderr, 5) == first_lines(want.stderr, 5),
               f"message differs\n--- lispvm ---\n{got.stderr}--- native ---\n{want.stderr}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def eval_forms(lispvm, cache):
    """eval prints every value of every form; an error exits 1; control
    stack exhaustion is a condition the program recovers from (not under
    --script, where SBCL treats it as fatal)."""
    lisp = Lisp(lispvm, cache)
    for forms in ['(values 1 (+ 2 3)) (list 1 "a" #\\x)',
                  "(defun f (n) (1+ (f n))) "
                  "(handler-case (f 1) (storage-condition (c) (type-of c)))"]:
        expect_same(lisp.vm("eval", forms), native(*EVAL_ARGV, forms))
    got = lisp.vm("eval", "(car 5)")
    expect_exit(got, 1)
    expect_in("Unhandled TYPE-ERROR", got.stderr, got)


def heap_exhaustion(lispvm, cache):
    """A heap too small for the program: SBCL's heap-exhaustion error and
    a non-zero exit, as natively."""
    file = os.path.join(LISP, "heap.lisp")
    got = Lisp(lispvm, cache).vm("run", file, options=[
        "--sbcl-option", "--dynamic-space-size", "--sbcl-option", "64MB"])
    want = native("--dynamic-space-size", "64MB", "--script", file)
    expect(got.returncode == want.returncode != 0, f"exit: {describe(got)}")
    expect_in("Heap exhausted", got.stderr, got)


def timeout(lispvm, cache):
    """--timeout ends a runaway program with its own exit status."""
    require_kvm()
    proc = run([lispvm, "--timeout", "3", "run", "--cache", cache,
                os.path.join(LISP, "loop.lisp")], timeout=300)
    expect_exit(proc, TIMEOUT)
    expect_in("--timeout 3s", proc.stderr, proc)


def missing_program(lispvm, cache):
    proc = Lisp(lispvm, cache).vm("run", "/nonexistent/prog.fasl")
    expect_exit(proc, NO_PROGRAM)
    expect(proc.stderr == "lispvm: /nonexistent/prog.fasl: No such file or directory\n",
           f"expected one line: {proc.stderr!r}")


def mount_write(lispvm, cache):
    """A read-write --mount takes the program's writes; the program's own
    directory is read-only."""
    tmp = tempfile.mkdtemp(prefix="lispvm-mount-test-")
    try:
        file = os.path.join(LISP, "mount-write.lisp")
        got = Lisp(lispvm, cache).vm("run", file, "/data", options=["--mount", f"{tmp}:/data"])
        expect_exit(got, 0)
        with open(os.path.join(tmp, "written-by-lisp.txt")) as f:
            expect(f.read() == "2.2.9.debian\n", "the file on the host is wrong")
        got = Lisp(lispvm, cache).vm("run", file, LISP)
        expect(got.returncode != 0 and "written-by-lisp" not in os.listdir(LISP),
               f"wrote into the read-only program directory: {describe(got)}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def repl(lispvm, cache):
    """The REPL reads forms from stdin, prints as natively and leaves at
    end of input."""
    forms = "(+ 1 2)\n(format t \"hi~%\")\n"
    expect_same(Lisp(lispvm, cache).vm("repl", input=forms), native(input=forms))


def repl_interrupt(lispvm, cache):
    """SIGINT (Ctrl-C) interrupts an evaluation into the debugger, which
    takes the next form; the VM goes on."""
    require_kvm()
    proc = subprocess.Popen([lispvm, "--timeout", "300", "repl", "--cache", cache],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = [], []  # the debugger writes its report to stderr
    readers = [threading.Thread(target=lambda: out.extend(iter(proc.stdout.readline, ""))),
               threading.Thread(target=lambda: err.extend(iter(proc.stderr.readline, "")))]
    for reader in readers:
        reader.start()
    try:
        proc.stdin.write('(progn (format t "looping~%") (finish-output) (loop))\n')
        proc.stdin.flush()
        for _ in range(600):
            if "looping" in "".join(out):
                break
            time.sleep(0.1)
        for _ in range(6):  # a resend covers the rare lost signal (see docs)
            proc.send_signal(signal.SIGINT)
            for _ in range(100):
                if "Interactive interrupt" in "".join(err) or proc.poll() is not None:
                    break
                time.sleep(0.1)
            else:
                continue
            break
        proc.stdin.write("(sb-ext:exit :code 9 :abort t)\n")
        proc.stdin.close()
        proc.wait(timeout=120)
    finally:
        proc.kill()
        for reader in readers:
            reader.join(timeout=10)
    text = "".join(out) + "".join(err)
    expect(proc.returncode == 9, f"exit {proc.returncode}, output {text!r}")
    expect("Interactive interrupt" in "".join(err), f"no debugger: {text!r}")
    expect("[ABORT   ] Exit debugger" in "".join(out), f"no restarts offered: {text!r}")


def image_cache(lispvm, cache):
    """SBCL's image is built once into the cache and reused; VMs started
    together on an empty cache build it once; a truncated one is rebuilt."""
    images = os.path.join(cache, "images")
    Lisp(lispvm, cache).vm("eval", "1")
    built = [f for f in os.listdir(images) if f.startswith("sbcl-")]
    expect(len(built) == 1, f"expected one SBCL image, found {built}")
    before = os.stat(os.path.join(images, built[0])).st_mtime_ns
    Lisp(lispvm, cache).vm("eval", "2")
    expect(os.stat(os.path.join(images, built[0])).st_mtime_ns == before, "image was rebuilt")
    expect(os.path.isdir(os.path.join(cache, "common-lisp")), "no fasl cache directory")

    # Three VMs started together on an empty cache: one builds the image,
    # the others wait for it (they once each built it and renamed it over
    # the one another VM had mapped).
    # Beside this mode's cache: the kvm and helper suites run at once.
    fresh = os.path.abspath(cache) + "-fresh"
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        results = [None] * 3

        def start(i):
            results[i] = Lisp(lispvm, fresh).vm("eval", str(i))
        threads = [threading.Thread(target=start, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, proc in enumerate(results):
            expect(proc.returncode == 0 and proc.stdout == f"{i}\n",
                   f"VM {i} of three on an empty cache: {describe(proc)}")
        left = os.listdir(os.path.join(fresh, "images"))
        expect(len([f for f in left if f.startswith("sbcl-")]) == 1 and
               not [f for f in left if ".tmp." in f], f"the fresh cache holds {left}")
        # A cached image cut short (a machine died while writing it) is
        # built again, not refused for ever.  Not again through the helper
        # machine: the same code, and another image build there takes
        # minutes of TCG (the three VMs above are what 9p adds).
        if os.environ.get("LISPVM_MACHINE") == "always":
            return
        image = os.path.join(fresh, "images", [f for f in left if f.startswith("sbcl-")][0])
        whole = os.path.getsize(image)
        os.truncate(image, whole // 2)
        proc = Lisp(lispvm, fresh).vm("eval", "7")
        expect(proc.returncode == 0 and proc.stdout == "7\n", f"truncated image: {describe(proc)}")
        expect(os.path.getsize(image) == whole, "the truncated image was not built again")
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


CASES = {
    "hello": script_case(os.path.join(EXAMPLES, "hello.lisp")),
    "kernel": script_case(os.path.join(LISP, "kernel.lisp")),
    "args_and_exit": script_case(os.path.join(LISP, "args.lisp"), "3", "b c", ""),
    "stdin": script_case(os.path.join(LISP, "stdin.lisp"), input="abc\n\nxyz\n"),
    "unhandled_error": unhandled_error,
    "fasls": fasls,
    "eval_forms": eval_forms,
    "heap_exhaustion": heap_exhaustion,
    "timeout": timeout,
    "missing_program": missing_program,
    "mount_write": mount_write,
    "repl": repl,
    "repl_interrupt": repl_interrupt,
    "image_cache": image_cache,
}

main(CASES)
