# SPDX-License-Identifier: MIT
"""A lispvmd for a test: started on a socket in a directory of its own,
asked over HTTP on that socket, stopped with SIGTERM."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import TestFailure, expect  # noqa: E402

FAKE_LISPVM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_lispvm.py")


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("lispvmd", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Daemon:
    def __init__(self, exe, work, options=()):
        self.path = os.path.join(work, "lispvmd.sock")
        self.state = os.path.join(work, "state")
        self.proc = subprocess.Popen([exe, "--foreground", "--socket", self.path,
                                      "--state-dir", self.state, *options],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise TestFailure(f"lispvmd did not start: {self.proc.communicate()}")
            time.sleep(0.05)

    def answers(self):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(self.path)
                return True
            except OSError:
                return False

    def raw(self, method, path, body=None, headers=None, timeout=60):
        """The response and its bytes."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn = UnixConnection(self.path, timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        return response, data

    def request(self, method, path, body=None, timeout=60):
        """The response and its JSON body (every answer but logs is one)."""
        response, data = self.raw(method, path, body, timeout=timeout)
        expect(response.getheader("Content-Type") == "application/json",
               f"{method} {path}: Content-Type {response.getheader('Content-Type')}")
        return response, json.loads(data)

    def ok(self, method, path, body=None, status=200, timeout=60):
        response, data = self.request(method, path, body, timeout)
        expect(response.status == status,
               f"{method} {path}: expected {status}, got {response.status} {data}")
        return data

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.communicate(timeout=30)


def expect_error(daemon, status, method, path, body=None, contains=""):
    response, data = daemon.request(method, path, body)
    expect(response.status == status,
           f"{method} {path}: expected {status}, got {response.status} {data}")
    expect(set(data) == {"error", "status"} and data["status"] == status,
           f"{method} {path}: not an error body: {data}")
    expect(contains in data["error"], f"{method} {path}: {data['error']!r} lacks {contains!r}")
    return response, data
