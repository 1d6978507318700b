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
import selectors
import signal
import socket
import sys
import time

import tm_protocol as proto

NESTED = "nested KVM in the test machine (QEMU TCG, kvm_amd)"
DRAIN_AFTER_EXIT = 2.0  # s to collect output still buffered by descendants


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


def spawn(request):
    """Forks the command with pipes; returns (pid, stdin_w, stdout_r, stderr_r)."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            for signum in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, signal.SIG_DFL)
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.closerange(3, 65536)
            os.chdir(request["cwd"])
            env = dict(request["env"], LISPVM_KVM_WHERE=NESTED)
            os.execvpe(request["argv"][0], request["argv"], env)
        except OSError as error:
            os.write(2, f"test machine: cannot run {request['argv'][0]}: {error}\n".encode())
            os._exit(127)
        os._exit(127)
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    return pid, in_w, out_r, err_r


class Session:
    """One client connection and the command it runs."""

    def __init__(self, conn, request):
        self.conn = conn
        self.pid, self.stdin, stdout, stderr = spawn(request)
        self.pidfd = os.pidfd_open(self.pid)
        self.selector = selectors.DefaultSelector()
        self.selector.register(conn, selectors.EVENT_READ, "client")
        self.selector.register(stdout, selectors.EVENT_READ, proto.STDOUT)
        self.selector.register(stderr, selectors.EVENT_READ, proto.STDERR)
        self.selector.register(self.pidfd, selectors.EVENT_READ, "exit")
        self.outputs = 2
        self.status = None

    def kill(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def forward_output(self, fd, kind):
        data = os.read(fd, 65536)
        if data:
            self.conn.sendall(proto.pack(kind, data))
            return
        self.selector.unregister(fd)
        os.close(fd)
        self.outputs -= 1

    def forward_input(self):
        frame = proto.read_frame(self.conn)
        if frame is None:
            return False
        kind, payload = frame
        if kind == proto.STDIN and self.stdin is not None:
            if payload:
                try:
                    os.write(self.stdin, payload)
                except BrokenPipeError:
                    pass
            else:
                os.close(self.stdin)
                self.stdin = None
        return True

    def serve(self):
        deadline = None
        while self.outputs or self.status is None:
            timeout = None
            if self.status is not None:
                timeout = max(0.0, deadline - time.monotonic())
                if timeout == 0:
                    break  # descendants still hold the output open
            for key, _ in self.selector.select(timeout):
                if key.data == "client":
                    if not self.forward_input():
                        self.kill()
                        return
                elif key.data == "exit":
                    _, wait_status = os.waitpid(self.pid, 0)
                    self.status = exit_status(wait_status)
                    self.selector.unregister(self.pidfd)
                    deadline = time.monotonic() + DRAIN_AFTER_EXIT
                else:
                    self.forward_output(key.fd, key.data)
        self.kill()
        self.conn.sendall(proto.pack_json(proto.EXIT, {"status": self.status}))


def handle(conn, token):
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
    Session(conn, request).serve()


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


def serve(port, token_file, pin):
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
                handle(conn, token)
            except (OSError, proto.ProtocolError, ValueError) as error:
                print(f"test machine agent: {error}", file=sys.stderr, flush=True)
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3] != "0")
