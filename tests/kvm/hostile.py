# SPDX-License-Identifier: MIT
"""Hostile guests (guest-runtime/kernel/selftest_hostile.c, and
hostile_prog.c at ring 3): every hypercall with addresses outside RAM,
straddling its end, wrapping, in device MMIO and in a read-only image,
overlapping the request; every rule of the split virtqueue broken while
the device runs; its register page used every wrong way and its state
changed after DRIVER_OK; requests changed while the device reads them; floods of
exits, doorbells and packets beside another VM; and the host's files,
vsock connections and console taken as far as they go.  Each case: the
VM stops with one line naming what it did, or is refused or throttled,
and lispvm's own descriptors and memory stay bounded.
Usage: hostile.py CASE LISPVM GUEST_ELF HOSTILE_PROG"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import (TestFailure, describe, expect, expect_exit, expect_in, main,  # noqa: E402
                         require_kvm, run)

GUEST_CRASH, TIMEOUT = 126, 124
ENV = dict(os.environ, LISPVM_MACHINE="never")
# 64 MiB of RAM: "end" is 0x4000000 in every message below.
BOOT = ["boot", "--memory", "64M", "--timeout", "60"]

# (case, guest command line, expected): ("stop", text of the one error
# line), ("ret", what the hypercall returned) or ("exit", status).
HYPERCALLS = [
    # console_write: a buffer the VMM reads
    ("console_write past RAM", "hc=0,end,64",
     ("stop", "console_write buffer [0x4000000, +0x40) is outside guest RAM")),
    ("console_write straddling RAM's end", "hc=0,end-8,64",
     ("stop", "console_write buffer [0x3fffff8, +0x40) is outside guest RAM")),
    ("console_write wrapping", "hc=0,0xfffffffffffff000,0x2000",
     ("stop", "console_write buffer [0xfffffffffffff000, +0x2000) is outside guest RAM")),
    ("console_write in device MMIO", "hc=0,mmio,64",
     ("stop", "console_write buffer [0xd0000000, +0x40) is outside guest RAM")),
    ("console_write of 2^63 bytes", "hc=0,buf,0x8000000000000000",
     ("stop", "+0x8000000000000000) is outside guest RAM")),
    ("console_write from an image", "hc=0,img,1", ("ret", 1)),
    ("console_write of nothing past RAM", "hc=0,end,0", ("ret", 0)),
    # stdio_write / stdio_read
    ("stdio_write past RAM", "hc=3,2,end,8",
     ("stop", "stdio_write buffer [0x4000000, +0x8) is outside guest RAM")),
    ("stdio_write to a closed fd", "hc=3,7,buf,8", ("ret", -9)),
    ("stdio_read into an image", "hc=4,0,img,8",
     ("stop", "+0x8) is outside writable guest RAM")),
    ("stdio_read straddling RAM's end", "hc=4,0,end-4,8",
     ("stop", "stdio_read buffer [0x3fffffc, +0x8) is outside writable guest RAM")),
    ("stdio_read from fd 1", "hc=4,1,buf,8", ("ret", -9)),
    # getrandom: a buffer the VMM writes
    ("getrandom into an image", "hc=5,img,16", ("stop", "is outside writable guest RAM")),
    ("getrandom past its limit", "hc=5,buf,257", ("ret", -22)),
    ("getrandom over its own request", "hc=5,req,64", ("ret", 64)),
    ("getrandom wrapping", "hc=5,0xfffffffffffffff0,32",
     ("stop", "getrandom buffer [0xfffffffffffffff0, +0x20) is outside writable guest RAM")),
    # hostfs: the request, then the buffers it names
    ("hostfs request past RAM", "hc=6,end,80",
     ("stop", "hostfs request [0x4000000, +0x50) is outside guest RAM")),
    ("hostfs request of the wrong size", "hc=6,buf,8",
     ("stop", "is outside guest RAM or not a struct lispvm_hostfs_req")),
    ("hostfs path past RAM", "hc=6,list,80 hclist=0:0:end:1:0:0:buf:88:0:0",
     ("stop", "hostfs path buffer [0x4000000, +0x1)")),
    ("hostfs stat into an image", "hc=6,list,80 hclist=0:0:buf:1:0:0:img:88:0:0",
     ("stop", "is outside writable guest RAM")),
    ("hostfs stat straddling RAM's end", "hc=6,list,80 hclist=0:0:buf:1:0:0:end-8:88:0:0",
     ("stop", "hostfs stat buffer [0x3fffff8, +0x58) is outside writable guest RAM")),
    ("hostfs path of 4 GiB", "hc=6,list,80 hclist=0:0:buf:0x100000000:0:0:buf:88:0:0",
     ("ret", -22)),
    ("hostfs stat of the mount's root", "hc=6,list,80 hclist=0:0:buf:1:0:0:buf:88:0:0",
     ("ret", 0)),
    ("hostfs open named from an image", "hc=6,list,80 hclist=2:0:img:1:0:0:0:0:0:0x10000",
     ("ret", 0)),
    ("hostfs on mount 7", "hc=6,list,80 hclist=0x700000000:0:buf:1:0:0:buf:88:0:0",
     ("ret", -19)),
    # host_signals
    ("host_signals with a bad argument", "hc=7,5", ("ret", -22)),
    # copy: a list, then each segment
    ("copy list past RAM", "hc=8,end,1",
     ("stop", "copy list buffer [0x4000000, +0x18) is outside guest RAM")),
    ("copy list of 65 segments", "hc=8,list,65", ("stop", "copy list of 65 entries (at most 64)")),
    ("copy list of 2^64-1 segments", "hc=8,list,0xffffffffffffffff",
     ("stop", "copy list of 18446744073709551615 entries")),
    ("copy into an image", "hc=8,list,1 hclist=img:buf:64",
     ("stop", "+0x40) is outside writable guest RAM")),
    ("copy from an image", "hc=8,list,1 hclist=buf:img:64", ("ret", 0)),
    ("copy overlapping itself", "hc=8,list,1 hclist=buf+8:buf:64", ("ret", 0)),
    ("copy over its own list", "hc=8,list,2 hclist=list:buf:4096;buf:list:64", ("ret", 0)),
    ("copy from a wrapping source", "hc=8,list,1 hclist=buf:0xfffffffffffff000:0x2000",
     ("stop", "copy source buffer [0xfffffffffffff000, +0x2000) is outside guest RAM")),
    ("copy into device MMIO", "hc=8,list,1 hclist=mmio:buf:64",
     ("stop", "copy destination buffer [0xd0000000, +0x40) is outside writable guest RAM")),
    # discard
    ("discard unaligned", "hc=9,list,1 hclist=buf+8:4096",
     ("stop", "is not page-aligned guest RAM")),
    ("discard an image", "hc=9,list,1 hclist=img:4096", ("stop", "is not page-aligned guest RAM")),
    ("discard wrapping", "hc=9,list,1 hclist=0xfffffffffffff000:0x2000",
     ("stop", "discard range [0xfffffffffffff000, +0x2000) is not page-aligned guest RAM")),
    ("discard its own request's page", "hc=9,list,1 hclist=req:4096", ("ret", 0)),
    ("discard list of 65 ranges", "hc=9,list,65", ("stop", "discard list of 65 entries")),
    # copy_virtual: tables the VMM walks
    ("copy_virtual with tables past RAM", "hc=10,buf,buf,64,end,0", ("ret", 0)),
    ("copy_virtual with tables in MMIO", "hc=10,buf,buf,0xffffffffffffffff,mmio,3", ("ret", 0)),
    # exit, fault, snapshot, gc_done
    ("exit with statistics past RAM", "hc=1,7,end,64", ("exit", 7)),
    ("fault report past RAM", "hc=2,end,8",
     ("stop", "fault report [0x4000000, +0x8) is outside guest RAM or has the wrong size")),
    ("snapshot when none is taken", "hc=11", ("ret", -19)),
    ("gc_done", "hc=12", ("ret", 0)),
    # the request itself
    ("hypercall 13", "hc=13", ("stop", "unknown hypercall 13 (reserved 0x0)")),
    ("hypercall 2^32-1", "hc=0xffffffff", ("stop", "unknown hypercall 4294967295")),
    ("reserved word set", "hc=12 hcres=1", ("stop", "unknown hypercall 12 (reserved 0x1)")),
    ("request straddling RAM's end", "hc=5,buf,8 hcreq=end-16",
     ("stop", "hypercall request at 0x3fffff0 is outside guest RAM")),
    ("request in device MMIO", "hc=0 hcreq=mmio",
     ("stop", "hypercall request at 0xd0000000 is outside guest RAM")),
    ("request unaligned", "hc=5,buf,8 hcreq=req+3", ("ret", 8)),
]

# (case, what the VMM says of the queue the vsock device was given)
VIRTQUEUE_RULES = [
    ("avail-ahead", "available index ran more than the queue size ahead"),
    ("head-outside", "available head outside the descriptor table"),
    ("loop", "descriptor chain too long or looping"),
    ("next-outside", "next descriptor outside the table"),
    ("buffer-outside", "buffer outside guest RAM"),
    ("buffer-straddles", "buffer outside guest RAM"),
    ("buffer-wraps", "buffer outside guest RAM"),
    ("buffer-in-mmio", "buffer outside guest RAM"),
    ("zero-length", "zero-length descriptor"),
    ("indirect", "indirect descriptor (not offered)"),
    ("readable-after-writable", "readable descriptor after a writable one"),
    ("receive-into-image", "writable buffer outside writable guest RAM"),
    ("queue-size", "queue size is not a power of two up to 256"),
    ("queue-misaligned", "queue part misaligned"),
    ("queue-outside", "queue outside guest RAM"),
    ("queue-used-read-only", "queue outside guest RAM"),
]

# (case, expected) for the vsock device's register page, selftest=virtq
# virtq=mmio mmio=CASE: ("ok", what the guest read back) when the access
# is ignored (the guest then gets a request through the queues it set up
# first), or ("stop", the start of the one "lispvm:" line).  KVM hands
# the VMM at most 8 bytes an exit: a 16-byte SSE access arrives as two
# 8-byte ones, rep movsb as single bytes; registers take only aligned
# 32-bit accesses, the configuration space reads in any width up to 8.
MMIO_REGISTERS = [
    # widths and alignment
    ("store-16", ("ok", "status 0xf cid 3")),
    ("load-16", ("ok", "0x3 0x0")),
    ("store-8", ("ok", "status 0xf, 8-byte magic 0x0")),
    ("bytes", ("ok", "status 0xf, magic bytewise 0x0")),
    ("unaligned", ("ok", "status 0xf, magic at +1 0x0, 16-bit device id 0")),
    # registers against their direction, queues and bytes that do not exist
    ("read-only", ("ok", "magic 0x74726976 version 2 device 19 vendor 0x4c56 features 0x1 "
                         "max 256 generation 0 cid 3")),
    ("write-only", ("ok", "15 registers read 0x0")),
    ("queue-beyond", ("ok", "max 0 ready 0")),
    ("config-past-end", ("ok", "0x0, across the page's end 0x0, cid 3")),
    ("past-size-read", ("stop", "lispvm: guest read unmapped guest-physical address 0xd0000200 ")),
    ("past-size-write", ("stop", "lispvm: guest wrote unmapped guest-physical address 0xd0000ffc ")),
    # after DRIVER_OK, with a receive buffer out: the queues and status hold
    ("move-queues", ("ok", "ready 1")),
    ("move-queues-outside", ("ok", "ready 1")),
    ("ready-toggle", ("ok", "ready read 1 1 after 0")),
    ("restart-moved", ("ok", "ready read 1 after 0, status 0xf without DRIVER_OK")),
    ("queue-num", ("ok", "max 256 ready 1")),
    ("features-unoffered", ("ok", "status 0x3")),
    ("features-mid-run", ("ok", "status 0xf")),
    ("clear-driver-ok", ("ok", "status 0xf")),
    # doorbells
    ("notify-out-of-range", ("ok", "rung")),
    ("notify-port-wide", ("stop", "lispvm: guest wrote I/O port 0x4c60 (4 bytes), which lispvm "
                                  "does not emulate,")),
    ("notify-port-byte", ("stop", "lispvm: guest wrote I/O port 0x4c60 (1 bytes)")),
    ("notify-port-read", ("stop", "lispvm: guest read I/O port 0x4c60 (2 bytes)")),
]


class Env:
    def __init__(self, exe, elf, prog):
        require_kvm()
        self.exe, self.elf, self.prog = exe, elf, prog
        self.tmp = tempfile.mkdtemp(prefix="lispvm-hostile-")
        self.mount = os.path.join(self.tmp, "m")
        os.mkdir(self.mount)
        payload = os.path.join(self.tmp, "payload")
        with open(payload, "w") as f:
            f.write("image bytes\n")
        self.image = self.build_image(f"{payload}:/payload")

    def build_image(self, *entries):
        out = os.path.join(self.tmp, f"img{len(os.listdir(self.tmp))}.erofs")
        expect_exit(run([self.exe, "image", "build", "-o", out, *entries]), 0)
        return out

    def boot(self, append, *extra, stdin=subprocess.DEVNULL):
        return run([self.exe, *BOOT, "--kernel", self.elf, *extra, "--append", append],
                   env=ENV, stdin=stdin)

    def popen(self, argv, **kwargs):
        return subprocess.Popen([self.exe, *argv], env=ENV, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, **kwargs)


def one_error_line(proc):
    lines = [l for l in proc.stderr.splitlines() if l.startswith("lispvm:")]
    expect(len(lines) == 1, f"expected one 'lispvm:' line: {describe(proc)}")
    return lines[0]


def expect_outcome(proc, name, expected):
    kind, value = expected
    if kind == "stop":
        expect(proc.returncode == GUEST_CRASH, f"{name}: not stopped: {describe(proc)}")
        line = one_error_line(proc)
        expect(value in line and "guest error" in line, f"{name}: {line!r} lacks {value!r}")
    elif kind == "ret":
        expect(proc.returncode == 0, f"{name}: {describe(proc)}")
        expect_in(f"selftest hypercall: returned {value}\n", proc.stdout, proc)
    else:
        expect(proc.returncode == value, f"{name}: {describe(proc)}")


def hypercall_edges(exe, elf, prog):
    e = Env(exe, elf, prog)
    failures = []
    for name, append, expected in HYPERCALLS:
        proc = e.boot(f"selftest=hypercall {append}", "--image", e.image, "--mount",
                      f"{e.mount}:/m:rw")
        try:
            expect_outcome(proc, name, expected)
        except TestFailure as failure:
            failures.append(str(failure))
    expect(not failures, "\n".join(failures))
    # Nothing the guest sent through hostfs reached past the mount.
    expect(sorted(os.listdir(e.tmp)) == sorted([os.path.basename(e.image), "m", "payload"]),
           f"files appeared beside the mount: {os.listdir(e.tmp)}")


def vsock_boot(e, append):
    return e.boot(append, "--image", e.image, "--vsock", os.path.join(e.tmp, "v.sock"))


def virtqueue_rules(exe, elf, prog):
    e = Env(exe, elf, prog)
    proc = vsock_boot(e, "selftest=virtq virtq=valid")
    expect_exit(proc, 0)
    expect_in("selftest virtq: a request and its reset", proc.stdout, proc)
    failures = []
    for case, why in VIRTQUEUE_RULES:
        proc = vsock_boot(e, f"selftest=virtq virtq={case}")
        line = one_error_line(proc) if proc.returncode == GUEST_CRASH else describe(proc)
        if line != f"lispvm: guest broke the vsock device: {why}":
            failures.append(f"{case}: {line}")
    expect(not failures, "\n".join(failures))


def mmio_registers(exe, elf, prog):
    """The vsock device's register page used every wrong way, and its
    state changed under it after DRIVER_OK: each access is ignored (the
    device still serves the queues it started on) or stops the VM with
    one line; a reset while the host holds a stream closes that stream
    and leaves nothing of it for the device brought up again."""
    e = Env(exe, elf, prog)
    failures = []
    for case, (kind, value) in MMIO_REGISTERS:
        proc = vsock_boot(e, f"selftest=virtq virtq=mmio mmio={case}")
        if kind == "ok":
            want = f"selftest mmio {case}: {value}\nselftest mmio: then a request and its reset\n"
            if proc.returncode != 0 or want not in proc.stdout:
                failures.append(f"{case}: {describe(proc)}")
        elif proc.returncode != GUEST_CRASH:
            failures.append(f"{case}: not stopped: {describe(proc)}")
        else:
            line = one_error_line(proc)
            if not line.startswith(value):
                failures.append(f"{case}: {line}")
    expect(not failures, "\n".join(failures))
    mmio_reset_live(e)


def mmio_reset_live(e):
    """The service sends 8 KiB on the guest's first stream; the guest takes
    part of it, resets the device, brings it up on new queues and connects
    again.  By then the first stream must have closed (the VMM closes it
    in the reset, before the guest can connect again), and the guest's
    first packets are the new stream's: RESPONSE, then the service's word."""
    path = os.path.join(e.tmp, "live.sock")
    service = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    service.bind(path + "_7000")
    service.listen(4)
    held = []

    def serve():
        first = service.accept()[0]
        held.append(first)
        first.sendall(b"x" * 8192)
        second = service.accept()[0]
        held.append(second)
        first.setblocking(False)
        try:
            closed = first.recv(65536) == b""
        except ConnectionResetError:  # the VMM closed it with our bytes unread
            closed = True
        except BlockingIOError:
            closed = False
        second.sendall(b"closed" if closed else b"open")

    threading.Thread(target=serve, daemon=True).start()
    proc = e.boot("selftest=virtq virtq=mmio mmio=reset-live", "--vsock", path)
    service.close()
    for s in held:
        s.close()
    expect_exit(proc, 0)
    expect_in("selftest mmio reset-live: op 2 for port 1235, then op 5 for port 1235: 'closed'\n",
              proc.stdout, proc)


def double_fetch(exe, elf, prog):
    """The guest rewrites each request while the device thread reads it;
    the device reads each field once, so every mix is one valid packet
    and the VM runs to its end."""
    e = Env(exe, elf, prog)
    proc = vsock_boot(e, "selftest=virtq virtq=double-fetch")
    expect_exit(proc, 0)
    found = re.search(r"selftest virtq: 2000 rounds of 8 racing requests, (\d+) raced, "
                      r"(\d+) flips", proc.stdout)
    expect(found is not None, describe(proc))
    # How often the device thread still held requests while the guest
    # changed them depends on the host's speed; never would prove nothing.
    expect(int(found.group(1)) > 0, f"no round raced the device: {proc.stdout!r}")
    print(f"{found.group(1)} of 2000 rounds raced the device, {found.group(2)} changes")


class RssPopen(subprocess.Popen):
    """A Popen that keeps its child's peak RSS (from wait4)."""
    rss = 0

    def _try_wait(self, wait_flags):
        pid, sts, usage = os.wait4(self.pid, wait_flags)
        if pid == self.pid:
            self.rss = usage.ru_maxrss
        return (pid, sts)


