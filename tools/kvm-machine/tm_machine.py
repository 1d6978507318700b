# SPDX-License-Identifier: MIT
"""Starting, finding and stopping a test machine.

A machine belongs to an owner process (the `meson test` run, or the
kvm-machine command itself) and lives exactly as long as it: a supervisor,
detached in a session of its own, starts QEMU (which dies with the
supervisor through PR_SET_PDEATHSIG) and waits on the owner's pidfd.  The
state directory is named after the owner's pid and start time, so two runs
at once each get their own machine, and a lock serialises the first boot
among the owner's commands.  State files: `token` (the agent's
credential), `port` (written once the agent answered), `failed` (why the
machine could not serve), `console.log` (kept when the boot failed)."""

import ctypes
import fcntl
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import tm_image
import tm_protocol as proto

HERE = os.path.dirname(os.path.abspath(__file__))
BOOT_TIMEOUT = float(os.environ.get("LISPVM_TEST_MACHINE_BOOT_TIMEOUT", "600"))
MEMORY = os.environ.get("LISPVM_TEST_MACHINE_MEMORY", "8G")
CPUS = os.environ.get("LISPVM_TEST_MACHINE_CPUS", str(os.cpu_count() or 2))
PR_SET_PDEATHSIG = 1


class MachineError(Exception):
    pass


def state_base():
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "lispvm-test-machine")
    return f"/tmp/lispvm-test-machine-{os.getuid()}"


