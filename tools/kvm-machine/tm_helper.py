# SPDX-License-Identifier: MIT
"""The helper machine: where lispvm runs its microVMs on a host without
/dev/kvm, as Docker Desktop and Lima run containers in a Linux VM.

It is the test machine booted in helper mode (init.sh): the host's user
directories are read-write and coherent inside, the machine gets memory
for many VMs, and it belongs to no process.  One per user: the state is
$XDG_RUNTIME_DIR/lispvm/machine/ (or /tmp/lispvm-UID/machine/).  A
detached supervisor boots QEMU, then serves a Unix socket `control` there.
Each command holds a connection to it for as long as it runs ("use" is
answered with the agent's port); with none held for the idle time, the
supervisor stops the machine.  If QEMU stops, every held connection gets
"stopped REASON" and the next command boots a new machine.

Files: `lock` (serialises the boot among commands), `alive` (flocked by
the supervisor for its whole life, so a new boot waits until an old
machine is gone), `token` (the agent's credential, 0600), `control`,
`console.log` (the last machine's console, kept until the next boot),
`qemu.log` (QEMU's log of CPU resets, which tells a triple fault)."""

import fcntl
import json
import os
import select
import socket
import time

import tm_machine

DEFAULT_IDLE = 300.0  # s


class HelperError(Exception):
    pass


def state_dir():
    configured = os.environ.get("LISPVM_MACHINE_DIR")
    if configured:
        return configured
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and runtime.startswith("/") and os.path.isdir(runtime):
        return os.path.join(runtime, "lispvm", "machine")
    return f"/tmp/lispvm-{os.getuid()}/machine"


def lispvm_cache_dir():
    """lispvm's default --cache directory (lisp_run.c's lisp_cache_dir)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and xdg.startswith("/"):
        return os.path.join(xdg, "lispvm")
    home = os.environ.get("HOME")
    return os.path.join(home, ".cache", "lispvm") if home and home.startswith("/") else None


def idle_seconds():
    value = os.environ.get("LISPVM_MACHINE_IDLE", str(DEFAULT_IDLE))
    try:
        seconds = float(value)
    except ValueError:
        raise HelperError(f"LISPVM_MACHINE_IDLE={value}: not a number of seconds")
    if seconds <= 0:
        raise HelperError(f"LISPVM_MACHINE_IDLE={value}: must be positive")
    return seconds


def _path(name):
    return os.path.join(state_dir(), name)


def _prepare_state():
    state = state_dir()
    os.makedirs(state, mode=0o700, exist_ok=True)
    st = os.lstat(state)
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise HelperError(f"{state} is not a private directory of this user's")
    return state


class HelperSupervisor(tm_machine.Supervisor):
    mode = "helper"
    name = "the helper machine"

    def __init__(self, state, report_fd, idle):
        self.alive = open(os.path.join(state, "alive"), "w")
        fcntl.flock(self.alive, fcntl.LOCK_EX)  # released when this process ends
        super().__init__(state, None, report_fd, state)
        self.idle = idle
        self.started = time.time()
        self.clients = []
        self.port = self.listener = self.control_path = None

    def console_name(self):
        return "console.log"  # kept until the next boot

    def qemu_argv(self, kernel, initramfs, port):
        """lispvm's default cache (the SBCL image a VM maps, ASDF's fasls)
        as a share of its own with 9p's page cache: a coherent mount
        re-reads the image's pages from the host for every VM.  lispvm in
        this machine is the only writer of its cache on a host without
        /dev/kvm, so the page cache cannot go stale."""
        argv = tm_machine.qemu_argv(kernel, initramfs, port, self.state, self.mode, "/")
        argv += self.qemu_log()
        cache = lispvm_cache_dir()
        if cache is None or any(c.isspace() or c in ",\"" for c in cache):
            return argv
        os.makedirs(cache, mode=0o755, exist_ok=True)
        argv[argv.index("-append") + 1] += f" lispvm.cache={cache}"
        return argv + ["-fsdev", f"local,id=lispvmcache,path={cache},security_model=none,"
                       "multidevs=remap", "-device",
                       "virtio-9p-pci,fsdev=lispvmcache,mount_tag=lispvmcache"]

    def before_ready(self, port):
        """The control socket listens before the booting command hears
        "ready", so its "use" finds this machine."""
        self.port = port
        self.control_path = os.path.join(self.state, "control")
        tm_machine._remove(self.control_path)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.control_path)
        self.listener.listen(64)

    def watch(self):
        listener = self.listener
        qemu = self.qemu.stdout.fileno()
        idle_since = time.monotonic()
        try:
            while True:
                timeout = None
                if not self.clients:
                    timeout = max(0.0, idle_since + self.idle - time.monotonic())
                ready, _, _ = select.select([qemu, listener] + self.clients, [], [], timeout)
                if not ready:
                    return  # idle: the listener closes first, so no new command gets in
                if qemu in ready and not self.pump_console():
                    self.machine_stopped()
                    return
                if listener in ready and self.answer(listener.accept()[0]) == "stop":
                    return
                for conn in [c for c in self.clients if c in ready]:
                    self.clients.remove(conn)  # its command ended (only EOF comes)
                    conn.close()
                    if not self.clients:
                        idle_since = time.monotonic()
        finally:
            listener.close()
            tm_machine._remove(self.control_path)

    def answer(self, conn):
        conn.settimeout(5)
        try:
            request = conn.recv(64).decode(errors="replace").strip()
            if request == "use":
                conn.sendall(f"ready {self.port}\n".encode())
                conn.settimeout(None)
                self.clients.append(conn)
                return request
            if request == "status":
                conn.sendall((json.dumps(self.status()) + "\n").encode())
            elif request == "stop":
                conn.sendall(b"stopping\n")
        except OSError:
            pass
        conn.close()
        return request

    def status(self):
        return {"pid": os.getpid(), "qemu_pid": self.qemu.pid,
                "uptime": round(time.time() - self.started, 1), "commands": len(self.clients),
                "idle_timeout": self.idle, "memory": tm_machine.helper_memory(),
                "cpus": tm_machine.CPUS, "port": self.port, "console": self.console_path}

    def machine_stopped(self):
        reason = self.stopped()
        for conn in self.clients:
            try:
                conn.sendall(f"stopped {reason}\n".encode())
            except OSError:
                pass

    def finish(self):
        """The next command boots a new machine in the same directory."""
        failed = tm_machine._read(self.state, "failed")
        self.report("failed " + (failed or "the supervisor ended"))
        for name in ("port", "token", "failed", "monitor", "console", "control"):
            tm_machine._remove(os.path.join(self.state, name))


def _ask(request):
    """Sends a request to a running supervisor: (connection, first line),
    or (None, None) if there is none."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(_path("control"))
        sock.sendall(request.encode() + b"\n")
        line = b""
        while not line.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionResetError
            line += chunk
        return sock, line.decode().strip()
    except OSError:
        sock.close()
        return None, None


