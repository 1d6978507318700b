# SPDX-License-Identifier: MIT
"""lispvm --jail: the VMM in namespaces of its own, in a root holding only
its VM's files, with no capabilities; seen from outside, through /proc.
Usage: jail.py CASE LISPVM GUEST_ELF"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import (TestFailure, describe, expect, expect_exit, expect_in,  # noqa: E402
                         main, require_kvm, run)

HOST_ERROR = 125
BOOT = ["boot", "--memory", "64M", "--timeout", "60"]
NAMESPACES = ("user", "mnt", "pid", "net", "ipc", "uts")
ENV = dict(os.environ, LISPVM_MACHINE="never")


def boots_jailed(exe, elf):
    require_kvm()
    proc = run([exe, "--jail", "--kernel", elf, *BOOT], env=ENV)
    expect_exit(proc, 0)
    expect_in("lispvm guest runtime", proc.stdout, proc)


def status_of(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)


def jailed_vmm(supervisor):
    """The VMM: the supervisor's grandchild (supervisor, keeper, VMM)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for keeper in children(supervisor):
            for vmm in children(keeper):
                return keeper, vmm
        time.sleep(0.1)
    raise TestFailure("no jailed VMM process appeared in 60 s")


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except FileNotFoundError:
        return []


def check_vmm(vmm, mount_dir, elf):
    status = status_of(vmm)
    for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        expect(int(status[field], 16) == 0, f"{field} of the VMM: {status[field].strip()}")
    expect(status["Seccomp"].strip() == "2", f"Seccomp {status['Seccomp'].strip()}")
    expect(status["NoNewPrivs"].strip() == "1", "no_new_privs is not set")
    expect(status["NSpid"].split()[-1] == "1", f"not pid 1 in its namespace: {status['NSpid']}")
    for ns in NAMESPACES:
        mine, its = os.readlink(f"/proc/self/ns/{ns}"), os.readlink(f"/proc/{vmm}/ns/{ns}")
        expect(mine != its, f"the VMM shares the {ns} namespace ({its})")
    with open(f"/proc/{vmm}/limits") as f:
        files = re.search(r"Max open files\s+(\d+)", f.read()).group(1)
    expect(files == "2048", f"open files limit {files}")
    with open(f"/proc/{vmm}/mountinfo") as f:
        mounts = {line.split()[4]: line.split()[5] for line in f}
    expect(mounts.get("/", "").startswith("ro"), f"the root is not read-only: {mounts}")
    expect(mounts.get(mount_dir, "").startswith("rw"), f"{mount_dir} not rw: {mounts}")
    expect(mounts.get(os.path.realpath(elf), "").startswith("ro"), f"kernel not ro: {mounts}")
    expect("/dev/kvm" in mounts and "/proc" in mounts, f"mounts: {sorted(mounts)}")
    for path in mounts:
        expect(not path.startswith(("/etc", "/home", "/usr", "/root/.ssh", "/var")) or
               path.startswith(mount_dir), f"{path} is in the jail: {sorted(mounts)}")


def isolated(exe, elf):
    """A Lisp program with a mount and the attach agent: the VMM is pid 1
    of new namespaces, sees its own files only, has no capability; attach
    reaches it through the socket made outside; the sockets go at exit."""
    require_kvm()
    with tempfile.TemporaryDirectory() as tmp:
        mount_dir = os.path.join(tmp, "m")
        os.mkdir(mount_dir)
        program = os.path.join(tmp, "p.lisp")
        with open(program, "w") as f:
            f.write('(with-open-file (s "/mnt/up" :direction :output) (write-line "in" s))\n'
                    '(sleep 60)\n')
        name = f"jail-test-{os.getpid()}"
        vm = subprocess.Popen([exe, "--jail", "--kernel", elf, "run", "--attachable", "--name",
                               name, "--timeout", "120", "--mount", f"{mount_dir}:/mnt",
                               program], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=ENV)
        try:
            keeper, vmm = jailed_vmm(vm.pid)
            deadline = time.monotonic() + 90
            while not os.path.exists(os.path.join(mount_dir, "up")):
                if vm.poll() is not None:
                    raise TestFailure(f"lispvm ended early: {vm.communicate()}")
                expect(time.monotonic() < deadline, "the program did not write in 90 s")
                time.sleep(0.2)
            check_vmm(vmm, os.path.realpath(mount_dir), elf)
            expect(int(status_of(keeper)["CapEff"], 16) == 0, "the keeper has capabilities")
            attach = run([exe, "attach", name], input="(+ 40 2)\n", env=ENV)
            expect_in("42", attach.stdout, attach)
        finally:
            vm.terminate()
            out, err = vm.communicate(timeout=60)
    leftovers = [f for f in os.listdir(f"/tmp/lispvm-{os.getuid()}") if f.startswith(name)] \
        if os.path.isdir(f"/tmp/lispvm-{os.getuid()}") else []
    run_dir = f"/run/user/{os.getuid()}/lispvm"
    if os.path.isdir(run_dir):
        leftovers += [f for f in os.listdir(run_dir) if f.startswith(name)]
    expect(not leftovers, f"sockets left behind: {leftovers}")


