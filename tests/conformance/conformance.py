# SPDX-License-Identifier: MIT
"""Real programs nobody here wrote (busybox applets, Debian's coreutils and
python3) inside lispvm, compared byte for byte (stdout, stderr, exit status)
with a native run of the same binary, same argv, environment and cwd.

The input files live in a data image. The native run reads that very image
through Linux's own EROFS driver (a read-only loop mount, so this suite needs
root), with its cwd at the mount and the guest's cwd at /: both see the same
relative paths and the same bytes, directory order, sizes, modes, owners and
mtimes. Only the kernel underneath differs, which is what is under test.
Usage: conformance.py CASE LISPVM"""

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import (TestFailure, describe, expect, expect_exit, main,  # noqa: E402
                         require_kvm, run)

BUSYBOX = "/bin/busybox"
PYTHON = "/usr/bin/python3.11"  # Debian's, not a pyenv build
COMMON = ["--memory", "1G", "--timeout", "120"]
# The guest's default environment; the native run gets exactly this.
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": "/root", "LANG": "C.UTF-8"}
# ls -l names owners from these, natively from the host's own copies.
USER_DB = ("/etc/passwd", "/etc/group", "/etc/nsswitch.conf")
MTIME = 1_000_000_000  # 2001-09-09, fixed so listings do not depend on today


def lcg(seed):
    """A tiny fixed generator: the data must be identical on every host and
    Python version, which random.Random does not promise across versions."""
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) % 2**64
        yield seed >> 33


def write(path, data, mode=0o644, mtime=MTIME):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)
    os.utime(path, (mtime, mtime))


def make_data(root):
    """Writes every input under root/data, deterministically."""
    d = os.path.join(root, "data")
    rnd = lcg(42)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "xe", "zu", "Ba", "Do"]
    words = ["".join(syllables[next(rnd) % len(syllables)] for _ in range(1 + next(rnd) % 4))
             for _ in range(600)]
    write(f"{d}/words.txt", "".join(f"{w}\n" for w in words + words[:50]))  # with duplicates
    write(f"{d}/lines.txt", "".join(f"line {i}: {words[i % 600]} {i * i % 997}\n"
                                    for i in range(1000)))
    block, blob = b"lispvm", bytearray()
    while len(blob) < 1 << 20:
        block = hashlib.sha256(block).digest()
        blob += block
    write(f"{d}/blob.bin", bytes(blob))

    # A tar with fixed owners, modes and mtimes: its listing is part of its bytes.
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for i, (name, body, mode) in enumerate([("pkg/", None, 0o755),
                                                ("pkg/README", b"read me\n", 0o644),
                                                ("pkg/bin/run.sh", b"#!/bin/sh\necho run\n", 0o755),
                                                ("pkg/data/empty", b"", 0o600)]):
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime, info.mode = MTIME + i * 3600, mode
            info.uid, info.gid, info.uname, info.gname = 1000, 100, "builder", "users"
            if body is None:
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            else:
                info.size = len(body)
                t.addfile(info, io.BytesIO(body))
    write(f"{d}/archive.tar", tar.getvalue())

    for i, (name, body, mode) in enumerate([("alpha", "a\n", 0o644), ("beta.sh", "#!/bin/sh\n", 0o755),
                                            ("gamma", "", 0o600), ("delta", "d" * 10000, 0o444)]):
        write(f"{d}/ls/{name}", body, mode, MTIME + i * 86400)
    os.makedirs(f"{d}/ls/sub")
    os.symlink("alpha", f"{d}/ls/link")

    write(f"{d}/tree/a/x.txt", "x\n")
    write(f"{d}/tree/b/c/y.txt", "y\n")
    os.makedirs(f"{d}/tree/empty")
    os.symlink("a/x.txt", f"{d}/tree/link")
    for link in (f"{d}/ls/link", f"{d}/tree/link"):
        os.utime(link, (MTIME, MTIME), follow_symlinks=False)
    # Directories last: creating their entries changed their mtimes.
    for top, dirs, _ in sorted(os.walk(d, topdown=False)):
        for name in dirs:
            os.utime(os.path.join(top, name), (MTIME, MTIME))
    os.utime(d, (MTIME, MTIME))