def _boot(log, reason):
    """Boots a machine (the caller holds `lock`) once any old one is gone."""
    with open(_path("alive"), "w") as alive:
        fcntl.flock(alive, fcntl.LOCK_EX)  # an old supervisor stopping finishes first
    idle = idle_seconds()
    log(f"starting the helper machine ({reason}): QEMU TCG with nested KVM, "
        f"so programs run slower than on a host with /dev/kvm")
    state = state_dir()
    line = tm_machine.start_supervisor(lambda fd: HelperSupervisor(state, fd, idle))
    if not line.startswith("ready "):
        raise HelperError(line.removeprefix("failed ") or "the supervisor died")
    log(f"helper machine up in {line.split()[2]} s; it stops after {idle:.0f} s without "
        f"commands ('lispvm machine stop' stops it now)")


def use(log, reason, boot=True):
    """(control connection, port, token) of the user's helper machine,
    booting it if there is none (unless boot is False: then None).  The
    connection must stay open while the command runs."""
    _prepare_state()
    for _ in range(3):
        with open(_path("lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            conn, line = _ask("use")
            if conn is None:
                if not boot:
                    return None
                _boot(log, reason)
                conn, line = _ask("use")
        if conn is not None and line.startswith("ready "):
            with open(_path("token")) as f:
                return conn, int(line.split()[1]), f.read().strip()
        # It answered while going idle: ask again, which boots a new one.
    raise HelperError("the helper machine went away three times while starting")


def _request(request):
    """A running supervisor's one-line answer, or None."""
    _prepare_state()
    conn, line = _ask(request)
    if conn is None:
        return None
    conn.close()
    return line


def status():
    """The running machine's status (a dict), or None."""
    line = _request("status")
    return None if line is None else json.loads(line)


def stop():
    """Stops the machine (commands in it end); False if none ran."""
    if _request("stop") is None:
        return False
    with open(_path("alive"), "w") as alive:
        fcntl.flock(alive, fcntl.LOCK_EX)  # until the supervisor is gone
    return True
