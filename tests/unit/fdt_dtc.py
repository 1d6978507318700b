# SPDX-License-Identifier: MIT
"""The VMM's device tree, decompiled by the reference tool, dtc."""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import expect, expect_exit, expect_in, main, run  # noqa: E402


def abi_version():
    header = os.path.join(os.path.dirname(__file__), "..", "..", "include", "lispvm", "abi.h")
    for line in open(header):
        if line.startswith("#define LISPVM_ABI_VERSION "):
            return int(line.split()[2])
    raise SystemExit("LISPVM_ABI_VERSION not found in abi.h")


def decompile(test_exe, dtc):
    with tempfile.TemporaryDirectory() as tmp:
        blob = os.path.join(tmp, "lispvm.dtb")
        built = run([test_exe, "--dtb", blob])
        expect_exit(built, 0)
        proc = run([dtc, "-I", "dtb", "-O", "dts", blob])
        expect_exit(proc, 0)
        expect("ERROR" not in proc.stderr, f"dtc reported errors: {proc.stderr}")
        dts = proc.stdout
        for line in [
            'compatible = "lispvm,microvm";',
            f"lispvm,abi-version = <{abi_version():#04x}>;",
            'bootargs = "selftest=heap exit=3";',
            "memory@0 {",
            'device_type = "memory";',
            "reg = <0x00 0x00 0x00 0xc0000000>;",
            "memory@100000000 {",
            "reg = <0x01 0x00 0x00 0x80000000>;",
            "images {",
            "mounts {",
            "mount@0 {",
            'lispvm,guest-path = "/data";',
            'lispvm,path = "/srv/data";',
            "mount@1 {",
            "lispvm,readonly;",
            "devices {",
            "virtio_mmio@d0000000 {",
            'compatible = "virtio,mmio";',
            "lispvm,device-id = <0x03>;",
        ]:
            expect_in(line, dts, proc)


main({"decompile": decompile})
