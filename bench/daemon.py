#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""lispvmd: how fast VMs start and end through the daemon, against native
`sbcl --script` spawns and plain `lispvm run` on the same machine, in one
run.

  - rate: hello.lisp run to its end N times one after another (native
    spawns; lispvm run; POST /v1/vms then POST wait, cold, from a
    prepared snapshot, and from that snapshot's warm pool: each create
    when a warm VM is ready, and back to back, when the pool may not
    have refilled) and with 4 clients at once through the daemon;
  - latency: POST /v1/vms until its 201 (the VM's lispvm has been
    exec'd), p50 and p99, and POST until the VM ended;
  - the daemon's RSS idle, and with K VMs running at once; and with T
    VMs of the stand-in lispvm (tests/daemon/fake_lispvm.py) running at
    once: the daemon never maps guest memory, so its cost per VM is the
    same whatever the VM runs, and T real VMs may not fit the machine.

Usage: bench/daemon.py [--runs N] [--running K] [--table T] [--build DIR]"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import machine  # bench/machine.py: where the benchmark runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "examples", "hello.lisp")


class Connection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("lispvmd", timeout=900)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def call(sock, method, path, body=None):
    conn = Connection(sock)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None)
        response = conn.getresponse()
        data = json.loads(response.read() or b"null")
    finally:
        conn.close()
    return response.status, data


def fail(message):
    print(f"daemon bench: {message}", file=sys.stderr)
    sys.exit(1)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed_runs(argv, runs):
    subprocess.run(argv, capture_output=True)  # warm: caches, the SBCL image
    times = []
    for _ in range(runs):
        start = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True)
        times.append(time.monotonic() - start)
        if proc.returncode != 0 or proc.stdout.strip() == "":
            fail(f"{argv}: exit {proc.returncode} {proc.stderr}")
    return times


def through_daemon(sock, spec, runs):
    """(create latencies, start-to-end times) of runs VMs one after
    another."""
    created, ended = [], []
    for _ in range(runs):
        start = time.monotonic()
        status, vm = call(sock, "POST", "/v1/vms", spec)
        created.append(time.monotonic() - start)
        if status != 201:
            fail(f"create: {status} {vm}")
        through_daemon.last_from_pool = vm["from_pool"]
        status, vm = call(sock, "POST", f"/v1/vms/{vm['id']}/wait")
        ended.append(time.monotonic() - start)
        if status != 200 or vm["exit_code"] != 0:
            fail(f"the VM failed: {status} {vm}")
        call(sock, "DELETE", f"/v1/vms/{vm['id']}")
    return created, ended


def through_pool(sock, spec, runs, wait_ready):
    """(create latencies, start-to-end times, how many took a warm VM) of
    runs VMs one after another from a daemon with a pool of spec's
    snapshot; wait_ready: each create once a warm VM is ready."""
    created, ended, warm = [], [], 0
    snapshot = os.path.realpath(spec["snapshot"])
    for _ in range(runs):
        deadline = time.monotonic() + 600
        while wait_ready and not any(p["snapshot"] == snapshot and p["ready"] > 0
                                     for p in call(sock, "GET", "/v1/pools")[1]["pools"]):
            if time.monotonic() > deadline:
                fail(f"the pool did not refill: {call(sock, 'GET', '/v1/pools')[1]}")
            time.sleep(0.05)
        c, e = through_daemon(sock, spec, 1)
        created += c
        ended += e
        warm += through_daemon.last_from_pool
    return created, ended, warm


def per_second(client, clients, each):
    """Runs per second with clients calling client() each times at once."""
    def loop():
        for _ in range(each):
            client()
    start = time.monotonic()
    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return clients * each / (time.monotonic() - start)


def concurrent(sock, spec, clients, each):
    """VMs per second through the daemon with clients at once."""
    errors = []

    def client():
        try:
            through_daemon(sock, spec, 1)
        except SystemExit:
            errors.append("a VM failed")
    rate = per_second(client, clients, each)
    if errors:
        fail(errors[0])
    return rate


