# SPDX-License-Identifier: MIT
"""The test machine's kernel and initramfs, made from Debian's packages.

The kernel is Debian's own (linux-image-amd64's current dependency),
fetched with `apt-get download` and unpacked with `dpkg -x`, so nothing on
the host's /boot changes.  The initramfs holds busybox-static, the
kernel's modules that the machine needs (with their dependencies, in load
order) and init.sh.  Both live in a cache directory named after the kernel
package and the initramfs inputs, so a new kernel package or a changed
init script makes a new pair."""

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
META_PACKAGE = "linux-image-amd64"
BUSYBOX = "/bin/busybox"
DEPMOD = "/usr/sbin/depmod"  # kmod
MODPROBE = "/usr/sbin/modprobe"
# In load order of what the machine uses; dependencies are added first.
MODULES = ["virtio_pci", "virtio_net", "9pnet_virtio", "9p", "overlay", "kvm-amd",
           "loop", "erofs", "binfmt_misc"]


class ImageError(Exception):
    pass


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "lispvm", "test-machine")


def _run(argv, **kwargs):
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        raise ImageError(f"{' '.join(argv)} failed: {proc.stderr.strip()[-400:]}")
    return proc.stdout


def kernel_package():
    """(name, version) of the kernel package linux-image-amd64 depends on now."""
    if shutil.which("apt-cache") is None:
        raise ImageError("no apt-cache: the test machine's kernel comes from Debian's "
                         f"{META_PACKAGE}")
    depends = _run(["apt-cache", "depends", "--important", META_PACKAGE])
    names = [line.split(":", 1)[1].strip() for line in depends.splitlines()
             if line.strip().startswith("Depends:")]
    if not names:
        raise ImageError(f"apt-cache knows no {META_PACKAGE} (run apt-get update)")
    policy = _run(["apt-cache", "policy", names[0]])
    for line in policy.splitlines():
        if line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                return names[0], version
    raise ImageError(f"no candidate version of {names[0]} (run apt-get update)")


def _inputs_digest():
    digest = hashlib.sha256()
    for path in (os.path.join(HERE, "init.sh"), BUSYBOX, os.path.abspath(__file__)):
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()[:16]


def _unpack_kernel(name, version, into):
    with tempfile.TemporaryDirectory(dir=into) as download:
        os.chmod(download, 0o755)  # apt's sandbox user writes here
        _run(["apt-get", "download", "-q", f"{name}={version}"], cwd=download)
        debs = [f for f in os.listdir(download) if f.endswith(".deb")]
        if len(debs) != 1:
            raise ImageError(f"apt-get download {name} gave {debs}")
        tree = os.path.join(into, "tree")
        _run(["dpkg-deb", "-x", os.path.join(download, debs[0]), tree])
    return tree


def _load_order(tree, version):
    """(name, path) of the modules to load, every dependency (soft ones
    too) before its user, as modprobe would load them."""
    _run([DEPMOD, "-b", tree, version])
    shown = _run([MODPROBE, "-d", tree, "-S", version, "--show-depends", "-a"] + MODULES)
    order = []
    for line in shown.splitlines():
        words = line.split()
        if words[:1] != ["insmod"]:
            continue  # built in
        name = os.path.basename(words[1])[:-3].replace("-", "_")
        if name not in (n for n, _ in order):
            order.append((name, words[1]))
    return order


def _make_initramfs(tree, out):
    version = os.listdir(os.path.join(tree, "lib", "modules"))[0]
    with tempfile.TemporaryDirectory() as staging:
        os.makedirs(os.path.join(staging, "bin"))
        os.makedirs(os.path.join(staging, "modules"))
        shutil.copy(BUSYBOX, os.path.join(staging, "bin", "busybox"))
        shutil.copy(os.path.join(HERE, "init.sh"), os.path.join(staging, "init"))
        os.chmod(os.path.join(staging, "init"), 0o755)
        modules = _load_order(tree, version)
        for name, path in modules:
            shutil.copy(path, os.path.join(staging, "modules", name + ".ko"))
        with open(os.path.join(staging, "modules", "order"), "w") as f:
            f.write("".join(name + "\n" for name, _ in modules))
        files = _run(["find", "."], cwd=staging)
        with open(out + ".tmp", "wb") as cpio:
            subprocess.run([BUSYBOX, "cpio", "-o", "-H", "newc"], input=files.encode(),
                           stdout=cpio, stderr=subprocess.DEVNULL, cwd=staging, check=True)
        os.rename(out + ".tmp", out)


def ensure(log=lambda message: None):
    """Paths (kernel, initramfs) of the current pair, built if missing."""
    if not os.path.exists(BUSYBOX):
        raise ImageError("no /bin/busybox (Debian package busybox-static)")
    name, version = kernel_package()
    directory = os.path.join(cache_root(), f"{name}_{version}_{_inputs_digest()}")
    kernel = os.path.join(directory, "vmlinuz")
    initramfs = os.path.join(directory, "initramfs.cpio")
    if os.path.exists(kernel) and os.path.exists(initramfs):
        return kernel, initramfs
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(kernel) and os.path.exists(initramfs):
            return kernel, initramfs
        log(f"making the test machine's kernel and initramfs from {name} {version}")
        with tempfile.TemporaryDirectory(dir=directory) as work:
            tree = _unpack_kernel(name, version, work)
            _make_initramfs(tree, initramfs)
            boot = os.path.join(tree, "boot")
            vmlinuz = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")]
            shutil.copy(os.path.join(boot, vmlinuz[0]), kernel + ".tmp")
            os.rename(kernel + ".tmp", kernel)
    return kernel, initramfs
