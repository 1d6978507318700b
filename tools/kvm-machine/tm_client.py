# SPDX-License-Identifier: MIT
"""Runs one command in a machine as if it ran here: argv, cwd and
environment go over; stdin is forwarded, stdout and stderr come back as
they are written, and the command's exit status becomes ours.  With a
terminal on stdin and stdout the command gets a pty of its own (raw mode
here, window size followed, as ssh -t does); signals sent to this process
go to the command; host listeners (a --swank port, a --vsock socket) and
the command's connections to host vsock listeners cross over as streams
of the same connection.  Ending this process (a test's timeout, kill -9)
closes the connection, and the agent kills the command."""

import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import sys
import termios
import threading
import tty

import tm_protocol as proto
import tm_streams

PEERCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                     signal.SIGUSR1, signal.SIGUSR2)


class MachineGone(Exception):
    """The machine stopped under the command."""


def _winsize(fd):
    rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    return {"rows": rows, "cols": cols}


def terminal_request():
    """The HELLO's tty field: a pty when stdin and stdout are terminals."""
    if not (os.isatty(0) and os.isatty(1)):
        return None
    return dict(_winsize(1), stderr=os.isatty(2))


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Forwards:
    """Host listeners whose connections become streams to the command."""

    def __init__(self, swank_port=None, vsock_path=None, listen_fd=None, unlink=None):
        """listen_fd: a listening Unix socket (lispvmd's) whose callers
        reach the command's socket as themselves (their uid and gid);
        unlink: its path, removed at the end."""
        self.listeners = []
        self.vsock_path = None
        self.unlink = unlink
        if swank_port:
            sock = socket.create_server(("127.0.0.1", swank_port))
            self.listeners.append((sock, {"tcp": swank_port}))
        if vsock_path:  # as the VMM does: a path that exists is in use
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(vsock_path)
            self.vsock_path = vsock_path
            sock.listen(16)
            self.listeners.append((sock, {"vsock": True}))
        if listen_fd is not None:
            sock = socket.socket(fileno=listen_fd)
            os.set_inheritable(listen_fd, False)
            self.listeners.append((sock, {"vsock": True, "peer": True}))

    def reaches_socket(self):
        """Whether the command gets a socket of its own (a --vsock path or
        a listener's connections end there)."""
        return any(target.get("vsock") for _, target in self.listeners)

    def vsock_ports(self):
        """The ports of host vsock listeners (PATH_PORT) there now."""
        if not self.vsock_path:
            return []
        directory, prefix = os.path.split(os.path.abspath(self.vsock_path))
        ports = []
        for name in os.listdir(directory):
            suffix = name[len(prefix) + 1:]
            if name.startswith(prefix + "_") and suffix.isdigit():
                ports.append(int(suffix))
        return ports

    def close(self):
        for sock, _ in self.listeners:
            sock.close()
        if self.vsock_path:  # ours: bound above
            try:
                os.unlink(self.vsock_path)
            except FileNotFoundError:
                pass
            self.vsock_path = None
        if self.unlink:
            try:
                os.unlink(self.unlink)
            except FileNotFoundError:
                pass
            self.unlink = None