def native_concurrent(argv, clients, each):
    """Processes per second with clients running argv at once."""
    return per_second(lambda: subprocess.run(argv, capture_output=True), clients, each)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def prepared_snapshot(lispvm, work):
    path = os.path.join(work, "hello.lvs")
    proc = subprocess.run([lispvm, "prepare", "-m", "512M", "-o", path, "--eval", "1"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        fail(f"prepare: {proc.stderr}")
    return path


def running_rss(daemon, sock, count):
    """The daemon's RSS with count VMs running at once."""
    ids = []
    for _ in range(count):
        status, vm = call(sock, "POST", "/v1/vms", {"eval": "(sleep 3600)", "memory": "256M"})
        if status != 201:
            fail(f"create: {status} {vm}")
        ids.append(vm["id"])
    deadline = time.monotonic() + 600
    while call(sock, "GET", "/v1/vms?state=running")[1]["vms"].__len__() < count:
        if time.monotonic() > deadline:
            fail("the VMs did not all start")
        time.sleep(0.5)
    rss = rss_kib(daemon.pid)
    for vm_id in ids:
        call(sock, "POST", f"/v1/vms/{vm_id}/kill")
        call(sock, "POST", f"/v1/vms/{vm_id}/wait")
        call(sock, "DELETE", f"/v1/vms/{vm_id}")
    return rss


FAKE_LISPVM = os.path.join(ROOT, "tests", "daemon", "fake_lispvm.py")


def table_rss(lispvmd, work, count):
    """(the daemon's RSS in KiB idle, with count stand-in VMs running, and
    a monitor's RSS): a daemon of its own, each VM a sleeping stand-in."""
    sock = os.path.join(work, "table.sock")
    daemon = subprocess.Popen([lispvmd, "--foreground", "--socket", sock, "--lispvm",
                               FAKE_LISPVM, "--state-dir", os.path.join(work, "table")],
                              stderr=subprocess.DEVNULL)
    try:
        while not os.path.exists(sock):
            time.sleep(0.05)
        idle = rss_kib(daemon.pid)
        ids = []
        for _ in range(count):
            status, vm = call(sock, "POST", "/v1/vms", {"eval": "sleep 3600"})
            if status != 201:
                fail(f"create: {status} {vm}")
            ids.append(vm["id"])
        busy = rss_kib(daemon.pid)
        with open(os.path.join(work, "table", "vms", ids[0], "state.json")) as f:
            monitor = rss_kib(json.load(f)["monitor_pid"])
        for vm_id in ids:
            call(sock, "POST", f"/v1/vms/{vm_id}/kill")
        for vm_id in ids:
            call(sock, "POST", f"/v1/vms/{vm_id}/wait")
    finally:
        daemon.terminate()
        daemon.wait()
    return idle, busy, monitor


def pool_figures(lispvmd, lispvm, work, snapshot, runs):
    """through_pool's figures, each create when a warm VM is ready, then
    back to back, from a daemon of its own with --pool SNAPSHOT=2."""
    sock = os.path.join(work, "pool.sock")
    daemon = subprocess.Popen([lispvmd, "--foreground", "--socket", sock, "--lispvm", lispvm,
                               "--state-dir", os.path.join(work, "pool"),
                               "--pool", f"{snapshot}=2"], stderr=subprocess.DEVNULL)
    spec = {"program": HELLO, "snapshot": snapshot}
    try:
        while not os.path.exists(sock):
            time.sleep(0.05)
        ready = through_pool(sock, spec, runs, True)
        back_to_back = through_pool(sock, spec, runs, False)
    finally:
        daemon.terminate()
        daemon.wait()
        # The warm VMs outlive the daemon (a restarted one adopts them).
        subprocess.run(["pkill", "-KILL", "-f", "--", f"--pooled {work}/pool/"])
    return ready, back_to_back


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--table", type=int, default=200)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = parser.parse_args()
    machine.enter()
    lispvm = os.path.join(args.build, "tools", "lispvm", "lispvm")
    lispvmd = os.path.join(args.build, "daemon", "lispvmd")
    with tempfile.TemporaryDirectory(prefix="lispvmd-bench-") as work:
        sock = os.path.join(work, "lispvmd.sock")
        daemon = subprocess.Popen([lispvmd, "--foreground", "--socket", sock, "--lispvm", lispvm],
                                  stderr=subprocess.DEVNULL)
        try:
            while not os.path.exists(sock):
                time.sleep(0.05)
            idle = rss_kib(daemon.pid)
            runs = args.runs
            native = timed_runs(["sbcl", "--script", HELLO], runs)
            plain = timed_runs([lispvm, "run", HELLO], runs)
            jailed = timed_runs([lispvm, "--jail", "run", HELLO], runs)
            through_daemon(sock, {"program": HELLO}, 1)  # warm
            created, ended = through_daemon(sock, {"program": HELLO}, runs)
            snapshot = prepared_snapshot(lispvm, work)
            s_created, s_ended = through_daemon(sock, {"program": HELLO, "snapshot": snapshot},
                                                runs)
            pooled, pooled_b2b = pool_figures(lispvmd, lispvm, work, snapshot, runs)
            rate4 = concurrent(sock, {"program": HELLO}, 4, max(1, runs // 4))
            native4 = native_concurrent(["sbcl", "--script", HELLO], 4, max(1, runs // 4))
            busy = running_rss(daemon, sock, args.running)
            after = rss_kib(daemon.pid)
            table = table_rss(lispvmd, work, args.table)
        finally:
            daemon.terminate()
            daemon.wait()
    n = statistics.median(native)
    print(f"hello.lisp, {runs} runs each, one after another (median; rate = 1/mean):")
    for what, times in (("native sbcl --script", native), ("lispvm run", plain),
                        ("lispvm --jail run", jailed),
                        ("lispvmd, cold (jailed)", ended), ("lispvmd, --snapshot", s_ended),
                        ("lispvmd, warm pool", pooled[1]),
                        ("pool, back to back", pooled_b2b[1])):
        m = statistics.median(times)
        print(f"  {what:22s} {m:7.3f} s  {1 / statistics.mean(times):6.2f} /s  "
              f"{m / n:5.2f}x native")
    print(f"  4 at once: lispvmd, cold {rate4:.2f} VMs/s; native {native4:.2f} /s "
          f"({rate4 / native4:.2f}x)")
    print(f"  warm VMs taken: {pooled[2]}/{runs} when ready, {pooled_b2b[2]}/{runs} back to "
          f"back (pool of 2; the rest started cold)")
    for what, times in (("cold", created), ("--snapshot", s_created),
                        ("warm pool", pooled[0])):
        print(f"create latency ({what}): p50 {percentile(times, 50) * 1000:.1f} ms, "
              f"p99 {percentile(times, 99) * 1000:.1f} ms")
    print(f"lispvmd RSS: idle {idle} KiB, with {args.running} VMs running {busy} KiB, "
          f"after them {after} KiB")
    print(f"lispvmd RSS with {args.table} stand-in VMs running: {table[1]} KiB "
          f"(idle {table[0]} KiB; each VM's monitor {table[2]} KiB)")


if __name__ == "__main__":
    main()
