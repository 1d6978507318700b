#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for lispvm in lispvmd's tests (suite unit: no VM).  Its last
argument is a script of steps separated by ';':

    argv          print this command line as JSON on stdout
    env NAME      print NAME=VALUE of the environment ("NAME" when unset)
    out TEXT      print TEXT on stdout      err TEXT   on stderr
    lines N       print N numbered lines on stdout
    slowlines N   the same, a line each 5 ms
    bytes HEX     write these bytes and a newline on stdout
    raw HEX       write these bytes alone on stdout (no newline)
    sleep S       sleep S seconds
    on-term N     exit N on SIGTERM          ignore-term   ignore SIGTERM
    orphan S      leave a process behind that holds stdout and stderr
                  open for S seconds
    exit N        exit N

'fake_lispvm.py gc NAME' (lispvmd asking a VM for its garbage) succeeds,
unless NAME begins with "nogc": then it fails as lispvm does without an
attach agent.  'fake_lispvm.py snapshot NAME -o FILE [OPTIONS]' writes
its command line as JSON in FILE and says so, unless NAME begins with
"nosnap".  A last argument that is a path (a resume: run --snapshot
FILE alone) prints the command line.

'fake_lispvm.py run --snapshot FILE --pooled SOCKET' is a warm VM: it
listens on SOCKET (after 1 s when FILE's name has "slowpool"; never, and
exits 125 with a line, when it has "badpool"), takes one invocation as
lispvm does (its length, then NUL-terminated words; "ok"), and runs it
as above; a script with the step "pool-refuse" is refused ("error: ...")
and the next connection waited for; one with "pool-vanish" gets no
answer (the VM sleeps on), one with "pool-hang" none while the asker
lives (then the VM waits for the next); an invocation whose --memory is not the
pool's is stale ("error: stale: ...", exit 125)."""

import json
import os
import select
import signal
import socket
import sys
import time


def gc(name):
    if name.startswith("nogc"):
        print("lispvm: gc: no attach agent answers (was the VM run --attachable?)",
              file=sys.stderr)
        return 125
    print(f"{name}: garbage collected in 0.00 s")
    return 0


def snapshot(name, argv):
    if name.startswith("nosnap"):
        print("lispvm: snapshot: the VM closed its control socket without an answer",
              file=sys.stderr)
        return 125
    file = argv[argv.index("-o") + 1]
    with open(file, "w") as f:
        json.dump(argv, f)
    print(f"{file}: 0.1 MiB stored in 0.01 s")
    return 0


def read_invocation(conn):
    """LENGTH, a newline, then that many bytes of NUL-terminated words."""
    data = b""
    while chunk := conn.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\n")
    assert int(head) == len(body) and body.endswith(b"\0"), data[:200]
    return [w.decode() for w in body.split(b"\0")[:-1]]


def pooled(argv):
    snapshot = argv[argv.index("--snapshot") + 1]
    path = argv[argv.index("--pooled") + 1]
    memory = argv[argv.index("--memory") + 1] if "--memory" in argv else None
    if "badpool" in snapshot:
        print(f"lispvm: snapshot {snapshot}: not a snapshot file", file=sys.stderr)
        return 125
    if "slowpool" in snapshot:
        time.sleep(1)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    while True:
        conn, _ = listener.accept()
        words = read_invocation(conn)
        if (words[words.index("--memory") + 1] if "--memory" in words else None) != memory:
            conn.sendall(b"error: stale: a pooled VM's --memory is the pool's\n")
            conn.close()
            os.unlink(path)
            print("lispvm: --pooled: stale", file=sys.stderr)
            return 125
        if "pool-refuse" in words[-1]:
            conn.sendall(b"error: refused, as the script asks\n")
            conn.close()
            continue
        if "pool-vanish" in words[-1]:  # takes it and never says so
            conn.close()
            time.sleep(3600)
        if "pool-hang" in words[-1]:  # says nothing while its asker lives
            poller = select.poll()
            poller.register(conn, select.POLLHUP | select.POLLERR)
            poller.poll()
            conn.close()
            continue
        conn.sendall(b"ok\n")
        conn.close()
        listener.close()
        os.unlink(path)
        sys.argv = words
        return None


def main():
    if "--pooled" in sys.argv:
        status = pooled(sys.argv)
        if status is not None:
            return status
    if sys.argv[1:2] == ["gc"]:
        return gc(sys.argv[2])
    if sys.argv[1:2] == ["snapshot"]:
        return snapshot(sys.argv[2], sys.argv[1:])
    if sys.argv[-1].startswith("/"):  # run --snapshot FILE alone: a resume
        print(json.dumps(sys.argv[1:]), flush=True)
        return 0
    for step in sys.argv[-1].split(";"):
        word, _, rest = step.strip().partition(" ")
        if word == "argv":
            print(json.dumps(sys.argv[1:]), flush=True)
        elif word == "env":
            value = os.environ.get(rest)
            print(rest if value is None else f"{rest}={value}", flush=True)
        elif word == "out":
            print(rest, flush=True)
        elif word == "err":
            print(rest, file=sys.stderr, flush=True)
        elif word == "lines":
            for i in range(int(rest)):
                sys.stdout.write(f"line {i}\n")
            sys.stdout.flush()
        elif word == "slowlines":
            for i in range(int(rest)):
                print(f"line {i}", flush=True)
                time.sleep(0.005)
        elif word == "bytes":
            os.write(1, bytes.fromhex(rest) + b"\n")
        elif word == "raw":
            os.write(1, bytes.fromhex(rest))
        elif word == "sleep":
            time.sleep(float(rest))
        elif word == "on-term":
            code = int(rest)
            signal.signal(signal.SIGTERM, lambda *_: os._exit(code))
        elif word == "orphan":
            if os.fork() == 0:
                os.setsid()
                time.sleep(float(rest))
                os._exit(0)
        elif word == "ignore-term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif word == "exit":
            sys.exit(int(rest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
