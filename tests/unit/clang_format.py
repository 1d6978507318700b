# SPDX-License-Identifier: MIT
"""Every tracked C file is formatted as .clang-format says.
Usage: clang_format.py check CLANG_FORMAT SOURCE_ROOT"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import expect, main, run  # noqa: E402


def check(clang_format, root):
    listed = run(["git", "-C", root, "ls-files", "*.c", "*.h"])
    files = listed.stdout.split()
    expect(listed.returncode == 0 and files, f"cannot list C files with git in {root}")
    proc = run([clang_format, "--dry-run", "--Werror"] + files, cwd=root)
    expect(proc.returncode == 0,
           f"not clang-formatted (run clang-format -i on them):\n{proc.stderr[:4000]}")


main({"check": check})
