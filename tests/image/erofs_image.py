# SPDX-License-Identifier: MIT
"""A minimal reader of uncompressed EROFS images (the on-disk format of
Linux's fs/erofs/erofs_fs.h), independent of erofs-utils, so the tests can
check where each file's data lies in the image, not only what it holds."""

import stat
import struct

SUPER_OFFSET = 1024
MAGIC = 0xE0F5E1E2
SLOT = 32                    # inodes are addressed in 32-byte slots (nids)
FLAT_PLAIN, FLAT_INLINE = 0, 2
DIRENT = struct.Struct("<QHBB")


class Inode:
    def __init__(self, image, nid):
        self.image, self.nid = image, nid
        self.offset = image.meta_base + nid * SLOT
        fmt, xattr_count, self.mode = struct.unpack_from("<HHH", image.data, self.offset)
        self.extended = fmt & 1
        self.layout = (fmt >> 1) & 7
        if self.extended:
            (self.size,) = struct.unpack_from("<Q", image.data, self.offset + 8)
            self.uid, self.gid, self.mtime, self.mtime_nsec = struct.unpack_from(
                "<IIQI", image.data, self.offset + 24)
            inode_size = 64
        else:
            (self.size,) = struct.unpack_from("<I", image.data, self.offset + 8)
            self.uid, self.gid = struct.unpack_from("<HH", image.data, self.offset + 24)
            self.mtime, self.mtime_nsec = image.build_time, image.build_time_nsec
            inode_size = 32
        (self.blkaddr,) = struct.unpack_from("<I", image.data, self.offset + 16)
        xattr_size = 12 + 4 * (xattr_count - 1) if xattr_count else 0
        self.inline_offset = self.offset + inode_size + xattr_size

    def data_offset(self):
        """Where the first byte of the data lies in the image."""
        return self.blkaddr * self.image.block_size

    def read(self):
        bs = self.image.block_size
        if self.layout == FLAT_PLAIN:
            return self.image.data[self.data_offset():self.data_offset() + self.size]
        if self.layout == FLAT_INLINE:
            whole = self.size // bs * bs
            head = self.image.data[self.data_offset():self.data_offset() + whole]
            tail = self.image.data[self.inline_offset:self.inline_offset + self.size - whole]
            return head + tail
        raise ValueError(f"nid {self.nid}: data layout {self.layout} is not flat")

    def entries(self):
        """(name, nid) of a directory, without . and .."""
        data, bs = self.read(), self.image.block_size
        for start in range(0, len(data), bs):
            block = data[start:start + bs]
            count = DIRENT.unpack_from(block, 0)[1] // DIRENT.size
            dirents = [DIRENT.unpack_from(block, i * DIRENT.size) for i in range(count)]
            for i, (nid, nameoff, _, _) in enumerate(dirents):
                end = dirents[i + 1][1] if i + 1 < count else len(block)
                name = block[nameoff:end].split(b"\0", 1)[0].decode()
                if name not in (".", ".."):
                    yield name, nid


class Image:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        magic, _, _, blkszbits, _, self.root_nid = struct.unpack_from(
            "<IIIBBH", self.data, SUPER_OFFSET)
        if magic != MAGIC:
            raise ValueError(f"{path}: not an EROFS image (magic {magic:#x})")
        self.block_size = 1 << blkszbits
        self.build_time, self.build_time_nsec = struct.unpack_from(
            "<QI", self.data, SUPER_OFFSET + 24)
        (meta_blkaddr,) = struct.unpack_from("<I", self.data, SUPER_OFFSET + 40)
        self.meta_base = meta_blkaddr * self.block_size

    def walk(self):
        """Yields (path, Inode) for everything in the image, "/" first."""
        pending = [("/", self.root_nid)]
        while pending:
            path, nid = pending.pop()
            inode = Inode(self, nid)
            yield path, inode
            if stat.S_ISDIR(inode.mode):
                for name, child in inode.entries():
                    pending.append((path.rstrip("/") + "/" + name, child))