def run_measured(e, argv):
    proc = RssPopen([e.exe, *argv], env=ENV, text=True, stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), proc.rss


def floods(exe, elf, prog):
    """Three VMs flood their VMMs with exits, doorbells and vsock packets
    while a fourth works: all four end as they should, and each flooding
    VMM's peak RSS stays within 16 MiB of an idle one's."""
    e = Env(exe, elf, prog)
    idle, idle_rss = run_measured(e, [*BOOT, "--kernel", elf, "--vsock",
                                      os.path.join(e.tmp, "idle.sock"), "--append", "exit=0"])
    expect_exit(idle, 0)
    floods = {"flood-hypercalls": "20000 rounds", "flood-doorbells": "20000 doorbells",
              "flood-packets": "20000 requests"}
    results = {}

    def flood(name):
        results[name] = run_measured(
            e, [*BOOT, "--kernel", elf, "--vsock", os.path.join(e.tmp, f"{name}.sock"),
                "--append", f"selftest={name} count=20000"])

    threads = [threading.Thread(target=flood, args=(n,)) for n in floods]
    for t in threads:
        t.start()
    victims = []
    while any(t.is_alive() for t in threads) or not victims:
        victims.append(vsock_boot(e, "selftest=virtq virtq=valid"))
    for t in threads:
        t.join()
    for proc in victims:
        expect_exit(proc, 0)
        expect_in("selftest virtq: a request and its reset", proc.stdout, proc)
    for name, needle in floods.items():
        proc, rss = results[name]
        expect_exit(proc, 0)
        expect_in(f"selftest {name}: {needle}", proc.stdout, proc)
        expect(rss <= idle_rss + 16 * 1024,
               f"{name}: peak RSS {rss} KiB, an idle VMM's {idle_rss} KiB")
    print(f"idle VMM {idle_rss} KiB; " +
          ", ".join(f"{n} {results[n][1]} KiB" for n in floods) +
          f"; {len(victims)} VMs beside them")