class Client:
    def __init__(self, sock, forwards=None, control=None):
        self.sock = sock
        self.forwards = forwards or Forwards()
        self.control = control  # the helper supervisor's connection, if any
        self.selector = selectors.DefaultSelector()
        self.send_lock = threading.Lock()
        self.streams = tm_streams.Streams(self.selector, self.send)
        self.next_stream = 1
        self.stdin_credit = threading.Condition()
        self.stdin_unacked = 0

    def send(self, frame):
        with self.send_lock:
            self.sock.sendall(frame)

    def run(self, request):
        """The command's exit status; raises OSError, ProtocolError, MachineGone."""
        request = dict(request, vsock_ports=self.forwards.vsock_ports())
        self.send(proto.pack_json(proto.HELLO, request))
        saved = None
        if request.get("tty"):
            saved = termios.tcgetattr(0)
            tty.setraw(0)
        wake_r, wake_w = socket.socketpair()
        wake_w.setblocking(False)
        old_wakeup = signal.set_wakeup_fd(wake_w.fileno())
        handled = FORWARDED_SIGNALS + (signal.SIGWINCH,)
        old_handlers = {sig: signal.signal(sig, lambda *_: None) for sig in handled}
        try:
            self._register(wake_r, request)
            return self._loop(wake_r, bool(request.get("tty")))
        finally:
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(old_wakeup)
            if saved is not None:
                termios.tcsetattr(0, termios.TCSADRAIN, saved)
            self.streams.drop_all()
            self.forwards.close()

    def _register(self, wake_r, request):
        self.selector.register(self.sock, selectors.EVENT_READ, "agent")
        self.selector.register(wake_r, selectors.EVENT_READ, "signal")
        threading.Thread(target=self._stdin, daemon=True).start()
        for sock, target in self.forwards.listeners:
            self.selector.register(sock, selectors.EVENT_READ, ("listener", target))
        if self.control is not None:
            self.selector.register(self.control, selectors.EVENT_READ, "control")

    def _loop(self, wake_r, tty_mode):
        while True:
            for key, mask in self.selector.select():
                what = key.data
                if what == "agent":
                    status = self._from_agent()
                    if status is not None:
                        return status
                elif what == "signal":
                    for signum in wake_r.recv(64):
                        self._signal(signum, tty_mode)
                elif what == "control":
                    raise MachineGone(_reason(self.control))
                elif what[0] == "listener":
                    self._accept(key.fileobj, what[1])
                else:
                    self.streams.ready(what[1], mask)

    def _from_agent(self):
        frame = proto.read_frame(self.sock)
        if frame is None:
            if self.control is not None:
                raise MachineGone(_reason(self.control))
            raise proto.ProtocolError("the machine closed the connection before the "
                                      "command's exit status")
        kind, payload = frame
        if kind in (proto.STDOUT, proto.STDERR):
            try:
                _write_all(1 if kind == proto.STDOUT else 2, payload)
            except BrokenPipeError:  # as a native process would be: killed by SIGPIPE
                return 128 + signal.SIGPIPE
        elif kind == proto.EXIT:
            return json.loads(payload)["status"]
        elif kind == proto.ERROR:
            raise proto.ProtocolError(payload.decode(errors="replace"))
        elif kind == proto.OPEN:
            self._open_from_agent(json.loads(payload))
        elif kind == proto.DATA:
            self.streams.data(payload)
        elif kind == proto.CLOSE:
            self.streams.closed(payload)
        elif kind == proto.CREDIT:
            stream_id, count = proto.unpack_stream(payload)
            if stream_id != proto.STDIN_STREAM:
                self.streams.credit(payload)
                return None
            with self.stdin_credit:
                self.stdin_unacked -= tm_streams.COUNT.unpack(count)[0]
                self.stdin_credit.notify()
        return None

    def _stdin(self):
        """Stdin in a thread of its own (it may be a file, a pipe or the
        terminal), sending no more than the agent has credit for."""
        while True:
            try:
                data = os.read(0, proto.CHUNK)
            except OSError:  # no stdin, or a terminal gone (EIO): end of file
                data = b""
            with self.stdin_credit:
                while self.stdin_unacked >= proto.STDIN_WINDOW:
                    self.stdin_credit.wait()
                self.stdin_unacked += len(data)
            try:
                self.send(proto.pack(proto.STDIN, data))
            except OSError:
                return
            if not data:
                return

    def _signal(self, signum, tty_mode):
        if signum == signal.SIGWINCH:
            if tty_mode:
                self.send(proto.pack_json(proto.WINSIZE, _winsize(1)))
            return
        self.send(proto.pack(proto.SIGNAL, bytes([signum])))

    def _accept(self, listener, target):
        conn, _ = listener.accept()
        if target.get("peer"):  # who called: the agent connects as them
            _, uid, gid = PEERCRED.unpack(conn.getsockopt(socket.SOL_SOCKET,
                                                          socket.SO_PEERCRED, PEERCRED.size))
            target = dict(target, peer=[uid, gid])
        stream_id, self.next_stream = self.next_stream, self.next_stream + 2
        self.send(proto.pack_json(proto.OPEN, dict(target, id=stream_id)))
        self.streams.add(stream_id, conn)

    def _open_from_agent(self, request):
        """The command's VMM connected to host vsock port P: PATH_P here."""
        stream_id = int(request["id"])
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(f"{self.forwards.vsock_path}_{int(request['vsock_port'])}")
        except (OSError, TypeError):
            sock.close()
            self.send(proto.pack_stream(proto.CLOSE, stream_id))
            return
        self.streams.add(stream_id, sock)


def _reason(control):
    """Why the helper machine went, as its supervisor said."""
    control.settimeout(5)
    try:
        line = control.recv(4096).decode(errors="replace").strip()
    except OSError:
        line = ""
    return line.removeprefix("stopped ") or "its supervisor ended"


def run(port, token, argv, cwd, env, tty=None, forwards=None, control=None):
    """Connects to the agent on 127.0.0.1:port and runs argv there."""
    sock = socket.create_connection(("127.0.0.1", port))
    request = {"token": token, "argv": argv, "cwd": cwd, "env": env, "tty": tty,
               "vsock": bool(forwards and forwards.reaches_socket())}
    with sock:
        return Client(sock, forwards, control).run(request)
