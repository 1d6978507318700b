# SPDX-License-Identifier: MIT
"""virtio-vsock end to end: a guest program (vsock_peer.c) at one end of
each stream and this script at the other, through the VM's Unix socket
the Firecracker way.
Usage: vsock.py CASE LISPVM VSOCK_PEER"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import expect, expect_exit, main, require_kvm, run  # noqa: E402

HUNDRED_MB = 100 * 1000 * 1000
TIMEOUT = 240
# What the VMM may hold for a stream (its credit) plus what the Unix
# socket between it and a reader that never reads can take: a flooding
# guest must stop within this.
FLOOD_BOUND = 4 << 20


class Guest:
    """lispvm exec of vsock_peer with a vsock device, stdout a pipe."""

    def __init__(self, lispvm, peer, tmp, *args, cid=None):
        require_kvm()
        self.image = os.path.join(tmp, "peer.erofs")
        if not os.path.exists(self.image):
            expect_exit(run([lispvm, "image", "build", "-o", self.image,
                             f"{peer}:/bin/vsock_peer"]), 0)
        self.path = os.path.join(tmp, "vm.sock")
        cmd = [lispvm, "exec", "--memory", "256M", "--timeout", str(TIMEOUT),
               "--image", self.image, "--vsock", self.path]
        if cid is not None:
            cmd += ["--cid", str(cid)]
        self.proc = subprocess.Popen(cmd + ["--", "/bin/vsock_peer", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def line(self):
        out = self.proc.stdout.readline().decode()
        if out == "":
            expect(False, f"the guest ended early: {self.finish()}")
        return out.strip()

    def connect(self, port):
        """A stream to the guest's listener on port; the handshake done."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(TIMEOUT)
        s.connect(self.path)
        s.sendall(b"CONNECT %d\n" % port)
        answer = b""
        while not answer.endswith(b"\n"):
            got = s.recv(1)
            if not got:
                break
            answer += got
        return s, answer.decode()

    def finish(self, stdin=b""):
        try:
            out, err = self.proc.communicate(stdin, timeout=TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        return self.proc.returncode, out.decode(), err.decode()


def read_to_end(s, sink=None):
    data = bytearray()
    while True:
        got = s.recv(1 << 16)
        if not got:
            return bytes(data)
        if sink is None:
            data += got
        else:
            sink(got)


def host_listener(path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    listener.settimeout(TIMEOUT)
    return listener


def with_tmp(case):
    def wrapped(lispvm, peer):
        tmp = tempfile.mkdtemp(prefix="lispvm-vsock-")
        try:
            case(lispvm, peer, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return wrapped


@with_tmp
def host_to_guest(lispvm, peer, tmp):
    """100 MB into a guest listener; the guest's SHA-256 matches."""
    g = Guest(lispvm, peer, tmp, "sink", "5000")
    expect(g.line() == "listening", "no listener")
    s, answer = g.connect(5000)
    expect(answer.startswith("OK ") and answer[3:].strip().isdigit(),
           f"handshake answer {answer!r}")
    data = os.urandom(HUNDRED_MB)
    sender = threading.Thread(target=lambda: (s.sendall(data), s.shutdown(socket.SHUT_WR)))
    sender.start()
    reply = read_to_end(s).decode()
    sender.join()
    want = f"{HUNDRED_MB} {hashlib.sha256(data).hexdigest()}"
    code, out, err = g.finish()
    expect(reply.strip() == want,
           f"guest received {reply.strip()!r}, sent {want!r}; guest exit {code}: {err}")
    expect(code == 0, f"guest exit {code}: {err}")


@with_tmp
def guest_to_host(lispvm, peer, tmp):
    """100 MB from a guest connect() to host port 6000 (PATH_6000)."""
    listener = host_listener(os.path.join(tmp, "vm.sock_6000"))
    g = Guest(lispvm, peer, tmp, "source", "6000", str(HUNDRED_MB))
    conn, _ = listener.accept()
    conn.settimeout(TIMEOUT)
    digest, size = hashlib.sha256(), [0]

    def take(chunk):
        digest.update(chunk)
        size[0] += len(chunk)
    read_to_end(conn, take)
    code, out, err = g.finish()
    expect(code == 0, f"guest exit {code}: {err}")
    want = f"{size[0]} {digest.hexdigest()}"
    expect(out.strip() == want and size[0] == HUNDRED_MB,
           f"guest sent {out.strip()!r}, host received {want!r}")


@with_tmp
def concurrent_streams(lispvm, peer, tmp):
    """64 streams open at once, served by one guest thread with epoll (and
    a CID of our choosing, which guest and VMM must agree on)."""
    g = Guest(lispvm, peer, tmp, "echo", "5001", "64", cid=77)
    expect(g.line() == "listening", "no listener")
    streams = []
    for i in range(64):
        s, answer = g.connect(5001)
        expect(answer.startswith("OK "), f"stream {i}: handshake answer {answer!r}")
        streams.append(s)
    for i, s in enumerate(streams):
        s.sendall(b"stream %d says hello\n" % i)
        s.shutdown(socket.SHUT_WR)
    for i, s in enumerate(streams):
        got = read_to_end(s)
        expect(got == b"stream %d says hello\n" % i, f"stream {i} echoed {got!r}")
    code, out, err = g.finish()
    expect(code == 0 and out.strip() == "served 64", f"guest exit {code}: {out} {err}")


@with_tmp
def refused_port(lispvm, peer, tmp):
    """Nobody listens: the guest's connect fails with ECONNRESET (as on
    Linux), the host client's connection closes without an OK."""
    g = Guest(lispvm, peer, tmp, "refused", "7000")
    expect(g.line() == "ECONNRESET", "the guest's connect to a closed port did not fail")
    s, answer = g.connect(7001)
    expect(answer == "", f"host connect to a closed guest port answered {answer!r}")
    code, out, err = g.finish(b"done\n")
    expect(code == 0, f"guest exit {code}: {err}")


@with_tmp
def flood_is_bounded(lispvm, peer, tmp):
    """A guest writing to a host reader that does not read is stopped by
    credit after a bounded amount, and every byte arrives once the reader
    reads."""
    listener = host_listener(os.path.join(tmp, "vm.sock_6001"))
    g = Guest(lispvm, peer, tmp, "flood", "6001")
    conn, _ = listener.accept()
    conn.settimeout(TIMEOUT)
    line = g.line()
    expect(line.startswith("blocked after "), f"guest said {line!r}")
    blocked = int(line.split()[-1])
    expect(0 < blocked <= FLOOD_BOUND,
           f"the guest wrote {blocked} bytes to a reader that never read")
    g.proc.stdin.write(b"go\n")
    g.proc.stdin.flush()
    got = len(read_to_end(conn))
    code, out, err = g.finish()
    expect(code == 0, f"guest exit {code}: {err}")
    expect(got == blocked + 1 and out.strip() == f"sent {blocked + 1}",
           f"host received {got} bytes, guest says {out.strip()!r}")


@with_tmp
def no_device(lispvm, peer, tmp):
    """Without --vsock, socket(AF_VSOCK) fails as on a Linux without
    vsock."""
    require_kvm()
    image = os.path.join(tmp, "peer.erofs")
    expect_exit(run([lispvm, "image", "build", "-o", image, f"{peer}:/bin/vsock_peer"]), 0)
    proc = run([lispvm, "exec", "--memory", "256M", "--image", image, "--",
                "/bin/vsock_peer", "sink", "5000"])
    expect_exit(proc, 1)
    expect("socket: Address family not supported by protocol" in proc.stderr, proc.stderr)


@with_tmp
def bad_options(lispvm, peer, tmp):
    """A socket path already in use and an impossible CID: one line each."""
    require_kvm()
    taken = os.path.join(tmp, "taken.sock")
    open(taken, "w").close()
    proc = run([lispvm, "exec", "--vsock", taken, "--", "/bin/true"])
    expect_exit(proc, 125)
    lines = proc.stderr.strip().splitlines()
    expect(len(lines) == 1 and "--vsock" in lines[0] and "in use" in lines[0], proc.stderr)
    for cid in ["2", "4294967295", "x"]:
        proc = run([lispvm, "exec", "--vsock", os.path.join(tmp, "v"), "--cid", cid, "--",
                    "/bin/true"])
        expect_exit(proc, 2)
        expect("--cid" in proc.stderr, proc.stderr)


main({"host_to_guest": host_to_guest, "guest_to_host": guest_to_host,
      "concurrent_streams": concurrent_streams, "refused_port": refused_port,
      "flood_is_bounded": flood_is_bounded, "no_device": no_device,
      "bad_options": bad_options})
