# SPDX-License-Identifier: MIT
"""`lispvm image build` (shared-heap/), driven through image_tool_test:
trees survive the trip into an image unchanged, --ldd brings a program's
libraries through Debian's /lib -> usr/lib symlinks, every file's data is
4 KiB aligned and contiguous, failures are one line with the right status.
Usage: image.py CASE IMAGE_TOOL"""

import os
import re
import stat
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from erofs_image import FLAT_PLAIN, Image  # noqa: E402
from lispvm_test import describe, expect, expect_exit, expect_in, main, run  # noqa: E402

USAGE, BUILD_FAILED = 2, 125
BLOCK = 4096
MAX_HOPS = 40


class Workspace:
    """A temporary directory with a private TMPDIR for the builder, so each
    case can check that no staging directory is left behind."""

    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="lispvm-image-test.")
        self.path = self.dir.name
        self.tmpdir = os.path.join(self.path, "tmp")
        os.mkdir(self.tmpdir)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def env(self, **extra):
        return dict(os.environ, TMPDIR=self.tmpdir, **extra)

    def expect_clean(self, output_dir):
        expect(os.listdir(self.tmpdir) == [], f"staging left behind: {os.listdir(self.tmpdir)}")
        temps = [n for n in os.listdir(output_dir) if ".tmp." in n]
        expect(temps == [], f"temporary image left behind: {temps}")


def image_tool(tool, ws, *args, **kwargs):
    env = kwargs.pop("env", ws.env())
    return run([os.path.abspath(tool), "image"] + list(args), env=env, **kwargs)


def expect_one_line_error(proc, status, needle):
    expect_exit(proc, status)
    lines = proc.stderr.splitlines()
    expect(len(lines) == 1 and lines[0].startswith("lispvm: "),
           f"expected one 'lispvm: ' line on stderr; {describe(proc)}")
    expect_in(needle, lines[0], proc)


def build(tool, ws, output, *entries):
    proc = image_tool(tool, ws, "build", "-o", output, *entries)
    expect_exit(proc, 0)
    expect(proc.stderr == "", f"unexpected stderr: {proc.stderr!r}")
    ws.expect_clean(os.path.dirname(output))
    return proc


def extract(ws, img, name="x"):
    out = ws.join(name)
    proc = run(["fsck.erofs", f"--extract={out}", img])
    expect(proc.returncode == 0, f"fsck.erofs --extract failed: {describe(proc)}")
    return out


def write(path, data, mode=0o644, mtime_ns=None):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def make_tree(root):
    """Files of several sizes and modes, directories, symlinks of each
    kind; distinct mtimes with nanoseconds, directories' set last."""
    rnd = os.urandom
    t = 978307200_123456789  # 2001-01-01, to tell a kept mtime from "now"
    os.makedirs(os.path.join(root, "sub", "deeper"))
    os.makedirs(os.path.join(root, "sub", "ro_dir"))
    os.mkdir(os.path.join(root, "empty_dir"))
    files = {
        "plain": (b"hello, image\n", 0o644),
        "exec": (rnd(5000), 0o755),
        "private": (b"only mine\n" * 100, 0o600),
        "setuid": (rnd(700), 0o4755),
        "empty": (b"", 0o644),
        "blocks": (rnd(3 * BLOCK), 0o644),
        "sub/deeper/readonly": (rnd(BLOCK + 1), 0o444),
        "sub/ro_dir/inside": (b"in a read-only directory\n", 0o640),
    }
    for i, (name, (data, mode)) in enumerate(sorted(files.items())):
        write(os.path.join(root, name), data, mode, t + i * 1_000_001_001)
    for name, target in {"link_rel": "plain", "link_abs": "/nonexistent/target",
                         "link_dir": "sub", "sub/link_up": "../plain"}.items():
        os.symlink(target, os.path.join(root, name))
    for i, d in enumerate(["sub/deeper", "sub/ro_dir", "sub", "empty_dir", "."]):
        os.utime(os.path.join(root, d), ns=(t - i * 7_000_000_003,) * 2)
    os.chmod(os.path.join(root, "sub"), 0o750)
    os.chmod(os.path.join(root, "sub", "ro_dir"), 0o555)


