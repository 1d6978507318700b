# SPDX-License-Identifier: MIT
"""The wire format between a host client and the test machine's agent.

One TCP connection per command.  Every message is a frame: a type byte, a
32-bit big-endian length, then the payload.  The client opens with HELLO
(JSON: token, argv, cwd, env) and may send STDIN frames (an empty one is
end of file); the agent answers with STDOUT/STDERR frames and ends with
EXIT (JSON: status, the shell-style exit status) or ERROR (a one-line
reason).  PING/PONG prove that the agent is up and the token is right."""

import json
import struct

HELLO, STDIN, STDOUT, STDERR, EXIT, ERROR, PING, PONG = range(1, 9)
HEADER = struct.Struct(">BI")
MAX_FRAME = 1 << 20
AGENT_PORT = 7000
READY_MARK = "lispvm-test-machine: agent ready"


class ProtocolError(Exception):
    pass


def pack(kind, payload=b""):
    if isinstance(payload, str):
        payload = payload.encode()
    return HEADER.pack(kind, len(payload)) + payload


def pack_json(kind, value):
    return pack(kind, json.dumps(value))


def _read_exact(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(sock):
    """(kind, payload) or None at a clean end of the stream."""
    header = _read_exact(sock, HEADER.size)
    if header is None:
        return None
    kind, size = HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes")
    payload = _read_exact(sock, size) if size else b""
    if payload is None:
        raise ProtocolError("stream ended inside a frame")
    return kind, payload
