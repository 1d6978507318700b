# SPDX-License-Identifier: MIT
"""A lispvmd for a test: started on a socket in a directory of its own,
asked over HTTP on that socket, stopped with SIGTERM."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import TestFailure, expect, where_vms_run  # noqa: E402

# Where a daemon keeps its state in the helper machine: this, then its
# host path (daemon/machine_handover.h).
MACHINE_STATE_ROOT = "/run/lispvm-machine/lispvmd"
FAKE_LISPVM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_lispvm.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(ROOT, "daemon", "openapi.json")) as f:
    OPENAPI = json.load(f)


def inline(schema):
    """The schema with every #/components/schemas/ reference replaced by
    what it names (the document has no recursive schemas)."""
    if isinstance(schema, list):
        return [inline(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        rest = {k: inline(v) for k, v in schema.items() if k != "$ref"}
        return {**inline(OPENAPI["components"]["schemas"][name]), **rest}
    return {k: inline(v) for k, v in schema.items()}


def operation(method, path):
    """The documented operation for a request, or None."""
    path = path.split("?", 1)[0]
    for template, item in OPENAPI["paths"].items():
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return item.get(method.lower())
    return None


def validate(schema, instance, what):
    try:
        import jsonschema
    except ImportError:
        raise TestFailure("no python3-jsonschema: tools/setup installs it") from None
    try:
        jsonschema.Draft202012Validator(inline(schema)).validate(instance)
    except jsonschema.ValidationError as e:
        raise TestFailure(f"{what} does not match daemon/openapi.json: {e.message} "
                          f"at {list(e.absolute_path)}: {instance}") from None


def check_response(method, path, status, content_type, data):
    """Every answer as daemon/openapi.json says: the documented status (or
    default) and its media type and schema; an undocumented request gets
    an Error with 404 or 405."""
    what = f"{method} {path} -> {status}"
    op = operation(method, path)
    if op is None:
        # A malformed body is 400 or 413 whatever the path (info.description).
        expect(status in (400, 404, 405, 413), f"{what}: not in daemon/openapi.json")
        responses = {"default": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Error"}}}}}
    else:
        responses = op["responses"]
    response = responses.get(str(status), responses.get("default"))
    expect(response is not None, f"{what}: status not in daemon/openapi.json")
    media = response.get("content", {}).get(content_type)
    expect(media is not None, f"{what}: {content_type} not in daemon/openapi.json")
    if content_type == "application/x-ndjson":
        for line in data.decode().splitlines():
            validate(media["schema"], json.loads(line), what)
    else:
        validate(media["schema"], json.loads(data), what)


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("lispvmd", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Daemon:
    def __init__(self, exe, work, options=(), activated=False, user=None, socket_path=None):
        """activated: started as systemd would from a socket unit
        (systemd-socket-activate listens, lispvmd gets the socket); user:
        a passwd entry to run it as (the test runs as root); socket_path:
        where it listens (default: in work)."""
        self.path = socket_path or os.path.join(work, "lispvmd.sock")
        self.state = os.path.join(work, "state")
        # In the helper suite the daemon hands itself over to the helper
        # machine and keeps its state there.
        self.in_machine = os.environ.get("LISPVM_MACHINE") == "always"
        self.vm_state = MACHINE_STATE_ROOT + self.state if self.in_machine else self.state
        where = (["systemd-socket-activate", "-l", self.path, exe] if activated
                 else [exe, "--socket", self.path])
        self.proc = subprocess.Popen([*where, "--foreground",
                                      "--state-dir", self.state, *options],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     **({"user": user.pw_uid, "group": user.pw_gid,
                                         "extra_groups": []} if user else {}))
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
        check_response(method, path, response.status, response.getheader("Content-Type"), data)
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

    def report(self):
        """What a failed or hung test needs said: each VM as the daemon
        describes it, with its last log lines, and the processes under
        the daemon; asked briefly, as the daemon may be what hangs."""
        lines, roots = [], [self.proc.pid]
        try:
            for vm in self.request("GET", "/v1/vms", timeout=5)[1].get("vms", []):
                lines.append(f"vm {json.dumps(vm, sort_keys=True)}")
                roots.append(vm.get("pid"))
                log = self.raw("GET", f"/v1/vms/{vm['id']}/logs", timeout=5)[1]
                lines += [f"  {line}" for line in log.decode().splitlines()[-10:]]
        except (OSError, TestFailure, ValueError) as e:
            lines.append(f"(the daemon did not answer: {e})")
        lines.append("processes: lispvmd's, the VMs' (their monitors are apart):")
        for root in roots:
            lines += process_tree(root)
        return "\n".join(lines)

    def stop(self, keep_vms=False):
        """Ends the daemon; first its VMs that still run, unless keep_vms
        (VMs outlive the daemon, and a failed test must not leave any)."""
        if self.proc.poll() is None and not keep_vms:
            try:
                for vm in self.request("GET", "/v1/vms")[1].get("vms", []):
                    if vm["state"] in ("starting", "running"):
                        self.raw("POST", f"/v1/vms/{vm['id']}/kill")
                        self.raw("POST", f"/v1/vms/{vm['id']}/wait?timeout=10")
            except (OSError, TestFailure, ValueError):
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        result = self.proc.communicate(timeout=30)
        if not keep_vms:
            if self.in_machine:
                subprocess.run(where_vms_run(["/usr/bin/python3", os.path.abspath(__file__),
                                              "kill-warm-vms", self.vm_state]),
                               capture_output=True, timeout=120)
            else:
                self.kill_warm_vms()
        return result

    def warm_vms(self, snapshot=None, with_monitors=False):
        """The pids of the warm VMs (--pool; of snapshot's pool only, if
        given) in the state directory: the daemon's own, which no request
        lists and which outlive it."""
        pids, vms = [], os.path.join(self.state, "vms")
        for vm in os.listdir(vms) if os.path.isdir(vms) else []:
            try:
                with open(os.path.join(vms, vm, "spec.json")) as f:
                    saved = json.load(f)
                pool = saved.get("pool", saved.get("claimed_from"))  # or being handed over
                if pool is None or snapshot not in (None, pool):
                    continue
                with open(os.path.join(vms, vm, "state.json")) as f:
                    state = json.load(f)
                with open(f"/proc/{state['pid']}/stat") as f:  # not a reused pid
                    if int(f.read().rsplit(")", 1)[1].split()[19]) != state["pid_start"]:
                        continue
                pids.append((state["pid"], state["monitor_pid"]) if with_monitors
                            else state["pid"])
            except (OSError, ValueError, KeyError):
                continue
        return pids

    def kill_warm_vms(self):
        """Each, and then waits for its monitor to have written its end."""
        monitors = []
        for pid, monitor in self.warm_vms(with_monitors=True):
            try:
                os.kill(pid, signal.SIGKILL)
                monitors.append(monitor)
            except OSError:
                pass
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{m}") for m in monitors) and \
                time.monotonic() < deadline:
            time.sleep(0.02)


def process_tree(root):
    """ps lines of root and its descendants."""
    ps = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,stat=,etime=,args="],
                        capture_output=True, text=True)
    rows = [line.split(None, 4) for line in ps.stdout.splitlines()]
    children = {}
    for row in rows:
        children.setdefault(row[1], []).append(row)
    out, todo = [], [row for row in rows if row[0] == str(root)]
    while todo:
        row = todo.pop()
        out.append("  " + " ".join(row))
        todo += children.get(row[0], [])
    return out


def expect_error(daemon, status, method, path, body=None, contains=""):
    response, data = daemon.request(method, path, body)
    expect(response.status == status,
           f"{method} {path}: expected {status}, got {response.status} {data}")
    expect(set(data) == {"error", "status"} and data["status"] == status,
           f"{method} {path}: not an error body: {data}")
    expect(contains in data["error"], f"{method} {path}: {data['error']!r} lacks {contains!r}")
    return response, data


def as_user(uid, gid, fn):
    """fn() in a child process running as uid; its result, or its error."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:  # the child never returns into the test
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                data = json.dumps({"ok": fn()})
            except Exception as e:  # noqa: BLE001 (sent to the parent)
                data = json.dumps({"error": f"{type(e).__name__}: {e}"})
            os.write(w, data.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    if "error" in result:
        raise TestFailure(f"as uid {uid}: {result['error']}")
    return result["ok"]


if __name__ == "__main__":  # in the helper machine: daemon_lib.py kill-warm-vms STATE
    if sys.argv[1:2] == ["kill-warm-vms"]:
        stand_in = Daemon.__new__(Daemon)
        stand_in.state = sys.argv[2]
        stand_in.kill_warm_vms()