def as_another_user(exe, elf):
    """As root, --jail-user runs the VMM as that user (a guest that spins
    until its --timeout, to be looked at meanwhile)."""
    require_kvm()
    expect(os.geteuid() == 0, "this case needs root (the kvm suite runs as root)")
    vm = subprocess.Popen([exe, "--jail", "--jail-user", "65534:65534", "--kernel", elf, "boot",
                           "--memory", "64M", "--timeout", "20", "--append", "selftest=hang"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        _, vmm = jailed_vmm(vm.pid)
        time.sleep(1)
        uids = status_of(vmm)["Uid"].split()
        expect(uids == ["65534"] * 4, f"the VMM runs as {uids}")
        expect(int(status_of(vmm)["CapEff"], 16) == 0, "capabilities left")
    finally:
        vm.terminate()
        vm.communicate(timeout=60)
    # SIGTERM to lispvm reached the VMM (through the keeper, which runs as
    # that user too), well before the guest's --timeout.
    expect(vm.returncode == 128 + 15, f"after SIGTERM lispvm exited {vm.returncode}")
    proc = run([exe, "--jail", "--jail-user", "65534", "--kernel", elf, *BOOT], env=ENV)
    expect_exit(proc, 0)


def unprivileged(exe, elf):
    """A user who is not root: the jail is made in a user namespace."""
    require_kvm()
    expect(os.geteuid() == 0, "this case needs root to become another user")
    kvm_group = os.stat("/dev/kvm").st_gid
    with tempfile.TemporaryDirectory() as home:
        os.chown(home, 65534, 65534)
        proc = run(["setpriv", "--reuid=65534", "--regid=65534", f"--groups={kvm_group}",
                    "--inh-caps=-all", "env", f"HOME={home}", "LISPVM_MACHINE=never", exe,
                    "--jail", "--kernel", elf, *BOOT])
    expect_exit(proc, 0)
    expect_in("lispvm guest runtime", proc.stdout, proc)
    proc = run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env",
                f"HOME=/", "LISPVM_MACHINE=never", exe, "--jail", "--jail-user", "1000",
                "--kernel", elf, *BOOT])
    expect(proc.returncode == HOST_ERROR and "only root" in proc.stderr, describe(proc))


def cgroup_dirs(pid):
    """{controller or '': directory} of pid's cgroups under /sys/fs/cgroup."""
    dirs = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in (controllers.split(",") if controllers else [""]):
                if c not in ("", "memory", "pids", "cpu"):
                    continue
                base = "/sys/fs/cgroup" + (f"/{c}" if c else "")
                if not controllers and os.path.isdir("/sys/fs/cgroup/memory"):
                    continue  # the v2 hierarchy beside v1 controllers
                dirs[c] = base + path
    return dirs


def read(path):
    with open(path) as f:
        return f.read().strip()


