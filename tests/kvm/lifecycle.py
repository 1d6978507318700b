# SPDX-License-Identifier: MIT
"""Many VMs one after another in one VMM process give back what they took
(tests/kvm/lifecycle.c: fds and threads exactly, RSS within a bound).
Usage: lifecycle.py COUNT LIFECYCLE GUEST_ELF"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import describe, expect, main, require_kvm, run  # noqa: E402


def starts_and_exits(count, harness, elf):
    require_kvm()
    with tempfile.TemporaryDirectory() as tmp:
        proc = run([harness, elf, count, tmp], timeout=1500)
    expect(proc.returncode == 0, f"lifecycle failed: {describe(proc)}")
    print(proc.stdout, end="")


if __name__ == "__main__":
    main({"starts_and_exits": starts_and_exits})