def tree(root):
    """path -> (type, permission bits, size, content or link target, mtime)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames + ["."] * (dirpath == root):
            path = os.path.normpath(os.path.join(dirpath, name))
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                found[rel] = ("link", None, None, os.readlink(path), None)
            elif stat.S_ISDIR(st.st_mode):
                found[rel] = ("dir", stat.S_IMODE(st.st_mode), None, None, st.st_mtime_ns)
            else:
                with open(path, "rb") as f:
                    data = f.read()
                found[rel] = ("file", stat.S_IMODE(st.st_mode), st.st_size, data,
                              st.st_mtime_ns)
    return found


def expect_same_tree(expected, actual):
    expect(sorted(expected) == sorted(actual),
           f"paths differ: only on host {sorted(set(expected) - set(actual))}, "
           f"only in image {sorted(set(actual) - set(expected))}")
    for path in sorted(expected):
        expect(expected[path] == actual[path],
               f"{path}: host has {str(expected[path])[:200]}, image {str(actual[path])[:200]}")


def resolve(root, path):
    """path as the guest's kernel would resolve it in the tree at root
    (absolute symlinks lead to root, not to the host's /)."""
    parts, current, hops = path.strip("/").split("/"), root, 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current) if current != root else root
            continue
        candidate = os.path.join(current, part)
        if os.path.islink(candidate):
            hops += 1
            expect(hops <= MAX_HOPS, f"{path}: symlink loop in the image")
            target = os.readlink(candidate)
            parts = target.strip("/").split("/") + parts
            current = root if target.startswith("/") else current
        else:
            expect(os.path.lexists(candidate), f"{path}: {candidate} missing in the image")
            current = candidate
    return current


def ldd_paths(binary):
    proc = run(["ldd", binary])
    expect_exit(proc, 0)
    found = re.findall(r"(?:=> )?(/\S+) \(0x", proc.stdout)
    expect(found, f"ldd {binary} lists nothing: {proc.stdout}")
    return found


def expect_host_file_in_image(root, path):
    resolved = resolve(root, path)
    expect(os.path.isfile(resolved) and not os.path.islink(resolved),
           f"{path}: not a regular file in the image")
    with open(resolved, "rb") as image_file, open(path, "rb") as host_file:
        expect(image_file.read() == host_file.read(), f"{path}: content differs from the host")


# --- cases -------------------------------------------------------------------

def help_text(tool):
    ws = Workspace()
    for args in (["--help"], ["build", "--help"]):
        proc = image_tool(tool, ws, *args)
        expect_exit(proc, 0)
        expect_in("Usage: lispvm image build -o OUT [--ldd BINARY]... [ENTRY]...",
                  proc.stdout, proc)
        expect(proc.stderr == "", f"unexpected stderr: {proc.stderr!r}")


def tree_roundtrip(tool):
    """(a) A tree goes in and comes out of fsck.erofs --extract the same:
    types, permission bits (set-ID bits dropped), sizes, bytes, symlink
    targets, mtimes to the nanosecond; everything owned by root."""
    ws = Workspace()
    src = ws.join("src")
    os.mkdir(src)
    make_tree(src)
    img = ws.join("out.img")
    build(tool, ws, img, f"{src}:/data")
    expected = tree(src)
    expected["setuid"] = ("file", 0o755) + expected["setuid"][2:]
    expect_same_tree(expected, tree(os.path.join(extract(ws, img), "data")))
    for path, inode in Image(img).walk():
        expect(inode.uid == 0 and inode.gid == 0, f"{path} is owned by {inode.uid}:{inode.gid}")
        expect(stat.S_IMODE(inode.mode) & ~0o777 == 0 or stat.S_ISLNK(inode.mode),
               f"{path} has mode {stat.S_IMODE(inode.mode):o} in the image")
        if stat.S_ISLNK(inode.mode):  # fsck.erofs --extract does not keep these
            host_ns = os.lstat(os.path.join(src, os.path.relpath(path, "/data"))).st_mtime_ns
            expect(inode.mtime * 10**9 + inode.mtime_nsec == host_ns,
                   f"{path}: symlink mtime not kept")


def guest_paths(tool):
    """HOST:GUEST placement, identity paths (absolute and relative), a
    directory merged into /, a parent reached through /lib -> usr/lib, a
    colon in a host name, and the later of two entries winning."""
    ws = Workspace()
    src = ws.join("src")
    os.mkdir(src)
    make_tree(src)
    write(ws.join("first"), b"first\n")
    write(ws.join("second"), b"second\n")
    write(ws.join("we:ird"), b"colon\n")
    img = ws.join("out.img")
    proc = image_tool(tool, ws, "build", "-o", img, f"{src}/plain", "src/empty",
                      f"{src}/exec:/opt/app/bin/tool", f"{src}/sub:/",
                      f"{src}/blocks:/lib/x86_64-linux-gnu/lispvm-test-file",
                      f"{ws.join('we:ird')}:/weird", f"{ws.join('first')}:/etc/conf",
                      f"{ws.join('second')}:/etc/conf", cwd=ws.path)
    expect_exit(proc, 0)
    x = extract(ws, img)
    host = tree(src)
    for guest, rel in [(f"{src}/plain", "plain"), (f"{src}/empty", "empty"),
                       ("/opt/app/bin/tool", "exec"), ("/deeper/readonly", "sub/deeper/readonly"),
                       ("/ro_dir/inside", "sub/ro_dir/inside"),
                       ("/usr/lib/x86_64-linux-gnu/lispvm-test-file", "blocks")]:
        got = tree(x)[guest.lstrip("/")]
        expect(got == host[rel], f"{guest}: expected {rel} of the host tree")
    expect(os.readlink(os.path.join(x, "lib")) == os.readlink("/lib"),
           "/lib is not the host's symlink")
    expect(os.readlink(os.path.join(x, "link_up")) == "../plain", "/link_up lost its target")
    for guest, content in [("/weird", b"colon\n"), ("/etc/conf", b"second\n")]:
        with open(os.path.join(x, guest.lstrip("/")), "rb") as f:
            expect(f.read() == content, f"{guest}: expected {content!r}")


