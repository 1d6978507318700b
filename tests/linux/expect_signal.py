# SPDX-License-Identifier: MIT
"""Runs a Linux test program that must end a precise way: killed by a given
signal (`signal SIGSEGV PROGRAM ARGS...`) or exiting with a given status
(`exit N PROGRAM ARGS...`). Meson's should_fail accepts any failure; these
check the exact outcome. The fault subcommands print a line saying what they
are about to do, which must reach stdout before the process dies."""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import describe, expect, main, run  # noqa: E402


def expect_signal(name, program, *args):
    signum = signal.Signals[name]
    proc = run([program] + list(args))
    expect(proc.returncode == -signum,
           f"expected death by {name} (returncode {-signum}), got {describe(proc)}")
    expect(f"{args[0]}: " in proc.stdout and "survived" not in proc.stdout,
           f"expected the line announcing the fault; {describe(proc)}")


def expect_exit(status, program, *args):
    proc = run([program] + list(args))
    expect(proc.returncode == int(status), f"expected exit {status}, got {describe(proc)}")
    expect(proc.stdout == "", f"expected no output; {describe(proc)}")


main({"signal": expect_signal, "exit": expect_exit})
