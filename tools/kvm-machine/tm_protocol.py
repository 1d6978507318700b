# SPDX-License-Identifier: MIT
"""The wire format between a host client and a machine's agent.

One TCP connection per command.  Every message is a frame: a type byte, a
32-bit big-endian length, then the payload.  The client opens with HELLO
(JSON: token, argv, cwd, env, and optionally tty, vsock_ports), then may
send STDIN frames (an empty one is end of file), SIGNAL (one byte, the
signal number, for the command's process) and WINSIZE (JSON rows, cols);
the agent answers with STDOUT/STDERR frames and ends with EXIT (JSON:
status, the shell-style exit status) or ERROR (a one-line reason).
PING/PONG prove that the agent is up and the token is right.

Byte streams ride the same connection (no second connection per
command): OPEN (JSON: id and what to reach) starts one, DATA carries a
4-byte stream id then bytes, CREDIT (the id, a 4-byte count) says how
many the far end has written on (tm_streams.py), CLOSE (the id) ends it.
Stdin is credited too, as stream 0, so the agent never holds more than
STDIN_WINDOW bytes the command has not read.  The client opens
odd ids (a host connection to the command's --swank port or --vsock
socket), the agent even ones (the command's VMM connecting to a host
vsock listener, Firecracker's PATH_PORT)."""

import json
import struct

(HELLO, STDIN, STDOUT, STDERR, EXIT, ERROR, PING, PONG, SIGNAL, WINSIZE, OPEN, DATA,
 CLOSE, CREDIT) = range(1, 15)
STDIN_STREAM = 0  # CREDIT for stdin: the bytes the command's stdin took
STDIN_WINDOW = 1 << 20
HEADER = struct.Struct(">BI")
STREAM_ID = struct.Struct(">I")
MAX_FRAME = 1 << 20
CHUNK = 256 * 1024
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


def pack_stream(kind, stream_id, data=b""):
    return pack(kind, STREAM_ID.pack(stream_id) + data)


def unpack_stream(payload):
    return STREAM_ID.unpack_from(payload)[0], payload[STREAM_ID.size:]


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