def ldd_ls(tool):
    """(b) --ldd /bin/ls: the program and everything ldd lists, each
    reachable by the path the loader uses, through the same symlinks as
    on the host (/bin -> usr/bin, /lib64/ld-linux-x86-64.so.2 -> ...)."""
    ws = Workspace()
    img = ws.join("ls.img")
    build(tool, ws, img, "--ldd", "/bin/ls")
    x = extract(ws, img)
    for link in ("bin", "lib", "lib64"):
        expect(os.readlink(os.path.join(x, link)) == os.readlink("/" + link),
               f"/{link} is not the host's symlink {os.readlink('/' + link)}")
    paths = ["/bin/ls", "/usr/bin/ls", "/lib64/ld-linux-x86-64.so.2",
             "/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6"]
    for path in paths + ldd_paths("/bin/ls"):
        expect_host_file_in_image(x, path)


def ldd_static(tool):
    """--ldd of a static program, and of a script: just the file itself."""
    ws = Workspace()
    script = ws.join("script.sh")
    write(script, b"#!/bin/sh\necho hi\n", 0o755)
    img = ws.join("static.img")
    build(tool, ws, img, "--ldd", "/sbin/ldconfig", "--ldd", script)
    x = extract(ws, img)
    expect_host_file_in_image(x, "/sbin/ldconfig")
    expect_host_file_in_image(x, script)
    expect(not os.path.lexists(os.path.join(x, "usr", "lib")), "libraries for a static program")


def data_aligned(tool):
    """(c) Every regular file's data starts on a 4 KiB block of the image
    and is its whole content in one piece (what the guest maps), read
    with our own EROFS reader and checked against fsck.erofs."""
    ws = Workspace()
    src = ws.join("src")
    os.mkdir(src)
    make_tree(src)
    img = ws.join("out.img")
    build(tool, ws, img, "--ldd", "/bin/ls", f"{src}:/data")
    x = extract(ws, img)
    image, checked = Image(img), 0
    expect(image.block_size == BLOCK, f"block size {image.block_size}")
    with open(img, "rb") as f:
        raw = f.read()
    for path, inode in image.walk():
        if not stat.S_ISREG(inode.mode) or inode.size == 0:
            continue
        with open(os.path.join(x, path.lstrip("/")), "rb") as f:
            content = f.read()
        start = inode.data_offset()
        expect(inode.layout == FLAT_PLAIN, f"{path}: data layout {inode.layout}, not plain")
        expect(start % BLOCK == 0, f"{path}: data at {start:#x}, not 4 KiB aligned")
        expect(raw[start:start + inode.size] == content,
               f"{path}: the {inode.size} bytes at {start:#x} are not its content")
        checked += 1
    expect(checked >= 10, f"only {checked} files checked")


def replace_output(tool):
    """An existing image is replaced by a new complete one, and left as it
    was when a build fails."""
    ws = Workspace()
    img = ws.join("out.img")
    write(img, b"an old image")
    old_inode = os.stat(img).st_ino
    build(tool, ws, img, "/bin/true")
    expect(os.stat(img).st_ino != old_inode, "the image was rewritten in place")
    extract(ws, img)
    with open(img, "rb") as f:
        good = f.read()
    proc = image_tool(tool, ws, "build", "-o", img, ws.join("missing"))
    expect_exit(proc, BUILD_FAILED)
    with open(img, "rb") as f:
        expect(f.read() == good, "a failed build changed the existing image")
    ws.expect_clean(ws.path)


def missing_entry(tool):
    ws = Workspace()
    img, missing = ws.join("out.img"), ws.join("no-such-file")
    for entry in ([missing], ["--ldd", missing], [f"{missing}:/x"]):
        proc = image_tool(tool, ws, "build", "-o", img, *entry)
        expect_one_line_error(proc, BUILD_FAILED, f"lispvm: image: {missing}: No such file")
        expect(not os.path.exists(img), "an image was written")
        ws.expect_clean(ws.path)


