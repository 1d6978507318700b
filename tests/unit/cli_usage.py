# SPDX-License-Identifier: MIT
"""lispvm's command line: usage errors are one line and exit 2 without
starting a VM; --help and --version work."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import expect, expect_exit, expect_in, main, run  # noqa: E402

USAGE = 2


def usage_error(lispvm, args, needle):
    proc = run([lispvm] + args)
    expect_exit(proc, USAGE)
    expect_in(needle, proc.stderr, proc)
    expect(proc.stdout == "", f"usage error wrote to stdout: {proc.stdout!r}")
    # One line from lispvm itself (getopt may add its own line before it).
    lines = [l for l in proc.stderr.splitlines() if l.startswith("lispvm: ")]
    expect(len(lines) == 1, f"expected one 'lispvm:' line, got {proc.stderr!r}")


def no_command(lispvm):
    usage_error(lispvm, [], "no command given")


def unknown_command(lispvm):
    usage_error(lispvm, ["frobnicate"], "unknown command 'frobnicate'")


def bad_option(lispvm):
    usage_error(lispvm, ["--no-such-option", "boot"], "bad option")


def memory_not_a_size(lispvm):
    usage_error(lispvm, ["--memory", "lots", "boot"], "'lots' is not a size")


def memory_impossible(lispvm):
    for size in ["8M", "2T", "0", "1025K"]:
        usage_error(lispvm, ["boot", "--memory", size], "is impossible")


def bad_timeout(lispvm):
    for value in ["0", "-1", "1.5", "forever", "86401"]:
        usage_error(lispvm, ["boot", "--timeout", value], "--timeout")


def boot_extra_argument(lispvm):
    usage_error(lispvm, ["boot", "a"], "unexpected argument 'a'")


def lisp_commands_missing_arguments(lispvm):
    usage_error(lispvm, ["run"], "run: no program given")
    usage_error(lispvm, ["eval"], "eval: no forms given")
    usage_error(lispvm, ["eval", "(+ 1 2)", "(+ 3 4)"], "unexpected argument '(+ 3 4)'")
    usage_error(lispvm, ["repl", "extra"], "repl: unexpected argument 'extra'")
    usage_error(lispvm, ["run", "--cache", "", "x.lisp"], "--cache")


def snapshot_options(lispvm):
    usage_error(lispvm, ["prepare"], "prepare: no snapshot file given")
    usage_error(lispvm, ["prepare", "-o", "x.lvs", "extra"], "prepare: unexpected argument")
    usage_error(lispvm, ["prepare", "-o", "x.lvs", "--load", ""], "prepare: empty --load")
    usage_error(lispvm, ["run", "--load", "a", "x.lisp"], "go with prepare")
    usage_error(lispvm, ["exec", "--snapshot", "x.lvs", "--", "/bin/true"],
                "--snapshot goes with run, eval, repl and prepare")
    usage_error(lispvm, ["run", "--snapshot", "x.lvs", "--core", "c.core", "x.lisp"],
                "no --core")
    usage_error(lispvm, ["run", "--snapshot", "x.lvs", "--attachable", "x.lisp"],
                "snapshots do not take")
    usage_error(lispvm, ["prepare", "-o", "x.lvs", "--swank", "4005"], "snapshots do not take")
    # A warm VM (lispvmd's pool): the machine only; the program comes later.
    usage_error(lispvm, ["run", "--pooled", "p.sock", "x.lisp"], "--pooled SOCKET goes with")
    usage_error(lispvm, ["run", "--snapshot", "x.lvs", "--pooled", "p.sock", "x.lisp"],
                "--pooled SOCKET goes with")
    usage_error(lispvm, ["eval", "--snapshot", "x.lvs", "--pooled", "p.sock", "1"],
                "--pooled SOCKET goes with")
    usage_error(lispvm, ["run", "--snapshot", "x.lvs", "--pooled", "p.sock", "--env", "A=1"],
                "comes with its invocation")
    usage_error(lispvm, ["run", "--snapshot", "x.lvs", "--pooled", ""], "--pooled: empty")


def gc_command(lispvm):
    """lispvm gc: one VM at most; a VM that is not there is one line and
    exit 125."""
    usage_error(lispvm, ["gc", "a", "b"], "gc: unexpected argument 'b'")
    proc = run([lispvm, "gc", "no-such-vm-here"])
    expect(proc.returncode == 125 and proc.stderr.startswith("lispvm: gc: ") and
           len(proc.stderr.splitlines()) == 1 and "no-such-vm-here" in proc.stderr,
           f"gc of no VM: exit {proc.returncode} {proc.stderr!r}")


def mount_bad_spec(lispvm):
    for spec in ["/tmp", "/tmp:data", "/tmp:/", "/tmp:/a/../b", "/tmp:/a:rx", ":/a",
                 "/tmp:/a:ro,max-size=1M", "/tmp:/a:rw,max-size=lots", "/tmp:/a:rw,max-files=9"]:
        usage_error(lispvm, ["exec", "--mount", spec, "--", "/bin/true"],
                    f"--mount: '{spec}'")


def mount_twice(lispvm):
    usage_error(lispvm, ["exec", "--mount", "/tmp:/a", "--mount", "/var:/a:ro", "--",
                         "/bin/true"], "a second time")


def mount_too_many(lispvm):
    args = ["exec"]
    for i in range(9):
        args += ["--mount", f"/tmp:/m{i}"]
    usage_error(lispvm, args + ["--", "/bin/true"], "at most 8")


def mount_host_not_a_directory(lispvm):
    """Checked when the VM is set up, before anything else: exit 125."""
    for host in ["/nonexistent/lispvm-mount", lispvm]:
        proc = run([lispvm, "exec", "--mount", f"{host}:/data", "--", "/bin/true"])
        expect_exit(proc, 125)
        expect_in(f"cannot use host directory {host}", proc.stderr, proc)
        expect(len(proc.stderr.splitlines()) == 1, f"expected one line, got {proc.stderr!r}")


def no_kvm(lispvm):
    """Without /dev/kvm (hidden here by an empty /dev in a mount namespace of
    its own, so the case runs on any host) and with the helper machine
    turned off (LISPVM_MACHINE=never, as meson.build sets): one line that
    says what to do."""
    proc = run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs none /dev && exec "$0" boot', lispvm])
    expect_exit(proc, 125)
    expect(len(proc.stderr.splitlines()) == 1, f"expected one line, got {proc.stderr!r}")
    for needle in ["cannot open /dev/kvm", "this host has no KVM", "helper machine",
                   "LISPVM_MACHINE"]:
        expect_in(needle, proc.stderr, proc)


def help_text(lispvm):
    proc = run([lispvm, "--help"])
    expect_exit(proc, 0)
    for needle in ["Usage: lispvm", "--memory", "--timeout", "--mount HOST:GUEST[:ro|rw[,max-size=SIZE]]",
                   "run [OPTIONS] PROGRAM", "eval [OPTIONS] FORMS", "repl [OPTIONS]",
                   "--sbcl-option OPT", "--cache DIR",
                   "Exit status"]:
        expect_in(needle, proc.stdout, proc)


def version(lispvm):
    proc = run([lispvm, "--version"])
    expect_exit(proc, 0)
    expect(proc.stdout.startswith("lispvm ") and "(ABI " in proc.stdout,
           f"unexpected version line {proc.stdout!r}")


main({name: fn for name, fn in globals().items()
      if callable(fn) and fn.__module__ == "__main__" and name not in ("main", "usage_error")})
