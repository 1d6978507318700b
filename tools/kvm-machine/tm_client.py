# SPDX-License-Identifier: MIT
"""Runs one command in a test machine: argv, cwd and environment go over,
stdin is forwarded, stdout and stderr come back as they are written, and
the command's exit status becomes ours.  Ending this process (a test's
timeout, Ctrl-C) closes the connection, and the agent kills the command."""

import json
import os
import socket
import sys
import threading

import tm_protocol as proto


def _forward_stdin(sock):
    try:
        while True:
            data = os.read(0, 65536)
            sock.sendall(proto.pack(proto.STDIN, data))
            if not data:
                return
    except OSError:
        pass


def run(port, token, argv, cwd, env):
    """The command's exit status, or raises OSError/ProtocolError."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(proto.pack_json(proto.HELLO, {"token": token, "argv": argv, "cwd": cwd,
                                               "env": env}))
    threading.Thread(target=_forward_stdin, args=(sock,), daemon=True).start()
    outputs = {proto.STDOUT: sys.stdout.buffer, proto.STDERR: sys.stderr.buffer}
    while True:
        frame = proto.read_frame(sock)
        if frame is None:
            raise proto.ProtocolError("the test machine closed the connection "
                                      "before the command's exit status")
        kind, payload = frame
        if kind in outputs:
            outputs[kind].write(payload)
            outputs[kind].flush()
        elif kind == proto.EXIT:
            return json.loads(payload)["status"]
        elif kind == proto.ERROR:
            raise proto.ProtocolError(payload.decode(errors="replace"))