def bad_usage(tool):
    ws = Workspace()
    img = ws.join("out.img")
    cases = {(): "missing command",
             ("frobnicate",): "unknown command 'frobnicate'",
             ("build", "/bin/true"): "-o OUT is missing",
             ("build", "-o", img): "nothing to put in the image",
             ("build", "-o"): "option '-o' needs an argument",
             ("build", "-o", img, "--ldd"): "option '--ldd' needs an argument",
             ("build", "-o", img, "--bogus", "/bin/true"): "unknown option '--bogus'",
             ("build", "-o", img, "-q", "/bin/true"): "unknown option '-q'",
             ("build", "-o", img, ":/x"): "empty HOST_PATH"}
    for args, needle in cases.items():
        proc = image_tool(tool, ws, *args)
        expect_one_line_error(proc, USAGE, needle)
        expect_in("lispvm image --help", proc.stderr, proc)
        expect(not os.path.exists(img), f"{args}: an image was written")


def symlink_loop(tool):
    """(d) A parent directory that is a symlink loop on the host."""
    ws = Workspace()
    loop = ws.join("loop")
    os.mkdir(loop)
    os.symlink("b", os.path.join(loop, "a"))
    os.symlink("a", os.path.join(loop, "b"))
    write(ws.join("file"), b"data\n")
    img = ws.join("out.img")
    proc = image_tool(tool, ws, "build", "-o", img, f"{ws.join('file')}:{loop}/a/file")
    expect_one_line_error(proc, BUILD_FAILED, "too many levels of symbolic links")
    expect_in(f"{loop}/a/file", proc.stderr, proc)
    ws.expect_clean(ws.path)


def mkfs_missing(tool):
    ws = Workspace()
    empty = ws.join("empty-path")
    os.mkdir(empty)
    img = ws.join("out.img")
    proc = image_tool(tool, ws, "build", "-o", img, "/bin/true", env=ws.env(PATH=empty))
    expect_one_line_error(proc, BUILD_FAILED, "mkfs.erofs not found: install erofs-utils")
    ws.expect_clean(ws.path)


def mkfs_fails(tool):
    """mkfs.erofs's reason (its last "<E>" line, not the usage text it
    prints after some errors) is in the message."""
    ws = Workspace()
    fake = ws.join("fake-bin")
    os.mkdir(fake)
    write(os.path.join(fake, "mkfs.erofs"),
          b"#!/bin/sh\necho 'mkfs.erofs 1.5'\n"
          b"printf '<E> erofs: first problem\\n<E> erofs: the real reason\\nusage: ...\\n' >&2\n"
          b"exit 1\n", 0o755)
    img = ws.join("out.img")
    proc = image_tool(tool, ws, "build", "-o", img, "/bin/true",
                      env=ws.env(PATH=fake + ":" + os.environ["PATH"]))
    expect_one_line_error(proc, BUILD_FAILED,
                          "mkfs.erofs failed (exit 1): erofs: the real reason")
    expect(not os.path.exists(img), "an image was written")
    ws.expect_clean(ws.path)


def output_not_writable(tool):
    ws = Workspace()
    for output, needle in [(ws.join("no-dir", "out.img"), "cannot write the image"),
                           (ws.path, "is a directory")]:
        proc = image_tool(tool, ws, "build", "-o", output, "/bin/true")
        expect_one_line_error(proc, BUILD_FAILED, f"{output}: {needle}")
    ws.expect_clean(ws.path)


def type_conflict(tool):
    """A file cannot take the place of a directory, nor the other way."""
    ws = Workspace()
    src = ws.join("src")
    os.mkdir(src)
    make_tree(src)
    img = ws.join("out.img")
    cases = [((f"{src}/sub:/x", f"{src}/plain:/x"), "/x is already a directory"),
             ((f"{src}/plain:/x", f"{src}/sub:/x"), "/x is already a file"),
             ((f"{src}/plain:/x", f"{src}/plain:/x/y"), "/x is a file in the image")]
    for entries, needle in cases:
        proc = image_tool(tool, ws, "build", "-o", img, *entries)
        expect_one_line_error(proc, BUILD_FAILED, needle)
    ws.expect_clean(ws.path)


main({f.__name__: f for f in [help_text, tree_roundtrip, guest_paths, ldd_ls, ldd_static,
                              data_aligned, replace_output, missing_entry, bad_usage,
                              symlink_loop, mkfs_missing, mkfs_fails, output_not_writable,
                              type_conflict]})
