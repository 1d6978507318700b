# SPDX-License-Identifier: MIT
"""Builds a tree with the shapes the EROFS reader must handle (empty,
sub-block, block-sized and multi-block files, a directory of many
entries spanning several blocks, nested directories, symlinks), packs it
with `lispvm image build`, and runs the host build of the guest's reader
over it (test_erofs.c).
Usage: erofs_reader.py check LISPVM TEST_EROFS"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from lispvm_test import describe, expect, main, run  # noqa: E402


def make_tree(root):
    sizes = {"empty": 0, "one": 1, "small": 100, "almost": 4095, "block": 4096,
             "over": 4097, "big": 100000}
    for name, size in sizes.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(bytes((i * 7 + len(name)) % 251 for i in range(size)))
    many = os.path.join(root, "many")
    os.mkdir(many)
    for i in range(400):
        with open(os.path.join(many, f"entry-{i:04d}-{'x' * (i % 40)}"), "w") as f:
            f.write(str(i))
    os.makedirs(os.path.join(root, "a", "b", "c"))
    with open(os.path.join(root, "a", "b", "c", "deep.txt"), "w") as f:
        f.write("deep\n")
    os.chmod(os.path.join(root, "small"), 0o751)
    os.symlink("a/b/c/deep.txt", os.path.join(root, "rel-link"))
    os.symlink("/" + "long" * 60, os.path.join(root, "long-link"))


def check(lispvm, test_erofs):
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "tree")
        os.mkdir(tree)
        make_tree(tree)
        image = os.path.join(tmp, "tree.erofs")
        built = run([lispvm, "image", "build", "-o", image, f"{tree}:/t"])
        expect(built.returncode == 0, f"image build failed: {describe(built)}")
        proc = run([test_erofs, image, tree, "/t"], timeout=600)
        expect(proc.returncode == 0, f"test_erofs failed: {describe(proc)}")


main({"check": check})
