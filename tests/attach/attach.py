# SPDX-License-Identifier: MIT
"""lispvm attach and run --swank end to end, against a program that keeps
one thread busy computing (busy.lisp).
Usage: attach.py CASE LISPVM CACHE (lispvm's cache, shared with the SBCL tests)"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import expect, expect_exit, main, require_kvm, run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUSY = os.path.join(HERE, "busy.lisp")
TIMEOUT = 180
PROMPT = "\n* "
DEBUGGER_PROMPT = "\n0] "


class Program:
    """busy.lisp under lispvm run with the given options; it prints
    "ready" once its worker runs, and exits 7 when told to."""

    def __init__(self, lispvm, tmp, cache, *options):
        require_kvm()
        self.proc = subprocess.Popen(
            [lispvm, "run", "--timeout", str(TIMEOUT), "--cache", cache,
             *options, BUSY],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "XDG_RUNTIME_DIR": tmp})
        line = self.proc.stdout.readline()
        if line != "ready\n":
            self.proc.kill()
            expect(False, f"the program did not start: {line!r} {self.proc.stderr.read()}")

    def finish(self):
        try:
            out, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out, err


class Attach:
    """lispvm attach with pipes, read up to an expected text."""

    def __init__(self, lispvm, tmp, target):
        self.proc = subprocess.Popen([lispvm, "attach", target], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, "XDG_RUNTIME_DIR": tmp})
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.seen = ""

    def until(self, text, seconds=60):
        """Everything up to and including text's first appearance."""
        deadline = time.time() + seconds
        while text not in self.seen:
            chunk = self.proc.stdout.read()
            if chunk:
                self.seen += chunk.decode(errors="replace")
                continue
            if self.proc.poll() is not None or time.time() > deadline:
                expect(False, f"no {text!r} from lispvm attach; it printed:\n{self.seen}"
                              f"\nstderr: {self.proc.stderr.read().decode()}")
            time.sleep(0.05)
        end = self.seen.index(text) + len(text)
        got, self.seen = self.seen[:end], self.seen[end:]
        return got

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def ask(self, line):
        """The reply to a line, up to the next prompt."""
        self.send(line)
        return self.until(PROMPT)


def with_tmp(case):
    def wrapped(lispvm, cache):
        tmp = tempfile.mkdtemp(prefix="lispvm-attach-")
        try:
            case(lispvm, tmp, cache)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return wrapped


def worker_id(threads):
    for line in threads.splitlines():
        if "busy worker" in line:
            return int(line.split()[0])
    expect(False, f"no busy worker in :threads:\n{threads}")


def expect_worker_runs(session, when, within=60):
    """busy.lisp's worker counts on: its *spins* grows.  A round of its
    work takes milliseconds on hardware and up to a second or more under
    emulation, so ask again until it grows or `within` seconds pass."""
    spins = session.ask("cl-user::*spins*")
    deadline = time.monotonic() + within
    while True:
        again = session.ask("(progn (sleep 0.5) cl-user::*spins*)")
        if int(spins.split()[-2]) < int(again.split()[-2]):
            return
        expect(time.monotonic() < deadline,
               f"the worker does not run {when}: {spins!r}, still {again!r} {within} s later")