class Env:
    def __init__(self, lispvm):
        require_kvm()
        self.lispvm = os.path.abspath(lispvm)
        self.tmp = tempfile.mkdtemp(prefix="lispvm-conformance-")
        self.mnt = os.path.join(self.tmp, "mnt")
        self.mounted = False
        src = os.path.join(self.tmp, "src")
        make_data(src)
        self.data = self.image(f"{src}/data:/data")
        os.mkdir(self.mnt)
        proc = run(["mount", "-t", "erofs", "-o", "loop,ro", self.data, self.mnt])
        expect(proc.returncode == 0, "the native baseline mounts the data image read-only "
               f"(needs root, loop devices and EROFS in the host kernel): {describe(proc)}")
        self.mounted = True

    def close(self):
        if self.mounted:
            subprocess.run(["umount", self.mnt])
        shutil.rmtree(self.tmp, ignore_errors=True)

    def image(self, *entries):
        out = os.path.join(self.tmp, f"img{len(os.listdir(self.tmp))}.erofs")
        proc = run([self.lispvm, "image", "build", "-o", out, *entries], timeout=300)
        expect_exit(proc, 0)
        return out

    def guest(self, images, argv, env=None, timeout=120):
        cmd = [self.lispvm, "exec", *COMMON]
        for img in images + [self.data]:
            cmd += ["--image", img]
        for key, value in (env or {}).items():
            cmd += ["--env", f"{key}={value}"]
        # lispvm passes the host's TERM on; the native run has none.
        host_env = {k: v for k, v in os.environ.items() if k != "TERM"}
        return run(cmd + ["--cwd", "/", "--"] + argv, timeout=timeout + 60, env=host_env)

    def native(self, argv, env=None):
        # executable= and absolute argv[0]: the program sees the same argv[0].
        return subprocess.run(argv, capture_output=True, text=True, errors="replace",
                              env={**BASE_ENV, **(env or {})}, cwd=self.mnt,
                              executable=argv[0], timeout=120)

    def compare(self, images, argv, env=None, status=0):
        got, want = self.guest(images, argv, env), self.native(argv, env)
        # Guards the baseline: a broken native run would make the case vacuous.
        expect(want.returncode == status, f"the native run did not exit {status}: {describe(want)}")
        problems = [what for what, same in [("stdout", got.stdout == want.stdout),
                                            ("stderr", got.stderr == want.stderr),
                                            ("exit status", got.returncode == want.returncode)]
                    if not same]
        expect(not problems,
               f"{', '.join(problems)} differ from native {argv}\n"
               f"--- lispvm: exit {got.returncode}, stdout ---\n{got.stdout[-4000:]}"
               f"--- lispvm stderr ---\n{got.stderr[-4000:]}"
               f"--- native: exit {want.returncode}, stdout ---\n{want.stdout[-4000:]}"
               f"--- native stderr ---\n{want.stderr[-4000:]}")

    def busybox(self, *args, env=None, status=0):
        self.compare([self.image(BUSYBOX)], [BUSYBOX, *args], env, status)

    def dynamic(self, program, *args, extra=(), env=None, status=0):
        self.compare([self.image("--ldd", program, *extra)], [program, *args], env, status)


# Builtins only: without fork, no pipelines, $(...) or external commands.
# The here-document and the redirections still go through pipe/open/dup2.
SCRIPT = r"""
x=0
for i in 1 2 3 4 5 6 7 8 9 10; do x=$((x + i * i)); done
echo "sum of squares: $x"
name=world; echo "hello, ${name}! length ${#name}, upper ${name%ld}LD"
for w in apple banana 42 "" cherry; do
  case "$w" in
    a*) echo "$w starts with a";;
    [0-9]*) echo "$w is a number";;
    "") echo "(empty)";;
    *) echo "$w is something else";;
  esac
done
if test "$x" -gt 300 && [ "$name" = world ]; then echo big; else echo small; fi
i=0; while [ $i -lt 5 ]; do i=$((i + 1)); printf '%d:%d\n' $i $((i % 2)); done
set -- one "two words" three; echo "$# args, second is <$2>"
n=0; while read -r line; do n=$((n + 1)); done < data/lines.txt; echo "$n lines"
while read -r a b; do echo "$b-$a"; done <<EOF
1 one
2 two
EOF
echo "to stderr" >&2
exit 3
"""


CASES = {
    "busybox_sh_builtins": lambda e: e.busybox("sh", "-c", SCRIPT, status=3),
    "busybox_sort": lambda e: e.busybox("sort", "data/words.txt"),
    "busybox_sha256sum": lambda e: e.busybox("sha256sum", "data/blob.bin", "data/words.txt"),
    "busybox_tar_list": lambda e: e.busybox("tar", "-tvf", "data/archive.tar"),
    "busybox_tar_extract": lambda e: e.busybox("tar", "-xOf", "data/archive.tar"),
    "busybox_find": lambda e: e.busybox("find", "data"),
    "busybox_wc": lambda e: e.busybox("wc", "data/words.txt", "data/lines.txt"),
    "busybox_grep_n": lambda e: e.busybox("grep", "-n", "kalo", "data/lines.txt"),
    "ls_la": lambda e: e.dynamic("/bin/ls", "-la", "--time-style=+%s", "data/ls",
                                 extra=USER_DB, env={"LC_ALL": "C"}),
    "ls_lR": lambda e: e.dynamic("/bin/ls", "-lR", "--time-style=+%s", "data/tree",
                                 extra=USER_DB, env={"LC_ALL": "C"}),
    "sha256sum": lambda e: e.dynamic("/usr/bin/sha256sum", "data/blob.bin"),
    "python3": lambda e: e.dynamic(PYTHON, "-c", "print(sum(range(10**6)))",
                                   extra=("/usr/lib/python3.11:/usr/lib/python3.11",)),
    "cat": lambda e: e.dynamic("/bin/cat", "data/lines.txt", "data/words.txt"),
    "cat_missing": lambda e: e.dynamic("/bin/cat", "data/missing", status=1),
    "head": lambda e: e.dynamic("/usr/bin/head", "-n", "3", "data/lines.txt"),
    "sort": lambda e: e.dynamic("/usr/bin/sort", "data/words.txt"),
}


def busybox_pipe_fails(e):
    """A pipeline needs fork, which the guest refuses (ENOSYS) by design: the
    shell must fail cleanly (its own non-zero status), not hang or crash."""
    proc = e.guest([e.image(BUSYBOX)], [BUSYBOX, "sh", "-c", "echo a | cat"], timeout=60)
    expect(proc.returncode not in (0, 124, 125, 126) and proc.returncode < 128,
           f"expected the shell's own failure status (not 0, a timeout, a lispvm error, "
           f"a crash or a signal); {describe(proc)}")
    expect(proc.stdout == "", f"nothing may reach cat; {describe(proc)}")
    expect("can't fork" in proc.stderr, f"expected the shell to say it cannot fork; {describe(proc)}")


CASES["busybox_pipe_fails"] = busybox_pipe_fails


def run_case(name):
    def case(lispvm):
        e = Env(lispvm)
        try:
            CASES[name](e)
        finally:
            e.close()
    return case


if __name__ == "__main__":
    main({name: run_case(name) for name in CASES})
