# SPDX-License-Identifier: MIT
"""The test machine's agent: PID 1 of the machine's root, it runs each
client's command and streams its output and exit status back.

Each connection is served by a forked handler, so PID 1 itself never owns
a subprocess and can reap every orphan with waitpid(-1).  The command runs
in a session of its own; when the client goes away (a test killed by its
timeout, Ctrl-C on the host), the whole session is killed."""

import fcntl
import hmac
import json
import os
import queue
import select
import selectors
import shutil
import signal
import socket
import struct
import sys
import termios
import threading
import time

import tm_protocol as proto
import tm_streams

NESTED = "nested KVM in the test machine (QEMU TCG, kvm_amd)"
DRAIN_AFTER_EXIT = 2.0  # s to collect output still buffered by descendants
RUNTIME = "/run/lispvm-machine"  # the helper's own tmpfs (init.sh)
COMMAND_SOCKET_WAIT = 60.0  # s a starting command (lispvmd) has to listen


def reap_orphans(*_):
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def exit_status(wait_status):
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.waitstatus_to_exitcode(wait_status)


def _child_stdio(request, tty):
    """The command's fds 0-2 (child ends) and ours: (child, ours, pty_master)."""
    if tty is None:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        return (in_r, out_w, err_w), (in_w, out_r, err_r), None
    master, slave = os.openpty()
    _set_winsize(master, tty)
    if tty.get("stderr"):
        return (slave, slave, slave), (None, master, None), master
    err_r, err_w = os.pipe()
    return (slave, slave, err_w), (None, master, err_r), master


def _set_winsize(fd, size):
    rows, cols = int(size.get("rows", 24)), int(size.get("cols", 80))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def spawn(request, env):
    """Forks the command; returns (pid, stdin, stdout, stderr, pty master)."""
    tty = request.get("tty")
    child, ours, master = _child_stdio(request, tty)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            for signum in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            if tty is not None:
                fcntl.ioctl(child[0], termios.TIOCSCTTY, 0)
            for fd, target in zip(child, (0, 1, 2)):
                os.dup2(fd, target)
            os.closerange(3, 65536)
            os.chdir(request["cwd"])
            os.execvpe(request["argv"][0], request["argv"], env)
        except OSError as error:
            os.write(2, f"lispvm machine: cannot run {request['argv'][0]}: {error}\n".encode())
            os._exit(127)
        os._exit(127)
    for fd in set(child):
        os.close(fd)
    return (pid,) + ours + (master,)


