# SPDX-License-Identifier: MIT
"""lispvmd with the real lispvm (suite kvm, and helper): a program with
arguments from a create request runs in a microVM, its output in the log
by stream, its exit code from wait; eval; stop ends a running program
through SIGTERM within the grace period; lispvm start through it.
Usage: real.py CASE LISPVMD LISPVM"""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import TestFailure, expect, helper_console_log, main, require_kvm  # noqa: E402
from daemon_lib import Daemon  # noqa: E402

LISP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lisp")


def lines_of(d, ref):
    response, data = d.raw("GET", f"/v1/vms/{ref}/logs")
    expect(response.status == 200, f"logs: {response.status}")
    return [(e["stream"], e["line"]) for e in map(json.loads, data.decode().splitlines())]


# Meson gives the case 900 s; a hang must fail inside that, saying where.
BUDGET = 600


def real_vm(lispvmd, lispvm):
    require_kvm()
    deadline = time.monotonic() + BUDGET

    def left():
        remaining = deadline - time.monotonic()
        expect(remaining > 0, f"not done within {BUDGET} s")
        return remaining

    with tempfile.TemporaryDirectory(prefix="lispvmd-test-") as work:
        d = Daemon(os.path.abspath(lispvmd), work, ["--lispvm", os.path.abspath(lispvm)])
        try:
            real_vm_steps(d, lispvm, left)
        except (TestFailure, OSError) as failure:
            raise TestFailure(f"{failure}\n{d.report()}\n{helper_console_log()}") from None
        finally:
            d.stop()


def real_vm_steps(d, lispvm, left):
    d.ok("POST", "/v1/vms", {"program": os.path.join(LISP, "args_exit.lisp"),
                             "args": ["one", "two words"], "name": "args"}, status=201)
    d.ok("POST", "/v1/vms", {"eval": "(+ 1 2)", "name": "eval"}, status=201)
    d.ok("POST", "/v1/vms", {"program": os.path.join(LISP, "forever.lisp"),
                             "name": "forever"}, status=201)
    vm = d.ok("POST", "/v1/vms/args/wait", timeout=left())
    expect(vm["exit_code"] == 5, f"args: {vm} {lines_of(d, 'args')}")
    # Each stream whole; between the two, no order holds.
    expect(sorted(lines_of(d, "args")) == [("stderr", "to stderr"),
                                           ("stdout", 'args ("one" "two words")')],
           f"args: {lines_of(d, 'args')}")
    vm = d.ok("POST", "/v1/vms/eval/wait", timeout=left())
    expect(vm["exit_code"] == 0 and lines_of(d, "eval") == [("stdout", "3")],
           f"eval: {vm} {lines_of(d, 'eval')}")
    while ("stdout", "ready") not in lines_of(d, "forever"):
        left()
        time.sleep(0.2)
    vm = d.ok("POST", "/v1/vms/forever/stop", {"grace": 60}, timeout=left())
    expect(vm["state"] == "exited" and vm["signal"] is None,
           f"stop did not end it through SIGTERM: {vm} {lines_of(d, 'forever')}")
    # The CLI: an attached start prints the VM's output and exits with its
    # status, as 'lispvm run' would.
    try:
        proc = subprocess.run([os.path.abspath(lispvm), "start", "--name", "cli",
                               os.path.join(LISP, "args_exit.lisp"), "three"],
                              capture_output=True, text=True, timeout=left(),
                              env=dict(os.environ, LISPVMD_SOCKET=d.path))
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"lispvm start did not end: {e.stdout!r} {e.stderr!r}") from None
    expect(proc.returncode == 5 and proc.stdout == 'args ("three")\n' and
           proc.stderr == "to stderr\n",
           f"lispvm start: exit {proc.returncode} {proc.stdout!r} {proc.stderr!r}")


if __name__ == "__main__":
    main({"real_vm": real_vm})
