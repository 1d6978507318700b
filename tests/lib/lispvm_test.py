# SPDX-License-Identifier: MIT
"""Shared helpers for lispvm's Python test scripts.

Each script defines cases as functions and is run as `script.py CASE ARGS...`
by Meson, one Meson test per case, so a failure names exactly what broke.
Every case asserts an outcome; nothing is skipped silently."""

import faulthandler
import os
import re
import signal
import subprocess
import sys

# Generous: these machines are slow and nested; a hung guest is caught by
# the guest-side --timeout first and by this limit last.
DEFAULT_TIMEOUT = 120


class TestFailure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise TestFailure(message)


def run(argv, timeout=DEFAULT_TIMEOUT, **kwargs):
    """Runs argv, returns CompletedProcess with text stdout/stderr."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, errors="replace",
                              timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise TestFailure(f"{' '.join(map(str, argv))} did not finish in {timeout}s")


def describe(proc):
    return (f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}"
            f"--- stderr ---\n{proc.stderr}")


def expect_exit(proc, code):
    expect(proc.returncode == code, f"expected exit {code}, got {describe(proc)}")


def expect_in(needle, haystack, proc):
    expect(needle in haystack, f"expected {needle!r} in output; {describe(proc)}")


def main(cases):
    """Dispatches to cases[argv[1]](*argv[2:]) and reports the outcome."""
    if len(sys.argv) < 2 or sys.argv[1] not in cases:
        print(f"usage: {sys.argv[0]} CASE ARGS... (cases: {', '.join(cases)})",
              file=sys.stderr)
        sys.exit(2)
    name = sys.argv[1]
    # Meson's timeout ends a hung case with SIGTERM and keeps its stderr:
    # where every thread stood then is the first thing to know.
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            cases[name](*sys.argv[2:])
            break
        except TestFailure as failure:
            print(f"FAIL {name}: {failure}", file=sys.stderr)
            print_machine_logs(str(failure))
            why = environment_failure(str(failure))
            if attempt == ATTEMPTS or why is None:
                sys.exit(1)
            # The emulation under the test failed, not lispvm: said aloud,
            # and at most ATTEMPTS - 1 times (docs/testing.md).
            print(f"RETRY {name}: {why}", file=sys.stderr)
    print(f"ok {name}")


ATTEMPTS = 3

MACHINE_DIED = re.compile(r"machine stopped \(qemu exit -?\d+: the (guest triple-faulted|"
                          r"kernel panicked|kernel locked up|kernel stopped answering)")

# A microVM's CPU shutdown that names no RIP: on AMD SVM, KVM resets the
# vCPU first.  In the nested machines these came with no cause in the
# guest (docs/testing.md, "Nested SVM under TCG").
NESTED_VM_SHUTDOWN = re.compile(r"guest triple fault \(CPU shutdown\); RIP unknown: this CPU "
                                r"\(AMD SVM\)")


# A microVM stopped by its --timeout with its CPU at a kernel-half address
# that is also CR2: a fault at RIP that never reached the guest's handler
# (which reports any kernel-half fault and ends the VM), so the CPU sat
# redelivering it; the RIP was no code of the guest runtime.  Seen once, in
# the nested machine (docs/testing.md, "Nested SVM under TCG").
NESTED_VM_STUCK = re.compile(r"guest still running after --timeout \d+s; stopped at "
                             r"RIP 0x(ffff[0-9a-f]{12}), CR2 0x\1\b")


def in_nested_machine():
    return (os.environ.get("LISPVM_MACHINE") == "always" or
            os.environ.get("LISPVM_KVM_WHERE", "").startswith("nested"))


def environment_failure(text):
    """Why a failure is the nested machine's and worth one more attempt,
    or None."""
    if MACHINE_DIED.search(text):
        return "the machine under the test died; once more in a fresh one"
    if in_nested_machine() and NESTED_VM_SHUTDOWN.search(text):
        return "a microVM's CPU shut down in the nested machine; once more"
    if in_nested_machine() and NESTED_VM_STUCK.search(text):
        return ("a microVM's CPU sat on a fault its guest never saw, in the nested machine; "
                "once more")
    return None


MACHINE_LOGS = re.compile(r"(console log|QEMU's log): (/\S+?)[,;]?(?:\s|$)")


def print_machine_logs(message, lines=60):
    """The ends of the logs a stopped test or helper machine left, which a
    failure names: CI keeps only the test's output, and a machine's death
    (a kernel panic on the console, a triple fault in QEMU's log with the
    CPU state before it) is understood from them or not at all."""
    for what, path in dict.fromkeys(MACHINE_LOGS.findall(message)):
        try:
            with open(path, errors="replace") as f:
                tail = f.readlines()[-lines:]
        except OSError as e:
            print(f"({what} {path}: {e.strerror})", file=sys.stderr)
            continue
        print(f"--- the last {len(tail)} lines of the {what}, {path}:", file=sys.stderr)
        sys.stderr.writelines(tail)


HELPER_CLIENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                             "kvm-machine", "lispvm-machine")


def helper_console_log():
    """Where the helper machine keeps its console log, worded so that
    print_machine_logs prints its end; empty outside the helper suite."""
    if os.environ.get("LISPVM_MACHINE") != "always":
        return ""
    sys.path.insert(0, os.path.dirname(HELPER_CLIENT))
    import tm_helper
    return f"the helper machine's console log: {os.path.join(tm_helper.state_dir(), 'console.log')} "


def where_vms_run(argv, own_tmp=False):
    """argv run on the machine whose CPU runs the microVMs: in the helper
    suite (LISPVM_MACHINE=always) that is the helper machine, whose
    emulated CPU and 9p-shared host files differ from the host's in ways
    docs/testing.md lists; a native baseline must share them.  own_tmp:
    /tmp is a fresh tmpfs there (as the guest's own /tmp is), not the
    host's /tmp over 9p."""
    if os.environ.get("LISPVM_MACHINE") != "always":
        return list(argv)
    if own_tmp:  # the program may live under /tmp (a CI checkout): copied out first
        argv = ["unshare", "-m", "sh", "-c",
                'mount -t tmpfs tmpfs /dev/shm && cp "$0" /dev/shm/program && '
                'mount -t tmpfs tmpfs /tmp && exec /dev/shm/program "$@"', *argv]
    return ["/usr/bin/python3", HELPER_CLIENT, "forward", "--", *argv]


FIND_VMM = ('for p in /proc/[0-9]*; do '
            'if tr "\\0" "\\n" < "$p/environ" 2>/dev/null | grep -qx "LISPVM_MACHINE_VM_NAME=$1"; '
            'then exec cat "$p/$2"; fi; done; echo "no VMM for lispvm $1" >&2; exit 1')


def vmm_proc_file(lispvm_pid, name):
    """/proc/PID/name of the VMM that the lispvm process lispvm_pid runs:
    itself, or in the helper suite its counterpart in the helper machine
    (the one whose LISPVM_MACHINE_VM_NAME is lispvm_pid)."""
    if os.environ.get("LISPVM_MACHINE") != "always":
        with open(f"/proc/{lispvm_pid}/{name}") as f:
            return f.read()
    proc = subprocess.run(where_vms_run(["sh", "-c", FIND_VMM, "sh", str(lispvm_pid), name]),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise TestFailure(f"/proc/{name} of lispvm {lispvm_pid}'s VMM: {proc.stderr.strip()}")
    return proc.stdout


def require_kvm():
    """The kvm suite needs /dev/kvm, or lispvm's helper machine (the helper
    suite: LISPVM_MACHINE=always); without either it fails, loudly."""
    if os.environ.get("LISPVM_MACHINE") == "always":
        return
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise TestFailure("the kvm suite needs read-write /dev/kvm on this host "
                          "(is KVM enabled and are you root or in group kvm?)")