def flooder_timed_out(proc, reader):
    """Waits for a VM flooding its console: it must end at its --timeout 3,
    with 124, not two minutes later.  Its stderr."""
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise TestFailure(f"a VM whose console {reader} outlived --timeout 3 by two minutes")
    err = proc.stderr.read().decode()
    expect(proc.returncode == TIMEOUT, f"exit {proc.returncode}: {err!r}")
    return err


def console_flood(exe, elf, prog):
    """Console output without end: a reader that stops reading holds the
    VM back, and --timeout still ends it; a reader that goes away ends
    nothing early and the VM still stops at --timeout."""
    e = Env(exe, elf, prog)
    idle, idle_rss = run_measured(e, [*BOOT, "--kernel", elf, "--append", "exit=0"])
    expect_exit(idle, 0)
    argv = [exe, "boot", "--memory", "64M", "--timeout", "3", "--kernel", elf, "--append",
            "selftest=flood-console"]
    # Nobody reads: the pipe fills and the console write blocks.
    proc = RssPopen(argv, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE)
    err = flooder_timed_out(proc, "nobody reads")
    expect("still running after --timeout 3s" in err, f"stderr: {err!r}")
    # Held back, not buffered: the VMM kept no more than an idle one.
    expect(proc.rss <= idle_rss + 16 * 1024,
           f"peak RSS {proc.rss} KiB flooding, {idle_rss} KiB idle")
    # The reader goes away after a little.
    proc = subprocess.Popen(argv, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.read(1 << 20)
    proc.stdout.close()
    flooder_timed_out(proc, "reader left")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def host_files(exe, elf, prog):
    """A guest kernel opening a mount's root again and again gets EMFILE
    after LISPVM_HOSTFS_MAX_HANDLES (1024), and the VMM holds no more
    descriptors than that beyond its own."""
    e = Env(exe, elf, prog)
    proc = e.popen([*BOOT, "--kernel", elf, "--mount", f"{e.mount}:/m:ro", "--append",
                    "selftest=flood-host-files"], stdin=subprocess.PIPE)
    line = proc.stdout.readline()
    while line and "flood-host-files" not in line:
        line = proc.stdout.readline()
    held = fd_count(proc.pid)
    out, err = proc.communicate(input="x", timeout=120)
    expect(line == "selftest flood-host-files: 1024 handles, then -24\n",
           f"got {line!r}; {err!r}")
    expect(proc.returncode == 0, f"exit {proc.returncode}: {err!r}")
    expect(held <= 1024 + 16, f"the VMM held {held} descriptors")
    print(f"1024 handles; the VMM held {held} descriptors")


def vsock_connections(exe, elf, prog):
    """A program connecting to a host service 300 times gets 128 streams
    (VSOCK_MAX_CONNS) and ECONNRESET beyond; the service sees only those
    128, and the VMM holds a descriptor for each and no more."""
    e = Env(exe, elf, prog)
    image = e.build_image(f"{prog}:/bin/hostile")
    path = os.path.join(e.tmp, "v.sock")
    service = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    service.bind(path + "_7000")
    service.listen(512)
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(service.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    proc = e.popen(["exec", "--timeout", "120", "--vsock", path, "--image", image, "--",
                    "/bin/hostile", "conns", "7000", "300"], stdin=subprocess.PIPE)
    line = proc.stdout.readline()
    held = fd_count(proc.pid)
    out, err = proc.communicate(input="x\n", timeout=120)
    # Connections still in the backlog count too: take them before closing.
    service.settimeout(1)
    try:
        while True:
            accepted.append(service.accept()[0])
    except OSError:
        pass
    service.close()
    expect(line == "got 128 errno 104\n", f"got {line!r}; {err!r}")
    expect(proc.returncode == 0, f"exit {proc.returncode}: {err!r}")
    expect(len(accepted) == 128, f"the host service saw {len(accepted)} connections")
    expect(held <= 128 + 24, f"the VMM held {held} descriptors")
    print(f"128 streams; the host service saw {len(accepted)}; the VMM held {held} descriptors")


if __name__ == "__main__":
    main({f.__name__: f for f in (hypercall_edges, virtqueue_rules, mmio_registers, double_fetch,
                                  floods, console_flood, host_files, vsock_connections)})