class Session:
    """One client connection, the command it runs and the streams it carries."""

    def __init__(self, conn, request, mode):
        self.conn = conn
        self.send_lock = threading.Lock()
        self.selector = selectors.DefaultSelector()
        self.streams = tm_streams.Streams(self.selector, self.send)
        self.rundir = None
        env = dict(request["env"])
        if mode == "helper":
            env.update(self._helper_env(request))
        else:
            env["LISPVM_KVM_WHERE"] = NESTED
        self.pid, self.stdin, stdout, stderr, self.master = spawn(request, env)
        self.pidfd = os.pidfd_open(self.pid)
        self.selector.register(conn, selectors.EVENT_READ, "client")
        self.outputs = 0
        for fd, kind in ((stdout, proto.STDOUT), (stderr, proto.STDERR)):
            if fd is not None:
                self.selector.register(fd, selectors.EVENT_READ, kind)
                self.outputs += 1
        self.selector.register(self.pidfd, selectors.EVENT_READ, "exit")
        self.status = None
        self.next_stream = 2
        self.stdin_queue = queue.SimpleQueue()
        threading.Thread(target=self.stdin_writer, daemon=True).start()

    def send(self, frame):
        with self.send_lock:
            self.conn.sendall(frame)

    def _helper_env(self, request):
        """A directory of the session's own: the VMM's --vsock socket
        (the host's path is the client's) and a listener per host vsock
        port, which the client's end reaches."""
        self.rundir = os.path.join(RUNTIME, f"session-{os.getpid()}")
        # Searchable by all: a host caller's connection reaches the command's
        # socket as that caller (connect_as); the socket's mode decides.
        os.makedirs(self.rundir, mode=0o711)
        os.chmod(self.rundir, 0o711)
        env = {"XDG_RUNTIME_DIR": os.path.join(RUNTIME, "user"), "LISPVM_MACHINE": "never"}
        os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)
        if request.get("vsock"):
            env["LISPVM_MACHINE_VSOCK_PATH"] = os.path.join(self.rundir, "vsock")
            for port in request.get("vsock_ports", []):
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(f"{env['LISPVM_MACHINE_VSOCK_PATH']}_{int(port)}")
                listener.listen(16)
                self.selector.register(listener, selectors.EVENT_READ, ("vsock", int(port)))
        return env

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def forward_output(self, fd, kind):
        try:
            data = os.read(fd, proto.CHUNK)
        except OSError:  # EIO: a pty whose last holder closed it
            data = b""
        if data:
            self.send(proto.pack(kind, data))
            return
        self.selector.unregister(fd)
        os.close(fd)
        self.outputs -= 1

    def stdin_writer(self):
        """The command's stdin (or pty) in a thread of its own: a command
        that does not read must not stop the session; the client sends
        more as CREDIT says this took it."""
        fd = self.master if self.master is not None else self.stdin
        while True:
            payload = self.stdin_queue.get()
            if payload is None:
                if self.master is None:  # a terminal's Ctrl-D is a byte already
                    os.close(fd)
                return
            try:
                view = memoryview(payload)
                while view:
                    view = view[os.write(fd, view):]
            except OSError:  # the command stopped reading: drop what comes
                pass
            self.send(proto.pack_stream(proto.CREDIT, proto.STDIN_STREAM,
                                        tm_streams.COUNT.pack(len(payload))))

    def open_stream(self, payload):
        request = json.loads(payload)
        stream_id = int(request["id"])
        try:
            if "tcp" in request:
                sock = socket.create_connection(("127.0.0.1", int(request["tcp"])))
            else:
                sock = self.connect_command_socket(request.get("peer"))
        except (OSError, TypeError, ValueError):
            self.send(proto.pack_stream(proto.CLOSE, stream_id))
            return
        self.streams.add(stream_id, sock)

    def connect_command_socket(self, peer):
        """The command's socket (LISPVM_MACHINE_VSOCK_PATH), connected as
        peer ([uid, gid], the host caller) if given.  A command that is
        still starting (lispvmd before it listens) is waited for."""
        path = os.path.join(self.rundir or "/", "vsock")
        deadline = time.monotonic() + COMMAND_SOCKET_WAIT
        while True:
            try:
                return connect_as(path, peer)
            except (FileNotFoundError, ConnectionRefusedError):
                if time.monotonic() > deadline or self.command_ended():
                    raise
                time.sleep(0.1)

    def command_ended(self):
        return self.status is not None or bool(select.select([self.pidfd], [], [], 0)[0])

    def accept_vsock(self, listener, port):
        sock, _ = listener.accept()
        stream_id, self.next_stream = self.next_stream, self.next_stream + 2
        self.send(proto.pack_json(proto.OPEN, {"id": stream_id, "vsock_port": port}))
        self.streams.add(stream_id, sock)

    def from_client(self):
        frame = proto.read_frame(self.conn)
        if frame is None:
            return False
        kind, payload = frame
        if kind == proto.STDIN:
            self.stdin_queue.put(payload or None)
        elif kind == proto.SIGNAL and payload:
            try:
                os.kill(self.pid, payload[0])
            except (ProcessLookupError, ValueError):
                pass
        elif kind == proto.WINSIZE and self.master is not None:
            _set_winsize(self.master, json.loads(payload))
        elif kind == proto.OPEN:
            self.open_stream(payload)
        elif kind == proto.DATA:
            self.streams.data(payload)
        elif kind == proto.CLOSE:
            self.streams.closed(payload)
        elif kind == proto.CREDIT:
            self.streams.credit(payload)
        return True

    def serve(self):
        try:
            self._serve()
        finally:
            self.kill()
            if self.rundir:
                shutil.rmtree(self.rundir, ignore_errors=True)

    def _serve(self):
        deadline = None
        while self.outputs or self.status is None:
            timeout = None
            if self.status is not None:
                timeout = max(0.0, deadline - time.monotonic())
                if timeout == 0:
                    break  # descendants still hold the output open
            for key, mask in self.selector.select(timeout):
                if key.data == "client":
                    if not self.from_client():
                        return
                elif key.data == "exit":
                    _, wait_status = os.waitpid(self.pid, 0)
                    self.status = exit_status(wait_status)
                    self.selector.unregister(self.pidfd)
                    deadline = time.monotonic() + DRAIN_AFTER_EXIT
                elif isinstance(key.data, tuple) and key.data[0] == "stream":
                    self.streams.ready(key.data[1], mask)
                elif isinstance(key.data, tuple) and key.data[0] == "vsock":
                    self.accept_vsock(key.fileobj, key.data[1])
                else:
                    self.forward_output(key.fd, key.data)
        self.send(proto.pack_json(proto.EXIT, {"status": self.status}))