@with_tmp
def attach_repl(lispvm, tmp, cache):
    """Evaluate, list threads, backtrace and interrupt the busy thread,
    interrupt an evaluation with Ctrl-C, detach: the program runs on and
    exits with its own status."""
    prog = Program(lispvm, tmp, cache, "--attachable", "--name", "busy")
    a = Attach(lispvm, tmp, "busy")
    a.until(PROMPT)
    reply = a.ask("(+ 1 2)")
    expect("3\n" in reply, f"(+ 1 2) gave {reply!r}")
    threads = a.ask(":threads")
    expect("running" in threads and "(main)" in threads, threads)
    worker = worker_id(threads)
    bt = a.ask(f":bt {worker}")
    expect("BUSY-WORKER" in bt, f"backtrace of the worker:\n{bt}")
    a.send(f":interrupt {worker}")
    debugger = a.until(DEBUGGER_PROMPT)
    expect("interrupted by lispvm attach" in debugger and "CONTINUE" in debugger,
           f"the worker's debugger:\n{debugger}")
    a.send("backtrace 5")
    bt = a.until(DEBUGGER_PROMPT)
    expect("BUSY-WORKER" in bt, f"backtrace in the debugger:\n{bt}")
    a.send("continue")
    a.until(PROMPT)
    expect_worker_runs(a, "after continue")
    a.send("(loop)")
    time.sleep(1)
    a.proc.send_signal(signal.SIGINT)
    stopped = a.until(DEBUGGER_PROMPT)
    expect("Interrupted by Ctrl-C" in stopped, f"Ctrl-C gave:\n{stopped}")
    expect(a.proc.poll() is None, "Ctrl-C ended lispvm attach")
    a.send("abort")
    a.until(PROMPT)
    a.send("(car 1)")
    error = a.until(DEBUGGER_PROMPT)
    expect("TYPE-ERROR" in error or "not of type LIST" in error, f"an error gave:\n{error}")
    a.send("abort")
    a.until(PROMPT)
    # Detach while the worker is stopped in the debugger: it resumes.
    a.send(f":interrupt {worker}")
    a.until(DEBUGGER_PROMPT)
    a.proc.stdin.close()
    expect(a.proc.wait(timeout=60) == 0, "lispvm attach did not end after its input")
    b = Attach(lispvm, tmp, "busy")
    b.until(PROMPT)
    expect_worker_runs(b, "after a detach")
    b.send("(setf cl-user::*done* t)")
    b.until(PROMPT)
    b.proc.stdin.close()
    b.proc.wait(timeout=60)
    code, out, err = prog.finish()
    expect(code == 7 and "main exits" in out,
           f"program exit {code}, stdout {out!r}, stderr {err!r}")


@with_tmp
def attach_errors(lispvm, tmp, cache):
    """No such VM, and a VM without the agent: one line each."""
    require_kvm()
    proc = run([lispvm, "attach", "nosuchvm"], env={**os.environ, "XDG_RUNTIME_DIR": tmp})
    expect_exit(proc, 125)
    expect(proc.stderr.count("\n") == 1 and "no VM called nosuchvm" in proc.stderr,
           proc.stderr)
    path = os.path.join(tmp, "plain.sock")
    prog = subprocess.Popen([lispvm, "run", "--cache", cache, "--vsock", path, BUSY],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        expect(prog.stdout.readline() == "ready\n", "the program did not start")
        proc = run([lispvm, "attach", path])
        expect_exit(proc, 125)
        expect(proc.stderr.count("\n") == 1 and "nothing listens on vsock port" in proc.stderr,
               proc.stderr)
    finally:
        prog.kill()
        prog.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@with_tmp
def swank_slime(lispvm, tmp, cache):
    """Emacs with Debian's SLIME connects through the bridge, evaluates,
    gets the debugger with a backtrace for an error, aborts, evaluates
    again; then tells the program to finish."""
    port = free_port()
    prog = Program(lispvm, tmp, cache, "--swank", str(port))
    client = run(["emacs", "--batch", "-l", os.path.join(HERE, "slime-client.el"), str(port)],
                 timeout=TIMEOUT)
    out = client.stdout + client.stderr
    if client.returncode != 0:
        prog.proc.kill()
        code, pout, err = prog.finish()
        expect(False, f"the SLIME client failed:\n{out}\nthe program (exit {code}) printed: "
                      f"{pout[-2000:]!r}, on stderr: {err[-3000:]}")
    for want in ["connected: sbcl", "result: 3", "lispvm boom 42", "Backtrace:",
                 "after abort: 42"]:
        expect(want in out, f"no {want!r} from the SLIME client:\n{out}")
    code, pout, err = prog.finish()
    expect(code == 7, f"program exit {code}: {pout!r} {err!r}")


main({"attach_repl": attach_repl, "attach_errors": attach_errors,
      "swank_slime": swank_slime})
