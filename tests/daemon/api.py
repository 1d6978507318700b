# SPDX-License-Identifier: MIT
"""lispvmd's request layer (suite unit: no VM is started): the version
route; unknown paths (404), wrong methods (405 with Allow), bodies that
are not one JSON object (400) or are larger than 1 MiB (413), each with a
JSON error body, and the daemon still serving after each; a second daemon
on a live socket refused, a stale socket replaced; SIGTERM ends it and
removes its socket.
Usage: api.py CASE LISPVMD"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import expect, main  # noqa: E402
from daemon_lib import OPENAPI, Daemon, operation  # noqa: E402
from daemon_lib import expect_error as expect_error_only  # noqa: E402


def expect_error(daemon, status, method, path, body=None, contains=""):
    response, _ = expect_error_only(daemon, status, method, path, body, contains)
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


def openapi(lispvmd):
    """daemon/openapi.json and the daemon agree: every documented path and
    method is served (a VM that does not exist is 404 "no VM", never "no
    such path" or 405), every other method on a documented path is 405
    with the documented methods in Allow; each operation has an ID and a
    default (error) response, and every reference resolves.  (Each answer
    in every daemon test is checked against the document as it comes.)"""
    expect(OPENAPI["openapi"] == "3.1.0", f"openapi {OPENAPI['openapi']}")
    schemas = OPENAPI["components"]["schemas"]
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(OPENAPI))
    expect(set(refs) <= set(schemas), f"unresolved: {set(refs) - set(schemas)}")
    methods = ("GET", "POST", "DELETE", "PUT", "PATCH")
    with tempfile.TemporaryDirectory(prefix="lispvmd-test-") as work:
        daemon = Daemon(lispvmd, work)
        try:
            for template, item in OPENAPI["paths"].items():
                path = template.replace("{vm}", "nothing")
                if template == "/v1/events":  # a stream: its 400, not a wait
                    path += "?since=x"
                documented = [m for m in methods if m.lower() in item]
                for method in methods:
                    response, data = daemon.raw(method, path)
                    if method in documented:
                        op = item[method.lower()]
                        expect("operationId" in op and "default" in op["responses"],
                               f"{method} {template}: no operationId or default response")
                        expect(operation(method, path) is op, f"{method} {path}: lookup")
                        expect(response.status != 405 and b"no such path" not in data,
                               f"{method} {path}: documented, not served: {data!r}")
                    else:
                        expect(response.status == 405,
                               f"{method} {path}: not documented, answered {response.status}")
                        expect(response.getheader("Allow") == ", ".join(documented),
                               f"{method} {path}: Allow {response.getheader('Allow')}, "
                               f"documented {documented}")
        finally:
            daemon.stop()


def systemd(lispvmd):
    """The units in the repo pass systemd-analyze verify (with the build's
    paths), and lispvmd serves a socket that systemd made and passed: it
    says so, answers, and leaves the socket to systemd when it ends."""
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory(prefix="lispvmd-test-") as work:
        service = os.path.join(os.path.dirname(os.path.abspath(lispvmd)), "lispvmd.service")
        with open(service) as f:
            text = f.read()
        bindir = re.search(r"^ExecStart=(\S+)/lispvmd ", text, re.M).group(1)
        with open(os.path.join(work, "lispvmd.service"), "w") as f:
            f.write(text.replace(bindir + "/lispvmd", os.path.abspath(lispvmd))
                    .replace(bindir + "/lispvm", os.path.abspath(lispvmd)))
        shutil.copy(os.path.join(here, "..", "..", "daemon", "systemd", "lispvmd.socket"), work)
        proc = subprocess.run(["systemd-analyze", "verify", "--man=no",
                               os.path.join(work, "lispvmd.socket"),
                               os.path.join(work, "lispvmd.service")],
                              capture_output=True, text=True, timeout=120)
        expect(proc.returncode == 0 and proc.stderr == "",
               f"systemd-analyze verify: exit {proc.returncode} {proc.stderr}")
        daemon = Daemon(lispvmd, work, activated=True)
        try:
            version(daemon)
            expect_error(daemon, 404, "GET", "/v1/nothing", contains="no such path")
        finally:
            out, err = daemon.stop()
        expect(daemon.proc.returncode == 0 and "(a socket from systemd)" in err,
               f"lispvmd exited {daemon.proc.returncode}: {err}")
        expect(os.path.exists(daemon.path), "lispvmd removed systemd's socket")


if __name__ == "__main__":
    main({f.__name__: f for f in (errors, socket_file, openapi, systemd)})