def process_key(pid):
    """pid-starttime: a name a recycled pid cannot take over."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return f"{pid}-{fields[19]}"


def helper_memory():
    """The helper machine holds many VMs: half the host's RAM, 4-16 GiB
    (QEMU allocates it only as the machine touches it)."""
    configured = os.environ.get("LISPVM_MACHINE_MEMORY")
    if configured:
        return configured
    with open("/proc/meminfo") as f:
        total_kib = int(f.readline().split()[1])
    return f"{max(4, min(16, total_kib // 2 // (1 << 20)))}G"


def tcg_threads():
    """QEMU's TCG threading: one thread for all vCPUs unless asked
    (docs/testing.md: multi-threaded TCG corrupted the machine's memory
    under many VMs)."""
    return os.environ.get("LISPVM_TEST_MACHINE_TCG", "multi")


def qemu_argv(kernel, initramfs, port, state, mode, cwd, gdb_port=None):
    append = ["console=ttyS0", "panic=-1", "loglevel=4", "mitigations=off", "edd=off", "nokaslr",
              f"lispvm.mode={mode}", f"lispvm.port={proto.AGENT_PORT}",
              f"lispvm.agent={os.path.join(HERE, 'tm_agent.py')}",
              f"lispvm.token={os.path.join(state, 'token')}", f"lispvm.cwd={cwd}",
              f"lispvm.pin={os.environ.get('LISPVM_TEST_MACHINE_PIN', '1')}"]
    memory = helper_memory() if mode == "helper" else MEMORY
    argv = ["qemu-system-x86_64", "-M", "q35", "-accel", f"tcg,thread={tcg_threads()}",
            "-cpu", "max", "-smp", CPUS, "-m", memory,
            "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
            "-kernel", kernel, "-initrd", initramfs, "-append", " ".join(append),
            "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
            "-netdev", f"user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:{port}-:{proto.AGENT_PORT}",
            "-device", "virtio-net-pci,netdev=net0"]
    if mode == "helper":  # writes reach the host, as the user running QEMU
        argv += ["-fsdev", "local,id=hostrw,path=/,security_model=none,multidevs=remap",
                 "-device", "virtio-9p-pci,fsdev=hostrw,mount_tag=hostrw"]
    if mode == "shell":
        argv += ["-serial", "mon:stdio"]
    else:  # the monitor, for a look at a machine that stopped answering
        argv += ["-serial", "stdio", "-monitor",
                 f"unix:{os.path.join(state, 'monitor')},server=on,wait=off"]
    if gdb_port:
        argv += ["-gdb", f"tcp:127.0.0.1:{gdb_port}"]
    return argv


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


PING_TIMEOUT = 60  # s; an agent forks one handler per connection, which takes ms


def ping(port, token):
    with socket.create_connection(("127.0.0.1", port), timeout=PING_TIMEOUT) as sock:
        sock.sendall(proto.pack_json(proto.PING, {"token": token}))
        frame = proto.read_frame(sock)
    if frame is None or frame[0] != proto.PONG:
        raise MachineError(f"the agent answered {frame!r} to a ping")


# A machine whose agent answered no ping for this long is frozen (its
# kernel hung without a word on the console) and is stopped, as a locked-up
# one is; the pings go every HEARTBEAT seconds while it runs.
HEARTBEAT = 15
FROZEN_AFTER = float(os.environ.get("LISPVM_TEST_MACHINE_FROZEN_AFTER", "180"))


class Supervisor:
    """Runs in the detached process: boots QEMU, then waits for the owner."""

    mode = "agent"
    name = "the test machine"

    def __init__(self, state, owner_pid, report_fd, log_dir):
        self.state = state
        self.owner = os.pidfd_open(owner_pid) if owner_pid is not None else None
        self.report_fd = report_fd
        self.console_path = os.path.join(log_dir, self.console_name())
        with open(os.path.join(state, "console"), "w") as f:
            f.write(self.console_path)
        self.console = open(self.console_path, "wb")
        # -no-reboot turns a guest reset into exit 0: QEMU's log says why
        # (a triple fault, with the CPU state before it).
        self.qemu_log_path = self.console_path.removesuffix("console.log") + "qemu.log"
        self.tail = b""  # the console's last bytes, for a one-line reason
        self.locked_up = None  # the console's lockup line, once seen
        self.frozen = None  # why the heartbeat stopped the machine, once it did
        self.qemu = None

    def console_name(self):
        return f"test-machine-{os.path.basename(self.state)}.console.log"

    def before_ready(self, port):
        """What must be in place before the waiting client hears "ready"."""

    def qemu_argv(self, kernel, initramfs, port):
        return qemu_argv(kernel, initramfs, port, self.state, self.mode, "/") + self.qemu_log()

    def qemu_log(self):
        return ["-d", "cpu_reset,guest_errors", "-D", self.qemu_log_path]

    def stopped(self):
        """Why QEMU ended, in one line: a SIGTERM (QEMU's own line on the
        console) and a guest reset (exit 0 too) look the same otherwise."""
        return (f"{self.name} stopped (qemu exit {self.qemu.returncode}: "
                f"{self.stop_cause()}); console log: {self.console_path}, "
                f"QEMU's log: {self.qemu_log_path}")

    def stop_cause(self):
        if self.locked_up is not None:
            return f"the kernel locked up: {self.locked_up}"
        if self.frozen is not None:
            return f"the kernel stopped answering: {self.frozen}"
        try:
            with open(self.qemu_log_path, errors="replace") as f:
                if "Triple fault" in f.read():
                    return "the guest triple-faulted"
        except OSError:
            pass
        # panic=-1 reboots at once, so the panic is a few lines up.
        panics = [line for line in self.tail.decode(errors="replace").splitlines()
                  if "Kernel panic" in line]
        if panics:
            return f"the kernel panicked: {panics[-1].strip()}"
        return f"last console line: {_last_line(self.tail)}"

    def report(self, line):
        if self.report_fd is not None:
            os.write(self.report_fd, (line + "\n").encode())
            os.close(self.report_fd)
            self.report_fd = None

    def fail(self, message):
        with open(os.path.join(self.state, "failed"), "w") as f:
            f.write(message + "\n")
        self.report("failed " + message)

    def boot(self):
        started = time.monotonic()
        kernel, initramfs = tm_image.ensure()
        token = secrets.token_hex(16)
        with open(os.path.join(self.state, "token"), "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(token)
        port = free_port()
        self.qemu = subprocess.Popen(
            self.qemu_argv(kernel, initramfs, port),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent)
        outcome = self.follow_console(started + BOOT_TIMEOUT, proto.READY_MARK.encode())
        if outcome == "timeout":
            self.fail(f"{self.name} did not come up in {BOOT_TIMEOUT:.0f} s; "
                      f"console log: {self.console_path}")
        elif outcome == "stopped":
            self.fail(f"{self.name} stopped while booting (qemu exit "
                      f"{self.qemu.returncode}): {_last_line(self.tail)}; "
                      f"console log: {self.console_path}")
        if outcome != "ready":
            return False
        ping(port, token)
        threading.Thread(target=self.heartbeat, args=(port, token), daemon=True).start()
        with open(os.path.join(self.state, "port"), "w") as f:
            f.write(str(port))
        self.before_ready(port)
        self.report(f"ready {port} {time.monotonic() - started:.1f}")
        return True

    def watch(self):
        """Until the owner ends; the console keeps going to its log."""
        if self.follow_console() == "stopped":
            self.fail(self.stopped())

    def follow_console(self, deadline=None, mark=None):
        """Copies QEMU's console to its log until the owner ends ("owner"),
        QEMU stops ("stopped"), `mark` appears ("ready") or the deadline
        passes ("timeout")."""
        fd = self.qemu.stdout.fileno()
        waits = [fd] + ([self.owner] if self.owner is not None else [])
        while True:
            timeout = None if deadline is None else max(0, deadline - time.monotonic())
            ready, _, _ = select.select(waits, [], [], timeout)
            if self.owner in ready:
                return "owner"
            if not ready:
                return "timeout"
            if not self.pump_console():
                return "stopped"
            if mark is not None and mark in self.tail:
                return "ready"

    def pump_console(self):
        """Copies what QEMU wrote to the console log; False once it stopped."""
        data = os.read(self.qemu.stdout.fileno(), 65536)
        if not data:
            self.qemu.wait()
            return False
        self.console.write(data)
        self.console.flush()
        self.tail = (self.tail + data)[-4096:]
        self.stop_if_locked_up()
        return True

    def stop_if_locked_up(self):
        """A kernel whose CPUs stopped making progress (the soft-lockup
        watchdog, 20 s stuck; seen under QEMU 7.2's multi-threaded TCG,
        docs/testing.md) never recovers: stop QEMU, so that the machine
        counts as dead, is replaced and the command retried, instead of
        every later command failing on it."""
        if self.locked_up is not None:
            return
        for line in self.tail.decode(errors="replace").splitlines():
            if LOCKUP.search(line):
                self.locked_up = line.strip()
                self.qemu.terminate()
                return

    def heartbeat(self, port, token):
        """Pings the agent while QEMU runs.  A kernel can hang with nothing
        on the console (the lockup watchdog itself stuck); then every
        command in it waits forever, which only stopping QEMU ends: the
        machine then counts as dead, like a panicked one."""
        answered = time.monotonic()
        while self.qemu.poll() is None:
            time.sleep(HEARTBEAT)
            try:
                ping(port, token)
                answered = time.monotonic()
            except (OSError, MachineError, proto.ProtocolError) as error:
                if time.monotonic() - answered >= FROZEN_AFTER:
                    self.frozen = (f"no answer to a ping for {FROZEN_AFTER:.0f} s "
                                   f"(the last: {error})")
                    self.stop_qemu()
                    return

    def stop_qemu(self):
        if self.qemu and self.qemu.poll() is None:
            self.qemu.terminate()
            try:
                self.qemu.wait(10)
            except subprocess.TimeoutExpired:
                self.qemu.kill()
                self.qemu.wait()

    def run(self):
        try:
            if self.boot():
                self.watch()
        except Exception as error:  # any failure must reach the waiting client
            self.fail(f"{self.name} could not start: {error}; "
                      f"console log: {self.console_path}")
        finally:
            self.stop_qemu()
            self.console.close()
            self.finish()

    def finish(self):
        self.report("failed the owner ended")
        if _read(self.state, "failed"):
            # Later commands of the owner get the same reason, not a new boot.
            select.select([self.owner], [], [])
        else:
            _remove(self.console_path)
            _remove(self.qemu_log_path)
        shutil.rmtree(self.state, ignore_errors=True)


def _last_line(data):
    """The last line from user space: kernel lines start with a timestamp."""
    lines = [line for line in data.decode(errors="replace").splitlines()
             if line.strip() and not line.startswith("[")]
    return lines[-1].strip() if lines else "no output"


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start_supervisor(make_supervisor):
    """Forks the detached supervisor (make_supervisor(report_fd) makes it);
    returns the line it reports."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        # Inherited descriptors (the owner's lock among them) must not live on here.
        os.closerange(3, write_fd)
        os.closerange(write_fd + 1, 65536)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            make_supervisor(write_fd).run()
        finally:
            os._exit(0)
    os.close(write_fd)
    os.waitpid(pid, 0)
    with os.fdopen(read_fd) as report:
        return report.readline().strip()