def connect_as(path, peer):
    """A Unix stream socket connected to path; with peer ([uid, gid]) the
    connect is made by a child with those ids, so that the listener's
    SO_PEERCRED names the host caller rather than this root agent."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if peer is None:
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        return sock
    uid, gid = int(peer[0]), int(peer[1])
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            sock.connect(path)
        except OSError as error:
            code = error.errno or 1
        os._exit(code)
    code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
    if code != 0:
        sock.close()
        raise OSError(code, os.strerror(code)) if code > 0 else OSError(f"signal {-code}")
    return sock


def handle(conn, token, mode):
    frame = proto.read_frame(conn)
    if frame is None:
        return
    kind, payload = frame
    request = json.loads(payload)
    if not hmac.compare_digest(request.get("token", ""), token):
        conn.sendall(proto.pack(proto.ERROR, "wrong token"))
        return
    if kind == proto.PING:
        conn.sendall(proto.pack(proto.PONG))
        return
    if kind != proto.HELLO:
        conn.sendall(proto.pack(proto.ERROR, f"unexpected frame {kind}"))
        return
    Session(conn, request, mode).serve()


KVM_CREATE_VM, KVM_CREATE_IRQCHIP, KVM_CREATE_VCPU = 0xAE01, 0xAE60, 0xAE41


def pin_kvm_static_keys():
    """Holds one idle VM (in-kernel irqchip, one vCPU) for the machine's life.

    Creating the first VM and destroying the last flip static keys in KVM
    and the scheduler (preempt notifiers, the LAPIC's software-disabled
    key), which Linux patches into running code with int3; under QEMU's
    multi-threaded TCG, such cross-CPU code patching hangs both CPUs within
    a few hundred VM lifetimes, with or without lispvm (docs/testing.md).
    With this VM alive the keys never return to zero and nothing is
    patched."""
    kvm = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    vm = fcntl.ioctl(kvm, KVM_CREATE_VM, 0)
    fcntl.ioctl(vm, KVM_CREATE_IRQCHIP, 0)
    vcpu = fcntl.ioctl(vm, KVM_CREATE_VCPU, 0)
    return kvm, vm, vcpu


def serve(port, token_file, pin, mode):
    with open(token_file) as f:
        token = f.read().strip()
    if pin:
        pinned = pin_kvm_static_keys()  # noqa: F841 (held open until the machine stops)
    signal.signal(signal.SIGCHLD, reap_orphans)
    listener = socket.create_server(("0.0.0.0", port), backlog=64)
    print(proto.READY_MARK, flush=True)
    while True:
        try:
            conn, _ = listener.accept()
        except InterruptedError:
            continue
        if os.fork() == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            listener.close()
            try:
                handle(conn, token, mode)
            except (OSError, proto.ProtocolError, ValueError) as error:
                print(f"test machine agent: {error}", file=sys.stderr, flush=True)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3] != "0", sys.argv[4])