def limited(exe, elf):
    """Root's jail: a cgroup of its own with memory (--memory and 512 MiB),
    pids (64) and CPU (--jail-cpus) limits; gone after the VM."""
    require_kvm()
    vm = subprocess.Popen([exe, "--jail", "--jail-cpus", "0.5", "--kernel", elf, "boot",
                           "--memory", "256M", "--timeout", "20", "--append", "selftest=hang"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        keeper, vmm = jailed_vmm(vm.pid)
        dirs = cgroup_dirs(vmm)
        expect(cgroup_dirs(keeper) == dirs, "the keeper and the VMM are in different cgroups")
        want_memory = str((256 + 512) << 20)
        if "" in dirs:  # cgroup v2
            d = dirs[""]
            got = (read(f"{d}/memory.max"), read(f"{d}/pids.max"), read(f"{d}/cpu.max"))
            want = (want_memory, "64", "50000 100000")
        else:
            got = (read(f"{dirs['memory']}/memory.limit_in_bytes"),
                   read(f"{dirs['pids']}/pids.max"), read(f"{dirs['cpu']}/cpu.cfs_quota_us"))
            want = (want_memory, "64", "50000")
            d = dirs["memory"]
        expect(got == want, f"limits {got}, expected {want} ({dirs})")
        expect("/lispvm/vm-" in d, f"not lispvm's cgroup: {d}")
    finally:
        vm.terminate()  # passed on to the VMM; lispvm then cleans up
        vm.communicate(timeout=60)
    expect(vm.returncode == 128 + 15, f"after SIGTERM lispvm exited {vm.returncode}")
    for path in dirs.values():
        expect(not os.path.exists(path), f"{path} is left behind")


PROGRAM = """(format t "~a ~a ~a~%" *x* (if (boundp '*y*) (symbol-value '*y*) "-")
        (with-open-file (s "/m/data") (read-line s)))
"""

# Waits for /m/go, which appears only after its snapshot, then says so.
WAITER = """(loop until (probe-file "/m/go") do (sleep 0.05))
(with-open-file (s "/m/out" :direction :output :if-exists :supersede)
  (write-line "resumed" s))
"""


def write_file(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def from_snapshot(exe, elf):
    """Snapshots made and restored in jails: a prepare (its output the
    only path written), a diff prepared over it, a run from the diff
    (the jail shows its base), a working set recorded and prefetched,
    and a jailed running VM's snapshot resumed with the mount it had (rw)."""
    require_kvm()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        mount = os.path.join(tmp, "m")
        os.mkdir(mount)
        write_file(os.path.join(mount, "data"), "from the host\n")
        prog = write_file(os.path.join(tmp, "prog.lisp"), PROGRAM)
        base, diff = os.path.join(tmp, "base.snap"), os.path.join(tmp, "diff.snap")
        jail = [exe, "--jail", "--kernel", elf]
        proc = run([*jail, "prepare", "-o", base, "--eval", "(defvar *x* 42)"], env=ENV)
        expect_exit(proc, 0)
        proc = run([*jail, "prepare", "--snapshot", base, "-o", diff, "--eval",
                    "(defvar *y* 7)"], env=ENV)
        expect_exit(proc, 0)
        mount_ro = ["--mount", f"{mount}:/m:ro"]
        proc = run([*jail, "run", "--snapshot", diff, *mount_ro, prog], env=ENV)
        expect_exit(proc, 0)
        expect(proc.stdout == "42 7 from the host\n", describe(proc))
        ws = os.path.join(tmp, "ws")
        for extra in (["--record-working-set", ws], ["--prefetch", ws]):
            proc = run([*jail, "run", "--snapshot", base, *extra, *mount_ro, prog], env=ENV)
            expect_exit(proc, 0)
            expect(proc.stdout == "42 - from the host\n", describe(proc))
        expect(os.path.getsize(ws) > 0, "no working set written")
        resume_running(exe, jail, tmp, mount)


def resume_running(exe, jail, tmp, mount):
    """A jailed running VM saved twice into a directory its jail does not
    show (lispvm snapshot hands the VMM the file, open): whole, then a
    diff over that, and resumed jailed from the diff with its rw mount."""
    waiter = os.path.join(tmp, "waiter.lisp")
    os.mkdir(os.path.join(tmp, "out"))
    whole = os.path.join(tmp, "out", "running.snap")
    diff = os.path.join(tmp, "out", "running-diff.snap")
    write_file(waiter, WAITER)
    name = f"jail-resume-{os.getpid()}"
    vm = subprocess.Popen([*jail, "run", "--attachable", "--name", name, "--mount",
                           f"{mount}:/m:rw", waiter], env=ENV, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            proc = run([exe, "snapshot", name, "-o", whole], env=ENV)
            if proc.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        expect_exit(proc, 0)
        proc = run([exe, "snapshot", name, "-o", diff, "--diff", whole, "--stop"], env=ENV)
        expect_exit(proc, 0)
        vm.communicate(timeout=120)
    finally:
        vm.kill()
    expect(os.stat(diff).st_blocks < os.stat(whole).st_blocks, "the diff stores no less")
    expect(not [f for f in os.listdir(os.path.join(tmp, "out")) if ".tmp-" in f],
           "a snapshot's temporary file was left")
    open(os.path.join(mount, "go"), "w").close()
    proc = run([*jail, "run", "--snapshot", diff], env=ENV)
    expect_exit(proc, 0)
    with open(os.path.join(mount, "out")) as f:
        expect(f.read() == "resumed\n", "the resumed VM did not write through its mount")


def refuses_what_it_cannot_jail(exe, elf):
    require_kvm()
    proc = run([exe, "--jail", "--kernel", elf, "run", "--snapshot", "/nonexistent.snap"],
               env=ENV)
    expect(proc.returncode != 0, describe(proc))
    lines = [l for l in proc.stderr.splitlines() if l.startswith("lispvm")]
    expect(len(lines) == 1, f"expected one line: {proc.stderr!r}")
    proc = run([exe, "--jail", "--kernel", elf, "run", "--snapshot", "/nonexistent.snap",
                "--pooled", "/nonexistent.sock"], env=ENV)
    expect(proc.returncode == HOST_ERROR and proc.stderr.count("\n") == 1 and
           "/nonexistent.snap" in proc.stderr, describe(proc))
    proc = run([exe, "--jail-user", "0", "--jail", *BOOT], env=ENV)
    expect(proc.returncode == 2 and "other than root" in proc.stderr, describe(proc))
    proc = run([exe, "--jail-cpus", "0", "--jail", *BOOT], env=ENV)
    expect(proc.returncode == 2 and "--jail-cpus" in proc.stderr, describe(proc))


# A warm VM's program: its arguments and environment, a file read and one
# written through a rw mount, and its own directory (a read-only mount).
WARM_PROGRAM = """(format t "args ~s env ~a~%" (cdr sb-ext:*posix-argv*) (sb-ext:posix-getenv "K"))
(format t "read ~a~%" (with-open-file (s "/data/in") (read-line s)))
(with-open-file (s "/data/out" :direction :output) (write-line "written" s))
(format t "own directory ~a~%"
        (handler-case (with-open-file (s (merge-pathnames "x" *load-truename*)
                                         :direction :output)
                        "writable")
          (error () "read-only")))
(sb-ext:exit :code 7)
"""


def ask_warm_vm(sock, words):
    """A warm VM's one-line answer to the invocation words."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(120)
        s.connect(sock)
        body = b"".join(w.encode() + b"\0" for w in words)
        s.sendall(str(len(body)).encode() + b"\n" + body)
        s.shutdown(socket.SHUT_WR)
        return s.makefile().readline()


def start_warm_vm(exe, elf, snap, sock, jail=True):
    vm = subprocess.Popen([exe, *(["--jail"] if jail else []), "--kernel", elf, "run",
                           "--snapshot", snap, "--pooled", sock], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 120
    while not os.path.exists(sock):
        if vm.poll() is not None:
            raise TestFailure(f"the warm VM ended: {vm.communicate()}")
        expect(time.monotonic() < deadline, "the warm VM's socket did not appear in 120 s")
        time.sleep(0.1)
    return vm


def check_waiting_vmm(vm, hidden):
    """A jailed warm VM's VMM while it waits: jailed as any other (its
    seccomp filter comes once it has its program), none of hidden in
    sight."""
    keeper, vmm = jailed_vmm(vm.pid)
    status = status_of(vmm)
    for field in ("CapEff", "CapPrm", "CapBnd", "CapAmb"):
        expect(int(status[field], 16) == 0, f"{field} of the VMM: {status[field].strip()}")
    expect(status["NoNewPrivs"].strip() == "1", "no_new_privs is not set")
    expect(status["NSpid"].split()[-1] == "1", f"not pid 1 in its namespace: {status['NSpid']}")
    for ns in NAMESPACES:
        expect(os.readlink(f"/proc/self/ns/{ns}") != os.readlink(f"/proc/{vmm}/ns/{ns}"),
               f"the VMM shares the {ns} namespace")
    with open(f"/proc/{vmm}/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    for path in hidden:
        expect(not any(m == path or m.startswith(path + "/") or path.startswith(m + "/") and
                       m != "/" for m in mounts), f"{path} is in the jail: {mounts}")
    # Its descriptors: stdio, KVM's, the snapshot's, and one socket (its
    # end of the pair to lispvm), never the pool's socket or a directory.
    fds = {fd: os.readlink(f"/proc/{vmm}/fd/{fd}") for fd in os.listdir(f"/proc/{vmm}/fd")}
    expect(sum(t.startswith("socket:") for t in fds.values()) == 1, f"its sockets: {fds}")
    expect(not any(t.startswith(p) for t in fds.values() for p in hidden), f"fds: {fds}")
    expect(not any(os.path.isdir(t) for t in fds.values() if t.startswith("/")),
           f"a directory is open in the jail: {fds}")


def warm(exe, elf):
    """A jailed warm VM (run --jail --snapshot --pooled): the VMM waits in
    its jail, which shows neither the program nor the directories it will
    be given; the supervisor outside refuses what it cannot run and the
    VM waits on; the program taken runs with its arguments, environment,
    a rw mount and its own directory read-only; a warm VM that is not
    jailed refuses a jailed program (stale) and ends; one too slow to take
    its program is refused and never runs it; SIGTERM ends a waiting one,
    socket and processes."""
    require_kvm()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        os.mkdir(os.path.join(tmp, "snap"))
        snap, sock = os.path.join(tmp, "snap", "warm.snap"), os.path.join(tmp, "warm.sock")
        proc = run([exe, "--kernel", elf, "prepare", "-o", snap], env=ENV)
        expect_exit(proc, 0)
        data, progdir = os.path.join(tmp, "data"), os.path.join(tmp, "prog")
        os.mkdir(data)
        os.mkdir(progdir)
        write_file(os.path.join(data, "in"), "from the host\n")
        prog = write_file(os.path.join(progdir, "warm.lisp"), WARM_PROGRAM)
        base = ["lispvm", "run", "--jail", "--kernel", elf, "--snapshot", snap]
        vm = start_warm_vm(exe, elf, snap, sock)
        try:
            check_waiting_vmm(vm, [data, progdir, sock])
            for words, said in (([*base, "/nonexistent/p.lisp"], "/nonexistent/p.lisp"),
                                ([*base, "--prefetch", prog, prog], "--prefetch"),
                                ([*base, "--mount", "/nonexistent:/x", prog],
                                 "cannot use host directory /nonexistent")):
                answer = ask_warm_vm(sock, words)
                expect(answer.startswith("error: ") and said in answer and
                       "stale" not in answer, f"{words}: {answer!r}")
            answer = ask_warm_vm(sock, [*base, "--mount", f"{data}:/data:rw", "--env", "K=v",
                                        prog, "a", "b c"])
            expect(answer == "ok\n", f"the program was not taken: {answer!r}")
            out, err = vm.communicate(timeout=120)
        finally:
            vm.kill()
        expect(vm.returncode == 7, f"exit {vm.returncode}: {out!r} {err!r}")
        expect(out == 'args ("a" "b c") env v\nread from the host\n'
               "own directory read-only\n", f"output {out!r} {err!r}")
        with open(os.path.join(data, "out")) as f:
            expect(f.read() == "written\n", "the rw mount was not written")
        expect(os.listdir(progdir) == ["warm.lisp"], f"{os.listdir(progdir)}")
        expect(not os.path.exists(sock), "the socket was left behind")
        os.unlink(os.path.join(data, "out"))
        # A VMM that does not take its program in time (stopped here) is
        # told no, and then never runs it: no program runs twice.
        vm = start_warm_vm(exe, elf, snap, sock)
        try:
            _, vmm = jailed_vmm(vm.pid)
            os.kill(vmm, signal.SIGSTOP)
            answer = ask_warm_vm(sock, [*base, "--mount", f"{data}:/data:rw", prog, "late"])
            os.kill(vmm, signal.SIGCONT)
            out, err = vm.communicate(timeout=120)
        finally:
            vm.kill()
        expect(answer.startswith("error: stale: ") and "did not take" in answer, repr(answer))
        expect(vm.returncode == HOST_ERROR and "went away" in err and out == "",
               f"exit {vm.returncode}: {out!r} {err!r}")
        expect(not os.path.exists(os.path.join(data, "out")), "the refused program ran")
        # Not jailed: a jailed program is never run there.
        vm = start_warm_vm(exe, elf, snap, sock, jail=False)
        try:
            answer = ask_warm_vm(sock, [*base, prog])
            out, err = vm.communicate(timeout=60)
        finally:
            vm.kill()
        expect(answer.startswith("error: stale: ") and "not jailed" in answer, repr(answer))
        expect(vm.returncode == HOST_ERROR and err.count("\n") == 1 and "not jailed" in err,
               f"exit {vm.returncode}: {err!r}")
        vm = start_warm_vm(exe, elf, snap, sock)
        try:
            keeper, vmm = jailed_vmm(vm.pid)
            vm.terminate()
            vm.communicate(timeout=60)
        finally:
            vm.kill()
        expect(vm.returncode == 128 + 15, f"after SIGTERM: exit {vm.returncode}")
        expect(not os.path.exists(sock), "the socket was left behind")
        for pid in (keeper, vmm):
            expect(not os.path.exists(f"/proc/{pid}") or
                   open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z",
                   f"process {pid} lives on")


if __name__ == "__main__":
    main({f.__name__: f for f in (boots_jailed, isolated, as_another_user, unprivileged,
                                  limited, from_snapshot, refuses_what_it_cannot_jail, warm)})