# A machine that died under a command (its kernel, not the command:
# QEMU's TCG under nested SVM does, rarely; docs/testing.md) is replaced
# by a fresh one for the owner's later commands, this many times at most.
MAX_REPLACEMENTS = 3
DIED = re.compile(r"stopped \(qemu exit")
# A soft lockup (a CPU stuck 20 s) means a dead machine; an RCU stall
# alone does not: a loaded emulation starves RCU's kthread for seconds and
# recovers (CI run E: a helper boot stopped for it), and a machine that
# truly froze stops answering the heartbeat.
LOCKUP = re.compile(r"watchdog: BUG: soft lockup")


def died(failure):
    """Whether a machine's failure is a death after it came up."""
    return failure is not None and DIED.search(failure) is not None


def owner_state(owner_pid):
    """The state directory of the owner's current machine: the first of
    its generations that did not die."""
    key = process_key(owner_pid)
    for generation in range(MAX_REPLACEMENTS + 1):
        state = os.path.join(state_base(), key + (f"-g{generation}" if generation else ""))
        if generation == MAX_REPLACEMENTS or not died(_read(state, "failed")):
            return state
    return state


def machine_for(owner_pid, log, log_dir=None):
    """(port, token) of the owner's machine, booting it on first use."""
    state = owner_state(owner_pid)
    os.makedirs(state, mode=0o700, exist_ok=True)
    with open(os.path.join(state, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        failed = _read(state, "failed")
        if failed:
            raise MachineError(failed)
        if _read(state, "port") is None:
            log("booting the test machine (no usable /dev/kvm here: KVM runs nested, "
                "under QEMU TCG)")
            os.makedirs(log_dir or state_base(), exist_ok=True)
            log_dir = os.path.abspath(log_dir or state_base())
            line = start_supervisor(lambda fd: Supervisor(state, owner_pid, fd, log_dir))
            if not line.startswith("ready "):
                raise MachineError(line.removeprefix("failed ") or "the supervisor died")
            log(f"test machine up in {line.split()[2]} s")
        port, token = int(_read(state, "port")), _read(state, "token")
        try:
            ping(port, token)
        except (OSError, proto.ProtocolError, MachineError) as error:
            # A hung machine would otherwise cost every later command its timeout.
            message = (f"the test machine stopped answering ({error}); console log: "
                       f"{_read(state, 'console')}, QEMU monitor: {state}/monitor")
            with open(os.path.join(state, "failed"), "w") as f:
                f.write(message + "\n")
            raise MachineError(message)
        return port, token


def _read(state, name):
    try:
        with open(os.path.join(state, name)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def interactive(cwd, gdb_port=None):
    """A shell on the machine's console (Ctrl-A X leaves)."""
    kernel, initramfs = tm_image.ensure(log=lambda m: print(m, file=sys.stderr))
    state = os.path.join(state_base(), process_key(os.getpid()))
    os.makedirs(state, mode=0o700, exist_ok=True)
    try:
        argv = qemu_argv(kernel, initramfs, free_port(), state, "shell", cwd, gdb_port)
        return subprocess.run(argv).returncode
    finally:
        shutil.rmtree(state, ignore_errors=True)
