# SPDX-License-Identifier: MIT
"""lispvm's daemon commands (ps, start, stop, kill, wait, logs, inspect,
stats, rm) against lispvmd running a stand-in lispvm (fake_lispvm.py; suite unit):
what each prints and its exit status, an attached start's output byte for
byte and its exit status, signals passed on to the VM, paths made
absolute, and one line with a non-zero exit for a missing daemon, an
unknown VM, a missing program and a bad command line.
Usage: cli.py CASE LISPVMD LISPVM"""

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import TestFailure, expect, main  # noqa: E402
from daemon_lib import FAKE_LISPVM, Daemon  # noqa: E402

EXIT_USAGE, EXIT_HOST_ERROR = 2, 125


class Cli:
    def __init__(self, lispvm, daemon):
        self.lispvm = os.path.abspath(lispvm)
        self.env = dict(os.environ, LISPVMD_SOCKET=daemon.path)

    def run(self, *args, cwd=None, timeout=60):
        return subprocess.run([self.lispvm, *args], capture_output=True, text=True,
                              env=self.env, cwd=cwd, timeout=timeout)

    def ok(self, *args, cwd=None):
        proc = self.run(*args, cwd=cwd)
        expect(proc.returncode == 0, f"lispvm {' '.join(args)}: exit {proc.returncode} "
               f"{proc.stdout!r} {proc.stderr!r}")
        return proc.stdout

    def refused(self, status, *args, contains=""):
        proc = self.run(*args)
        expect(proc.returncode == status, f"lispvm {' '.join(args)}: exit {proc.returncode}, "
               f"expected {status}: {proc.stderr!r}")
        expect(len(proc.stderr.splitlines()) == 1 and contains in proc.stderr,
               f"lispvm {' '.join(args)}: not one line with {contains!r}: {proc.stderr!r}")
        return proc.stderr


def with_daemon(lispvmd, lispvm, test):
    with tempfile.TemporaryDirectory(prefix="lispvm-cli-test-") as work:
        d = Daemon(os.path.abspath(lispvmd), work, ["--lispvm", FAKE_LISPVM])
        try:
            test(Cli(lispvm, d), d, work)
        finally:
            d.stop()


