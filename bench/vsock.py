#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vsock between a microVM and the host, next to a Unix socket pair on the
host, in one run; and the time `lispvm attach` takes to its first prompt.

Throughput: SIZE MB each way, timed on the host from the first byte to the
peer's end (guest side: tests/vsock/vsock_peer.c `discard` and `blast`;
native side: the same copy loop in a forked child over socketpair()).
Latency: ROUNDS round trips of one byte (guest: `pingpong`); median of
RUNS runs each.  Attach: `lispvm attach` against a program started with
`run --attachable`, from spawn to the "* " prompt, RUNS times.

    python3 bench/vsock.py [--size-mb 100] [--rounds 500] [--runs 3] [--lispvm PATH]

Run from the source tree after tools/setup (it builds vsock_peer with cc)."""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import machine  # bench/machine.py: where the benchmark runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_LISPVM = os.path.join(ROOT, "build", "tools", "lispvm", "lispvm")
CHUNK = 1 << 16


def fail(message):
    sys.exit(f"bench: {message}")


def build_peer(tmp):
    out = os.path.join(tmp, "vsock_peer")
    src = os.path.join(ROOT, "tests", "vsock")
    subprocess.run(["cc", "-O2", "-static", "-o", out, os.path.join(src, "vsock_peer.c"),
                    os.path.join(src, "sha256.c")], check=True)
    return out


class Guest:
    def __init__(self, lispvm, image, tmp, *args):
        self.path = os.path.join(tmp, "vm.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.proc = subprocess.Popen([lispvm, "exec", "--memory", "256M", "--timeout", "600",
                                      "--image", image, "--vsock", self.path, "--",
                                      "/bin/vsock_peer", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def wait_listening(self):
        if self.proc.stdout.readline() != b"listening\n":
            fail(f"guest peer did not start: {self.proc.stderr.read().decode()}")

    def connect(self, port):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.path)
        s.sendall(b"CONNECT %d\n" % port)
        answer = b""
        while not answer.endswith(b"\n"):
            answer += s.recv(1)
        if not answer.startswith(b"OK "):
            fail(f"vsock handshake answered {answer!r}")
        return s

    def finish(self):
        self.proc.wait(timeout=600)


def send_all_then_count(s, size):
    """Sends size bytes, half-closes, returns the seconds until the peer's
    answer (its byte count) arrived."""
    block = bytes(CHUNK)
    start = time.perf_counter()
    left = size
    while left > 0:
        n = s.send(block[:min(left, CHUNK)])
        left -= n
    s.shutdown(socket.SHUT_WR)
    answer = b""
    while True:
        got = s.recv(64)
        if not got:
            break
        answer += got
    elapsed = time.perf_counter() - start
    if int(answer) != size:
        fail(f"the peer counted {answer!r} of {size} bytes")
    return elapsed


def receive_all(s, size):
    start = None
    total = 0
    while True:
        got = s.recv(CHUNK)
        if start is None:
            start = time.perf_counter()
        if not got:
            break
        total += len(got)
    if total != size:
        fail(f"received {total} of {size} bytes")
    return time.perf_counter() - start


def ping(s, rounds):
    start = time.perf_counter()
    for _ in range(rounds):
        s.sendall(b"x")
        if s.recv(1) != b"x":
            fail("ping-pong lost a byte")
    return (time.perf_counter() - start) / rounds


def native_pair(role, size):
    """A socketpair with a forked child in `role`: discard (read all,
    answer the count), blast (send size bytes), pingpong (echo)."""
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        parent.close()
        if role == "discard":
            total = 0
            while True:
                got = child.recv(CHUNK)
                if not got:
                    break
                total += len(got)
            child.sendall(b"%d\n" % total)
        elif role == "blast":
            block = bytes(CHUNK)
            left = size
            while left > 0:
                left -= child.send(block[:min(left, CHUNK)])
        else:
            while True:
                got = child.recv(256)
                if not got:
                    break
                child.sendall(got)
        child.close()
        os._exit(0)
    child.close()
    return parent, pid


def measure_native(size, rounds):
    s, pid = native_pair("discard", size)
    to_peer = send_all_then_count(s, size)
    s.close()
    os.waitpid(pid, 0)
    s, pid = native_pair("blast", size)
    from_peer = receive_all(s, size)
    s.close()
    os.waitpid(pid, 0)
    s, pid = native_pair("pingpong", 0)
    rtt = ping(s, rounds)
    s.close()
    os.waitpid(pid, 0)
    return to_peer, from_peer, rtt


def measure_guest(lispvm, image, tmp, size, rounds):
    g = Guest(lispvm, image, tmp, "discard", "5000")
    g.wait_listening()
    s = g.connect(5000)
    to_guest = send_all_then_count(s, size)
    s.close()
    g.finish()

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = os.path.join(tmp, "vm.sock_6000")
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(1)
    g = Guest(lispvm, image, tmp, "blast", "6000", str(size))
    conn, _ = listener.accept()
    from_guest = receive_all(conn, size)
    conn.close()
    listener.close()
    g.finish()

    g = Guest(lispvm, image, tmp, "pingpong", "5001")
    g.wait_listening()
    s = g.connect(5001)
    ping(s, 20)  # warm up: the first packets bring the device up
    rtt = ping(s, rounds)
    s.close()
    g.finish()
    return to_guest, from_guest, rtt


def attach_times(lispvm, tmp, runs):
    program = os.path.join(tmp, "wait.lisp")
    with open(program, "w") as f:
        f.write('(format t "ready~%") (finish-output) (loop (sleep 1))\n')
    env = {**os.environ, "XDG_RUNTIME_DIR": tmp}
    prog = subprocess.Popen([lispvm, "run", "--attachable", "--name", "bench", program],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    if prog.stdout.readline() != b"ready\n":
        fail(f"attachable program did not start: {prog.stderr.read().decode()}")
    times = []
    try:
        for _ in range(runs):
            start = time.perf_counter()
            a = subprocess.Popen([lispvm, "attach", "bench"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=env)
            seen = b""
            while not seen.endswith(b"* "):
                got = a.stdout.read1(4096)
                if not got:
                    fail(f"attach ended before its prompt: {seen!r}")
                seen += got
            times.append(time.perf_counter() - start)
            a.stdin.close()
            a.wait(timeout=60)
    finally:
        prog.kill()
        prog.wait()
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lispvm", default=DEFAULT_LISPVM)
    args = parser.parse_args()
    machine.enter()
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        fail("needs read-write /dev/kvm")
    size = args.size_mb * 1000 * 1000
    tmp = tempfile.mkdtemp(prefix="lispvm-bench-vsock-")
    try:
        peer = build_peer(tmp)
        image = os.path.join(tmp, "peer.erofs")
        subprocess.run([args.lispvm, "image", "build", "-o", image, f"{peer}:/bin/vsock_peer"],
                       check=True, capture_output=True)
        native = [measure_native(size, args.rounds) for _ in range(args.runs)]
        guest = [measure_guest(args.lispvm, image, tmp, size, args.rounds)
                 for _ in range(args.runs)]
        attach = attach_times(args.lispvm, tmp, max(args.runs, 5))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    print(f"vsock, {args.size_mb} MB each way, {args.rounds} round trips, "
          f"median of {args.runs} runs")
    print(f"{'':28} {'lispvm vsock':>14} {'Unix socketpair':>16} {'ratio':>8}")
    for i, label in [(0, "host -> peer  MB/s"), (1, "peer -> host  MB/s")]:
        g, n = size / med(guest, i) / 1e6, size / med(native, i) / 1e6
        print(f"{label:28} {g:14.1f} {n:16.1f} {n / g:7.1f}x")
    g, n = med(guest, 2) * 1e6, med(native, 2) * 1e6
    print(f"{'round trip, 1 byte  us':28} {g:14.1f} {n:16.1f} {g / n:7.1f}x")
    print(f"lispvm attach to first prompt: median {statistics.median(attach) * 1000:.0f} ms, "
          f"min {min(attach) * 1000:.0f} ms over {len(attach)} attaches")


if __name__ == "__main__":
    main()
