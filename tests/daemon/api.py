# SPDX-License-Identifier: MIT
"""lispvmd's request layer (suite unit: no VM is started): the version
route; unknown paths (404), wrong methods (405 with Allow), bodies that
are not one JSON object (400) or are larger than 1 MiB (413), each with a
JSON error body, and the daemon still serving after each; a second daemon
on a live socket refused, a stale socket replaced; SIGTERM ends it and
removes its socket.
Usage: api.py CASE LISPVMD"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import TestFailure, expect, main  # noqa: E402


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("lispvmd", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


class Daemon:
    def __init__(self, exe, work):
        self.path = os.path.join(work, "lispvmd.sock")
        self.proc = subprocess.Popen([exe, "--foreground", "--socket", self.path],
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

    def request(self, method, path, body=None, headers=None):
        conn = UnixConnection(self.path)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            raw = response.read()
        finally:
            conn.close()
        expect(response.getheader("Content-Type") == "application/json",
               f"{method} {path}: Content-Type {response.getheader('Content-Type')}")
        return response, json.loads(raw)

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
    version(daemon)  # still serving
    return response


def version(daemon):
    response, data = daemon.request("GET", "/v1/version")
    expect(response.status == 200, f"GET /v1/version: {response.status} {data}")
    expect(isinstance(data.get("version"), str) and isinstance(data.get("abi"), int),
           f"GET /v1/version: {data}")
    expect(data.get("uid") == os.getuid(), f"the daemon sees uid {data.get('uid')}")


def errors(lispvmd):
    """Every way a request fails, each a JSON error; the daemon serves on."""
    with tempfile.TemporaryDirectory(prefix="lispvmd-test-") as work:
        daemon = Daemon(lispvmd, work)
        try:
            version(daemon)
            expect_error(daemon, 404, "GET", "/v1/nothing", contains="no such path")
            expect_error(daemon, 404, "GET", "/", contains="no such path")
            response = expect_error(daemon, 405, "DELETE", "/v1/version",
                                    contains="does not take")
            expect(response.getheader("Allow") == "GET", f"Allow: {response.getheader('Allow')}")
            for body, why in (("{\"a\": ", "not JSON"), ("[1, 2]", "must be a JSON object"),
                              ("{} {}", "not JSON"), ("\"text\"", "must be a JSON object"),
                              ("\xff\xfe", "not JSON")):
                expect_error(daemon, 400, "POST", "/v1/version", body.encode("latin-1"),
                             contains=why)
            expect_error(daemon, 413, "POST", "/v1/version", b"{" + b" " * (2 << 20) + b"}",
                         contains="larger than 1 MiB")
        finally:
            out, err = daemon.stop()
        expect(daemon.proc.returncode == 0, f"lispvmd exited {daemon.proc.returncode}: {err}")
        expect(not os.path.exists(daemon.path), "lispvmd left its socket behind")


def socket_file(lispvmd):
    """A second daemon on a live socket is refused with one line; a stale
    socket file (nobody answers) is replaced."""
    with tempfile.TemporaryDirectory(prefix="lispvmd-test-") as work:
        daemon = Daemon(lispvmd, work)
        try:
            second = subprocess.run([lispvmd, "--socket", daemon.path], capture_output=True,
                                    text=True, timeout=30)
            expect(second.returncode == 1, f"a second lispvmd: exit {second.returncode}")
            expect(second.stderr == f"lispvmd: another lispvmd serves {daemon.path}\n",
                   f"a second lispvmd: {second.stderr!r}")
            version(daemon)
        finally:
            daemon.stop()
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(daemon.path)
        stale.close()
        expect(os.path.exists(daemon.path), "no stale socket to replace")
        daemon = Daemon(lispvmd, work)
        try:
            version(daemon)
        finally:
            daemon.stop()


if __name__ == "__main__":
    main({f.__name__: f for f in (errors, socket_file)})