def table(text):
    """ps's rows as lists of columns (the header dropped)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()[1:]]


def commands(cli, d, work):
    """start --detach, ps (running; -a; -q; --label), logs, inspect, stop,
    wait, kill, rm: what each prints."""
    program = os.path.join(work, "prog.lisp")
    open(program, "w").close()
    vm_id = cli.ok("start", "-d", "--name", "web", "--label", "tier=front", program,
                   "out hello; err oops; sleep 60").strip()
    expect(re.fullmatch(r"[0-9a-f]{12}", vm_id), f"start -d printed {vm_id!r}")
    other = cli.ok("start", "--detach", "--eval", "exit 4").strip()
    d.ok("POST", f"/v1/vms/{other}/wait")
    rows = table(cli.ok("ps"))
    expect(len(rows) == 1 and rows[0][:3] == [vm_id, "web", "running"],
           f"ps: {rows}")
    expect(f"{program} out hello; err oops; sleep 60".startswith(rows[0][-1]) and
           program in rows[0][-1], f"ps: {rows}")
    rows = {r[0]: r for r in table(cli.ok("ps", "-a"))}
    expect(rows.keys() == {vm_id, other} and rows[other][2] == "exited 4",
           f"ps -a: {rows}")
    expect(cli.ok("ps", "-a", "-q").split() == [other, vm_id] or
           sorted(cli.ok("ps", "-a", "-q").split()) == sorted([other, vm_id]), "ps -q")
    expect(cli.ok("ps", "-a", "--label", "tier=front", "-q").split() == [vm_id],
           "ps --label")
    deadline = time.monotonic() + 30
    while (proc := cli.run("logs", "web")).stdout != "hello\n":
        expect(time.monotonic() < deadline, f"logs: {proc.stdout!r} {proc.stderr!r}")
        time.sleep(0.1)
    expect(proc.returncode == 0 and proc.stderr == "oops\n", f"logs: {proc.stderr!r}")
    rows = table(cli.ok("stats"))  # the stand-in is no VMM: no figures
    expect(rows == [[vm_id, "web", "-", "-", "-"]], f"stats: {rows}")
    rows = table(cli.ok("stats", other))
    expect(rows == [[other, "-", "-", "-", "-"]], f"stats {other}: {rows}")
    cli.refused(EXIT_HOST_ERROR, "stats", "nothing", contains="nothing")
    expect(cli.ok("pools").startswith("no pools"), "pools without any")
    snap = os.path.join(work, "app.lvs")
    open(snap, "w").close()
    listed = cli.ok("pools", "app.lvs=1", cwd=work)  # relative to its cwd
    expect(listed.startswith(f"{snap}\n  1 kept: ") and "0 failures" in listed,
           f"pools set: {listed!r}")
    expect(cli.ok("pools", f"{snap}=0").startswith("no pools"), "pools set to 0")
    inspected = json.loads(cli.ok("inspect", "web", other))
    expect([vm["id"] for vm in inspected] == [vm_id, other] and
           inspected[0]["labels"] == {"tier": "front"} and
           inspected[0]["spec"]["program"] == program, f"inspect: {inspected}")
    expect(cli.ok("stop", "-t", "1", "web") == "web\n", "stop")
    expect(cli.ok("stop", "web") == "web\n", "stop of an ended VM is no error")
    proc = cli.run("wait", "web", other)
    expect(proc.returncode == 4 and proc.stdout == f"{128 + signal.SIGTERM}\n4\n",
           f"wait: exit {proc.returncode} {proc.stdout!r}")
    cli.refused(EXIT_HOST_ERROR, "kill", "web", contains="web")
    expect(cli.ok("rm", "web") == "web\n", "rm")
    expect(cli.ok("ps", "-a", "-q").split() == [other], "rm left it in ps -a")
    killed = cli.ok("start", "-d", "--eval", "sleep 60").strip()
    expect(cli.ok("rm", "-f", killed) == f"{killed}\n", "rm -f of a running VM")
    vm_id = cli.ok("start", "-d", "--eval", "ignore-term; sleep 60").strip()
    expect(cli.ok("kill", "-s", "SIGKILL", vm_id) == f"{vm_id}\n", "kill")
    proc = cli.run("wait", vm_id)
    expect(proc.returncode == 128 + signal.SIGKILL, f"wait after kill: {proc.returncode}")


def attached(cli, d, work):
    """start without --detach: the VM's stdout and stderr byte for byte
    (a last line without its newline too), its exit status as the
    command's; a signal to the command reaches the VM."""
    proc = cli.run("start", "--eval", "out hello; err oops; bytes 41; raw 42430a44; exit 3")
    expect(proc.returncode == 3 and proc.stdout == "hello\nA\nBC\nD" and
           proc.stderr == "oops\n",
           f"start: exit {proc.returncode} {proc.stdout!r} {proc.stderr!r}")
    for signum, script, status in ((signal.SIGTERM, "on-term 7; sleep 60", 7),
                                   (signal.SIGINT, "sleep 60", 128 + signal.SIGINT)):
        child = subprocess.Popen([cli.lispvm, "start", "--name", f"sig{signum}", "--eval",
                                  f"out ready; {script}"], env=cli.env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        expect(child.stdout.readline() == "ready\n", "the attached VM did not start")
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
        expect(child.returncode == status,
               f"signal {signum}: exit {child.returncode}, expected {status}: {err!r}")


def events(cli, d, work):
    """lispvm events: a line per event as it happens (--json: the API's
    own), from now or after --since."""
    watcher = subprocess.Popen([cli.lispvm, "events"], env=cli.env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    raw = subprocess.Popen([cli.lispvm, "events", "--json"], env=cli.env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # both are listening (they show only what comes after)
        proc = cli.run("start", "--name", "ev", "--eval", "exit 2")
        expect(proc.returncode == 2, f"start: {proc.returncode} {proc.stderr!r}")
        cli.ok("rm", "ev")
        lines = [watcher.stdout.readline().split() for _ in range(3)]
        expect([line[1] for line in lines] == ["started", "exited", "removed"] and
               all(line[3] == "ev" for line in lines) and lines[1][4:] == ["(exited", "2)"],
               f"events: {lines}")
        got = [json.loads(raw.stdout.readline()) for _ in range(3)]
        expect([e["type"] for e in got] == ["started", "exited", "removed"], f"--json: {got}")
    finally:
        for p in (watcher, raw):
            p.kill()
            p.wait()
    follower = subprocess.Popen([cli.lispvm, "events", "--json", "--since", str(got[0]["seq"])],
                                env=cli.env, stdout=subprocess.PIPE, text=True)
    try:
        replay = [json.loads(follower.stdout.readline())["seq"] for _ in range(2)]
    finally:
        follower.kill()
        follower.wait()
    expect(replay == [got[1]["seq"], got[2]["seq"]], f"--since: {replay}")
    cli.refused(EXIT_HOST_ERROR, "events", "--since", "x", contains="since")


def paths(cli, d, work):
    """Relative paths (program, mount, snapshot) reach the daemon
    absolute; env and mounts as given."""
    os.mkdir(os.path.join(work, "data"))
    open(os.path.join(work, "prog.lisp"), "w").close()
    open(os.path.join(work, "app.lvs"), "w").close()
    vm_id = cli.ok("start", "-d", "--mount", "data:/data:ro", "--mount",
                   "data:/out:rw,max-size=2M", "--env", "A=1",
                   "--snapshot", "app.lvs", "-m", "512M", "--cwd", "/data", "prog.lisp",
                   "x", cwd=work).strip()
    spec = json.loads(cli.ok("inspect", vm_id))[0]["spec"]
    expect(spec["program"] == os.path.join(work, "prog.lisp") and
           spec["snapshot"] == os.path.join(work, "app.lvs") and
           spec["mounts"] == [{"host": os.path.join(work, "data"), "guest": "/data",
                               "readonly": True},
                              {"host": os.path.join(work, "data"), "guest": "/out",
                               "readonly": False, "max_size": str(2 << 20)}] and
           spec["env"] == {"A": "1"} and spec["args"] == ["x"] and
           spec["memory"] == "512M" and spec["cwd"] == "/data", f"spec: {spec}")


def refusals(cli, d, work):
    """One line and a non-zero exit: no daemon, an unknown VM, a missing
    program, a name taken, a bad command line."""
    cli.refused(EXIT_HOST_ERROR, "stop", "nosuch", contains="nosuch")
    cli.refused(EXIT_HOST_ERROR, "logs", "nosuch", contains="nosuch")
    cli.refused(EXIT_HOST_ERROR, "start", os.path.join(work, "missing.lisp"),
                contains="missing.lisp")
    cli.ok("start", "-d", "--name", "taken", "--eval", "sleep 60")
    cli.refused(EXIT_HOST_ERROR, "start", "--name", "taken", "--eval", "1",
                contains="taken")
    cli.refused(EXIT_HOST_ERROR, "start", "--name", "a/b", "--eval", "1", contains="name")
    cli.refused(EXIT_USAGE, "start")
    cli.refused(EXIT_USAGE, "start", "--eval", "1", "prog.lisp")
    cli.refused(EXIT_USAGE, "logs")
    cli.refused(EXIT_USAGE, "stop", "-t", "soon", "taken")
    cli.refused(EXIT_USAGE, "wait", "--timeout", "5%s%n", "taken")
    cli.refused(EXIT_USAGE, "kill", "--time", "5", "taken")
    cli.refused(EXIT_USAGE, "ps", "--bogus")
    cli.refused(EXIT_USAGE, "pools", "extra")
    cli.refused(EXIT_HOST_ERROR, "pools", os.path.join(work, "none.lvs") + "=1",
                contains="none.lvs")
    cli.refused(EXIT_USAGE, "start", "--env", "=1", "--eval", "1")
    cli.env["LISPVMD_SOCKET"] = os.path.join(work, "none.sock")
    cli.refused(EXIT_HOST_ERROR, "ps", contains="no lispvmd answers at")
    proc = cli.run("ps", "--socket", d.path)
    expect(proc.returncode == 0, f"--socket: {proc.stderr!r}")



ROOT_SOCKET = "/run/lispvm/lispvmd.sock"


def root_daemon(lispvmd, lispvm):
    """A user without a daemon of their own reaches root's, which serves
    every user: lispvm start, ps and inspect as the account daemon, with
    no socket given, find /run/lispvm/lispvmd.sock, and the VM is theirs.
    (It listens on the real default path, so that path must be free.)"""
    expect(os.getuid() == 0, "this case needs root (CI runs as root): it acts as a user")
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(ROOT_SOCKET)
            raise TestFailure(f"a lispvmd already listens at {ROOT_SOCKET}: this case "
                              "needs that path (stop it first)")
        except (FileNotFoundError, ConnectionRefusedError):
            pass
    user = pwd.getpwnam("daemon")
    made_dir = not os.path.isdir(os.path.dirname(ROOT_SOCKET))
    with tempfile.TemporaryDirectory(prefix="lispvm-cli-test-") as work:
        os.chmod(work, 0o755)
        fake = os.path.join(work, "fake_lispvm.py")
        shutil.copy(FAKE_LISPVM, fake)
        os.chmod(fake, 0o755)
        runtime = os.path.join(work, "runtime")  # theirs, with no daemon in it
        os.mkdir(runtime, 0o700)
        os.chown(runtime, user.pw_uid, user.pw_gid)
        d = Daemon(os.path.abspath(lispvmd), work, ["--lispvm", fake], socket_path=ROOT_SOCKET)
        try:
            env = {k: v for k, v in os.environ.items() if k != "LISPVMD_SOCKET"}
            env["XDG_RUNTIME_DIR"] = runtime

            def as_them(*args):
                return subprocess.run([os.path.abspath(lispvm), *args], capture_output=True,
                                      text=True, env=env, timeout=60, cwd="/",
                                      user=user.pw_uid, group=user.pw_gid, extra_groups=[])

            started = as_them("start", "-d", "--name", "theirs", "--eval", "sleep 60")
            expect(started.returncode == 0, f"start as {user.pw_name}: {started}")
            listed = as_them("ps")
            expect(listed.returncode == 0 and "theirs" in listed.stdout, f"ps: {listed}")
            inspected = as_them("inspect", "theirs")
            expect(inspected.returncode == 0 and
                   json.loads(inspected.stdout)[0]["owner"] == user.pw_uid,
                   f"inspect: {inspected}")
        finally:
            d.stop()
            try:
                os.unlink(ROOT_SOCKET)
            except FileNotFoundError:
                pass
            if made_dir:
                os.rmdir(os.path.dirname(ROOT_SOCKET))

if __name__ == "__main__":
    cases = {test.__name__: (lambda t: lambda lispvmd, lispvm: with_daemon(lispvmd, lispvm, t))(
        test) for test in (commands, attached, events, paths, refusals)}
    main({**cases, "root_daemon": root_daemon})
