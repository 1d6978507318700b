# SPDX-License-Identifier: MIT
"""Byte streams carried inside one command's connection (OPEN, DATA,
CREDIT, CLOSE frames, tm_protocol): each end keeps its sockets,
non-blocking, in the selector of its own event loop.

Flow control is by credit, as vsock's is: an end sends at most WINDOW
bytes of a stream that the other end has not yet written to its socket,
and stops reading that socket until CREDIT frames say they were written.
So a reader that never reads holds back its writer after a bounded amount
(what a flooding guest must see), and no end ever blocks on a stream.
A stream is half-closed as TCP is: CLOSE from the peer shuts our socket's
write side once what is pending was written; our socket's end of file
sends CLOSE; the socket goes when both directions are done."""

import selectors
import socket
import struct

import tm_protocol as proto

WINDOW = 256 * 1024
COUNT = struct.Struct(">I")


class Stream:
    def __init__(self, sock):
        self.sock = sock
        self.reading = True  # our socket may still send us bytes
        self.writing = True  # we may still write the peer's bytes to our socket
        self.peer_closed = False
        self.unacked = 0  # bytes sent to the peer and not yet credited
        self.pending = bytearray()  # the peer's bytes our socket has not taken
        self.events = 0


class Streams:
    def __init__(self, selector, send):
        self.selector = selector
        self.send = send  # writes a whole frame to the command's connection
        self.open = {}

    def add(self, stream_id, sock):
        sock.setblocking(False)
        self.open[stream_id] = Stream(sock)
        self._update(stream_id)

    def _update(self, stream_id):
        """Registers for what the stream can do now."""
        stream = self.open[stream_id]
        events = 0
        if stream.reading and stream.unacked < WINDOW:
            events |= selectors.EVENT_READ
        if stream.pending:
            events |= selectors.EVENT_WRITE
        if events == stream.events:
            return
        if stream.events == 0:
            self.selector.register(stream.sock, events, ("stream", stream_id))
        elif events == 0:
            self.selector.unregister(stream.sock)
        else:
            self.selector.modify(stream.sock, events, ("stream", stream_id))
        stream.events = events

    def ready(self, stream_id, mask):
        if stream_id in self.open and mask & selectors.EVENT_WRITE:
            self._flush(stream_id)
        if stream_id in self.open and mask & selectors.EVENT_READ:
            self._read(stream_id)

    def _read(self, stream_id):
        stream = self.open[stream_id]
        try:
            data = stream.sock.recv(min(proto.CHUNK, WINDOW - stream.unacked))
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            stream.unacked += len(data)
            self.send(proto.pack_stream(proto.DATA, stream_id, data))
        else:
            self.send(proto.pack_stream(proto.CLOSE, stream_id))
            stream.reading = False
        self._settle(stream_id)

    def _flush(self, stream_id):
        stream = self.open[stream_id]
        try:
            written = stream.sock.send(stream.pending) if stream.pending else 0
        except BlockingIOError:  # the rest when the socket is writable
            self._update(stream_id)
            return
        except OSError:  # the local end went away: so does the stream
            self.drop(stream_id, tell_peer=True)
            return
        if written:
            del stream.pending[:written]
            self.send(proto.pack_stream(proto.CREDIT, stream_id, COUNT.pack(written)))
        if not stream.pending and stream.peer_closed and stream.writing:
            stream.writing = False
            try:
                stream.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        self._settle(stream_id)

    def _settle(self, stream_id):
        stream = self.open[stream_id]
        if not stream.reading and not stream.writing:
            self.drop(stream_id)
        else:
            self._update(stream_id)

    def data(self, payload):
        stream_id, data = proto.unpack_stream(payload)
        stream = self.open.get(stream_id)
        if stream is None or stream.peer_closed:
            return
        stream.pending += data
        self._flush(stream_id)

    def credit(self, payload):
        stream_id, count = proto.unpack_stream(payload)
        stream = self.open.get(stream_id)
        if stream is not None:
            stream.unacked = max(0, stream.unacked - COUNT.unpack(count)[0])
            self._update(stream_id)

    def closed(self, payload):
        stream_id, _ = proto.unpack_stream(payload)
        stream = self.open.get(stream_id)
        if stream is not None:
            stream.peer_closed = True
            self._flush(stream_id)

    def drop(self, stream_id, tell_peer=False):
        stream = self.open.pop(stream_id, None)
        if stream is None:
            return
        if stream.events:
            self.selector.unregister(stream.sock)
        stream.sock.close()
        if tell_peer:
            self.send(proto.pack_stream(proto.CLOSE, stream_id))

    def drop_all(self):
        for stream_id in list(self.open):
            self.drop(stream_id)
