# SPDX-License-Identifier: MIT
"""Byte streams carried inside one command's connection (OPEN, DATA,
CLOSE frames, tm_protocol): each end keeps its sockets in the selector of
its own event loop.  A stream is half-closed as TCP is: CLOSE from the
peer shuts our socket's write side, our socket's end of file sends CLOSE,
and the socket goes when both directions are done."""

import selectors
import socket

import tm_protocol as proto


class Stream:
    def __init__(self, sock):
        self.sock = sock
        self.reading = True  # our socket may still send us bytes
        self.writing = True  # the peer may still send us DATA


class Streams:
    def __init__(self, selector, send):
        self.selector = selector
        self.send = send  # writes a whole frame to the command's connection
        self.open = {}

    def add(self, stream_id, sock):
        self.open[stream_id] = Stream(sock)
        self.selector.register(sock, selectors.EVENT_READ, ("stream", stream_id))

    def readable(self, stream_id):
        stream = self.open[stream_id]
        try:
            data = stream.sock.recv(proto.CHUNK)
        except OSError:
            data = b""
        if data:
            self.send(proto.pack_stream(proto.DATA, stream_id, data))
            return
        self.send(proto.pack_stream(proto.CLOSE, stream_id))
        self.selector.unregister(stream.sock)
        stream.reading = False
        self._maybe_drop(stream_id)

    def data(self, payload):
        stream_id, data = proto.unpack_stream(payload)
        stream = self.open.get(stream_id)
        if stream is None or not stream.writing:
            return
        try:
            stream.sock.sendall(data)
        except OSError:  # the local end went away: so does the stream
            self.drop(stream_id, tell_peer=True)

    def closed(self, payload):
        stream_id, _ = proto.unpack_stream(payload)
        stream = self.open.get(stream_id)
        if stream is None:
            return
        stream.writing = False
        try:
            stream.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self._maybe_drop(stream_id)

    def _maybe_drop(self, stream_id):
        stream = self.open[stream_id]
        if not stream.reading and not stream.writing:
            stream.sock.close()
            del self.open[stream_id]

    def drop(self, stream_id, tell_peer=False):
        stream = self.open.pop(stream_id, None)
        if stream is None:
            return
        if stream.reading:
            self.selector.unregister(stream.sock)
        stream.sock.close()
        if tell_peer:
            self.send(proto.pack_stream(proto.CLOSE, stream_id))

    def drop_all(self):
        for stream_id in list(self.open):
            self.drop(stream_id)
